"""Exports people can hand over safely: `safe_files` (formula-safe CSV and typed .xlsx bytes), `deidentify`
(keyed pseudonyms, shifted dates, small-cell suppression), `tiers` (the identified and de-identified tables of a
scope and dates, written to files), `backup` (the lossless Parquet backup and its restore) and `log` (the export log).

May import `analytics.store` and `analytics.metrics`; nothing else of the project (present and the command line
import it).
"""
