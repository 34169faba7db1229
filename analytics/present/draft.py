"""A Plotly figure written down as plain dicts and checked once, when it is made (no streamlit here).

go.Figure checks every property it is given against Plotly's schema. A chart built up step by step (make_subplots,
add_scatter, update_layout, update_xaxes with row and col, add_vrect) goes through those checks again at each step:
the Client page's week-by-week timeline took 0.12 s to build at the demo size on a slow core, whatever the data's
size. A Draft collects the same properties as dicts and hands them to go.Figure once, so each is checked once: the
same figure (the same `to_dict()`), in a fifth of the time or less (docs/DESIGN.md, "Charts").

Only what the builders in this package use is here; it follows Plotly's own rules for each (the comments say which).
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache

import plotly.graph_objects as go
from plotly.subplots import make_subplots


@lru_cache(maxsize=32)
def _grid_layout(rows: int, cols: int, options: str) -> str:
    """make_subplots' layout (the axes' domains and anchors, the panels' titles) as JSON, made once per shape."""
    layout = make_subplots(rows=rows, cols=cols, **json.loads(options)).to_dict()["layout"]
    layout.pop("template", None)  # go.Figure adds the current default template when the draft is made
    return json.dumps(layout)


def _merge(into: dict, props: dict) -> None:
    """Plotly's update: nested dicts are merged key by key, anything else (lists included) is replaced."""
    for key, value in props.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value) if isinstance(value, dict) else value


class Draft:
    """A figure's traces and layout as dicts; `figure()` makes the go.Figure."""

    def __init__(self, *, rows: int = 1, cols: int = 1, layout: dict | None = None) -> None:
        self.rows, self.cols = rows, cols
        self.data: list[dict] = []
        self.layout: dict = layout if layout is not None else {}

    @classmethod
    def grid(cls, *, rows: int = 1, cols: int = 1, **options) -> Draft:
        """As make_subplots(rows=rows, cols=cols, **options): panels numbered along each row, then down."""
        layout = json.loads(_grid_layout(rows, cols, json.dumps(options, sort_keys=True, default=list)))
        return cls(rows=rows, cols=cols, layout=layout)

    def axis_names(self, row: int, col: int) -> tuple[str, str]:
        """The panel's axes as traces name them: ("x", "y") for the first, ("x3", "y3") for the third."""
        number = (row - 1) * self.cols + col
        suffix = "" if number == 1 else str(number)
        return f"x{suffix}", f"y{suffix}"

    def _panels(self) -> list[tuple[str, str]]:
        return [self.axis_names(row, col) for row in range(1, self.rows + 1) for col in range(1, self.cols + 1)]

    def add(self, kind: str, *, row: int | None = None, col: int | None = None, **props) -> None:
        """A trace of `kind` ("scatter", "bar", "heatmap"); in a grid, on the panel at row and col (as add_trace)."""
        trace = {"type": kind, **props}
        if row is not None:
            trace["xaxis"], trace["yaxis"] = self.axis_names(row, col or 1)
        self.data.append(trace)

    def annotate(self, *, row: int | None = None, col: int | None = None, **props) -> None:
        """An annotation; with row and col its references ("x", "x domain" or none) point at that panel's axes, as
        add_annotation(row=, col=) does."""
        if row is not None:
            x, y = self.axis_names(row, col or 1)
            props["xref"] = props["xref"].replace("x", x, 1) if "xref" in props else x
            props["yref"] = props["yref"].replace("y", y, 1) if "yref" in props else y
        self.layout.setdefault("annotations", []).append(props)

    def shape(self, **props) -> None:
        self.layout.setdefault("shapes", []).append(props)

    def hline(self, y: float, *, line: dict) -> None:
        """A horizontal line across a one-panel figure, as add_hline(y=...)."""
        self.shape(line=line, type="line", x0=0, x1=1, xref="x domain", y0=y, y1=y, yref="y")

    def vrect(self, x0: object, x1: object, **props) -> None:
        """A band from x0 to x1 over the full height of every panel with something in it, as add_vrect(x0, x1) with
        its defaults (row="all", col="all", exclude_empty_subplots=True): one shape per such panel, in order."""
        for x, y in self._panels():
            if self._holds_something(x, y):
                self.shape(**copy.deepcopy(props), type="rect", x0=x0, x1=x1, xref=x, y0=0, y1=1, yref=f"{y} domain")

    def _holds_something(self, x: str, y: str) -> bool:
        """Plotly's test for an empty panel: a trace, shape or annotation on exactly its two axes."""
        placed = [(t.get("xaxis") or "x", t.get("yaxis") or "y") for t in self.data]
        placed += [(s.get("xref") or "x", s.get("yref") or "y")
                   for kind in ("shapes", "annotations") for s in self.layout.get(kind, [])]
        return (x, y) in placed

    def axes(self, letter: str, *, row: int | None = None, col: int | None = None, **props) -> None:
        """As update_xaxes / update_yaxes: the panel's axis, or with no row every axis of that letter."""
        if row is not None:
            names = [self.axis_names(row, col or 1)[letter == "y"]]
        else:
            names = [pair[letter == "y"] for pair in self._panels()]
        for name in names:
            _merge(self.layout.setdefault(f"{letter}axis{name[1:]}", {}), props)

    def update(self, **props) -> None:
        """As update_layout."""
        _merge(self.layout, props)

    def figure(self) -> go.Figure:
        return go.Figure(data=self.data, layout=self.layout)
