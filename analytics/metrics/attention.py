"""Needs attention: the clients in scope that a therapist should look at first, and why.

The rules (RULES) fall into three kinds, ranked in this order: clinical risk (questionnaire scores
severe or getting worse, long silence, mood dropping or falling), engagement (missed in a row, low
completion) and admin (feedback waiting). Each is written out with the practice's thresholds (stored in
`settings` under `attention.<field>`), and each reason carries the client's own figures. Every rule is
computed over the whole scope at once: the adherence rules in one query over `due_assignments` and
`submission_facts`, the mood rules in one scan of mood.CLIENT_MOODS with the sums of mood.MOOD_TREND and the
figures of mood.MOOD_LEVELS (MOOD_FIGURES), and the score rules in one grouped query over outcomes.LATEST_SCORES
(SCORE_FLAGS), so each figure has one definition; the three are read in one statement (RANK_FIGURES). The reasons
are written for the flagged clients only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd
from duckdb import DuckDBPyConnection

from analytics.metrics import mood, outcomes
from analytics.metrics.attention_thresholds import SETTINGS_PREFIX as SETTINGS_PREFIX
from analytics.metrics.attention_thresholds import Thresholds as Thresholds
from analytics.metrics.attention_thresholds import load_thresholds as load_thresholds
from analytics.metrics.attention_thresholds import save_thresholds as save_thresholds
from analytics.metrics.attention_thresholds import thresholds_or_defaults as thresholds_or_defaults
from analytics.store.period import Period
from analytics.store.scope import Scope


@dataclass(frozen=True)
class Rule:
    """One needs-attention rule: a short id, its kind and its wording, filled in from the thresholds."""

    id: str
    kind: str  # a key of KINDS
    wording: str

    def text(self, thresholds: Thresholds) -> str:
        return self.wording.format(**asdict(thresholds), falling=-thresholds.mood_slope_per_week)


# The kinds of reason, in the order they rank: any clinical reason ranks a client above every client with none.
KINDS: dict[str, str] = {"clinical": "Clinical risk", "engagement": "Engagement", "admin": "Admin"}

# In order of severity within and across kinds.
RULES: tuple[Rule, ...] = (
    Rule("severe_band", "clinical",
         "The latest score is in the severe band: PHQ-9 {phq9_severe_from} or more, GAD-7 {gad7_severe_from} or more"),
    Rule("score_rise", "clinical",
         "The latest PHQ-9 score is {phq9_rise} points or more above the previous or the lowest earlier score "
         "(GAD-7: {gad7_rise} points): a reliable rise"),
    Rule("mood_drop", "clinical",
         "Mean mood over the last {mood_recent_days} days (at least {mood_recent_min_n} ratings) is {mood_drop_points:g} "
         "points or more under the client's usual level, the median of the last {mood_usual_days} days (at least "
         "{mood_usual_min_n} ratings)"),
    Rule("silent", "clinical",
         "No submission in the last {silent_days} days, whatever was due (active clients with homework set; "
         "paused and discharged clients are never flagged for it)"),
    Rule("mood_falling", "clinical",
         "Mood falling by {falling:g} points a week or more over the last {mood_window_days} days "
         "(at least {mood_min_n} mood ratings, the 95% interval wholly below zero)"),
    Rule("missed_in_a_row", "engagement", "The last {missed_in_a_row} assignments due were all missed (no credit)"),
    Rule("low_completion", "engagement",
         "Completion under {completion_below:.0%} in the last {completion_window_days} days "
         "(with at least {completion_min_due} assignments due)"),
    Rule("feedback_waiting", "admin",
         "A completed or partial submission from the last {feedback_window_days} days has "
         "waited more than {feedback_wait_days} days for feedback"),
)
SEVERITY = [rule.id for rule in RULES]
KIND_OF = {rule.id: rule.kind for rule in RULES}
# Each rule's bit in a set of rules met, the most severe the highest: a set's severity is the sum of its bits, so sets
# compare like binary numbers (the most severe rule met decides, then the next one, and so on).
SEVERITY_WEIGHTS = np.array([2 ** (len(SEVERITY) - n) for n in range(len(SEVERITY))], dtype=np.int64)


def rule_texts(thresholds: Thresholds = Thresholds()) -> list[tuple[str, str]]:
    """The rules as the page shows them, most severe first: (id, text)."""
    return [(rule.id, rule.text(thresholds)) for rule in RULES]


def rules_by_kind(thresholds: Thresholds = Thresholds()) -> dict[str, list[str]]:
    """The kind's name ("Clinical risk") -> the texts of its rules, in ranking order."""
    return {name: [rule.text(thresholds) for rule in RULES if rule.kind == kind] for kind, name in KINDS.items()}


