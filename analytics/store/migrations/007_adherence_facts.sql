-- Schema version 7: derived adherence facts (analytics/store/facts.py explains them). Nothing existing
-- changes; the store's facts are built from its submissions right after this script (database.migrate).
create table if not exists submission_days (
    assignment_id      varchar not null,
    submitted_on       date not null,
    credit             double not null,
    submissions        bigint not null,
    mood_lift_sum      hugeint,
    mood_lift_n        bigint not null,
    last_submission_at timestamp
);

create table if not exists assignment_totals (
    assignment_id      varchar not null,
    credit             double not null,
    on_time_credit     double not null,
    submissions        bigint not null,
    mood_lift_sum      hugeint,
    mood_lift_n        bigint not null,
    last_submission_at timestamp,
    last_on            date not null
);

create table if not exists facts_stamp (
    submissions bigint not null,
    assignments bigint not null,
    due_days    double,
    timezone    varchar not null
);
