"""What reaches the browser stays small at any size of practice: the first rows of long tables, the groups most in
need on per-therapist (or per-client) charts, and clients grouped into cells on scatter plots, each with a note."""

from __future__ import annotations

import pandas as pd

TABLE_ROWS = 1000  # rows of a table sent to the browser; the download holds them all
CHART_GROUPS = 40  # therapists (or clients) on a bar chart or the week-by-week grid
SCATTER_POINTS = 1000  # clients drawn one by one on a scatter plot; more are grouped into cells


def first_rows(frame: pd.DataFrame, limit: int | None = None) -> tuple[pd.DataFrame, int]:
    """The first `limit` (TABLE_ROWS) rows of `frame` (in its order) and how many more there are."""
    limit = TABLE_ROWS if limit is None else limit
    return frame.head(limit), max(0, len(frame) - limit)


def more_rows_note(more: int, *, shown: int, what: str) -> str:
    """A caption for a table cut to its first rows ("" when nothing was left out)."""
    if not more:
        return ""
    return (f"The table shows the first {shown:,} {what} in this order; {more:,} more are not shown here. "
            "Download the table to see them all.")


def most_in_need(by_group: pd.DataFrame, limit: int | None = None) -> tuple[pd.DataFrame, int]:
    """The `limit` (CHART_GROUPS) groups of caseload.breakdown with the lowest completion (nothing due last), in
    the frame's order, and how many more there are."""
    limit = CHART_GROUPS if limit is None else limit
    if len(by_group) <= limit:
        return by_group, 0
    rate = by_group["completion_rate"].astype(float)
    order = rate.fillna(2.0).sort_values(kind="stable").index[:limit]
    return by_group.loc[sorted(order)], len(by_group) - limit


def grid_of(grid: pd.DataFrame, kept: pd.DataFrame, *, group: str) -> pd.DataFrame:
    """The cells of caseload.weekly_grid for the groups in `kept` (caseload.breakdown by `group`, e.g. from
    most_in_need)."""
    return grid[grid["key"].isin(set(kept[f"{group}_id"]))]


def more_groups_note(more: int, *, group: str) -> str:
    """A caption for a chart cut to the groups most in need ("" when nothing was left out)."""
    if not more:
        return ""
    return (f"Showing the {CHART_GROUPS} {group}s with the lowest completion in the period; {more:,} other "
            f"{group}s are not drawn.")


def scatter_cells(points: pd.DataFrame, limit: int | None = None) -> pd.DataFrame | None:
    """For effectiveness.adherence_outcome points (completion_rate 0-1, change): None when there are at most `limit`
    clients (each is drawn; SCATTER_POINTS by default); otherwise the clients counted per cell of 5 points of
    completion × 1 point of change (completion_rate and change at the cell's centre, clients)."""
    if len(points) <= (SCATTER_POINTS if limit is None else limit):
        return None
    cells = pd.DataFrame({
        "completion_rate": (points["completion_rate"].astype(float) * 20).round() / 20,
        "change": points["change"].astype(float).round(),
    })
    return cells.groupby(["completion_rate", "change"], as_index=False).size().rename(columns={"size": "clients"})


def scatter_note(clients: int) -> str:
    """A caption for a scatter plot whose clients are grouped into cells ("" when each client is drawn)."""
    if clients <= SCATTER_POINTS:
        return ""
    return (f"With {clients:,} clients, nearby clients are drawn together: each circle is a cell of 5 points of "
            "completion by 1 point of change, larger for more clients (hover for how many).")