# One row per active or paused client in scope with the figures of the adherence rules and their
# flags. Windows are the N calendar days ending today ($..._from = today - (N - 1)). $client_id (null: every client)
# keeps one client's rows from the first scan on (client_flags). {first_set_scope}: see ADHERENCE_FIGURES below.
_ADHERENCE_FIGURES = """
with people as (
    select c.client_id, c.label, c.therapist_id, t.name as therapist_name, c.status
    from clients c
    left join therapists t using (therapist_id)
    where c.status in ('active', 'paused')
      and ($scope_therapist is null or c.therapist_id = $scope_therapist)
      and ($client_id is null or c.client_id = $client_id)
),
due as materialized (
    select client_id, assignment_id, due_on, expected_count, credit
    from due_assignments($today, $scope_therapist)
    where $client_id is null or client_id = $client_id
),
due_figures as (
    select client_id,
           count(*) filter (where due_on >= $completion_from)                        as recent_due,
           sum(credit) filter (where due_on >= $completion_from)
               / sum(expected_count) filter (where due_on >= $completion_from)       as recent_completion,
           count(*) filter (where due_on >= $silent_from)                            as silent_window_due,
           max(due_on) filter (where credit > 0)                                     as last_credited_due
    from due
    group by client_id
),
missed as (
    -- the assignments due after the last due date on which any assignment earned credit
    select client_id, count(*) as missed_streak
    from due
    join due_figures f using (client_id)
    where not coalesce(due.credit > 0, false)  -- (one that earned credit is never after the last credited due date)
      and (f.last_credited_due is null or due.due_on > f.last_credited_due)
    group by client_id
),
last_days as (
    -- the last submission on or before today, any assignment (it is work the client reported)
    select client_id, last_submission_on from client_last_submission_days($today, $scope_therapist, null)
    where $client_id is null or client_id = $client_id
),
awaiting as (
    select a.client_id,
           count(*)                                                     as feedback_waiting,
           max($today - s.submitted_on)                                 as feedback_oldest_days
    from submission_facts s
    join assignments_since($feedback_from) a using (assignment_id)
    join clients c using (client_id)
    where near_local_days(s.submitted_at, $feedback_from, $feedback_before)
      and s.submitted_on <= $today
      and a.status = 'active'
      and s.completion in ('completed', 'partial')
      and s.submitted_on between $feedback_from and $feedback_before
      and (not holds_text(s.therapist_feedback) or s.feedback_local::date > $today)
      and ($scope_therapist is null or c.therapist_id = $scope_therapist)
      and ($client_id is null or a.client_id = $client_id)
    group by a.client_id
),
first_set as (
    -- grouped before it meets people (50k clients at 10M: a join of every assignment cost more than the grouping);
    -- a therapist's or a client's assignments are picked first
    select a.client_id, min(a.assigned_on) as first_set_on
    from assignments a
    where a.status = 'active' and a.assigned_on <= $today
      and ($client_id is null or a.client_id = $client_id){first_set_scope}
    group by a.client_id
),
work as (
    select client_id, l.last_submission_on, w.feedback_waiting, w.feedback_oldest_days
    from last_days l
    full join awaiting w using (client_id)
)
select p.*,
       d.recent_completion,
       coalesce(d.recent_due, 0)                      as recent_due,
       $today - w.last_submission_on                  as days_silent,
       w.last_submission_on,
       fs.first_set_on,
       coalesce(d.silent_window_due, 0)               as silent_window_due,
       coalesce(m.missed_streak, 0)                   as missed_streak,
       coalesce(w.feedback_waiting, 0)                as feedback_waiting,
       w.feedback_oldest_days,
       coalesce(d.recent_due >= $completion_min_due and d.recent_completion < $completion_below, false)
                                                      as low_completion,
       coalesce(p.status = 'active' and fs.first_set_on is not null
                and $today - coalesce(w.last_submission_on, fs.first_set_on) >= $silent_days, false)
                                                      as silent,
       coalesce(m.missed_streak >= $missed_in_a_row, false) as missed_in_a_row,
       coalesce(w.feedback_waiting, 0) > 0            as feedback_waiting_flag
from people p
left join due_figures d using (client_id)
left join missed m using (client_id)
left join work w using (client_id)
left join first_set fs using (client_id)
"""

