"""Synthetic demo caseload: therapists, clients, homework, submissions and measures as canonical CSVs.

Everything here is made up: pseudonymous client labels, ``@example.org`` therapist emails and
template notes. Nothing comes from a real practice.

What the generated caseload looks like
--------------------------------------
* The ``weeks`` weeks that end on ``end`` are history. Each client has a fixed session weekday and
  an intake date (about half start in the first week, the rest are staggered through the first 70 %
  of the window). Each week with a session (about 9 in 10 weeks) the therapist sets 1-4 pieces of
  homework on the session day, due 6-8 days later, so the last week's homework is usually not yet
  due on ``end``. A few clients are discharged or paused and get no homework after that week.
* Homework comes from five families (journaling, behavioural, mindfulness, creative, narrative) and
  an occasional ``other``. Daily practices (gratitude journal, breathing exercise, ...) are expected
  5-7 times; other homework 1-3 times. About 4 % of assignments are cancelled.
* Each client has an adherence propensity: about 15 % are high (~0.9), about 4 % (at least one)
  do little or nothing, the rest sit in the middle. Preference tags (``writing``, ``visual``,
  ``movement``, ``quiet``, ``structured``, ``creative``) make the matching families more likely to
  be set and more likely to be done; homework chosen with the client is done a little more often.
* One submission row per attempt: completed, partial or skipped (an explicit "not done" report).
  About 10-15 % are late (1-5 days after ``due_on``). Nothing is dated after ``end`` 23:59, except
  ``due_on`` of current homework. Mood lift (after - before) depends on the family (mindfulness
  about +1.2, creative about +0.3) and on the client; some clients gain most from one family.
  Baseline mood drifts up with adherence.
* PHQ-9 and GAD-7 at intake and every 2-4 weeks; scores fall faster for high adherers, a few
  clients deteriorate.

Scale
-----
Generation is vectorised with numpy: Python loops run only over families, preference tags,
completions and tables, never over clients, homework or submissions. Submissions grow with clients x weeks (about
3.5 per client-week). About one million submissions:

    python -m analytics demo --out DIR --clients 5500 --therapists 100 --weeks 52

gives 1,006,257 submissions, 372,387 assignments and 152,745 measures (seed 7). On the 2-core
development machine ``generate`` takes about 1.6 s and ``write_demo`` (generate plus the CSVs,
about 155 MB) about 2.5 s, at about 0.8 GB peak memory.

Dates in data frames and CSVs
-----------------------------
:func:`generate` returns date and date-time columns as ``datetime64[s]`` (dates at midnight),
optional integers as nullable ``Int64``, text as ``str`` with missing values for empty fields.
The CSVs follow the canonical format: dates ``YYYY-MM-DD``, date-times ``YYYY-MM-DDTHH:MM:SS``
(local time, no offset), booleans ``true``/``false``, empty fields for missing values.

:func:`shift_demo` moves every date by the same whole number of days. It does not keep weekday
alignment: a client whose sessions were on Tuesdays may have them on Fridays after a shift.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analytics.ingest.canonical import IMPORT_ORDER, TABLES
from analytics.store.vocabulary import ASSIGNMENT_STATUSES, ASSIGNMENT_TYPES, CLIENT_STATUSES, COMPLETIONS, MEASURES

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {name: TABLES[name].column_names for name in IMPORT_ORDER}
"""The five demo tables and their canonical columns, in CSV order."""

DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(c.name for c in TABLES[name].columns if c.kind == "date") for name in IMPORT_ORDER
}
DATETIME_COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(c.name for c in TABLES[name].columns if c.kind == "datetime") for name in IMPORT_ORDER
}

MANIFEST_NAME = "demo.json"


def _per_type(values: dict[str, float]) -> np.ndarray:
    """One number per assignment type, in ASSIGNMENT_TYPES order."""
    return np.array([values[family] for family in ASSIGNMENT_TYPES])


# How often therapists set each family before client preferences and concerns are considered.
_FAMILY_BASE_WEIGHT = _per_type(
    {"journaling": 0.27, "behavioural": 0.26, "mindfulness": 0.22, "creative": 0.10, "narrative": 0.12, "other": 0.03}
)
# Typical mood lift (mood_after - mood_before) for a completed attempt, per family.
_FAMILY_MOOD_LIFT = _per_type(
    {"journaling": 0.5, "behavioural": 0.8, "mindfulness": 1.2, "creative": 0.3, "narrative": 0.6, "other": 0.2}
)


@dataclass(frozen=True)
class HomeworkKind:
    """One kind of homework a therapist sets, e.g. a thought record."""

    family: str
    title: str
    daily: bool
    est_minutes: int
    goal: str
    weight: float = 1.0  # how often it is picked within its family


HOMEWORK_CATALOGUE: tuple[HomeworkKind, ...] = (
    HomeworkKind("journaling", "Thought record", False, 15, "Catch an unhelpful thought and weigh the evidence", 1.5),
    HomeworkKind("journaling", "Gratitude journal", True, 5, "Notice three things that went well each day"),
    HomeworkKind("journaling", "Worry diary", True, 10, "Write worries down and save them for worry time"),
    HomeworkKind("journaling", "Mood diary", True, 5, "Link daily activities to mood"),
    HomeworkKind("journaling", "Sleep diary", True, 5, "Track bedtime, wake time and sleep quality", 0.7),
    HomeworkKind("behavioural", "Behavioural activation schedule", False, 20, "Plan valued activities for the week", 1.5),
    HomeworkKind("behavioural", "Sleep routine", True, 15, "Keep the same wind-down and wake-up time"),
    HomeworkKind("behavioural", "Graded exposure step", False, 30, "Take the next step on the fear ladder"),
    HomeworkKind("behavioural", "Problem-solving worksheet", False, 20, "Break one practical problem into small steps"),
    HomeworkKind("behavioural", "Daily walk", True, 25, "Get moving outdoors for energy and mood"),
    HomeworkKind("mindfulness", "Breathing exercise", True, 5, "Slow the breath when anxiety rises", 1.5),
    HomeworkKind("mindfulness", "Body scan", True, 15, "Notice tension without judging it"),
    HomeworkKind("mindfulness", "Mindful walk", False, 20, "Stay with the senses for one whole walk"),
    HomeworkKind("mindfulness", "Three-minute breathing space", True, 3, "Pause and reset during the day"),
    HomeworkKind("mindfulness", "5-4-3-2-1 grounding", False, 5, "Come back to the present during panic", 0.7),
    HomeworkKind("creative", "Collage of goals", False, 45, "Make a picture of what therapy is for"),
    HomeworkKind("creative", "Drawing emotions", False, 20, "Give a shape and a colour to a feeling", 1.5),
    HomeworkKind("creative", "Playlist for hard days", False, 20, "Gather songs that help on low days"),
    HomeworkKind("creative", "Safe-place drawing", False, 25, "Draw a place that feels calm and safe"),
    HomeworkKind("narrative", "Letter to self", False, 30, "Write to yourself with kindness", 1.5),
    HomeworkKind("narrative", "Letter to a fear", False, 30, "Speak back to the fear in your own words"),
    HomeworkKind("narrative", "Life-story chapter", False, 40, "Write one chapter of your story so far"),
    HomeworkKind("narrative", "Strengths story", False, 20, "Recall a time you coped well and what helped"),
    HomeworkKind("other", "Read psychoeducation leaflet", False, 15, "Understand how anxiety and mood work"),
    HomeworkKind("other", "Values card sort", False, 20, "Pick the values that matter most right now"),
    HomeworkKind("other", "Plan a support call", False, 10, "Reach out to one supportive person"),
)

_KIND_FAMILY = np.array([ASSIGNMENT_TYPES.index(kind.family) for kind in HOMEWORK_CATALOGUE])
_KIND_DAILY = np.array([kind.daily for kind in HOMEWORK_CATALOGUE])
_KIND_MINUTES = np.array([kind.est_minutes for kind in HOMEWORK_CATALOGUE], dtype=float)
_KIND_WEIGHT = np.array([kind.weight for kind in HOMEWORK_CATALOGUE])

PREFERENCE_TAGS: tuple[str, ...] = ("writing", "visual", "movement", "quiet", "structured", "creative")
_NO_PULL = dict.fromkeys(ASSIGNMENT_TYPES, 0.0)
_NO_LEAN = dict.fromkeys(ASSIGNMENT_TYPES, 1.0)
# How much each preference tag draws a client to each family.
_TAG_FAMILY_AFFINITY = np.array(
    [
        _per_type({**_NO_PULL, **pull})
        for pull in (
            {"journaling": 1.0, "narrative": 1.0},  # writing
            {"creative": 1.0},  # visual
            {"behavioural": 1.0, "mindfulness": 0.3},  # movement (a mindful walk is movement too)
            {"mindfulness": 1.0},  # quiet
            {"journaling": 0.6, "behavioural": 0.6, "other": 0.3},  # structured
            {"creative": 1.0, "narrative": 0.6},  # creative
        )
    ]
)

CONCERNS: tuple[str, ...] = ("low mood", "worry", "panic", "sleep", "stress", "grief", "social anxiety")
_CONCERN_SHARE = np.array([0.26, 0.18, 0.10, 0.10, 0.16, 0.08, 0.12])
# Therapists lean towards families that fit the client's primary concern (CONCERNS order).
_CONCERN_FAMILY_WEIGHT = np.array(
    [
        _per_type({**_NO_LEAN, **lean})
        for lean in (
            {"journaling": 1.2, "behavioural": 1.4},  # low mood
            {"journaling": 1.4, "mindfulness": 1.2},  # worry
            {"behavioural": 1.2, "mindfulness": 1.4},  # panic
            {"journaling": 1.1, "behavioural": 1.3, "mindfulness": 1.2},  # sleep
            {"mindfulness": 1.4},  # stress
            {"creative": 1.3, "narrative": 1.8},  # grief
            {"behavioural": 1.4, "narrative": 1.1},  # social anxiety
        )
    ]
)
_CONCERN_GOALS: tuple[tuple[str, str], ...] = (
    ("Get back to seeing friends", "Enjoy weekends again; get up before nine"),
    ("Spend less time worrying at night", "Make decisions without checking everything twice"),
    ("Take the bus to work again", "Go to the supermarket without leaving early"),
    ("Sleep through most nights", "Stop lying awake going over the day"),
    ("Leave work at work", "Say no to extra shifts, without guilt"),
    ("Talk about my dad without falling apart", "Find a way to remember, not avoid"),
    ("Speak up in team meetings", 'Go to a party and stay an hour, "even if it\'s awkward"'),
)
_CONCERN_STARTS_DEPRESSED = np.array([True, False, False, False, False, True, False])
_CONCERN_STARTS_ANXIOUS = np.array([False, True, True, False, True, False, True])

MEASURE_RANGES: dict[str, tuple[int, int]] = {measure: (0, highest) for measure, highest in MEASURES.items()}

_THERAPIST_FIRST_NAMES = (
    "Ana", "Ben", "Chloe", "David", "Elif", "Farah", "Gregor", "Hana", "Ivan", "Julia",
    "Kofi", "Lena", "Marco", "Nadia", "Omar", "Priya", "Rosa", "Sam", "Tomas", "Yuki",
)  # fmt: skip
_THERAPIST_LAST_NAMES = (
    "Soto", "Berg", "Okafor", "Lindqvist", "Moreau", "Haddad", "Novak", "Reyes", "Tanaka", "Weber",
    "Costa", "Petrov", "Quinn", "Ahmed", "Fischer", "Kowalski", "Mensah", "Silva", "Dubois", "Park",
)  # fmt: skip
_CLIENT_FIRST_NAMES = (
    "Robin", "Alex", "Sam", "Jamie", "Charlie", "Jordan", "Taylor", "Morgan", "Casey", "Riley",
    "Avery", "Quinn", "Rowan", "Sasha", "Kim", "Eden", "Noor", "Ari", "Jules", "Remy",
    "Kai", "Lior", "Max", "Nico", "Pat", "Reese", "Sky", "Toni", "Yael", "Zuri",
    "Mika", "Dana", "Emery", "Frankie", "Hollis", "Indy", "Jesse", "Lou", "Marlow", "Ollie",
    "Parker", "Rory", "Sage", "Tal", "Wren", "Bo", "Cam", "Devi",
)  # fmt: skip

# Client notes by completion; a few carry commas, quotes and line breaks so that every reader
# of the CSVs meets standard quoting.
_CLIENT_NOTES: dict[str, tuple[str, ...]] = {
    "completed": (
        "Did it after dinner, felt calmer.",
        "Easier than last week.",
        "Managed all of it even on a busy day.",
        'Wrote "I am not my thoughts" on a sticky note.',
        "Felt silly at first, then it helped.",
        "Did it with my partner and we both liked it.",
        "Hard to start.\nOnce I did, it was fine.",
        "Noticed my shoulders drop halfway through.",
    ),
    "partial": (
        "Only got halfway, got interrupted.",
        "Started but the kids woke up.",
        "Did the short version.",
        'Stopped when the "what if" thoughts came back.',
        "Too tired to finish it properly.",
    ),
    "skipped": (
        "Too tired tonight.",
        "Forgot, busy week at work.",
        "Didn't feel up to it.",
        "Ran out of time, will try tomorrow.",
        'Felt "stuck" again and couldn\'t face it.',
    ),
}
_THERAPIST_FEEDBACK: tuple[str, ...] = (
    "Well done for sticking with it.",
    "Great that you noticed the pattern, let's look at it together next session.",
    "Even a partial try counts. What got in the way?",
    "Thanks for writing this up, it really helps our sessions.",
    "Notice how your mood shifted afterwards.",
    'I like your phrase "one step at a time".',
    "Try the shorter version on busy days.",
    "Let's bring this to the session.\nWe can adjust the plan.",
)

_SECONDS_PER_DAY = 86_400
_EPOCH = date(1970, 1, 1)


def generate(*, clients: int = 40, therapists: int = 4, weeks: int = 16, seed: int = 7, end: date) -> dict[str, pd.DataFrame]:
    """Generate a synthetic caseload whose history is the ``weeks`` weeks ending on ``end``.

    Returns one data frame per table: keys therapists, clients, assignments, submissions,
    measures; columns exactly :data:`TABLE_COLUMNS`, in order. The same arguments always give the
    same frames (only ``numpy.random.default_rng(seed)`` is used).
    """
    for name, value in (("clients", clients), ("therapists", therapists), ("weeks", weeks)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    rng = np.random.default_rng(seed)
    calendar = _Calendar.ending(end, weeks)
    therapist_table = _make_therapists(rng, therapists)
    caseload = _make_caseload(rng, clients, therapist_table["therapist_id"].to_numpy(dtype=object), calendar)
    homework = _make_homework(rng, caseload, calendar)
    submissions = _make_submissions(rng, caseload, homework, calendar)
    measures = _make_measures(rng, caseload, calendar)
    return {
        "therapists": therapist_table,
        "clients": caseload.table,
        "assignments": homework.table,
        "submissions": submissions,
        "measures": measures,
    }


def write_demo(
    out_dir: Path,
    *,
    clients: int = 40,
    therapists: int = 4,
    weeks: int = 16,
    seed: int = 7,
    end: date | None = None,
) -> dict[str, int]:
    """Generate a caseload and write the five canonical CSVs plus the ``demo.json`` manifest.

    ``end`` defaults to today. Returns the number of rows written per table.
    """
    end = date.today() if end is None else end
    tables = generate(clients=clients, therapists=therapists, weeks=weeks, seed=seed, end=end)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        for table, frame in tables.items():
            _copy_to_csv(con, frame, table, out_dir / f"{table}.csv")
    manifest = {"end": end.isoformat(), "seed": seed, "clients": clients, "therapists": therapists, "weeks": weeks}
    _write_manifest(out_dir / MANIFEST_NAME, manifest)
    return {table: len(frame) for table, frame in tables.items()}


def shift_demo(src_dir: Path, dst_dir: Path, *, end: date) -> int:
    """Copy the demo CSVs so that the manifest's ``end`` becomes ``end``; return the shift in days.

    Every date and date-time column of the canonical format moves by the same whole number of
    days (wall-clock times stay as they are; weekdays are not kept). All other text is copied
    unchanged and empty fields stay empty. ``dst_dir`` gets an updated ``demo.json``; it may be
    the same folder as ``src_dir``.
    """
    src_dir, dst_dir = Path(src_dir), Path(dst_dir)
    manifest = json.loads((src_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    shift_days = (end - date.fromisoformat(manifest["end"])).days
    dst_dir.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        for table in TABLE_COLUMNS:
            con.execute(
                f"create or replace table demo_rows as select * from read_csv({_sql_text(src_dir / f'{table}.csv')}, "
                "header = true, delim = ',', quote = '\"', escape = '\"', all_varchar = true)"
            )
            columns = [row[0] for row in con.execute("describe demo_rows").fetchall()]
            select = ", ".join(_csv_column(table, column, shift_days) for column in columns)
            _copy_query_to_csv(con, f"select {select} from demo_rows", dst_dir / f"{table}.csv")
    _write_manifest(dst_dir / MANIFEST_NAME, {**manifest, "end": end.isoformat()})
    return shift_days


# --- calendar -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Calendar:
    """The history window as day numbers (days since 1970-01-01)."""

    start_day: int  # first day of week 0
    end_day: int  # last day of history
    weeks: int

    @classmethod
    def ending(cls, end: date, weeks: int) -> _Calendar:
        end_day = (end - _EPOCH).days
        return cls(start_day=end_day - 7 * weeks + 1, end_day=end_day, weeks=weeks)

    @property
    def start_weekday(self) -> int:
        """Calendar weekday (Monday 0) of the window's first day."""
        return (self.start_day + 3) % 7  # 1970-01-01 was a Thursday

    @property
    def last_second(self) -> int:
        """End of history: ``end`` at 23:59:59, in seconds since the epoch."""
        return (self.end_day + 1) * _SECONDS_PER_DAY - 1


