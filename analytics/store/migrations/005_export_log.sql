-- Schema version 5: the export log (analytics/export/log.py). Nothing existing changes.
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
