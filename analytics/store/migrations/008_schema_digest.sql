-- Schema version 8: schema_meta records the digest of the schema.sql that last made the views and macros
-- (database.migrate writes it on every open that runs schema.sql), so a command that only reads can open the
-- store read-only when its views are this release's (database.open_for_reading). Older releases refuse the
-- file from now on, so they cannot replace the views without the digest noticing.
alter table schema_meta add column if not exists schema_sql varchar;
