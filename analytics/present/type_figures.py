"""Plotly figures that compare types of homework, for the Effectiveness and Planner pages (no streamlit here).

Same contract as `figures`: a small aggregated frame in, a labelled go.Figure out.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.metrics import outcomes
from analytics.metrics.effectiveness import MIN_N, AdherenceOutcome
from analytics.planning.planner import LOAD_WARNING_RATIO, PlanLoad
from analytics.present import bounds
from analytics.present.draft import Draft
from analytics.present.formats import (
    MINUS,
    amount,
    not_enough_data,
    per_week,
    percent,
    plain,
    signed,
)

# Short names for chart labels (tables keep vocabulary.TYPE_LABELS); other types are shown as written.
SHORT_TYPE_LABELS = {
    "journaling": "Journaling",
    "behavioural": "Behavioural",
    "mindfulness": "Mindfulness",
    "creative": "Creative",
    "narrative": "Narrative",
    "other": "Other",
}


# The client's own figure, what the planner expects of them, and the caseload's figure (profile chart).
OWN_COLOUR, EXPECTED_COLOUR, CASELOAD_COLOUR = "#1f2a30", "#2f6f8f", "#8a96a3"


# A plan that asks clearly more than recent weeks: its bars turn amber.
OVER_COLOUR = "#c9782a"


ZERO_LINE = {"color": "#5a656c", "dash": "dot", "width": 1}


def short_type(assignment_type: str) -> str:
    """ "Mindfulness" for a chart label; a type kept as the practice wrote it is escaped for Plotly."""
    return SHORT_TYPE_LABELS.get(assignment_type, plain(assignment_type))


def _charted_types(by_type: pd.DataFrame) -> pd.Series:
    return by_type["enough_mood_data"].astype(bool) & (by_type["due"] > 0)


def left_out_of_type_chart(by_type: pd.DataFrame) -> list[str]:
    """Why each type of effectiveness.by_type is not in type_comparison, one line each (user text: st.text)."""
    lines = []
    for row, charted in zip(by_type.to_dict("records"), _charted_types(by_type), strict=True):
        if charted:
            continue
        reasons = []
        if not row["due"]:
            reasons.append("nothing was due, so there is no completion rate")
        if not row["enough_mood_data"]:
            reasons.append(f"mood lift: {not_enough_data(row['mood_lift_n'])}")
        lines.append(f"{row['type_label']}: {'; '.join(reasons)}")
    return lines


def _columns_of_labels(xs: list[float], *, width: float) -> list[list[int]]:
    """Indexes of points grouped so that points less than `width` apart across (in a chain) share one group."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    groups: list[list[int]] = []
    for i in order:
        if groups and xs[i] - xs[groups[-1][-1]] < width:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _spread_out(values: list[float], *, gap: float, low: float, high: float) -> list[float]:
    """Label heights near `values` (same order), at least `gap` apart, kept within [low, high] where they fit.

    Labels that would crowd form a group centred on the mean of its points, merged until no two groups touch.
    """
    groups: list[tuple[float, list[int]]] = []  # (centre, members from the top down), top group first
    for i in sorted(range(len(values)), key=lambda i: values[i], reverse=True):
        groups.append((values[i], [i]))
        while len(groups) > 1:
            (upper_centre, upper), (lower_centre, lower) = groups[-2], groups[-1]
            upper_bottom = upper_centre - (len(upper) - 1) * gap / 2
            lower_top = lower_centre + (len(lower) - 1) * gap / 2
            if upper_bottom - lower_top >= gap:
                break
            members = upper + lower
            groups[-2:] = [(sum(values[m] for m in members) / len(members), members)]
    placed = {member: centre + ((len(members) - 1) / 2 - k) * gap
              for centre, members in groups for k, member in enumerate(members)}
    top, bottom = max(placed.values()), min(placed.values())
    shift = min(0.0, high - top) if top > high else max(0.0, low - bottom) if bottom < low else 0.0
    return [placed[i] + shift for i in range(len(values))]