# --- therapists and clients ---------------------------------------------------------------------


def _make_therapists(rng: np.random.Generator, count: int) -> pd.DataFrame:
    n_first, n_last = len(_THERAPIST_FIRST_NAMES), len(_THERAPIST_LAST_NAMES)
    combos = np.resize(rng.permutation(n_first * n_last), count)
    first = np.array(_THERAPIST_FIRST_NAMES, dtype=object)[combos // n_last]
    last = np.array(_THERAPIST_LAST_NAMES, dtype=object)[combos % n_last]
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


def _make_caseload(rng: np.random.Generator, count: int, therapist_ids: np.ndarray, calendar: _Calendar) -> _Caseload:
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

    concern = rng.choice(len(CONCERNS), size=count, p=_CONCERN_SHARE)
    goal_pick = rng.integers(0, 2, count)
    goals = np.array(_CONCERN_GOALS, dtype=object)[concern, goal_pick]

    n_tags = rng.choice(4, size=count, p=[0.1, 0.45, 0.35, 0.1])
    tag_rank = np.argsort(np.argsort(rng.random((count, len(PREFERENCE_TAGS))), axis=1), axis=1)
    has_tag = tag_rank < n_tags[:, None]
    preferences = np.full(count, "", dtype=object)
    for column, tag in enumerate(PREFERENCE_TAGS):
        with_tag = np.where(preferences == "", tag, preferences + ";" + tag)
        preferences = np.where(has_tag[:, column], with_tag, preferences)
    preferences[preferences == ""] = None
    family_affinity = np.minimum(has_tag @ _TAG_FAMILY_AFFINITY, 1.5)

    family_weight = _FAMILY_BASE_WEIGHT * (1.0 + family_affinity) * _CONCERN_FAMILY_WEIGHT[concern]
    # Each client's repertoire within a family: a few kinds come back week after week.
    repertoire = rng.gamma(0.6, size=(count, len(HOMEWORK_CATALOGUE))) * _KIND_WEIGHT + 1e-3
    family_total = np.zeros((count, n_families))
    for family in range(n_families):
        family_total[:, family] = repertoire[:, _KIND_FAMILY == family].sum(axis=1)
    kind_weight = family_weight[:, _KIND_FAMILY] * repertoire / family_total[:, _KIND_FAMILY]
    kind_weight /= kind_weight.sum(axis=1, keepdims=True)

    mood_lift = _FAMILY_MOOD_LIFT + rng.normal(0.0, 0.3, (count, n_families))
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

    first = np.array(_CLIENT_FIRST_NAMES, dtype=object)[rng.integers(0, len(_CLIENT_FIRST_NAMES), count)]
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
    low_mood = _CONCERN_STARTS_DEPRESSED[concern]
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


# --- homework -----------------------------------------------------------------------------------


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


def _make_homework(rng: np.random.Generator, caseload: _Caseload, calendar: _Calendar) -> _Homework:
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
    daily = _KIND_DAILY[kind]
    expected_count = np.where(
        daily, rng.choice([5, 6, 7], size=count, p=[0.25, 0.25, 0.5]), rng.choice([1, 2, 3], size=count, p=[0.55, 0.3, 0.15])
    )
    raw_minutes = _KIND_MINUTES[kind] * rng.uniform(0.7, 1.4, count)
    est_minutes = np.maximum(2, np.where(_KIND_MINUTES[kind] >= 10, np.round(raw_minutes / 5) * 5, np.round(raw_minutes)))
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
            "assignment_type": _texts(ASSIGNMENT_TYPES, _KIND_FAMILY[kind]),
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


# --- submissions --------------------------------------------------------------------------------


def _make_submissions(rng: np.random.Generator, caseload: _Caseload, homework: _Homework, calendar: _Calendar) -> pd.DataFrame:
    client, kind = homework.client, homework.kind
    family = _KIND_FAMILY[kind]
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
        notes = _CLIENT_NOTES[kind_of_attempt]
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
    feedback_codes = np.where(gets_feedback, rng.integers(0, len(_THERAPIST_FEEDBACK), n_rows), -1)

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
            "therapist_feedback": _texts(_THERAPIST_FEEDBACK, feedback_codes[kept]),
            "feedback_at": _to_datetime(np.where(gets_feedback, feedback_at, -1)[kept], missing=-1),
        }
    )


