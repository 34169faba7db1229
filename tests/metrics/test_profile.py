"""Client profile by type: raw figures, the caseload's priors and empirical-Bayes shrinkage, worked by hand.

Fixture, today 2026-03-15, everything up to today (no period). T1: P1..P6; T2: Q1.

Completion, journaling (T1): P1..P5 each have one journaling assignment due 03-08, expected 10, with
8, 6, 5, 4, 2 completed submissions: rates 0.8, 0.6, 0.5, 0.4, 0.2.
  m = 25 / 50 = 0.5
  S = Σ nᵢ (pᵢ − m)² / (m (1 − m)) = 10 × (0.09 + 0.01 + 0 + 0.01 + 0.09) / 0.25 = 8
  N = 50, Σ nᵢ² / N = 500 / 50 = 10, I − 1 = 4
  ρ = (S − (I − 1)) / (N − Σ nᵢ²/N − (I − 1)) = (8 − 4) / (50 − 10 − 4) = 4 / 36 = 1/9
  k = (1 − ρ) / ρ = 8
  P1 shrunk = (8 + 8 × 0.5) / (10 + 8) = 12 / 18 = 0.6667, weight 10 / 18
  P6 has no journaling: exactly 0.5.

Mood lift, mindfulness (T1): P1..P5 each have one mindfulness assignment due 03-31 (not due: no
completion figure) with two rated submissions, lifts (2, 6), (0, 4), (−1, 3), (−2, 2), (−4, 0):
client means 4, 2, 1, 0, −2.
  μ = (8 + 4 + 2 + 0 − 4) / 10 = 1
  within: each pair differs by 4, Σ (y − ȳ)² = 2 × 2² = 8 per client, 40 in all; N − I = 5 -> σ² = 8
  between: Σ nᵢ (ȳᵢ − μ)² = 2 × (9 + 1 + 0 + 1 + 9) = 40; MSB = 40 / 4 = 10
  n₀ = (N − Σ nᵢ²/N) / (I − 1) = (10 − 20/10) / 4 = 2
  τ² = (MSB − σ²) / n₀ = (10 − 8) / 2 = 1; λ = σ² / τ² = 8
  P1: w = 2 / (2 + 8) = 0.2, shrunk = 0.2 × 4 + 0.8 × 1 = 1.6
  P6 has no mindfulness: exactly 1.0.

Other types have no data in T1's caseload: their prior is the caseload's figure over all types:
completion 0.5 (journaling is all that was due), lift 1.0 (mindfulness is all that was rated), with the
default prior strengths (10).

Q1 (T2): journaling expected 10, nothing done (rate 0).
"""

from __future__ import annotations

from datetime import date

import pytest

from analytics.metrics import profile
from analytics.store.database import open_store
from analytics.store.scope import Scope, ScopeError
from analytics.store.vocabulary import ASSIGNMENT_TYPES

TODAY = date(2026, 3, 15)
T1 = Scope.therapist("T1")

JOURNALING_DONE = {"P1": 8, "P2": 6, "P3": 5, "P4": 4, "P5": 2}
MINDFULNESS_LIFTS = {"P1": (2, 6), "P2": (0, 4), "P3": (-1, 3), "P4": (-2, 2), "P5": (-4, 0)}


def add_assignment(con, assignment_id, client_id, kind, due, expected):
    con.execute("insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on, "
                "expected_count) values (?, ?, ?, 'Task', '2026-03-01', ?::date, ?)",
                [assignment_id, client_id, kind, due, expected])


def before(lift: int) -> int:
    """A mood before that keeps before + lift within 0-10."""
    return 2 if lift >= 0 else 8


def add_submissions(con, assignment_id, count, *, lifts=None, day="2026-03-05"):
    """`count` completed submissions, or one per lift rated before(lift) -> before(lift) + lift."""
    lifts = list(lifts) if lifts is not None else [None] * count
    con.executemany(
        "insert into submissions (submission_id, assignment_id, submitted_at, completion, mood_before, mood_after) "
        "values (?, ?, ?::timestamptz, 'completed', ?, ?)",
        [(f"{assignment_id}-S{i}", assignment_id, f"{day} 10:00:00+00",
          None if lift is None else before(lift), None if lift is None else before(lift) + lift)
         for i, lift in enumerate(lifts)],
    )


