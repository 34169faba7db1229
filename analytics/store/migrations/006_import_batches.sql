-- Schema version 6: each import batch keeps what it replaced, so it can be undone. Nothing existing changes.
--   import_batches  - how each batch treated rows already stored (update | skip) and when it was undone
--   undo_<table>    - per batch and canonical table: the rows it added (key only) and the rows it changed
--                     (the whole row as it was before), each with row_hash, a digest of the row as the batch
--                     left it, so an undo can tell whether anything touched that row since
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
