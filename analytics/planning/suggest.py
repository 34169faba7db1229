"""Homework suggestions for one client: the library's templates ranked by what this client will likely do and gain,
at a frequency scaled to what they do now, each with a reason of its own.

The ranking mixes the client's completion and mood lift per type (shrunk toward the caseload by
analytics.metrics.profile), their recent pace (planner.recent_pace, the plan load check's last 4
weeks), and how well a template fits their concern, goals and preferences. A type whose mood lift is
negative (for this client, or across the caseload) is never ranked first. The rules are written out
in data/README.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

import pandas as pd
from duckdb import DuckDBPyConnection

from analytics.metrics import profile
from analytics.metrics.clients import ClientProfile, client_profile
from analytics.planning import library
from analytics.planning.planner import CURRENT_LIMIT, RecentPace, current_assignments, recent_pace
from analytics.store.scope import Scope

# How much each part weighs in a suggestion's score (they add up to 1, so scores run from -0.20 to 1).
SCORE_WEIGHTS = {"completion": 0.25, "benefit": 0.20, "pace": 0.15, "concern": 0.10, "goals": 0.15,
                 "preferences": 0.15}
# A shrunk mood lift of this many points (or more) earns the whole benefit weight; a negative lift subtracts.
FULL_BENEFIT_LIFT = 2.0
# Goal words count up to this many matches; one stated preference the template suits earns the whole weight.
MAX_COUNTED_MATCHES = 2
# Figures resting on fewer observations are not quoted as the client's own (as in analytics.effectiveness).
MIN_N = 5
MAX_SUGGESTIONS = 50

SUGGESTION_COLUMNS = [
    "rank", "template_id", "source", "assignment_type", "type_label", "title", "instructions", "default_minutes",
    "times_per_week", "template_times_per_week", "recent_times_per_week", "expected_completion",
    "expected_mood_lift", "negative_lift", "concern_match", "goal_matches", "preference_matches", "score", "reason",
    "load_note",
]


def words(text: str | None) -> list[str]:
    """Lower-case words (letters, digits, apostrophes) of a text."""
    return re.findall(r"[a-z0-9']+", (text or "").lower())


def _same_word(a: str, b: str) -> bool:
    """Equal, or one starts the other and the shorter has at least 4 letters (worry ~ worrying, night ~ nights)."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return len(short) >= 4 and long.startswith(short)


def goal_matches(keywords: Sequence[str], goals: str | None) -> list[str]:
    """The keywords (one or more words each) found in the client's goals text, word for word in order."""
    goal_words = words(goals)
    found = []
    for keyword in keywords:
        key_words = words(keyword)
        if not key_words:
            continue
        for i in range(len(goal_words) - len(key_words) + 1):
            if all(_same_word(k, g) for k, g in zip(key_words, goal_words[i:i + len(key_words)], strict=True)):
                found.append(keyword)
                break
    # 'friends' adds nothing beside 'seeing friends'
    return [k for k in found if not any(k != other and f" {k} " in f" {other} " for other in found)]


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _lift(value: float) -> str:
    return f"{value:+.1f}".replace("-", "\u2212")


def _times(value: float) -> str:
    """0.625 -> "0.6", 2.0 -> "2": times a week as people say them."""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _pace(template_times: int, suggested: int, pace: RecentPace) -> str:
    if pace.times_per_week is None:
        return f"{template_times} a week as written: no homework yet to pace it by"
    lately = f"they did {_times(pace.times_per_week)} a week over the last {_times(pace.weeks)} weeks"
    if suggested < template_times:
        return f"{suggested} a week instead of {template_times}: {lately}"
    return f"{template_times} a week suits their pace ({lately})"


def _history(row: pd.Series, client: ClientProfile, kind: str) -> str | None:
    caseload = row["caseload_completion_rate"]
    caseload_text = f"caseload {_percent(caseload)}" if not pd.isna(caseload) else "no caseload figure yet"
    if row["expected"] >= MIN_N:
        return f"{client.label} completes {_percent(row['completion_rate'])} of {kind} homework ({caseload_text})"
    if row["expected"] > 0:
        return (f"little {kind} history for {client.label} ({row['expected']:g} expected): "
                f"about {_percent(row['shrunk_completion_rate'])} likely ({caseload_text})")
    if not pd.isna(caseload):
        return f"no {kind} homework for {client.label} yet; the caseload completes {_percent(caseload)}"
    return None