# One therapist's query picks their assignments for first_set before the grouping; the practice's groups every
# assignment with no test of people. The final join with people keeps the clients in scope either way, and DuckDB does
# not fold a scope test on a bound parameter away, so for the practice it cost a join of every assignment (10M:
# 650-680 -> 590-620 ms).
ADHERENCE_FIGURES = _ADHERENCE_FIGURES.format(
    first_set_scope="\n      and ($scope_therapist is null or a.client_id in (select client_id from people))")
ADHERENCE_FIGURES_PRACTICE = _ADHERENCE_FIGURES.format(first_set_scope="")


# Per client in scope with a mood rating in the longer of the trend window and the usual window (both end today): the
# sums of mood.MOOD_TREND over the trend window and the figures of mood.MOOD_LEVELS, from one scan of the ratings
# (the two functions each scan them; tests/metrics/test_attention.py compares the figures with theirs).
MOOD_FIGURES = "with " + mood.CLIENT_MOODS + """,
points as (
    select client_id, submitted_on, mood,
           (epoch(submitted_local) - epoch($trend_from::timestamp)) / (7 * 86400) as weeks,
           submitted_on >= $trend_from                                         as in_trend,
           submitted_on >= $usual_from                                         as in_usual
    from client_moods
)
select client_id,
       coalesce(regr_count(mood, weeks) filter (where in_trend), 0)::bigint  as n,
       min(submitted_on) filter (where in_trend)                              as first_day,
       max(submitted_on) filter (where in_trend)                              as last_day,
       regr_slope(mood, weeks) filter (where in_trend)                        as slope,
       regr_sxx(mood, weeks) filter (where in_trend)                          as sxx,
       regr_syy(mood, weeks) filter (where in_trend)                          as syy,
       regr_sxy(mood, weeks) filter (where in_trend)                          as sxy,
       avg(mood) filter (where in_usual and submitted_on >= $recent_from)     as recent_mean,
       count(*) filter (where in_usual and submitted_on >= $recent_from)      as recent_n,
       median(mood) filter (where in_usual)                                   as usual_median,
       count(*) filter (where in_usual)                                       as usual_n
from points
group by client_id
"""


def _mood_params(scope: Scope, today: date, t: Thresholds, client_id: str | None = None) -> dict[str, object]:
    trend_from = Period.last_days(t.mood_window_days, today=today).start
    usual_from = Period.last_days(t.mood_usual_days, today=today).start
    return {"start": min(trend_from, usual_from), "as_of": today, "client_id": client_id,
            "scope_therapist": scope.therapist_id, "trend_from": trend_from, "usual_from": usual_from,
            "recent_from": Period.last_days(t.mood_recent_days, today=today).start}


def _mood_lines(sums: pd.DataFrame) -> pd.DataFrame:
    """mood_slope_per_week, mood_ci_low and mood_ci_high from MOOD_FIGURES' sums (mood._trend_lines)."""
    return mood._trend_lines(sums).rename(columns={"slope_per_week": "mood_slope_per_week", "ci_low": "mood_ci_low",
                                                   "ci_high": "mood_ci_high"})


