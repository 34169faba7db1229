"""The homework planner: a plan's weekly load against the client's recent pace, and saving, rescheduling and
cancelling homework (suggestions are in analytics.planning.suggest).

Saving writes one canonical assignment per plan item (and its instructions and times per week in
`assignment_details`) in one transaction, so it shows at once on the client and caseload pages. The
rules are written out in data/README.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pandas as pd
from duckdb import DuckDBPyConnection

from analytics.metrics import profile
from analytics.metrics.clients import client_profile, one_client_scope
from analytics.planning import library
from analytics.store import audit, facts
from analytics.store.database import transaction
from analytics.store.scope import Scope, ScopeError
from analytics.store.vocabulary import ASSIGNMENT_TYPES

# ---------------------------------------------------------------------------------------------
# Plan items and their load
# ---------------------------------------------------------------------------------------------

MAX_PLAN_ITEMS = 20
MAX_TITLE_CHARS = library.MAX_TITLE_CHARS
MAX_INSTRUCTIONS_CHARS = library.MAX_INSTRUCTIONS_CHARS
MAX_GOAL_CHARS = 500
MAX_EXPECTED_COUNT = 1000  # as in the canonical format
# The plan "asks clearly more" when its busiest week exceeds the client's recent weekly work by this factor.
LOAD_WARNING_RATIO = 1.5
RECENT_WEEKS = 4


def expected_count_for(start: date, due: date, times_per_week: int) -> int:
    """Times a planned task is expected by its due date: times_per_week × (due − start in days) / 7,
    rounded half up, at least 1 (so a task due the day it is set is expected once) and at most 1000."""
    weeks = (due - start).days / 7
    return max(1, min(MAX_EXPECTED_COUNT, math.floor(times_per_week * weeks + 0.5)))


@dataclass(frozen=True)
class PlanItem:
    """One piece of homework in a plan, as the therapist and client agreed it."""

    assignment_type: str
    title: str
    instructions: str
    start: date
    due: date
    times_per_week: int
    minutes: int
    goal: str | None
    chosen_with_client: bool

    @property
    def expected_count(self) -> int:
        return expected_count_for(self.start, self.due, self.times_per_week)

    @classmethod
    def from_template(cls, template: library.Template | pd.Series | dict, *, start: date, due: date,
                      goal: str | None = None, chosen_with_client: bool = True) -> PlanItem:
        """An item with the template's type, title, instructions, minutes and times per week."""
        get = template.__getitem__ if isinstance(template, (pd.Series, dict)) else lambda name: getattr(template, name)
        return cls(get("assignment_type"), get("title"), get("instructions"), start, due,
                   int(get("times_per_week")), int(get("default_minutes")), goal, chosen_with_client)

    def problems(self) -> list[str]:
        """What keeps this item from being saved (empty when it is fine); the importer's rules and the library's."""
        found = []
        if self.assignment_type not in ASSIGNMENT_TYPES:
            found.append(f"type must be one of {', '.join(ASSIGNMENT_TYPES)}")
        title = (self.title or "").strip()
        if not title:
            found.append("a title is needed")
        elif len(title) > MAX_TITLE_CHARS:
            found.append(f"the title can be at most {MAX_TITLE_CHARS} characters")
        if len((self.instructions or "").strip()) > MAX_INSTRUCTIONS_CHARS:
            found.append(f"instructions can be at most {MAX_INSTRUCTIONS_CHARS:,} characters")
        if not isinstance(self.start, date) or not isinstance(self.due, date):
            found.append("start and due must be dates")
        elif self.due < self.start:
            found.append("the due date cannot be before the start")
        if isinstance(self.times_per_week, bool) or not isinstance(self.times_per_week, int) or \
                not 1 <= self.times_per_week <= library.MAX_TIMES_PER_WEEK:
            found.append(f"times per week must be a whole number from 1 to {library.MAX_TIMES_PER_WEEK}")
        if isinstance(self.minutes, bool) or not isinstance(self.minutes, int) or not 0 <= self.minutes <= library.MAX_MINUTES:
            found.append(f"minutes must be a whole number from 0 to {library.MAX_MINUTES}")
        if self.goal is not None and len(self.goal.strip()) > MAX_GOAL_CHARS:
            found.append(f"the goal can be at most {MAX_GOAL_CHARS} characters")
        if not isinstance(self.chosen_with_client, bool):
            found.append("say whether it was chosen with the client (yes or no)")
        return found


