-- Schema version 3: column mappings saved by name (analytics/mapping.py). Nothing existing changes.
create table if not exists saved_mappings (
    name     varchar primary key,
    target   varchar not null,
    mapping  varchar not null,
    saved_at timestamptz not null,
    saved_by varchar not null default ''
);
