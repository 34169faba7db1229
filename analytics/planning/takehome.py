"""Take-home copies of a plan: an iCalendar file (RFC 5545) and a one-page printable handout (HTML).

Both take the saved assignments as read back from the store (`planner.saved_plan`), so what the
client takes home is what was saved; plain `PlanItem`s work too (a preview before saving).
Cancelled assignments are left out. Every text a user typed is escaped: iCalendar TEXT escaping (by `icalendar`) in
the .ics, `html.escape` in the handout.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from icalendar import Calendar, Event, vText

from analytics.planning.planner import PlanItem, expected_count_for

PRODID = "-//Homework adherence dashboard//Planner 1.0//EN"
UID_DOMAIN = "homework-planner.invalid"  # a UID only needs to be unique; .invalid never resolves
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# One row to note mood per time the task is expected; a task expected more often than this gets this many
# rows and a line saying to go on overleaf.
MAX_LOG_ROWS = 31
# Why a task helps, by type, for a task with no goal of its own.
WHY_BY_TYPE = {
    "journaling": "Writing things down helps you notice the links between what happens, what you think and how you feel.",
    "behavioural": "Doing things, even small ones, is how mood and confidence change: the doing comes first, "
                   "the feeling follows.",
    "mindfulness": "Regular practice trains your attention to step back from worries and lets your body settle.",
    "creative": "Making something gives a feeling a shape you can look at and talk about.",
    "narrative": "Putting your story into words helps you make sense of it and see your own strengths.",
}
WHY_OTHERWISE = "It builds on what you talked about in your session."


@dataclass(frozen=True)
class _Entry:
    """One task to take home, whatever it came from."""

    key: str  # stable id for the calendar UID
    assignment_type: str
    title: str
    instructions: str
    start: date
    due: date
    times_per_week: int
    expected_count: int
    minutes: int | None
    goal: str | None


def _text(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value).strip()


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return pd.Timestamp(value).date()


def _entries(items: pd.DataFrame | Sequence[PlanItem] | Iterable[dict]) -> list[_Entry]:
    """The tasks of a saved plan (rows of planner.saved_plan) or of PlanItems, cancelled ones left out."""
    if isinstance(items, pd.DataFrame):
        records = items.to_dict("records")
    else:
        records = list(items)
    entries = []
    for index, record in enumerate(records, 1):
        if isinstance(record, PlanItem):
            digest = hashlib.sha256(f"{record.title}|{record.start}|{record.due}".encode()).hexdigest()[:16]
            entries.append(_Entry(f"item{index}-{digest}", record.assignment_type, record.title.strip(),
                                  _text(record.instructions),
                                  record.start, record.due, record.times_per_week, record.expected_count,
                                  record.minutes, _text(record.goal) or None))
            continue
        if _text(record.get("status")) == "cancelled":
            continue
        start, due = _as_date(record["start"]), _as_date(record["due"])
        times = int(record["times_per_week"])
        expected = record.get("expected_count")
        expected = int(expected) if expected is not None and not pd.isna(expected) else expected_count_for(start, due, times)
        minutes = record.get("minutes")
        minutes = None if minutes is None or pd.isna(minutes) else int(minutes)
        entries.append(_Entry(_text(record.get("assignment_id")) or f"item{index}", _text(record.get("assignment_type")),
                              _text(record["title"]),
                              _text(record.get("instructions")), start, due, times, expected, minutes,
                              _text(record.get("goal")) or None))
    return entries


def how_often(entry: _Entry) -> str:
    """'3 times a week, about 10 minutes each time' in plain words."""
    if entry.expected_count == 1:
        text = "Once"
    elif entry.times_per_week >= 7:
        text = "Every day"
    elif entry.times_per_week == 1:
        text = "Once a week"
    else:
        text = f"{entry.times_per_week} times a week"
    if entry.minutes:
        text += f", about {entry.minutes} minute{'s' if entry.minutes != 1 else ''}"
        text += " each time" if entry.expected_count > 1 else ""
    if entry.expected_count > 1:
        text += f" ({entry.expected_count} times in all)"
    return text


def _long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


# ---------------------------------------------------------------------------------------------
# iCalendar
# ---------------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # RFC 5545 TEXT allows no control characters but tab


def _clean(value: str) -> str:
    """User text for a TEXT value: line breaks as \\n, no control characters (icalendar escapes the rest)."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def _spread(times_per_week: int) -> list[int]:
    """Days after the start (0-6) of a week's practices, spread evenly: 3 a week gives 0, 2, 4."""
    return sorted({(i * 7) // times_per_week for i in range(times_per_week)})


def recurrence(entry: _Entry) -> dict[str, object] | None:
    """The RRULE for a task done more than once, or None for a single event on the due date.

    Every day: FREQ=DAILY; otherwise FREQ=WEEKLY on times_per_week days spread over the week from the
    start's weekday (3 a week from a Monday: MO, WE, FR). COUNT is the expected count, so the calendar
    shows as many practices as were asked; for the planner's expected_count rule the last one always
    falls before the due date. Imported homework that asks more than fits gets UNTIL=due instead.
    """
    if entry.expected_count <= 1 or entry.due <= entry.start:
        return None
    daily = entry.times_per_week >= 7
    offsets = list(range(7)) if daily else _spread(entry.times_per_week)
    weeks, nth = divmod(entry.expected_count - 1, len(offsets))
    last = entry.start + timedelta(days=7 * weeks + offsets[nth])
    end: dict[str, object] = {"count": entry.expected_count} if last <= entry.due else {"until": entry.due}
    if daily:
        return {"freq": "daily", **end}
    days = [WEEKDAYS[(entry.start.weekday() + offset) % 7] for offset in offsets]
    return {"freq": "weekly", "byday": days, **end}


def _description(entry: _Entry) -> str:
    lines = [entry.instructions or "See the notes from your session."]
    lines.append("")
    lines.append(f"How often: {how_often(entry)}.")
    lines.append(f"By: {_long_date(entry.due)}.")
    if entry.goal:
        lines.append(f"Why: it works toward your goal: {entry.goal}")
    lines.append("Note your mood (0-10) before and after each time.")
    return "\n".join(lines)


def plan_ics(
    items: pd.DataFrame | Sequence[PlanItem] | Iterable[dict],
    *,
    client_label: str,
    practice_name: str = "Your practice",
    stamp: datetime | None = None,
) -> bytes:
    """The plan as an iCalendar file (RFC 5545): one all-day VEVENT per task.

    A task done once is one event on its due date; others recur from the start (RRULE, see
    `recurrence`), as many times as expected, by the due date. Each event has UID (the assignment
    id), DTSTAMP, DTSTART;VALUE=DATE, DTEND, SUMMARY (the title) and DESCRIPTION (instructions, how
    often, by when, the goal). Written by `icalendar`: lines end in CRLF and are folded at 75 octets. `stamp` (UTC) is the
    DTSTAMP, now by default.
    """
    stamp = (stamp or datetime.now(UTC)).astimezone(UTC)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    # an X- property is TEXT too (RFC 5545 3.8.8.2); icalendar escapes it only when told it is text
    calendar.add("x-wr-calname", vText(_clean(f"Homework plan: {client_label} ({practice_name})")))
    for entry in _entries(items):
        rule = recurrence(entry)
        day = entry.start if rule else entry.due
        event = Event()
        event.add("uid", f"{_clean(entry.key)}@{UID_DOMAIN}")
        event.add("dtstamp", stamp)
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        if rule:
            event.add("rrule", rule)
        event.add("summary", _clean(entry.title))
        event.add("description", _clean(_description(entry)))
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return calendar.to_ical()


# ---------------------------------------------------------------------------------------------
# The printable handout
# ---------------------------------------------------------------------------------------------

HANDOUT_STYLE = """
@page { size: A4; margin: 12mm; }
* { box-sizing: border-box; }
body { font: 11pt/1.35 system-ui, -apple-system, "Segoe UI", sans-serif; color: #111; max-width: 186mm;
       margin: 0 auto; padding: 4mm; }
header { border-bottom: 2px solid #333; margin-bottom: 3mm; }
h1 { font-size: 16pt; margin: 0 0 1mm; }
header p { margin: 0 0 2mm; color: #333; }
.item { border: 1px solid #888; border-radius: 2mm; padding: 2mm 4mm; margin: 0 0 3mm; break-inside: avoid; }
h2 { font-size: 12.5pt; margin: 1mm 0; }
.item p { margin: 1mm 0; }
.label { font-weight: 600; }
table.mood { border-collapse: collapse; width: 100%; margin: 1.5mm 0 1mm; font-size: 9.5pt; }
table.mood th, table.mood td { border: 1px solid #888; padding: 0.8mm 2mm; text-align: left; }
table.mood td:first-child, table.mood th:first-child { width: 9mm; text-align: right; color: #555; }
table.mood td { height: 6.5mm; }
footer { font-size: 9pt; color: #333; margin-top: 2mm; }
@media print {
  body { padding: 0; font-size: 10pt; }
  .item { border-color: #555; }
}
"""


def _paragraph(text: str) -> str:
    """Escaped text with its line breaks kept."""
    return "<br>".join(html.escape(line) for line in text.splitlines())


def why_it_matters(entry: _Entry, client_goals: str | None = None) -> str:
    """The handout's "why" line as plain text: the task's own goal, else what this type of homework does for
    people, with the client's goals in their words when they gave some."""
    if entry.goal:
        return f"It works toward your goal: {entry.goal}"
    text = WHY_BY_TYPE.get(entry.assignment_type, WHY_OTHERWISE)
    goals = " ".join((client_goals or "").split())
    return f"{text} What you said you want from therapy: {goals}" if goals else text


def plan_handout_html(
    items: pd.DataFrame | Sequence[PlanItem] | Iterable[dict],
    *,
    client_label: str,
    practice_name: str = "Your practice",
    therapist_name: str | None = None,
    client_goals: str | None = None,
) -> str:
    """One printable handout (HTML with a print stylesheet) for the client: for each task what to do, how
    often (from the plan: its times a week and expected count), by when, why it matters (its goal, or what
    the type of homework does and the client's own goals), and a table to note mood before and after with
    one row per time it is expected (up to MAX_LOG_ROWS)."""
    entries = _entries(items)
    esc = html.escape
    who = f"For {esc(client_label)}"
    if therapist_name:
        who += f" · with {esc(therapist_name)}"
    who += f" · {esc(practice_name)}"
    if entries:
        first, last = min(e.start for e in entries), max(e.due for e in entries)
        who += f" · {esc(_long_date(first))} to {esc(_long_date(last))}"
    sections = []
    for number, entry in enumerate(entries, 1):
        why = _paragraph(why_it_matters(entry, client_goals))
        rows = min(entry.expected_count, MAX_LOG_ROWS)
        mood_rows = "".join(f"<tr><td>{n}</td><td></td><td></td><td></td><td></td></tr>" for n in range(1, rows + 1))
        if entry.expected_count > rows:
            mood_rows += (f'<tr><td colspan="5">Times {rows + 1} to {entry.expected_count}: go on overleaf.'
                          "</td></tr>")
        sections.append(f"""<section class="item">
<h2>{number}. {esc(entry.title)}</h2>
<p><span class="label">What to do:</span> {_paragraph(entry.instructions or "See the notes from your session.")}</p>
<p><span class="label">How often:</span> {esc(how_often(entry))}</p>
<p><span class="label">By when:</span> {esc(_long_date(entry.due))}</p>
<p><span class="label">Why it matters:</span> {why}</p>
<table class="mood">
<thead><tr><th>Time</th><th>Date</th><th>Mood before (0–10)</th><th>Mood after (0–10)</th><th>What I noticed</th></tr></thead>
<tbody>{mood_rows}</tbody>
</table>
</section>""")
    body = "\n".join(sections) or "<p>No homework in this plan.</p>"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Homework plan for {esc(client_label)}</title>
<style>{HANDOUT_STYLE}</style>
</head>
<body>
<header>
<h1>Your homework plan</h1>
<p>{who}</p>
</header>
{body}
<footer>Mood: 0 = the worst, 10 = the best. Any amount done counts: note it even if you did only part.
Bring this sheet to your next session.</footer>
</body>
</html>
"""
