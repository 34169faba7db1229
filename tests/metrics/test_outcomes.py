"""Severity bands, reliable change and recovery (NHS Talking Therapies thresholds) on hand-picked scores.

  T1: C1, C2, C3, C5    T2: C4

  C1 PHQ-9  8 (01-05), 12 (02-02), 14 (03-02)  +6: reliable deterioration (exactly the threshold);
                                               first below the cut-off 10 -> recovered NA
     GAD-7  5 (01-05), 8 (03-02)               +3: no reliable change (threshold 4); first < 8 -> NA
  C2 PHQ-9 12 (01-05), 7 (03-02)               -5: no reliable change; 12 >= 10 and 7 < 10 -> recovered
     GAD-7  9 (01-05)                          one score only, recovered NA
  C3 PHQ-9 16 (01-05), 10 (03-02)              -6: reliable improvement; latest at the cut-off -> not recovered
     GAD-7 12 (01-05), 8 (03-02)               -4: reliable improvement; 8 is at the cut-off -> not recovered
  C4 GAD-7  6 (01-05), 10 (03-02)              +4: reliable deterioration
  C5 PHQ-9 0, 4, 5, 9, 10, 14, 15, 19, 20, 27 on 01-01 .. 01-10 (every band edge)
     GAD-7 0, 4, 5, 9, 10, 14, 15, 21           on 01-01 .. 01-08
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.metrics import outcomes
from analytics.store.database import open_store
from analytics.store.scope import Scope, ScopeError

PRACTICE = Scope.practice()
T1 = Scope.therapist("T1")
PHQ9_EDGES = [0, 4, 5, 9, 10, 14, 15, 19, 20, 27]
GAD7_EDGES = [0, 4, 5, 9, 10, 14, 15, 21]


@pytest.fixture
def con():
    con = open_store(":memory:")
    con.execute("insert into therapists values ('T1', 'Dr One', null), ('T2', 'Dr Two', null)")
    con.execute(
        "insert into clients (client_id, therapist_id, label) values "
        "('C1', 'T1', 'Robin'), ('C2', 'T1', 'Sam'), ('C3', 'T1', 'Ash'), ('C4', 'T2', 'Kai'), ('C5', 'T1', 'Jo')"
    )
    con.execute(
        "insert into measures (client_id, measure, score, administered_on) values "
        "('C1', 'PHQ-9', 8, '2026-01-05'), ('C1', 'PHQ-9', 12, '2026-02-02'), ('C1', 'PHQ-9', 14, '2026-03-02'), "
        "('C1', 'GAD-7', 5, '2026-01-05'), ('C1', 'GAD-7', 8, '2026-03-02'), "
        "('C2', 'PHQ-9', 12, '2026-01-05'), ('C2', 'PHQ-9', 7, '2026-03-02'), ('C2', 'GAD-7', 9, '2026-01-05'), "
        "('C3', 'PHQ-9', 16, '2026-01-05'), ('C3', 'PHQ-9', 10, '2026-03-02'), "
        "('C3', 'GAD-7', 12, '2026-01-05'), ('C3', 'GAD-7', 8, '2026-03-02'), "
        "('C4', 'GAD-7', 6, '2026-01-05'), ('C4', 'GAD-7', 10, '2026-03-02')"
    )
    for measure, scores in (("PHQ-9", PHQ9_EDGES), ("GAD-7", GAD7_EDGES)):
        con.executemany(
            "insert into measures (client_id, measure, score, administered_on) values ('C5', ?, ?, ?)",
            [(measure, score, date(2026, 1, 1) + timedelta(days=i)) for i, score in enumerate(scores)],
        )
    return con


def changes(con, scope=PRACTICE, client_id=None):
    frame = outcomes.measure_change(con, scope=scope, client_id=client_id)
    return {(row["client_id"], row["measure"]): row for row in frame.to_dict("records")}


def test_bands_at_their_edges(con):
    series = outcomes.measure_series(con, scope=PRACTICE, client_id="C5")
    phq9 = series[series["measure"] == "PHQ-9"]
    assert list(phq9["score"]) == PHQ9_EDGES
    assert list(phq9["band"]) == [
        "minimal", "minimal", "mild", "mild", "moderate", "moderate",
        "moderately severe", "moderately severe", "severe", "severe",
    ]
    gad7 = series[series["measure"] == "GAD-7"]
    assert list(gad7["band"]) == ["minimal", "minimal", "mild", "mild", "moderate", "moderate", "severe", "severe"]


def test_the_bands_cover_each_scale_without_gaps():
    for measure, top in (("PHQ-9", 27), ("GAD-7", 21)):
        bands = outcomes.BANDS[measure]
        assert bands[0][0] == 0 and bands[-1][1] == top
        assert all(high + 1 == next_low for (_, high, _), (next_low, _, _) in zip(bands, bands[1:], strict=False))


def test_measure_series_is_ordered_by_measure_then_date(con):
    series = outcomes.measure_series(con, scope=PRACTICE, client_id="C1")
    assert list(series["measure"]) == ["GAD-7", "GAD-7", "PHQ-9", "PHQ-9", "PHQ-9"]
    assert [str(d)[:10] for d in series["administered_on"]] == [
        "2026-01-05", "2026-03-02", "2026-01-05", "2026-02-02", "2026-03-02"]
    assert list(series["band"]) == ["mild", "mild", "mild", "moderate", "moderate"]


def test_a_change_of_exactly_the_threshold_is_reliable(con):
    rows = changes(con)
    c1_phq = rows[("C1", "PHQ-9")]
    assert (c1_phq["n"], c1_phq["first_score"], c1_phq["latest_score"], c1_phq["change"]) == (3, 8, 14, 6)
    assert c1_phq["reliable_change"] == "reliable deterioration"
    assert str(c1_phq["first_on"])[:10] == "2026-01-05" and str(c1_phq["latest_on"])[:10] == "2026-03-02"
    assert rows[("C1", "GAD-7")]["reliable_change"] == "no reliable change"  # +3 < 4
    assert rows[("C4", "GAD-7")]["reliable_change"] == "reliable deterioration"  # +4
    assert rows[("C3", "PHQ-9")]["reliable_change"] == "reliable improvement"  # -6
    assert rows[("C3", "GAD-7")]["reliable_change"] == "reliable improvement"  # -4


def test_recovery_needs_a_start_at_or_above_the_cut_off_and_an_end_below_it(con):
    rows = changes(con)
    # 12 -> 7: not a reliable change (-5) but recovered.
    assert rows[("C2", "PHQ-9")]["reliable_change"] == "no reliable change"
    assert rows[("C2", "PHQ-9")]["recovered"] is True
    # Ending exactly at the cut-off (PHQ-9 10, GAD-7 8) is still a case.
    assert rows[("C3", "PHQ-9")]["recovered"] is False
    assert rows[("C3", "GAD-7")]["recovered"] is False
    # Starting below the cut-off: recovery does not apply.
    assert pd.isna(rows[("C1", "PHQ-9")]["recovered"])
    assert pd.isna(rows[("C4", "GAD-7")]["recovered"])
    assert outcomes.measure_change(con, scope=PRACTICE)["recovered"].dtype == "boolean"


def test_a_single_score(con):
    row = changes(con)[("C2", "GAD-7")]
    assert (row["n"], row["first_score"], row["latest_score"]) == (1, 9, 9)
    assert row["reliable_change"] == "one score only"
    assert pd.isna(row["change"])
    assert pd.isna(row["recovered"])


def test_measure_change_for_one_client(con):
    assert set(changes(con, client_id="C2")) == {("C2", "PHQ-9"), ("C2", "GAD-7")}


def test_therapist_scope_never_returns_another_therapists_client(con):
    with pytest.raises(ScopeError):
        outcomes.measure_series(con, scope=T1, client_id="C4")
    with pytest.raises(ScopeError):
        outcomes.measure_change(con, scope=T1, client_id="C4")
    assert {client for client, _ in changes(con, scope=T1)} == {"C1", "C2", "C3", "C5"}
    assert {client for client, _ in changes(con, scope=Scope.therapist("T2"))} == {"C4"}


# latest_scores as it was first written: every score numbered back from the latest with a window. The grouped query
# of outcomes.LATEST_SCORES must give the same rows on any scores.
LATEST_SCORES_BY_WINDOW = """
with scores as (
    select m.client_id, m.measure, m.score, m.administered_on,
           row_number() over (partition by m.client_id, m.measure order by m.administered_on desc) as back
    from measures m
    join clients c using (client_id)
    where m.administered_on <= $today
      and ($scope_therapist is null or c.therapist_id = $scope_therapist)
),
earlier as (
    select client_id, measure,
           first(score order by administered_on desc)                  as previous_score,
           max(administered_on)                                        as previous_on,
           min(score)                                                  as best_score,
           first(administered_on order by score, administered_on desc) as best_on
    from scores
    where back > 1
    group by client_id, measure
)
select l.client_id, l.measure, l.score as latest_score, l.administered_on as latest_on,
       e.previous_score, e.previous_on, e.best_score, e.best_on,
       l.score - e.previous_score as rise_from_previous,
       l.score - e.best_score     as rise_from_best
