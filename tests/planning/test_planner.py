"""The planner: suggestions, a plan's load, saving a plan in one transaction, rescheduling and cancelling.

Fixture, today Sunday 2026-03-15. Submissions at 10:00 UTC.

  T1 (Dr One): R1 Robin  - worry, goals "Spend less time worrying at night", prefers quiet; no homework yet
               H1 Hana   - journaling J-H1 due 03-08 expected 4, 4 done (no moods);
                           mindfulness M-H1 due 03-08 expected 4, 2 done with lifts +2, +2
               R3 Ash    - discharged
  T4 (Dr Four): P1 Pat   - low mood, goals "Enjoy weekends again", prefers visual; journaling P-1 set 02-01, due 03-14,
                           expected 10: completed 02-20, partial 03-01, completed 03-10 (2.5 in the last 4 weeks:
                           0.625 a week, "0.6")
  T2 (Dr Two): K1 Kai    - first homework set 03-09: K-1 journaling due 03-14 expected 2, 2 done, 15 minutes each
               R4 Lee    - one old assignment (set 01-05, due 01-12), nothing since
  T3 (Dr Three): R2 Sam  - W1 journaling set 01-05, due 01-12, expected 1, done 01-10;
                           W2 behavioural set 02-16, due 03-14, expected 6, est 20 minutes:
                           completed 02-20, 02-27, 03-05, 03-12 (10 minutes each), partial 03-01 and 03-08
                           (no minutes): credit 5 of 6. W1 also got a late report on 02-15 (30 minutes;
                           before the 4-week window; W1's credit stays capped at 1)

Robin's caseload (T1) has fewer than 5 clients per type, so every prior strength is the default (10) and
the priors are H1's figures: journaling 4/4 = 1.0, mindfulness 2/4 = 0.5, lift +2.0 (mindfulness); types
with no data take the caseload over all types: completion (4 + 2) / 8 = 0.75, lift +2.0. Robin has no
data, so her expected figures are exactly these.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from analytics.metrics import adherence
from analytics.planning import planner, suggest
from analytics.planning.planner import PlanItem
from analytics.store.database import open_store
from analytics.store.scope import Scope, ScopeError

TODAY = date(2026, 3, 15)
T1, T2, T3 = Scope.therapist("T1"), Scope.therapist("T2"), Scope.therapist("T3")


def add_assignment(con, assignment_id, client_id, kind, assigned, due, expected, minutes=None):
    con.execute("insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on, "
                "expected_count, est_minutes) values (?, ?, ?, 'Task', ?::date, ?::date, ?, ?)",
                [assignment_id, client_id, kind, assigned, due, expected, minutes])


def add_submission(con, submission_id, assignment_id, day, completion="completed", *, lift=None, minutes=None):
    con.execute("insert into submissions (submission_id, assignment_id, submitted_at, completion, mood_before, "
                "mood_after, minutes) values (?, ?, ?::timestamptz, ?, ?, ?, ?)",
                [submission_id, assignment_id, f"{day} 10:00:00+00", completion,
                 None if lift is None else 2, None if lift is None else 2 + lift, minutes])


@pytest.fixture
def con():
    con = open_store(":memory:")
    con.execute("insert into therapists values ('T1', 'Dr One', null), ('T2', 'Dr Two', null), "
                "('T3', 'Dr Three', null)")
    con.execute(
        "insert into clients (client_id, therapist_id, label, primary_concern, goals, preferences, status) values "
        "('R1', 'T1', 'Robin', 'worry', 'Spend less time worrying at night', 'quiet', 'active'), "
        "('H1', 'T1', 'Hana', 'low mood', 'Enjoy weekends again', 'writing', 'active'), "
        "('R3', 'T1', 'Ash', 'stress', null, null, 'discharged'), "
        "('K1', 'T2', 'Kai', 'panic', 'Take the bus to work again', 'movement', 'active'), "
        "('R4', 'T2', 'Lee', 'grief', null, null, 'active'), "
        "('R2', 'T3', 'Sam', 'low mood', 'Get back to seeing friends', 'writing', 'active'), "
        "('P1', 'T4', 'Pat', 'low mood', 'Enjoy weekends again', 'visual', 'active')"
    )
    con.execute("insert into therapists values ('T4', 'Dr Four', null)")
    add_assignment(con, "P-1", "P1", "journaling", "2026-02-01", "2026-03-14", 10)
    add_submission(con, "SP1", "P-1", "2026-02-20")
    add_submission(con, "SP2", "P-1", "2026-03-01", "partial")
    add_submission(con, "SP3", "P-1", "2026-03-10")
    add_assignment(con, "J-H1", "H1", "journaling", "2026-03-01", "2026-03-08", 4)
    for i in range(4):
        add_submission(con, f"SJ{i}", "J-H1", f"2026-03-0{i + 2}")
    add_assignment(con, "M-H1", "H1", "mindfulness", "2026-03-01", "2026-03-08", 4)
    add_submission(con, "SM1", "M-H1", "2026-03-03", lift=2)
    add_submission(con, "SM2", "M-H1", "2026-03-05", lift=2)
    add_assignment(con, "K-1", "K1", "journaling", "2026-03-09", "2026-03-14", 2)
    add_submission(con, "SK1", "K-1", "2026-03-10", minutes=15)
    add_submission(con, "SK2", "K-1", "2026-03-12", minutes=15)
    add_assignment(con, "L-1", "R4", "narrative", "2026-01-05", "2026-01-12", 1)
    add_assignment(con, "W1", "R2", "journaling", "2026-01-05", "2026-01-12", 1)
    add_submission(con, "SW0", "W1", "2026-01-10")
    add_assignment(con, "W2", "R2", "behavioural", "2026-02-16", "2026-03-14", 6, minutes=20)
    for i, day in enumerate(["2026-02-20", "2026-02-27", "2026-03-05", "2026-03-12"]):
        add_submission(con, f"SW{i + 1}", "W2", day, minutes=10)
    add_submission(con, "SW5", "W2", "2026-03-01", "partial")
    add_submission(con, "SW6", "W2", "2026-03-08", "partial")
    add_submission(con, "SW7", "W1", "2026-02-15", minutes=30)
    return con


def count(con, table: str) -> int:
    return con.execute(f"select count(*) from {table}").fetchone()[0]


# ---------------------------------------------------------------------------------------------
# Suggestions
# ---------------------------------------------------------------------------------------------


def test_goal_words_match_whole_words_phrases_and_word_starts():
    assert suggest.goal_matches(["worry", "night", "sleep", "lying awake"], "Spend less time worrying at night") == [
        "worry", "night"]
    # a phrase needs its words in order; a keyword inside a matched phrase is not counted again
    assert suggest.goal_matches(["seeing friends", "friends", "get up"], "Get back to seeing friends") == [
        "seeing friends"]
    assert suggest.goal_matches(["dad"], "Talk about my daddy") == []  # short words must be equal
    assert suggest.goal_matches(["bus"], None) == []


def test_suggestions_are_ranked_by_the_documented_score(con):
    # Scores (completion 0.25, benefit 0.20 × lift / 2 kept within ±1, pace 0.15, concern 0.10, goals
    # 0.15 × min(n, 2) / 2, preferences 0.15 for one or more). Robin has no homework yet, so every template keeps
    # its own times a week and earns the whole pace weight; every lift prior is +2.0, so benefit is 0.20:
    #   L018 Leaves on a stream (mindfulness 0.5): 0.125 + 0.20 + 0.15 + 0.10 worry + 0.15 ('worry', 'night')
    #                                              + 0.15 quiet                                         = 0.875
    #   L031 Read a leaflet (other 0.75):  0.1875 + 0.20 + 0.15 + 0.10 + 0.075 ('worry') + 0.15 quiet   = 0.8625
    #   L003 Worry diary (journaling 1.0): 0.25 + 0.20 + 0.15 + 0.10 + 0.15 ('worry', 'night')          = 0.85
    #   L013 Breathing exercise (mindfulness): 0.125 + 0.20 + 0.15 + 0.10 + 0.075 ('night') + 0.15      = 0.80
    frame = suggest.suggestions(con, scope=T1, client_id="R1", today=TODAY, limit=4)
    assert list(frame.columns) == suggest.SUGGESTION_COLUMNS
    assert list(frame["rank"]) == [1, 2, 3, 4]
    assert list(frame["template_id"]) == ["L018", "L031", "L003", "L013"]
    assert list(frame["score"]) == pytest.approx([0.875, 0.8625, 0.85, 0.80])
    top = frame.iloc[0]
    assert (top["expected_completion"], top["expected_mood_lift"]) == (0.5, 2.0)
    assert (top["concern_match"], top["goal_matches"], top["preference_matches"]) == (True, "worry;night", "quiet")
    assert top["reason"] == ("Suits worry, matches the goal ('worry', 'night'), fits 'quiet'; 3 a week as written: no "
                             "homework yet to pace it by; no mindfulness homework for Robin yet; the caseload completes "
                             "50%; mood lift +2.0 across the caseload")
    assert top["load_note"] is None and list(frame["times_per_week"]) == [3, 1, 7, 7]  # their own, without history
    assert len(set(frame["reason"])) == 4


def test_a_client_doing_little_is_offered_what_fits_their_pace(con):
    # Pat did 2.5 a week... in 4 weeks: 0.625 a week ("0.6"); 1.5 × 0.625 = 0.94, so every template is offered once a
    # week. Pat's caseload (T4) is Pat alone: journaling 2.5 / 10 = 0.25, the prior of every type; no lifts (benefit 0).
    # Completion: 0.25 × 0.25 = 0.0625 for every template; pace 0.15 × 1 / (own times a week):
    #   L019 Collage of goals (creative, 1 a week): 0.0625 + 0.15 + 0.10 low mood + 0.15 ('enjoy', 'weekends')
    #                                               + 0.15 visual                                       = 0.6125
    #   L024 Photo walk (creative, 2 a week):       0.0625 + 0.075 + 0.10 + 0.15 + 0.15 visual          = 0.5375
    #   L021 Playlist for hard days (1 a week):     0.0625 + 0.15 + 0.10 + 0.15 ('enjoy', 'weekends')   = 0.4625
    frame = suggest.suggestions(con, scope=Scope.therapist("T4"), client_id="P1", today=TODAY, limit=8)
    assert list(frame["template_id"][:3]) == ["L019", "L024", "L021"]
    assert list(frame["score"][:3]) == pytest.approx([0.6125, 0.5375, 0.4625])
    assert set(frame["times_per_week"]) == {1}  # 1-2 a week at most: here 1
    assert frame["recent_times_per_week"][0] == pytest.approx(0.625)
    photo = frame.iloc[1]
    assert "fits 'visual'" in photo["reason"]
    assert "1 a week instead of 2: they did 0.6 a week over the last 4 weeks" in photo["reason"]
    assert photo["load_note"] == ("Adding it at 1 a week takes them from 0.6 to 1.6 tasks a week; at its usual 2 a week "
                                  "it would be 2.6.")
    assert frame.iloc[0]["load_note"] == "Adding it at 1 a week takes them from 0.6 to 1.6 tasks a week."
    assert len(set(frame["reason"])) == len(frame)  # never the same sentence on two cards
    daily = suggest.suggestions(con, scope=Scope.therapist("T4"), client_id="P1", today=TODAY, limit=50)
    gratitude = daily.set_index("template_id").loc["L002"]
    assert (gratitude["times_per_week"], gratitude["template_times_per_week"]) == (1, 7)
    assert gratitude["load_note"].endswith("at its usual 7 a week it would be 7.6.")


def test_a_type_whose_mood_falls_after_it_is_never_first(con):
    # H1's mindfulness lifts become -1 and 0: mindfulness's caseload lift is -0.5, and so is every type's prior
    # (the only lifts there are). Robin's scores, benefit 0.20 × -0.25 = -0.05 everywhere:
    #   L018 Leaves on a stream: 0.125 - 0.05 + 0.15 + 0.10 + 0.15 + 0.15 = 0.625  (mindfulness: negative)
    #   L031 Read a leaflet:     0.1875 - 0.05 + 0.15 + 0.10 + 0.075 + 0.15 = 0.6125 (other: no lift of its own)
    #   L003 Worry diary:        0.25 - 0.05 + 0.15 + 0.10 + 0.15 = 0.60
    con.execute("update submissions set mood_before = 3, mood_after = 2 where submission_id = 'SM1'")
    con.execute("update submissions set mood_before = 2, mood_after = 2 where submission_id = 'SM2'")
    frame = suggest.suggestions(con, scope=T1, client_id="R1", today=TODAY, limit=3)
    assert list(frame["template_id"]) == ["L031", "L018", "L003"]
    assert list(frame["score"]) == pytest.approx([0.6125, 0.625, 0.60])
    assert list(frame["negative_lift"]) == [False, True, False]
    assert "mood tends to fall after mindfulness (\u22120.5 across the caseload)" in frame.iloc[1]["reason"]


def test_suggestions_change_when_the_clients_history_changes(con):
    before = suggest.suggestions(con, scope=T1, client_id="R1", today=TODAY, limit=50).set_index("template_id")
    # Robin is set 10 journaling tasks (03-02 to 03-09) and does none. Journaling prior (4 + 0) / (4 + 10) = 0.2857
    # (k 10); Robin's shrunk rate (0 + 10 × 0.2857) / (10 + 10) = 0.1429. She now has history: nothing done in the
    # 2 weeks since 03-02, so her pace limit is 1 a week. The Worry diary (7 a week) scores
    # 0.25 × 0.1429 + 0.20 + 0.15 / 7 + 0.10 + 0.15 = 0.5071 and drops from the top.
    add_assignment(con, "J-R1", "R1", "journaling", "2026-03-02", "2026-03-09", 10)
    after = suggest.suggestions(con, scope=T1, client_id="R1", today=TODAY, limit=50).set_index("template_id")
    assert before.loc["L003", "rank"] == 3
    assert after.loc["L003", "expected_completion"] == pytest.approx(0.142857, abs=1e-6)
    assert after.loc["L003", "score"] == pytest.approx(0.25 / 7 + 0.2 + 0.15 / 7 + 0.25, abs=1e-6)
    assert after.loc["L003", "rank"] > 3 and after.loc["L003", "times_per_week"] == 1
    assert "Robin completes 0% of journaling homework (caseload 29%)" in after.loc["L003", "reason"]
    # ... and she turns out to love creative work: 5 of 5 done (03-03 to 03-07), each lifting her mood by 4.
    add_assignment(con, "C-R1", "R1", "creative", "2026-03-02", "2026-03-09", 5)
    for i in range(5):
        add_submission(con, f"SC{i}", "C-R1", f"2026-03-0{i + 3}", lift=4)
    later = suggest.suggestions(con, scope=T1, client_id="R1", today=TODAY, limit=50).set_index("template_id")
    # creative prior = Robin's own 5/5 = 1.0 (she is the only one), lift +4; her pace is now 5 in 2 weeks, 2.5 a
    # week, limit 3: L022 Safe-place drawing (1 a week) scores 0.25 + 0.20 + 0.15 + 0.10 worry + 0.15 quiet = 0.85,
    # up from 0.1875 + 0.20 + 0.15 + 0.10 + 0.15 = 0.7875
    assert before.loc["L022", "score"] == pytest.approx(0.7875)
    assert later.loc["L022", "score"] == pytest.approx(0.85)
    assert later.loc["L022", "rank"] < before.loc["L022", "rank"]
    assert later.loc["L022", "reason"].endswith(
        "Robin completes 100% of creative homework (caseload 100%); their mood lifts +4.0 after it (5 ratings)")


def test_homework_the_client_already_has_is_not_suggested_again(con):
    # L003 (Worry diary) is third on Robin's list; once she has a Worry diary due after today it is left out,
    # and comes back when that one is past its due date.
    assert suggest.suggestions(con, scope=T1, client_id="R1", today=TODAY).loc[2, "template_id"] == "L003"
    con.execute("insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on) "
                "values ('WD1', 'R1', 'journaling', ' worry DIARY', ?, ?)", [TODAY, TODAY + timedelta(days=7)])
    listed = suggest.suggestions(con, scope=T1, client_id="R1", today=TODAY, limit=50)
    assert "L003" not in set(listed["template_id"])
    later = TODAY + timedelta(days=8)
    assert "L003" in set(suggest.suggestions(con, scope=T1, client_id="R1", today=later, limit=50)["template_id"])


def test_suggestions_include_user_templates_and_respect_the_limit(con):
    from analytics.planning.library import save_template
    save_template(con, {"assignment_type": "journaling", "title": "Night worry list", "default_minutes": 5,
                        "times_per_week": 7, "instructions": "Write tonight's worries on a list, then close the book.",
                        "suits_concerns": "worry", "suits_goals": "worry;night", "suits_preferences": "quiet"})
    frame = suggest.suggestions(con, scope=T1, client_id="R1", today=TODAY, limit=3)
    # U0001 (journaling 1.0, no history so 7 a week as written):
    # 0.25 + 0.20 + 0.15 + 0.10 + 0.15 + 0.15 = 1.0, above Leaves on a stream (0.875)
    assert list(frame["template_id"]) == ["U0001", "L018", "L031"]
    assert frame.iloc[0]["source"] == "user"
    with pytest.raises(ValueError):
        suggest.suggestions(con, scope=T1, client_id="R1", today=TODAY, limit=0)


def test_a_therapist_gets_no_suggestions_for_another_therapists_client(con):
    with pytest.raises(ScopeError):
        suggest.suggestions(con, scope=T2, client_id="R1", today=TODAY)


# ---------------------------------------------------------------------------------------------
# Plan items and load
# ---------------------------------------------------------------------------------------------


def item(kind="journaling", title="Worry diary", start=date(2026, 3, 16), due=date(2026, 3, 23), times=3, minutes=10,
         goal="Spend less time worrying at night", chosen=True, instructions="Write worries down.") -> PlanItem:
    return PlanItem(kind, title, instructions, start, due, times, minutes, goal, chosen)


@pytest.mark.parametrize(("start", "due", "times", "expected"), [
    (date(2026, 3, 16), date(2026, 3, 23), 3, 3),    # one week, 3 a week
    (date(2026, 3, 16), date(2026, 3, 30), 7, 14),   # two weeks daily
    (date(2026, 3, 20), date(2026, 3, 20), 1, 1),    # due the day it is set: once
    (date(2026, 3, 16), date(2026, 3, 26), 3, 4),    # 10 days: 3 × 10 / 7 = 4.29 -> 4
    (date(2026, 3, 16), date(2026, 3, 19), 5, 2),    # 3 days: 5 × 3 / 7 = 2.14 -> 2
    (date(2026, 3, 16), date(2026, 3, 17), 1, 1),    # 1 day: 0.14 -> 0, at least 1
])
def test_expected_count_rule(start, due, times, expected):
    assert planner.expected_count_for(start, due, times) == expected


def test_plan_load_against_the_last_four_weeks(con):
    # Sam's window 02-16 .. 03-15 (his homework started 01-05, so all 4 weeks count):
    # times = 4 completed + 2 × 0.5 partial = 5 -> 1.25 a week; minutes = 4 × 10 reported
    # + 2 × (0.5 × 20 est) = 60 -> 15 a week. (02-15's 30 minutes are outside the window.)
    items = [item(times=3, minutes=10), item("mindfulness", "Body scan", times=1, minutes=30)]
    load = planner.plan_load(con, scope=T3, client_id="R2", items=items, today=TODAY)
    # both run 03-16 .. 03-23: 3 + 1 = 4 times, 30 + 30 = 60 minutes a week
    assert (load.planned_times_per_week, load.planned_minutes_per_week) == (4, 60)
    assert (load.recent_times_per_week, load.recent_minutes_per_week, load.recent_weeks) == (1.25, 15, 4)
    assert load.warning.startswith("This plan asks for 4 times (60 minutes) a week: clearly more than the 1.2 times "
                                   "(15 minutes) a week Sam has completed over the last 4 weeks.")
    # Expected completion: Sam's journaling 1/1 (prior = his own 1.0) -> 1.0; mindfulness has no data in
    # T3's caseload -> all types (1 + 5) / (1 + 6) = 0.857143. Weighted by expected counts 3 and 1:
    # (1.0 × 3 + 0.857143 × 1) / 4 = 0.964286
    assert load.item_expected_completion == pytest.approx((1.0, 0.857143), abs=1e-6)
    assert load.expected_completion == pytest.approx(0.964286, abs=1e-6)


def test_a_plan_within_reach_has_no_warning_and_items_in_turn_do_not_add_up(con):
    small = planner.plan_load(con, scope=T3, client_id="R2", items=[item(times=1, minutes=10)], today=TODAY)
    assert small.warning is None  # 1 <= 1.5 × 1.25 and 10 <= 1.5 × 15
    in_turn = [item(times=3, due=date(2026, 3, 22)), item(times=3, start=date(2026, 3, 23), due=date(2026, 3, 29))]
    load = planner.plan_load(con, scope=T3, client_id="R2", items=in_turn, today=TODAY)
    assert (load.planned_times_per_week, load.planned_minutes_per_week) == (3, 30)
    minutes_only = planner.plan_load(con, scope=T3, client_id="R2", items=[item(times=1, minutes=40)], today=TODAY)
    assert minutes_only.warning is not None and "40 minutes" in minutes_only.warning  # 40 > 22.5


def test_plan_load_for_new_idle_and_recently_started_clients(con):
    new = planner.plan_load(con, scope=T1, client_id="R1", items=[item()], today=TODAY)
    assert (new.recent_times_per_week, new.warning) == (None, None)
    idle = planner.plan_load(con, scope=T2, client_id="R4", items=[item()], today=TODAY)
    assert idle.recent_times_per_week == 0
    assert idle.warning == ("Lee has completed no homework in the last 4 weeks, and this plan asks for 3 times "
                            "(30 minutes) a week. Consider starting with one small task.")
    # Kai's homework started 03-09: 7 days, 1 week; 2 done, 30 minutes -> 2 a week, 30 minutes a week
    started = planner.plan_load(con, scope=T2, client_id="K1", items=[item()], today=TODAY)
    assert (started.recent_weeks, started.recent_times_per_week, started.recent_minutes_per_week) == (1, 2, 30)
    assert started.warning is None  # 3 <= 1.5 × 2 and 30 <= 45


# ---------------------------------------------------------------------------------------------
# Saving a plan
# ---------------------------------------------------------------------------------------------

PLAN = [
    item(),
    item("mindfulness", "Body scan", due=date(2026, 3, 30), times=7, minutes=15, goal=None, chosen=False,
         instructions="Lie down. Move your attention slowly from toes to head."),
    item("narrative", "Letter to self", start=date(2026, 3, 20), due=date(2026, 3, 20), times=1, minutes=30,
         goal="  Be kinder to myself  ", instructions=""),
]


def test_saving_a_plan_writes_exactly_the_planned_assignments(con):
    before = count(con, "assignments")
    ids = planner.save_plan(con, scope=T1, client_id="R1", items=PLAN, today=TODAY)
    assert ids == ["P20260315-001", "P20260315-002", "P20260315-003"]
    assert count(con, "assignments") == before + 3
    rows = con.execute(
        "select assignment_id, client_id, assignment_type, title, assigned_on, due_on, expected_count, est_minutes, "
        "goal, chosen_with_client, status from assignments where client_id = 'R1' order by assignment_id").fetchall()
    assert rows == [
        # 7 days × 3 a week = 3; 14 days daily = 14; due the day it is set = 1; the goal is trimmed
        ("P20260315-001", "R1", "journaling", "Worry diary", date(2026, 3, 16), date(2026, 3, 23), 3, 10,
         "Spend less time worrying at night", True, "active"),
        ("P20260315-002", "R1", "mindfulness", "Body scan", date(2026, 3, 16), date(2026, 3, 30), 14, 15,
         None, False, "active"),
        ("P20260315-003", "R1", "narrative", "Letter to self", date(2026, 3, 20), date(2026, 3, 20), 1, 30,
         "Be kinder to myself", True, "active"),
    ]
    details = con.execute("select assignment_id, instructions, times_per_week from assignment_details "
                          "order by assignment_id").fetchall()
    assert details == [("P20260315-001", "Write worries down.", 3),
                       ("P20260315-002", "Lie down. Move your attention slowly from toes to head.", 7),
                       ("P20260315-003", None, 1)]
    # a second plan the same day numbers on
    assert planner.save_plan(con, scope=T1, client_id="R1", items=PLAN[:1], today=TODAY) == ["P20260315-004"]


def test_a_saved_plan_shows_at_once_in_the_figures(con):
    planner.save_plan(con, scope=T1, client_id="R1", items=PLAN, today=TODAY)
    # As of 03-31 all three are due: expected 3 + 14 + 1 = 18, nothing done yet.
    robin = adherence.summary(con, scope=T1, by="client", as_of=date(2026, 3, 31)).set_index("client_id").loc["R1"]
    assert (robin["expected"], robin["credit"]) == (18, 0)
    current = planner.current_assignments(con, scope=T1, client_id="R1", today=TODAY)
    assert list(current["assignment_id"]) == ["P20260315-003", "P20260315-001", "P20260315-002"]  # by due date


def test_a_plan_is_written_in_one_transaction(con, monkeypatch):
    before = (count(con, "assignments"), count(con, "assignment_details"))
    original = planner._insert_item
    calls = []

    def fail_on_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        original(*args, **kwargs)

    monkeypatch.setattr(planner, "_insert_item", fail_on_the_second)
    with pytest.raises(RuntimeError):
        planner.save_plan(con, scope=T1, client_id="R1", items=PLAN, today=TODAY)
    assert (count(con, "assignments"), count(con, "assignment_details")) == before


def test_an_invalid_plan_names_every_problem_and_writes_nothing(con):
    before = count(con, "assignments")
    bad = [item(), item(due=date(2026, 3, 10), times=0), item(kind="yoga", title="  ")]
    with pytest.raises(ValueError) as caught:
        planner.save_plan(con, scope=T1, client_id="R1", items=bad, today=TODAY)
    message = str(caught.value)
    assert "item 2 (Worry diary): the due date cannot be before the start" in message
    assert "item 2 (Worry diary): times per week must be a whole number from 1 to 7" in message
    assert "item 3" in message and "type must be one of" in message and "a title is needed" in message
    with pytest.raises(ValueError, match="at least one item"):
        planner.save_plan(con, scope=T1, client_id="R1", items=[], today=TODAY)
    with pytest.raises(ValueError, match="Ash is discharged"):
        planner.save_plan(con, scope=T1, client_id="R3", items=PLAN, today=TODAY)
    assert count(con, "assignments") == before


def test_a_therapist_cannot_plan_for_another_therapists_client(con):
    before = count(con, "assignments")
    with pytest.raises(ScopeError):
        planner.save_plan(con, scope=T2, client_id="R1", items=PLAN, today=TODAY)
    with pytest.raises(ScopeError):
        planner.plan_load(con, scope=T2, client_id="R1", items=PLAN, today=TODAY)
    assert count(con, "assignments") == before
    ids = planner.save_plan(con, scope=Scope.practice(), client_id="R1", items=PLAN, today=TODAY)  # the practice may
    with pytest.raises(ScopeError):
        planner.saved_plan(con, scope=T2, client_id="R1", assignment_ids=ids)


def test_saved_plan_reads_back_what_is_stored(con):
    ids = planner.save_plan(con, scope=T1, client_id="R1", items=PLAN, today=TODAY)
    frame = planner.saved_plan(con, scope=T1, client_id="R1", assignment_ids=[ids[1], ids[0]])
    assert list(frame["assignment_id"]) == ids[:2]  # by start, due, id
    first = frame.iloc[0]
    assert (first["start"], first["due"], first["times_per_week"], first["expected_count"], first["minutes"]) == (
        date(2026, 3, 16), date(2026, 3, 23), 3, 3, 10)
    assert first["instructions"] == "Write worries down."
    with pytest.raises(ScopeError, match="W1"):  # Sam's homework is not Robin's
        planner.saved_plan(con, scope=Scope.practice(), client_id="R1", assignment_ids=[ids[0], "W1"])
    # imported homework has no details: times per week derived, 6 × 7 / 26 days = 1.6 -> 2
    sam = planner.saved_plan(con, scope=T3, client_id="R2", assignment_ids=["W2"]).iloc[0]
    assert (sam["times_per_week"], sam["instructions"]) == (2, None)


# ---------------------------------------------------------------------------------------------
# Reschedule and cancel
# ---------------------------------------------------------------------------------------------


def test_reschedule_moves_the_due_date_in_scope_only(con):
    first, *_ = planner.save_plan(con, scope=T1, client_id="R1", items=PLAN, today=TODAY)
    planner.reschedule(con, scope=T1, assignment_id=first, due_on=date(2026, 3, 27))
    assert con.execute("select due_on, expected_count from assignments where assignment_id = ?",
                       [first]).fetchone() == (date(2026, 3, 27), 3)
    planner.reschedule(con, scope=T1, assignment_id=first, due_on=date(2026, 3, 27), expected_count=5)
    assert con.execute("select expected_count from assignments where assignment_id = ?", [first]).fetchone() == (5,)
    with pytest.raises(ValueError, match="before the day it was set"):
        planner.reschedule(con, scope=T1, assignment_id=first, due_on=date(2026, 3, 15))
    with pytest.raises(ValueError, match="expected count"):
        planner.reschedule(con, scope=T1, assignment_id=first, due_on=date(2026, 3, 27), expected_count=0)
    with pytest.raises(ScopeError):
        planner.reschedule(con, scope=T2, assignment_id=first, due_on=date(2026, 4, 1))
    with pytest.raises(ScopeError):
        planner.reschedule(con, scope=T2, assignment_id="NO-SUCH", due_on=date(2026, 4, 1))
    assert con.execute("select due_on from assignments where assignment_id = ?", [first]).fetchone() == (
        date(2026, 3, 27),)


def test_cancel_takes_homework_out_of_every_rate(con):
    ids = planner.save_plan(con, scope=T1, client_id="R1", items=PLAN, today=TODAY)
    with pytest.raises(ScopeError):
        planner.cancel(con, scope=T2, assignment_id=ids[1])
    planner.cancel(con, scope=T1, assignment_id=ids[1])
    planner.cancel(con, scope=T1, assignment_id=ids[1])  # again: nothing changes
    assert con.execute("select status from assignments where assignment_id = ?", [ids[1]]).fetchone() == ("cancelled",)
    robin = adherence.summary(con, scope=T1, by="client", as_of=date(2026, 3, 31)).set_index("client_id").loc["R1"]
    assert robin["expected"] == 3 + 1  # the 14 daily body scans are gone
    with pytest.raises(ValueError, match="cancelled homework cannot be rescheduled"):
        planner.reschedule(con, scope=T1, assignment_id=ids[1], due_on=date(2026, 4, 1))


def test_suggestions_given_the_figures_the_page_read_are_the_same_as_read_again(con):
    from analytics.metrics import profile

    # a Worry diary due after today (not offered again) and one overdue (offered: it is past its due date)
    con.execute("insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on) "
                "values ('WD1', 'R1', 'journaling', ' worry DIARY', ?, ?), ('WD0', 'R1', 'journaling', 'Mood diary', ?, ?)",
                [TODAY, TODAY + timedelta(days=7), TODAY - timedelta(days=9), TODAY - timedelta(days=2)])
    by_type = profile.client_profile_by_type(con, scope=T1, client_id="R1", today=TODAY)
    pace = planner.recent_pace(con, scope=T1, client_id="R1", today=TODAY)
    current = planner.current_assignments(con, scope=T1, client_id="R1", today=TODAY)
    given = suggest.suggestions(con, scope=T1, client_id="R1", today=TODAY, limit=50, by_type=by_type, pace=pace,
                                current=current)
    read = suggest.suggestions(con, scope=T1, client_id="R1", today=TODAY, limit=50)
    assert len(read) > 0
    assert given.to_dict("records") == read.to_dict("records")
    # the homework already set (not offered again) is the same whether read again or taken from `current`
    assert list(current["assignment_id"]) == ["WD0", "WD1"]
    assert "L003" not in set(given["template_id"])  # the Worry diary set for later
    assert "L004" in set(given["template_id"])  # the Mood diary overdue
