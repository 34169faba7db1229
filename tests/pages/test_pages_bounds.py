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


def test_the_client_picker_offers_at_most_its_limit_and_finds_the_others_by_name_or_id(app: AppTest) -> None:
    """1,100 clients in scope: the picker lists the first 500 by label (not 1,100 choices on every rerun), and
    "Find a client" lists those whose name, therapist or id holds what is typed; the client on screen stays first."""
    at = app.switch_page("pages/client.py").run()
    assert not at.exception, [e.value for e in at.exception]
    picker = at.selectbox(key="client_picker")
    assert len(picker.options) == bounds.PICKER_CHOICES
    assert picker.value == "C00000" and picker.options[0] == "Client 0 · Therapist 0"  # the first by label
    assert [c.value for c in at.caption if "clients are listed" in c.value] == [
        "The first 500 of 1,100 clients are listed: type in “Find a client” to list others."]
    at = at.text_input(key="client_find").input("client 1099").run()  # any case
    assert at.selectbox(key="client_picker").options == ["Client 0 · Therapist 0", "Client 1099 · Therapist 19"]
    assert [c.value for c in at.caption if "match" in c.value] == ["1 of 1,100 clients match."]
    at = at.selectbox(key="client_picker").set_value("C01099").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="client_picker").value == "C01099"
    assert at.query_params["client"] == "C01099"  # the address follows the picker
    # by id (not shown in the list, but seen in links and tables), and by therapist: 1,100 clients over 45 therapists
    at = at.text_input(key="client_find").input("C00042").run()
    assert at.selectbox(key="client_picker").options == ["Client 1099 · Therapist 19", "Client 42 · Therapist 42"]
    at = at.text_input(key="client_find").input("Therapist 7").run()  # 7, and 1 of every 45 from it: 25 clients
    assert [c.value for c in at.caption if "match" in c.value] == ["25 of 1,100 clients match."]


def test_in_the_deidentified_view_the_picker_finds_only_what_it_shows(app: AppTest) -> None:
    """Pseudonyms are shown, so typing a real name (or a therapist's) finds nobody: the search cannot be used to tell
    which pseudonym is whose."""
    at = app.switch_page("pages/client.py").run()
    at = at.toggle(key="deidentified_view").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    picker = at.selectbox(key="client_picker")
    assert len(picker.options) == bounds.PICKER_CHOICES and all(o.startswith("C-") for o in picker.options)
    assert at.text_input(key="client_find").placeholder == "Part of a name"
    for typed in ("Client 1099", "Therapist 19"):
        at = at.text_input(key="client_find").input(typed).run()
        assert at.selectbox(key="client_picker").options == [picker.options[0]]  # only the client on screen
        assert [c.value for c in at.caption if "match" in c.value] == ["No client matches that text (of 1,100 clients)."]
    at = at.text_input(key="client_find").input(picker.options[7][2:12].upper()).run()  # part of a pseudonym
    assert at.selectbox(key="client_picker").options == [picker.options[0], picker.options[7]]