def type_comparison(by_type: pd.DataFrame) -> go.Figure:
    """Each type's completion (x, %) against its mean mood lift (y, points), with the lift's 95% interval.

    by_type: effectiveness.by_type. Drawn are the types with something due and at least
    effectiveness.MIN_N mood ratings; list the others with left_out_of_type_chart. At least one.
    """
    shown = by_type[_charted_types(by_type)].reset_index(drop=True)
    if shown.empty:
        raise ValueError("type_comparison needs a type with enough mood data; list the types instead")
    x = shown["completion_rate"].astype(float) * 100
    y = shown["mood_lift_mean"].astype(float)
    low, high = shown["mood_lift_ci_low"].astype(float), shown["mood_lift_ci_high"].astype(float)
    hover = [
        f"{plain(row['type_label'])}: {percent(row['completion_rate'])} completed "
        f"({amount(row['credit'])} of {amount(row['expected'])} expected, {int(row['due'])} assignments due)"
        f"<br>mean mood lift {signed(row['mood_lift_mean'], 2)} points "
        f"(95% interval {signed(row['mood_lift_ci_low'], 2)} to {signed(row['mood_lift_ci_high'], 2)}; "
        f"n = {int(row['mood_lift_n'])} ratings)"
        for row in shown.to_dict("records")
    ]
    x_low, x_high = float(x.min()), float(x.max())
    spread = max(x_high - x_low, 10.0)
    y_low = min(0.0, float(low.min())) - 0.3
    y_high = max(0.0, float(high.max())) + 0.3
    draft = Draft()
    draft.add(
        "scatter", x=x, y=y, mode="markers",
        error_y={"type": "data", "symmetric": False, "array": high - y, "arrayminus": y - low,
                 "thickness": 1.5, "width": 6},
        marker={"size": 11},
        customdata=hover, hovertemplate="%{customdata}<extra></extra>",
        showlegend=False,
    )
    # Labels go right of the points. Points closer across than a label is wide share a column of labels, spread
    # out so that none overlaps another, each joined to its point by a thin line; a point on its own is labelled
    # beside it.
    x_range = (max(0.0, x_low - 0.1 * spread) - 1, x_high + 0.55 * spread)
    label_width = (x_range[1] - x_range[0]) * 0.2  # about 21 characters on a 900-pixel plot
    texts = [f"{short_type(t)} (n = {int(n)})" for t, n in zip(shown["assignment_type"], shown["mood_lift_n"],
                                                              strict=True)]
    for column in _columns_of_labels(list(x), width=label_width):
        label_x = max(x[i] for i in column) + 0.04 * spread
        heights = _spread_out([y[i] for i in column], gap=(y_high - y_low) * 0.075, low=y_low, high=y_high)
        for i, label_y in zip(column, heights, strict=True):
            draft.annotate(
                x=x[i], y=y[i], ax=label_x, ay=label_y, axref="x", ayref="y", xanchor="left", text=texts[i],
                showarrow=True, arrowhead=0, arrowwidth=1, arrowcolor="#8a96a3", standoff=7,
                font={"size": 12}, bgcolor="rgba(251, 250, 247, 0.85)",
            )
    draft.hline(0, line=ZERO_LINE)
    draft.update(title="Completion and mood lift, by type of homework", hovermode="closest", height=440)
    # Room on the right for the labels; the axis still starts at the data, so close rates can be told apart.
    draft.axes("x", title="Homework completed (% of expected)", ticksuffix="%", range=list(x_range))
    draft.axes("y", title="Mean mood lift (points: after − before, 0–10)", zeroline=False, range=[y_low, y_high])
    return draft.figure()


def adherence_outcome_scatter(outcome: AdherenceOutcome) -> go.Figure:
    """One point per client: completion rate (x, %) against change on the measure (y, points; below 0 is better),
    with the least-squares line when the association could be computed.

    outcome: effectiveness.adherence_outcome with at least one point.
    """
    points = outcome.points
    if points.empty:
        raise ValueError("adherence_outcome_scatter needs at least one client; show the wording instead")
    y = points["change"].astype(float)
    draft = Draft()
    cells = bounds.scatter_cells(points)
    if cells is None:
        draft.add(
            "scatter", x=points["completion_rate"].astype(float) * 100, y=y, mode="markers", name="A client",
            marker={"size": 9, "opacity": 0.8},
            customdata=[f"{plain(label)}: {percent(rate)} of homework completed; {outcome.measure} "
                        f"{signed(change, 0).replace('-', MINUS)} point{'s' if abs(change) != 1 else ''}"
                        for label, rate, change in zip(points["label"], points["completion_rate"], y, strict=True)],
            hovertemplate="%{customdata}<extra></extra>",
        )
    else:  # many clients: counted per cell, the circle's area grows with the count
        most = float(cells["clients"].max())
        draft.add(
            "scatter", x=cells["completion_rate"] * 100, y=cells["change"], mode="markers", name="Clients (grouped)",
            marker={"size": [6 + 24 * (n / most) ** 0.5 for n in cells["clients"]], "opacity": 0.7},
            customdata=[f"{n:,} client{'s' if n != 1 else ''}: about {percent(rate)} of homework completed; "
                        f"{outcome.measure} {signed(change, 0).replace('-', MINUS)} point{'s' if abs(change) != 1 else ''}"
                        for n, rate, change in zip(cells["clients"], cells["completion_rate"], cells["change"],
                                                   strict=True)],
            hovertemplate="%{customdata}<extra></extra>",
        )
    if outcome.slope is not None and outcome.intercept is not None:
        ends = [float(points["completion_rate"].min()), float(points["completion_rate"].max())]
        draft.add(
            "scatter", x=[end * 100 for end in ends], y=[outcome.intercept + outcome.slope * end for end in ends],
            mode="lines", name="Fitted line (least squares)", line={"color": OWN_COLOUR, "width": 2, "dash": "dash"},
            hoverinfo="skip",
        )
    draft.hline(0, line=ZERO_LINE)
    top = outcome_scale_top(outcome.measure)
    draft.update(
        title=f"Homework completed and change on {outcome.measure}",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
        hovermode="closest", height=420,
    )
    draft.axes("x", title="Client's homework completed in the period (% of expected)", ticksuffix="%",
               range=[-3, 103], dtick=25)
    span = max(5.0, float(y.abs().max()) + 2)
    draft.axes("y", title=f"Change in {outcome.measure} score (0–{top}; below 0 = better)", zeroline=False,
               range=[-span, span])
    return draft.figure()


