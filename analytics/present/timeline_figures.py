"""The client's timeline: homework, mood and questionnaire scores on one time axis, week by week (no streamlit here).

Three panels share the x axis, from the Monday of the period's first week to the end of its as-of week:
completion of the homework due each week (bars; a week with nothing due says so; the current week is
marked "so far" and drawn lighter, as it is not a full week), mood (each day's mean and the week's
mean), and the PHQ-9 and GAD-7 scores taken in the period. Weeks without a single submission are
shaded across all three panels, so a silent stretch shows however the rest looks.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd
import plotly.graph_objects as go

from analytics.metrics import outcomes
from analytics.metrics.timeline import silent_stretches
from analytics.present.draft import Draft
from analytics.present.formats import amount, day_label, percent

BAR, BAR_SO_FAR = "#2f6f8f", "rgba(47, 111, 143, 0.4)"
MOOD = "#a05a7a"
SILENT = "rgba(201, 120, 42, 0.13)"
MEASURE_COLOURS = {"PHQ-9": "#1f2a30", "GAD-7": "#6b7f3a"}
WEEK_MS = 7 * 86_400_000


def _middle(week: date) -> datetime:
    """The middle of an ISO week (Thursday noon), where its bar stands."""
    return datetime.combine(week + timedelta(days=3), time(12))


def client_timeline(weeks: pd.DataFrame, daily_mood: pd.DataFrame, scores: pd.DataFrame) -> go.Figure:
    """The three panels (see the module docstring).

    weeks: timeline.client_weeks (one row per week, at least one); daily_mood: mood.daily_mood (day,
    mood_mean, n); scores: outcomes.measure_series rows taken in the period (measure, administered_on,
    score, band). Mood and scores may be empty: their panel then says so.
    """
    if weeks.empty:
        raise ValueError("client_timeline needs the period's weeks")
    draft = Draft.grid(rows=3, shared_xaxes=True, vertical_spacing=0.07, row_heights=[0.44, 0.28, 0.28],
                       subplot_titles=["Homework completed, by the week it was due", "Mood (0 worst – 10 best)",
                                       "Questionnaire scores taken in the period"])
    first_week = weeks["week"].iloc[0]
    x_range = [datetime.combine(first_week, time(0)), datetime.combine(weeks["week"].iloc[-1] + timedelta(days=7), time(0))]
    with_year = first_week.year != weeks["week"].iloc[-1].year

    # Homework: a bar per week with something due; the other weeks say "nothing due" at the foot of the panel.
    has_due = weeks["due"] > 0
    rates = weeks["completion_rate"].astype(float) * 100
    labels = [(f"{percent(r / 100)} so far" if so_far else percent(r / 100)) if due else ""
              for r, due, so_far in zip(rates, has_due, weeks["so_far"], strict=True)]
    hover = [
        (f"Week of {day_label(w, with_year=with_year)}{' (so far, to ' + day_label(last) + ')' if so_far else ''}: "
         + (f"{percent(r / 100)} of the homework due was done ({amount(c)} of {amount(e)})" if due else "nothing due")
         + f"; {n} submission{'s' if n != 1 else ''}")
        for w, last, so_far, r, due, c, e, n in zip(weeks["week"], weeks["last_day"], weeks["so_far"], rates, has_due,
                                                    weeks["credit"], weeks["expected"], weeks["submissions"], strict=True)
    ]
    draft.add(
        "bar", x=[_middle(w) for w in weeks["week"]], y=rates.where(has_due, 0), width=WEEK_MS * 0.6,
        marker={"color": [BAR_SO_FAR if so_far else BAR for so_far in weeks["so_far"]]},
        text=labels, textposition="outside", cliponaxis=False, name="Completed", showlegend=False,
        customdata=hover, hovertemplate="%{customdata}<extra></extra>", row=1,
    )
    empty = weeks[~has_due]
    if not empty.empty:
        draft.add(
            "scatter", x=[_middle(w) for w in empty["week"]], y=[6] * len(empty), mode="text",
            text=["nothing due so far" if so_far else "nothing due" for so_far in empty["so_far"]],
            textfont={"size": 10, "color": "#5a656c"}, showlegend=False, hoverinfo="skip", row=1,
        )
    draft.axes("y", row=1, range=[0, 118], tickvals=[0, 50, 100], ticktext=["0%", "50%", "100%"], title="% done")

    # Mood: each day's mean as a dot, each week's mean as a line.
    if daily_mood.empty:
        _note(draft, "No mood reported in this period", row=2)
    else:
        days = pd.to_datetime(daily_mood["day"])
        draft.add(
            "scatter", x=days + pd.Timedelta(hours=12), y=daily_mood["mood_mean"].astype(float), mode="markers",
            marker={"size": 6, "color": MOOD, "opacity": 0.55}, name="Mood that day", showlegend=False,
            customdata=[f"{day_label(d)}: mood {m:.1f} ({int(n)} rating{'s' if int(n) != 1 else ''})"
                        for d, m, n in zip(days, daily_mood["mood_mean"], daily_mood["n"], strict=True)],
            hovertemplate="%{customdata}<extra></extra>", row=2,
        )
        rated = weeks[weeks["mood_n"] > 0]
        draft.add(
            "scatter", x=[_middle(w) for w in rated["week"]], y=rated["mood_mean"].astype(float), mode="lines",
            line={"color": MOOD, "width": 2}, name="Week's mean mood", showlegend=False,
            customdata=[f"Week of {day_label(w)}: mean mood {m:.1f} ({int(n)} ratings)"
                        for w, m, n in zip(rated["week"], rated["mood_mean"], rated["mood_n"], strict=True)],
            hovertemplate="%{customdata}<extra></extra>", row=2,
        )
    draft.axes("y", row=2, range=[0, 10.5], tickvals=[0, 5, 10], title="mood")

    # Scores: one line per measure.
    if scores.empty:
        _note(draft, "No PHQ-9 or GAD-7 taken in this period", row=3)
    for measure in outcomes.BANDS:
        picked = scores[scores["measure"] == measure]
        if picked.empty:
            continue
        taken = pd.to_datetime(picked["administered_on"]) + pd.Timedelta(hours=12)
        draft.add(
            "scatter", x=taken, y=picked["score"].astype(float), mode="lines+markers+text", name=measure,
            text=[f"{measure} {int(s)}" if i == len(picked) - 1 else str(int(s)) for i, s in enumerate(picked["score"])],
            # PHQ-9's labels above its points, GAD-7's below: scores taken the same day never share a spot.
            textposition="top center" if measure == "PHQ-9" else "bottom center", textfont={"size": 10},
            cliponaxis=False,
            line={"color": MEASURE_COLOURS[measure], "width": 2}, marker={"size": 7}, showlegend=False,
            customdata=[f"{measure} on {day_label(d)}: {int(s)} ({b})"
                        for d, s, b in zip(taken, picked["score"], picked["band"], strict=True)],
            hovertemplate="%{customdata}<extra></extra>", row=3,
        )
    draft.axes("y", row=3, range=[-4, 31], tickvals=[0, 10, 20], title="score")

    # Silent weeks (a week or more without a submission), across every panel.
    for start, end in silent_stretches(weeks):
        draft.vrect(datetime.combine(start, time(0)), datetime.combine(end + timedelta(days=1), time(0)),
                    fillcolor=SILENT, line={"width": 0}, layer="below")
        middle = datetime.combine(start, time(0)) + (end - start) / 2 + timedelta(hours=12)
        draft.annotate(x=middle, y=1.0, yref="y domain", text="no submissions", showarrow=False, yanchor="bottom",
                       font={"size": 10, "color": "#9a5a1e"}, row=1)

    draft.axes("x", range=x_range, showgrid=False, tickformat="%-d %b", dtick=WEEK_MS, tick0=x_range[0],
               ticklabelmode="period")
    draft.axes("x", row=3, title="Week (starting Monday)")
    draft.update(title="Week by week: homework, mood and questionnaires", height=640, hovermode="closest",
                 bargap=0.3, margin={"t": 90})
    return draft.figure()


def _note(draft: Draft, text: str, *, row: int) -> None:
    draft.annotate(x=0.5, y=0.5, xref="x domain", yref="y domain", text=text, showarrow=False,
                   font={"size": 12, "color": "#5a656c"}, row=row)
