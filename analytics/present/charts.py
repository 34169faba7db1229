"""Plotly figure builders, and the number formats they share with the pages (no streamlit here).

A builder takes a small aggregated DataFrame (one row per week, group, ...) and returns a go.Figure
with a title, axis titles with units and readable hover text. It needs at least one row: the page
checks `frame.empty` first and says in words that there is nothing to show, because an empty chart
explains nothing. Colours are left to the Streamlit theme (`.streamlit/config.toml`) unless a colour
carries meaning.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.ingest.canonical import TYPE_LABELS
from analytics.metrics import outcomes
from analytics.metrics.effectiveness import MIN_N, AdherenceOutcome
from analytics.metrics.mood import LiftSummary, MoodTrend
from analytics.planning.planner import LOAD_WARNING_RATIO, PlanItem, PlanLoad

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


# ---------------------------------------------------------------------------------------------
# Client and caseload pages: more formats, small display helpers, and their figures
# ---------------------------------------------------------------------------------------------

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
MINUS = "−"  # the minus sign in running text (st.metric deltas keep "-", which it reads as "down")


def inert_markdown(text: object) -> str:
    """User text made safe inside a Markdown-reading element (st.success, st.caption, ...): every ASCII
    punctuation mark is backslash-escaped, so `**`, links, `:material/…:` icons and `:red[…]` read as typed."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", "" if text is None else str(text))


def plain(text: object) -> str:
    """User text made safe for Plotly, which reads some HTML (<b>, <br>, <a href>) in titles, ticks and hover text."""
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return ""
    return html.escape(str(text))


def _round_half_up(value: float, digits: int) -> float:
    scale = 10**digits
    return math.floor(value * scale + 0.5) / scale


def signed(value: float | None, digits: int = 1) -> str:
    """A mood change in points with its sign ("+1.3", "-0.5", "0.0"); "—" when missing. Halves round up."""
    if value is None or pd.isna(value):
        return NO_VALUE
    rounded = _round_half_up(float(value), digits)
    return f"{rounded:+.{digits}f}" if rounded else f"{0:.{digits}f}"


def signed_change(value: float | None, before: float | None) -> str | None:
    """The change between two mood lifts ("+0.4", "-1.0", "±0.0"); None if either is missing."""
    if value is None or before is None or pd.isna(value) or pd.isna(before):
        return None
    text = signed(float(value) - float(before))
    return text if text.strip("0.") else "±0.0"


def days(count: float | None) -> str:
    """ "1 day", "4 days"; "—" when missing."""
    if count is None or pd.isna(count):
        return NO_VALUE
    return f"{int(count)} day" if int(count) == 1 else f"{int(count)} days"


def days_ago(count: float | None) -> str:
    """ "today", "yesterday", "4 days ago"; "—" when there is none."""
    if count is None or pd.isna(count):
        return NO_VALUE
    return {0: "today", 1: "yesterday"}.get(int(count), f"{int(count)} days ago")


def weeks(count: float | None) -> str:
    """ "1 week", "3 weeks"; "—" when missing."""
    if count is None or pd.isna(count):
        return NO_VALUE
    return f"{int(count)} week" if int(count) == 1 else f"{int(count)} weeks"


def row_of(frame: pd.DataFrame, column: str, value: object) -> dict | None:
    """The first row whose `column` equals `value`, as a dict, or None (e.g. one client of caseload.client_overview)."""
    rows = frame[frame[column] == value]
    return None if rows.empty else rows.iloc[0].to_dict()


def client_row(frame: pd.DataFrame, client_id: str) -> dict | None:
    """The row of `client_id` in a one-row-per-client frame (e.g. caseload.client_overview) as a dict, or None."""
    return row_of(frame, "client_id", client_id)


