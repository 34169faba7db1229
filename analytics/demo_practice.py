"""The synthetic practice's draws for `demo.generate`: caseloads, homework, submissions and measures,
vectorised with one seeded generator. The catalogue they draw from is in `demo_catalogue`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from analytics.demo_catalogue import (
    CLIENT_FIRST_NAMES,
    CLIENT_NOTES,
    CONCERN_FAMILY_WEIGHT,
    CONCERN_GOALS,
    CONCERN_SHARE,
    CONCERN_STARTS_ANXIOUS,
    CONCERN_STARTS_DEPRESSED,
    CONCERNS,
    FAMILY_BASE_WEIGHT,
    FAMILY_MOOD_LIFT,
    HOMEWORK_CATALOGUE,
    KIND_DAILY,
    KIND_FAMILY,
    KIND_MINUTES,
    KIND_WEIGHT,
    MEASURE_RANGES,
    PREFERENCE_TAGS,
    TAG_FAMILY_AFFINITY,
    THERAPIST_FEEDBACK,
    THERAPIST_FIRST_NAMES,
    THERAPIST_LAST_NAMES,
)
from analytics.store.vocabulary import ASSIGNMENT_STATUSES, ASSIGNMENT_TYPES, CLIENT_STATUSES, COMPLETIONS

_SECONDS_PER_DAY = 86_400


_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Calendar:
    """The history window as day numbers (days since 1970-01-01)."""

    start_day: int  # first day of week 0
    end_day: int  # last day of history
    weeks: int
    until_second: int | None = None  # the moment history stops, when it stops before the end of end_day

    @classmethod
    def ending(cls, end: date, weeks: int, *, until: datetime | None = None) -> Calendar:
        """The `weeks` weeks ending on `end`; `until` (local wall-clock time on `end`) stops history earlier that day."""
        end_day = (end - _EPOCH).days
        until_second = None
        if until is not None:
            if until.date() != end:
                raise ValueError(f"until ({until:%Y-%m-%d %H:%M}) must fall on the last day ({end})")
            until_second = int((until.replace(tzinfo=None) - datetime(1970, 1, 1)).total_seconds())
        return cls(start_day=end_day - 7 * weeks + 1, end_day=end_day, weeks=weeks, until_second=until_second)

    @property
    def start_weekday(self) -> int:
        """Calendar weekday (Monday 0) of the window's first day."""
        return (self.start_day + 3) % 7  # 1970-01-01 was a Thursday

    @property
    def last_second(self) -> int:
        """End of history: ``end`` at 23:59:59 (or the `until` moment), in seconds since the epoch."""
        end_of_day = (self.end_day + 1) * _SECONDS_PER_DAY - 1
        return end_of_day if self.until_second is None else min(end_of_day, self.until_second)