from scores l
left join earlier e using (client_id, measure)
where l.back = 1
order by l.client_id, l.measure
"""

scores_drawn = st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["PHQ-9", "GAD-7"]), st.integers(0, 40),
                                  st.integers(0, 21)), max_size=30)


SCORES_STORE = open_store(":memory:")  # one store for every example: each empties and refills the measures
SCORES_STORE.execute("insert into therapists values ('T1', 'One', null), ('T2', 'Two', null)")
SCORES_STORE.execute("insert into clients (client_id, therapist_id, label) values "
                     "('C0', 'T1', 'Zero'), ('C1', 'T2', 'One'), ('C2', 'T1', 'Two')")


@settings(max_examples=40, deadline=None)
@given(drawn=scores_drawn, today_offset=st.integers(0, 45))
def test_latest_scores_equal_the_window_definition(drawn: list, today_offset: int) -> None:
    con, start = SCORES_STORE, date(2026, 1, 1)
    con.execute("delete from measures")
    rows = {(f"C{c}", m, start + timedelta(days=d)): s for c, m, d, s in drawn}  # one score a day per measure
    for (client, measure, day), score in rows.items():
        con.execute("insert into measures values (?, ?, ?, ?)", [client, measure, score, day])
    for therapist in (None, "T1"):
        params = {"today": start + timedelta(days=today_offset), "scope_therapist": therapist}
        expected = con.execute(LATEST_SCORES_BY_WINDOW, params).fetchall()
        assert con.execute(outcomes.LATEST_SCORES, {**params, "client_id": None}).fetchall() == expected
    # one client's rows (needs attention for one client: attention.client_flags), in T1's scope
    assert con.execute(outcomes.LATEST_SCORES, {**params, "client_id": "C2"}).fetchall() == [
        row for row in expected if row[0] == "C2"]
