"""The metric definitions of data/README.md, checked on a hand-worked fixture.

The fixture (as of Sunday 2026-03-15; all submissions at 10:00 UTC unless said otherwise):

  T1: C1, C2   T2: C3, C4 (C4 discharged, nothing ever set)

  A1 C1 journaling  due 03-07 exp 1   S1 completed 03-05 mood 4->6 (+2)
  A2 C1 mindfulness due 03-07 exp 3   S2 completed 03-02 mood 3->5 (+2)
                                      S3 partial   03-04 mood 5->5 (0)
                                      S4 completed 03-09 (late, no mood)
                                      S5 completed 03-10 (late, no mood)
       credit 1 + 0.5 + 1 + 1 = 3.5, capped at 3; on time 1 + 0.5 = 1.5
  A3 C1 behavioural due 03-20 exp 2   S6 completed 03-12 mood 2->5 (+3)   (not yet due)
  A4 C1 creative    due 03-07 exp 1   cancelled; S7 completed 03-05 (never counts)
  A5 C2 narrative   due 03-14 exp 2   S8 skipped 03-14; S9 completed 03-16 (after as_of)
  A6 C3 mindfulness due 03-08 exp 1   S10 partial 03-08 23:30 UTC mood 6->4 (-2)
"""

from __future__ import annotations

from datetime import date

import pytest

from analytics.metrics import adherence
from analytics.store.database import open_store, set_timezone
from analytics.store.period import Period
from analytics.store.scope import Scope

AS_OF = date(2026, 3, 15)
PRACTICE = Scope.practice()


@pytest.fixture
def con():
    con = open_store(":memory:")
    con.execute("insert into therapists values ('T1', 'Dr One', null), ('T2', 'Dr Two', null)")
    con.execute(
        "insert into clients (client_id, therapist_id, label, status) values "
        "('C1', 'T1', 'Robin', 'active'), ('C2', 'T1', 'Sam', 'active'), "
        "('C3', 'T2', 'Kai', 'active'), ('C4', 'T2', 'Lee', 'discharged')"
    )
    con.execute(
        "insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on, "
        "expected_count, status) values "
        "('A1', 'C1', 'journaling', 'Thought record', '2026-03-01', '2026-03-07', 1, 'active'), "
        "('A2', 'C1', 'mindfulness', 'Breathing', '2026-03-01', '2026-03-07', 3, 'active'), "
        "('A3', 'C1', 'behavioural', 'Walk', '2026-03-08', '2026-03-20', 2, 'active'), "
        "('A4', 'C1', 'creative', 'Collage', '2026-03-01', '2026-03-07', 1, 'cancelled'), "
        "('A5', 'C2', 'narrative', 'Letter', '2026-03-01', '2026-03-14', 2, 'active'), "
        "('A6', 'C3', 'mindfulness', 'Body scan', '2026-03-02', '2026-03-08', 1, 'active')"
    )
    con.execute(
        "insert into submissions (submission_id, assignment_id, submitted_at, completion, mood_before, mood_after) values "
        "('S1', 'A1', '2026-03-05 10:00:00+00', 'completed', 4, 6), "
        "('S2', 'A2', '2026-03-02 10:00:00+00', 'completed', 3, 5), "
        "('S3', 'A2', '2026-03-04 10:00:00+00', 'partial', 5, 5), "
        "('S4', 'A2', '2026-03-09 10:00:00+00', 'completed', null, null), "
        "('S5', 'A2', '2026-03-10 10:00:00+00', 'completed', null, null), "
        "('S6', 'A3', '2026-03-12 10:00:00+00', 'completed', 2, 5), "
        "('S7', 'A4', '2026-03-05 10:00:00+00', 'completed', 1, 9), "
        "('S8', 'A5', '2026-03-14 10:00:00+00', 'skipped', null, null), "
        "('S9', 'A5', '2026-03-16 10:00:00+00', 'completed', null, null), "
        "('S10', 'A6', '2026-03-08 23:30:00+00', 'partial', 6, 4)"
    )
    return con


def rows_by(frame, key):
    return {row[key]: row for row in frame.to_dict("records")}