def outcome_scale_top(measure: str) -> int:
    """The highest possible score of a measure (27 for PHQ-9, 21 for GAD-7)."""
    return outcomes.BANDS[measure][-1][1]


def _profile_tick(row: dict) -> str:
    expected, ratings = row["expected"], int(row["mood_lift_n"])
    if not expected and not ratings:
        return f"{short_type(row['assignment_type'])}<br>none of this type yet"
    return (f"{short_type(row['assignment_type'])}<br>{amount(expected)} expected · "
            f"{ratings} rating{'s' if ratings != 1 else ''}")


def profile_chart(profile: pd.DataFrame) -> go.Figure:
    """One client by type: their own completion and mood lift, the caseload's, and what is likely for them
    (their own figure pulled toward the caseload's), side by side; each row says how much data is behind it.

    profile: profile.client_profile_by_type; at least one row. The client's own mood lift is drawn only
    when it rests on effectiveness.MIN_N ratings or more.
    """
    if profile.empty:
        raise ValueError("profile_chart needs at least one type; show a message instead")
    rows = profile.to_dict("records")
    ticks = [_profile_tick(row) for row in rows]
    draft = Draft.grid(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06,
                       subplot_titles=["Homework completed (% of expected)", "Mood lift (points, 0–10 scale)"])
    panels = (
        (1, "completion_rate", "caseload_completion_rate", "shrunk_completion_rate", 100.0,
         lambda row: row["expected"] > 0, percent),
        (2, "mood_lift_mean", "caseload_mood_lift", "shrunk_mood_lift", 1.0,
         lambda row: row["mood_lift_n"] >= MIN_N, lambda value: signed(value)),
    )
    for column, own, caseload_figure, expected, scale, own_counts, shown in panels:
        seg_x, seg_y = [], []
        own_x, own_y, own_hover = [], [], []
        for row, tick in zip(rows, ticks, strict=True):
            if own_counts(row) and not pd.isna(row[own]) and not pd.isna(row[expected]):
                seg_x += [row[own] * scale, row[expected] * scale, None]
                seg_y += [tick, tick, None]
                own_x.append(row[own] * scale)
                own_y.append(tick)
                own_hover.append(f"{plain(row['type_label'])}: their own figure {shown(row[own])}")
        hover = []
        for row in rows:
            name = plain(row["type_label"])
            if column == 1:
                own_text = (f"their own {percent(row[own])} ({amount(row['credit'])} of {amount(row['expected'])})"
                            if row["expected"] > 0 else "none of their own yet")
                weight = row["completion_weight"]
            else:
                own_text = (f"their own {signed(row[own])} ({int(row['mood_lift_n'])} ratings)" if own_counts(row)
                            else f"their own: {not_enough_data(row['mood_lift_n'])}")
                weight = row["mood_weight"]
            hover.append(f"{name}: likely {shown(row[expected])}; {own_text}; caseload {shown(row[caseload_figure])}"
                         f" (their own figure weighs {percent(weight)})")
        first = column == 1
        draft.add("scatter", x=seg_x, y=seg_y, mode="lines", line={"color": CASELOAD_COLOUR, "width": 2},
                  hoverinfo="skip", showlegend=False, row=1, col=column)
        draft.add(
            "scatter", x=[row[caseload_figure] * scale for row in rows], y=ticks, mode="markers", name="Caseload",
            marker={"symbol": "line-ns", "size": 18, "line": {"width": 3, "color": CASELOAD_COLOUR}},
            customdata=hover, hovertemplate="%{customdata}<extra></extra>", showlegend=first, legendgroup="caseload",
            row=1, col=column,
        )
        draft.add(
            "scatter", x=own_x, y=own_y, mode="markers", name="Their own figure",
            marker={"symbol": "circle-open", "size": 11, "color": OWN_COLOUR, "line": {"width": 2}},
            customdata=own_hover, hovertemplate="%{customdata}<extra></extra>", showlegend=first, legendgroup="own",
            row=1, col=column,
        )
        draft.add(
            "scatter", x=[row[expected] * scale for row in rows], y=ticks, mode="markers",
            name="Likely for them (their own figure pulled toward the caseload's)",
            marker={"size": 11, "color": EXPECTED_COLOUR},
            customdata=hover, hovertemplate="%{customdata}<extra></extra>", showlegend=first, legendgroup="expected",
            row=1, col=column,
        )
    for column, figures, missing in ((1, "caseload_completion_rate", "Nothing was due in this caseload yet"),
                                     (2, "caseload_mood_lift", "No mood ratings in this caseload yet")):
        if profile[figures].isna().all():  # an empty panel says why
            draft.annotate(text=missing, x=0.5, y=0.5, xref="x domain", yref="y domain", showarrow=False,
                           font={"size": 13, "color": "#5a656c"}, bgcolor="#fbfaf7", row=1, col=column)
    draft.axes("x", row=1, col=1, range=[-4, 104], ticksuffix="%", dtick=25)
    lifts = [value for row in rows for value in (row["mood_lift_mean"] if row["mood_lift_n"] >= MIN_N else None,
                                                 row["caseload_mood_lift"], row["shrunk_mood_lift"])
             if value is not None and not pd.isna(value)]
    reach = max([1.0, *(abs(v) for v in lifts)]) + 0.5
    draft.axes("x", row=1, col=2, range=[-reach, reach], zeroline=True, zerolinecolor="#c5ccd1")
    draft.axes("y", autorange="reversed", showgrid=False, categoryorder="array", categoryarray=ticks)
    draft.update(
        title="Their figures by type, and what is likely",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.1, "xanchor": "left", "x": 0},
        height=150 + 62 * len(rows), hovermode="closest", margin={"t": 120},
    )
    return draft.figure()


