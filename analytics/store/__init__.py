"""The store: opening and migrating the DuckDB file, `schema.sql` and `migrations/`, who is looking
(`scope`), the period asked about (`period`) and the practice's settings.

Imports nothing of the project: every other stage builds on it.
"""
