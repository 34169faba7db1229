"""The Client and Caseload pages as a user sees them, run headless with AppTest.

The store is conftest's fixture practice with a second batch imported on top (ids unchanged, so the
adherence figures of tests/pages/test_pages.py still hold), adding what these pages show:
  C1 Client One: concern "low mood", preferences "writing; visual", goals with Markdown and HTML in them;
                 moods S1 4→6 (+2), S2 3→4 (+1), S3 5→5 (0), S8 6→8 (+2); feedback on S2 (given d-5);
                 GAD-7 12 (d-30) → 7 (d-2), beside the fixture's PHQ-9 14 (d-30) → 9 (d-2).
  C3: label "Client **Three**" (Markdown, to be shown as typed); feedback on S5 (given d-8).

Expected figures, worked out by hand (d = days from today; see conftest.fixture_files for the rows):

Client One (C1, Ada Byron), last 28 days (d-27 .. d), whole practice
  due A1 (expected 2, credit 1, on time 1) and A2 (3, credit 0.5 + 1 = 1.5, on time 0.5: S3 was late)
    completion 2.5 / 5 = 50%; on time 1.5 / 5 = 30%; previous 28 days: nothing due for C1 -> no change shown
  feedback given: completed/partial submissions made in the period to active homework: S1, S2, S3, S8
    (A6 is active though not due yet); S2 has feedback -> 1 / 4 = 25%; previous period: none -> no change
  last submission: S8 on d-1 -> "yesterday"
  streak: A1's week 1/2 and A2's week 1.5/3 are both under 80% -> 0 weeks
  mood lift: +2, +1, 0, +2 -> 5 / 4 = 1.25 -> "+1.3 (n = 4)" (halves round up); previous period none
  measures: PHQ-9 14 → 9 (−5): under 6, no reliable change; 14 ≥ 10 and 9 < 10, recovered.
            GAD-7 12 → 7 (−5): 4 or more, reliable improvement; 12 ≥ 8 and 7 < 8, recovered.

Client One, last 7 days (d-6 .. d); previous 7 days d-13 .. d-7, as of d-7
  due A2: 1.5 / 3 = 50%; previous A1 as of d-7: 1 / 2 = 50%                -> "±0 pp"
  on time A2 0.5 / 3 = 16.7% -> "17%"; previous A1 1 / 2 = 50%            -> 16.7 - 50 = "-33 pp"
  feedback given S2 (yes), S3, S8 -> 1 / 3 = 33%; previous S1 (no) -> 0%   -> "+33 pp"
  mood lift S2 +1, S3 0, S8 +2 -> "+1.0 (n = 3)"; previous S1 +2 -> "-1.0"

Client **Three** (C3, Robin **Bold** Lee), last 28 days
  due A4 (2, credit 2, on time 2) and A5 (1, nothing) -> 2 / 3 = 67% and 67%; previous A8 1 / 1 = 100% -> "-33 pp"
  feedback given S5 (yes), S6, S7 -> 33%; previous S10 (no) -> 0% -> "+33 pp"
  last submission S7 on d-2 -> "2 days ago"; streak: A8's week met, A5's week missed, A4's week met -> "1 week"
  no moods -> mood lift "—"

Caseload, whole practice, last 28 days: active 3; due 4 (+2); completion 56% (+6 pp); on time 44% (-6 pp)
  (as in tests/pages/test_pages.py); nothing due: C2 (A3 cancelled) and C4 -> 2.
  Needs attention (as of today; a completed or partial submission from the last 28 days, made more than 7
  days ago, without feedback): C1 (S1, d-11) and C3 (S6, d-8; S5 has feedback) -> 2. Both have one reason;
  then the lower completion over the last 28 days ranks first: C1 50% before C3 67%.
Caseload, therapist Ada Byron: due A1, A2 -> 2 (+1); completion 50% (+50 pp); on time 30% (+30 pp); active 2;
  needs attention C1 only; nothing due C2 -> 1.
Caseload, journaling only: A1 (1 of 2, on time) -> due 1 (±0), 50% (+50 pp), 50% (+50 pp);
  previous A7 (skipped) -> 0%.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import built_once
from streamlit.testing.v1 import AppTest

from analytics.ingest.importer import import_batch
from analytics.metrics import clients
from analytics.present import formats
from analytics.store.database import open_store
from analytics.store.period import Period
from analytics.store.scope import Scope
from tests.pages.test_pages import DASHBOARD, ROBIN, markdown_bodies, metrics, no_exception, table, texts

THREE = "Client **Three**"
GOALS = "Walk *every* day <b>before</b> work"


def _day(offset: int) -> str:
    return (date.today() + timedelta(days=offset)).isoformat()


def _at_noon(offset: int) -> str:
    return f"{_day(offset)}T12:00:00Z"


def client_detail_files() -> list[tuple[str, bytes]]:
    """The second batch (see the module docstring): profile fields, moods, feedback and GAD-7 scores."""
    clients_csv = (
        "client_id,therapist_id,label,primary_concern,goals,preferences\n"
        f'C1,T1,Client One,low mood,"{GOALS}",writing; visual\n'
        f"C3,T2,{THREE},,,\n"
    )
    submissions_csv = (
        "submission_id,assignment_id,submitted_at,completion,mood_before,mood_after,client_note,"
        "therapist_feedback,feedback_at\n"
        f"S1,A1,{_at_noon(-11)},completed,4,6,Felt # better,,\n"
        f"S2,A2,{_at_noon(-6)},partial,3,4,,Good start on the walks.,{_at_noon(-5)}\n"
        f"S3,A2,{_at_noon(-3)},completed,5,5,,,\n"
        f"S8,A6,{_at_noon(-1)},completed,6,8,,,\n"
        f"S5,A4,{_at_noon(-9)},completed,,,,Lovely colours.,{_at_noon(-8)}\n"
    )
    measures_csv = f"client_id,measure,score,administered_on\nC1,GAD-7,12,{_day(-30)}\nC1,GAD-7,7,{_day(-2)}\n"
    return [
        ("clients.csv", clients_csv.encode()),
        ("submissions.csv", submissions_csv.encode()),
        ("measures.csv", measures_csv.encode()),
    ]


def _import_client_details(store: Path) -> None:
    con = open_store(store)
    try:
        report = import_batch(con, client_detail_files(), scope=Scope.practice(), imported_by="test fixture",
                              existing="update")  # the files change some stored rows on purpose
        assert report.accepted, report.to_text()
    finally:
        con.close()


@pytest.fixture
def detailed_store(store_path: Path) -> Path:
    """The fixture practice with client_detail_files() imported over it (built once per process, then copied)."""
    return built_once("client details", store_path, _import_client_details)


@pytest.fixture
def app(detailed_store: Path) -> AppTest:
    return no_exception(AppTest.from_file(str(DASHBOARD), default_timeout=30).run())


def on_page(at: AppTest, page: str) -> AppTest:
    return no_exception(at.switch_page(f"pages/{page}.py").run())


def on_client(at: AppTest, client_id: str) -> AppTest:
    on_page(at, "client")
    return no_exception(at.selectbox(key="client_picker").set_value(client_id).run())


def plotly_specs(at: AppTest) -> list[str]:
    return [chart.proto.spec for chart in at.get("plotly_chart")]


def stored_feedback(store: Path, submission_id: str) -> str | None:
    """The feedback in the store, read through the analytics layer on a connection of our own."""
    con = open_store(store)
    try:
        listed = clients.submission_list(con, scope=Scope.practice(), client_id="C1",
                                         period=Period.last_days(28, today=date.today()), today=date.today())
    finally:
        con.close()
    value = listed.set_index("submission_id").loc[submission_id, "therapist_feedback"]
    return value if isinstance(value, str) else None


# ---------------------------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------------------------

CLIENT_ONE_28 = {
    "Completion rate": ("50%", ""),
    "On-time rate": ("30%", ""),
    "Feedback given": ("25%", ""),
    "Last submission": ("yesterday", ""),
    "Streak": ("0 weeks", ""),
    "Mood lift": ("+1.3 (n = 4)", ""),
}


def test_the_client_page_shows_who_the_client_is_and_their_headline(app: AppTest) -> None:
    on_client(app, "C1")
    shown = texts(app)
    intake = date.today() - timedelta(days=90)
    for value in ("Client One", "Ada Byron", "active", f"{intake.day} {intake:%b %Y}", "low mood",
                  "writing, visual", GOALS):
        assert value in shown
    assert metrics(app) == CLIENT_ONE_28
    assert (
        "PHQ-9: 14 → 9 (−5): no reliable change (a change of 6 or more is needed), "
        "recovered (from 10 or above to below 10)"
    ) in shown
    assert "GAD-7: 12 → 7 (−5): reliable improvement (a fall of 4 or more), recovered (from 8 or above to below 8)" in shown
    assert len(app.get("plotly_chart")) == 3  # weekly completion and mood, mood before/after, questionnaires

    by_type = table(app, "type", "lift_n").set_index("type")
    assert by_type.loc["Journaling & self-reflection", ["due", "completion", "lift_n"]].tolist() == [1, 50.0, 1]
    assert by_type.loc["Behavioural & habit-forming", ["due", "completion", "on_time", "lift_n"]].tolist() == [
        1, 50.0, pytest.approx(100 / 6), 2,
    ]
    submissions = table(app, "submission_id", "client_note")
    assert list(submissions["submission_id"]) == ["S8", "S3", "S2", "S1"]  # newest first
    assert submissions.set_index("submission_id").loc["S2", "therapist_feedback"] == "Good start on the walks."


def test_choosing_another_client_changes_the_figures(app: AppTest) -> None:
    on_client(app, "C1")
    no_exception(app.selectbox(key="client_picker").set_value("C3").run())
    assert metrics(app) == {
        "Completion rate": ("67%", "-33 pp"),
        "On-time rate": ("67%", "-33 pp"),
        "Feedback given": ("33%", "+33 pp"),
        "Last submission": ("2 days ago", ""),
        "Streak": ("1 week", ""),
        "Mood lift": ("—", ""),
    }
    assert texts(app)[:2] == [THREE, ROBIN]
    assert "No submission in this period has both a mood before and a mood after, so there is no mood lift to show." in [
        i.value for i in app.info
    ]


def test_changing_the_period_changes_the_client_figures(app: AppTest) -> None:
    on_client(app, "C1")
    no_exception(app.selectbox(key="period_preset").set_value("Last 7 days").run())
    assert metrics(app) == {
        "Completion rate": ("50%", "±0 pp"),
        "On-time rate": ("17%", "-33 pp"),
        "Feedback given": ("33%", "+33 pp"),
        "Last submission": ("yesterday", ""),
        "Streak": ("0 weeks", ""),
        "Mood lift": ("+1.0 (n = 3)", "-1.0"),
    }


def test_the_chosen_client_is_kept_across_pages(app: AppTest) -> None:
    on_client(app, "C3")
    on_page(app, "overview")
    on_page(app, "client")
    assert app.selectbox(key="client_picker").value == "C3"
    assert texts(app)[0] == THREE


def choose_submission(at: AppTest, client_id: str, submission_id: str) -> AppTest:
    """Choose the submission's row in the Client page's list, as a click on it does."""
    rows = list(table(at, "submission_id", "client_note")["submission_id"])
    at.session_state[f"client_submissions_{client_id}"] = {
        "selection": {"rows": [rows.index(submission_id)], "columns": [], "cells": []}}
    return no_exception(at.run())


def test_feedback_is_given_beside_the_chosen_submission_and_shows_at_once(app: AppTest, detailed_store: Path) -> None:
    on_client(app, "C1")
    listed = table(app, "submission_id", "client_note").set_index("submission_id")
    # Completed or partial work to active homework without feedback is marked: S8, S3, S1 (S2 has feedback).
    assert listed["review"].to_dict() == {"S8": "● to give", "S3": "● to give", "S2": "given", "S1": "● to give"}
    # Nothing chosen yet: the box is for the newest submission waiting for feedback (S8, yesterday).
    assert app.text_area(key="feedback_text_S8").label == "Your feedback"
    assert texts(app)[-1].startswith(f"{(date.today() - timedelta(days=1)).day} ")

    choose_submission(app, "C1", "S1")
    assert "No feedback on this submission yet." in [c.value for c in app.caption]
    assert "Felt # better" in texts(app)  # the client's note, as typed, beside the list
    feedback = "Well done **you** <b>keep going</b>"
    app.text_area(key="feedback_text_S1").input(feedback)
    no_exception(app.button(key="feedback_save").click().run())

    assert stored_feedback(detailed_store, "S1") == feedback
    assert [s.value for s in app.success] == ["Feedback saved. It shows in the list and counts on every page."]
    listed = table(app, "submission_id", "client_note").set_index("submission_id")
    assert listed.loc["S1", "therapist_feedback"] == feedback and listed.loc["S1", "review"] == "given"
    assert app.text_area(key="feedback_text_S1").value == feedback  # still the same submission, as saved
    assert metrics(app)["Feedback given"] == ("50%", "")  # S1 and S2 of S1, S2, S3, S8
    assert not [body for body in markdown_bodies(app) if "keep going" in body]

    on_page(app, "caseload")  # S1 no longer waits, so C1 leaves the needs-attention list
    assert list(table(app, "rank", "reasons")["label"]) == [THREE]


def test_blank_feedback_is_refused_with_the_reason_and_the_text_kept(app: AppTest, detailed_store: Path) -> None:
    on_client(app, "C1")
    choose_submission(app, "C1", "S1")
    app.text_area(key="feedback_text_S1").input("   ")
    no_exception(app.button(key="feedback_save").click().run())
    assert [e.value for e in app.error] == ["Nothing was saved. The feedback box is empty: write some feedback first."]
    assert not app.success
    assert stored_feedback(detailed_store, "S1") is None


def test_feedback_on_work_stamped_later_than_now_says_so(app: AppTest, detailed_store: Path) -> None:
    # A submission stamped at the end of today (UTC, the store's time zone): feedback now would come before it.
    con = open_store(detailed_store)
    try:
        con.execute("insert into submissions (submission_id, assignment_id, submitted_at, completion) "
                    "values ('S11', 'A6', cast(? as timestamptz), 'completed')", [f"{date.today()} 23:59:59+00"])
    finally:
        con.close()
    on_client(app, "C1")
    assert app.text_area(key="feedback_text_S11")  # the newest waiting for feedback
    app.text_area(key="feedback_text_S11").input("Great")
    no_exception(app.button(key="feedback_save").click().run())
    assert [e.value for e in app.error] == ["Nothing was saved. Feedback cannot be dated before the submission was made: "
                                            "check this machine's clock."]
    assert app.text_area(key="feedback_text_S11").value == "Great"


def test_the_client_page_explains_why_the_client_needs_attention(app: AppTest) -> None:
    on_client(app, "C1")  # S1, completed d-11 without feedback: admin
    assert [i.value for i in app.info][0] == "**Admin** · " + formats.inert_markdown(
        "1 submission is waiting for feedback, the oldest for 11 days")
    assert not app.error and not app.warning  # no clinical or engagement reason for C1


def test_a_link_opens_the_client_and_the_url_follows_the_picker(app: AppTest) -> None:
    app.query_params["client"] = "C3"
    on_page(app, "client")
    assert app.selectbox(key="client_picker").value == "C3"
    assert texts(app)[:2] == [THREE, ROBIN]
    no_exception(app.selectbox(key="client_picker").set_value("C1").run())
    assert app.query_params["client"] == "C1"
    assert texts(app)[0] == "Client One"


@pytest.mark.parametrize(("view_as", "client_id"), [("", "C99"), ("T1", "C3")])
def test_a_link_to_a_client_outside_the_scope_reads_as_not_found(app: AppTest, view_as: str, client_id: str) -> None:
    no_exception(app.selectbox(key="view_as").set_value(view_as).run())
    app.query_params["client"] = client_id
    on_page(app, "client")
    assert [e.value for e in app.error] == [
        "Client not found: the link names no client in your caseload. Choose a client in the sidebar."]
    assert not app.metric and THREE not in texts(app)


def homework_tables(at: AppTest) -> list:
    return [element.value for element in at.dataframe if "expected_count" in element.value.columns]


def test_current_homework_is_not_yet_due_and_overdue_work_is_its_own_list(app: AppTest) -> None:
    on_client(app, "C1")
    current, overdue = homework_tables(app)
    assert list(current["title"]) == ["Breathing space"]  # A6, due in 5 days
    assert list(overdue["title"]) == ["Morning walk", "Thought record"]  # A2 d-5 (1.5 of 3), A1 d-10 (1 of 2)
    assert [s.value for s in app.subheader].count("Overdue") == 1


def test_the_timeline_shows_every_week_with_empty_and_silent_ones(app: AppTest) -> None:
    on_client(app, "C1")
    spec = next(s for s in plotly_specs(app) if "Week by week: homework, mood and questionnaires" in s)
    # The 28 days hold at least one whole Monday-Sunday week before d-11 (C1's first submission in the period):
    # nothing is due in it and nothing was submitted.
    assert '"nothing due"' in spec and '"no submissions"' in spec
    assert "Questionnaire scores taken in the period" in spec and '"PHQ-9 9"' in spec  # 14 (d-30) is before the period


def test_a_therapist_view_offers_only_their_own_clients(app: AppTest) -> None:
    on_client(app, "C3")  # chosen in the practice view
    no_exception(app.selectbox(key="view_as").set_value("T1").run())
    picker = app.selectbox(key="client_picker")
    assert picker.options == ["Client One · Ada Byron", "Client Two · Ada Byron"]
    assert picker.value == "C1"  # C3 is not in Ada Byron's caseload: the first of hers instead
    assert THREE not in texts(app)
    assert texts(app)[:2] == ["Client One", "Ada Byron"]


def test_user_text_on_the_client_page_is_shown_as_typed(app: AppTest) -> None:
    on_client(app, "C3")
    assert THREE in texts(app) and ROBIN in texts(app)
    on_client(app, "C1")
    assert GOALS in texts(app)
    bodies = markdown_bodies(app) + [m.value for m in app.metric] + [m.label for m in app.metric]
    assert not [body for body in bodies if "Three" in body or "Robin" in body or "*every*" in body]


# ---------------------------------------------------------------------------------------------
# Caseload
# ---------------------------------------------------------------------------------------------

PRACTICE_28 = {
    "Active clients": ("3", ""),
    "Due": ("4", "+2"),
    "Completion": ("56%", "+6 pp"),
    "On time": ("44%", "-6 pp"),
    "Need attention": ("2", ""),
    "Nothing due": ("2", ""),
}


def test_the_caseload_page_shows_the_headline_and_who_needs_attention(app: AppTest) -> None:
    on_page(app, "caseload")
    assert metrics(app) == PRACTICE_28
    flagged = table(app, "rank", "reasons")
    assert flagged[["rank", "label", "therapist_name", "reasons"]].to_dict("records") == [
        {"rank": 1, "label": "Client One", "therapist_name": "Ada Byron",
         "reasons": "1 submission is waiting for feedback, the oldest for 11 days"},
        {"rank": 2, "label": THREE, "therapist_name": ROBIN,
         "reasons": "1 submission is waiting for feedback, the oldest for 8 days"},
    ]
    rules = "\n".join(m.value for m in app.markdown)
    assert "No submission in the last 14 days, whatever was due" in rules
    assert "Completion under 50% in the last 28 days (with at least 2 assignments due)" in rules
    assert len(app.get("plotly_chart")) == 3  # by therapist, distribution, heatmap

    every = table(app, "label", "streak_weeks").set_index("label")
    assert every.loc["Client One", ["due", "completion_rate", "on_time_rate"]].tolist() == [2, 50.0, 30.0]
    assert every.loc[THREE, "completion_change"] == pytest.approx(-100 / 3)


def test_choosing_a_client_in_the_needs_attention_list_opens_them(app: AppTest) -> None:
    on_page(app, "caseload")
    app.session_state["attention_list"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    no_exception(app.run())
    assert [t.value for t in app.title] == ["Client"]
    assert texts(app)[:2] == [THREE, ROBIN]
    assert app.selectbox(key="client_picker").value == "C3"


def test_the_therapist_filter_narrows_every_figure(app: AppTest) -> None:
    on_page(app, "caseload")
    no_exception(app.selectbox(key="caseload_therapist").set_value("T1").run())
    assert metrics(app) == {
        "Active clients": ("2", ""),
        "Due": ("2", "+1"),
        "Completion": ("50%", "+50 pp"),
        "On time": ("30%", "+30 pp"),
        "Need attention": ("1", ""),
        "Nothing due": ("1", ""),
    }
    assert list(table(app, "rank", "reasons")["label"]) == ["Client One"]
    assert list(table(app, "label", "streak_weeks")["label"]) == ["Client One", "Client Two"]
    assert any('"Homework completed, by client"' in spec for spec in plotly_specs(app))


def test_the_type_filter_counts_only_that_type(app: AppTest) -> None:
    on_page(app, "caseload")
    no_exception(app.selectbox(key="caseload_type").set_value("journaling").run())
    assert {label: metrics(app)[label] for label in ("Due", "Completion", "On time")} == {
        "Due": ("1", "±0"),
        "Completion": ("50%", "+50 pp"),
        "On time": ("50%", "+50 pp"),
    }


def test_a_therapist_view_sees_only_their_own_caseload(app: AppTest) -> None:
    no_exception(app.selectbox(key="view_as").set_value("T2").run())
    on_page(app, "caseload")
    therapist = app.selectbox(key="caseload_therapist")
    assert therapist.options == [ROBIN] and therapist.disabled
    assert list(table(app, "rank", "reasons")["label"]) == [THREE]
    assert set(table(app, "label", "streak_weeks")["label"]) == {THREE, "Client Four"}


def test_user_text_on_the_caseload_page_is_shown_as_typed(app: AppTest) -> None:
    no_exception(app.selectbox(key="view_as").set_value("T2").run())
    on_page(app, "caseload")
    assert texts(app)[0].startswith(f"{ROBIN} · all types · ")
    bodies = markdown_bodies(app) + [m.value for m in app.metric] + [m.label for m in app.metric]
    assert not [body for body in bodies if "Three" in body or "Robin" in body]
    # In the charts (by client for one therapist) the label is escaped for Plotly's HTML, not its Markdown.
    assert any("Client **Three**" in spec for spec in plotly_specs(app))


def test_nothing_due_says_so_instead_of_empty_charts(app: AppTest) -> None:
    app.selectbox(key="view_as").set_value("T2")
    no_exception(app.selectbox(key="period_preset").set_value("Last 7 days").run())
    on_page(app, "caseload")
    assert metrics(app)["Completion"] == ("—", "")
    assert [i.value for i in app.info] == [
        "No client had anything due in this period, so there are no completion rates to compare.",
        "Nothing was due in this period, so there is no week-by-week view. Choose a longer period.",
    ]
    assert len(app.get("plotly_chart")) == 1  # by client: both say "nothing due" on their label


def test_the_caseload_lists_show_one_kind_and_every_client_by_need(app: AppTest, detailed_store: Path) -> None:
    # C3's PHQ-9 goes 8 -> 16: +8 on the lowest (and only) earlier score, 6 or more: clinical risk, so C3 ranks
    # above C1, whose only reason (feedback waiting) is admin.
    con = open_store(detailed_store)
    try:
        con.execute("insert into measures values ('C3', 'PHQ-9', 8, ?), ('C3', 'PHQ-9', 16, ?)",
                    [date.today() - timedelta(days=40), date.today() - timedelta(days=3)])
    finally:
        con.close()
    on_page(app, "caseload")
    flagged = table(app, "rank", "reasons")
    assert list(flagged["label"]) == [THREE, "Client One"]
    assert list(flagged["kind"]) == ["Clinical risk", "Admin"]
    assert list(flagged["link"]) == ["client?client=C3", "client?client=C1"]
    assert flagged["reasons"][0].startswith("PHQ-9 16 on ")

    no_exception(app.segmented_control(key="caseload_attention_kind").set_value("clinical").run())
    assert list(table(app, "rank", "reasons")["label"]) == [THREE]
    no_exception(app.segmented_control(key="caseload_attention_kind").set_value("engagement").run())
    assert table(app, "rank", "reasons") is None
    assert "No client has a reason of this kind today (engagement)." in [s.value for s in app.success]

    # Every client, by need: the needs-attention order, then the rest by completion (both have nothing due), then label.
    every = table(app, "label", "streak_weeks")
    assert list(every["label"]) == [THREE, "Client One", "Client Four", "Client Two"]
    assert list(every["need_kind"]) == ["Clinical risk", "Admin", "", ""]
    assert list(every["link"]) == ["client?client=C3", "client?client=C1", "client?client=C4", "client?client=C2"]