def test_by_client_caps_credit_counts_partial_and_leaves_out_not_due_and_cancelled(con):
    clients = rows_by(adherence.summary(con, scope=PRACTICE, by="client", as_of=AS_OF), "client_id")
    c1 = clients["C1"]
    # Due: A1 (exp 1, credit 1, on time 1) and A2 (exp 3, credit 3.5 capped to 3, on time 1.5).
    assert c1["therapist_id"] == "T1"
    assert c1["expected"] == 4
    assert c1["credit"] == 4
    assert c1["completion_rate"] == pytest.approx(1.0)
    assert c1["on_time_rate"] == pytest.approx(2.5 / 4)
    # Submissions to active assignments by as_of: S1, S2-S5, S6 (A3 is not due but the work was done).
    assert c1["submissions"] == 6
    # Mood lifts S1 +2, S2 +2, S3 0, S6 +3; S7 belongs to a cancelled assignment.
    assert c1["mood_lift_n"] == 4
    assert c1["mood_lift_mean"] == pytest.approx(7 / 4)
    assert str(c1["last_submission_at"]) == "2026-03-12 10:00:00"


def test_skipped_earns_nothing_and_later_submissions_do_not_count(con):
    clients = rows_by(adherence.summary(con, scope=PRACTICE, by="client", as_of=AS_OF), "client_id")
    c2 = clients["C2"]
    # A5 expects 2; S8 is skipped (credit 0); S9 on 03-16 is after as_of.
    assert (c2["expected"], c2["credit"], c2["completion_rate"], c2["on_time_rate"]) == (2, 0, 0, 0)
    assert c2["submissions"] == 1
    assert c2["mood_lift_n"] == 0
    assert c2["mood_lift_mean"] != c2["mood_lift_mean"]  # NaN: no mood data


def test_a_client_with_nothing_due_has_an_empty_rate_not_zero(con):
    clients = rows_by(adherence.summary(con, scope=PRACTICE, by="client", as_of=AS_OF), "client_id")
    c4 = clients["C4"]
    assert c4["expected"] == 0
    assert c4["submissions"] == 0
    assert c4["completion_rate"] != c4["completion_rate"]  # NaN, shown as empty


def test_by_therapist(con):
    therapists = rows_by(adherence.summary(con, scope=PRACTICE, by="therapist", as_of=AS_OF), "therapist_id")
    # T1: expected 4 (C1) + 2 (C2) = 6; credit 4; on time 2.5.
    assert therapists["T1"]["expected"] == 6
    assert therapists["T1"]["completion_rate"] == pytest.approx(4 / 6)
    assert therapists["T1"]["on_time_rate"] == pytest.approx(2.5 / 6)
    assert therapists["T1"]["submissions"] == 7
    # T2: A6 only, partial on the due date: 0.5 of 1, on time.
    assert therapists["T2"]["completion_rate"] == pytest.approx(0.5)
    assert therapists["T2"]["on_time_rate"] == pytest.approx(0.5)
    assert therapists["T2"]["mood_lift_mean"] == pytest.approx(-2)


def test_by_type(con):
    types = rows_by(adherence.summary(con, scope=PRACTICE, by="type", as_of=AS_OF), "assignment_type")
    # mindfulness: A2 (exp 3, credit 3, on time 1.5) + A6 (exp 1, credit 0.5, on time 0.5).
    assert types["mindfulness"]["expected"] == 4
    assert types["mindfulness"]["completion_rate"] == pytest.approx(3.5 / 4)
    assert types["mindfulness"]["on_time_rate"] == pytest.approx(2 / 4)
    # lifts S2 +2, S3 0, S10 -2
    assert types["mindfulness"]["mood_lift_mean"] == pytest.approx(0)
    assert types["mindfulness"]["mood_lift_n"] == 3
    # behavioural (A3) is not due yet: nothing expected, but its submission and lift are counted.
    assert types["behavioural"]["expected"] == 0
    assert types["behavioural"]["submissions"] == 1
    assert types["behavioural"]["mood_lift_mean"] == pytest.approx(3)
    # creative has only the cancelled A4.
    assert "creative" not in types


