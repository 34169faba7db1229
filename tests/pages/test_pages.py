"""The dashboard as a user sees it, run headless with AppTest on the fixture practice of conftest.py.

Expected figures, worked out by hand from conftest.fixture_files (d = days from today):

Last 28 days (d-27 .. d), whole practice
  due: A1 (expected 2), A2 (3), A4 (2), A5 (1) = 4 assignments, 8 expected
       (A3 is cancelled, A6 is due in 5 days, A7/A8 fall in the previous period)
  credit:  A1 1 + A2 (0.5 + 1) + A4 min(3, 2) + A5 0        = 4.5 -> 4.5 / 8 = 56.25% -> "56%"
  on time: A1 1 + A2 0.5 (the completion came late) + A4 2   = 3.5 -> 3.5 / 8 = 43.75% -> "44%"
  previous 28 days (d-55 .. d-28): A7 skipped (0), A8 completed (1) -> 2 due, 1 / 2 = 50%, on time 50%
  -> completion +6 pp, on time -6 pp, assignments due 4 (+2)
  active clients: C1, C2, C3 (C4 is discharged) = 3
  submissions d-6 .. d: S2 (d-6), S3 (d-3), S4 (d-4, cancelled homework still counts), S7 (d-2), S8 (d-1) = 5
  the 7 days before (d-13 .. d-7): S1 (d-11), S5 (d-9), S6 (d-8) = 3 -> +2

Viewing as Ada Byron (T1: C1, C2), last 28 days
  due A1, A2: 5 expected, credit 2.5 -> 50%; on time 1.5 / 5 -> 30%
  previous: A7 -> 0% and 0% -> +50 pp, +30 pp; due 2 (+1); active clients 2
  submissions d-6 .. d: S2, S3, S4, S8 = 4; before: S1 = 1 -> +3

Viewing as Robin **Bold** Lee (T2: C3, C4), last 28 days
  due A4, A5: 3 expected, credit 2 -> 67%; on time 2 -> 67%; previous A8 100% -> -33 pp; active 1

Last 7 days (d-6 .. d), whole practice
  due A2 only: 1.5 / 3 = 50%; on time 0.5 / 3 = 16.7% -> "17%"
  previous 7 days (d-13 .. d-7), as of d-7: A1 (1 of 2) + A4 (2 of 2) = 3 / 4 = 75%, on time 75%
  -> -25 pp and -58 pp (16.67 - 75 = -58.3); assignments due 1 (-1)

Custom range d-20 .. d-20: A5 only, nothing submitted -> 1 due, 0% and 0%.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.store.database import open_store

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard.py"
ROBIN = "Robin **Bold** Lee"


def metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    """label -> (value, delta) of every st.metric on the page (the Overview's counts of needs attention left out)."""
    return {m.label: (m.value, m.delta) for m in at.metric if m.label not in KIND_COUNTS}


KIND_COUNTS = ("Clinical risk", "Engagement", "Admin")


def kind_counts(at: AppTest) -> dict[str, str]:
    """The Overview's needs-attention counts by kind: label -> value."""
    return {m.label: m.value for m in at.metric if m.label in KIND_COUNTS}


def period_line(at: AppTest) -> str:
    """The first st.text that says which scope and period the figures are for."""
    return next(t for t in texts(at) if " · homework due " in t)


def texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def markdown_bodies(at: AppTest) -> list[str]:
    """Everything on the page that Streamlit parses as Markdown."""
    found = [e.value for e in (*at.markdown, *at.caption, *at.info, *at.success, *at.error, *at.warning)]
    return found + [e.value for e in (*at.title, *at.header, *at.subheader)]


def table(at: AppTest, *columns: str):
    """The first st.dataframe on the page whose columns include `columns`, as a pandas DataFrame, or None.

    (AppTest 1.67 does not report the key of a read-only st.dataframe, so tables are found by their columns.)
    """
    for element in at.dataframe:
        if set(columns) <= set(element.value.columns):
            return element.value
    return None


def no_exception(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def app(store_path: Path) -> AppTest:
    return no_exception(AppTest.from_file(str(DASHBOARD), default_timeout=30).run())


def on_data_page(at: AppTest) -> AppTest:
    return no_exception(at.switch_page("pages/data.py").run())


# ---------------------------------------------------------------------------------------------
# Overview
# ---------------------------------------------------------------------------------------------


def test_overview_shows_the_practice_headline_for_the_last_28_days(app: AppTest) -> None:
    assert metrics(app) == {
        "Active clients": ("3", ""),
        "Assignments due": ("4", "+2"),
        "Completion rate": ("56%", "+6 pp"),
        "On-time rate": ("44%", "-6 pp"),
        "7-day submissions": ("5", "+2"),
    }
    start = date.today() - timedelta(days=27)
    assert period_line(app).startswith(f"Whole practice · homework due {start:%d %b %Y} – {date.today():%d %b %Y}")
    assert len(app.get("plotly_chart")) == 1
    assert not app.info  # something was due: the chart, not the "nothing due" message


def test_overview_opens_with_who_needs_attention_today(app: AppTest) -> None:
    # The fixture's rows, as of today: no score rises (C1's PHQ-9 14 -> 9), nobody silent (C2's last submission,
    # to cancelled homework, is 4 days ago), no low completion (C1 50% is not under 50%) and nothing missed in a
    # row; completed work waiting more than 7 days for feedback: C1 (S1, d-11) and C3 (S5 d-9, S6 d-8). Both admin;
    # C1's 50% completion ranks before C3's 67%.
    assert [s.value for s in app.subheader][:2] == ["Needs attention today", "Homework in the period"]
    assert kind_counts(app) == {"Clinical risk": "0", "Engagement": "0", "Admin": "2"}
    links = [link for link in app.page_link if link.proto.page == "client"]
    assert [link.proto.query_string for link in links] == ["client=C1", "client=C3"]
    assert "Client One" in links[0].value and "Client Three" in links[1].value.replace("\\", "")
    assert [t for t in texts(app) if "Admin · " in t] == [
        "Ada Byron · Admin · 1 submission is waiting for feedback, the oldest for 11 days",
        f"{ROBIN} · Admin · 2 submissions are waiting for feedback, the oldest for 9 days",
    ]
    assert not [b for b in markdown_bodies(app) if "Robin" in b]


def test_the_overview_link_opens_the_client(app: AppTest) -> None:
    app.query_params["client"] = "C3"
    no_exception(app.switch_page("pages/client.py").run())
    assert app.selectbox(key="client_picker").value == "C3"


def test_metric_help_says_how_each_number_is_computed(app: AppTest) -> None:
    help_by_label = {m.label: m.help for m in app.metric}
    assert "0.5 when partial" in help_by_label["Completion rate"]
    assert "capped at its expected count" in help_by_label["Completion rate"]
    assert "on or before each assignment's due date" in help_by_label["On-time rate"]
    assert "Shows — when nothing is due" in help_by_label["On-time rate"]
    assert "not paused or discharged" in help_by_label["Active clients"]


def test_view_as_a_therapist_counts_only_their_clients(app: AppTest) -> None:
    assert app.selectbox(key="view_as").options == ["Whole practice", "Ada Byron", ROBIN]

    no_exception(app.selectbox(key="view_as").set_value("T1").run())
    assert metrics(app) == {
        "Active clients": ("2", ""),
        "Assignments due": ("2", "+1"),
        "Completion rate": ("50%", "+50 pp"),
        "On-time rate": ("30%", "+30 pp"),
        "7-day submissions": ("4", "+3"),
    }
    assert period_line(app).startswith("Viewing as Ada Byron · ")

    no_exception(app.selectbox(key="view_as").set_value("T2").run())
    assert metrics(app)["Active clients"] == ("1", "")
    assert metrics(app)["Completion rate"] == ("67%", "-33 pp")
    assert metrics(app)["On-time rate"] == ("67%", "-33 pp")


def test_two_therapists_of_one_name_are_told_apart_by_their_ids(store_path: Path) -> None:
    con = open_store(store_path)
    con.execute("update therapists set name = 'Ada Byron' where therapist_id = 'T2'")
    con.close()
    at = no_exception(AppTest.from_file(str(DASHBOARD), default_timeout=30).run())
    assert at.selectbox(key="view_as").options == ["Whole practice", "Ada Byron (T1)", "Ada Byron (T2)"]


def test_a_therapist_name_is_shown_as_typed_never_as_markdown(app: AppTest) -> None:
    no_exception(app.selectbox(key="view_as").set_value("T2").run())
    assert period_line(app).startswith(f"Viewing as {ROBIN} · ")
    assert not [body for body in markdown_bodies(app) if "Robin" in body]


def test_changing_the_period_changes_the_numbers(app: AppTest) -> None:
    no_exception(app.selectbox(key="period_preset").set_value("Last 7 days").run())
    assert metrics(app) == {
        "Active clients": ("3", ""),
        "Assignments due": ("1", "-1"),
        "Completion rate": ("50%", "-25 pp"),
        "On-time rate": ("17%", "-58 pp"),
        "7-day submissions": ("5", "+2"),  # always the last 7 days, whatever the period
    }


def test_a_custom_period_counts_homework_due_in_that_range(app: AppTest) -> None:
    no_exception(app.selectbox(key="period_preset").set_value("Custom").run())
    day = date.today() - timedelta(days=20)
    no_exception(app.date_input(key="period_custom_range").set_value((day, day)).run())
    assert metrics(app)["Assignments due"][0] == "1"
    assert metrics(app)["Completion rate"][0] == "0%"
    assert metrics(app)["On-time rate"][0] == "0%"
    assert period_line(app).startswith(f"Whole practice · homework due {day:%d %b %Y} – {day:%d %b %Y}")


def test_a_period_with_nothing_due_says_so_instead_of_an_empty_chart(app: AppTest) -> None:
    app.selectbox(key="view_as").set_value("T2")
    no_exception(app.selectbox(key="period_preset").set_value("Last 7 days").run())
    assert metrics(app)["Assignments due"] == ("0", "-1")
    assert metrics(app)["Completion rate"] == ("—", "")
    assert metrics(app)["On-time rate"] == ("—", "")
    assert [i.value for i in app.info] == [
        "Nothing was due in this period, so there is no weekly completion to show. Choose a longer period."
    ]
    assert not app.get("plotly_chart")


def test_an_empty_store_shows_the_way_forward(empty_store_path: Path) -> None:
    at = no_exception(AppTest.from_file(str(DASHBOARD), default_timeout=30).run())
    assert [i.value for i in at.info] == [
        "No data yet. Import CSV files on the Data page, or run `make run` which loads the demo data."
    ]
    assert [link.value for link in at.page_link] == ["Go to the Data page"]
    assert not at.metric
    assert at.selectbox(key="view_as").options == ["Whole practice"]
    on_data_page(at)
    assert len(at.file_uploader) == 1


def test_a_store_that_cannot_be_opened_says_why_instead_of_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOMEWORK_DB", str(tmp_path))  # a folder, not a store file
    at = no_exception(AppTest.from_file(str(DASHBOARD), default_timeout=30).run())
    assert [e.value for e in at.error] == ["The store cannot be opened, so there is nothing to show. The reason:"]
    assert str(tmp_path) in at.code[0].value
    assert not at.metric


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

NEW_CLIENT = b"client_id,therapist_id,label,status\nC5,T1,Client Five,active\n"


def test_importing_a_valid_batch_shows_the_report_and_every_page_sees_the_rows(app: AppTest) -> None:
    on_data_page(app)
    therapists = b"therapist_id,name\nT3,Noor Haddad\n"
    app.file_uploader[0].set_value([("therapists.csv", therapists, "text/csv"), ("clients.csv", NEW_CLIENT, "text/csv")])
    no_exception(app.run())
    no_exception(app.button(key="import_button").click().run())

    assert [s.value for s in app.success] == ["Imported. Every page now includes these rows."]
    files = table(app, "rows_read", "rejected")
    assert files[["file", "table", "rows_read", "inserted", "rejected"]].to_dict("records") == [
        {"file": "therapists.csv", "table": "therapists", "rows_read": 1, "inserted": 1, "rejected": 0},
        {"file": "clients.csv", "table": "clients", "rows_read": 1, "inserted": 1, "rejected": 0},
    ]
    assert app.file_uploader[0].value == []  # a fresh uploader after an accepted import
    assert "Noor Haddad" in app.selectbox(key="view_as").options
    contents = table(app, "what", "rows").set_index("what")["rows"].to_dict()
    assert contents["clients"] == 5
    assert len(table(app, "imported_at", "imported_by")) == 2  # the fixture's batch and this one

    no_exception(app.switch_page("pages/overview.py").run())
    assert metrics(app)["Active clients"] == ("4", "")


def test_an_invalid_batch_is_refused_whole_with_the_line_and_column_of_each_problem(app: AppTest) -> None:
    today = date.today()
    assignments = (
        "assignment_id,client_id,assignment_type,title,assigned_on,due_on\n"
        f"A9,C1,journaling,Fine,{today - timedelta(days=3)},{today - timedelta(days=1)}\n"
        f"A10,C1,journaling,Backwards,{today - timedelta(days=1)},{today - timedelta(days=3)}\n"
    ).encode()
    on_data_page(app)
    app.file_uploader[0].set_value([("clients.csv", NEW_CLIENT, "text/csv"), ("assignments.csv", assignments, "text/csv")])
    no_exception(app.run())
    no_exception(app.button(key="import_button").click().run())

    assert [e.value for e in app.error] == [
        "Refused: nothing was written to the store. Fix the problems listed below and import the files again, "
        "or tick “Import the valid rows and skip the rejected ones”."
    ]
    problems = table(app, "severity", "reason")
    assert problems[["severity", "file", "line", "column", "reason"]].to_dict("records") == [
        {"severity": "error", "file": "assignments.csv", "line": 3, "column": "due_on",
         "reason": "due_on is before assigned_on"},
    ]
    assert table(app, "what", "rows").set_index("what")["rows"].to_dict()["clients"] == 4
    assert len(app.file_uploader[0].value) == 2  # the files stay, to import again once fixed


def test_skipping_rejected_rows_imports_the_valid_ones(app: AppTest) -> None:
    today = date.today()
    assignments = (
        "assignment_id,client_id,assignment_type,title,assigned_on,due_on\n"
        f"A9,C1,journaling,Fine,{today - timedelta(days=3)},{today - timedelta(days=1)}\n"
        f"A10,C1,journaling,Backwards,{today - timedelta(days=1)},{today - timedelta(days=3)}\n"
    ).encode()
    on_data_page(app)
    app.file_uploader[0].set_value(("assignments.csv", assignments, "text/csv"))
    app.checkbox(key="import_skip_invalid").check()
    no_exception(app.run())
    no_exception(app.button(key="import_button").click().run())

    assert [w.value for w in app.warning] == [
        "Imported the valid rows; the rejected rows listed below were skipped. Fix them and import those files again."
    ]
    files = table(app, "rows_read", "rejected")
    assert files[["inserted", "rejected"]].to_dict("records") == [{"inserted": 1, "rejected": 1}]
    assert table(app, "what", "rows").set_index("what")["rows"].to_dict()["assignments"] == 9


def test_a_therapist_view_offers_no_import(app: AppTest) -> None:
    no_exception(app.selectbox(key="view_as").set_value("T1").run())
    on_data_page(app)
    assert not app.file_uploader
    assert [i.value for i in app.info] == [
        "Importing is done by the practice. Choose “Whole practice” under “View as” to import files."
    ]
    contents = table(app, "what", "rows").set_index("what")["rows"].to_dict()
    assert contents == {"clients": 2, "assignments": 5, "submissions": 6, "measures": 2}
    assert texts(app)[0] == "Viewing as Ada Byron · practice time zone: UTC"
    assert table(app, "imported_at", "imported_by") is None  # the import log is the practice's


def test_the_data_page_lists_the_canonical_columns(app: AppTest) -> None:
    on_data_page(app)
    columns = table(app, "table", "column", "meaning")
    assert set(columns["table"]) == {"therapists", "clients", "assignments", "submissions", "measures"}
    assert {"table": "submissions", "column": "completion", "required": True} in (
        columns[["table", "column", "required"]].to_dict("records")
    )
