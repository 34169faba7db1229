-- The store: the five canonical tables, the bookkeeping tables, and the views that define every
-- metric once. Tables are created if missing (an existing store keeps its rows; upgrades between
-- schema versions live in analytics/migrations/). Views and macros are replaced on every open, so a
-- new release's definitions apply to an old file at once.

-- ---------------------------------------------------------------------------------------------
-- Canonical tables (documented column by column in data/README.md)
-- ---------------------------------------------------------------------------------------------
create table if not exists therapists (
    therapist_id varchar primary key,
    name         varchar not null,
    email        varchar
);

create table if not exists clients (
    client_id       varchar primary key,
    therapist_id    varchar not null,
    label           varchar not null,
    intake_date     date,
    primary_concern varchar,
    goals           varchar,
    preferences     varchar,
    status          varchar not null default 'active'
        check (status in ('active', 'paused', 'discharged'))
);

create table if not exists assignments (
    assignment_id      varchar primary key,
    client_id          varchar not null,
    assignment_type    varchar not null,
    title              varchar not null,
    assigned_on        date not null,
    due_on             date not null,
    expected_count     integer not null default 1 check (expected_count >= 1),
    est_minutes        integer check (est_minutes >= 0),
    goal               varchar,
    chosen_with_client boolean,
    status             varchar not null default 'active' check (status in ('active', 'cancelled')),
    check (due_on >= assigned_on)
);

create table if not exists submissions (
    submission_id      varchar primary key,
    assignment_id      varchar not null,
    submitted_at       timestamptz not null,
    completion         varchar not null check (completion in ('completed', 'partial', 'skipped')),
    quality            tinyint check (quality between 0 and 4),
    mood_before        tinyint check (mood_before between 0 and 10),
    mood_after         tinyint check (mood_after between 0 and 10),
    minutes            integer check (minutes >= 0),
    client_note        varchar,
    therapist_feedback varchar,
    feedback_at        timestamptz
);

create table if not exists measures (
    client_id       varchar not null,
    measure         varchar not null check (measure in ('PHQ-9', 'GAD-7')),
    score           tinyint not null,
    administered_on date not null,
    primary key (client_id, measure, administered_on),
    check ((measure = 'PHQ-9' and score between 0 and 27) or (measure = 'GAD-7' and score between 0 and 21))
);

-- ---------------------------------------------------------------------------------------------
-- The planner (schema version 2; migrations/002_library_templates.sql adds the same to older files)
-- ---------------------------------------------------------------------------------------------
-- Homework templates written by the practice's users. The bundled library (data/library.csv) is
-- read from its file and never copied here; editing a bundled template saves a user copy (U...).
-- Tags are `;`-separated, lower case.
create table if not exists library_templates (
    template_id       varchar primary key,
    assignment_type   varchar not null,
    title             varchar not null,
    instructions      varchar not null,
    default_minutes   integer not null check (default_minutes between 0 and 1440),
    times_per_week    integer not null check (times_per_week between 1 and 7),
    suits_concerns    varchar,
    suits_goals       varchar,
    suits_preferences varchar,
    created_at        timestamptz not null,
    updated_at        timestamptz not null,
    source            varchar not null default 'user' check (source = 'user')
);

-- What the planner knows about an assignment it wrote, beside the canonical row (the canonical
-- format, and so the assignments table, stays as it is): the instructions given to the client and
-- how many times a week the task was planned. Imported assignments have no row here.
create table if not exists assignment_details (
    assignment_id  varchar primary key,
    instructions   varchar,
    times_per_week integer check (times_per_week between 1 and 7),
    template_id    varchar,
    planned_at     timestamptz not null
);

-- ---------------------------------------------------------------------------------------------
-- Bookkeeping
-- ---------------------------------------------------------------------------------------------
create table if not exists schema_meta (
    version    integer not null,
    applied_at timestamptz not null default current_timestamp,
    schema_sql varchar  -- sha256 of the schema.sql that last made the views and macros (version 8; database.migrate)
);

create table if not exists settings (
    key   varchar primary key,
    value varchar not null
);