def _check_items(items: Sequence[PlanItem]) -> None:
    if not items:
        raise ValueError("a plan needs at least one item")
    if len(items) > MAX_PLAN_ITEMS:
        raise ValueError(f"a plan can have at most {MAX_PLAN_ITEMS} items")
    problems = [f"item {i} ({(item.title or '').strip() or 'untitled'}): {problem}"
                for i, item in enumerate(items, 1) for problem in item.problems()]
    if problems:
        raise ValueError("; ".join(problems))


@dataclass(frozen=True)
class PlanLoad:
    """What a plan asks each week against what the client has recently done, and how much of it is likely done.

    planned_*: the plan's busiest week (items running at the same time add up). recent_*: the
    client's mean per week over the last RECENT_WEEKS weeks (fewer when their homework started
    later): times = credit earned by submissions made then; minutes = minutes they reported, else
    credit × the assignment's est_minutes. warning: a plain sentence when the plan asks clearly more
    (over LOAD_WARNING_RATIO × recent times or minutes, or anything after 4 weeks of nothing), else None.
    expected_completion: Σ shrunk completion(type) × expected / Σ expected over the items (0-1).
    """

    planned_times_per_week: float
    planned_minutes_per_week: float
    recent_times_per_week: float | None  # None: no homework history to compare with
    recent_minutes_per_week: float | None
    recent_weeks: float
    warning: str | None
    expected_completion: float | None
    item_expected_completion: tuple[float | None, ...]


def busiest_week(items: Sequence[PlanItem]) -> tuple[float, float]:
    """(times, minutes) per week on the day the most items run at once (an item runs from start to due)."""
    best_times = best_minutes = 0.0
    for day in {item.start for item in items}:
        running = [item for item in items if item.start <= day <= item.due]
        best_times = max(best_times, float(sum(i.times_per_week for i in running)))
        best_minutes = max(best_minutes, float(sum(i.times_per_week * i.minutes for i in running)))
    return best_times, best_minutes


# Work the client reported in [window_start, today], whatever became of the assignment (it is work
# they did), with the first day they were ever set homework.
RECENT_WORK = """
select coalesce(sum(s.credit), 0)::double                                                   as times,
       coalesce(sum(coalesce(s.minutes, s.credit * a.est_minutes, 0)), 0)::double            as minutes,
       (select min(assigned_on) from assignments where client_id = $client_id)              as first_assigned
from submission_facts s
join assignments a using (assignment_id)
join clients c using (client_id)
where a.client_id = $client_id
  and near_local_days(s.submitted_at, $window_start, $today)
  and s.submitted_on between $window_start and $today
  and ($scope_therapist is null or c.therapist_id = $scope_therapist)
"""


def _weeks(weeks: float) -> str:
    """4 -> "4", 2.142857 -> "2.1": weeks as people say them."""
    return f"{weeks:.0f}" if abs(weeks - round(weeks)) < 0.05 else f"{weeks:.1f}"


def _count(value: float, unit: str) -> str:
    return f"{value:.0f} {unit}" if float(value).is_integer() else f"{value:.1f} {unit}"


@dataclass(frozen=True)
class RecentPace:
    """What the client did a week over the last RECENT_WEEKS weeks (fewer when their homework began later).

    times_per_week: credit earned by the submissions made then, a week; minutes_per_week: the minutes
    they reported, else credit × est_minutes; both None when they were never set homework (weeks 0).
    """

    times_per_week: float | None
    minutes_per_week: float | None
    weeks: float

    def pace_limit(self) -> int | None:
        """Times a week a new task may ask without the plan asking clearly more than they do now: the whole
        part of LOAD_WARNING_RATIO × times_per_week, at least once a week; None without history."""
        if self.times_per_week is None:
            return None
        return max(1, math.floor(LOAD_WARNING_RATIO * self.times_per_week + 1e-9))


def recent_pace(con: DuckDBPyConnection, *, scope: Scope, client_id: str, today: date) -> RecentPace:
    """The client's pace over the last RECENT_WEEKS weeks (see RecentPace). Raises ScopeError outside the scope."""
    scope.require_client(con, client_id)
    window_start = today - timedelta(days=7 * RECENT_WEEKS - 1)
    times, minutes, first_assigned = con.execute(
        RECENT_WORK, {"client_id": client_id, "scope_therapist": scope.therapist_id,
                      "window_start": window_start, "today": today}).fetchone()
    if first_assigned is None or first_assigned > today:
        return RecentPace(None, None, 0.0)
    days = (today - max(window_start, first_assigned)).days + 1
    weeks = max(1.0, min(float(RECENT_WEEKS), days / 7))
    return RecentPace(times / weeks, minutes / weeks, weeks)


