"""Take-home exports: the .ics parses with a real iCalendar parser and follows RFC 5545's lines; the handout escapes.

The plan (today 2026-03-15, a Sunday; 03-16 is a Monday), saved for R1 Robin (T1) and read back from the store:
  1 Worry diary     journaling   03-16 .. 03-23, 3 a week, 10 min  -> expected 3: MO 16, WE 18, FR 20
  2 Body scan       mindfulness  03-16 .. 03-30, daily, 15 min     -> expected 14: 16 .. 29 March
  3 Letter to self  narrative    03-20 .. 03-20, once, 30 min      -> expected 1: one event on 03-20
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
from dateutil.rrule import rrulestr
from hypothesis import given
from hypothesis import strategies as st

from analytics.planning import planner, takehome
from analytics.planning.planner import PlanItem
from analytics.store.database import open_store
from analytics.store.scope import Scope

TODAY = date(2026, 3, 15)
T1 = Scope.therapist("T1")
STAMP = datetime(2026, 3, 15, 9, 30, tzinfo=UTC)
TRICKY = 'Write 3 things; then rest, breathe.\nUse a "pen" \\ pencil — or crayons ☀'

PLAN = [
    PlanItem("journaling", "Worry diary", "Write worries down.", date(2026, 3, 16), date(2026, 3, 23), 3, 10,
             "Spend less time worrying at night", True),
    PlanItem("mindfulness", "Body scan", TRICKY, date(2026, 3, 16), date(2026, 3, 30), 7, 15, None, False),
    PlanItem("narrative", "Letter to self <b>now</b>", "", date(2026, 3, 20), date(2026, 3, 20), 1, 30,
             "Be kinder to myself & others <script>alert(1)</script>", True),
]


@pytest.fixture
def con():
    con = open_store(":memory:")
    con.execute("insert into therapists values ('T1', 'Dr One', null), ('T2', 'Dr Two', null)")
    con.execute("insert into clients (client_id, therapist_id, label) values ('R1', 'T1', 'Robin'), ('K1', 'T2', 'Kai')")
    return con


@pytest.fixture
def saved(con):
    ids = planner.save_plan(con, scope=T1, client_id="R1", items=PLAN, today=TODAY)
    return ids, planner.saved_plan(con, scope=T1, client_id="R1", assignment_ids=ids)


def events(data: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(data)
    return {str(event["SUMMARY"]): event for event in calendar.walk("VEVENT")}


def occurrences(event: icalendar.Event) -> list[date]:
    start = event.decoded("DTSTART")
    if "RRULE" not in event:
        return [start]
    rule = event["RRULE"].to_ical().decode()
    return [d.date() for d in rrulestr(rule, dtstart=datetime(start.year, start.month, start.day))]


def test_the_ics_parses_with_a_real_parser(saved):
    ids, frame = saved
    data = takehome.plan_ics(frame, client_label="Robin", practice_name="Northside Therapy", stamp=STAMP)
    calendar = icalendar.Calendar.from_ical(data)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == takehome.PRODID
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    found = events(data)
    assert list(found) == ["Worry diary", "Body scan", "Letter to self <b>now</b>"]
    uids = [str(e["UID"]) for e in found.values()]
    assert uids == [f"{i}@{takehome.UID_DOMAIN}" for i in ids]
    for event in found.values():
        assert event.decoded("DTSTAMP") == STAMP
        assert isinstance(event.decoded("DTSTART"), date) and not isinstance(event.decoded("DTSTART"), datetime)


def test_each_item_recurs_as_often_as_expected_by_its_due_date(saved):
    _, frame = saved
    found = events(takehome.plan_ics(frame, client_label="Robin", stamp=STAMP))
    diary, scan, letter = found.values()
    assert diary["RRULE"]["FREQ"] == ["WEEKLY"] and diary["RRULE"]["BYDAY"] == ["MO", "WE", "FR"]
    assert occurrences(diary) == [date(2026, 3, 16), date(2026, 3, 18), date(2026, 3, 20)]
    assert scan["RRULE"]["FREQ"] == ["DAILY"]
    assert occurrences(scan) == [date(2026, 3, 16) + timedelta(days=i) for i in range(14)]
    assert "RRULE" not in letter
    assert occurrences(letter) == [date(2026, 3, 20)]  # a single event on the due date
    assert letter.decoded("DTEND") == date(2026, 3, 21)


def test_text_is_escaped_and_comes_back_exactly(saved):
    _, frame = saved
    data = takehome.plan_ics(frame, client_label="Robin; \"R\", esq.", stamp=STAMP)
    scan = events(data)["Body scan"]
    description = str(scan["DESCRIPTION"])
    assert description.startswith(TRICKY + "\n\nHow often: Every day, about 15 minutes each time (14 times in all).")
    assert "By: Monday 30 March 2026." in description
    raw = data.decode("utf-8")
    assert "Write 3 things\\; then rest\\, breathe.\\nUse a" in raw.replace("\r\n ", "")
    # an X- property is TEXT too (RFC 5545 3.8.8.2), escaped the same way
    assert 'X-WR-CALNAME:Homework plan: Robin\\; "R"\\, esq. (Your practice)\r\n' in raw
    diary = events(data)["Worry diary"]
    assert "Why: it works toward your goal: Spend less time worrying at night" in str(diary["DESCRIPTION"])


def test_lines_end_in_crlf_and_fold_at_75_octets_without_splitting_characters(saved):
    _, frame = saved
    long_title = "Tagebuch für Gefühle ☀ " * 8
    data = takehome.plan_ics([*PLAN, PlanItem("journaling", long_title, TRICKY * 5, date(2026, 3, 16),
                                              date(2026, 3, 16), 1, 5, None, True)],
                             client_label="Robin", stamp=STAMP)
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")  # no bare line feed
    lines = data.split(b"\r\n")[:-1]
    assert max(len(line) for line in lines) == 75  # long lines were folded right at the limit
    for line in lines:
        assert len(line) <= 75
        line.decode("utf-8")  # a multi-octet character is never cut in two
    assert any(line.startswith(b" ") for line in lines)
    assert str(events(data)[long_title.strip()]["SUMMARY"]) == long_title.strip()


def test_the_export_reflects_the_store_and_leaves_cancelled_homework_out(con, saved):
    ids, _ = saved
    planner.reschedule(con, scope=T1, assignment_id=ids[2], due_on=date(2026, 3, 27))
    planner.cancel(con, scope=T1, assignment_id=ids[0])
    frame = planner.saved_plan(con, scope=T1, client_id="R1", assignment_ids=ids)
    found = events(takehome.plan_ics(frame, client_label="Robin", stamp=STAMP))
    assert list(found) == ["Body scan", "Letter to self <b>now</b>"]
    assert found["Letter to self <b>now</b>"].decoded("DTSTART") == date(2026, 3, 27)
    html = takehome.plan_handout_html(frame, client_label="Robin")
    assert "Worry diary" not in html and "Friday 27 March 2026" in html


def test_imported_homework_that_asks_more_than_fits_runs_until_the_due_date():
    # 10 a week cannot be done daily in 6 days: times per week is 7 at most, so the rule ends at the due date
    row = {"assignment_id": "A1", "title": "Breathing", "instructions": None, "start": date(2026, 3, 2),
           "due": date(2026, 3, 8), "times_per_week": 7, "expected_count": 10, "minutes": 5, "goal": None,
           "status": "active"}
    event = events(takehome.plan_ics([row], client_label="Kai", stamp=STAMP))["Breathing"]
    assert event["RRULE"]["UNTIL"] == [date(2026, 3, 8)]
    assert occurrences(event)[-1] == date(2026, 3, 8)


@given(start=st.dates(date(2026, 1, 1), date(2026, 12, 31)), days=st.integers(0, 120), times=st.integers(1, 7))
def test_planned_practices_always_fall_between_start_and_due(start, days, times):
    due = start + timedelta(days=days)
    plan_item = PlanItem("mindfulness", "Breathing", "Breathe.", start, due, times, 5, None, True)
    event = events(takehome.plan_ics([plan_item], client_label="Kai", stamp=STAMP))["Breathing"]
    dates = occurrences(event)
    assert len(dates) == plan_item.expected_count
    assert all(start <= d <= due for d in dates)


# ---------------------------------------------------------------------------------------------
# The handout
# ---------------------------------------------------------------------------------------------


def test_the_handout_says_what_how_often_by_when_and_why(saved):
    _, frame = saved
    page = takehome.plan_handout_html(frame, client_label="Robin", practice_name="Northside Therapy",
                                      therapist_name="Dr One")
    assert page.startswith("<!doctype html>")
    assert "@media print" in page and "@page" in page
    assert "For Robin · with Dr One · Northside Therapy" in page
    assert "<h2>1. Worry diary</h2>" in page
    assert "3 times a week, about 10 minutes each time (3 times in all)" in page
    assert "Monday 23 March 2026" in page
    assert "It works toward your goal: Spend less time worrying at night" in page
    # The body scan has no goal: what mindfulness does, with the client's goals in their words when given.
    assert "Regular practice trains your attention to step back from worries and lets your body settle." in page
    assert "Once, about 30 minutes</p>" in page
    # a mood table per item, one numbered row per time expected: 3 + 14 + 1
    assert page.count("Mood before (0–10)") == 3
    assert page.count("</td><td></td><td></td><td></td><td></td></tr>") == 3 + 14 + 1
    assert "<tr><td>14</td>" in page and "<tr><td>15</td>" not in page
    assert "Your practice" not in page


def test_the_handout_never_contradicts_the_plan_and_says_why_without_a_goal(saved):
    _, frame = saved
    page = takehome.plan_handout_html(frame, client_label="Robin", client_goals="Sleep   through the night")
    assert ("Regular practice trains your attention to step back from worries and lets your body settle. What you "
            "said you want from therapy: Sleep through the night") in page
    # How often comes from the plan: the body scan is daily here, whatever a template once said.
    assert "Every day, about 15 minutes each time (14 times in all)" in page
    # A task expected more often than a page holds: 31 rows, then a line to go on overleaf.
    long = [PlanItem("mindfulness", "Breathing", "Breathe.", date(2026, 3, 1), date(2026, 4, 30), 7, 5, None, True)]
    page = takehome.plan_handout_html(long, client_label="Robin")
    assert "<tr><td>31</td>" in page and "Times 32 to 60: go on overleaf." in page


def test_no_bundled_template_states_a_frequency_that_could_contradict_a_plan():
    # How often is the plan's to say (times a week, from the planner); the instructions say how.
    import re

    from analytics.planning import library
    frequency = re.compile(r"\b(each|every)\s+(day|morning|evening|night)\b|\b(once|twice|three times|\d+ times)"
                           r"\s+(a|per|this)\s+(day|week)\b|\bdaily\b", re.IGNORECASE)
    offenders = [row.template_id for row in library.load_bundled().itertuples() if frequency.search(row.instructions)]
    assert offenders == []


def test_the_handout_escapes_everything_a_user_typed(saved):
    _, frame = saved
    page = takehome.plan_handout_html(frame, client_label="<img src=x onerror=alert(1)>")
    assert "<script>" not in page and "<b>now</b>" not in page and "<img" not in page
    assert "Letter to self &lt;b&gt;now&lt;/b&gt;" in page
    assert "Be kinder to myself &amp; others &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Use a &quot;pen&quot; \\ pencil" in page  # line breaks kept as <br>
    assert "breathe.<br>Use a" in page


def test_an_unsaved_plan_can_be_previewed(con):
    data = takehome.plan_ics(PLAN, client_label="Robin", stamp=STAMP)
    assert len(events(data)) == 3
    assert "Worry diary" in takehome.plan_handout_html(PLAN, client_label="Robin")
    assert "No homework in this plan." in takehome.plan_handout_html([], client_label="Robin")
