"""Named mappings kept in the store's `saved_mappings` table, as JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from duckdb import DuckDBPyConnection

if TYPE_CHECKING:
    import pandas as pd

from analytics.ingest.mapping import Mapping, MappingError
from analytics.ingest.raw import printable


def save_mapping(con: DuckDBPyConnection, name: str, mapping: Mapping, *, saved_by: str = "") -> None:
    """Save (or replace) a mapping under a name (the name is the analyst's text, stored as data)."""
    clean = name.strip()
    if not clean or len(clean) > 100:
        raise MappingError("a mapping's name is 1 to 100 characters")
    if mapping.target == "canonical":
        raise MappingError("save a mapping for one file (a table, flat or mindlogger), not the canonical preset")
    con.execute(
        "insert into saved_mappings values ($name, $target, $mapping, $at, $by) on conflict (name) do update set "
        "target = excluded.target, mapping = excluded.mapping, saved_at = excluded.saved_at, saved_by = excluded.saved_by",
        {"name": clean, "target": mapping.target, "mapping": mapping.to_json(), "at": datetime.now(UTC),
         "by": saved_by},
    )


def load_mapping(con: DuckDBPyConnection, name: str) -> Mapping:
    """The mapping saved under name; MappingError when there is none."""
    row = con.execute("select mapping from saved_mappings where name = ?", [name.strip()]).fetchone()
    if row is None:
        raise MappingError(f"no saved mapping named {printable(name)}")
    return Mapping.from_json(row[0])


def mappings(con: DuckDBPyConnection) -> pd.DataFrame:
    """Saved mappings, by name: name, target, saved_at, saved_by."""
    return con.execute("select name, target, saved_at, saved_by from saved_mappings order by name").df()


def delete_mapping(con: DuckDBPyConnection, name: str) -> None:
    con.execute("delete from saved_mappings where name = ?", [name.strip()])
