"""Plotly figure builders for the Overview, Client and Caseload pages (no streamlit here).

A builder takes a small aggregated DataFrame (one row per week, group, ...) and returns a go.Figure
with a title, axis titles with units and readable hover text. It needs at least one row: the page
checks `frame.empty` first and says in words that there is nothing to show, because an empty chart
explains nothing. Colours are left to the Streamlit theme (`.streamlit/config.toml`) unless a colour
carries meaning.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import plotly.graph_objects as go

from analytics.metrics import outcomes
from analytics.present.draft import Draft
from analytics.present.formats import (
    MEASURE_NAMES,
    amount,
    day_label,
    percent,
    plain,
    signed,
)


def _hidden_notes(frame: pd.DataFrame) -> list[str]:
    """Per row, why its figures are hidden in the de-identified view (present.deidentified), or ""."""
    return list(frame["hidden_note"]) if "hidden_note" in frame.columns else [""] * len(frame)


def weekly_completion(frame: pd.DataFrame) -> go.Figure:
    """Completion rate per week as bars and on-time rate as a line, both in % of expected homework.

    frame: `adherence.weekly_completion` — every week of the period: week (Monday), expected, credit,
    completion_rate and on_time_rate (0-1, NaN when nothing was due) and so_far; at least one week with
    something due. A week with nothing due says so instead of a bar; the week counted so far is drawn
    lighter, its label and tick say "so far", so it never reads as a full week.
    """
    if not anything_due(frame):
        raise ValueError("weekly_completion needs a week with something due; show a message for an empty period instead")
    weeks = pd.to_datetime(frame["week"])
    with_year = weeks.dt.year.nunique() > 1
    so_far = [bool(v) for v in frame["so_far"]] if "so_far" in frame else [False] * len(frame)
    labels = [day_label(w, with_year=with_year) + (" (so far)" if partial else "") for w, partial in zip(weeks, so_far,
                                                                                                           strict=True)]
    expected = frame["expected"].astype(float)
    due = expected > 0
    rates = frame["completion_rate"].astype(float)
    on_time_credit = frame["on_time_rate"].astype(float) * expected

    notes = _hidden_notes(frame)
    completed_hover = [
        f"Week of {label}: hidden ({note})" if note else
        f"Week of {label}: {percent(rate)} completed ({amount(credit)} of {amount(exp)} expected)" if has
        else f"Week of {label}: nothing due"
        for label, rate, credit, exp, has, note in zip(labels, rates, frame["credit"], expected, due, notes, strict=True)
    ]
    on_time_hover = [
        f"Week of {label}: hidden ({note})" if note else
        f"Week of {label}: {percent(rate)} on time ({amount(credit)} of {amount(exp)} expected)"
        for label, rate, credit, exp, note in zip(labels, frame["on_time_rate"], on_time_credit, expected, notes,
                                                  strict=True)
    ]

    draft = Draft()
    draft.add(
        "bar",
        x=weeks,
        y=(rates * 100).where(due, 0),
        name="Completed (by the period's end)",
        text=["" if note else (f"{percent(r)} so far" if partial else percent(r)) if has else "nothing due"
              for r, has, partial, note in zip(rates, due, so_far, notes, strict=True)],
        # Above the bar: the on-time line never rises above its bar (on-time credit <= credit), so the
        # label stays clear of it, and a 0% week still reads as 0% rather than as a gap.
        textposition="outside",
        cliponaxis=False,
        marker={"color": [SO_FAR_BAR if partial else FULL_BAR for partial in so_far]},
        customdata=completed_hover,
        hovertemplate="%{customdata}<extra></extra>",
    )
    draft.add(
        "scatter",
        x=weeks[due],
        y=(on_time_credit / expected * 100)[due],
        name="On time (by the due date)",
        mode="lines+markers",
        customdata=[h for h, has in zip(on_time_hover, due, strict=True) if has],
        hovertemplate="%{customdata}<extra></extra>",
    )
    draft.update(
        title="Homework completed, week by week",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.06, "xanchor": "left", "x": 0},
        hovermode="closest",
        bargap=0.3,
        uniformtext={"minsize": 10, "mode": "hide"},
    )
    draft.axes(
        "x",
        title="Week starting (Monday)",
        tickvals=weeks,
        ticktext=labels,
        showgrid=False,
    )
    draft.axes("y", title="% of expected homework", range=[0, 100], ticksuffix="%", dtick=25)
    return draft.figure()


def anything_due(weekly: pd.DataFrame) -> bool:
    """Whether a week of `adherence.weekly_completion` had something due (else there is no chart to draw)."""
    return bool((weekly["expected"].astype(float) > 0).any())


FULL_BAR, SO_FAR_BAR = "#2f6f8f", "rgba(47, 111, 143, 0.4)"  # the week counted so far is lighter


# Colours that carry meaning (the theme colours everything else).
MOOD_UP, MOOD_DOWN, MOOD_SAME = "#2f6f8f", "#c9782a", "#8a96a3"


MOOD_LINE = "#a05a7a"  # the weekly mood line: not a direction, so neither of the two above


# Severity bands, from calm to warm; light enough that the score line reads on top.
BAND_COLOURS = {
    "minimal": "#e6f0e8",
    "mild": "#f1f0dc",
    "moderate": "#f7e6cc",
    "moderately severe": "#f4d5c4",
    "severe": "#efc2b8",
}


# Completion heatmap: sand at 0%, light teal at 50%, deep teal at 100%; a blank cell (nothing due) is the
# background, which no rate shares.
COMPLETION_SCALE = [[0.0, "#e6c295"], [0.5, "#a9c8cf"], [1.0, "#1f5670"]]


def _week_labels(weeks_: pd.Series) -> list[str]:
    with_year = weeks_.dt.year.nunique() > 1
    return [day_label(w, with_year=with_year) for w in weeks_]


def mood_before_after(lifts: pd.DataFrame) -> go.Figure:
    """Mood before and after each submission: a segment from the first to the second, coloured by direction.

    lifts: mood.mood_lifts (submitted_at, title, assignment_type, mood_before, mood_after, mood_lift); at least one row.
    """
    if lifts.empty:
        raise ValueError("mood_before_after needs at least one submission with both moods; show a message instead")
    times = pd.to_datetime(lifts["submitted_at"])
    with_year = times.dt.year.nunique() > 1
    hover = [
        f"{day_label(t, with_year=with_year)} {t:%H:%M} · {plain(title)}: mood {int(b)} → {int(a)} ({signed(a - b, 0)})"
        for t, title, b, a in zip(times, lifts["title"], lifts["mood_before"], lifts["mood_after"], strict=True)
    ]
    draft = Draft()
    draft.add(
        "scatter", x=times, y=lifts["mood_before"].astype(float), mode="markers", name="Before",
        marker={"symbol": "circle-open", "size": 8, "color": MOOD_SAME, "line": {"width": 2}},
        customdata=hover, hovertemplate="%{customdata}<extra></extra>",
    )
    lift = lifts["mood_lift"].astype(float)
    for name, colour, chosen in (("After: higher", MOOD_UP, lift > 0), ("After: lower", MOOD_DOWN, lift < 0),
                                 ("After: the same", MOOD_SAME, lift == 0)):
        if not chosen.any():
            continue
        picked = lifts[chosen]
        picked_times = times[chosen]
        # One trace per direction: each segment is (before, after, gap) so the line breaks between submissions.
        seg_x, seg_y = [], []
        for t, b, a in zip(picked_times, picked["mood_before"], picked["mood_after"], strict=True):
            seg_x += [t, t, None]
            seg_y += [float(b), float(a), None]
        draft.add("scatter", x=seg_x, y=seg_y, mode="lines", line={"color": colour, "width": 2},
                  hoverinfo="skip", showlegend=False, legendgroup=name)
        draft.add(
            "scatter", x=picked_times, y=picked["mood_after"].astype(float), mode="markers", name=name, legendgroup=name,
            marker={"size": 9, "color": colour},
            customdata=[h for h, keep in zip(hover, chosen, strict=True) if keep],
            hovertemplate="%{customdata}<extra></extra>",
        )
    draft.update(
        title="Mood before and after each submission",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.04, "xanchor": "left", "x": 0},
        hovermode="closest",
    )
    draft.axes("x", title="Date submitted", showgrid=False, tickformat="%-d %b")
    draft.axes("y", title="Mood (0 worst – 10 best)", range=[-0.5, 10.5], dtick=2)
    return draft.figure()


def measure_scores(series: pd.DataFrame) -> go.Figure:
    """PHQ-9 and GAD-7 scores over time, one panel per measure with scores, on its severity bands.

    series: outcomes.measure_series (measure, administered_on, score, band); at least one row.
    """
    if series.empty:
        raise ValueError("measure_scores needs at least one score; show a message instead")
    measures = [m for m in outcomes.BANDS if (series["measure"] == m).any()]
    draft = Draft.grid(rows=len(measures), shared_xaxes=True, vertical_spacing=0.12,
                       subplot_titles=[f"{m} ({MEASURE_NAMES.get(m, m)})" for m in measures])
    dates = pd.to_datetime(series["administered_on"])
    with_year = dates.dt.year.nunique() > 1
    for row, measure in enumerate(measures, start=1):
        bands = outcomes.BANDS[measure]
        top = bands[-1][1]
        picked = series[series["measure"] == measure]
        picked_dates = dates[series["measure"] == measure]
        draft.add(
            "scatter", x=picked_dates, y=picked["score"], mode="lines+markers+text", name=measure, showlegend=False,
            text=[str(int(s)) for s in picked["score"]], textposition="top center",
            line={"color": "#1f2a30", "width": 2}, marker={"size": 8, "color": "#1f2a30"},
            customdata=[f"{measure} on {day_label(d, with_year=with_year)}: {int(s)} ({b})"
                        for d, s, b in zip(picked_dates, picked["score"], picked["band"], strict=True)],
            hovertemplate="%{customdata}<extra></extra>",
            row=row,
        )
        # The bands on the panel's own axes, their names outside the plot on the right, clear of the scores.
        x, y = draft.axis_names(row, 1)
        for low, high, band in bands:
            y0, y1 = max(low - 0.5, 0), min(high + 0.5, top)
            draft.shape(fillcolor=BAND_COLOURS[band], layer="below", line={"width": 0}, type="rect",
                        x0=0, x1=1, xref=f"{x} domain", y0=y0, y1=y1, yref=y)
            draft.annotate(font={"color": "#5a656c", "size": 11}, showarrow=False, text=band, x=1.01,
                           xanchor="left", xref=f"{x} domain", y=(y0 + y1) / 2, yref=y)
        cutoff = outcomes.CLINICAL_CUTOFF[measure]
        draft.shape(line={"color": "#5a656c", "dash": "dot", "width": 1}, type="line", x0=0, x1=1,
                    xref=f"{x} domain", y0=cutoff - 0.5, y1=cutoff - 0.5, yref=y)
        draft.axes("y", row=row, title=f"Score (0–{top})", range=[0, top], dtick=5, showgrid=False)
    draft.axes("x", showgrid=False, tickformat="%-d %b %Y")
    draft.axes("x", row=len(measures), title="Date taken")
    draft.update(
        title="Questionnaire scores (lower is better)",
        height=260 * len(measures) + 80,
        margin={"r": 130},
        hovermode="closest",
    )
    return draft.figure()


def completion_by_group(frame: pd.DataFrame, *, group_title: str) -> go.Figure:
    """Completion per therapist (or client) as horizontal bars, with the previous period as a marker.

    frame: caseload.breakdown (label, due, expected, credit, completion_rate, previous_completion_rate);
    at least one row. Groups with nothing due have no bar and say so on their label.
    """
    if frame.empty:
        raise ValueError("completion_by_group needs at least one group; show a message instead")
    rate = frame["completion_rate"].astype(float)
    names = [plain(label) for label in frame["label"]]
    notes = _hidden_notes(frame)
    ticks = [f"{name} ({note})" if note else name if due else f"{name} (nothing due)"
             for name, due, note in zip(names, frame["due"], notes, strict=True)]
    hover = [
        f"{name}: hidden ({note})" if note else
        f"{name}: {percent(r)} completed ({amount(c)} of {amount(e)} expected); previous period {percent(p)}"
        if due else f"{name}: nothing due in this period"
        for name, r, c, e, p, due, note in zip(names, rate, frame["credit"], frame["expected"],
                                               frame["previous_completion_rate"], frame["due"], notes, strict=True)
    ]
    draft = Draft()
    # The value sits inside its bar, at the start, so the previous period's tick at the bar's end never covers it;
    # a bar too short to hold it has it just outside.
    draft.add(
        "bar", y=ticks, x=rate * 100, orientation="h", name="This period",
        text=[percent(r) if due and not note else "" for r, due, note in zip(rate, frame["due"], notes, strict=True)],
        textposition=["inside" if due and r >= 0.15 else "outside" for r, due in zip(rate, frame["due"], strict=True)],
        insidetextanchor="start", textfont={"color": "white"}, outsidetextfont={"color": "#1f2a30"}, cliponaxis=False,
        customdata=hover, hovertemplate="%{customdata}<extra></extra>",
    )
    draft.add(
        "scatter", y=ticks, x=frame["previous_completion_rate"].astype(float) * 100, mode="markers", name="Previous period",
        marker={"symbol": "line-ns", "size": 22, "line": {"width": 3, "color": "#1f2a30"}},
        customdata=hover, hovertemplate="%{customdata}<extra></extra>",
    )
    draft.update(
        title=f"Homework completed, by {group_title}",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
        height=max(380, 140 + 36 * len(frame)),
        bargap=0.35,
        hovermode="closest",
    )
    draft.axes("x", title="% of expected homework completed", range=[0, 108], ticksuffix="%", dtick=25)
    draft.axes("y", autorange="reversed", showgrid=False)
    return draft.figure()


def completion_heatmap(grid: pd.DataFrame, *, row_title: str, week_so_far: date | None = None) -> go.Figure:
    """Completion by week (columns) and therapist or client (rows); blank where nothing was due.

    grid: caseload.weekly_grid (week, key, label, expected, credit, completion_rate); at least one row.
    The colour scale is fixed at 0-100%, so the same colour means the same rate on every page. The column of
    `week_so_far` (the week that has not ended) is labelled "so far".
    """
    if grid.empty:
        raise ValueError("completion_heatmap needs at least one cell; show a message instead")
    frame = grid.assign(week=pd.to_datetime(grid["week"]))
    week_list = sorted(frame["week"].unique())
    week_labels = dict(zip(week_list, _week_labels(pd.Series(week_list)), strict=True))
    if week_so_far is not None and pd.Timestamp(week_so_far) in week_labels:
        week_labels[pd.Timestamp(week_so_far)] += " (so far)"
    rows = frame.drop_duplicates("key").sort_values(["label", "key"])
    keys, names = list(rows["key"]), [plain(label) for label in rows["label"]]
    cells = {(k, w): r for k, w, r in zip(frame["key"], frame["week"], frame.to_dict("records"), strict=True)}

    z, text, hover = [], [], []
    for key, name in zip(keys, names, strict=True):
        z_row, text_row, hover_row = [], [], []
        for week in week_list:
            cell = cells.get((key, week))
            label = f"Week of {week_labels[week]} · {name}"
            if cell is None:
                z_row.append(None)
                text_row.append("")
                hover_row.append(f"{label}: nothing due")
            elif cell.get("hidden_note"):
                z_row.append(None)
                text_row.append("")
                hover_row.append(f"{label}: hidden ({cell['hidden_note']})")
            else:
                z_row.append(cell["completion_rate"] * 100)
                text_row.append(percent(cell["completion_rate"]))
                hover_row.append(f"{label}: {percent(cell['completion_rate'])} "
                                 f"({amount(cell['credit'])} of {amount(cell['expected'])})")
        z.append(z_row)
        text.append(text_row)
        hover.append(hover_row)

    draft = Draft()
    draft.add(
        "heatmap", z=z, x=[week_labels[w] for w in week_list], y=keys, zmin=0, zmax=100, colorscale=COMPLETION_SCALE,
        text=text, texttemplate="%{text}", customdata=hover, hovertemplate="%{customdata}<extra></extra>",
        xgap=3, ygap=3, hoverongaps=False,
        colorbar={"title": {"text": "Completed"}, "tickvals": [0, 50, 100], "ticktext": ["0%", "50%", "100%"],
                  "lenmode": "pixels", "len": 150, "yanchor": "top", "y": 1},
    )
    draft.update(
        title=f"Homework completed, by week and {row_title}",
        height=max(300, 170 + 34 * len(keys)),
        plot_bgcolor="rgba(0,0,0,0)",
    )
    draft.axes("x", title="Week the homework was due (starting Monday)", type="category", showgrid=False)
    draft.axes("y", tickvals=keys, ticktext=names, autorange="reversed", showgrid=False)
    return draft.figure()


def completion_distribution(frame: pd.DataFrame) -> go.Figure:
    """How many clients reached each completion rate: bars per 10-point bin.

    frame: caseload.completion_distribution (bin_start, bin_end, clients); ten rows.
    """
    if frame.empty:
        raise ValueError("completion_distribution needs its bins; show a message instead")
    labels = [f"{int(start)}–{int(end)}" for start, end in zip(frame["bin_start"], frame["bin_end"], strict=True)]
    counts = frame["clients"].astype(int)
    draft = Draft()
    draft.add(
        "bar", x=labels, y=counts, text=[str(c) if c else "" for c in counts], textposition="outside", cliponaxis=False,
        customdata=[f"{label}% completed: {c} client{'s' if c != 1 else ''}"
                    for label, c in zip(labels, counts, strict=True)],
        hovertemplate="%{customdata}<extra></extra>",
    )
    draft.update(title="Clients by their completion rate in the period", bargap=0.15, hovermode="closest",
                 height=380)
    draft.axes("x", title="Client's completion rate (% of expected homework)", type="category", showgrid=False,
               tickangle=0)
    draft.axes("y", title="Clients", rangemode="tozero", dtick=max(1, math.ceil(counts.max() / 5)) if counts.max() else 1)
    return draft.figure()