def _mood_figures(con: DuckDBPyConnection, scope: Scope, today: date, t: Thresholds,
                  client_id: str | None = None) -> pd.DataFrame:
    """Per client in scope with a mood rating in either window: mood_slope_per_week, mood_ci_low, mood_ci_high (NaN
    below 3 ratings or on one day) and mood_n over the last mood_window_days (mood.caseload_mood_trends' figures);
    mood_recent_mean, mood_recent_n, mood_usual_median and mood_usual_n (mood.mood_levels' figures). MOOD_FIGURES
    alone: rank_needs_attention reads the same in its one statement (RANK_FIGURES)."""
    sums = con.execute(MOOD_FIGURES, _mood_params(scope, today, t, client_id)).df()
    return pd.concat([sums[["client_id"]], _mood_lines(sums), sums[["n"]].rename(columns={"n": "mood_n"}),
                      sums[["recent_mean", "recent_n", "usual_median", "usual_n"]].add_prefix("mood_")], axis=1)


def _adherence_params(scope: Scope, today: date, t: Thresholds, client_id: str | None = None) -> dict[str, object]:
    def window_from(days: int) -> date:
        return today - timedelta(days=days - 1)

    return {
        "scope_therapist": scope.therapist_id,
        "client_id": client_id,
        "today": today,
        "completion_from": window_from(t.completion_window_days),
        "completion_min_due": t.completion_min_due,
        "completion_below": t.completion_below,
        "silent_from": window_from(t.silent_days),
        "silent_days": t.silent_days,
        "missed_in_a_row": t.missed_in_a_row,
        "feedback_from": window_from(t.feedback_window_days),
        "feedback_before": today - timedelta(days=t.feedback_wait_days + 1),  # more than wait days ago
    }


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@lru_cache(maxsize=4096)  # the reasons of the 1,000 rows a page shows name about 2,400 days, mostly the same few dozen
def _day(value: object, today: date) -> str:
    """ "14 Nov", or "14 Nov 2025" when not in today's year."""
    day = value.date() if isinstance(value, datetime) else value if isinstance(value, date) else pd.Timestamp(value).date()
    return f"{day.day} {day:%b}" if day.year == today.year else f"{day.day} {day:%b %Y}"


def _silent_reason(row: dict, t: Thresholds, today: date) -> str:
    if pd.isna(row["last_submission_on"]):
        days = (today - pd.Timestamp(row["first_set_on"]).date()).days
        return f"No submission yet, {days} days since homework was first set ({_day(row['first_set_on'], today)})"
    return f"No submission for {int(row['days_silent'])} days (the last on {_day(row['last_submission_on'], today)})"


def _missed_reason(row: dict, t: Thresholds, today: date) -> str:
    return f"The last {int(row['missed_streak'])} assignments due were all missed"


def _completion_reason(row: dict, t: Thresholds, today: date) -> str:
    return f"Completion {row['recent_completion']:.0%} in the last {t.completion_window_days} days ({int(row['recent_due'])} due)"


def _mood_reason(row: dict, t: Thresholds, today: date) -> str:
    return (f"Mood falling {-row['mood_slope_per_week']:.1f} points a week over the last {t.mood_window_days} days "
            f"(95% CI {row['mood_ci_low']:.1f} to {row['mood_ci_high']:.1f}; {int(row['mood_n'])} ratings)")


def _mood_drop_reason(row: dict, t: Thresholds, today: date) -> str:
    return (f"Mood {row['mood_recent_mean']:.1f} over the last {t.mood_recent_days} days "
            f"({_plural(int(row['mood_recent_n']), 'rating')}), {row['mood_drop']:.1f} under their usual "
            f"{row['mood_usual_median']:.1f} (median of {int(row['mood_usual_n'])} ratings in {t.mood_usual_days} days)")


def _feedback_reason(row: dict, t: Thresholds, today: date) -> str:
    waiting = int(row["feedback_waiting"])
    subject = "1 submission is" if waiting == 1 else f"{waiting} submissions are"
    return f"{subject} waiting for feedback, the oldest for {int(row['feedback_oldest_days'])} days"


