-- Schema version 4: who may sign in (users), the audit trail (audit_log, audit_head), feedback kept as versions
-- (feedback_versions), who wrote a library template (library_templates.created_by, changed_by), and sequences
-- for new ids, so two people saving at once never pick the same id. Nothing existing changes.
create table if not exists users (
    email        varchar primary key,   -- trimmed, lower case: compared case-insensitively
    role         varchar not null check (role in ('admin', 'practice_manager', 'therapist', 'analyst')),
    therapist_id varchar,                -- required for a therapist, empty for every other role
    active       boolean not null default true,
    created_at   timestamptz not null,
    changed_at   timestamptz not null,
    check ((role = 'therapist') = (therapist_id is not null))
);

create table if not exists audit_log (
    seq         bigint primary key,      -- from audit_seq, in the order rows were written
    logged_at   timestamptz not null,
    user_email  varchar not null,
    user_role   varchar not null,
    action      varchar not null,
    object_type varchar not null,
    object_id   varchar not null,
    outcome     varchar not null check (outcome in ('ok', 'denied', 'failed')),
    detail      varchar not null,
    prev_hash   varchar not null,        -- row_hash of the row before (64 zeros for the first)
    row_hash    varchar not null         -- sha256 of this row's fields and prev_hash
);

create table if not exists audit_head (
    id       integer primary key check (id = 1),
    seq      bigint not null,
    row_hash varchar not null
);

create table if not exists feedback_versions (
    version_id    bigint primary key,    -- from feedback_version_seq
    submission_id varchar not null,
    version       integer not null,      -- 1, 2, ... per submission
    text          varchar not null,
    written_at    timestamptz not null,
    written_by    varchar not null,
    unique (submission_id, version)
);

alter table library_templates add column if not exists created_by varchar;
alter table library_templates add column if not exists changed_by varchar;

create sequence if not exists audit_seq;
create sequence if not exists feedback_version_seq;
create sequence if not exists plan_assignment_seq;
create sequence if not exists user_template_seq;

-- New ids start after the ones already stored (U0007 -> the next user template is U0008; P20260315-004 -> 005).
select max(nextval('user_template_seq')) from range((
    select coalesce(max(try_cast(substr(template_id, 2) as integer)), 0) from library_templates
    where template_id like 'U%'));
select max(nextval('plan_assignment_seq')) from range((
    select coalesce(max(try_cast(regexp_extract(assignment_id, '^P[0-9]{8}-([0-9]+)$', 1) as integer)), 0)
    from assignments));
