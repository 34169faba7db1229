"""The Effectiveness and Planner pages as a user sees them, run headless with AppTest.

The store is conftest's fixture practice with a second batch imported on top (ids unchanged), adding
what these pages show (d = days from today; see conftest.fixture_files for the first batch):
  C1 Client One (T1): concern "worry", goals "Sleep through the night and worry less", preferences "writing; quiet".
  B1 C1 mindfulness "Breathing practice", set d-20, due d-14, expected 5, 10 minutes each:
     S11..S15 completed d-19, d-18, d-17, d-16, d-15, moods 4→5, 4→6, 4→5, 4→6, 4→5 (lifts +1 +2 +1 +2 +1),
     quality 3, 4, 3, 4, 3                                                   -> credit 5, on time 5
  B2 C3 mindfulness "Body scan", set d-20, due d-14, expected 2:
     S16 completed d-18, 5→6 (+1); S17 partial d-17, 5→5 (0)                 -> credit 1.5, on time 1.5
  Moods on C3's creative work (A4): S5 3→5 (+2), S6 4→5 (+1), S7 5→5 (0).
  PHQ-9: C1 13 on d-20 (beside the fixture's 14 on d-30 and 9 on d-2); C3 15 on d-25 and 14 on d-3.

Worked out by hand.

Effectiveness, whole practice, last 28 days (d-27 .. d), by type (canonical order):
  journaling  A1: due 1, 1 / 2 = 50%, on time 50%; no moods -> "not enough data (n = 0)"
  behavioural A2: due 1, 1.5 / 3 = 50%, on time 0.5 / 3 = 17%; no moods
  mindfulness B1 + B2 (A6 is not due yet): due 2, (5 + 1.5) / 7 = 92.9%, on time the same;
              lifts 1, 2, 1, 2, 1, 1, 0: n = 7, mean 8 / 7 = 1.143 -> "+1.1"; sd² = 2.857 / 6 = 0.476,
              sd 0.690; t(6) 2.4469 · 0.690 / √7 = 0.638 -> "+0.5 to +1.8";
              quality 3, 4, 3, 4, 3 (n = 5) -> "3.4 of 4"
  creative    A4: due 1, 2 / 2 = 100%; lifts 2, 1, 0: n = 3 -> "not enough data (n = 3)", no interval
  narrative   A5: due 1, 0 / 1 = 0%; no moods
  The chart holds mindfulness only (the one type with 5 ratings); the others are listed below it.
Therapist Ada Byron (T1: C1, C2): journaling and behavioural as above; mindfulness B1 only: due 1, 5 / 5 = 100%,
  lifts 1, 2, 1, 2, 1: mean 1.4 -> "+1.4"; sd² = 1.2 / 4 = 0.3, sd 0.548, t(4) 2.7764 · 0.548 / √5 = 0.680
  -> "+0.7 to +2.1". No creative or narrative row (C3 is Robin's).
Homework and PHQ-9, last 28 days: C1 (due A1, A2, B1: credit 7.5 of 10 -> 75%) 13 on d-20 → 9 on d-2: -4;
  C3 (A4, A5, B2: 3.5 of 5 -> 70%) 15 → 14: -1; C2 has nothing due. 2 clients: not enough for an association.
Client One's profile over the last 28 days (caseload = the practice; every type has fewer than 5 clients,
  so every prior strength is the default 10):
  mindfulness completion: C1 5 of 5 (100%), C3 1.5 of 2 -> caseload 6.5 / 7 = 92.86%;
              expected (5 + 10 · 0.9286) / (5 + 10) = 95.24%, weight 5 / 15 = 33%
  mindfulness lift: C1 mean 1.4 (n = 5), C3 0.5 (n = 2) -> caseload 8 / 7 = 1.143;
              expected 1/3 · 1.4 + 2/3 · 1.143 = 1.229
  creative: no data of C1's -> exactly the caseload's 100% and lift +1.0

Planner, Client One (the planner reads everything up to today):
  recent weeks: C1's first homework was set on d-20, so the window is d-20 .. d = 21 days = 3 weeks;
    credit S1 1 + S2 0.5 + S3 1 + S8 1 + S11..S15 5 = 8.5 -> 2.83 a week; minutes: only B1 has minutes
    each (10), 5 · 10 = 50 -> 16.7 a week. "Clearly more": over 4.25 times or 25 minutes a week.
  likely completion, all time: mindfulness as above 95.2%; behavioural A2 (1.5 of 3) and C3's A8 (1 of 1):
    m = 2.5 / 4 = 0.625, C1 (1.5 + 6.25) / 13 = 59.6%
  pace limit for a suggestion: 1.5 × 2.83 = 4.25 -> 4 a week.
  L011 Problem-solving worksheet (behavioural, 1 a week, 20 minutes), today to d+7: 1 time, 20 minutes
    -> no warning; expected count 1 · 7 / 7 = 1; expected completion 60%
  + L013 Breathing exercise (mindfulness, written as 7 a week, 5 minutes), offered at 4 a week: 5 times,
    4 · 5 + 20 = 40 minutes -> warning (over 4.25 times, over 25 minutes);
    expected completion (4 · 0.952 + 1 · 0.596) / 5 = 88.1% -> "88%"
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.ingest.importer import import_batch
from analytics.planning import library, planner
from analytics.present import formats
from analytics.store import settings
from analytics.store.database import open_store
from analytics.store.scope import Scope
from tests.pages.test_pages import DASHBOARD, ROBIN, markdown_bodies, metrics, no_exception, table, texts


def plan_id(number: int) -> str:
    """The id of the `number`th assignment planned today (read when a test runs, never at import: a run may cross
    midnight)."""
    return f"P{date.today():%Y%m%d}-{number:03d}"


GOALS = "Sleep through the night and worry less"


def _day(offset: int) -> str:
    return (date.today() + timedelta(days=offset)).isoformat()


def _at_noon(offset: int) -> str:
    return f"{_day(offset)}T12:00:00Z"


def effectiveness_files() -> list[tuple[str, bytes]]:
    """The second batch (see the module docstring)."""
    clients_csv = (
        "client_id,therapist_id,label,primary_concern,goals,preferences\n"
        f"C1,T1,Client One,worry,{GOALS},writing; quiet\n"
    )
    assignments_csv = (
        "assignment_id,client_id,assignment_type,title,assigned_on,due_on,expected_count,est_minutes\n"
        f"B1,C1,mindfulness,Breathing practice,{_day(-20)},{_day(-14)},5,10\n"
        f"B2,C3,mindfulness,Body scan,{_day(-20)},{_day(-14)},2,\n"
    )
    submissions_csv = "submission_id,assignment_id,submitted_at,completion,quality,mood_before,mood_after\n" + "".join(
        f"S{11 + i},B1,{_at_noon(-19 + i)},completed,{quality},4,{after}\n"
        for i, (quality, after) in enumerate([(3, 5), (4, 6), (3, 5), (4, 6), (3, 5)])
    ) + (
        f"S16,B2,{_at_noon(-18)},completed,,5,6\n"
        f"S17,B2,{_at_noon(-17)},partial,,5,5\n"
        f"S5,A4,{_at_noon(-9)},completed,,3,5\n"
        f"S6,A4,{_at_noon(-8)},completed,,4,5\n"
        f"S7,A4,{_at_noon(-2)},completed,,5,5\n"
    )
    measures_csv = (
        "client_id,measure,score,administered_on\n"
        f"C1,PHQ-9,13,{_day(-20)}\nC3,PHQ-9,15,{_day(-25)}\nC3,PHQ-9,14,{_day(-3)}\n"
    )
    return [
        ("clients.csv", clients_csv.encode()),
        ("assignments.csv", assignments_csv.encode()),
        ("submissions.csv", submissions_csv.encode()),
        ("measures.csv", measures_csv.encode()),
    ]


@pytest.fixture
def practice_store(store_path: Path) -> Path:
    con = open_store(store_path)
    try:
        report = import_batch(con, effectiveness_files(), scope=Scope.practice(), imported_by="test fixture",
                              existing="update")  # the files change some stored rows on purpose
        assert report.accepted, report.to_text()
    finally:
        con.close()
    return store_path


@pytest.fixture
def app(practice_store: Path) -> AppTest:
    return no_exception(AppTest.from_file(str(DASHBOARD), default_timeout=30).run())


def on_page(at: AppTest, page: str) -> AppTest:
    return no_exception(at.switch_page(f"pages/{page}.py").run())


def plotly_specs(at: AppTest) -> list[str]:
    """Each chart's figure as the browser gets it, decoded (its JSON writes − as \\u2212)."""
    return [json.dumps(json.loads(chart.proto.spec), ensure_ascii=False) for chart in at.get("plotly_chart")]