# Per client in scope with a score up to $today: whether any measure's latest score rose reliably from the lowest
# earlier one (never above the previous one, so a rise from either is a rise from it) or is in the severe band, the
# latest PHQ-9 and GAD-7, and the measures with a rule met (by measure name, as outcomes.latest_scores orders them).
SCORE_FLAGS = "with latest_scores as (" + outcomes.LATEST_SCORE_ROWS + """),
judged as (
    select *,
           coalesce(rise_from_best >= case measure when 'PHQ-9' then $phq9_rise when 'GAD-7' then $gad7_rise end,
                    false)                                                                 as rose,
           coalesce(latest_score >= case measure when 'PHQ-9' then $phq9_severe_from
                                                 when 'GAD-7' then $gad7_severe_from end, false) as is_severe
    from latest_scores
)
select client_id,
       bool_or(rose)                                                  as score_rise,
       bool_or(is_severe)                                             as severe_band,
       any_value(latest_score) filter (where measure = 'PHQ-9')       as phq9_latest,
       any_value(latest_score) filter (where measure = 'GAD-7')       as gad7_latest,
       list({'measure': measure, 'latest_score': latest_score, 'latest_on': latest_on, 'best_score': best_score,
             'best_on': best_on, 'rise_from_best': rise_from_best, 'rose': rose, 'is_severe': is_severe}
            order by measure) filter (where rose or is_severe)       as scores_met
from judged
group by client_id
"""


# Every figure rank_needs_attention ranks by, in one statement: the adherence figures (one of the two texts of
# _ADHERENCE_FIGURES), each client's mood sums and levels (MOOD_FIGURES) and score flags (SCORE_FLAGS), joined to the
# clients in scope; a client with no mood rating or score gets zero ratings and no score rule. One statement instead of
# three and two merges in pandas (docs/DESIGN.md "Wave 10": rank_needs_attention for the demo's practice 44 -> 34 ms
# and one client 42 -> 31 ms; at 1m 137 -> 114 and 56 -> 45 ms; at 10M the same).
def _rank_figures(adherence: str) -> str:
    return ("with adherence as (" + adherence + "),\nmoods as (" + MOOD_FIGURES + "),\nscores as (" + SCORE_FLAGS
            + """)
select a.*,
       coalesce(m.n, 0)               as mood_n,
       m.first_day, m.last_day, m.slope, m.sxx, m.syy, m.sxy,
       m.recent_mean                  as mood_recent_mean,
       coalesce(m.recent_n, 0)        as mood_recent_n,
       m.usual_median                 as mood_usual_median,
       coalesce(m.usual_n, 0)         as mood_usual_n,
       coalesce(s.score_rise, false)  as score_rise,
       coalesce(s.severe_band, false) as severe_band,
       s.phq9_latest, s.gad7_latest, s.scores_met
from adherence a
left join moods m using (client_id)
left join scores s using (client_id)
""")


RANK_FIGURES = _rank_figures(ADHERENCE_FIGURES)
RANK_FIGURES_PRACTICE = _rank_figures(ADHERENCE_FIGURES_PRACTICE)


def _figures(con: DuckDBPyConnection, scope: Scope, today: date, t: Thresholds,
             client_id: str | None = None) -> pd.DataFrame:
    """Every active or paused client in scope (or only client_id) with the figures the rules read, from RANK_FIGURES:
    the adherence figures, _mood_figures' columns (zero ratings when there are none) and mood_drop, and _score_flags'
    (no score rule met when there is no score; tests/metrics/test_attention.py compares them with those two)."""
    figures = RANK_FIGURES if scope.therapist_id is not None else RANK_FIGURES_PRACTICE
    params = {**_adherence_params(scope, today, t, client_id), **_mood_params(scope, today, t, client_id),
              **_score_params(scope, today, t, client_id)}
    frame = con.execute(figures, params).df()
    frame = pd.concat([frame, _mood_lines(frame.rename(columns={"mood_n": "n"}))], axis=1)
    frame["mood_drop"] = frame["mood_usual_median"] - frame["mood_recent_mean"]
    for column in ("phq9_latest", "gad7_latest"):
        frame[column] = frame[column].astype("Int64")
    return frame