def plan_load(
    con: DuckDBPyConnection, *, scope: Scope, client_id: str, items: Sequence[PlanItem], today: date
) -> PlanLoad:
    """The plan's weekly load against the client's last 4 weeks, a warning when it asks clearly more,
    and its expected completion (see PlanLoad). Raises ScopeError for a client outside the scope."""
    client = client_profile(con, scope=scope, client_id=client_id)
    planned_times, planned_minutes = busiest_week(items)
    pace = recent_pace(con, scope=scope, client_id=client_id, today=today)
    weeks, recent_times, recent_minutes = pace.weeks, pace.times_per_week, pace.minutes_per_week
    has_history = recent_times is not None

    asks = f"{_count(planned_times, 'times')} ({_count(planned_minutes, 'minutes')}) a week"
    warning = None
    if has_history and planned_times > 0 and recent_times == 0:
        warning = (f"{client.label} has completed no homework in the last {_weeks(weeks)} weeks, and this plan asks for "
                   f"{asks}. Consider starting with one small task.")
    elif has_history and (planned_times > LOAD_WARNING_RATIO * recent_times
                          or (recent_minutes > 0 and planned_minutes > LOAD_WARNING_RATIO * recent_minutes)):
        warning = (f"This plan asks for {asks}: clearly more than the {_count(recent_times, 'times')} "
                   f"({_count(recent_minutes, 'minutes')}) a week {client.label} has completed over the last "
                   f"{_weeks(weeks)} weeks. Consider fewer or shorter tasks.")

    by_type = profile.client_profile_by_type(con, scope=scope, client_id=client_id, today=today)
    shrunk = dict(zip(by_type["assignment_type"], by_type["shrunk_completion_rate"], strict=True))
    per_item = tuple(None if pd.isna(shrunk.get(i.assignment_type, math.nan)) else float(shrunk[i.assignment_type])
                     for i in items)
    weighted = [(p, i.expected_count) for p, i in zip(per_item, items, strict=True) if p is not None]
    total = sum(n for _, n in weighted)
    expected_completion = sum(p * n for p, n in weighted) / total if total else None
    return PlanLoad(planned_times, planned_minutes, recent_times, recent_minutes, weeks, warning,
                    expected_completion, per_item)


# ---------------------------------------------------------------------------------------------
# Writing: save a plan, reschedule, cancel
# ---------------------------------------------------------------------------------------------

# A number from a sequence, never "the highest stored + 1": two plans saved at once get different ids.
NEXT_PLAN_NUMBER = "select nextval('plan_assignment_seq')"

INSERT_ASSIGNMENT = """
insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on, expected_count,
                         est_minutes, goal, chosen_with_client, status)
values ($assignment_id, $client_id, $assignment_type, $title, $assigned_on, $due_on, $expected_count,
        $est_minutes, $goal, $chosen_with_client, 'active')
"""

INSERT_DETAILS = """
insert into assignment_details (assignment_id, instructions, times_per_week, template_id, planned_at)
values ($assignment_id, $instructions, $times_per_week, null, $planned_at)
"""


def _new_plan_id(con: DuckDBPyConnection, prefix: str) -> str:
    """The next plan id; a number some import already used is passed over."""
    while True:
        assignment_id = f"{prefix}{con.execute(NEXT_PLAN_NUMBER).fetchone()[0]:03d}"
        if not con.execute("select count(*) from assignments where assignment_id = ?", [assignment_id]).fetchone()[0]:
            return assignment_id


def _insert_item(con: DuckDBPyConnection, assignment_id: str, client_id: str, item: PlanItem, at: datetime) -> None:
    goal = (item.goal or "").strip() or None
    con.execute(INSERT_ASSIGNMENT, {
        "assignment_id": assignment_id, "client_id": client_id, "assignment_type": item.assignment_type,
        "title": item.title.strip(), "assigned_on": item.start, "due_on": item.due,
        "expected_count": item.expected_count, "est_minutes": item.minutes, "goal": goal,
        "chosen_with_client": item.chosen_with_client,
    })
    con.execute(INSERT_DETAILS, {"assignment_id": assignment_id, "instructions": (item.instructions or "").strip() or None,
                                 "times_per_week": item.times_per_week, "planned_at": at})


