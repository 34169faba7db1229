"""The planner's editable rows: a plan as the rows of `st.data_editor`, and the edited rows back as plan items.
"""

from __future__ import annotations

import math
from datetime import date, datetime

import pandas as pd

from analytics.planning.planner import PlanItem

PLAN_COLUMNS = ["assignment_type", "title", "instructions", "start", "due", "times_per_week", "minutes", "goal",
                "chosen_with_client"]


_PLAN_DTYPES = {"assignment_type": "object", "title": "object", "instructions": "object", "start": "object",
                "due": "object", "times_per_week": "Int64", "minutes": "Int64", "goal": "object",
                "chosen_with_client": "boolean"}


def plan_row(template: dict | pd.Series, *, start: date, due: date) -> dict:
    """A plan row from a library template or a suggestion (type, title, instructions, minutes, times a week)."""
    return {
        "assignment_type": template["assignment_type"], "title": template["title"],
        "instructions": template["instructions"], "start": start, "due": due,
        "times_per_week": int(template["times_per_week"]), "minutes": int(template["default_minutes"]),
        "goal": None, "chosen_with_client": False,
    }


def plan_table(rows: list[dict]) -> pd.DataFrame:
    """The plan rows as st.data_editor edits them: PLAN_COLUMNS, typed even when there is no row yet."""
    return pd.DataFrame(rows, columns=PLAN_COLUMNS).astype(_PLAN_DTYPES)


def _cell(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _text_cell(value: object) -> str | None:
    value = _cell(value)
    return None if value is None else str(value)


def _day_cell(value: object) -> date | None:
    value = _cell(value)
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return pd.Timestamp(value).date()
    except (TypeError, ValueError):
        return None


def _whole_cell(value: object) -> int | None:
    value = _cell(value)
    if value is None:
        return None
    number = float(value)
    return int(number) if number.is_integer() else None


def plan_rows(edited: pd.DataFrame) -> list[dict]:
    """The editor's table back as plan rows: empty cells None, whole numbers int, dates date, the yes/no a bool."""
    rows = []
    for record in edited.to_dict("records"):
        rows.append({
            "assignment_type": _text_cell(record.get("assignment_type")),
            "title": _text_cell(record.get("title")),
            "instructions": _text_cell(record.get("instructions")),
            "start": _day_cell(record.get("start")),
            "due": _day_cell(record.get("due")),
            "times_per_week": _whole_cell(record.get("times_per_week")),
            "minutes": _whole_cell(record.get("minutes")),
            "goal": _text_cell(record.get("goal")),
            "chosen_with_client": bool(_cell(record.get("chosen_with_client")) or False),
        })
    return rows


def plan_items(rows: list[dict]) -> tuple[list[PlanItem], list[str]]:
    """The rows that can be saved as PlanItems, and one line per row that cannot, saying why (planner's rules)."""
    items, problems = [], []
    for number, row in enumerate(rows, 1):
        item = PlanItem(row["assignment_type"] or "", row["title"] or "", row["instructions"] or "", row["start"],
                        row["due"], row["times_per_week"], row["minutes"], row["goal"], row["chosen_with_client"])
        found = item.problems()
        if found:
            problems.append(f"Item {number} ({(row['title'] or '').strip() or 'untitled'}): {'; '.join(found)}.")
        else:
            items.append(item)
    return items, problems