create table if not exists import_log (
    batch_id    varchar primary key,
    imported_at timestamptz not null,
    imported_by varchar not null,
    files       varchar not null,   -- JSON list: [{file, table, sha256, rows_read, inserted, updated, unchanged}]
    inserted    bigint not null,
    updated     bigint not null
);

-- Every export (schema version 5; migrations/005_export_log.sql adds the same to older files): who, which tier
-- and format, what (the whole store or one table on a page), the scope (therapist_id null: the practice) and
-- dates, rows per table (JSON {table: rows}) and the files written (JSON [{file, rows, bytes, sha256}]).
create table if not exists export_log (
    export_id   varchar primary key,
    exported_at timestamptz not null,
    exported_by varchar not null,
    tier        varchar not null check (tier in ('identified', 'deidentified')),
    format      varchar not null check (format in ('csv', 'xlsx', 'parquet')),
    what        varchar not null,
    therapist_id varchar,
    date_from   date,
    date_to     date,
    rows        varchar not null,
    files       varchar not null
);

-- Column mappings saved by name on the Data page (schema version 3; migrations/003_saved_mappings.sql
-- adds the same to older files). mapping is the JSON of analytics.mapping.Mapping.
create table if not exists saved_mappings (
    name     varchar primary key,
    target   varchar not null,
    mapping  varchar not null,
    saved_at timestamptz not null,
    saved_by varchar not null default ''
);

-- What each import batch replaced, for undo (schema version 6; migrations/006_import_batches.sql adds
-- the same to older files and explains the tables).
create table if not exists import_batches (
    batch_id  varchar primary key,
    existing  varchar not null,
    undone_at timestamptz,
    undone_by varchar
);

create table if not exists undo_therapists (
    batch_id varchar not null, action varchar not null, row_hash varchar,
    therapist_id varchar, name varchar, email varchar
);

create table if not exists undo_clients (
    batch_id varchar not null, action varchar not null, row_hash varchar,
    client_id varchar, therapist_id varchar, label varchar, intake_date date, primary_concern varchar,
    goals varchar, preferences varchar, status varchar
);

create table if not exists undo_assignments (
    batch_id varchar not null, action varchar not null, row_hash varchar,
    assignment_id varchar, client_id varchar, assignment_type varchar, title varchar, assigned_on date,
    due_on date, expected_count integer, est_minutes integer, goal varchar, chosen_with_client boolean,
    status varchar
);

create table if not exists undo_submissions (
    batch_id varchar not null, action varchar not null, row_hash varchar,
    submission_id varchar, assignment_id varchar, submitted_at timestamptz, completion varchar,
    quality tinyint, mood_before tinyint, mood_after tinyint, minutes integer, client_note varchar,
    therapist_feedback varchar, feedback_at timestamptz
);

create table if not exists undo_measures (
    batch_id varchar not null, action varchar not null, row_hash varchar,
    client_id varchar, measure varchar, score tinyint, administered_on date
);

-- ---------------------------------------------------------------------------------------------
-- Users, the audit trail, feedback versions (schema version 4; migrations/004_users_and_audit.sql adds the
-- same to older files). Documented in data/README.md ("Users, roles and the audit trail").
-- ---------------------------------------------------------------------------------------------
create table if not exists users (
    email        varchar primary key,
    role         varchar not null check (role in ('admin', 'practice_manager', 'therapist', 'analyst')),
    therapist_id varchar,
    active       boolean not null default true,
    created_at   timestamptz not null,
    changed_at   timestamptz not null,
    check ((role = 'therapist') = (therapist_id is not null))
);

-- Append-only: rows are only ever inserted (analytics/store/audit.py); each carries the hash of the one before.
create table if not exists audit_log (
    seq         bigint primary key,
    logged_at   timestamptz not null,
    user_email  varchar not null,
    user_role   varchar not null,
    action      varchar not null,
    object_type varchar not null,
    object_id   varchar not null,
    outcome     varchar not null check (outcome in ('ok', 'denied', 'failed')),
    detail      varchar not null,
    prev_hash   varchar not null,
    row_hash    varchar not null
);

-- The chain's last row: one row, replaced with every append (two appends at once conflict here, never fork).
create table if not exists audit_head (
    id       integer primary key check (id = 1),
    seq      bigint not null,
    row_hash varchar not null
);

