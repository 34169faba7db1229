"""Outcome measures: PHQ-9 and GAD-7 scores with their severity bands, reliable change and recovery.

The thresholds are those of NHS Talking Therapies (formerly IAPT), as in its Manual:
- severity bands: PHQ-9 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe, 20-27 severe;
  GAD-7 0-4 minimal, 5-9 mild, 10-14 moderate, 15-21 severe;
- reliable change: a change of at least 6 points on PHQ-9 or 4 on GAD-7 (a change of exactly the
  threshold counts);
- caseness (the clinical cut-off): 10 or more on PHQ-9, 8 or more on GAD-7. A client *recovers* on a
  measure when the first score was at or above the cut-off and the latest is below it.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from duckdb import DuckDBPyConnection

from analytics.store.period import Period
from analytics.store.scope import Scope

BANDS: dict[str, list[tuple[int, int, str]]] = {
    "PHQ-9": [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 19, "moderately severe"), (20, 27, "severe")],
    "GAD-7": [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 21, "severe")],
}
RELIABLE_CHANGE: dict[str, int] = {"PHQ-9": 6, "GAD-7": 4}
CLINICAL_CUTOFF: dict[str, int] = {"PHQ-9": 10, "GAD-7": 8}


def _band_params() -> dict[str, list]:
    """BANDS as bound lists, one entry per band (BANDS_CTE unnests them into a table)."""
    bands = [(measure, low, high, band) for measure, rows in BANDS.items() for low, high, band in rows]
    return {
        "band_measure": [b[0] for b in bands],
        "band_low": [b[1] for b in bands],
        "band_high": [b[2] for b in bands],
        "band_name": [b[3] for b in bands],
    }


def _threshold_params() -> dict[str, list]:
    """RELIABLE_CHANGE and CLINICAL_CUTOFF as bound lists, one entry per measure."""
    measures = list(RELIABLE_CHANGE)
    return {
        "threshold_measure": measures,
        "reliable_change": [RELIABLE_CHANGE[m] for m in measures],
        "clinical_cutoff": [CLINICAL_CUTOFF[m] for m in measures],
    }


# The bands as a table, from the bound lists (unnests in one select are zipped row by row).
BANDS_CTE = """
bands as (
    select unnest($band_measure) as measure, unnest($band_low) as low,
           unnest($band_high) as high, unnest($band_name) as band
)
"""

MEASURE_SERIES = "with " + BANDS_CTE + """
select m.measure, m.administered_on, m.score, b.band
from measures m
join clients c using (client_id)
left join bands b on b.measure = m.measure and m.score between b.low and b.high
where m.client_id = $client_id
  and ($scope_therapist is null or c.therapist_id = $scope_therapist)
  and m.administered_on between $start and $as_of
order by m.measure, m.administered_on
"""


def measure_series(con: DuckDBPyConnection, *, scope: Scope, client_id: str, period: Period | None = None,
                   today: date | None = None) -> pd.DataFrame:
    """The client's scores, by measure then date: measure (PHQ-9 | GAD-7), administered_on (date),
    score (points) and band (minimal | mild | moderate | moderately severe | severe). Every score, or
    with `period` and `today` those taken from the period's start to its as-of date."""
    scope.require_client(con, client_id)
    start, as_of = (period.start, period.as_of(today)) if period else (date(1, 1, 1), date(9999, 12, 31))
    params = {**_band_params(), "client_id": client_id, "scope_therapist": scope.therapist_id, "start": start,
              "as_of": as_of}
    return con.execute(MEASURE_SERIES, params).df()


MEASURE_CHANGE = """
with thresholds as (
    select unnest($threshold_measure) as measure, unnest($reliable_change) as reliable_change,
           unnest($clinical_cutoff) as clinical_cutoff
),
per_measure as (
    select m.client_id, m.measure,
           count(*)                               as n,
           min(m.administered_on)                 as first_on,
           arg_min(m.score, m.administered_on)    as first_score,
           max(m.administered_on)                 as latest_on,
           arg_max(m.score, m.administered_on)    as latest_score
    from measures m
    join clients c using (client_id)
    where ($client_id is null or m.client_id = $client_id)
      and ($scope_therapist is null or c.therapist_id = $scope_therapist)
    group by m.client_id, m.measure
)
select p.client_id, p.measure, p.n, p.first_on, p.first_score, p.latest_on, p.latest_score,
       case when p.n > 1 then p.latest_score - p.first_score end as change,
       case when p.n = 1                                              then 'one score only'
            when p.first_score - p.latest_score >= t.reliable_change then 'reliable improvement'
            when p.latest_score - p.first_score >= t.reliable_change then 'reliable deterioration'
            else 'no reliable change' end as reliable_change,
       case when p.n = 1 or p.first_score < t.clinical_cutoff then null
            else p.latest_score < t.clinical_cutoff end as recovered
from per_measure p
join thresholds t using (measure)
order by p.client_id, p.measure
"""


