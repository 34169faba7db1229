"""The domain layer of the homework dashboard. It never imports streamlit.

Stages, each a package; imports run downward only (checked by tests/test_architecture.py):

    store     the DuckDB file, schema and migrations, scope, period, settings
    ingest    reading files and importing them                       (uses store)
    metrics   adherence, caseload, mood, outcomes, effectiveness...  (uses store)
    planning  the library, the planner, take-home files              (uses store, metrics)
    export    formula-safe files, identified and de-identified tiers, backup  (uses store, metrics)
    present   formats, tables and figures for the pages              (uses all of the above)

`demo` (the synthetic practice) and `cli` (`python -m analytics`) are entry points at the top.
"""
