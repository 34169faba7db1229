"""What reaches the browser stays small at any size of practice: the first rows of long tables, the groups most in
need on per-therapist (or per-client) charts, clients grouped into cells on scatter plots, and the client picker's
choices found by what is typed, each with a note."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pandas as pd

TABLE_ROWS = 1000  # rows of a table sent to the browser; the download holds them all
CHART_GROUPS = 40  # therapists (or clients) on a bar chart or the week-by-week grid
SCATTER_POINTS = 1000  # clients drawn one by one on a scatter plot; more are grouped into cells
# Clients the sidebar's picker offers; with more in scope, a search box finds the others (at 10M, 55,000 choices were
# 1.5 MB sent to the browser on every rerun of the Client page).
PICKER_CHOICES = 500


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


def picker_texts(ids: list[str], labels: list[str], therapists: list[str | None], *,
                 pseudonym: Callable[[str], str] | None = None) -> dict[str, str]:
    """client_id -> what the picker shows for it, in the order of `ids`: "label · therapist", or with `pseudonym` (the
    de-identified view) the client's pseudonym alone; two clients shown alike get their id added."""
    texts = [pseudonym(cid) for cid in ids] if pseudonym else [
        f"{label} · {therapist or 'no therapist'}" for label, therapist in zip(labels, therapists, strict=True)]
    times = Counter(texts)
    return {cid: f"{text} ({cid})" if times[text] > 1 else text for cid, text in zip(ids, texts, strict=True)}


def picker_offer(shown: dict[str, str], *, find: str, chosen: str | None, ids_seen: bool) -> tuple[list[str], str]:
    """The client ids a large caseload's picker offers (picker_choices over the shown texts, and the ids when
    `ids_seen`: never where ids are hidden) and the note to show under it (picker_note)."""
    searched = {cid: f"{text} {cid}" for cid, text in shown.items()} if ids_seen and find.strip() else shown
    offered, matching = picker_choices(searched, find=find, chosen=chosen)
    return offered, picker_note(matching=matching, total=len(shown), find=find)


def picker_choices(searched: dict[str, str], *, find: str, chosen: str | None,
                   limit: int | None = None) -> tuple[list[str], int]:
    """The client ids the picker offers, in `searched`'s order, and how many match. `searched` maps each client id
    in scope to the text a search looks in (the caller's choice: what the picker shows, with the id where ids may be
    seen, so a name behind a pseudonym can never be found by typing it). The matches are the clients whose text holds
    `find` (any case; blank: every client); the first `limit` (PICKER_CHOICES) are offered, with `chosen` put first
    when it is not among them (the picker always holds the client on screen)."""
    limit = PICKER_CHOICES if limit is None else limit
    needle = find.strip().casefold()
    matching = [cid for cid, text in searched.items() if needle in text.casefold()] if needle else list(searched)
    offered = matching[:limit]
    if chosen is not None and chosen in searched and chosen not in offered:
        offered = [chosen, *offered]
    return offered, len(matching)


def picker_note(*, matching: int, total: int, find: str, limit: int | None = None) -> str:
    """A caption under the picker when it does not offer every client ("" when it does)."""
    limit = PICKER_CHOICES if limit is None else limit
    if not find.strip():
        if total <= limit:
            return ""
        return f"The first {limit:,} of {total:,} clients are listed: type in “Find a client” to list others."
    if not matching:
        return f"No client matches that text (of {total:,} clients)."
    if matching > limit:
        return f"{matching:,} clients match: the first {limit:,} are listed. Type more to narrow them."
    return f"{matching:,} of {total:,} clients match."