def measure_change(con: DuckDBPyConnection, *, scope: Scope, client_id: str | None = None) -> pd.DataFrame:
    """First and latest score per client and measure, for every client in scope (or one):
    client_id, measure, n (scores), first_on, first_score, latest_on, latest_score, change (latest - first,
    points, negative is better; NA with one score), reliable_change ('reliable improvement' | 'reliable deterioration' |
    'no reliable change' | 'one score only') and recovered (boolean: True when the first score was at or
    above the clinical cut-off and the latest is below it, False when both are at or above it, NA when
    the first was below the cut-off or there is one score only)."""
    if client_id is not None:
        scope.require_client(con, client_id)
    params = {**_threshold_params(), "client_id": client_id, "scope_therapist": scope.therapist_id}
    frame = con.execute(MEASURE_CHANGE, params).df()
    frame["recovered"] = frame["recovered"].astype("boolean")
    return frame


# Per client and measure in scope (scores taken up to $today): the latest score, the one before it, and
# the lowest score before the latest (the most recent of equal ones), with their dates. Grouped, not numbered with a
# window (a sort of every score): a measure is taken at most once a day, so the latest date names one score.
# $client_id (null: every client) keeps one client's scores. LATEST_SCORE_ROWS is unordered (attention.SCORE_FLAGS
# groups it further); LATEST_SCORES orders it.
LATEST_SCORE_ROWS = """
with scores as (
    select m.client_id, m.measure, m.score, m.administered_on
    from measures m
    join clients c using (client_id)
    where m.administered_on <= $today
      and ($scope_therapist is null or c.therapist_id = $scope_therapist)
      and ($client_id is null or m.client_id = $client_id)
),
latest as (
    select client_id, measure, max(administered_on) as latest_on, arg_max(score, administered_on) as latest_score
    from scores
    group by client_id, measure
),
earlier as (
    select s.client_id, s.measure,
           arg_max(s.score, s.administered_on)                             as previous_score,
           max(s.administered_on)                                          as previous_on,
           min(s.score)                                                    as best_score,
           first(s.administered_on order by s.score, s.administered_on desc) as best_on
    from scores s
    join latest l using (client_id, measure)
    where s.administered_on < l.latest_on
    group by s.client_id, s.measure
)
select l.client_id, l.measure, l.latest_score, l.latest_on,
       e.previous_score, e.previous_on, e.best_score, e.best_on,
       l.latest_score - e.previous_score as rise_from_previous,
       l.latest_score - e.best_score     as rise_from_best
from latest l
left join earlier e using (client_id, measure)
"""
LATEST_SCORES = LATEST_SCORE_ROWS + "order by l.client_id, l.measure\n"


def latest_scores(con: DuckDBPyConnection, *, scope: Scope, today: date) -> pd.DataFrame:
    """Per client in scope and measure, scores taken up to `today`: client_id, measure, latest_score,
    latest_on, previous_score and previous_on (the score before the latest), best_score and best_on (the
    lowest score before the latest, the most recent of equal ones), rise_from_previous and rise_from_best
    (latest minus each, points; positive is worse). The earlier figures are empty with one score only."""
    frame = con.execute(LATEST_SCORES, {"today": today, "scope_therapist": scope.therapist_id,
                                        "client_id": None}).df()
    for column in ("previous_score", "best_score", "rise_from_previous", "rise_from_best"):
        frame[column] = frame[column].astype("Int64")
    return frame


def band_of(measure: str, score: int) -> str | None:
    """The severity band of a score ("moderate"), or None for a score outside the measure's range."""
    for low, high, band in BANDS.get(measure, []):
        if low <= score <= high:
            return band
    return None