@pytest.fixture
def con():
    con = open_store(":memory:")
    con.execute("insert into therapists values ('T1', 'Dr One', null), ('T2', 'Dr Two', null)")
    clients = [(f"P{i}", "T1", f"Person {i}") for i in range(1, 7)] + [("Q1", "T2", "Quinn")]
    con.executemany("insert into clients (client_id, therapist_id, label) values (?, ?, ?)", clients)
    for client, done in JOURNALING_DONE.items():
        add_assignment(con, f"J-{client}", client, "journaling", "2026-03-08", 10)
        add_submissions(con, f"J-{client}", done)
    for client, lifts in MINDFULNESS_LIFTS.items():
        add_assignment(con, f"M-{client}", client, "mindfulness", "2026-03-31", 2)
        add_submissions(con, f"M-{client}", 2, lifts=lifts)
    add_assignment(con, "J-Q1", "Q1", "journaling", "2026-03-08", 10)
    return con


def rows(frame):
    return {row["assignment_type"]: row for row in frame.to_dict("records")}


def test_one_row_per_canonical_type_in_order(con):
    frame = profile.client_profile_by_type(con, scope=T1, client_id="P1", today=TODAY)
    assert list(frame["assignment_type"]) == list(ASSIGNMENT_TYPES)
    assert list(frame.columns) == profile.PROFILE_COLUMNS


def test_caseload_priors_by_the_method_of_moments(con):
    priors = rows(profile.caseload_priors(con, scope=T1, today=TODAY))
    j = priors["journaling"]
    assert (j["completion_clients"], j["caseload_expected"]) == (5, 50)
    assert j["caseload_completion_rate"] == pytest.approx(0.5)
    assert j["completion_prior_strength"] == pytest.approx(8.0)
    m = priors["mindfulness"]
    assert (m["lift_clients"], m["caseload_lift_n"]) == (5, 10)
    assert m["caseload_mood_lift"] == pytest.approx(1.0)
    assert m["mood_prior_strength"] == pytest.approx(8.0)


def test_hand_worked_shrinkage(con):
    p1 = rows(profile.client_profile_by_type(con, scope=T1, client_id="P1", today=TODAY))
    j = p1["journaling"]
    assert (j["expected"], j["credit"]) == (10, 8)
    assert j["completion_rate"] == pytest.approx(0.8)
    assert j["caseload_completion_rate"] == pytest.approx(0.5)
    assert j["completion_weight"] == pytest.approx(10 / 18)
    assert j["shrunk_completion_rate"] == pytest.approx(12 / 18)
    m = p1["mindfulness"]
    assert m["mood_lift_n"] == 2
    assert m["mood_lift_mean"] == pytest.approx(4.0)
    assert m["mood_weight"] == pytest.approx(0.2)
    assert m["shrunk_mood_lift"] == pytest.approx(1.6)
    # mindfulness is not due yet: no completion of its own, so the prior (over all types: 0.5)
    assert m["expected"] == 0
    assert m["shrunk_completion_rate"] == 0.5


def test_a_client_with_no_data_gets_exactly_the_caseload_figure(con):
    p6 = rows(profile.client_profile_by_type(con, scope=T1, client_id="P6", today=TODAY))
    for kind, row in p6.items():
        assert row["expected"] == 0 and row["mood_lift_n"] == 0, kind
        assert row["completion_rate"] != row["completion_rate"]  # NaN: no figure of their own
        assert row["shrunk_completion_rate"] == row["caseload_completion_rate"]
        assert row["shrunk_mood_lift"] == row["caseload_mood_lift"]
    assert p6["journaling"]["shrunk_completion_rate"] == 0.5
    assert p6["mindfulness"]["shrunk_mood_lift"] == 1.0
    # types nobody in T1's caseload has: the caseload over all types, default strengths
    creative = p6["creative"]
    assert (creative["completion_prior_from"], creative["mood_prior_from"]) == ("all types", "all types")
    assert (creative["shrunk_completion_rate"], creative["shrunk_mood_lift"]) == (0.5, 1.0)
    assert creative["completion_prior_strength"] == profile.K_DEFAULT


