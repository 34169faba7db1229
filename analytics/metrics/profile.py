"""A client's completion and mood lift per assignment type, shrunk toward the caseload's figures (empirical Bayes).

A client with little homework of a type says little about how they will do with the next one; the
caseload's figure for that type says more. Each figure here is a weighted mix of the two, weighted by
how much data the client has, with the weights estimated from the caseload itself:

- completion (beta-binomial): shrunk = (credit + k · m) / (expected + k), m = the caseload's completion
  rate for the type, k (prior strength, in expected practices) from the spread of clients' rates
  beyond what chance gives, by the method of moments;
- mood lift (normal-normal): shrunk = w · client mean + (1 − w) · μ, w = n / (n + σ²/τ²), μ = the
  caseload's mean lift for the type, σ² the within-client variance of lifts and τ² the variance of
  clients' true means, by the method of moments (one-way analysis of variance).

Credit comes from `due_assignments` (defined once in schema.sql); mood lifts from `client_type_lifts`
(schema.sql), with the selection of `mood.lift_by_type`. Formulas, clamps and fall-backs: data/README.md.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
from duckdb import DuckDBPyConnection

from analytics.store.period import Period
from analytics.store.scope import Scope
from analytics.store.vocabulary import ASSIGNMENT_TYPES, TYPE_LABELS

# Everything up to today when no period is given.
SINCE_THE_START = date(1900, 1, 1)

# Prior strength of completion, in expected practices: estimated, then kept within [K_MIN, K_MAX];
# K_DEFAULT when the caseload cannot estimate it (fewer than MIN_CLIENTS clients with that type due).
K_MIN, K_MAX, K_DEFAULT = 2.0, 50.0, 10.0
# Prior strength of mood lift, in ratings (σ²/τ²), kept within [LAMBDA_MIN, LAMBDA_MAX]; τ² is
# floored at σ²/LAMBDA_MAX. LAMBDA_DEFAULT when it cannot be estimated.
LAMBDA_MIN, LAMBDA_MAX, LAMBDA_DEFAULT = 2.0, 50.0, 10.0
# The least data the moment estimates rest on: clients with the type, and degrees of freedom within clients.
MIN_CLIENTS = 5
MIN_WITHIN_DF = 5

# Per type: the caseload's sums for the moment estimators, and the one client's own figures.
# completion: clients with something of the type due by as_of (due_on >= start); lifts: submissions
# made in [start, as_of] to active assignments (client_type_lifts, from the derived facts: the lifts' sums
# and sums of squares are whole numbers, and the within-client sum of squares is Σx² − (Σx)²/n worked out
# exactly before its one division). $client_id may be null (caseload only).
PROFILE_SUMS = """
with completion_by_client as (
    select client_id, assignment_type,
           sum(expected_count)::double as expected,
           sum(credit)::double         as credit
    from due_assignments($as_of, $scope_therapist)
    where due_on >= $start
    group by client_id, assignment_type
),
completion_means as (
    select assignment_type, sum(credit) / sum(expected) as rate
    from completion_by_client
    group by assignment_type
),
completion_sums as (
    select c.assignment_type,
           count(*)                                                       as completion_clients,
           sum(c.expected)                                                as caseload_expected,
           sum(c.credit)                                                  as caseload_credit,
           sum(c.expected * c.expected)                                   as expected_sq,
           sum(c.expected * power(c.credit / c.expected - m.rate, 2))     as completion_spread
    from completion_by_client c
    join completion_means m using (assignment_type)
    group by c.assignment_type
),
lift_by_client as (
    select client_id, assignment_type,
           lift_n::double                                                 as n,
           (lift_sum / lift_n)::double                                    as mean,
           ((lift_n * lift_sq_sum - lift_sum * lift_sum) / lift_n)::double as within_ss
    from client_type_lifts($start, $as_of, $scope_therapist)
),
lift_means as (
    select assignment_type, sum(n * mean) / sum(n) as mean
    from lift_by_client
    group by assignment_type
),
lift_sums as (
    select l.assignment_type,
           count(*)                                    as lift_clients,
           sum(l.n)                                    as caseload_lift_n,
           any_value(m.mean)                           as caseload_mood_lift,
           sum(l.n * l.n)                              as lift_n_sq,
           sum(l.within_ss)                            as within_ss,
           sum(l.n * power(l.mean - m.mean, 2))        as between_ss
    from lift_by_client l
    join lift_means m using (assignment_type)
    group by l.assignment_type
),
types as (
    select assignment_type from completion_sums
    union
    select assignment_type from lift_sums
    union
    select unnest($canonical_types)
)
select t.assignment_type,
       coalesce(cs.completion_clients, 0)           as completion_clients,
       coalesce(cs.caseload_expected, 0)            as caseload_expected,
       coalesce(cs.caseload_credit, 0)              as caseload_credit,
       cs.expected_sq, cs.completion_spread,
       coalesce(ls.lift_clients, 0)                 as lift_clients,
       coalesce(ls.caseload_lift_n, 0)              as caseload_lift_n,
       ls.caseload_mood_lift, ls.lift_n_sq, ls.within_ss, ls.between_ss,
       coalesce(cc.expected, 0)                     as expected,
       coalesce(cc.credit, 0)                       as credit,
       coalesce(cl.n, 0)::bigint                    as mood_lift_n,
       cl.mean                                      as mood_lift_mean