-- Every feedback text written on a submission; submissions.therapist_feedback holds the latest.
create table if not exists feedback_versions (
    version_id    bigint primary key,
    submission_id varchar not null,
    version       integer not null,
    text          varchar not null,
    written_at    timestamptz not null,
    written_by    varchar not null,
    unique (submission_id, version)
);

-- Derived adherence facts (schema version 7; analytics/store/facts.py keeps them, inside every write's
-- transaction; migrations/007_adherence_facts.sql adds them to older files). Never backed up: rebuilt.
create table if not exists submission_days (
    assignment_id      varchar not null,
    submitted_on       date not null,
    credit             double not null,
    submissions        bigint not null,
    mood_lift_sum      hugeint,
    mood_lift_n        bigint not null,
    last_submission_at timestamp,
    mood_lift_sq_sum   hugeint          -- schema version 10: the sum of squared mood lifts
);

-- What the facts were built from (one row): row counts, the sum of due dates, the time zone; and (schema version 9)
-- assignments_digest, the view assignments_digest when they were built.
create table if not exists facts_stamp (
    submissions bigint not null,
    assignments bigint not null,
    due_days    double,
    timezone    varchar not null,
    assignments_digest hugeint
);

-- Per assignment, any status (schema version 9; migrations/009_assignment_facts.sql adds it to older files): the
-- assignment's columns (title and status included) beside its totals over all its submission days (zeros and no
-- last_on when it has none), so the macros read no join of every assignment id. It replaced version 7's
-- assignment_totals (the totals alone), which migration 009 drops. Version 10 (migrations/010_mood_lift_squares.sql)
-- adds the sum of squared mood lifts here and to submission_days, and first_on, so a client's mood lifts per type and
-- their spread (client_type_lifts) are read from the facts.
create table if not exists assignment_facts (
    assignment_id      varchar not null,
    client_id          varchar not null,
    assignment_type    varchar not null,
    title              varchar not null,
    assigned_on        date not null,
    due_on             date not null,
    expected_count     integer not null,
    status             varchar not null,
    credit             double not null,
    on_time_credit     double not null,
    submissions        bigint not null,
    mood_lift_sum      hugeint not null,
    mood_lift_n        bigint not null,
    last_submission_at timestamp,
    last_on            date,
    mood_lift_sq_sum   hugeint not null, -- schema version 10: the sum of squared mood lifts
    first_on           date             -- schema version 10: its first submission day
);

alter table library_templates add column if not exists created_by varchar;
alter table library_templates add column if not exists changed_by varchar;

create sequence if not exists audit_seq;
create sequence if not exists feedback_version_seq;
create sequence if not exists plan_assignment_seq;
create sequence if not exists user_template_seq;

-- ---------------------------------------------------------------------------------------------
-- Staging views: rename, cast and derive. Every definition of "credit" and "mood lift" is here.
-- ---------------------------------------------------------------------------------------------

-- The practice's time zone (a setting, UTC by default): calendar dates of submissions are taken in it.
create or replace view practice_settings as
select coalesce((select value from settings where key = 'timezone'), 'UTC') as timezone;

-- Whether a text (feedback) holds anything but spaces: trim(x) <> '', NULL false. A text that starts with a visible
-- ASCII character (nearly every one) is answered without trim, which copies the string: in a query that carries the
-- answer as a column, trim's copies of a 28-day window's feedback cost 60 of the 10M Caseload's 800 ms.
create or replace macro holds_text(x) as
case when ascii(x) between 33 and 126 then true else coalesce(trim(x) <> '', false) end;

-- One row per submission with its local time, calendar date, credit and mood lift.
create or replace view submission_facts as
select s.submission_id,
       s.assignment_id,
       s.submitted_at,                                      -- the instant, for elapsed times
       timezone(p.timezone, s.submitted_at)                 as submitted_local,
       cast(timezone(p.timezone, s.submitted_at) as date)   as submitted_on,
       s.completion,
       case s.completion when 'completed' then 1.0 when 'partial' then 0.5 else 0.0 end::double as credit,
       s.quality,
       s.mood_before,
       s.mood_after,
       s.mood_after - s.mood_before                          as mood_lift,
       s.minutes,
       s.client_note,
       s.therapist_feedback,
       s.feedback_at,
       timezone(p.timezone, s.feedback_at)                  as feedback_local