@dataclass(frozen=True)
class Rates:
    """Due assignments, completion and on-time rate of one group, named like adherence.PeriodFigures."""

    due: int
    completion_rate: float | None
    on_time_rate: float | None

    @classmethod
    def of(cls, row: dict | None) -> Rates:
        """From a row of caseload.breakdown (nothing due when the row is missing)."""
        if row is None:
            return cls(0, None, None)
        return cls(int(row["due"]), _number(row["completion_rate"]), _number(row["on_time_rate"]))


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def rows_of(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """The rows of one key in a frame with a `key` column (caseload.weekly_grid by client: one client's weeks)."""
    return frame[frame["key"] == key].reset_index(drop=True)


def lift_text(lift: LiftSummary) -> str:
    """ "+1.3 (n = 4)", or "—" without a lift."""
    return NO_VALUE if lift.mean is None else f"{signed(lift.mean)} (n = {lift.n})"


def interval_text(low: float | None, high: float | None) -> str:
    """A 95% interval in mood points ("-0.3 to +1.2"); "—" when there is none (fewer than 2 values)."""
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return NO_VALUE
    return f"{signed(low)} to {signed(high)}"


def trend_text(trend: MoodTrend) -> str:
    """The mood trend in words, with its 95% interval and the number of ratings behind it."""
    if trend.slope_per_week is None:
        return (f"Mood trend: not enough ratings for a trend in this period ({trend.n} so far; "
                "3 or more on at least 2 different days are needed).")
    direction = "rising" if trend.ci_low > 0 else "falling" if trend.ci_high < 0 else "no clear direction"
    return (f"Mood trend: {signed(trend.slope_per_week)} points a week "
            f"(95% interval {signed(trend.ci_low)} to {signed(trend.ci_high)}; {trend.n} ratings): {direction}.")


def measure_change_texts(changes: pd.DataFrame) -> list[str]:
    """One sentence per measure from outcomes.measure_change, with the thresholds it was judged by, e.g.
    "PHQ-9: 16 → 8 (−8): reliable improvement (a change of 6 or more), recovered (from 10 or above to below 10)"."""
    texts = []
    order = list(outcomes.BANDS)
    rows = sorted(changes.to_dict("records"), key=lambda r: order.index(r["measure"]) if r["measure"] in order else 99)
    for row in rows:
        measure, first, latest = row["measure"], int(row["first_score"]), int(row["latest_score"])
        if int(row["n"]) < 2:
            texts.append(f"{measure}: {first} on {day_label(row['first_on'], with_year=True)}, one score only: "
                         "no change to judge yet.")
            continue
        threshold, cutoff = outcomes.RELIABLE_CHANGE[measure], outcomes.CLINICAL_CUTOFF[measure]
        change = latest - first
        change_text = f"{change:+d}".replace("-", MINUS) if change else "±0"
        reliable = {
            "reliable improvement": f"reliable improvement (a fall of {threshold} or more)",
            "reliable deterioration": f"reliable deterioration (a rise of {threshold} or more)",
        }.get(row["reliable_change"], f"no reliable change (a change of {threshold} or more is needed)")
        recovered = row["recovered"]
        if recovered is None or pd.isna(recovered):
            recovery = f"below the cut-off of {cutoff} from the start, so recovery does not apply"
        elif recovered:
            recovery = f"recovered (from {cutoff} or above to below {cutoff})"
        else:
            recovery = f"not recovered (still {cutoff} or above)"
        texts.append(f"{measure}: {first} → {latest} ({change_text}): {reliable}, {recovery}")
    return texts


def as_percentages(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """A copy with the 0-1 rates in `columns` as 0-100, for st.dataframe's "%.0f%%" column formats."""
    shown = frame.copy()
    for column in columns:
        shown[column] = shown[column].astype(float) * 100
    return shown


def not_enough_data(n: int) -> str:
    """What a mean resting on too few observations shows instead of a number: "not enough data (n = 3)"."""
    return f"not enough data (n = {int(n)})"


def lift_or_not_enough(mean: float | None, n: int) -> str:
    """A mean mood lift ("+1.3") when it rests on enough ratings (analytics leaves it empty otherwise), else the words."""
    if mean is None or pd.isna(mean):
        return not_enough_data(n)
    return signed(mean)


def effectiveness_table(by_type: pd.DataFrame) -> pd.DataFrame:
    """effectiveness.by_type for st.dataframe: one row per type, the words "not enough data (n = 3)" for thin means.

    Columns: type (label), due, completion and on_time (0-100, NaN when nothing was due), mood_lift (text:
    "+0.6" or the words), lift_interval (text), lift_n, quality (text: "2.7 of 4" or the words), quality_n.
    """
    rows = []
    for row in by_type.to_dict("records"):
        quality_n = int(row["quality_n"])
        rows.append({
            "type": row["type_label"],
            "due": int(row["due"]),
            "completion": float(row["completion_rate"]) * 100 if row["due"] else math.nan,
            "on_time": float(row["on_time_rate"]) * 100 if row["due"] else math.nan,
            "mood_lift": lift_or_not_enough(row["mood_lift_mean"], int(row["mood_lift_n"])),
            "lift_interval": interval_text(row["mood_lift_ci_low"], row["mood_lift_ci_high"]),
            "lift_n": int(row["mood_lift_n"]),
            "quality": not_enough_data(quality_n) if pd.isna(row["quality_mean"]) else f"{row['quality_mean']:.1f} of 4",
            "quality_n": quality_n,
        })
    columns = ["type", "due", "completion", "on_time", "mood_lift", "lift_interval", "lift_n", "quality", "quality_n"]
    return pd.DataFrame(rows, columns=columns)


def submissions_table(submissions: pd.DataFrame) -> pd.DataFrame:
    """clients.submission_list with the type's label, for st.dataframe (user text stays as typed)."""
    shown = submissions.copy()
    shown["assignment_type"] = [TYPE_LABELS.get(t, t) for t in shown["assignment_type"]]
    return shown


def submission_choices(submissions: pd.DataFrame) -> dict[str, str]:
    """submission_id -> "3 Nov 2026 · Thought record · completed", in the list's order (newest first).

    The text never depends on the feedback, so it stays the same when feedback is saved (a selectbox
    whose option text changes under it would show the old text).
    """
    return {
        row["submission_id"]: " · ".join(
            [day_label(row["submitted_at"], with_year=True), str(row["title"]), str(row["completion"])]
        )
        for row in submissions.to_dict("records")
    }


def attention_table(attention: pd.DataFrame) -> pd.DataFrame:
    """attention.needs_attention with its reasons joined into one text: rank, client_id, label, therapist_name, reasons."""
    shown = attention[["rank", "client_id", "label", "therapist_name"]].copy()
    shown["reasons"] = ["; ".join(reasons) for reasons in attention["reasons"]]
    return shown


def _week_labels(weeks_: pd.Series) -> list[str]:
    with_year = weeks_.dt.year.nunique() > 1
    return [day_label(w, with_year=with_year) for w in weeks_]


def weekly_completion_and_mood(completion: pd.DataFrame, mood: pd.DataFrame) -> go.Figure:
    """One client's completion per week (bars, %) and mean mood per week (line, 0-10 on a second axis).

    completion: caseload.weekly_grid rows of the client (week, expected, credit, completion_rate);
    mood: mood.weekly_mood (week, mood_mean, n). At least one of them has a row.
    """
    if completion.empty and mood.empty:
        raise ValueError("weekly_completion_and_mood needs a week of completion or mood; show a message instead")
    all_weeks = pd.Series(sorted(set(pd.to_datetime(completion["week"])) | set(pd.to_datetime(mood["week"]))))
    labels = dict(zip(all_weeks, _week_labels(all_weeks), strict=True))

    figure = go.Figure()
    if not completion.empty:
        bar_weeks = pd.to_datetime(completion["week"])
        figure.add_bar(
            x=bar_weeks,
            y=completion["completion_rate"].astype(float) * 100,
            name="Homework completed (% of expected, by due week)",
            text=[percent(r) for r in completion["completion_rate"]],
            textposition="outside",
            cliponaxis=False,
            customdata=[
                f"Homework due in the week of {labels[w]}: {percent(rate)} completed ({amount(credit)} of {amount(exp)})"
                for w, rate, credit, exp in zip(bar_weeks, completion["completion_rate"], completion["credit"],
                                                completion["expected"], strict=True)
            ],
            hovertemplate="%{customdata}<extra></extra>",
        )
    if not mood.empty:
        mood_weeks = pd.to_datetime(mood["week"])
        figure.add_scatter(
            x=mood_weeks,
            y=mood["mood_mean"].astype(float),
            yaxis="y2",
            name="Mean mood (0–10, by week submitted)",
            mode="lines+markers",
            line={"color": MOOD_LINE, "width": 2},
            marker={"size": 8, "color": MOOD_LINE},
            customdata=[
                f"Week of {labels[w]}: mean mood {m:.1f} of 10 ({int(n)} rating{'s' if int(n) != 1 else ''})"
                for w, m, n in zip(mood_weeks, mood["mood_mean"], mood["n"], strict=True)
            ],
            hovertemplate="%{customdata}<extra></extra>",
        )
    figure.update_layout(
        title="Homework completed and mood, week by week" if not mood.empty
        else "Homework completed, week by week (no mood reported in this period)",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.04, "xanchor": "left", "x": 0},
        hovermode="closest",
        bargap=0.35,
    )
    if not mood.empty:
        # Both axes run 12% past their top (100% and 10) so that a label above a full bar clears the legend.
        figure.update_layout(
            yaxis2={"title": {"text": "Mean mood (0 worst – 10 best)"}, "overlaying": "y", "side": "right",
                    "range": [0, 11.2], "tickvals": [0, 2, 4, 6, 8, 10], "showgrid": False},
            margin={"r": 70},
        )
    figure.update_xaxes(title="Week starting (Monday)", tickvals=list(labels), ticktext=list(labels.values()),
                        showgrid=False)
    figure.layout.yaxis.update(title={"text": "% of expected homework"}, range=[0, 112],
                               tickvals=[0, 25, 50, 75, 100], ticktext=["0%", "25%", "50%", "75%", "100%"])
    return figure


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
    figure = go.Figure()
    figure.add_scatter(
        x=times, y=lifts["mood_before"].astype(float), mode="markers", name="Before",
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
        figure.add_scatter(x=seg_x, y=seg_y, mode="lines", line={"color": colour, "width": 2},
                           hoverinfo="skip", showlegend=False, legendgroup=name)
        figure.add_scatter(
            x=picked_times, y=picked["mood_after"].astype(float), mode="markers", name=name, legendgroup=name,
            marker={"size": 9, "color": colour},
            customdata=[h for h, keep in zip(hover, chosen, strict=True) if keep],
            hovertemplate="%{customdata}<extra></extra>",
        )
    figure.update_layout(
        title="Mood before and after each submission",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.04, "xanchor": "left", "x": 0},
        hovermode="closest",
    )
    figure.update_xaxes(title="Date submitted", showgrid=False, tickformat="%-d %b")
    figure.update_yaxes(title="Mood (0 worst – 10 best)", range=[-0.5, 10.5], dtick=2)
    return figure


def measure_scores(series: pd.DataFrame) -> go.Figure:
    """PHQ-9 and GAD-7 scores over time, one panel per measure with scores, on its severity bands.

    series: outcomes.measure_series (measure, administered_on, score, band); at least one row.
    """
    if series.empty:
        raise ValueError("measure_scores needs at least one score; show a message instead")
    measures = [m for m in outcomes.BANDS if (series["measure"] == m).any()]
    figure = make_subplots(rows=len(measures), cols=1, shared_xaxes=True, vertical_spacing=0.12,
                           subplot_titles=[f"{m} ({MEASURE_NAMES.get(m, m)})" for m in measures])
    dates = pd.to_datetime(series["administered_on"])
    with_year = dates.dt.year.nunique() > 1
    for row, measure in enumerate(measures, start=1):
        bands = outcomes.BANDS[measure]
        top = bands[-1][1]
        picked = series[series["measure"] == measure]
        picked_dates = dates[series["measure"] == measure]
        figure.add_scatter(
            x=picked_dates, y=picked["score"], mode="lines+markers+text", name=measure, showlegend=False,
            text=[str(int(s)) for s in picked["score"]], textposition="top center",
            line={"color": "#1f2a30", "width": 2}, marker={"size": 8, "color": "#1f2a30"},
            customdata=[f"{measure} on {day_label(d, with_year=with_year)}: {int(s)} ({b})"
                        for d, s, b in zip(picked_dates, picked["score"], picked["band"], strict=True)],
            hovertemplate="%{customdata}<extra></extra>",
            row=row, col=1,
        )
        # Bands after the scores: Plotly leaves shapes off a subplot that has no trace yet. Their names go
        # outside the plot, on the right, clear of the scores.
        for low, high, band in bands:
            y0, y1 = max(low - 0.5, 0), min(high + 0.5, top)
            figure.add_hrect(y0=y0, y1=y1, fillcolor=BAND_COLOURS[band], line_width=0, layer="below", row=row, col=1)
            figure.add_annotation(x=1.01, xref="x domain", y=(y0 + y1) / 2, text=band, showarrow=False,
                                  xanchor="left", font={"size": 11, "color": "#5a656c"}, row=row, col=1)
        cutoff = outcomes.CLINICAL_CUTOFF[measure]
        figure.add_hline(y=cutoff - 0.5, line_dash="dot", line_color="#5a656c", line_width=1, row=row, col=1)
        figure.update_yaxes(title=f"Score (0–{top})", range=[0, top], dtick=5, showgrid=False, row=row, col=1)
    figure.update_xaxes(showgrid=False, tickformat="%-d %b %Y")
    figure.update_xaxes(title="Date taken", row=len(measures), col=1)
    figure.update_layout(
        title="Questionnaire scores (lower is better)",
        height=260 * len(measures) + 80,
        margin={"r": 130},
        hovermode="closest",
    )
    return figure


MEASURE_NAMES = {"PHQ-9": "depression", "GAD-7": "anxiety"}


def completion_by_group(frame: pd.DataFrame, *, group_title: str) -> go.Figure:
    """Completion per therapist (or client) as horizontal bars, with the previous period as a marker.

    frame: caseload.breakdown (label, due, expected, credit, completion_rate, previous_completion_rate);
    at least one row. Groups with nothing due have no bar and say so on their label.
    """
    if frame.empty:
        raise ValueError("completion_by_group needs at least one group; show a message instead")
    rate = frame["completion_rate"].astype(float)
    names = [plain(label) for label in frame["label"]]
    ticks = [name if due else f"{name} (nothing due)" for name, due in zip(names, frame["due"], strict=True)]
    hover = [
        f"{name}: {percent(r)} completed ({amount(c)} of {amount(e)} expected); previous period {percent(p)}"
        if due else f"{name}: nothing due in this period"
        for name, r, c, e, p, due in zip(names, rate, frame["credit"], frame["expected"],
                                         frame["previous_completion_rate"], frame["due"], strict=True)
    ]
    figure = go.Figure()
    figure.add_bar(
        y=ticks, x=rate * 100, orientation="h", name="This period",
        text=[percent(r) if due else "" for r, due in zip(rate, frame["due"], strict=True)],
        textposition="outside", cliponaxis=False,
        customdata=hover, hovertemplate="%{customdata}<extra></extra>",
    )
    figure.add_scatter(
        y=ticks, x=frame["previous_completion_rate"].astype(float) * 100, mode="markers", name="Previous period",
        marker={"symbol": "line-ns", "size": 22, "line": {"width": 3, "color": "#1f2a30"}},
        customdata=hover, hovertemplate="%{customdata}<extra></extra>",
    )
    figure.update_layout(
        title=f"Homework completed, by {group_title}",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
        height=max(380, 140 + 36 * len(frame)),
        bargap=0.35,
        hovermode="closest",
    )
    figure.update_xaxes(title="% of expected homework completed", range=[0, 108], ticksuffix="%", dtick=25)
    figure.update_yaxes(title=None, autorange="reversed", showgrid=False)
    return figure


def completion_heatmap(grid: pd.DataFrame, *, row_title: str) -> go.Figure:
    """Completion by week (columns) and therapist or client (rows); blank where nothing was due.

    grid: caseload.weekly_grid (week, key, label, expected, credit, completion_rate); at least one row.
    The colour scale is fixed at 0-100%, so the same colour means the same rate on every page.
    """
    if grid.empty:
        raise ValueError("completion_heatmap needs at least one cell; show a message instead")
    frame = grid.assign(week=pd.to_datetime(grid["week"]))
    week_list = sorted(frame["week"].unique())
    week_labels = dict(zip(week_list, _week_labels(pd.Series(week_list)), strict=True))
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
            else:
                z_row.append(cell["completion_rate"] * 100)
                text_row.append(percent(cell["completion_rate"]))
                hover_row.append(f"{label}: {percent(cell['completion_rate'])} "
                                 f"({amount(cell['credit'])} of {amount(cell['expected'])})")
        z.append(z_row)
        text.append(text_row)
        hover.append(hover_row)

    figure = go.Figure(go.Heatmap(
        z=z, x=[week_labels[w] for w in week_list], y=keys, zmin=0, zmax=100, colorscale=COMPLETION_SCALE,
        text=text, texttemplate="%{text}", customdata=hover, hovertemplate="%{customdata}<extra></extra>",
        xgap=3, ygap=3, hoverongaps=False,
        colorbar={"title": {"text": "Completed"}, "tickvals": [0, 50, 100], "ticktext": ["0%", "50%", "100%"],
                  "lenmode": "pixels", "len": 150, "yanchor": "top", "y": 1},
    ))
    figure.update_layout(
        title=f"Homework completed, by week and {row_title}",
        height=max(300, 170 + 34 * len(keys)),
        plot_bgcolor="rgba(0,0,0,0)",
    )
    figure.update_xaxes(title="Week the homework was due (starting Monday)", type="category", showgrid=False)
    figure.update_yaxes(title=None, tickvals=keys, ticktext=names, autorange="reversed", showgrid=False)
    return figure


def completion_distribution(frame: pd.DataFrame) -> go.Figure:
    """How many clients reached each completion rate: bars per 10-point bin.

    frame: caseload.completion_distribution (bin_start, bin_end, clients); ten rows.
    """
    if frame.empty:
        raise ValueError("completion_distribution needs its bins; show a message instead")
    labels = [f"{int(start)}–{int(end)}" for start, end in zip(frame["bin_start"], frame["bin_end"], strict=True)]
    counts = frame["clients"].astype(int)
    figure = go.Figure()
    figure.add_bar(
        x=labels, y=counts, text=[str(c) if c else "" for c in counts], textposition="outside", cliponaxis=False,
        customdata=[f"{label}% completed: {c} client{'s' if c != 1 else ''}"
                    for label, c in zip(labels, counts, strict=True)],
        hovertemplate="%{customdata}<extra></extra>",
    )
    figure.update_layout(title="Clients by their completion rate in the period", bargap=0.15, hovermode="closest",
                         height=380)
    figure.update_xaxes(title="Client's completion rate (% of expected homework)", type="category", showgrid=False,
                        tickangle=0)
    figure.update_yaxes(title="Clients", rangemode="tozero", dtick=max(1, math.ceil(counts.max() / 5)) if counts.max() else 1)
    return figure


# ---------------------------------------------------------------------------------------------
# Effectiveness: types compared, homework against outcome change, one client's profile by type
# ---------------------------------------------------------------------------------------------

# Short names for chart labels (tables keep canonical.TYPE_LABELS); other types are shown as written.
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
ZERO_LINE = {"line_dash": "dot", "line_color": "#5a656c", "line_width": 1}


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
    figure = go.Figure()
    figure.add_scatter(
        x=x, y=y, mode="markers",
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
            figure.add_annotation(
                x=x[i], y=y[i], ax=label_x, ay=label_y, axref="x", ayref="y", xanchor="left", text=texts[i],
                showarrow=True, arrowhead=0, arrowwidth=1, arrowcolor="#8a96a3", standoff=7,
                font={"size": 12}, bgcolor="rgba(251, 250, 247, 0.85)",
            )
    figure.add_hline(y=0, **ZERO_LINE)
    figure.update_layout(title="Completion and mood lift, by type of homework", hovermode="closest", height=440)
    # Room on the right for the labels; the axis still starts at the data, so close rates can be told apart.
    figure.update_xaxes(title="Homework completed (% of expected)", ticksuffix="%", range=list(x_range))
    figure.update_yaxes(title="Mean mood lift (points: after − before, 0–10)", zeroline=False, range=[y_low, y_high])
    return figure


def adherence_outcome_scatter(outcome: AdherenceOutcome) -> go.Figure:
    """One point per client: completion rate (x, %) against change on the measure (y, points; below 0 is better),
    with the least-squares line when the association could be computed.

    outcome: effectiveness.adherence_outcome with at least one point.
    """
    points = outcome.points
    if points.empty:
        raise ValueError("adherence_outcome_scatter needs at least one client; show the wording instead")
    x = points["completion_rate"].astype(float) * 100
    y = points["change"].astype(float)
    figure = go.Figure()
    figure.add_scatter(
        x=x, y=y, mode="markers", name="A client", marker={"size": 9, "opacity": 0.8},
        customdata=[f"{plain(label)}: {percent(rate)} of homework completed; {outcome.measure} "
                    f"{signed(change, 0).replace('-', MINUS)} point{'s' if abs(change) != 1 else ''}"
                    for label, rate, change in zip(points["label"], points["completion_rate"], y, strict=True)],
        hovertemplate="%{customdata}<extra></extra>",
    )
    if outcome.slope is not None and outcome.intercept is not None:
        ends = [float(points["completion_rate"].min()), float(points["completion_rate"].max())]
        figure.add_scatter(
            x=[end * 100 for end in ends], y=[outcome.intercept + outcome.slope * end for end in ends],
            mode="lines", name="Fitted line (least squares)", line={"color": OWN_COLOUR, "width": 2, "dash": "dash"},
            hoverinfo="skip",
        )
    figure.add_hline(y=0, **ZERO_LINE)
    top = outcome_scale_top(outcome.measure)
    figure.update_layout(
        title=f"Homework completed and change on {outcome.measure}",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
        hovermode="closest", height=420,
    )
    figure.update_xaxes(title="Client's homework completed in the period (% of expected)", ticksuffix="%",
                        range=[-3, 103], dtick=25)
    span = max(5.0, float(y.abs().max()) + 2)
    figure.update_yaxes(title=f"Change in {outcome.measure} score (0–{top}; below 0 = better)", zeroline=False,
                        range=[-span, span])
    return figure


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
    figure = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06,
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
        figure.add_scatter(x=seg_x, y=seg_y, mode="lines", line={"color": CASELOAD_COLOUR, "width": 2},
                           hoverinfo="skip", showlegend=False, row=1, col=column)
        figure.add_scatter(
            x=[row[caseload_figure] * scale for row in rows], y=ticks, mode="markers", name="Caseload",
            marker={"symbol": "line-ns", "size": 18, "line": {"width": 3, "color": CASELOAD_COLOUR}},
            customdata=hover, hovertemplate="%{customdata}<extra></extra>", showlegend=first, legendgroup="caseload",
            row=1, col=column,
        )
        figure.add_scatter(
            x=own_x, y=own_y, mode="markers", name="Their own figure",
            marker={"symbol": "circle-open", "size": 11, "color": OWN_COLOUR, "line": {"width": 2}},
            customdata=own_hover, hovertemplate="%{customdata}<extra></extra>", showlegend=first, legendgroup="own",
            row=1, col=column,
        )
        figure.add_scatter(
            x=[row[expected] * scale for row in rows], y=ticks, mode="markers",
            name="Likely for them (their own figure pulled toward the caseload's)",
            marker={"size": 11, "color": EXPECTED_COLOUR},
            customdata=hover, hovertemplate="%{customdata}<extra></extra>", showlegend=first, legendgroup="expected",
            row=1, col=column,
        )
    for column, figures, missing in ((1, "caseload_completion_rate", "Nothing was due in this caseload yet"),
                                     (2, "caseload_mood_lift", "No mood ratings in this caseload yet")):
        if profile[figures].isna().all():  # an empty panel says why
            figure.add_annotation(text=missing, x=0.5, y=0.5, xref="x domain" if column == 1 else "x2 domain",
                                  yref="y domain" if column == 1 else "y2 domain", showarrow=False,
                                  font={"size": 13, "color": "#5a656c"}, bgcolor="#fbfaf7")
    figure.update_xaxes(range=[-4, 104], ticksuffix="%", dtick=25, row=1, col=1)
    lifts = [value for row in rows for value in (row["mood_lift_mean"] if row["mood_lift_n"] >= MIN_N else None,
                                                 row["caseload_mood_lift"], row["shrunk_mood_lift"])
             if value is not None and not pd.isna(value)]
    reach = max([1.0, *(abs(v) for v in lifts)]) + 0.5
    figure.update_xaxes(range=[-reach, reach], zeroline=True, zerolinecolor="#c5ccd1", row=1, col=2)
    figure.update_yaxes(autorange="reversed", showgrid=False, categoryorder="array", categoryarray=ticks)
    figure.update_layout(
        title="Their figures by type, and what is likely",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.1, "xanchor": "left", "x": 0},
        height=150 + 62 * len(rows), hovermode="closest", margin={"t": 120},
    )
    return figure


def has_own_figures(profile: pd.DataFrame) -> bool:
    """Whether profile.client_profile_by_type holds any of the client's own data (something due, or a mood rating)."""
    return bool((profile["expected"] > 0).any() or (profile["mood_lift_n"] > 0).any())


def profile_table(profile: pd.DataFrame) -> pd.DataFrame:
    """profile.client_profile_by_type for st.dataframe; rates and weights 0-100, a thin own mood lift in words.

    Columns: type (short name), expected (their n), completion, caseload_completion, completion_weight, shrunk_completion,
    mood_lift_n, mood_lift (text), caseload_mood_lift, mood_weight, shrunk_mood_lift.
    """
    shown = pd.DataFrame({
        "type": [SHORT_TYPE_LABELS.get(t, t) for t in profile["assignment_type"]],
        "expected": profile["expected"].astype(float),
        "completion": profile["completion_rate"].astype(float) * 100,
        "caseload_completion": profile["caseload_completion_rate"].astype(float) * 100,
        "completion_weight": profile["completion_weight"].astype(float) * 100,
        "shrunk_completion": profile["shrunk_completion_rate"].astype(float) * 100,
        "mood_lift_n": profile["mood_lift_n"].astype(int),
        "mood_lift": [lift_or_not_enough(mean if n >= MIN_N else None, n)
                      for mean, n in zip(profile["mood_lift_mean"], profile["mood_lift_n"], strict=True)],
        "caseload_mood_lift": profile["caseload_mood_lift"].astype(float),
        "mood_weight": profile["mood_weight"].astype(float) * 100,
        "shrunk_mood_lift": profile["shrunk_mood_lift"].astype(float),
    })
    return shown.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Planner: the plan as the editor shows it and back, its load, current homework, choices
# ---------------------------------------------------------------------------------------------

PLAN_COLUMNS = ["assignment_type", "title", "instructions", "start", "due", "times_per_week", "minutes", "goal",
                "chosen_with_client"]
_PLAN_DTYPES = {"assignment_type": "object", "title": "object", "instructions": "object", "start": "object",
                "due": "object", "times_per_week": "Int64", "minutes": "Int64", "goal": "object",
                "chosen_with_client": "boolean"}


def plan_row(template: dict | pd.Series, *, start: date, due: date) -> dict:
    """A plan row from a library template or a suggestion (type, title, instructions, minutes, times a week)."""
    return {
        "assignment_type": template["assignment_type"], "title": template["title"],
        "instructions": template["instructions"], "start": start, "due": due,
        "times_per_week": int(template["times_per_week"]), "minutes": int(template["default_minutes"]),
        "goal": None, "chosen_with_client": False,
    }


def plan_table(rows: list[dict]) -> pd.DataFrame:
    """The plan rows as st.data_editor edits them: PLAN_COLUMNS, typed even when there is no row yet."""
    return pd.DataFrame(rows, columns=PLAN_COLUMNS).astype(_PLAN_DTYPES)


def _cell(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _text_cell(value: object) -> str | None:
    value = _cell(value)
    return None if value is None else str(value)


def _day_cell(value: object) -> date | None:
    value = _cell(value)
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return pd.Timestamp(value).date()
    except (TypeError, ValueError):
        return None


def _whole_cell(value: object) -> int | None:
    value = _cell(value)
    if value is None:
        return None
    number = float(value)
    return int(number) if number.is_integer() else None


def plan_rows(edited: pd.DataFrame) -> list[dict]:
    """The editor's table back as plan rows: empty cells None, whole numbers int, dates date, the yes/no a bool."""
    rows = []
    for record in edited.to_dict("records"):
        rows.append({
            "assignment_type": _text_cell(record.get("assignment_type")),
            "title": _text_cell(record.get("title")),
            "instructions": _text_cell(record.get("instructions")),
            "start": _day_cell(record.get("start")),
            "due": _day_cell(record.get("due")),
            "times_per_week": _whole_cell(record.get("times_per_week")),
            "minutes": _whole_cell(record.get("minutes")),
            "goal": _text_cell(record.get("goal")),
            "chosen_with_client": bool(_cell(record.get("chosen_with_client")) or False),
        })
    return rows


def plan_items(rows: list[dict]) -> tuple[list[PlanItem], list[str]]:
    """The rows that can be saved as PlanItems, and one line per row that cannot, saying why (planner's rules)."""
    items, problems = [], []
    for number, row in enumerate(rows, 1):
        item = PlanItem(row["assignment_type"] or "", row["title"] or "", row["instructions"] or "", row["start"],
                        row["due"], row["times_per_week"], row["minutes"], row["goal"], row["chosen_with_client"])
        found = item.problems()
        if found:
            problems.append(f"Item {number} ({(row['title'] or '').strip() or 'untitled'}): {'; '.join(found)}.")
        else:
            items.append(item)
    return items, problems


def per_week(value: float | None, unit: str) -> str:
    """A week's figure with its unit: "9 times", "1 time", "5.8 times", "45 min"; "—" when there is none."""
    if value is None or pd.isna(value):
        return NO_VALUE
    number = amount(round(float(value), 1))
    return f"{number} {'time' if unit == 'times' and number == '1' else unit}"


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


def current_homework_table(current: pd.DataFrame) -> pd.DataFrame:
    """planner.current_assignments for st.dataframe, with the type's short name (user text stays as typed)."""
    shown = current.copy()
    shown["assignment_type"] = [SHORT_TYPE_LABELS.get(t, t) for t in shown["assignment_type"]]
    return shown


def assignment_choices(current: pd.DataFrame) -> dict[str, str]:
    """assignment_id -> "Body scan · due 3 Mar 2026 · P20260301-001" for a picker, in the list's order."""
    return {
        row["assignment_id"]: " · ".join([str(row["title"]), f"due {day_label(row['due_on'], with_year=True)}",
                                          row["assignment_id"]])
        for row in current.to_dict("records")
    }


def template_choices(templates: pd.DataFrame) -> dict[str, str]:
    """template_id -> "Thought record · Journaling (bundled)" for a picker, in the library's order."""
    return {
        row["template_id"]: f"{row['title']} · {row['type_label']} "
                            f"({'bundled' if row['source'] == 'bundled' else 'your practice'})"
        for row in templates.to_dict("records")
    }


def file_stem(text: str) -> str:
    """A safe piece of a download's file name: letters, digits, '-' and '_' only ("plan" when nothing is left)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "plan"