from types t
left join completion_sums cs using (assignment_type)
left join lift_sums ls using (assignment_type)
left join completion_by_client cc on cc.assignment_type = t.assignment_type and cc.client_id = $client_id
left join lift_by_client cl on cl.assignment_type = t.assignment_type and cl.client_id = $client_id
"""


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def completion_prior_strength(clients: int, expected: float, expected_sq: float, spread: float, rate: float) -> float:
    """k of the beta-binomial prior by the method of moments (data/README.md).

    With S = Σ nᵢ (pᵢ − m)² / (m (1 − m)) over the I clients with the type due (nᵢ expected, pᵢ their
    rate, N = Σ nᵢ), the intra-class correlation is ρ = (S − (I − 1)) / (N − Σ nᵢ²/N − (I − 1)) and
    k = (1 − ρ) / ρ, kept within [K_MIN, K_MAX]. K_MAX when ρ <= 0 (no spread beyond chance);
    K_DEFAULT when I < MIN_CLIENTS, m is 0 or 1, or the denominator is not positive.
    """
    if clients < MIN_CLIENTS or not 0 < rate < 1 or expected <= 0:
        return K_DEFAULT
    denominator = expected - expected_sq / expected - (clients - 1)
    if denominator <= 0:
        return K_DEFAULT
    rho = (spread / (rate * (1 - rate)) - (clients - 1)) / denominator
    if rho <= 0:
        return K_MAX
    return _clamp((1 - rho) / rho, K_MIN, K_MAX)


def mood_prior_strength(clients: int, n: float, n_sq: float, within_ss: float, between_ss: float) -> float:
    """λ = σ²/τ² of the normal-normal prior by one-way analysis of variance (data/README.md).

    σ² = within_ss / (N − I); MSB = between_ss / (I − 1); n₀ = (N − Σ nᵢ²/N) / (I − 1);
    τ² = (MSB − σ²) / n₀, floored at σ²/LAMBDA_MAX; λ kept within [LAMBDA_MIN, LAMBDA_MAX].
    LAMBDA_DEFAULT when I < MIN_CLIENTS or N − I < MIN_WITHIN_DF.
    """
    if clients < MIN_CLIENTS or n - clients < MIN_WITHIN_DF:
        return LAMBDA_DEFAULT
    sigma2 = within_ss / (n - clients)
    if sigma2 <= 0:
        return LAMBDA_MIN  # every client rates each time the same: their own mean is exact
    msb = between_ss / (clients - 1)
    n0 = (n - n_sq / n) / (clients - 1)
    tau2 = max((msb - sigma2) / n0, sigma2 / LAMBDA_MAX)
    return _clamp(sigma2 / tau2, LAMBDA_MIN, LAMBDA_MAX)


def _sums(con: DuckDBPyConnection, scope: Scope, client_id: str | None, period: Period | None, today: date) -> pd.DataFrame:
    start, as_of = (period.start, period.as_of(today)) if period else (SINCE_THE_START, today)
    params = {"scope_therapist": scope.therapist_id, "client_id": client_id, "start": start, "as_of": as_of,
              "canonical_types": list(ASSIGNMENT_TYPES)}
    frame = con.execute(PROFILE_SUMS, params).df()
    rank = {t: i for i, t in enumerate(ASSIGNMENT_TYPES)}
    return frame.sort_values("assignment_type", key=lambda s: s.map(lambda t: (rank.get(t, len(rank)), t)),
                             ignore_index=True)


def _priors(sums: pd.DataFrame) -> pd.DataFrame:
    """caseload_completion_rate, completion_prior_strength, caseload_mood_lift, mood_prior_strength per row.

    A type the caseload has no data for takes the caseload's figure over all types (prior_from = 'all types').
    """
    expected = sums["caseload_expected"].astype(float)
    total_expected = expected.sum()
    all_types_rate = sums["caseload_credit"].sum() / total_expected if total_expected > 0 else math.nan
    lift_n = sums["caseload_lift_n"].astype(float)
    total_lift_n = lift_n.sum()
    all_types_lift = ((sums["caseload_mood_lift"].fillna(0) * lift_n).sum() / total_lift_n
                      if total_lift_n > 0 else math.nan)
    type_rate = (sums["caseload_credit"] / expected).where(expected > 0)
    out = pd.DataFrame(index=sums.index)
    out["caseload_completion_rate"] = type_rate.fillna(all_types_rate)
    out["completion_prior_from"] = ["type" if has else "all types" for has in expected > 0]
    out["completion_prior_strength"] = [
        completion_prior_strength(int(r.completion_clients), float(r.caseload_expected), float(r.expected_sq or 0),
                                  float(r.completion_spread or 0), float(rate) if not pd.isna(rate) else math.nan)
        for r, rate in zip(sums.itertuples(), type_rate, strict=True)
    ]
    out["caseload_mood_lift"] = sums["caseload_mood_lift"].fillna(all_types_lift)
    out["mood_prior_from"] = ["type" if has else "all types" for has in lift_n > 0]
    out["mood_prior_strength"] = [
        mood_prior_strength(int(r.lift_clients), float(r.caseload_lift_n), float(r.lift_n_sq or 0),
                            float(r.within_ss or 0), float(r.between_ss or 0))
        for r in sums.itertuples()
    ]
    return out


def caseload_priors(
    con: DuckDBPyConnection, *, scope: Scope, period: Period | None = None, today: date
) -> pd.DataFrame:
    """The caseload's figure per type that client figures are shrunk toward, with the prior strengths.

    One row per canonical type (and any other type in the data): assignment_type, type_label,
    completion_clients (clients with the type due), caseload_expected, caseload_completion_rate (0-1),
    completion_prior_strength (k, expected practices), lift_clients, caseload_lift_n (ratings),
    caseload_mood_lift (points), mood_prior_strength (λ = σ²/τ², ratings); *_prior_from says 'type',
    or 'all types' when the caseload has no data of that type. Over `period`, or everything up to today.
    """
    sums = _sums(con, scope, None, period, today)
    priors = _priors(sums)
    frame = pd.concat([sums[["assignment_type", "completion_clients", "caseload_expected", "lift_clients",
                             "caseload_lift_n"]], priors], axis=1)
    frame.insert(1, "type_label", [TYPE_LABELS.get(t, t) for t in frame["assignment_type"]])
    return frame


PROFILE_COLUMNS = [
    "assignment_type", "type_label", "expected", "credit", "completion_rate", "caseload_completion_rate",
    "completion_prior_strength", "completion_weight", "shrunk_completion_rate", "mood_lift_n", "mood_lift_mean",
    "caseload_mood_lift", "mood_prior_strength", "mood_weight", "shrunk_mood_lift", "completion_prior_from",
    "mood_prior_from",
]


def client_profile_by_type(
    con: DuckDBPyConnection, *, scope: Scope, client_id: str, period: Period | None = None, today: date
) -> pd.DataFrame:
    """The client's completion and mood lift per type, raw and shrunk toward the caseload (the scope's clients).

    One row per canonical type (ASSIGNMENT_TYPES order), then any other type in the data. Over the
    period's due assignments and submissions, or everything up to today when `period` is None.
    Columns: assignment_type, type_label; expected (sum of expected_count due: the n of completion),
    credit, completion_rate (raw, NaN when nothing is due), caseload_completion_rate (the prior m),
    completion_prior_strength (k), completion_weight (expected / (expected + k)),
    shrunk_completion_rate = (credit + k·m) / (expected + k); mood_lift_n (ratings with both moods),
    mood_lift_mean (raw, NaN without ratings), caseload_mood_lift (the prior μ), mood_prior_strength
    (λ = σ²/τ²), mood_weight (n / (n + λ)), shrunk_mood_lift = w·mean + (1 − w)·μ; completion_prior_from
    and mood_prior_from ('type', or 'all types' when the caseload has no data of the type). A client
    with no data of a type gets exactly the caseload's figure; NaN only when the caseload has no data at all.
    """
    scope.require_client(con, client_id)
    sums = _sums(con, scope, client_id, period, today)
    frame = pd.concat([sums[["assignment_type", "expected", "credit", "mood_lift_n", "mood_lift_mean"]],
                       _priors(sums)], axis=1)
    frame.insert(1, "type_label", [TYPE_LABELS.get(t, t) for t in frame["assignment_type"]])
    expected, k, m = frame["expected"], frame["completion_prior_strength"], frame["caseload_completion_rate"]
    frame["completion_rate"] = (frame["credit"] / expected).where(expected > 0)
    frame["completion_weight"] = expected / (expected + k)
    # without data the prior itself (k·m / k can differ from m in the last bit)
    frame["shrunk_completion_rate"] = ((frame["credit"] + k * m) / (expected + k)).where(expected > 0, m)
    n, lam, mu = frame["mood_lift_n"].astype(float), frame["mood_prior_strength"], frame["caseload_mood_lift"]
    frame["mood_weight"] = n / (n + lam)
    shrunk = frame["mood_weight"] * frame["mood_lift_mean"] + (1 - frame["mood_weight"]) * mu
    frame["shrunk_mood_lift"] = shrunk.where(n > 0, mu)
    return frame[PROFILE_COLUMNS]