from submissions s
cross join practice_settings p;

-- The active assignments of the clients in scope (scope_therapist NULL: the whole practice), the rows both
-- assignment_progress macros start from. (enabled: false gives no rows.)
create or replace macro assignments_in_scope(scope_therapist, enabled := true) as table
select a.assignment_id, a.client_id, c.therapist_id, a.assignment_type, a.title,
       a.assigned_on, a.due_on, a.expected_count
from assignments a
join clients c using (client_id)
where a.status = 'active'
  and (scope_therapist is null or c.therapist_id = scope_therapist)
  and enabled;

-- Each active assignment of the clients in scope, as known on date as_of:
--   credit         = sum of credit of submissions made on or before as_of, capped at expected_count
--   on_time_credit = the same, counting only submissions made on or before due_on
--   is_due         = due_on <= as_of
-- scope_therapist NULL means the whole practice; otherwise only that therapist's clients.
-- This is the definition, computed from the raw tables; assignment_progress gives the same rows from the
-- derived facts when they are current (tests/metrics/test_facts.py compares the two).
-- (enabled: false gives no rows without reading the submissions; assignment_progress uses it.)
create or replace macro assignment_progress_direct(as_of, scope_therapist, enabled := true) as table
with in_scope as (
    select * from assignments_in_scope(scope_therapist, enabled := enabled)
),
per_assignment as (
    select s.assignment_id,
           sum(s.credit) filter (where s.submitted_on <= as_of)          as raw_credit,
           sum(s.credit) filter (where s.submitted_on <= least(as_of, a.due_on)) as raw_on_time_credit,
           count(*) filter (where s.submitted_on <= as_of)               as submissions,
           sum(s.mood_lift) filter (where s.submitted_on <= as_of)       as mood_lift_sum,
           count(s.mood_lift) filter (where s.submitted_on <= as_of)     as mood_lift_n,
           max(s.submitted_local) filter (where s.submitted_on <= as_of) as last_submission_at
    from submission_facts s
    join in_scope a using (assignment_id)
    group by s.assignment_id
)
select a.*,
       a.due_on <= as_of                                                  as is_due,
       date_trunc('week', a.due_on)::date                                 as week,
       least(a.expected_count, coalesce(p.raw_credit, 0))                 as credit,
       least(a.expected_count, coalesce(p.raw_on_time_credit, 0))         as on_time_credit,
       coalesce(p.submissions, 0)                                         as submissions,
       coalesce(p.mood_lift_sum, 0)                                       as mood_lift_sum,
       coalesce(p.mood_lift_n, 0)                                         as mood_lift_n,
       p.last_submission_at
from in_scope a
left join per_assignment p using (assignment_id);

-- What the facts stamp records of the assignments, in one scan: how many, the sum of due dates, and a digest of the
-- columns assignment_facts copies (client, type, title, status, expected count, set date): a sum of row hashes, so
-- a plain-SQL edit of any of them changes it (an edit of an assignment_id alone keeps count and sums: not seen).
create or replace view assignments_digest as
select count(*)                                                                            as assignments,
       sum(epoch(due_on))                                                                  as due_days,
       sum(hash(client_id, assignment_type, title, status, expected_count, assigned_on)::hugeint) as digest
from assignments;

-- Whether the derived facts (analytics/store/facts.py) were built for the rows stored now. Every write
-- function rebuilds them in its transaction; a write made some other way (plain SQL) that adds or removes
-- submissions or assignments, changes an assignment's columns or the time zone makes them not current, and
-- the macros then compute from the raw tables until the next rebuild.
create or replace view facts_current_now as
select coalesce(bool_and(f.submissions = (select count(*) from submissions)
                         and f.assignments = d.assignments
                         and f.due_days is not distinct from d.due_days
                         and f.assignments_digest is not distinct from d.digest
                         and f.timezone = (select timezone from practice_settings)), false) as current
from facts_stamp f, assignments_digest d;