def _mood(row: pd.Series, kind: str) -> str | None:
    own = row["mood_lift_n"] >= MIN_N
    if own and row["mood_lift_mean"] < 0:
        return f"their mood tends to fall after {kind} ({_lift(row['mood_lift_mean'])}, {row['mood_lift_n']} ratings)"
    if own:
        return f"their mood lifts {_lift(row['mood_lift_mean'])} after it ({row['mood_lift_n']} ratings)"
    lift = row["caseload_mood_lift"]
    if pd.isna(lift):
        return None
    if row["mood_prior_from"] == "type" and lift < 0:
        return f"mood tends to fall after {kind} ({_lift(lift)} across the caseload)"
    return f"mood lift {_lift(lift)} across the caseload"


def _reason(row: pd.Series, template, client: ClientProfile, fit: dict[str, object], suggested: int,
            pace: RecentPace) -> str:
    """One line: what fits (or that nothing does), the frequency against their pace, how they do with the type,
    and the mood lift behind it."""
    kind = row["assignment_type"] if row["assignment_type"] != "other" else "'other'"
    fits = []
    if fit["concern"]:
        fits.append(f"suits {client.primary_concern.strip().lower()}")
    if fit["goals"]:
        fits.append("matches the goal (" + ", ".join(f"'{word}'" for word in fit["goals"]) + ")")
    if fit["preferences"]:
        fits.append("fits " + " and ".join(f"'{tag}'" for tag in fit["preferences"]))
    parts = [", ".join(fits) if fits else "no match with their concern, goals or preferences",
             _pace(int(template.times_per_week), suggested, pace), _history(row, client, kind), _mood(row, kind)]
    text = "; ".join(part for part in parts if part)
    return text[:1].upper() + text[1:]


def _load_note(template_times: int, suggested: int, pace: RecentPace) -> str | None:
    """What adding it asks of them a week, against what they do now ("from 0.6 to 1.6 a week")."""
    if pace.times_per_week is None:
        return None
    now = pace.times_per_week
    note = f"Adding it at {suggested} a week takes them from {_times(now)} to {_times(now + suggested)} tasks a week"
    if suggested < template_times:
        note += f"; at its usual {template_times} a week it would be {_times(now + template_times)}"
    return note + "."


def _is_negative(row: pd.Series) -> bool:
    """The type's mood lift is below zero for this client (from MIN_N ratings) or across the caseload (its own data)."""
    own = row["mood_lift_n"] >= MIN_N and row["mood_lift_mean"] < 0
    caseload = row["mood_prior_from"] == "type" and not pd.isna(row["caseload_mood_lift"]) and row["caseload_mood_lift"] < 0
    return bool(own or caseload)