def stored(store: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows read from the store on a connection of our own (the page's writes must be there, committed)."""
    con = open_store(store)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------
# Effectiveness
# ---------------------------------------------------------------------------------------------

PRACTICE_TYPES = [
    {"type": "Journaling & self-reflection", "due": 1, "completion": 50.0, "on_time": 50.0,
     "mood_lift": "not enough data (n = 0)", "lift_interval": "—", "lift_n": 0,
     "quality": "not enough data (n = 0)", "quality_n": 0},
    {"type": "Behavioural & habit-forming", "due": 1, "completion": 50.0, "on_time": pytest.approx(100 / 6),
     "mood_lift": "not enough data (n = 0)", "lift_interval": "—", "lift_n": 0,
     "quality": "not enough data (n = 0)", "quality_n": 0},
    {"type": "Mindfulness & meditation", "due": 2, "completion": pytest.approx(650 / 7),
     "on_time": pytest.approx(650 / 7), "mood_lift": "+1.1", "lift_interval": "+0.5 to +1.8", "lift_n": 7,
     "quality": "3.4 of 4", "quality_n": 5},
    {"type": "Art & creative expression", "due": 1, "completion": 100.0, "on_time": 100.0,
     "mood_lift": "not enough data (n = 3)", "lift_interval": "—", "lift_n": 3,
     "quality": "not enough data (n = 0)", "quality_n": 0},
    {"type": "Writing & narrative work", "due": 1, "completion": 0.0, "on_time": 0.0,
     "mood_lift": "not enough data (n = 0)", "lift_interval": "—", "lift_n": 0,
     "quality": "not enough data (n = 0)", "quality_n": 0},
]


def type_rows(at: AppTest) -> list[dict]:
    return table(at, "type", "mood_lift", "quality").to_dict("records")


def test_effectiveness_compares_the_types_and_says_not_enough_data_in_words(app: AppTest) -> None:
    on_page(app, "effectiveness")
    assert type_rows(app) == PRACTICE_TYPES
    shown = texts(app)
    assert shown[0].startswith("All therapists · homework due ")
    # Only mindfulness has 5 ratings: the others are left out of the chart and listed under it, in words.
    assert "Art & creative expression: mood lift: not enough data (n = 3)" in shown
    assert "Journaling & self-reflection: mood lift: not enough data (n = 0)" in shown
    type_chart, outcome_chart, profile_chart = plotly_specs(app)
    assert "Mindfulness (n = 7)" in type_chart
    assert "Creative" not in type_chart and "Journaling" not in type_chart
    assert "95% interval +0.50 to +1.78" in type_chart

    assert ("Not enough data: 2 clients had homework due and two PHQ-9 scores in this period; at least 4 are needed "
            "to look for an association.") in shown
    assert "Client One: 75% of homework completed; PHQ-9 −4 points" in outcome_chart
    assert "Client Three: 70% of homework completed; PHQ-9 −1 point" in outcome_chart
    assert "Fitted line" not in outcome_chart  # no association computed below 4 clients: no line either
    assert "Homework completed (% of expected)" in profile_chart


def test_the_therapist_filter_narrows_the_comparison(app: AppTest) -> None:
    on_page(app, "effectiveness")
    no_exception(app.selectbox(key="effectiveness_therapist").set_value("T1").run())
    assert texts(app)[0].startswith("Ada Byron · homework due ")
    rows = {row["type"]: row for row in type_rows(app)}
    assert list(rows) == ["Journaling & self-reflection", "Behavioural & habit-forming", "Mindfulness & meditation"]
    mindfulness = rows["Mindfulness & meditation"]
    assert (mindfulness["due"], mindfulness["completion"], mindfulness["mood_lift"], mindfulness["lift_interval"],
            mindfulness["lift_n"]) == (1, 100.0, "+1.4", "+0.7 to +2.1", 5)
    assert "Mindfulness (n = 5)" in plotly_specs(app)[0]

    no_exception(app.selectbox(key="view_as").set_value("T2").run())  # Robin sees only Robin's clients
    therapist = app.selectbox(key="effectiveness_therapist")
    assert therapist.options == [ROBIN] and therapist.disabled
    rows = {row["type"]: row for row in type_rows(app)}
    assert rows["Mindfulness & meditation"]["mood_lift"] == "not enough data (n = 2)"
    assert set(rows) == {"Mindfulness & meditation", "Art & creative expression", "Writing & narrative work"}
    assert "No type has both homework due and 5 or more mood ratings in this period, so there is no chart. " \
           "The table below has what there is." in [i.value for i in app.info]


def test_the_client_profile_shows_their_own_and_the_expected_figures(app: AppTest) -> None:
    on_page(app, "effectiveness")
    no_exception(app.selectbox(key="client_picker").set_value("C1").run())
    profile_rows = table(app, "shrunk_completion", "shrunk_mood_lift").set_index("type")
    mindfulness = profile_rows.loc["Mindfulness"]
    assert mindfulness["expected"] == 5
    assert mindfulness["completion"] == 100.0
    assert mindfulness["caseload_completion"] == pytest.approx(650 / 7)
    assert mindfulness["completion_weight"] == pytest.approx(100 / 3)
    assert mindfulness["shrunk_completion"] == pytest.approx(100 * 20 / 21)  # (5 + 10 · 13/14) / 15
    assert (mindfulness["mood_lift_n"], mindfulness["mood_lift"]) == (5, "+1.4")
    assert mindfulness["caseload_mood_lift"] == pytest.approx(8 / 7)
    assert mindfulness["shrunk_mood_lift"] == pytest.approx(1.4 / 3 + 2 / 3 * 8 / 7)
    creative = profile_rows.loc["Creative"]  # nothing of C1's: exactly the caseload's figures
    assert creative["expected"] == 0 and creative["shrunk_completion"] == 100.0
    assert (creative["mood_lift"], creative["shrunk_mood_lift"]) == ("not enough data (n = 0)", 1.0)
    assert "Mindfulness<br>5 expected · 5 ratings" in plotly_specs(app)[2]


# ---------------------------------------------------------------------------------------------
# Planner
# ---------------------------------------------------------------------------------------------


def on_planner(at: AppTest, client_id: str = "C1") -> AppTest:
    on_page(at, "planner")
    return no_exception(at.selectbox(key="client_picker").set_value(client_id).run())


def add_from_library(at: AppTest, template_id: str) -> AppTest:
    at.selectbox(key="planner_library_pick").set_value(template_id)
    return no_exception(at.button(key="planner_add_from_library").click().run())


def plan_metrics(at: AppTest) -> dict[str, str]:
    return {label: value for label, (value, _) in metrics(at).items()}


def test_the_planner_shows_the_client_and_suggestions_with_their_reasons(app: AppTest) -> None:
    on_planner(app)
    shown = texts(app)
    assert shown[:4] == ["Client One", "Ada Byron", "active", "worry"]
    assert "writing, quiet" in shown and GOALS in shown
    # Leaves on a stream (mindfulness, 3 a week: within the pace limit of 4): 0.25 · 20/21 + 0.20 · 1.229 / 2
    # + 0.15 (pace) + 0.10 (worry) + 0.15 · 2/2 (worry, night) + 0.15 (quiet) = 0.911, the highest.
    assert "1. Leaves on a stream" in shown
    assert ("Suits worry, matches the goal ('worry', 'night'), fits 'quiet'; 3 a week suits their pace (they did 2.8 a "
            "week over the last 3 weeks); Client One completes 100% of mindfulness homework (caseload 93%); their mood "
            "lifts +1.4 after it (5 ratings)") in shown
    assert any(t.startswith("Their figures here are over all their homework up to today, whatever the period") and
               "Their pace: 2.8 times a week over the last 4 weeks." in t for t in shown)
    notes = [c.value for c in app.caption if c.value.startswith("Adding it at")]
    assert notes and notes[0] == formats.inert_markdown(
        "Adding it at 3 a week takes them from 2.8 to 5.8 tasks a week.")
    assert len([b for b in app.button if b.key.startswith("planner_add_L")]) == 8
    assert [i.value for i in app.info] == [
        "The plan is empty. Add a suggestion, a template from the library, or a row of your own."]
    assert app.button(key="planner_save").disabled


def test_adding_items_builds_the_plan_and_warns_when_it_asks_clearly_more(app: AppTest) -> None:
    on_planner(app)
    add_from_library(app, "L011")
    assert list(app.data_editor[0].value["title"]) == ["Problem-solving worksheet"]
    assert plan_metrics(app) == {"Plan: times": "1 time", "Plan: minutes": "20 min", "Done: times": "2.8 times",
                                 "Done: minutes": "16.7 min", "Likely done": "60%"}
    assert not app.warning

    no_exception(app.button(key="planner_add_L013").click().run())  # Breathing exercise, a suggestion at 4 a week
    assert list(app.data_editor[0].value["title"]) == ["Problem-solving worksheet", "Breathing exercise"]
    assert list(app.data_editor[0].value["times_per_week"]) == [1, 4]
    assert plan_metrics(app)["Plan: times"] == "5 times"
    assert plan_metrics(app)["Plan: minutes"] == "40 min"
    assert plan_metrics(app)["Likely done"] == "88%"
    assert [w.value for w in app.warning] == ["This plan asks clearly more than this client has done lately."]
    assert ("This plan asks for 5 times (40 minutes) a week: clearly more than the 2.8 times (16.7 minutes) a week "
            "Client One has completed over the last 3 weeks. Consider fewer or shorter tasks.") in texts(app)
    assert not app.button(key="planner_save").disabled


def test_edits_in_the_plan_table_count_and_unfinished_rows_are_named(app: AppTest) -> None:
    on_planner(app)
    add_from_library(app, "L011")
    app.session_state["planner_editor_C1"] = {
        "edited_rows": {0: {"times_per_week": 7}}, "added_rows": [{"title": "Walk to the park"}], "deleted_rows": [],
    }
    no_exception(app.run())
    assert plan_metrics(app)["Plan: times"] == "7 times"
    assert plan_metrics(app)["Plan: minutes"] == "140 min"
    assert "This plan asks clearly more than this client has done lately." in [w.value for w in app.warning]
    assert ("Item 2 (Walk to the park): type must be one of journaling, behavioural, mindfulness, creative, narrative, "
            "other; start and due must be dates; times per week must be a whole number from 1 to 7; minutes must be "
            "a whole number from 0 to 1440.") in texts(app)
    assert app.button(key="planner_save").disabled  # nothing is saved while an item is unfinished


PLANNED = "select assignment_id, client_id, assignment_type, title, assigned_on, due_on, expected_count, est_minutes, " \
          "goal, chosen_with_client, status from assignments where assignment_id like 'P%' order by assignment_id"


def test_saving_writes_exactly_the_plan_and_the_client_and_caseload_pages_show_it(
    app: AppTest, practice_store: Path
) -> None:
    today = date.today()
    on_page(app, "caseload")
    assert metrics(app)["Due"][0] == "6"  # A1, A2, A4, A5, B1, B2
    on_planner(app)
    add_from_library(app, "L011")
    no_exception(app.button(key="planner_add_L013").click().run())
    # Due today instead (so it counts at once), goal and "chosen together" filled in the table.
    app.session_state["planner_editor_C1"] = {
        "edited_rows": {0: {"due": today.isoformat(), "goal": "Decide about **work**", "chosen_with_client": True}},
        "added_rows": [], "deleted_rows": [],
    }
    no_exception(app.run())
    no_exception(app.button(key="planner_save").click().run())

    assert stored(practice_store, PLANNED) == [
        (plan_id(1), "C1", "behavioural", "Problem-solving worksheet", today, today, 1, 20, "Decide about **work**",
         True, "active"),
        (plan_id(2), "C1", "mindfulness", "Breathing exercise", today, today + timedelta(days=7), 4, 5, None, False,
         "active"),
    ]
    assert stored(practice_store, "select count(*) from assignments") == [(12,)]  # 10 before, and these 2
    bundled = library.templates(open_store(":memory:")).set_index("template_id")
    assert stored(practice_store, "select assignment_id, instructions, times_per_week from assignment_details "
                                  "order by assignment_id") == [
        (plan_id(1), bundled.loc["L011", "instructions"], 1), (plan_id(2), bundled.loc["L013", "instructions"], 4)]
    week = today + timedelta(days=7)
    assert [s.value for s in app.success] == [  # by title and due date, never by id
        "Saved 2 assignments: " + formats.inert_markdown(f"“Problem-solving worksheet” due {today.day} {today:%b %Y}, "
                                                         f"“Breathing exercise” due {week.day} {week:%b %Y}")
        + ". They count on the Client and Caseload pages now."]
    assert app.data_editor[0].value.empty  # a fresh plan for the next time
    labels = [d.label for d in app.download_button]
    assert [label for label in labels if label != "Download CSV"] == ["Calendar file (.ics)", "Printable handout (HTML)"] * 2
    assert labels.count("Download CSV") == 1  # the current homework table's own (formula-safe) download
    assert {plan_id(1), plan_id(2)} <= set(table(app, "assignment_id", "expected_count")["assignment_id"])

    on_page(app, "client")
    current = table(app, "assignment_id", "expected_count").set_index("assignment_id")
    assert current.loc[plan_id(2), "title"] == "Breathing exercise"
    assert current.loc[plan_id(1), "goal"] == "Decide about **work**"  # as typed, in a table
    on_page(app, "caseload")
    assert metrics(app)["Due"][0] == "7"  # the item due today counts at once


@pytest.fixture
def planned_store(practice_store: Path) -> Path:
    """Client One with the two-item plan of the test above saved (both due in a week)."""
    con, today = open_store(practice_store), date.today()
    try:
        templates = library.templates(con).set_index("template_id")
        items = [planner.PlanItem.from_template(templates.loc[t], start=today, due=today + timedelta(days=7))
                 for t in ("L011", "L013")]
        assert planner.save_plan(con, scope=Scope.practice(), client_id="C1", items=items, today=today) == [
            plan_id(1), plan_id(2)]
    finally:
        con.close()
    return practice_store


def test_rescheduling_and_cancelling_change_the_store(planned_store: Path) -> None:
    at = no_exception(AppTest.from_file(str(DASHBOARD), default_timeout=30).run())
    on_planner(at)
    current = table(at, "assignment_id", "expected_count")
    assert list(current["assignment_id"])[-2:] == [plan_id(1), plan_id(2)]  # soonest due first
    later = date.today() + timedelta(days=14)
    at.selectbox(key="planner_change_pick_C1").set_value(plan_id(1))
    at.date_input(key="planner_change_due").set_value(later)
    no_exception(at.button(key="planner_move").click().run())
    assert stored(planned_store, "select due_on, expected_count, status from assignments where assignment_id = ?",
                  [plan_id(1)]) == [(later, 1, "active")]
    # By title and due date (escaped for Markdown: a title could hold "**" or a link; it reads as typed).
    week = date.today() + timedelta(days=7)
    assert [s.value for s in at.success] == [
        formats.inert_markdown(f"“Problem-solving worksheet” due {week.day} {week:%b %Y}") + f" is now due on "
        f"{later.day} {later:%b %Y}."]

    at.selectbox(key="planner_change_pick_C1").set_value(plan_id(2))
    no_exception(at.button(key="planner_cancel").click().run())  # not ticked: nothing happens
    assert [e.value for e in at.error] == ["Nothing was changed: tick “Yes, cancel this homework” to cancel it."]
    assert stored(planned_store, "select status from assignments where assignment_id = ?", [plan_id(2)]) == [("active",)]

    at.selectbox(key="planner_change_pick_C1").set_value(plan_id(2))
    at.checkbox(key="planner_cancel_sure").check()
    no_exception(at.button(key="planner_cancel").click().run())
    assert stored(planned_store, "select status from assignments where assignment_id = ?",
                  [plan_id(2)]) == [("cancelled",)]
    assert [s.value for s in at.success] == [
        formats.inert_markdown(f"“Breathing exercise” due {week.day} {week:%b %Y}") + " is cancelled: it is no longer "
        "due and counts in no rate."]
    assert plan_id(2) not in set(table(at, "assignment_id", "expected_count")["assignment_id"])


def test_moving_a_due_date_before_the_start_is_refused(planned_store: Path) -> None:
    at = no_exception(AppTest.from_file(str(DASHBOARD), default_timeout=30).run())
    on_planner(at)
    at.selectbox(key="planner_change_pick_C1").set_value(plan_id(1))
    at.date_input(key="planner_change_due").set_value(date.today() - timedelta(days=1))
    no_exception(at.button(key="planner_move").click().run())
    assert [e.value for e in at.error] == [
        f"Nothing was changed: the due date cannot be before the day it was set \\({date.today():%d %b %Y}\\)"]
    assert stored(planned_store, "select due_on from assignments where assignment_id = ?",
                  [plan_id(1)]) == [(date.today() + timedelta(days=7),)]


def test_a_therapist_view_cannot_plan_for_another_therapists_client(app: AppTest, practice_store: Path) -> None:
    on_planner(app, "C3")  # chosen in the practice view
    no_exception(app.selectbox(key="view_as").set_value("T1").run())
    picker = app.selectbox(key="client_picker")
    assert picker.options == ["Client One · Ada Byron", "Client Two · Ada Byron"]
    assert picker.value == "C1"  # Client Three is Robin's: not offered, and the page plans for Ada's first client
    assert "Client Three" not in texts(app)
    no_exception(app.button(key="planner_add_L013").click().run())
    no_exception(app.button(key="planner_save").click().run())
    assert [row[1] for row in stored(practice_store, PLANNED)] == ["C1"]

    no_exception(app.selectbox(key="view_as").set_value("T2").run())  # Robin's first client is discharged
    assert app.selectbox(key="client_picker").value == "C4"
    assert [w.value for w in app.warning][0].startswith("This client is discharged, so no homework can be planned")
    assert app.button(key="planner_save").disabled
    assert all(b.disabled for b in app.button if b.key.startswith("planner_add_"))


def test_a_user_template_is_stored_and_the_bundled_library_stays_as_shipped(app: AppTest, practice_store: Path) -> None:
    shipped = library.LIBRARY_FILE.read_bytes()
    on_planner(app)
    assert app.selectbox(key="planner_template_pick").value == ""  # a new template
    app.selectbox(key="planner_template_type_new").set_value("narrative")
    app.text_input(key="planner_template_title_new").input("Letter to **future** me")
    app.text_area(key="planner_template_instructions_new").input("Write to yourself a year from now.")
    app.number_input(key="planner_template_minutes_new").set_value(25)
    app.number_input(key="planner_template_times_new").set_value(2)
    app.text_input(key="planner_template_concerns_new").input("worry; low mood")
    no_exception(app.button(key="planner_template_save_new").click().run())

    assert [s.value for s in app.success] == [
        "Saved the template “Letter to \\*\\*future\\*\\* me”. It is in the library for every therapist and in the "
        "suggestions from now on."]
    assert app.selectbox(key="planner_template_pick").value == "U0001"
    con = open_store(practice_store)
    try:
        saved = library.templates(con).set_index("template_id").loc["U0001"]
    finally:
        con.close()
    assert (saved["source"], saved["assignment_type"], saved["title"], saved["default_minutes"],
            saved["times_per_week"], saved["suits_concerns"]) == (
        "user", "narrative", "Letter to **future** me", 25, 2, "worry;low mood")
    assert "Letter to **future** me · Writing & narrative work (your practice)" in app.selectbox(
        key="planner_library_pick").options

    # Changing a bundled template keeps the bundled one and saves the practice's own copy.
    no_exception(app.selectbox(key="planner_template_pick").set_value("L001").run())
    assert app.text_input(key="planner_template_title_L001").value == "Thought record"
    app.text_input(key="planner_template_title_L001").input("Thought record, short")
    no_exception(app.button(key="planner_template_save_L001").click().run())
    con = open_store(practice_store)
    try:
        titles = library.templates(con).set_index("template_id")["title"]
    finally:
        con.close()
    assert (titles["L001"], titles["U0002"]) == ("Thought record", "Thought record, short")
    assert library.LIBRARY_FILE.read_bytes() == shipped
    assert not [body for body in markdown_bodies(app) if "future" in body]


def test_the_practice_name_is_set_on_the_data_page_and_heads_the_take_home_copies(
    app: AppTest, practice_store: Path
) -> None:
    on_page(app, "data")
    app.text_input(key="practice_name_input").input("North **side** Therapy")
    no_exception(app.button(key="practice_name_save").click().run())
    assert [s.value for s in app.success] == [
        "Saved: handouts and calendar files now say “North \\*\\*side\\*\\* Therapy”."]
    con = open_store(practice_store)
    try:
        assert settings.practice_name(con) == "North **side** Therapy"
    finally:
        con.close()
    on_planner(app)
    no_exception(app.button(key="planner_add_L013").click().run())
    no_exception(app.button(key="planner_save").click().run())
    assert ("Take-home copies of the plan saved last, for the client, headed “North \\*\\*side\\*\\* Therapy” (the "
            "practice name is set on the Data page):") in [c.value for c in app.caption]


def test_a_client_doing_little_is_offered_suggestions_at_their_pace(app: AppTest) -> None:
    # Client Two: first homework set d-45; in the last 4 weeks one completed report (S4, d-4, on homework cancelled
    # since: still work she did) -> 1 in 4 weeks = 0.25 a week ("0.2"); 1.5 × 0.25 < 1, so a suggestion is offered
    # once a week at most, and templates written for once a week earn the whole pace weight (a daily one 1/7 of it):
    # every one of the eight shown is offered once a week; one written for twice a week says so.
    on_planner(app, "C2")
    cards = [c.value for c in app.caption if "min each" in c.value]
    assert len(cards) == 8 and all(" · 1 a week" in card for card in cards)
    assert len([card for card in cards if "1 a week (written as 2)" in card]) == 1
    reasons = [t for t in texts(app) if "they did 0.2 a week over the last 4 weeks" in t]
    assert len(reasons) == 8 and len(set(reasons)) == 8  # each card's reason is its own
    assert len([r for r in reasons if "1 a week instead of 2: they did 0.2 a week" in r]) == 1
    notes = [c.value for c in app.caption if c.value.startswith("Adding it at")]
    plain = "Adding it at 1 a week takes them from 0.2 to 1.2 tasks a week"
    assert notes == [formats.inert_markdown(plain + ".")] * 7 + [
        formats.inert_markdown(plain + "; at its usual 2 a week it would be 2.2.")]