-- What the macros read: facts_current_now, or inside a page's read snapshot (database.read_snapshot) the answer it
-- gave at the snapshot's start, which holds for every query of the snapshot (others' writes are not seen in it, and
-- a write of its own, through database.transaction, ends it first). The check hashes every assignment (~5 ms at 1M)
-- and a page run calls about ten macros. The variable is the cursor's own (DuckDB variables belong to a session).
create or replace view facts_current as
select current from facts_current_now where getvariable('facts_current_in_snapshot') is null
union all
select getvariable('facts_current_in_snapshot')::boolean where getvariable('facts_current_in_snapshot') is not null;

-- The active assignments in scope with nothing submitted after as_of (no submission, or the last one on or before it):
-- their facts' totals are their figures as of as_of, in assignment_progress's columns. assignment_progress_facts and
-- due_assignments_facts both start from these rows and add the others (still earning credit after as_of) their own way.
create or replace macro settled_assignment_facts(as_of, scope_therapist, enabled := true) as table
select f.assignment_id, f.client_id, c.therapist_id, f.assignment_type, f.title, f.assigned_on, f.due_on,
       f.expected_count,
       f.due_on <= as_of                                                  as is_due,
       date_trunc('week', f.due_on)::date                                 as week,
       least(f.expected_count, f.credit)                                  as credit,
       least(f.expected_count, f.on_time_credit)                          as on_time_credit,
       f.submissions,
       f.mood_lift_sum,
       f.mood_lift_n,
       f.last_submission_at
from assignment_facts f
join clients c using (client_id)
where f.status = 'active' and (f.last_on is null or f.last_on <= as_of)
  and (scope_therapist is null or c.therapist_id = scope_therapist) and enabled;

-- The same rows as assignment_progress_direct, read from the facts, without joining the assignments: an assignment
-- whose last submission day is on or before as_of (or that has none) takes its totals as they are; the others
-- (late: a submission day after as_of) sum their days up to as_of. The clients table gives the therapist (it
-- can change without a rebuild). A caller's filter (due_on, client, type) reaches both scans of assignment_facts.
create or replace macro assignment_progress_facts(as_of, scope_therapist, enabled := true) as table
with late_days as (
    select d.assignment_id,
           sum(d.credit)                                              as raw_credit,
           sum(d.credit) filter (where d.submitted_on <= l.due_on)    as raw_on_time_credit,
           sum(d.submissions)                                         as submissions,
           sum(d.mood_lift_sum)                                       as mood_lift_sum,
           sum(d.mood_lift_n)                                         as mood_lift_n,
           max(d.last_submission_at)                                  as last_submission_at
    from submission_days d
    join (select g.assignment_id, g.due_on from assignment_facts g
          where g.last_on > as_of and g.status = 'active' and enabled
            -- one therapist's late assignments only (a caller's scope does not reach inside this CTE by itself);
            -- for the practice DuckDB keeps the test as a mark join, over the late assignments only (few)
            and (scope_therapist is null
                 or g.client_id in (select client_id from clients where therapist_id = scope_therapist))) l
      using (assignment_id)
    where d.submitted_on <= as_of
    group by d.assignment_id
)
select * from settled_assignment_facts(as_of, scope_therapist, enabled := enabled)
union all
select f.assignment_id, f.client_id, c.therapist_id, f.assignment_type, f.title, f.assigned_on, f.due_on,
       f.expected_count,
       f.due_on <= as_of,
       date_trunc('week', f.due_on)::date,
       least(f.expected_count, coalesce(p.raw_credit, 0)),
       least(f.expected_count, coalesce(p.raw_on_time_credit, 0)),
       coalesce(p.submissions, 0)::bigint,
       coalesce(p.mood_lift_sum, 0)::hugeint,
       coalesce(p.mood_lift_n, 0)::bigint,
       p.last_submission_at
from assignment_facts f
join clients c using (client_id)
left join late_days p using (assignment_id)
where f.status = 'active' and f.last_on > as_of
  and (scope_therapist is null or c.therapist_id = scope_therapist) and enabled;