def suggestions(
    con: DuckDBPyConnection, *, scope: Scope, client_id: str, today: date, limit: int = 8,
    by_type: pd.DataFrame | None = None, pace: RecentPace | None = None, current: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The library's templates ranked for this client, best first, at most `limit` (1-50) rows.

    Each template is offered at times_per_week = its own times a week, cut to the client's pace limit
    (planner.RecentPace.pace_limit: 1.5 × what they did a week over the last 4 weeks, whole, at least 1).
    score = 0.25 × expected completion (the client's shrunk completion for the template's type)
          + 0.20 × benefit (the shrunk mood lift / 2 points, kept within -1..1)
          + 0.15 × pace (1 when the template's own times a week are within the pace limit, else limit / times;
                         1 without history)
          + 0.10 × concern (1 when the template suits the client's primary concern)
          + 0.15 × goals (goal keywords found in the client's goals, up to 2, / 2)
          + 0.15 × preferences (1 when it suits one of the client's preference tags or more).
    Ties keep the library's order. A template whose type has a negative mood lift (negative_lift) is never
    first while one without exists. Templates whose title the client already has as homework due today or
    later are left out. `by_type`, `pace` and `current`, when the caller has them already
    (profile.client_profile_by_type, planner.recent_pace and planner.current_assignments with its default days back
    and limit, of the same client and today), are used instead of reading them again.
    Columns: rank, template_id, source, assignment_type, type_label, title, instructions, default_minutes,
    times_per_week (as offered), template_times_per_week, recent_times_per_week (None without history),
    expected_completion (0-1), expected_mood_lift (points), negative_lift, concern_match (bool),
    goal_matches and preference_matches (`;`-joined), score, reason (one line, no two alike) and load_note
    (what adding it asks a week against now; None without history). Raises ScopeError outside the scope.
    """
    if not 1 <= limit <= MAX_SUGGESTIONS:
        raise ValueError(f"limit must be from 1 to {MAX_SUGGESTIONS}")
    client = client_profile(con, scope=scope, client_id=client_id)
    if by_type is None:
        by_type = profile.client_profile_by_type(con, scope=scope, client_id=client_id, today=today)
    by_type = by_type.set_index("assignment_type", drop=False)
    if pace is None:
        pace = recent_pace(con, scope=scope, client_id=client_id, today=today)
    limit_times = pace.pace_limit()
    options = library.templates(con)
    concern = (client.primary_concern or "").strip().lower()
    preferences = {tag.lower() for tag in client.preferences}
    rows = []
    for template in options.itertuples(index=False):
        figures = by_type.loc[template.assignment_type]
        fit = {
            "concern": bool(concern) and concern in library.split_tags(template.suits_concerns),
            "goals": goal_matches(library.split_tags(template.suits_goals), client.goals),
            "preferences": [tag for tag in library.split_tags(template.suits_preferences) if tag in preferences],
        }
        own_times = int(template.times_per_week)
        suggested = own_times if limit_times is None else min(own_times, limit_times)
        completion = figures["shrunk_completion_rate"]
        completion = 0.5 if pd.isna(completion) else float(completion)  # no data anywhere: neutral
        lift = figures["shrunk_mood_lift"]
        lift = 0.0 if pd.isna(lift) else float(lift)
        score = (SCORE_WEIGHTS["completion"] * completion
                 + SCORE_WEIGHTS["benefit"] * max(-1.0, min(1.0, lift / FULL_BENEFIT_LIFT))
                 + SCORE_WEIGHTS["pace"] * (1.0 if limit_times is None else min(1.0, limit_times / own_times))
                 + SCORE_WEIGHTS["concern"] * fit["concern"]
                 + SCORE_WEIGHTS["goals"] * min(len(fit["goals"]), MAX_COUNTED_MATCHES) / MAX_COUNTED_MATCHES
                 + SCORE_WEIGHTS["preferences"] * bool(fit["preferences"]))
        rows.append({
            "template_id": template.template_id, "source": template.source,
            "assignment_type": template.assignment_type, "type_label": template.type_label,
            "title": template.title, "instructions": template.instructions,
            "default_minutes": template.default_minutes, "times_per_week": suggested,
            "template_times_per_week": own_times, "recent_times_per_week": pace.times_per_week,
            "expected_completion": completion, "expected_mood_lift": lift, "negative_lift": _is_negative(figures),
            "concern_match": fit["concern"], "goal_matches": ";".join(fit["goals"]),
            "preference_matches": ";".join(fit["preferences"]), "score": round(score, 6),
            "reason": _reason(figures, template, client, fit, suggested, pace),
            "load_note": _load_note(own_times, suggested, pace),
        })
    frame = pd.DataFrame(rows)
    # Homework the client already has and is not yet due is not suggested again.
    if current is not None and len(current) < CURRENT_LIMIT:  # under the limit it holds every row from its first due
        # date on, so every row due today or later: what current_assignments(days_back=0) reads
        due = pd.to_datetime(current["due_on"]).dt.date
        current = current[due >= today]
    else:
        current = current_assignments(con, scope=scope, client_id=client_id, today=today, days_back=0)
    already_set = {title.strip().lower() for title in current["title"]}
    frame = frame[~frame["title"].str.strip().str.lower().isin(already_set)]
    frame = frame.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    if len(frame) and frame.loc[0, "negative_lift"] and not frame["negative_lift"].all():
        first = int(frame.index[~frame["negative_lift"]][0])  # the best without a negative lift goes first
        frame = pd.concat([frame.loc[[first]], frame.drop(index=first)]).reset_index(drop=True)
    frame = frame.head(limit).reset_index(drop=True)
    frame["reason"] = _distinct(frame)
    frame.insert(0, "rank", range(1, len(frame) + 1))
    return frame[SUGGESTION_COLUMNS]


def _distinct(frame: pd.DataFrame) -> list[str]:
    """The reasons, each made different from the others: a repeated one gets what sets its template apart."""
    reasons = list(frame["reason"])
    for index, reason in enumerate(reasons):
        if reasons.count(reason) > 1 or list(frame["reason"]).count(frame["reason"].iloc[index]) > 1:
            row = frame.iloc[index]
            reasons[index] = f"{reason}; {row['title']}: {row['default_minutes']} minutes each time"
    return reasons