def make_therapists(rng: np.random.Generator, count: int) -> pd.DataFrame:
    n_first, n_last = len(THERAPIST_FIRST_NAMES), len(THERAPIST_LAST_NAMES)
    combos = np.resize(rng.permutation(n_first * n_last), count)
    first = np.array(THERAPIST_FIRST_NAMES, dtype=object)[combos // n_last]
    last = np.array(THERAPIST_LAST_NAMES, dtype=object)[combos % n_last]
    # Past 400 therapists the names repeat; a number keeps each email unique.
    repeat = np.arange(count) // (n_first * n_last)
    suffix = np.where(repeat > 0, (repeat + 1).astype(str).astype(object), "")
    title = np.where(rng.random(count) < 0.7, "Dr. ", "").astype(object)
    local = np.char.lower((first + "." + last + suffix).astype(str))
    return pd.DataFrame(
        {
            "therapist_id": _ids("T", count, 2),
            "name": pd.array((title + first + " " + last).astype(str), dtype="str"),
            "email": pd.array(np.char.add(local, "@example.org"), dtype="str"),
        }
    )


@dataclass(frozen=True)
class _Caseload:
    """Clients as a table plus the hidden traits that drive their homework and measures."""

    table: pd.DataFrame
    ids: np.ndarray
    therapist: np.ndarray  # therapist index per client
    concern: np.ndarray  # index into CONCERNS
    propensity: np.ndarray  # chance of doing any one expected practice, before family effects
    family_affinity: np.ndarray  # (clients, families): pull towards each family from preferences
    kind_weight: np.ndarray  # (clients, kinds): how often each kind of homework is set
    mood_lift: np.ndarray  # (clients, families): mean mood lift of a completed attempt
    session_offset: np.ndarray  # day of the session within each week, 0-6
    intake_week: np.ndarray
    last_week: np.ndarray  # last week with a session (weeks - 1 for active clients)
    intake_day: np.ndarray
    mood_base: np.ndarray
    mood_gain: np.ndarray  # long-run change of baseline mood
    morning_share: np.ndarray  # share of attempts done in the morning
    mood_report_rate: np.ndarray
    skip_report_rate: np.ndarray  # chance of reporting a practice as skipped instead of staying silent
    quality_offset: np.ndarray
    chosen_rate: np.ndarray  # share of homework chosen together with the client
    deteriorating: np.ndarray


def make_caseload(rng: np.random.Generator, count: int, therapist_ids: np.ndarray, calendar: Calendar) -> _Caseload:
    weeks = calendar.weeks
    n_families = len(ASSIGNMENT_TYPES)

    # Every therapist gets a client first; the rest follow uneven caseload sizes.
    caseload_share = rng.dirichlet(np.full(len(therapist_ids), 4.0))
    therapist = rng.choice(len(therapist_ids), size=count, p=caseload_share)
    therapist[: min(count, len(therapist_ids))] = np.arange(min(count, len(therapist_ids)))
    therapist = rng.permutation(therapist)

    # Special groups, always present in a caseload of ten or more: clients who do little or
    # nothing, very engaged clients, and clients who get worse.
    order = rng.permutation(count)
    n_disengaged = max(1, round(0.04 * count)) if count >= 10 else 0
    n_engaged = max(1, round(0.15 * count)) if count >= 10 else 0
    n_worse = max(1, round(0.04 * count)) if count >= 10 else 0
    disengaged = np.zeros(count, dtype=bool)
    disengaged[order[:n_disengaged]] = True
    engaged = np.zeros(count, dtype=bool)
    engaged[order[n_disengaged : n_disengaged + n_engaged]] = True
    deteriorating = np.zeros(count, dtype=bool)
    deteriorating[order[n_disengaged + n_engaged : n_disengaged + n_engaged + n_worse]] = True

    propensity = rng.beta(4.5, 3.0, count)
    propensity[engaged] = rng.beta(20.0, 2.0, engaged.sum())
    propensity[disengaged] = rng.beta(1.0, 30.0, disengaged.sum())

    concern = rng.choice(len(CONCERNS), size=count, p=CONCERN_SHARE)
    goal_pick = rng.integers(0, 2, count)
    goals = np.array(CONCERN_GOALS, dtype=object)[concern, goal_pick]

    n_tags = rng.choice(4, size=count, p=[0.1, 0.45, 0.35, 0.1])
    tag_rank = np.argsort(np.argsort(rng.random((count, len(PREFERENCE_TAGS))), axis=1), axis=1)
    has_tag = tag_rank < n_tags[:, None]
    preferences = np.full(count, "", dtype=object)
    for column, tag in enumerate(PREFERENCE_TAGS):
        with_tag = np.where(preferences == "", tag, preferences + ";" + tag)
        preferences = np.where(has_tag[:, column], with_tag, preferences)
    preferences[preferences == ""] = None
    family_affinity = np.minimum(has_tag @ TAG_FAMILY_AFFINITY, 1.5)

    family_weight = FAMILY_BASE_WEIGHT * (1.0 + family_affinity) * CONCERN_FAMILY_WEIGHT[concern]
    # Each client's repertoire within a family: a few kinds come back week after week.
    repertoire = rng.gamma(0.6, size=(count, len(HOMEWORK_CATALOGUE))) * KIND_WEIGHT + 1e-3
    family_total = np.zeros((count, n_families))
    for family in range(n_families):
        family_total[:, family] = repertoire[:, KIND_FAMILY == family].sum(axis=1)
    kind_weight = family_weight[:, KIND_FAMILY] * repertoire / family_total[:, KIND_FAMILY]
    kind_weight /= kind_weight.sum(axis=1, keepdims=True)

    mood_lift = FAMILY_MOOD_LIFT + rng.normal(0.0, 0.3, (count, n_families))
    favourite = rng.choice(np.flatnonzero(np.array(ASSIGNMENT_TYPES) != "other"), size=count)
    has_favourite = rng.random(count) < 0.15
    mood_lift[has_favourite, favourite[has_favourite]] += 1.5

    weekday = rng.choice(7, size=count, p=[0.22, 0.22, 0.22, 0.22, 0.12, 0.0, 0.0])
    session_offset = (weekday - calendar.start_weekday) % 7
    starts_late = rng.random(count) >= 0.45
    late_week = rng.integers(1, max(2, int(0.7 * weeks) + 1), count)
    intake_week = np.where(starts_late, np.minimum(late_week, weeks - 1), 0)
    # The clients who make the demo's point start early enough to show it.
    special = disengaged | engaged
    intake_week[special] = rng.integers(0, max(1, weeks // 3), special.sum())
    intake_day = calendar.start_day + 7 * intake_week + session_offset

    # A few clients are discharged or paused: no homework after their last session week.
    status = np.full(count, CLIENT_STATUSES.index("active"))
    last_week = np.full(count, weeks - 1)
    earliest_stop = intake_week + 2
    can_stop = np.flatnonzero((earliest_stop <= weeks - 2) & ~disengaged)
    n_discharged = max(1, round(0.08 * count)) if count >= 10 else 0
    n_paused = max(1, round(0.05 * count)) if count >= 10 else 0
    stopping = rng.permutation(can_stop)[: n_discharged + n_paused]
    status[stopping] = np.where(
        np.arange(len(stopping)) < n_discharged, CLIENT_STATUSES.index("discharged"), CLIENT_STATUSES.index("paused")
    )
    stop_draw = rng.random(len(stopping))
    last_week[stopping] = earliest_stop[stopping] + np.floor(stop_draw * (weeks - 1 - earliest_stop[stopping])).astype(int)

    first = np.array(CLIENT_FIRST_NAMES, dtype=object)[rng.integers(0, len(CLIENT_FIRST_NAMES), count)]
    initial = np.array([chr(ord("A") + i) for i in range(26)], dtype=object)[rng.integers(0, 26, count)]
    ids = _ids("C", count, 3)
    table = pd.DataFrame(
        {
            "client_id": ids,
            "therapist_id": pd.array(therapist_ids[therapist], dtype="str"),
            "label": pd.array(first + " " + initial + ".", dtype="str"),
            "intake_date": _to_datetime(intake_day * _SECONDS_PER_DAY),
            "primary_concern": pd.array(np.array(CONCERNS, dtype=object)[concern], dtype="str"),
            "goals": pd.array(goals, dtype="str"),
            "preferences": pd.array(preferences, dtype="str"),
            "status": _texts(CLIENT_STATUSES, status),
        }
    )
    mood_gain = np.where(deteriorating, -2.0, 3.0 * (propensity - 0.25))
    low_mood = CONCERN_STARTS_DEPRESSED[concern]
    return _Caseload(
        table=table,
        ids=ids.to_numpy(dtype=object),
        therapist=therapist,
        concern=concern,
        propensity=propensity,
        family_affinity=family_affinity,
        kind_weight=kind_weight,
        mood_lift=mood_lift,
        session_offset=session_offset,
        intake_week=intake_week,
        last_week=last_week,
        intake_day=intake_day,
        mood_base=np.where(low_mood, rng.normal(3.8, 1.1, count), rng.normal(4.8, 1.2, count)),
        mood_gain=mood_gain,
        morning_share=rng.beta(2.0, 5.0, count),
        mood_report_rate=rng.beta(8.0, 2.0, count),
        skip_report_rate=rng.beta(2.0, 8.0, count),
        quality_offset=rng.normal(0.0, 0.4, count),
        chosen_rate=rng.beta(3.0, 2.5, count),
        deteriorating=deteriorating,
    )


@dataclass(frozen=True)
class _Homework:
    """Assignments as a table plus the arrays submissions are drawn from."""

    table: pd.DataFrame
    ids: np.ndarray
    client: np.ndarray  # client index per assignment
    kind: np.ndarray  # index into HOMEWORK_CATALOGUE
    week: np.ndarray
    assigned_day: np.ndarray
    due_day: np.ndarray
    expected_count: np.ndarray
    est_minutes: np.ndarray
    chosen: np.ndarray
    cancelled: np.ndarray


def make_homework(rng: np.random.Generator, caseload: _Caseload, calendar: Calendar) -> _Homework:
    n_clients = len(caseload.ids)
    week = np.arange(calendar.weeks)
    in_therapy = (week >= caseload.intake_week[:, None]) & (week <= caseload.last_week[:, None])
    session_held = rng.random(in_therapy.shape) < 0.9
    session_held[np.arange(n_clients), caseload.intake_week] = True  # homework starts at intake
    session_client, session_week = np.nonzero(in_therapy & session_held)

    # Sessions move a day now and then, but never out of their week or past the end of history.
    week_start = calendar.start_day + 7 * session_week
    moved = rng.choice([-1, 0, 1], size=len(session_client), p=[0.05, 0.9, 0.05])
    moved[session_week == caseload.intake_week[session_client]] = 0
    session_day = np.clip(
        week_start + caseload.session_offset[session_client] + moved,
        week_start,
        np.minimum(week_start + 6, calendar.end_day),
    )

    per_session = rng.choice([1, 2, 3, 4], size=len(session_client), p=[0.35, 0.35, 0.2, 0.1])
    session = np.repeat(np.arange(len(session_client)), per_session)
    client = session_client[session]
    kind = _draw_rows(rng, caseload.kind_weight, client)
    # The same kind twice in one session becomes one assignment.
    n_kinds = len(HOMEWORK_CATALOGUE)
    _, first_of_kind = np.unique(session * n_kinds + kind, return_index=True)
    keep = np.sort(first_of_kind)
    session, client, kind = session[keep], client[keep], kind[keep]
    count = len(kind)

    assigned_day = session_day[session]
    due_day = assigned_day + rng.choice([6, 7, 8], size=count, p=[0.2, 0.6, 0.2])
    daily = KIND_DAILY[kind]
    expected_count = np.where(
        daily, rng.choice([5, 6, 7], size=count, p=[0.25, 0.25, 0.5]), rng.choice([1, 2, 3], size=count, p=[0.55, 0.3, 0.15])
    )
    raw_minutes = KIND_MINUTES[kind] * rng.uniform(0.7, 1.4, count)
    est_minutes = np.maximum(2, np.where(KIND_MINUTES[kind] >= 10, np.round(raw_minutes / 5) * 5, np.round(raw_minutes)))
    est_minutes = est_minutes.astype(np.int64)
    goal_codes = np.where(rng.random(count) < 0.08, -1, kind)
    chosen = rng.random(count) < caseload.chosen_rate[client]
    cancelled = rng.random(count) < 0.04

    # Assignments are numbered in the order they were set.
    order = np.lexsort((kind, client, assigned_day))
    (client, kind, assigned_day, due_day, expected_count, est_minutes, goal_codes, chosen, cancelled, session) = (
        array[order]
        for array in (
            client, kind, assigned_day, due_day, expected_count, est_minutes, goal_codes, chosen, cancelled, session,
        )
    )  # fmt: skip
    ids = _ids("A", count, 6)
    table = pd.DataFrame(
        {
            "assignment_id": ids,
            "client_id": pd.array(caseload.ids[client], dtype="str"),
            "assignment_type": _texts(ASSIGNMENT_TYPES, KIND_FAMILY[kind]),
            "title": _texts(tuple(k.title for k in HOMEWORK_CATALOGUE), kind),
            "assigned_on": _to_datetime(assigned_day * _SECONDS_PER_DAY),
            "due_on": _to_datetime(due_day * _SECONDS_PER_DAY),
            "expected_count": pd.array(expected_count, dtype="Int64"),
            "est_minutes": pd.array(est_minutes, dtype="Int64"),
            "goal": _texts(tuple(k.goal for k in HOMEWORK_CATALOGUE), goal_codes),
            "chosen_with_client": chosen,
            "status": _texts(
                ASSIGNMENT_STATUSES,
                np.where(cancelled, ASSIGNMENT_STATUSES.index("cancelled"), ASSIGNMENT_STATUSES.index("active")),
            ),
        }
    )
    return _Homework(
        table=table,
        ids=ids.to_numpy(dtype=object),
        client=client,
        kind=kind,
        week=session_week[session],
        assigned_day=assigned_day,
        due_day=due_day,
        expected_count=expected_count,
        est_minutes=est_minutes,
        chosen=chosen,
        cancelled=cancelled,
    )


def make_submissions(rng: np.random.Generator, caseload: _Caseload, homework: _Homework, calendar: Calendar) -> pd.DataFrame:
    client, kind = homework.client, homework.kind
    family = KIND_FAMILY[kind]
    n_assignments = len(kind)

    # Chance that one expected practice gets done: the client's propensity, moved by preferences,
    # by choosing the homework together, by long homework and by how the client's week went.
    affinity = caseload.family_affinity[client, family]
    has_preferences = caseload.family_affinity[client].sum(axis=1) > 0
    week_mood = rng.normal(0.0, 0.6, (len(caseload.ids), calendar.weeks))[client, homework.week]
    logit = (
        _logit(caseload.propensity[client])
        + 0.9 * affinity
        - 0.3 * (has_preferences & (affinity == 0))
        + 0.3 * homework.chosen
        - 0.01 * (homework.est_minutes - 15)
        + week_mood
    )
    adherence = 1.0 / (1.0 + np.exp(-logit))

    done = rng.binomial(homework.expected_count, adherence)
    extra_practice = (done == homework.expected_count) & (rng.random(n_assignments) < 0.2 * adherence)
    done = done + extra_practice
    skipped = rng.binomial(homework.expected_count - np.minimum(done, homework.expected_count), caseload.skip_report_rate[client])
    # Cancelled homework: at most one early attempt, and nobody reports skipping it.
    cancelled = homework.cancelled
    done = np.where(cancelled, np.minimum(done, 1) * (rng.random(n_assignments) < 0.3), done)
    skipped = np.where(cancelled, 0, skipped)

    attempts = done + skipped
    row_assignment = np.repeat(np.arange(n_assignments), attempts)
    first_row = np.cumsum(attempts) - attempts
    rank = np.arange(len(row_assignment)) - first_row[row_assignment]
    n_rows = len(row_assignment)
    row_attempts = attempts[row_assignment]
    row_client = client[row_assignment]
    row_family = family[row_assignment]
    row_adherence = adherence[row_assignment]
    is_done = rank < done[row_assignment]
    is_completed = is_done & (rng.random(n_rows) < 0.55 + 0.4 * row_adherence)
    completion = np.where(
        is_completed,
        COMPLETIONS.index("completed"),
        np.where(is_done, COMPLETIONS.index("partial"), COMPLETIONS.index("skipped")),
    )

    # Attempts spread over the days between setting and due date; some come in late.
    span = (homework.due_day - homework.assigned_day)[row_assignment]
    day_offset = np.floor((rank + rng.random(n_rows)) / row_attempts * (span + 1)).astype(np.int64)
    is_late = rng.random(n_rows) < 0.08 + 0.15 * (1.0 - row_adherence)
    day_offset = np.where(is_late, span + rng.integers(1, 6, n_rows), day_offset)
    time_pick = rng.random(n_rows)
    morning = caseload.morning_share[row_client]
    minute_of_day = np.where(
        time_pick < morning,
        rng.integers(390, 570, n_rows),  # 06:30-09:30
        np.where(time_pick < morning + 0.12, rng.integers(720, 840, n_rows), rng.integers(1050, 1410, n_rows)),
    )
    # On the session day itself homework starts in the evening, after the session.
    minute_of_day = np.where(day_offset == 0, rng.integers(1080, 1410, n_rows), minute_of_day)
    submitted_day = homework.assigned_day[row_assignment] + day_offset
    submitted_at = submitted_day * _SECONDS_PER_DAY + minute_of_day * 60

    # Mood: a baseline that drifts with the client's adherence, lifted by the practice.
    weeks_in_therapy = (submitted_day - caseload.intake_day[row_client]) / 7.0
    baseline = caseload.mood_base[row_client] + caseload.mood_gain[row_client] * (1.0 - np.exp(-weeks_in_therapy / 20.0))
    mood_before = baseline + rng.normal(0.0, 1.2, n_rows)
    lift = caseload.mood_lift[row_client, row_family] * np.where(is_completed, 1.0, 0.6)
    mood_after = mood_before + lift + rng.normal(0.0, 1.0, n_rows)
    reports_mood = is_done & (rng.random(n_rows) < caseload.mood_report_rate[row_client])
    which_mood = rng.random(n_rows)
    has_before = reports_mood & (which_mood < 0.95)
    has_after = reports_mood & ((which_mood < 0.88) | (which_mood >= 0.95))

    quality = np.where(is_completed, 2.7, 1.5) + caseload.quality_offset[row_client] + 0.6 * (row_adherence - 0.5)
    quality = quality + rng.normal(0.0, 0.8, n_rows)
    est_minutes = homework.est_minutes[row_assignment]
    minutes = np.where(
        is_completed, est_minutes * np.exp(rng.normal(0.0, 0.35, n_rows)), est_minutes * rng.uniform(0.25, 0.7, n_rows)
    )

    note_codes = np.full(n_rows, -1)
    has_note = rng.random(n_rows) < 0.3
    note_pick = rng.random(n_rows)
    all_notes: list[str] = []
    for code, kind_of_attempt in enumerate(COMPLETIONS):
        notes = CLIENT_NOTES[kind_of_attempt]
        rows = has_note & (completion == code)
        note_codes[rows] = len(all_notes) + (note_pick[rows] * len(notes)).astype(np.int64)
        all_notes.extend(notes)

    # Feedback: a therapist reviews a client's homework week by week. Most rarely miss a week; in a
    # practice of three or more, one often does (their clients show up as waiting for feedback).
    # It comes within ten days, in working hours, and only if that moment has already passed.
    n_therapists = caseload.therapist.max() + 1
    review_rate = rng.uniform(0.93, 0.99, n_therapists)
    if n_therapists >= 3:
        review_rate[n_therapists // 2] = rng.uniform(0.6, 0.75)
    weeks_kept = calendar.weeks + 2  # late work can fall in the week after the window's last
    reviewed = rng.random(len(caseload.therapist) * weeks_kept) < np.repeat(review_rate[caseload.therapist], weeks_kept)
    client_week = row_client * weeks_kept + (submitted_day - calendar.start_day) // 7
    gets_feedback = is_done & reviewed[client_week]
    feedback_delay = rng.choice(10, size=n_rows, p=[0.1, 0.2, 0.15, 0.12, 0.1, 0.09, 0.08, 0.07, 0.05, 0.04])
    feedback_at = (submitted_day + feedback_delay) * _SECONDS_PER_DAY + rng.integers(480, 1140, n_rows) * 60
    feedback_at = np.where(feedback_at < submitted_at, feedback_at + _SECONDS_PER_DAY, feedback_at)
    gets_feedback &= feedback_at <= calendar.last_second
    feedback_codes = np.where(gets_feedback, rng.integers(0, len(THERAPIST_FEEDBACK), n_rows), -1)

    # Nothing from the future; rows are numbered in the order they came in.
    kept = np.flatnonzero(submitted_at <= calendar.last_second)
    kept = kept[np.lexsort((row_assignment[kept], submitted_at[kept]))]
    is_done = is_done[kept]
    return pd.DataFrame(
        {
            "submission_id": _ids("S", len(kept), 7),
            "assignment_id": pd.array(homework.ids[row_assignment[kept]], dtype="str"),
            "submitted_at": _to_datetime(submitted_at[kept]),
            "completion": _texts(COMPLETIONS, completion[kept]),
            "quality": _optional_ints(quality[kept], is_done, 0, 4),
            "mood_before": _optional_ints(mood_before[kept], has_before[kept], 0, 10),
            "mood_after": _optional_ints(mood_after[kept], has_after[kept], 0, 10),
            "minutes": _optional_ints(minutes[kept], is_done, 1, None),
            "client_note": _texts(tuple(all_notes), note_codes[kept]),
            "therapist_feedback": _texts(THERAPIST_FEEDBACK, feedback_codes[kept]),
            "feedback_at": _to_datetime(np.where(gets_feedback, feedback_at, -1)[kept], missing=-1),
        }
    )


def make_measures(rng: np.random.Generator, caseload: _Caseload, calendar: Calendar) -> pd.DataFrame:
    count = len(caseload.ids)
    most = calendar.weeks // 2 + 1
    gaps = rng.choice([2, 3, 4], size=(count, most), p=[0.45, 0.3, 0.25])
    gaps[:, 0] = 0  # the first one is at intake
    weeks_in = np.cumsum(gaps, axis=1)
    day = caseload.intake_day[:, None] + 7 * weeks_in
    last_day = calendar.start_day + 7 * caseload.last_week + caseload.session_offset
    given = day <= np.minimum(last_day, calendar.end_day)[:, None]
    client_index, visit = np.nonzero(given)
    day = day[client_index, visit]
    weeks_in_therapy = weeks_in[client_index, visit].astype(float)

    concern = caseload.concern
    starts = {
        "PHQ-9": np.where(CONCERN_STARTS_DEPRESSED[concern], rng.normal(15.0, 4.0, count), rng.normal(8.5, 4.0, count)),
        "GAD-7": np.where(CONCERN_STARTS_ANXIOUS[concern], rng.normal(12.5, 3.5, count), rng.normal(7.5, 3.5, count)),
    }
    # High adherers improve faster; deteriorating clients climb instead.
    recovery_rate = 0.09 * caseload.propensity * rng.uniform(0.6, 1.4, count)
    frames = []
    for code, (measure, (low, high)) in enumerate(MEASURE_RANGES.items()):
        start = np.clip(starts[measure], low, high)[client_index]
        floor = np.minimum(start, 3.0)
        expected = floor + (start - floor) * np.exp(-recovery_rate[client_index] * weeks_in_therapy)
        expected = np.where(caseload.deteriorating[client_index], start + 0.3 * weeks_in_therapy, expected)
        score = np.clip(np.round(expected + rng.normal(0.0, 1.6, len(day))), low, high).astype(np.int64)
        # Now and then a questionnaire is missed, never the one at intake.
        given_now = (visit == 0) | (rng.random(len(day)) >= 0.04)
        frames.append((client_index[given_now], day[given_now], np.full(given_now.sum(), code), score[given_now]))

    client_index, day, measure, score = (np.concatenate(parts) for parts in zip(*frames, strict=True))
    order = np.lexsort((measure, day, client_index))
    return pd.DataFrame(
        {
            "client_id": pd.array(caseload.ids[client_index[order]], dtype="str"),
            "measure": _texts(tuple(MEASURE_RANGES), measure[order]),
            "score": pd.array(score[order], dtype="Int64"),
            "administered_on": _to_datetime(day[order] * _SECONDS_PER_DAY),
        }
    )


def _ids(prefix: str, count: int, min_width: int) -> pd.Series:
    """Zero-padded ids such as T01, C001, A000001; the width grows with the count."""
    width = max(min_width, len(str(count)))
    numbers = pd.Series(np.arange(1, count + 1)).astype("str")
    return prefix + numbers.str.zfill(width)


def _texts(choices: tuple[str, ...], codes: np.ndarray) -> pd.Series:
    """Text column from codes into ``choices``; code -1 is an empty field."""
    lookup = np.array([*choices, None], dtype=object)
    return pd.Series(lookup[codes], dtype="str")


def _optional_ints(values: np.ndarray, present: np.ndarray, low: int, high: int | None) -> pd.arrays.IntegerArray:
    """Rounded, clipped integers; empty where ``present`` is false."""
    rounded = np.clip(np.round(values), low, high).astype(np.int64)
    return pd.arrays.IntegerArray(np.where(present, rounded, 0), mask=~np.asarray(present, dtype=bool))


def _to_datetime(seconds: np.ndarray, missing: int | None = None) -> pd.Series:
    """Seconds since the epoch as ``datetime64[s]``; entries equal to ``missing`` become NaT."""
    stamps = np.asarray(seconds, dtype=np.int64).astype("datetime64[s]")
    if missing is not None:
        stamps[np.asarray(seconds) == missing] = np.datetime64("NaT")
    return pd.Series(stamps)


def _draw_rows(rng: np.random.Generator, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each entry of ``rows``, draw a column of ``weights[row]`` (rows sum to 1)."""
    cumulative = np.cumsum(weights, axis=1)
    cumulative[:, -1] = 1.0
    # Offsetting row r by r lays all rows on one increasing line, so one search serves them all.
    line = (cumulative + np.arange(len(weights))[:, None]).ravel()
    found = np.searchsorted(line, rows + rng.random(len(rows)), side="right")
    return np.minimum(found - rows * weights.shape[1], weights.shape[1] - 1)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))