-- Each active assignment of the clients in scope, as known on date as_of (the columns and their meaning:
-- assignment_progress_direct). Every adherence figure reads this macro or due_assignments.
-- (facts_current is checked once a call: a materialised CTE both branches read.)
create or replace macro assignment_progress(as_of, scope_therapist) as table
with facts_check as materialized (select current from facts_current)
select * from assignment_progress_facts(as_of, scope_therapist, enabled := (select current from facts_check))
union all
select * from assignment_progress_direct(as_of, scope_therapist, enabled := not (select current from facts_check));

-- The assignments that are due on as_of (status active, due_on <= as_of), with their credit: assignment_progress's
-- columns up to on_time_credit (is_due always true), the rows of assignment_progress where is_due. Every completion
-- figure reads this macro. From the facts, for an assignment still earning credit after as_of (its last day later):
-- its total credit less the credit of its days after as_of, which is its credit up to as_of exactly (every credit is
-- 1, 0.5 or 0, so the sums are exact), and its total on-time credit (its on-time days, up to due_on <= as_of, are
-- all known by as_of). Its days after as_of are few when as_of is recent (a previous period's end), where summing its
-- days up to as_of read nearly all of submission_days (10M: 239 -> 58 ms for a previous period's figures). A
-- correlated sum, so only the late assignments the caller keeps (a period's due dates) are looked up.
create or replace macro due_assignments_facts(as_of, scope_therapist, enabled := true) as table
select assignment_id, client_id, therapist_id, assignment_type, title, assigned_on, due_on, expected_count, is_due,
       week, credit, on_time_credit
from settled_assignment_facts(as_of, scope_therapist, enabled := enabled)
where is_due
union all
select f.assignment_id, f.client_id, c.therapist_id, f.assignment_type, f.title, f.assigned_on, f.due_on,
       f.expected_count,
       true,
       date_trunc('week', f.due_on)::date,
       least(f.expected_count, f.credit - coalesce((select sum(d.credit) from submission_days d
                                                    where d.assignment_id = f.assignment_id
                                                      and d.submitted_on > as_of), 0)),
       least(f.expected_count, f.on_time_credit)
from assignment_facts f
join clients c using (client_id)
where f.status = 'active' and f.due_on <= as_of and f.last_on > as_of
  and (scope_therapist is null or c.therapist_id = scope_therapist) and enabled;

create or replace macro due_assignments(as_of, scope_therapist) as table
with facts_check as materialized (select current from facts_current)
select * from due_assignments_facts(as_of, scope_therapist, enabled := (select current from facts_check))
union all
select assignment_id, client_id, therapist_id, assignment_type, title, assigned_on, due_on, expected_count, is_due,
       week, credit, on_time_credit
from assignment_progress_direct(as_of, scope_therapist, enabled := not (select current from facts_check))
where is_due;

-- Each assignment (any status) with a submission on or before as_of: the local calendar day of its last one.
-- Read from the derived facts when they are current (as assignment_progress does), else from the raw tables.
create or replace macro last_submission_days_facts(as_of, enabled := true) as table
select f.assignment_id, f.last_on
from assignment_facts f
where f.last_on <= as_of and enabled
union all
select d.assignment_id, max(d.submitted_on)
from submission_days d
where d.submitted_on <= as_of and enabled
  and d.assignment_id in (select assignment_id from assignment_facts where last_on > as_of)
group by d.assignment_id;

create or replace macro last_submission_days(as_of) as table
with facts_check as materialized (select current from facts_current)
select * from last_submission_days_facts(as_of, enabled := (select current from facts_check))
union all
select s.assignment_id, max(s.submitted_on)
from submission_facts s
join (select assignment_id from assignments where not (select current from facts_check)) a using (assignment_id)
where s.submitted_on <= as_of
group by s.assignment_id;

-- Each client in scope with a submission on or before as_of to an assignment (any status) of the type of_type
-- (NULL: any type): client_id and last_submission_on, its local calendar day. The same days as
-- last_submission_days, by client: from assignment_facts (no join of every assignment id) when the facts are
-- current, else from the raw tables.
create or replace macro client_last_submission_days_facts(as_of, scope_therapist, of_type, enabled := true) as table
with by_client as (
    select f.client_id, max(f.last_on) as last_on
    from assignment_facts f
    where f.last_on <= as_of and (of_type is null or f.assignment_type = of_type) and enabled
    group by f.client_id
    union all
    select f.client_id, max(d.submitted_on)
    from submission_days d
    join (select g.assignment_id, g.client_id from assignment_facts g
          where g.last_on > as_of and (of_type is null or g.assignment_type = of_type) and enabled) f
      using (assignment_id)
    where d.submitted_on <= as_of
    group by f.client_id
)
select b.client_id, max(b.last_on) as last_submission_on
from by_client b
join clients c using (client_id)
where scope_therapist is null or c.therapist_id = scope_therapist
group by b.client_id;

create or replace macro client_last_submission_days(as_of, scope_therapist, of_type) as table
with facts_check as materialized (select current from facts_current)
select * from client_last_submission_days_facts(as_of, scope_therapist, of_type,
                                                enabled := (select current from facts_check))
union all
select r.client_id, max(s.submitted_on)
from submission_facts s
join assignments r using (assignment_id)
join clients c on c.client_id = r.client_id
where s.submitted_on <= as_of and (of_type is null or r.assignment_type = of_type)
  and (scope_therapist is null or c.therapist_id = scope_therapist)
  and not (select current from facts_check)
group by r.client_id;

-- Inside a page's read snapshot whose facts are current, the four macros above (assignment_progress, due_assignments,
-- last_submission_days, client_last_submission_days), and submission_counts, assignments_since and client_type_lifts
-- (below), that choose between the facts and the raw tables are shadowed by ones that read the facts alone
-- (database.read_snapshot creates them as temporary macros of the cursor and drops them when the snapshot ends):
-- DuckDB binds every branch of a macro before it prunes the one not taken, and binding the raw-table branches took
-- 10 ms a call.

-- A cheap first test on a stored instant (submitted_at, feedback_at) before the exact one on its local calendar
-- day: true for every instant whose local day, in any time zone (offsets are under a day), is in
-- [first_day, last_day], so rows outside it are left out before their local time is computed.
create or replace macro near_local_days(instant, first_day, last_day) as
instant >= timezone('UTC', first_day::date::timestamp - interval 2 day)
and instant < timezone('UTC', last_day::date::timestamp + interval 3 day);

-- Its converse: true only for instants whose local day, in any time zone, is inside [first_day, last_day] (a day of
-- margin at either end), so `inside_local_days(...) or <the exact test>` computes the local time only for the
-- instants near the ends of a long window (everything up to today: the planner's profile).
create or replace macro inside_local_days(instant, first_day, last_day) as
instant >= timezone('UTC', first_day::date::timestamp + interval 2 day)
and instant < timezone('UTC', last_day::date::timestamp - interval 1 day);

-- Submissions (any status: work the client reported) per local calendar day in [first_day, last_day], of the
-- clients in scope: submitted_on, submissions. From the derived facts' days when they are current (no local time
-- worked out per submission, no join of every assignment: half the time of the raw tables at 1M and 10M), else from
-- the raw tables; submission_days holds every submission, and the join with assignment_facts keeps those whose
-- assignment is stored, as the join with assignments does. Only assignments whose last day is on or after first_day
-- can have a day in the window, so only they are joined: for the headline's last two weeks at 10M that is a tenth of
-- the assignments (125 -> 63 ms; a window months back gains nothing, 114 -> 170 ms, and nothing asks for one).
create or replace macro submission_counts_facts(first_day, last_day, scope_therapist, enabled := true) as table
select d.submitted_on, sum(d.submissions)::bigint as submissions
from submission_days d
join assignment_facts f using (assignment_id)
join clients c using (client_id)
where d.submitted_on between first_day and last_day and enabled
  and f.last_on >= first_day
  and (scope_therapist is null or c.therapist_id = scope_therapist)
group by d.submitted_on;

create or replace macro submission_counts(first_day, last_day, scope_therapist) as table
with facts_check as materialized (select current from facts_current)
select * from submission_counts_facts(first_day, last_day, scope_therapist, enabled := (select current from facts_check))
union all
select s.submitted_on, count(*)
from submission_facts s
join assignments a using (assignment_id)
join clients c using (client_id)
where near_local_days(s.submitted_at, first_day, last_day)
  and s.submitted_on between first_day and last_day
  and (scope_therapist is null or c.therapist_id = scope_therapist)
  and not (select current from facts_check)
group by s.submitted_on;

-- The assignments (any status) that can have a submission on a local calendar day on or after first_day, with their
-- columns: a query over a window of submission days joins these instead of every assignment. From the derived facts
-- when they are current (those whose last submission day is on or after first_day: a submission in the window makes
-- its assignment's last day at least first_day), else every assignment. At 10M a window of weeks joins a tenth of the
-- assignments or fewer: one client's mood trend 111-150 -> 83-91 ms, their submission list 153-167 -> 115-138 ms, the
-- practice's types 284-298 -> 189-219 ms (docs/DESIGN.md "Wave 11"); at the demo's size and 1m the same.
create or replace macro assignments_since_facts(first_day, enabled := true) as table
select f.assignment_id, f.client_id, f.assignment_type, f.title, f.assigned_on, f.due_on, f.expected_count, f.status
from assignment_facts f
where f.last_on >= first_day and enabled;

create or replace macro assignments_since(first_day) as table
with facts_check as materialized (select current from facts_current)
select * from assignments_since_facts(first_day, enabled := (select current from facts_check))
union all
select a.assignment_id, a.client_id, a.assignment_type, a.title, a.assigned_on, a.due_on, a.expected_count, a.status
from assignments a
where not (select current from facts_check);

-- Mood lifts (mood after less mood before) of the submissions whose local calendar day is in [first_day, last_day],
-- to active assignments of the clients in scope, per client and assignment type: lift_n (submissions with both moods),
-- lift_sum and lift_sq_sum (the lifts' sum and sum of squares: whole numbers, so the means and spreads worked out from
-- them are the same whichever way they were summed). Only client-type pairs with a lift. From the derived facts when
-- they are current: an assignment whose submission days all lie in the window takes its totals, one that straddles
-- an end sums its days in the window (no local time worked out per submission, no join of every submission to its
-- assignment: 10M, everything up to today, 0.95 -> 0.26 s); else from the raw tables.
create or replace macro client_type_lifts_facts(first_day, last_day, scope_therapist, enabled := true) as table
with parts as (
    select f.client_id, f.assignment_type, f.mood_lift_n, f.mood_lift_sum, f.mood_lift_sq_sum
    from assignment_facts f
    where f.status = 'active' and f.mood_lift_n > 0 and f.first_on >= first_day and f.last_on <= last_day and enabled
    union all
    select f.client_id, f.assignment_type, d.mood_lift_n, d.mood_lift_sum, d.mood_lift_sq_sum
    from submission_days d
    join (select g.assignment_id, g.client_id, g.assignment_type from assignment_facts g
          where g.status = 'active' and g.mood_lift_n > 0 and g.first_on <= last_day and g.last_on >= first_day
            and (g.first_on < first_day or g.last_on > last_day) and enabled) f
      using (assignment_id)
    where d.submitted_on between first_day and last_day and d.mood_lift_n > 0
)
select p.client_id, p.assignment_type,
       sum(p.mood_lift_n)::bigint       as lift_n,
       sum(p.mood_lift_sum)::hugeint    as lift_sum,
       sum(p.mood_lift_sq_sum)::hugeint as lift_sq_sum
from parts p
join clients c using (client_id)
where scope_therapist is null or c.therapist_id = scope_therapist
group by p.client_id, p.assignment_type;

create or replace macro client_type_lifts(first_day, last_day, scope_therapist) as table
with facts_check as materialized (select current from facts_current)
select * from client_type_lifts_facts(first_day, last_day, scope_therapist, enabled := (select current from facts_check))
union all
select a.client_id, a.assignment_type,
       count(*)::bigint,
       sum(s.mood_lift)::hugeint,
       sum(s.mood_lift::integer * s.mood_lift)::hugeint
from submission_facts s
join assignments a using (assignment_id)
join clients c using (client_id)
where a.status = 'active'
  and s.mood_lift is not null
  and near_local_days(s.submitted_at, first_day, last_day)
  and (inside_local_days(s.submitted_at, first_day, last_day) or s.submitted_on between first_day and last_day)
  and (scope_therapist is null or c.therapist_id = scope_therapist)
  and not (select current from facts_check)
group by a.client_id, a.assignment_type;
