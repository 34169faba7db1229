-- Schema version 9: one row of derived facts per assignment (analytics/store/facts.py explains them), with the
-- assignment's own columns beside its totals, so the adherence macros read one table instead of joining every
-- assignment id to its totals; and the stamp records more of the assignments (status, expected counts, dates,
-- client and type), so a plain-SQL edit of those makes the facts not current. Built right after this script
-- (database.migrate).
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
    last_on            date
);

alter table facts_stamp add column if not exists assignments_digest hugeint;

-- The totals alone (version 7): assignment_facts holds them now.
drop table if exists assignment_totals;
