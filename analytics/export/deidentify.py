"""De-identification: keyed pseudonyms (HMAC-SHA256 with the practice's secret), and small-count suppression with
complementary suppression so that no hidden count can be worked out from the totals."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

import duckdb
import numpy as np
from duckdb import DuckDBPyConnection

from analytics.store.database import StoreError, transaction

SECRET_KEY = "export.pseudonym_secret"  # settings key; never exported (backup.py leaves it out)
K_KEY = "export.suppression_k"  # settings key: counts from 1 to k are suppressed
DEFAULT_K = 10
PSEUDONYM_HEX = 16  # 64 bits of the HMAC: a collision is unlikely below billions of ids

# What is pseudonymised, and the letter its pseudonyms start with. The kind is part of the HMAC's message, so a
# client and a submission with the same id get unrelated pseudonyms.
KINDS = {"therapist": "T", "client": "C", "assignment": "A", "submission": "S"}


def _setting(con: DuckDBPyConnection, key: str) -> str | None:
    # fetchall, not fetchone: a result left half read would stop the next query on this cursor
    rows = con.execute("select value from settings where key = $key", {"key": key}).fetchall()
    return rows[0][0] if rows else None


def practice_secret(con: DuckDBPyConnection) -> bytes:
    """The practice's pseudonym secret (32 random bytes), made on first use and kept in `settings`.

    Two sessions asking at once both get the one that was stored first.
    """
    found = _setting(con, SECRET_KEY)
    if found is None:
        try:
            with transaction(con):
                con.execute("insert into settings values ($key, $value) on conflict (key) do nothing",
                            {"key": SECRET_KEY, "value": secrets.token_hex(32)})
        except (duckdb.TransactionException, duckdb.ConstraintException):
            pass  # another session stored its secret first: read that one
        found = _setting(con, SECRET_KEY)
    return bytes.fromhex(found)


def pseudonym(secret: bytes, kind: str, identifier: str) -> str:
    """The pseudonym of one id: the kind's letter, "-" and the first 16 hex digits of HMAC-SHA256(secret, kind:id)."""
    digest = hmac.new(secret, f"{kind}:{identifier}".encode(), hashlib.sha256).hexdigest()
    return f"{KINDS[kind]}-{digest[:PSEUDONYM_HEX]}"


def hmac_parameters(secret: bytes) -> dict[str, bytes]:
    """The named parameters `pseudonym_sql` needs: the secret xor-ed with HMAC's inner and outer pads."""
    key = secret if len(secret) <= 64 else hashlib.sha256(secret).digest()
    key = key.ljust(64, b"\0")
    return {"hmac_ipad": bytes(b ^ 0x36 for b in key), "hmac_opad": bytes(b ^ 0x5C for b in key)}


def pseudonym_sql(kind: str, column: str) -> str:
    """SQL for `pseudonym(secret, kind, <column>)` computed in DuckDB (HMAC from two sha256 calls), so a million
    ids take a second. `kind` must be one of KINDS and `column` a column reference written in this package; the
    query binds `hmac_parameters(secret)`."""
    if kind not in KINDS:
        raise ValueError(f"unknown pseudonym kind {kind!r}")
    inner = f"unhex(sha256($hmac_ipad || encode('{kind}:' || {column})))"
    return f"('{KINDS[kind]}-' || left(sha256($hmac_opad || {inner}), {PSEUDONYM_HEX}))"


def suppression_k(con: DuckDBPyConnection) -> int:
    """The practice's k: counts from 1 to k are suppressed in de-identified tables (setting export.suppression_k)."""
    found = _setting(con, K_KEY)
    if found is None:
        return DEFAULT_K
    try:
        k = int(found)
    except ValueError:
        k = 0
    if k < 1:
        raise StoreError(f"the stored setting {K_KEY} is {found!r}: it must be a whole number of at least 1")
    return k


def set_suppression_k(con: DuckDBPyConnection, k: int) -> None:
    """Store the practice's k (a whole number of at least 1)."""
    if int(k) != k or k < 1:
        raise ValueError("k must be a whole number of at least 1")
    with transaction(con):
        con.execute("insert into settings values ($key, $value) on conflict (key) do update set value = excluded.value",
                    {"key": K_KEY, "value": str(int(k))})


# ---------------------------------------------------------------------------------------------------------------
# Suppression
# ---------------------------------------------------------------------------------------------------------------
# A table of counts is a 2-D array whose last row holds the column totals and, when it has row totals, whose last
# column holds the row totals. Several tables of the same counts (by type, by therapist, by week) share their total
# row: it is the same numbers in each, so a count hidden in one is hidden in all.