def _score_text(score: dict, t: Thresholds, today: date) -> str:
    """One measure's score reason, e.g. "GAD-7 16 on 14 Nov, up from 10 on 3 Oct (+6; reliable change is 4); severe
    band"."""
    measure = score["measure"]
    text = f"{measure} {int(score['latest_score'])} on {_day(score['latest_on'], today)}"
    if score["rose"]:
        rise = {"PHQ-9": t.phq9_rise, "GAD-7": t.gad7_rise}[measure]
        text += (f", up from {int(score['best_score'])} on {_day(score['best_on'], today)} "
                 f"(+{int(score['rise_from_best'])}; reliable change is {rise})")
    if score["is_severe"]:
        text += "; severe band"
    return text


def _score_flags(con: DuckDBPyConnection, scope: Scope, today: date, t: Thresholds,
                 client_id: str | None = None) -> pd.DataFrame:
    """Per client with a score: score_rise and severe_band (booleans), scores_met (the measures with a rule met,
    written out by `_score_text` for the flagged clients only) and the latest PHQ-9 and GAD-7 scores (phq9_latest,
    gad7_latest). Decided in one grouped query (SCORE_FLAGS) over outcomes.LATEST_SCORES; rank_needs_attention reads
    the same in its one statement (RANK_FIGURES)."""
    return con.execute(SCORE_FLAGS, _score_params(scope, today, t, client_id)).df()


def _score_params(scope: Scope, today: date, t: Thresholds, client_id: str | None = None) -> dict[str, object]:
    return {"today": today, "scope_therapist": scope.therapist_id, "client_id": client_id, "phq9_rise": t.phq9_rise,
            "gad7_rise": t.gad7_rise, "phq9_severe_from": t.phq9_severe_from, "gad7_severe_from": t.gad7_severe_from}


def _texts_of(rule: str, hits: list[str], score_texts: list[str]) -> int:
    """How many reason texts `rule` wrote for a client (the score rules write one per measure, together)."""
    if rule == "score_rise" or (rule == "severe_band" and "score_rise" not in hits):
        return len(score_texts)
    return 0 if rule == "severe_band" else 1


COLUMNS = [
    "rank", "client_id", "label", "therapist_id", "therapist_name", "status", "reasons", "reason_kinds", "rule_ids",
    "kinds",
    "top_kind", "n_reasons", "recent_completion", "recent_due", "days_silent", "last_submission_on", "missed_streak",
    "mood_slope_per_week", "mood_ci_low", "mood_ci_high", "mood_n", "mood_recent_mean", "mood_recent_n",
    "mood_usual_median", "mood_usual_n", "phq9_latest", "gad7_latest", "feedback_waiting", "feedback_oldest_days",
]
KIND_ORDER = list(KINDS)
# The columns the reason writers (and the score texts) read.
REASON_FIGURES = ["scores_met", "days_silent", "last_submission_on", "first_set_on", "missed_streak",
                  "recent_completion", "recent_due", "mood_slope_per_week", "mood_ci_low", "mood_ci_high", "mood_n",
                  "mood_recent_mean", "mood_recent_n", "mood_drop", "mood_usual_median", "mood_usual_n",
                  "feedback_waiting", "feedback_oldest_days"]


def needs_attention(
    con: DuckDBPyConnection, *, scope: Scope, today: date, thresholds: Thresholds = Thresholds(),
    client_id: str | None = None,
) -> pd.DataFrame:
    """The active and paused clients in scope with at least one reason for attention, most urgent first.

    Columns: rank (1 = first), client_id, label, therapist_id, therapist_name, status, reasons (list of
    texts with the client's own figures), reason_kinds (the KINDS key of each reason), rule_ids (list of
    RULES ids, most severe first), kinds (the
    KINDS keys of those rules, in KINDS order) and top_kind (the first of them), n_reasons, and the key
    figures: recent_completion (0-1, over assignments due in the last completion_window_days) and
    recent_due (assignments), days_silent (days since the last submission; NA if none) and
    last_submission_on, missed_streak (assignments due after the last due date on which any earned
    credit: all of them earned none), mood_slope_per_week, mood_ci_low, mood_ci_high (points a week
    over the last mood_window_days) and mood_n (ratings), mood_recent_mean and mood_recent_n (the last
    mood_recent_days), mood_usual_median and mood_usual_n (the last mood_usual_days), phq9_latest and
    gad7_latest (scores), feedback_waiting (submissions) and feedback_oldest_days.
    Ranked by the kind of the most serious reason (clinical, engagement, admin), then the most severe
    rule met (RULES order), then the next most severe, and so on, then the lowest recent_completion.
    With `client_id`, only that client's row is worked out (every query keeps to their rows; see client_flags).
    It is `with_reasons(rank_needs_attention(...))`: a page showing some rows writes the reasons of those only.
    """
    ranked = rank_needs_attention(con, scope=scope, today=today, thresholds=thresholds, client_id=client_id)
    return with_reasons(ranked, thresholds=thresholds, today=today)