def save_plan(
    con: DuckDBPyConnection, *, scope: Scope, client_id: str, items: Sequence[PlanItem], today: date
) -> list[str]:
    """Write one active assignment per item, in one transaction; returns the new ids in item order.

    Ids are P<today as YYYYMMDD>-NNN, NNN from the store's plan sequence (001, 002, ... across days), so
    two plans saved at once never get the same id. assigned_on = start, due_on = due, expected_count =
    expected_count_for(start, due, times_per_week), est_minutes = minutes; the instructions and times per
    week go to assignment_details; the audit trail records the save. Raises ValueError listing every
    problem (nothing is written), for a discharged client, or an empty plan; ScopeError for a client
    outside the scope or a role that may not plan.
    """
    scope.require(scope.may_write_clients, "save plans")
    _check_items(items)
    at = datetime.now(UTC)
    with transaction(con):
        client = client_profile(con, scope=scope, client_id=client_id)
        if client.status == "discharged":
            raise ValueError(f"{client.label} is discharged: reopen the client before planning homework")
        prefix = f"P{today:%Y%m%d}-"
        ids = [_new_plan_id(con, prefix) for _ in items]
        for assignment_id, item in zip(ids, items, strict=True):
            _insert_item(con, assignment_id, client_id, item, at)
        facts.rebuild(con, ids)
        audit.append(con, actor=scope, action=audit.PLAN_SAVED, object_type="client", object_id=client_id,
                     detail=f"{len(ids)} assignment(s): {', '.join(ids)}")
    return ids


# The client's assignments by id, with the planner's details when it wrote them. Times per week of
# an imported assignment are derived: expected_count × 7 / days from set to due, within 1..7.
SAVED_PLAN = """
select a.assignment_id, a.assignment_type, a.title, d.instructions,
       a.assigned_on as start, a.due_on as due, a.expected_count,
       coalesce(d.times_per_week,
                least(7, greatest(1, round(a.expected_count * 7.0 / greatest(a.due_on - a.assigned_on, 1)))))::integer
           as times_per_week,
       a.est_minutes as minutes, a.goal, a.chosen_with_client, a.status
from assignments a
join clients c using (client_id)
left join assignment_details d using (assignment_id)
where a.client_id = $client_id
  and list_contains($assignment_ids, a.assignment_id)
  and ($scope_therapist is null or c.therapist_id = $scope_therapist)
order by a.assigned_on, a.due_on, a.assignment_id
"""


def saved_plan(
    con: DuckDBPyConnection, *, scope: Scope, client_id: str, assignment_ids: Sequence[str]
) -> pd.DataFrame:
    """The client's assignments with these ids as stored, for the take-home exports.

    Columns: assignment_id, assignment_type, title, instructions (None for imported homework), start,
    due (dates), expected_count, times_per_week, minutes, goal, chosen_with_client, status; ordered by
    start, due, id. Raises ScopeError when any id is not this client's homework in the scope.
    """
    scope.require_client(con, client_id)
    ids = list(dict.fromkeys(assignment_ids))
    if not ids or len(ids) > MAX_PLAN_ITEMS * 5:
        raise ValueError(f"give from 1 to {MAX_PLAN_ITEMS * 5} assignment ids")
    frame = con.execute(SAVED_PLAN, {"client_id": client_id, "assignment_ids": ids,
                                     "scope_therapist": scope.therapist_id}).df()
    missing = sorted(set(ids) - set(frame["assignment_id"]))
    if missing:
        raise ScopeError(f"not this client's homework in your caseload: {', '.join(missing)}")
    for column in ("start", "due"):
        frame[column] = [pd.Timestamp(v).date() for v in frame[column]]
    return frame


CURRENT_ASSIGNMENTS = """
select p.assignment_id, p.assignment_type, p.title, p.assigned_on, p.due_on, p.expected_count, p.credit::double as credit,
       p.is_due, a.est_minutes, a.goal, d.instructions, d.times_per_week
from assignment_progress($today, $scope_therapist) p
join assignments a using (assignment_id)
left join assignment_details d using (assignment_id)
where p.client_id = $client_id and p.due_on >= $since
order by p.due_on, p.assignment_id
limit $limit
"""


CURRENT_DAYS_BACK = 28  # "current homework": what is due from four weeks ago on (it can still be moved)
CURRENT_LIMIT = 100  # rows of current homework at most


def current_since(today: date) -> date:
    """The first due date of "current homework" on `today`."""
    return today - timedelta(days=CURRENT_DAYS_BACK)


def not_yet_due(current: pd.DataFrame, today: date) -> list[str]:
    """The ids of `current_assignments` rows due today or later (what a take-home copy is for)."""
    return [assignment_id for assignment_id, due_on in zip(current["assignment_id"], current["due_on"], strict=True)
            if not pd.isna(due_on) and pd.Timestamp(due_on).date() >= today]


