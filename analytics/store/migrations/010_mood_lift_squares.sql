-- Schema version 10: the derived facts (analytics/store/facts.py) keep the sum of squared mood lifts per submission day
-- and per assignment, and each assignment's first submission day, so client_type_lifts reads a client's mood lifts per
-- type and their spread from the facts instead of every submission. The two tables are dropped here; schema.sql
-- creates them with the new columns and database.migrate rebuilds them from the rows right after.
drop table if exists submission_days;
drop table if exists assignment_facts;
delete from facts_stamp;