# The columns of rank_needs_attention: needs_attention's without the texts, and the figures the texts are written from.
RANKED_COLUMNS = [c for c in COLUMNS if c not in ("reasons", "reason_kinds")] + [
    c for c in REASON_FIGURES if c not in COLUMNS]


def rank_needs_attention(
    con: DuckDBPyConnection, *, scope: Scope, today: date, thresholds: Thresholds = Thresholds(),
    client_id: str | None = None,
) -> pd.DataFrame:
    """needs_attention's rows in its order, without the reason texts (the ranking never reads them): its columns
    but reasons and reason_kinds, and the figures the texts are written from (RANKED_COLUMNS). `with_reasons` writes
    the texts of the rows given to it: the counts by kind and the rank need none, so a page writes them only for
    the rows it shows (at 10M, 24,644 clients are listed and the Overview names six)."""
    t = thresholds
    frame = _figures(con, scope, today, t, client_id)

    flags = {
        "score_rise": frame["score_rise"],
        "severe_band": frame["severe_band"],
        "mood_drop": ((frame["mood_usual_n"] >= t.mood_usual_min_n) & (frame["mood_recent_n"] >= t.mood_recent_min_n)
                      & (frame["mood_drop"] >= t.mood_drop_points - 1e-9)),  # NaN compares False
        "silent": frame["silent"],
        "mood_falling": ((frame["mood_n"] >= t.mood_min_n) & (frame["mood_slope_per_week"] <= t.mood_slope_per_week)
                         & (frame["mood_ci_high"] < 0)),
        "missed_in_a_row": frame["missed_in_a_row"],
        "low_completion": frame["low_completion"],
        "feedback_waiting": frame["feedback_waiting_flag"],
    }
    met = np.column_stack([flags[rule].to_numpy(dtype=bool) for rule in SEVERITY])  # a row per client, a column per rule
    met_any = met.any(axis=1)
    frame = frame[met_any].copy()  # the clients with a rule met
    # Each client's set of rules met as one number (its severity, SEVERITY_WEIGHTS), and what follows from the
    # set worked out once per set (a caseload has a few dozen), not once per client (24,644 listed at 10M).
    severity = met[met_any].astype(np.int64) @ SEVERITY_WEIGHTS
    sets, of_set = np.unique(severity, return_inverse=True)
    ids = [tuple(rule for rule, weight in zip(SEVERITY, SEVERITY_WEIGHTS.tolist(), strict=True) if value & weight)
           for value in sets.tolist()]
    kinds = [_kinds_of(rule_ids) for rule_ids in ids]
    of_set = of_set.tolist()
    frame["rule_ids"] = pd.Series([list(ids[n]) for n in of_set], index=frame.index, dtype=object)
    frame["kinds"] = pd.Series([list(kinds[n]) for n in of_set], index=frame.index, dtype=object)
    frame["top_kind"] = np.array([k[0] for k in kinds] or [""], dtype=object)[of_set]
    frame["n_reasons"] = np.array([len(rule_ids) for rule_ids in ids] or [0], dtype=np.int64)[of_set]
    frame["kind_rank"] = np.array([KIND_ORDER.index(k[0]) for k in kinds] or [0], dtype=np.int64)[of_set]
    frame["severity"] = severity
    frame = frame.sort_values(["kind_rank", "severity", "recent_completion", "label", "client_id"],
                              ascending=[True, False, True, True, True], na_position="last")
    frame["rank"] = range(1, len(frame) + 1)
    return frame[RANKED_COLUMNS].reset_index(drop=True)