def test_a_client_with_much_data_keeps_nearly_their_own(con):
    # P7 joins T1 with 450 of 500 done (0.9) and 200 mindfulness lifts alternating +2 / +4 (mean 3).
    # Whatever the estimated strengths (at most K_MAX = LAMBDA_MAX = 50), the weights are at least
    # 500 / 550 = 0.909 and 200 / 250 = 0.8. The priors now include P7: journaling m = (25 + 450) / 550
    # = 0.8636, so |shrunk − 0.9| <= 50 × 0.0364 / 550 = 0.0033; mindfulness μ = (10 + 600) / 210 =
    # 2.905, so |shrunk − 3| <= 0.2 × 0.095 = 0.019.
    con.execute("insert into clients (client_id, therapist_id, label) values ('P7', 'T1', 'Busy')")
    add_assignment(con, "J-P7", "P7", "journaling", "2026-03-10", 500)
    add_submissions(con, "J-P7", 450)
    add_assignment(con, "M-P7", "P7", "mindfulness", "2026-03-31", 1000)
    add_submissions(con, "M-P7", 200, lifts=[2, 4] * 100)
    p7 = rows(profile.client_profile_by_type(con, scope=T1, client_id="P7", today=TODAY))
    j, m = p7["journaling"], p7["mindfulness"]
    assert j["completion_rate"] == pytest.approx(0.9)
    assert j["completion_weight"] >= 500 / 550
    assert abs(j["shrunk_completion_rate"] - 0.9) <= 0.0034
    assert m["mood_lift_mean"] == pytest.approx(3.0)
    assert m["mood_weight"] >= 0.8
    assert abs(m["shrunk_mood_lift"] - 3.0) <= 0.02


def test_the_prior_is_the_scopes_caseload(con):
    # In T2's caseload Q1 is alone: journaling m = 0 / 10 = 0 (k cannot be estimated: the default 10),
    # so Q1's shrunk rate is (0 + 10 × 0) / (10 + 10) = 0. T1's figures never enter T2's view.
    q1 = rows(profile.client_profile_by_type(con, scope=Scope.therapist("T2"), client_id="Q1", today=TODAY))
    assert q1["journaling"]["caseload_completion_rate"] == 0
    assert q1["journaling"]["completion_prior_strength"] == profile.K_DEFAULT
    assert q1["journaling"]["shrunk_completion_rate"] == 0
    with pytest.raises(ScopeError):
        profile.client_profile_by_type(con, scope=Scope.therapist("T2"), client_id="P1", today=TODAY)


def test_prior_strength_rules():
    # fewer than MIN_CLIENTS clients, or a rate of 0 or 1: the default
    assert profile.completion_prior_strength(4, 40, 400, 1.0, 0.5) == profile.K_DEFAULT
    assert profile.completion_prior_strength(5, 50, 500, 0.0, 1.0) == profile.K_DEFAULT
    # no spread beyond chance (S = 4 = I − 1, rho = 0): the strongest prior
    assert profile.completion_prior_strength(5, 50, 500, 1.0, 0.5) == profile.K_MAX
    # a very wide spread: rho = (40 − 4) / 36 = 1 -> k = 0, kept at K_MIN
    assert profile.completion_prior_strength(5, 50, 500, 10.0, 0.5) == profile.K_MIN
    # mood: too few ratings within clients (N − I = 2 < 5): the default
    assert profile.mood_prior_strength(5, 7, 11, 3.0, 9.0) == profile.LAMBDA_DEFAULT
    # clients' means spread no more than chance: τ² floored at σ²/50 -> λ = 50
    assert profile.mood_prior_strength(5, 10, 20, 40.0, 8.0) == profile.LAMBDA_MAX
