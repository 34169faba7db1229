"""What the pages send to the browser stays small on a large practice (issue 13, item 3).

A store with 1,100 clients of 45 therapists, each with one assignment due in the last 28 days, done once 12 days
ago and waiting for feedback since (every client is on the needs-attention list), and two PHQ-9 scores in the
period, made with plain SQL. Before the
bounds, the Caseload page sent both its tables with a row per client (1,100 rows) and a bar per therapist (45),
and the Effectiveness page a point per client (1,100). Now: tables at most bounds.TABLE_ROWS rows with a note
saying how many more, charts at most bounds.CHART_GROUPS therapists, the scatter grouped into cells, and no
chart's figure JSON over 300 kB.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from analytics.present import bounds
from analytics.store import facts
from analytics.store.database import open_store, transaction

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard.py"
CLIENTS, THERAPISTS = 1100, 45
MAX_FIGURE_BYTES = 300_000


@pytest.fixture(scope="session")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.duckdb"
    today = date.today()
    con = open_store(path)
    try:
        with transaction(con):
            con.execute("insert into therapists select 'T' || lpad(i::varchar, 3, '0'), 'Therapist ' || i, null "
                        "from range(?) t(i)", [THERAPISTS])
            con.execute("insert into clients (client_id, therapist_id, label, status) "
                        "select 'C' || lpad(i::varchar, 5, '0'), 'T' || lpad((i % ?)::varchar, 3, '0'), "
                        "'Client ' || i, 'active' from range(?) t(i)", [THERAPISTS, CLIENTS])
            con.execute("insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, "
                        "due_on, expected_count) select 'A' || i, 'C' || lpad(i::varchar, 5, '0'), 'journaling', "
                        "'Diary', ?::date - 20, ?::date - (2 + i % 10)::integer, 2 from range(?) t(i)",
                        [today, today, CLIENTS])
            con.execute("insert into submissions (submission_id, assignment_id, submitted_at, completion) "
                        "select 'S' || i, 'A' || i, (?::date - 12)::timestamptz + interval 12 hour, 'completed' "
                        "from range(?) t(i)",
                        [today, CLIENTS])
            con.execute("insert into measures select 'C' || lpad(i::varchar, 5, '0'), 'PHQ-9', s.score, s.day "
                        "from range(?) t(i), (values (15, ?::date - 20), ((i * 7) % 28, ?::date - 3)) s(score, day)",
                        [CLIENTS, today, today])
            facts.rebuild(con)
    finally:
        con.close()
    return path


@pytest.fixture
def app(big_store: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("HOMEWORK_DB", str(big_store))
    at = AppTest.from_file(str(DASHBOARD), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def values(array: list | dict) -> list[float]:
    """A figure JSON's array: a plain list, or Plotly's typed array {dtype, bdata (base64)}."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def figure_sizes(at: AppTest) -> list[int]:
    return [len(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_the_caseload_page_sends_at_most_the_first_rows_and_the_groups_most_in_need(app: AppTest) -> None:
    at = app.switch_page("pages/caseload.py").run()
    assert not at.exception, [e.value for e in at.exception]
    rows = [len(frame.value) for frame in at.dataframe]
    assert rows == [bounds.TABLE_ROWS, bounds.TABLE_ROWS]  # the needs-attention list and every client, cut
    more = CLIENTS - bounds.TABLE_ROWS
    notes = [c.value for c in at.caption if "more are not shown here" in c.value]
    assert notes == [f"The table shows the first 1,000 clients by need in this order; {more} more are not shown "
                     "here. Download the table to see them all."] * 2
    bars, _, heatmap = at.get("plotly_chart")
    bar_figure, grid_figure = json.loads(bars.proto.spec), json.loads(heatmap.proto.spec)
    assert len(bar_figure["data"][0]["y"]) == bounds.CHART_GROUPS
    assert len(grid_figure["data"][0]["y"]) == bounds.CHART_GROUPS
    assert [c.value for c in at.caption if "other therapists are not drawn" in c.value] != []
    assert max(figure_sizes(at)) < MAX_FIGURE_BYTES


def test_the_needs_attention_download_holds_every_client_with_their_reasons(app: AppTest, offered) -> None:
    """The page writes the reasons of the 1,000 rows it shows; the download writes all 1,100 when pressed."""
    at = app.switch_page("pages/caseload.py").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = at.dataframe[0].value
    assert len(shown) == bounds.TABLE_ROWS
    waiting = "1 submission is waiting for feedback, the oldest for 12 days"
    # Every client waits for feedback; a quarter also have a severe PHQ-9 of 21, up 6 from 15 (clinical, first).
    assert shown["reasons"].str.endswith(waiting).all()
    header, *rows = csv.reader(io.StringIO(offered["needs-attention.csv"]().decode("utf-8-sig")))
    assert header == ["rank", "label", "therapist_name", "reasons"]
    assert [row[0] for row in rows] == [str(rank) for rank in range(1, CLIENTS + 1)]
    assert all(row[3].endswith(waiting) for row in rows)
    assert sum(row[3].endswith("(+6; reliable change is 6); severe band; " + waiting) for row in rows) == CLIENTS // 4


def test_the_effectiveness_scatter_groups_clients_into_cells(app: AppTest) -> None:
    at = app.switch_page("pages/effectiveness.py").run()
    assert not at.exception, [e.value for e in at.exception]
    scatter = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                   if "change on PHQ-9" in json.loads(c.proto.spec)["layout"]["title"]["text"])
    cells = scatter["data"][0]
    assert cells["name"] == "Clients (grouped)"
    # Every client completed 1 of 2 (50%); the change is one of 4 values: score (7i mod 28) is 0, 7, 14 or 21,
    # first score 15 -> -15, -8, -1, +6, 275 clients each.
    assert values(cells["x"]) == [50] * 4
    assert sorted(values(cells["y"])) == [-15, -8, -1, 6]
    assert list(cells["customdata"]) == [f"275 clients: about 50% of homework completed; PHQ-9 {change}"
                                         for change in ("\u221215 points", "\u22128 points", "\u22121 point",
                                                        "+6 points")]
    assert any("nearby clients are drawn together" in c.value for c in at.caption)
    assert max(figure_sizes(at)) < MAX_FIGURE_BYTES
