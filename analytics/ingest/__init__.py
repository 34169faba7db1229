"""Reading files into the store: `sources` (bytes to rows: encodings, delimiters, headers, .xlsx),
`canonical` (the five tables' format), `mapping` (other systems' columns and words), `importer`
(validation and the all-or-nothing write).

May import `analytics.store`; nothing else of the project.
"""
