-- Schema version 2: the planner's tables. A version-1 store keeps every row; nothing existing changes.
--   library_templates  - homework templates users add or edit (the bundled data/library.csv stays a file)
--   assignment_details - instructions and times per week of assignments written by the planner
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

create table if not exists assignment_details (
    assignment_id  varchar primary key,
    instructions   varchar,
    times_per_week integer check (times_per_week between 1 and 7),
    template_id    varchar,
    planned_at     timestamptz not null
);