def test_by_week_uses_the_monday_of_due_on(con):
    weeks = rows_by(adherence.summary(con, scope=PRACTICE, by="week", as_of=AS_OF), "week")
    keys = sorted(str(k)[:10] for k in weeks)
    # A1, A2 (Sat 03-07) and A6 (Sun 03-08) -> week of Mon 03-02; A5 (Sat 03-14) -> 03-09;
    # A3 (due 03-20) is in a week after as_of and left out.
    assert keys == ["2026-03-02", "2026-03-09"]
    first = next(row for k, row in weeks.items() if str(k).startswith("2026-03-02"))
    assert first["expected"] == 5
    assert first["completion_rate"] == pytest.approx(4.5 / 5)
    assert first["on_time_rate"] == pytest.approx(3 / 5)


def test_therapist_scope_sees_only_their_clients(con):
    scope = Scope.therapist("T2")
    for by in adherence.GROUP_BY:
        frame = adherence.summary(con, scope=scope, by=by, as_of=AS_OF)
        if by == "client":
            assert set(frame["client_id"]) == {"C3", "C4"}
        if by == "therapist":
            assert list(frame["therapist_id"]) == ["T2"]
    assert list(adherence.therapists(con, scope=scope)["therapist_id"]) == ["T2"]


def test_on_time_uses_the_practice_time_zone(con):
    # S10 was made at 23:30 UTC on the due date 03-08: 08:30 on 03-09 in Tokyo, so late there.
    set_timezone(con, "Asia/Tokyo")
    clients = rows_by(adherence.summary(con, scope=PRACTICE, by="client", as_of=AS_OF), "client_id")
    assert clients["C3"]["completion_rate"] == pytest.approx(0.5)
    assert clients["C3"]["on_time_rate"] == pytest.approx(0)


def test_headline_for_a_period_and_the_one_before(con):
    period = Period(date(2026, 3, 2), date(2026, 3, 15))
    head = adherence.headline(con, scope=PRACTICE, period=period, today=AS_OF)
    # Active clients C1, C2, C3 (C4 is discharged).
    assert head.active_clients == 3
    # Due 03-02..03-15: A1, A2, A5, A6; expected 1 + 3 + 2 + 1 = 7; credit 1 + 3 + 0 + 0.5.
    assert head.current.due == 4
    assert head.current.expected == 7
    assert head.current.completion_rate == pytest.approx(4.5 / 7)
    assert head.current.on_time_rate == pytest.approx(3 / 7)
    # Nothing was due 02-16..03-01: empty, not zero.
    assert head.previous.period == Period(date(2026, 2, 16), date(2026, 3, 1))
    assert head.previous.due == 0
    assert head.previous.completion_rate is None
    # 03-09..03-15: S4, S5, S6, S8 (S9 is on 03-16); 03-02..03-08: S1, S2, S3, S7, S10.
    assert head.submissions_last_7_days == 4
    assert head.submissions_previous_7_days == 5


def test_the_caseload_headline_is_the_overview_headline_without_the_submission_counts(con):
    period = Period(date(2026, 3, 2), date(2026, 3, 15))
    head = adherence.period_headline(con, scope=PRACTICE, period=period, today=AS_OF)
    # As test_headline_for_a_period_and_the_one_before: C1, C2, C3 active; A1, A2, A5, A6 due, 4.5 of 7 credited,
    # 3 of 7 on time; nothing due the period before.
    assert (head.active_clients, head.current.due, head.current.expected) == (3, 4, 7)
    assert head.current.completion_rate == pytest.approx(4.5 / 7)
    assert head.current.on_time_rate == pytest.approx(3 / 7)
    assert (head.previous.due, head.previous.completion_rate) == (0, None)
    assert not hasattr(head, "submissions_last_7_days")
    # T2: C3 is their one active client; A6 (expected 1) is due, and S10, partial, gives it 0.5.
    mine = adherence.period_headline(con, scope=Scope.therapist("T2"), period=period, today=AS_OF)
    assert (mine.active_clients, mine.current.due, mine.current.completion_rate) == (1, 1, pytest.approx(0.5))


