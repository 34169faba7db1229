"""Practice settings kept in the store's `settings` table: the practice's name (on handouts and calendar files)."""

from __future__ import annotations

from duckdb import DuckDBPyConnection

from analytics.store.database import transaction

PRACTICE_NAME_KEY = "practice_name"
MAX_PRACTICE_NAME_CHARS = 120
DEFAULT_PRACTICE_NAME = "Your practice"  # what a handout says until the practice names itself


def practice_name(con: DuckDBPyConnection) -> str | None:
    """The practice's name as set, or None when it was never set."""
    row = con.execute("select value from settings where key = ?", [PRACTICE_NAME_KEY]).fetchone()
    return row[0] if row else None


def set_practice_name(con: DuckDBPyConnection, name: str) -> str:
    """Store the practice's name (surrounding and repeated spaces trimmed), in one transaction; returns it.

    An empty name removes the setting. Raises ValueError for a name over MAX_PRACTICE_NAME_CHARS or with
    control characters (it is printed on handouts and written into calendar files)."""
    clean = " ".join((name or "").split())
    if len(clean) > MAX_PRACTICE_NAME_CHARS:
        raise ValueError(f"the practice name can be at most {MAX_PRACTICE_NAME_CHARS} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in clean):
        raise ValueError("the practice name cannot hold control characters")
    with transaction(con):
        if clean:
            con.execute("insert into settings values (?, ?) on conflict (key) do update set value = excluded.value",
                        [PRACTICE_NAME_KEY, clean])
        else:
            con.execute("delete from settings where key = ?", [PRACTICE_NAME_KEY])
    return clean