def current_assignments(
    con: DuckDBPyConnection, *, scope: Scope, client_id: str, today: date, days_back: int = CURRENT_DAYS_BACK,
    limit: int = CURRENT_LIMIT,
) -> pd.DataFrame:
    """The client's active homework due from `days_back` days ago on (what can be rescheduled or cancelled).

    Columns: assignment_id, assignment_type, title, assigned_on, due_on, expected_count, credit (so far,
    capped), is_due, est_minutes, goal, instructions and times_per_week (planner-written homework only).
    At most `limit` rows, soonest due first.
    """
    scope = one_client_scope(con, scope=scope, client_id=client_id)  # the same rows, over one caseload
    return con.execute(CURRENT_ASSIGNMENTS, {
        "client_id": client_id, "scope_therapist": scope.therapist_id, "today": today,
        "since": today - timedelta(days=days_back), "limit": limit}).df()


def homework_now(
    con: DuckDBPyConnection, *, scope: Scope, client_id: str, today: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(current, overdue) for the Client page, both in the columns of `current_assignments`:
    current is the active homework due today or later, soonest first; overdue is the active homework due
    in the last CURRENT_DAYS_BACK days, before today, that is not fully done (credit under expected_count),
    the most recent first."""
    frame = current_assignments(con, scope=scope, client_id=client_id, today=today)
    due = pd.to_datetime(frame["due_on"]).dt.date
    current = frame[due >= today].reset_index(drop=True)
    overdue = frame[(due < today) & (frame["credit"] < frame["expected_count"])]
    return current, overdue.iloc[::-1].reset_index(drop=True)


ASSIGNMENT_IN_SCOPE = """
select a.assigned_on, a.status
from assignments a
join clients c using (client_id)
where a.assignment_id = $assignment_id
  and ($scope_therapist is null or c.therapist_id = $scope_therapist)
"""


def _assignment_in_scope(con: DuckDBPyConnection, scope: Scope, assignment_id: str) -> tuple[date, str]:
    row = con.execute(ASSIGNMENT_IN_SCOPE, {"assignment_id": assignment_id,
                                            "scope_therapist": scope.therapist_id}).fetchone()
    if row is None:  # the same whether it exists or not
        raise ScopeError(f"assignment {assignment_id!r} is not in your caseload")
    return row


def reschedule(
    con: DuckDBPyConnection, *, scope: Scope, assignment_id: str, due_on: date, expected_count: int | None = None
) -> None:
    """Move an active assignment's due date (and, if given, its expected count), in one transaction.

    The expected count stays as it was unless given: moving the date gives more (or less) time for
    the same work. Raises ValueError for a due date before assigned_on, a cancelled assignment or a
    count outside 1-1000; ScopeError when the assignment's client is not in scope or the role may not plan.
    """
    scope.require(scope.may_write_clients, "change homework")
    if expected_count is not None and (isinstance(expected_count, bool) or not isinstance(expected_count, int)
                                       or not 1 <= expected_count <= MAX_EXPECTED_COUNT):
        raise ValueError(f"the expected count must be a whole number from 1 to {MAX_EXPECTED_COUNT}")
    with transaction(con):
        assigned_on, status = _assignment_in_scope(con, scope, assignment_id)
        if status != "active":
            raise ValueError("cancelled homework cannot be rescheduled")
        if due_on < assigned_on:
            raise ValueError(f"the due date cannot be before the day it was set ({assigned_on:%d %b %Y})")
        con.execute("update assignments set due_on = $due_on, expected_count = coalesce($expected_count, expected_count) "
                    "where assignment_id = $assignment_id",
                    {"due_on": due_on, "expected_count": expected_count, "assignment_id": assignment_id})
        facts.rebuild(con, [assignment_id])  # on-time credit follows the due date
        audit.append(con, actor=scope, action=audit.PLAN_RESCHEDULED, object_type="assignment",
                     object_id=assignment_id,
                     detail=f"due {due_on:%Y-%m-%d}" + (f", expected {expected_count}" if expected_count else ""))


def cancel(con: DuckDBPyConnection, *, scope: Scope, assignment_id: str) -> None:
    """Cancel an assignment (status cancelled: never due, counts in no rate), in one transaction.

    Cancelling a cancelled assignment changes nothing. Raises ScopeError when its client is not in scope or
    the role may not plan.
    """
    scope.require(scope.may_write_clients, "change homework")
    with transaction(con):
        _assignment_in_scope(con, scope, assignment_id)
        con.execute("update assignments set status = 'cancelled' where assignment_id = $assignment_id",
                    {"assignment_id": assignment_id})
        facts.rebuild(con, [assignment_id])  # (status is read at query time: kept for one rule, every write refreshes)
        audit.append(con, actor=scope, action=audit.PLAN_CANCELLED, object_type="assignment", object_id=assignment_id)

