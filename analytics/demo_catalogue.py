"""What the synthetic practice is made of: the homework catalogue, preferences and concerns with their
pull on each type, made-up names, notes and feedback. Everything here is made up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analytics.store.vocabulary import ASSIGNMENT_TYPES, MEASURES


def _per_type(values: dict[str, float]) -> np.ndarray:
    """One number per assignment type, in ASSIGNMENT_TYPES order."""
    return np.array([values[family] for family in ASSIGNMENT_TYPES])


# How often therapists set each family before client preferences and concerns are considered.
FAMILY_BASE_WEIGHT = _per_type(
    {"journaling": 0.27, "behavioural": 0.26, "mindfulness": 0.22, "creative": 0.10, "narrative": 0.12, "other": 0.03}
)


# Typical mood lift (mood_after - mood_before) for a completed attempt, per family.
FAMILY_MOOD_LIFT = _per_type(
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


KIND_FAMILY = np.array([ASSIGNMENT_TYPES.index(kind.family) for kind in HOMEWORK_CATALOGUE])


KIND_DAILY = np.array([kind.daily for kind in HOMEWORK_CATALOGUE])


KIND_MINUTES = np.array([kind.est_minutes for kind in HOMEWORK_CATALOGUE], dtype=float)


KIND_WEIGHT = np.array([kind.weight for kind in HOMEWORK_CATALOGUE])


PREFERENCE_TAGS: tuple[str, ...] = ("writing", "visual", "movement", "quiet", "structured", "creative")


_NO_PULL = dict.fromkeys(ASSIGNMENT_TYPES, 0.0)


_NO_LEAN = dict.fromkeys(ASSIGNMENT_TYPES, 1.0)


# How much each preference tag draws a client to each family.
TAG_FAMILY_AFFINITY = np.array(
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


CONCERN_SHARE = np.array([0.26, 0.18, 0.10, 0.10, 0.16, 0.08, 0.12])


# Therapists lean towards families that fit the client's primary concern (CONCERNS order).
CONCERN_FAMILY_WEIGHT = np.array(
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


CONCERN_GOALS: tuple[tuple[str, str], ...] = (
    ("Get back to seeing friends", "Enjoy weekends again; get up before nine"),
    ("Spend less time worrying at night", "Make decisions without checking everything twice"),
    ("Take the bus to work again", "Go to the supermarket without leaving early"),
    ("Sleep through most nights", "Stop lying awake going over the day"),
    ("Leave work at work", "Say no to extra shifts, without guilt"),
    ("Talk about my dad without falling apart", "Find a way to remember, not avoid"),
    ("Speak up in team meetings", 'Go to a party and stay an hour, "even if it\'s awkward"'),
)


CONCERN_STARTS_DEPRESSED = np.array([True, False, False, False, False, True, False])


CONCERN_STARTS_ANXIOUS = np.array([False, True, True, False, True, False, True])


MEASURE_RANGES: dict[str, tuple[int, int]] = {measure: (0, highest) for measure, highest in MEASURES.items()}


THERAPIST_FIRST_NAMES = (
    "Ana", "Ben", "Chloe", "David", "Elif", "Farah", "Gregor", "Hana", "Ivan", "Julia",
    "Kofi", "Lena", "Marco", "Nadia", "Omar", "Priya", "Rosa", "Sam", "Tomas", "Yuki",
)  # fmt: skip


THERAPIST_LAST_NAMES = (
    "Soto", "Berg", "Okafor", "Lindqvist", "Moreau", "Haddad", "Novak", "Reyes", "Tanaka", "Weber",
    "Costa", "Petrov", "Quinn", "Ahmed", "Fischer", "Kowalski", "Mensah", "Silva", "Dubois", "Park",
)  # fmt: skip


CLIENT_FIRST_NAMES = (
    "Robin", "Alex", "Sam", "Jamie", "Charlie", "Jordan", "Taylor", "Morgan", "Casey", "Riley",
    "Avery", "Quinn", "Rowan", "Sasha", "Kim", "Eden", "Noor", "Ari", "Jules", "Remy",
    "Kai", "Lior", "Max", "Nico", "Pat", "Reese", "Sky", "Toni", "Yael", "Zuri",
    "Mika", "Dana", "Emery", "Frankie", "Hollis", "Indy", "Jesse", "Lou", "Marlow", "Ollie",
    "Parker", "Rory", "Sage", "Tal", "Wren", "Bo", "Cam", "Devi",
)  # fmt: skip


# Client notes by completion; a few carry commas, quotes and line breaks so that every reader
# of the CSVs meets standard quoting.
CLIENT_NOTES: dict[str, tuple[str, ...]] = {
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


THERAPIST_FEEDBACK: tuple[str, ...] = (
    "Well done for sticking with it.",
    "Great that you noticed the pattern, let's look at it together next session.",
    "Even a partial try counts. What got in the way?",
    "Thanks for writing this up, it really helps our sessions.",
    "Notice how your mood shifted afterwards.",
    'I like your phrase "one step at a time".',
    "Try the shorter version on busy days.",
    "Let's bring this to the session.\nWe can adjust the plan.",
)
