"""Plotly figure builders, and the number formats they share with the pages (no streamlit here).

A builder takes a small aggregated DataFrame (one row per week, group, ...) and returns a go.Figure
with a title, axis titles with units and readable hover text. It needs at least one row: the page
checks `frame.empty` first and says in words that there is nothing to show, because an empty chart
explains nothing. Colours are left to the Streamlit theme (`.streamlit/config.toml`) unless a colour
carries meaning.
"""

from __future__ import annotations

import math
from datetime import date, datetime

import pandas as pd
import plotly.graph_objects as go

NO_VALUE = "—"  # shown where a figure cannot be computed, e.g. a rate when nothing was due


def percent(rate: float | None) -> str:
    """A 0-1 rate as a whole percentage ("63%"), halves rounded up; "—" when there is no rate."""
    if rate is None or pd.isna(rate):
        return NO_VALUE
    return f"{math.floor(rate * 100 + 0.5)}%"


def points_change(rate: float | None, before: float | None) -> str | None:
    """The change between two 0-1 rates in percentage points ("+5 pp", "-3 pp", "±0 pp"); None if either is missing."""
    if rate is None or before is None or pd.isna(rate) or pd.isna(before):
        return None
    points = math.floor((rate - before) * 100 + 0.5)
    return f"{points:+d} pp" if points else "±0 pp"


def count_change(count: int, before: int) -> str:
    """The change between two counts ("+2", "-1", "±0")."""
    change = count - before
    return f"{change:+d}" if change else "±0"


def amount(value: float) -> str:
    """A count of homework that may hold halves (partial credit): "18", "17.5", "1,204"."""
    text = f"{value:,.1f}"
    return text[:-2] if text.endswith(".0") else text


def day_label(day: date | datetime | pd.Timestamp, *, with_year: bool = False) -> str:
    """A date the way people say it: "3 Nov" (or "3 Nov 2025")."""
    return f"{day.day} {day:%b %Y}" if with_year else f"{day.day} {day:%b}"


def weekly_completion(frame: pd.DataFrame) -> go.Figure:
    """Completion rate per week as bars and on-time rate as a line, both in % of expected homework.

    frame: `adherence.weekly_completion` — week (Monday), expected, credit, completion_rate and
    on_time_rate (0-1); at least one row.
    """
    if frame.empty:
        raise ValueError("weekly_completion needs at least one week; show a message for an empty period instead")
    weeks = pd.to_datetime(frame["week"])
    with_year = weeks.dt.year.nunique() > 1
    labels = [day_label(w, with_year=with_year) for w in weeks]
    expected = frame["expected"].astype(float)
    on_time_credit = frame["on_time_rate"].astype(float) * expected

    completed_hover = [
        f"Week of {label}: {percent(rate)} completed ({amount(credit)} of {amount(exp)} expected)"
        for label, rate, credit, exp in zip(labels, frame["completion_rate"], frame["credit"], expected, strict=True)
    ]
    on_time_hover = [
        f"Week of {label}: {percent(rate)} on time ({amount(credit)} of {amount(exp)} expected)"
        for label, rate, credit, exp in zip(labels, frame["on_time_rate"], on_time_credit, expected, strict=True)
    ]

    figure = go.Figure()
    figure.add_bar(
        x=weeks,
        y=frame["completion_rate"].astype(float) * 100,
        name="Completed (by the period's end)",
        text=[percent(r) for r in frame["completion_rate"]],
        # Above the bar: the on-time line never rises above its bar (on-time credit <= credit), so the
        # label stays clear of it, and a 0% week still reads as 0% rather than as a gap.
        textposition="outside",
        cliponaxis=False,
        customdata=completed_hover,
        hovertemplate="%{customdata}<extra></extra>",
    )
    figure.add_scatter(
        x=weeks,
        y=on_time_credit / expected * 100,
        name="On time (by the due date)",
        mode="lines+markers",
        customdata=on_time_hover,
        hovertemplate="%{customdata}<extra></extra>",
    )
    figure.update_layout(
        title="Homework completed, week by week",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.06, "xanchor": "left", "x": 0},
        hovermode="closest",
        bargap=0.3,
        uniformtext={"minsize": 10, "mode": "hide"},
    )
    figure.update_xaxes(
        title="Week starting (Monday)",
        tickvals=weeks,
        ticktext=labels,
        showgrid=False,
    )
    figure.update_yaxes(title="% of expected homework", range=[0, 100], ticksuffix="%", dtick=25)
    return figure
