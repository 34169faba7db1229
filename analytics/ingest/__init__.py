"""Reading files into the store: `sources` (bytes to rows: encodings, delimiters, headers, .xlsx, within
hard limits), `canonical` (the five tables' format), `mapping` (other systems' columns and words),
`people` (matching the therapists and clients an export names), `importer` (validation and the
all-or-nothing write), `changes` (what a batch adds and changes, written so it can be undone), `undo`
(the import log and undoing a batch).

May import `analytics.store`; nothing else of the project.
"""