def _relations(tables: Sequence[np.ndarray], row_totals: bool) -> tuple[list[list[tuple[int, int, int]]], dict]:
    """Every sum a reader can check (a row or column against its total), as lists of (table, row, column) with the
    total last; and the map of each cell to its variable (the shared total row is one set of variables)."""
    variable: dict[tuple[int, int, int], tuple] = {}
    lines: list[list[tuple[int, int, int]]] = []
    for t, table in enumerate(tables):
        rows, columns = table.shape
        for i in range(rows):
            for j in range(columns):
                variable[(t, i, j)] = ("total", j) if i == rows - 1 else (t, i, j)
        for j in range(columns):
            lines.append([(t, i, j) for i in range(rows)])
        if row_totals:
            for i in range(rows):
                lines.append([(t, i, j) for j in range(columns)])
    return lines, variable


def recoverable(tables: Sequence[np.ndarray], masks: Sequence[np.ndarray], *, row_totals: bool = True) -> list[tuple]:
    """The suppressed cells (table, row, column) that the published cells and totals determine exactly.

    Each relation "the parts sum to the total" is a linear equation in the suppressed cells; a cell is determined
    when no change of the suppressed cells that keeps every equation true can move it (it is zero in every vector
    of the equations' null space).
    """
    lines, variable = _relations(tables, row_totals)
    unknown = sorted({variable[(t, i, j)] for t, mask in enumerate(masks) for i, j in zip(*np.nonzero(mask), strict=True)},
                     key=repr)
    if not unknown:
        return []
    index = {v: n for n, v in enumerate(unknown)}
    equations = []
    for line in lines:
        row = np.zeros(len(unknown))
        for position, cell in enumerate(line):
            if masks[cell[0]][cell[1], cell[2]]:
                row[index[variable[cell]]] += -1.0 if position == len(line) - 1 else 1.0
        if row.any():
            equations.append(row)
    if not equations:
        return []
    matrix = np.array(equations)
    _, values, basis = np.linalg.svd(matrix)
    rank = int((values > 1e-9 * max(1.0, values.max())).sum())
    null = basis[rank:].T  # unknowns x free directions
    fixed = {v for v, n in index.items() if not null.size or np.abs(null[n]).max() < 1e-9}
    return [(t, i, j) for t, mask in enumerate(masks) for i, j in zip(*np.nonzero(mask), strict=True)
            if variable[(t, int(i), int(j))] in fixed]


def _complement(table: np.ndarray, mask: np.ndarray, i: int, j: int, row_totals: bool) -> tuple[int, int] | None:
    """The cell to hide beside (i, j): the smallest shown count (a count above 0 first, a part before a total) in the
    line that gives it away (its row or column when that holds no other hidden cell; the row first), else in the
    other line, else anywhere in the table."""
    rows, columns = table.shape

    def best(cells: list[tuple[int, int]]) -> tuple[int, int] | None:
        shown = [(r, c) for r, c in cells if not mask[r, c]]
        if not shown:
            return None
        return min(shown, key=lambda rc: (table[rc] == 0, rc[0] == rows - 1 or (row_totals and rc[1] == columns - 1),
                                          table[rc], rc))

    row = [(i, c) for c in range(columns)] if row_totals else []
    column = [(r, j) for r in range(rows)]
    lines = [row, column] if mask[i].sum() == 1 or mask[:, j].sum() > 1 else [column, row]
    return best(lines[0]) or best(lines[1]) or best([(r, c) for r in range(rows) for c in range(columns)])


def suppress(tables: Sequence[np.ndarray], k: int, *, row_totals: bool = True) -> list[np.ndarray]:
    """Which cells to hide (boolean masks, one per table) in tables of counts that share their total row.

    Primary: every count from 1 to k. Complementary: while some hidden cell can be worked out from the shown cells
    and the totals (`recoverable`), the smallest shown count beside it is hidden too. Zeros are shown.
    """
    tables = [np.asarray(table, dtype=np.int64) for table in tables]
    if len({tuple(table[-1]) for table in tables}) > 1:
        raise ValueError("tables that share their total row must have the same totals")
    masks = [(table >= 1) & (table <= k) for table in tables]

    def share_total_row() -> None:
        hidden = np.logical_or.reduce([mask[-1] for mask in masks])
        for mask in masks:
            mask[-1] |= hidden

    share_total_row()
    while found := recoverable(tables, masks, row_totals=row_totals):
        touched: set[tuple[int, int]] = set()
        for t, i, j in found:
            if (t, i) in touched:
                continue
            cell = _complement(tables[t], masks[t], i, j, row_totals)
            if cell is None:
                continue
            masks[t][cell] = True
            touched.add((t, i))
        share_total_row()
        if not touched:
            break  # nothing left to hide (cannot happen with totals that add up)
    return masks