def test_a_past_period_reads_as_it_stood_at_its_end(con):
    # 03-01..03-07 as of 03-07: A1 credit 1; A2 has S2 + S3 = 1.5 of 3 (S4, S5 came later).
    period = Period(date(2026, 3, 1), date(2026, 3, 7))
    figures = adherence.period_figures(con, scope=PRACTICE, period=period, today=AS_OF)
    assert figures.as_of == date(2026, 3, 7)
    assert figures.completion_rate == pytest.approx(2.5 / 4)


def test_headline_in_therapist_scope(con):
    period = Period(date(2026, 3, 2), date(2026, 3, 15))
    head = adherence.headline(con, scope=Scope.therapist("T2"), period=period, today=AS_OF)
    assert head.active_clients == 1
    assert head.current.due == 1
    assert head.current.completion_rate == pytest.approx(0.5)
    # Only S10 (03-08) belongs to T2's clients.
    assert head.submissions_last_7_days == 0
    assert head.submissions_previous_7_days == 1


def test_weekly_completion_has_a_row_per_week_of_the_period_empty_ones_included(con):
    # 02-23 .. 03-15: nothing is due in the week of 02-23; A1, A2, A4 (cancelled: not due), A6 in the week of 03-02:
    # 1 + 3 + 1 = 5 expected, 1 + 3 + 0.5 = 4.5 -> 90%; A5 in the week of 03-09: 0 of 2. AS_OF is a Sunday: no week
    # is counted so far.
    period = Period(date(2026, 2, 23), date(2026, 3, 15))
    weekly = adherence.weekly_completion(con, scope=PRACTICE, period=period, today=AS_OF)
    assert [str(w)[:10] for w in weekly["week"]] == ["2026-02-23", "2026-03-02", "2026-03-09"]
    assert weekly["completion_rate"].tolist() == pytest.approx([float("nan"), 0.9, 0.0], nan_ok=True)
    assert list(weekly["expected"]) == [0, 5, 2]
    assert list(weekly["so_far"]) == [False, False, False]
    # On Thursday 03-12 the week of 03-09 is not over: counted so far (A5, due 03-14, is not due yet).
    thursday = adherence.weekly_completion(con, scope=PRACTICE, period=period, today=date(2026, 3, 12))
    assert list(thursday["so_far"]) == [False, False, True]
    assert list(thursday["expected"]) == [0, 5, 0]


def test_store_contents_counts_only_the_scope(con):
    contents = rows_by(adherence.store_contents(con, scope=Scope.therapist("T1")), "what")
    assert contents["clients"]["rows"] == 2
    # C1's A1-A4 and C2's A5.
    assert contents["assignments"]["rows"] == 5
    assert contents["submissions"]["rows"] == 9


def test_store_contents_of_the_practice_counts_every_stored_row(con):
    # The practice's reads take the tables alone (STORE_CONTENTS_PRACTICE): the same rows as the joined reads.
    contents = rows_by(adherence.store_contents(con, scope=PRACTICE), "what")
    assert (contents["clients"]["rows"], contents["assignments"]["rows"]) == (4, 6)
    # S1-S10; the first on 03-02 (S2), the last on 03-16 (S9, after as_of: the store holds it).
    assert (contents["submissions"]["rows"], contents["submissions"]["first"], contents["submissions"]["last"]) == (
        10, "2026-03-02", "2026-03-16")
    assert (contents["assignments"]["first"], contents["assignments"]["last"]) == ("2026-03-07", "2026-03-20")
    assert contents["measures"]["rows"] == 0


def test_summary_refuses_an_unknown_grouping(con):
    with pytest.raises(ValueError):
        adherence.summary(con, scope=PRACTICE, by="client_id; drop table clients", as_of=AS_OF)


def test_a_filter_narrows_the_practice_but_never_widens_a_therapist():
    from analytics.store.scope import ScopeError

    assert PRACTICE.narrowed_to("T1") == Scope.therapist("T1")
    assert PRACTICE.narrowed_to(None) == PRACTICE
    assert Scope.therapist("T1").narrowed_to("T1") == Scope.therapist("T1")
    with pytest.raises(ScopeError):
        Scope.therapist("T1").narrowed_to("T2")