def plan_load_chart(load: PlanLoad, *, client_label: str) -> go.Figure:
    """The plan's busiest week against what the client has done a week recently: times and minutes side by side.

    load: planner.plan_load. A dotted line marks 1.5 × the recent figure, above which the plan asks clearly more;
    the plan's bars are amber when the planner warns.
    """
    recent_name = "Done a week lately" if load.recent_times_per_week is not None else "No homework history yet"
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=["Times a week", "Minutes a week"])
    planned_colour = OVER_COLOUR if load.warning else EXPECTED_COLOUR
    who = plain(client_label)
    for column, planned, recent, unit in (
        (1, load.planned_times_per_week, load.recent_times_per_week, "times"),
        (2, load.planned_minutes_per_week, load.recent_minutes_per_week, "min"),
    ):
        names = ["This plan (busiest week)", recent_name]
        values = [planned, recent if recent is not None else 0]
        figure.add_bar(
            x=names, y=values, marker={"color": [planned_colour, CASELOAD_COLOUR]},
            text=[per_week(planned, unit), per_week(recent, unit)], textposition="outside", cliponaxis=False,
            customdata=[f"This plan asks {per_week(planned, unit)} a week in its busiest week",
                        f"{who} has done {per_week(recent, unit)} a week recently" if recent is not None
                        else f"{who} has no homework history to compare with"],
            hovertemplate="%{customdata}<extra></extra>", showlegend=False, row=1, col=column,
        )
        top = max(planned, recent or 0) * 1.25 or 1
        if recent:
            threshold = recent * LOAD_WARNING_RATIO
            top = max(top, threshold * 1.15)
            figure.add_hline(y=threshold, line_dash="dot", line_color=OVER_COLOUR, line_width=1.5, row=1, col=column,
                             annotation_text=f"{LOAD_WARNING_RATIO:g} × recent", annotation_position="top right",
                             annotation_font={"size": 11, "color": OVER_COLOUR})
        figure.update_yaxes(range=[0, top], rangemode="tozero", row=1, col=column)
    figure.update_xaxes(showgrid=False, tickangle=0)
    figure.update_layout(title="What the plan asks against recent weeks", height=360, bargap=0.45,
                         hovermode="closest", margin={"t": 90})
    return figure
