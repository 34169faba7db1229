"""The store: opening and migrating the DuckDB file (`database`), `schema.sql` and `migrations/`, who is
looking (`scope`), the period asked about (`period`), and the words the store speaks (`vocabulary`).

Imports nothing of the project: every other stage builds on it.
"""
