"""figures.measure_scores lays out its bands, band names and cut-off lines itself: the figure is the one Plotly's
add_hrect / add_annotation / add_hline with row= and col= give (the reference below, as the chart was first written),
JSON for JSON, for one measure or both, within a year or across two."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest
from plotly.subplots import make_subplots

from analytics.metrics import outcomes
from analytics.present import figures
from analytics.present.formats import day_label


def reference(series: pd.DataFrame):
    """The chart drawn with Plotly's subplot helpers, one call per band, name and line."""
    measures = [m for m in outcomes.BANDS if (series["measure"] == m).any()]
    figure = make_subplots(rows=len(measures), cols=1, shared_xaxes=True, vertical_spacing=0.12,
                           subplot_titles=[f"{m} ({figures.MEASURE_NAMES.get(m, m)})" for m in measures])
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
            hovertemplate="%{customdata}<extra></extra>", row=row, col=1,
        )
        for low, high, band in bands:
            y0, y1 = max(low - 0.5, 0), min(high + 0.5, top)
            figure.add_hrect(y0=y0, y1=y1, fillcolor=figures.BAND_COLOURS[band], line_width=0, layer="below",
                             row=row, col=1)
            figure.add_annotation(x=1.01, xref="x domain", y=(y0 + y1) / 2, text=band, showarrow=False,
                                  xanchor="left", font={"size": 11, "color": "#5a656c"}, row=row, col=1)
        cutoff = outcomes.CLINICAL_CUTOFF[measure]
        figure.add_hline(y=cutoff - 0.5, line_dash="dot", line_color="#5a656c", line_width=1, row=row, col=1)
        figure.update_yaxes(title=f"Score (0–{top})", range=[0, top], dtick=5, showgrid=False, row=row, col=1)
    figure.update_xaxes(showgrid=False, tickformat="%-d %b %Y")
    figure.update_xaxes(title="Date taken", row=len(measures), col=1)
    figure.update_layout(title="Questionnaire scores (lower is better)", height=260 * len(measures) + 80,
                         margin={"r": 130}, hovermode="closest")
    return figure


def series_of(rows: list[tuple[str, date, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["measure", "administered_on", "score", "band"])


@pytest.mark.parametrize("rows", [
    [("PHQ-9", date(2026, 3, 1), 14, "moderate"), ("PHQ-9", date(2026, 4, 1), 9, "mild")],
    [("GAD-7", date(2026, 3, 1), 16, "severe")],
    [("PHQ-9", date(2025, 12, 20), 22, "severe"), ("PHQ-9", date(2026, 1, 10), 3, "minimal"),
     ("GAD-7", date(2025, 12, 20), 12, "moderate"), ("GAD-7", date(2026, 2, 1), 7, "mild")],
])
def test_the_chart_is_the_one_the_subplot_helpers_draw(rows: list) -> None:
    series = series_of(rows)
    drawn = figures.measure_scores(series)
    assert json.loads(drawn.to_json()) == json.loads(reference(series).to_json())  # the same JSON; keys in any order
    layout = drawn.to_plotly_json()["layout"]
    measures = {measure for measure, *_ in rows}
    assert len(layout["shapes"]) == sum(len(outcomes.BANDS[m]) + 1 for m in measures)  # bands and the cut-off
