"""The words the store speaks: types of homework and their labels and spellings, completions and their
credit, statuses, outcome measures.
"""

from __future__ import annotations

import re

# The five families of homework clinicians use, plus "other".
ASSIGNMENT_TYPES = ("journaling", "behavioural", "mindfulness", "creative", "narrative", "other")


TYPE_LABELS = {
    "journaling": "Journaling & self-reflection",
    "behavioural": "Behavioural & habit-forming",
    "mindfulness": "Mindfulness & meditation",
    "creative": "Art & creative expression",
    "narrative": "Writing & narrative work",
    "other": "Other",
}


# Spellings accepted for each type, compared after `match_key` (case, spaces, punctuation and "&"
# vs "and" ignored). Anything else is kept as written and listed in the import report.
TYPE_SPELLINGS = {
    "journaling": [
        "journaling", "journalling", "journal", "journaling and self-reflection",
        "journalling and self-reflection", "self-reflection", "reflection", "reflective journaling",
        "cbt worksheet", "worksheet", "thought record",
    ],
    "behavioural": [
        "behavioural", "behavioral", "behaviour", "behavior", "behavioural and habit-forming",
        "behavioral and habit-forming", "habit-forming", "habit", "habits", "behavioural activation",
        "behavioral activation", "behavioural experiment", "behavioral experiment",
    ],
    "mindfulness": [
        "mindfulness", "mindfulness and meditation", "mindfulness & meditation", "meditation",
        "mindful",
    ],
    "creative": [
        "creative", "creative expression", "art", "art and creative expression", "arts",
        "art & creative expression", "creativity",
    ],
    "narrative": [
        "narrative", "writing", "writing and narrative", "writing and narrative work",
        "narrative writing", "letters", "letter writing", "storytelling",
    ],
    "other": ["other"],
}


COMPLETIONS = ("completed", "partial", "skipped")


CREDIT = {"completed": 1.0, "partial": 0.5, "skipped": 0.0}


CLIENT_STATUSES = ("active", "paused", "discharged")


ASSIGNMENT_STATUSES = ("active", "cancelled")


MEASURES = {"PHQ-9": 27, "GAD-7": 21}  # measure -> highest possible score


TRUE_WORDS = ("true", "yes", "y", "1")


FALSE_WORDS = ("false", "no", "n", "0")


def match_key(text: str) -> str:
    """Lower-case text with "&" read as "and" and everything but letters and digits removed."""
    return re.sub(r"[^a-z0-9]", "", text.lower().replace("&", "and"))


def type_aliases() -> dict[str, str]:
    """match_key(spelling) -> canonical assignment type, for every accepted spelling."""
    return {match_key(s): t for t, spellings in TYPE_SPELLINGS.items() for s in spellings}


def normalise_type(text: str) -> str | None:
    """The canonical type for an accepted spelling, or None when the spelling is unknown."""
    return type_aliases().get(match_key(text))
