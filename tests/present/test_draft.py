"""present.draft: a figure written as dicts and made once is the figure Plotly's own step-by-step calls make.

The reference in each test is Plotly itself (make_subplots, add_trace with row and col, add_annotation, add_vrect,
add_hline, update_xaxes, update_layout), so the draft can never drift from what those calls mean.
"""

from __future__ import annotations

import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots

from analytics.present.draft import Draft


def test_a_grid_with_traces_axes_and_layout_is_what_make_subplots_and_its_calls_give():
    options = {"shared_xaxes": True, "vertical_spacing": 0.07, "row_heights": [0.5, 0.3, 0.2],
               "subplot_titles": ["Top", "Middle", "Bottom"]}
    reference = make_subplots(rows=3, cols=1, **options)
    reference.add_bar(x=[1, 2], y=[3, 4], name="bars", row=1, col=1)
    reference.add_scatter(x=[1, 2], y=[5, 6], mode="lines", row=3, col=1)
    reference.update_yaxes(range=[0, 10], title="first", row=1, col=1)
    reference.update_xaxes(showgrid=False, tickformat="%-d %b")
    reference.update_xaxes(title="last", row=3, col=1)
    reference.update_layout(title="Grid", height=500, margin={"t": 90})
    reference.update_layout(margin={"r": 20})

    draft = Draft.grid(rows=3, **options)
    draft.add("bar", x=[1, 2], y=[3, 4], name="bars", row=1)
    draft.add("scatter", x=[1, 2], y=[5, 6], mode="lines", row=3)
    draft.axes("y", row=1, range=[0, 10], title="first")
    draft.axes("x", showgrid=False, tickformat="%-d %b")
    draft.axes("x", row=3, title="last")
    draft.update(title="Grid", height=500, margin={"t": 90})
    draft.update(margin={"r": 20})

    made = draft.figure().to_dict()
    assert made == reference.to_dict()
    assert made["data"][1]["xaxis"] == "x3" and made["layout"]["margin"] == {"t": 90, "r": 20}


def test_two_columns_number_their_axes_along_the_row():
    reference = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06)
    reference.add_scatter(x=[1], y=["a"], row=1, col=2)
    reference.update_xaxes(range=[-1, 1], row=1, col=2)
    reference.update_yaxes(autorange="reversed")

    draft = Draft.grid(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06)
    draft.add("scatter", x=[1], y=["a"], row=1, col=2)
    draft.axes("x", row=1, col=2, range=[-1, 1])
    draft.axes("y", autorange="reversed")

    made = draft.figure().to_dict()
    assert made == reference.to_dict()
    assert (made["data"][0]["xaxis"], made["data"][0]["yaxis"]) == ("x2", "y2")


def test_annotations_on_a_panel_point_at_its_axes_as_add_annotation_does():
    reference = make_subplots(rows=3, cols=1)
    reference.add_annotation(x=0.5, y=0.5, xref="x domain", yref="y domain", text="empty", row=2, col=1)
    reference.add_annotation(x=3, y=1.0, yref="y domain", text="above", row=3, col=1)
    reference.add_annotation(x=1, y=2, text="plain")

    draft = Draft.grid(rows=3)
    draft.annotate(x=0.5, y=0.5, xref="x domain", yref="y domain", text="empty", row=2)
    draft.annotate(x=3, y=1.0, yref="y domain", text="above", row=3)
    draft.annotate(x=1, y=2, text="plain")

    made = draft.figure().to_dict()
    assert made == reference.to_dict()
    assert [(a.get("xref"), a.get("yref")) for a in made["layout"]["annotations"][-3:]] == [
        ("x2 domain", "y2 domain"), ("x3", "y3 domain"), (None, None)]


@pytest.mark.parametrize("panels_with_traces", [(1, 2, 3), (1, 3), (2,), ()])
def test_a_band_spans_every_panel_with_something_in_it_as_add_vrect_does(panels_with_traces):
    reference = make_subplots(rows=3, cols=1, shared_xaxes=True)
    draft = Draft.grid(rows=3, shared_xaxes=True)
    for row in panels_with_traces:
        reference.add_scatter(x=[1, 5], y=[1, 2], row=row, col=1)
        draft.add("scatter", x=[1, 5], y=[1, 2], row=row)
    reference.add_vrect(x0=2, x1=3, fillcolor="red", line_width=0, layer="below")
    draft.vrect(2, 3, fillcolor="red", line={"width": 0}, layer="below")

    made = draft.figure().to_dict()
    assert made == reference.to_dict()
    assert [shape["xref"] for shape in made["layout"].get("shapes", [])] == [
        "x" if row == 1 else f"x{row}" for row in panels_with_traces]


def test_a_horizontal_line_and_a_one_panel_figure_are_what_add_hline_and_go_figure_give():
    reference = go.Figure()
    reference.add_scatter(x=[1, 2], y=[-1, 1], mode="markers")
    reference.add_hline(y=0, line_dash="dot", line_color="#5a656c", line_width=1)
    reference.update_xaxes(title="x", range=[0, 3])
    reference.update_layout(legend={"orientation": "h"}, hovermode="closest")

    draft = Draft()
    draft.add("scatter", x=[1, 2], y=[-1, 1], mode="markers")
    draft.hline(0, line={"color": "#5a656c", "dash": "dot", "width": 1})
    draft.axes("x", title="x", range=[0, 3])
    draft.update(legend={"orientation": "h"}, hovermode="closest")

    assert draft.figure().to_dict() == reference.to_dict()


def test_a_grids_layout_is_made_once_per_shape_and_each_draft_gets_its_own_copy():
    first = Draft.grid(rows=2, subplot_titles=["A", "B"])
    first.axes("y", row=1, title="changed")
    first.layout["annotations"][0]["text"] = "changed too"
    second = Draft.grid(rows=2, subplot_titles=["A", "B"])
    assert "title" not in second.layout["yaxis"]
    assert second.layout["annotations"][0]["text"] == "A"