def with_reasons(ranked: pd.DataFrame, *, thresholds: Thresholds, today: date) -> pd.DataFrame:
    """Rows of `rank_needs_attention` (all, the first few, one kind's) with their reasons written as
    needs_attention writes them (reasons, reason_kinds), in needs_attention's columns (COLUMNS); ranks kept.
    `thresholds` and `today` must be the ones the rows were ranked with (the texts quote them)."""
    t = thresholds
    writers = {"silent": _silent_reason, "missed_in_a_row": _missed_reason, "low_completion": _completion_reason,
               "mood_drop": _mood_drop_reason, "mood_falling": _mood_reason, "feedback_waiting": _feedback_reason}
    records = _records(ranked, REASON_FIGURES)  # only what the reasons are written from
    reasons, reason_kinds = [], []
    for row, hits in zip(records, ranked["rule_ids"], strict=True):
        score_texts = [_score_text(score, t, today) for score in row["scores_met"]] if (
            "score_rise" in hits or "severe_band" in hits) else []
        texts: list[str] = []
        for rule in hits:
            if rule == "score_rise" or (rule == "severe_band" and "score_rise" not in hits):
                texts.extend(score_texts)  # one text per measure, saying both rise and band
            elif rule in writers:
                texts.append(writers[rule](row, t, today))
        reasons.append(texts)
        reason_kinds.append([KIND_OF[rule] for rule in hits for _ in range(_texts_of(rule, hits, score_texts))])
    frame = ranked.copy()
    for column, values in (("reasons", reasons), ("reason_kinds", reason_kinds)):
        frame[column] = pd.Series(values, index=frame.index, dtype=object)  # lists, even in no rows
    return frame[COLUMNS].reset_index(drop=True)


def _records(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
    """frame[columns] as one dict per row, as to_dict("records") gives them (a missing value None, NaN or NaT),
    read column by column: to_dict boxes value after value (0.39 s for the 25k clients listed at 10M, against 0.1 s)."""
    lists = [[None if value is pd.NA else value for value in frame[column].tolist()] for column in columns]
    return [dict(zip(columns, values, strict=True)) for values in zip(*lists, strict=True)]


def _kinds_of(rule_ids: tuple[str, ...]) -> tuple[str, ...]:
    """The KINDS of the rules met, in KINDS order."""
    return tuple(kind for kind in KIND_ORDER if any(KIND_OF[rule] == kind for rule in rule_ids))


def kind_counts(flagged: pd.DataFrame) -> dict[str, int]:
    """KINDS key -> how many clients of `needs_attention` have at least one reason of that kind (every kind listed)."""
    return {kind: int(sum(kind in kinds for kinds in flagged["kinds"])) for kind in KINDS}


def of_kind(flagged: pd.DataFrame, kind: str | None) -> pd.DataFrame:
    """The rows of `needs_attention` with a reason of `kind` (all rows for None), ranks kept."""
    if kind is None:
        return flagged
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    return flagged[[kind in kinds for kinds in flagged["kinds"]]].reset_index(drop=True)


def client_flags(con: DuckDBPyConnection, *, scope: Scope, client_id: str, today: date,
                 thresholds: Thresholds = Thresholds()) -> pd.DataFrame:
    """One client's row of `needs_attention` (empty when no rule is met); ScopeError outside the scope.

    Every query keeps to the client's own rows (needs_attention's `client_id`), over their own therapist's caseload:
    the same columns and figures as their row in the list (tests/metrics/test_attention.py compares them), except
    rank, which is 1 (the client's place in a list of one, not in the caseload's)."""
    scope.require_client(con, client_id)
    therapist = con.execute("select therapist_id from clients where client_id = ?", [client_id]).fetchone()[0]
    return needs_attention(con, scope=scope.narrowed_to(therapist), today=today, thresholds=thresholds,
                           client_id=client_id)