# --- measures -----------------------------------------------------------------------------------


def _make_measures(rng: np.random.Generator, caseload: _Caseload, calendar: _Calendar) -> pd.DataFrame:
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
        "PHQ-9": np.where(_CONCERN_STARTS_DEPRESSED[concern], rng.normal(15.0, 4.0, count), rng.normal(8.5, 4.0, count)),
        "GAD-7": np.where(_CONCERN_STARTS_ANXIOUS[concern], rng.normal(12.5, 3.5, count), rng.normal(7.5, 3.5, count)),
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


# --- building blocks ----------------------------------------------------------------------------


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


def _csv_column(table: str, column: str, shift_days: int = 0) -> str:
    """Select expression writing one column in canonical text form, dates moved by ``shift_days``."""
    name = '"' + column.replace('"', '""') + '"'
    if column in DATE_COLUMNS[table]:
        text_format = "%Y-%m-%d"
    elif column in DATETIME_COLUMNS[table]:
        text_format = "%Y-%m-%dT%H:%M:%S"
    else:
        return name
    return f"strftime(cast({name} as timestamp) + to_days({int(shift_days)}), '{text_format}') as {name}"


def _copy_to_csv(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, table: str, path: Path) -> None:
    con.register("demo_frame", frame)
    try:
        select = ", ".join(_csv_column(table, column) for column in TABLE_COLUMNS[table])
        _copy_query_to_csv(con, f"select {select} from demo_frame", path)
    finally:
        con.unregister("demo_frame")


def _copy_query_to_csv(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> None:
    """Write a query's rows as CSV, through a temporary file so readers never see half a file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        con.execute(f"copy ({query}) to {_sql_text(temporary)} (header, delimiter ',', quote '\"')")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _sql_text(path: Path) -> str:
    """A file path as a SQL string literal (DuckDB's COPY and read_csv take no bound file names)."""
    return "'" + str(path).replace("'", "''") + "'"


def _write_manifest(path: Path, manifest: dict[str, object]) -> None:
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
