"""The assignment library: the bundled homework templates (data/library.csv) and the practice's own (in the store).

The bundled file ships with the release and is never written to. Templates users add are stored in
`library_templates` with ids U0001, U0002, ...; editing a bundled template saves a user copy with a
new id, so the bundled one stays as shipped. Tags (concerns, goals, preferences) are `;`-separated,
lower case.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from duckdb import DuckDBPyConnection

from analytics.store import audit
from analytics.store.database import PROJECT_DIR, transaction
from analytics.store.scope import Scope
from analytics.store.vocabulary import ASSIGNMENT_TYPES, TYPE_LABELS, normalise_type

LIBRARY_FILE = PROJECT_DIR / "data" / "library.csv"

COLUMNS = ("template_id", "assignment_type", "title", "instructions", "default_minutes", "times_per_week",
           "suits_concerns", "suits_goals", "suits_preferences")
TAG_COLUMNS = ("suits_concerns", "suits_goals", "suits_preferences")
USER_PREFIX = "U"  # ids of user templates; bundled ids never start with it

MAX_TITLE_CHARS = 120
MAX_INSTRUCTIONS_CHARS = 2000
MAX_TAG_CHARS = 40
MAX_TAGS = 20
MAX_MINUTES = 1440
MAX_TIMES_PER_WEEK = 7  # at most daily: a calendar event per day is what the take-home .ics can express
MAX_USER_TEMPLATES = 5000  # keeps every read of the library bounded


class LibraryError(Exception):
    """The bundled library file is missing or malformed: a broken release, not a user mistake."""


@dataclass(frozen=True)
class Template:
    """One homework template. template_id None (or a bundled id) saves as a new user template."""

    template_id: str | None
    assignment_type: str
    title: str
    instructions: str
    default_minutes: int
    times_per_week: int
    suits_concerns: tuple[str, ...] = ()
    suits_goals: tuple[str, ...] = ()
    suits_preferences: tuple[str, ...] = ()


def split_tags(text: object) -> tuple[str, ...]:
    """`;`-separated tags as a tuple: trimmed, lower case, empty ones and repeats dropped, order kept."""
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return ()
    seen: dict[str, None] = {}
    for tag in str(text).split(";"):
        tag = " ".join(tag.split()).lower()
        if tag:
            seen.setdefault(tag, None)
    return tuple(seen)


def join_tags(tags: tuple[str, ...]) -> str:
    return ";".join(tags)


def _tags(value: object) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return split_tags(";".join(str(v) for v in value))
    return split_tags(value)


def _whole_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def normalise(template: Template | Mapping[str, object]) -> tuple[Template, list[str]]:
    """The template with text trimmed and tags split, and the problems that keep it from being saved."""
    raw = dict(template) if isinstance(template, Mapping) else {f.name: getattr(template, f.name) for f in fields(Template)}
    problems: list[str] = []
    text = {name: " ".join(str(raw.get(name) or "").split()) for name in ("assignment_type", "title")}
    instructions = str(raw.get("instructions") or "").strip()
    assignment_type = normalise_type(text["assignment_type"]) or text["assignment_type"].lower()
    if assignment_type not in ASSIGNMENT_TYPES:
        problems.append(f"type must be one of {', '.join(ASSIGNMENT_TYPES)}")
    if not text["title"]:
        problems.append("a title is needed")
    elif len(text["title"]) > MAX_TITLE_CHARS:
        problems.append(f"the title can be at most {MAX_TITLE_CHARS} characters")
    if not instructions:
        problems.append("instructions are needed")
    elif len(instructions) > MAX_INSTRUCTIONS_CHARS:
        problems.append(f"instructions can be at most {MAX_INSTRUCTIONS_CHARS:,} characters")
    minutes = _whole_number(raw.get("default_minutes"))
    if minutes is None or not 0 <= minutes <= MAX_MINUTES:
        problems.append(f"default minutes must be a whole number from 0 to {MAX_MINUTES}")
    times = _whole_number(raw.get("times_per_week"))
    if times is None or not 1 <= times <= MAX_TIMES_PER_WEEK:
        problems.append(f"times per week must be a whole number from 1 to {MAX_TIMES_PER_WEEK}")
    tags = {name: _tags(raw.get(name)) for name in TAG_COLUMNS}
    for name, values in tags.items():
        label = name.removeprefix("suits_")
        if len(values) > MAX_TAGS:
            problems.append(f"at most {MAX_TAGS} {label} tags")
        if any(len(tag) > MAX_TAG_CHARS for tag in values):
            problems.append(f"a {label} tag can be at most {MAX_TAG_CHARS} characters")
    template_id = raw.get("template_id")
    template_id = str(template_id).strip() if template_id not in (None, "") else None
    clean = Template(template_id, assignment_type, text["title"], instructions, minutes or 0, times or 1, **tags)
    return clean, problems


# ---------------------------------------------------------------------------------------------
# The bundled file
# ---------------------------------------------------------------------------------------------


def load_bundled(path: Path = LIBRARY_FILE) -> pd.DataFrame:
    """The bundled templates, validated: columns COLUMNS plus source ('bundled'), in file order.

    Raises LibraryError naming the file and line for a missing file, a wrong header, a repeated or
    reserved id, or a row that fails the template rules.
    """
    path = Path(path)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise LibraryError(f"the bundled library {path} cannot be read: {exc.strerror}") from exc
    return _load_bundled(path, stamp).copy()


@functools.lru_cache(maxsize=4)
def _load_bundled(path: Path, stamp: int) -> pd.DataFrame:  # stamp: a changed file is read again
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise LibraryError(f"the bundled library {path} cannot be read: {exc}") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != COLUMNS:
        raise LibraryError(f"{path}: the header must be {','.join(COLUMNS)}")
    rows: list[dict[str, object]] = []
    seen: set[str] = set()
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(COLUMNS):
            raise LibraryError(f"{path} line {line}: {len(record)} fields, expected {len(COLUMNS)}")
        template, problems = normalise(dict(zip(COLUMNS, record, strict=True)))
        if template.template_id is None:
            problems.append("a template_id is needed")
        elif template.template_id.upper().startswith(USER_PREFIX):
            problems.append(f"ids starting with {USER_PREFIX!r} are kept for user templates")
        elif template.template_id in seen:
            problems.append(f"template_id {template.template_id} appears twice")
        if problems:
            raise LibraryError(f"{path} line {line}: {'; '.join(problems)}")
        seen.add(template.template_id)
        rows.append(_row(template))
    if not rows:
        raise LibraryError(f"{path}: no templates")
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["source"] = "bundled"
    return frame


def _row(template: Template) -> dict[str, object]:
    return {
        "template_id": template.template_id,
        "assignment_type": template.assignment_type,
        "title": template.title,
        "instructions": template.instructions,
        "default_minutes": template.default_minutes,
        "times_per_week": template.times_per_week,
        **{name: join_tags(getattr(template, name)) for name in TAG_COLUMNS},
    }


# ---------------------------------------------------------------------------------------------
# Bundled + user templates
# ---------------------------------------------------------------------------------------------

USER_TEMPLATES = """
select template_id, assignment_type, title, instructions, default_minutes, times_per_week,
       coalesce(suits_concerns, '') as suits_concerns, coalesce(suits_goals, '') as suits_goals,
       coalesce(suits_preferences, '') as suits_preferences, source
from library_templates
order by template_id
limit $limit
"""


def templates(con: DuckDBPyConnection, *, path: Path = LIBRARY_FILE) -> pd.DataFrame:
    """Every template: the bundled ones in file order, then the users' by id.

    Columns: template_id, assignment_type, type_label, title, instructions, default_minutes,
    times_per_week, suits_concerns, suits_goals, suits_preferences (`;`-separated tags) and source
    ('bundled' | 'user'). Templates are the practice's, not client data: no scope.
    """
    bundled = load_bundled(path)
    user = con.execute(USER_TEMPLATES, {"limit": MAX_USER_TEMPLATES}).df()
    frame = pd.concat([bundled, user], ignore_index=True) if len(user) else bundled
    frame.insert(2, "type_label", [TYPE_LABELS.get(t, t) for t in frame["assignment_type"]])
    frame["default_minutes"] = frame["default_minutes"].astype("int64")
    frame["times_per_week"] = frame["times_per_week"].astype("int64")
    return frame


def get_template(con: DuckDBPyConnection, template_id: str, *, path: Path = LIBRARY_FILE) -> Template:
    """One template by id (bundled or user), for the edit form; KeyError when there is none."""
    frame = templates(con, path=path)
    match = frame[frame["template_id"] == template_id]
    if match.empty:
        raise KeyError(f"no template {template_id!r}")
    row = match.iloc[0]
    return Template(row["template_id"], row["assignment_type"], row["title"], row["instructions"],
                    int(row["default_minutes"]), int(row["times_per_week"]),
                    *(split_tags(row[name]) for name in TAG_COLUMNS))


# A number from a sequence, never "the highest stored + 1": two templates saved at once get different ids.
NEXT_USER_NUMBER = "select nextval('user_template_seq')"

INSERT_TEMPLATE = """
insert into library_templates (template_id, assignment_type, title, instructions, default_minutes, times_per_week,
                               suits_concerns, suits_goals, suits_preferences, created_at, updated_at, source,
                               created_by, changed_by)
values ($template_id, $assignment_type, $title, $instructions, $default_minutes, $times_per_week,
        $suits_concerns, $suits_goals, $suits_preferences, $at, $at, 'user', $by, $by)
"""

UPDATE_TEMPLATE = """
update library_templates
set assignment_type = $assignment_type, title = $title, instructions = $instructions,
    default_minutes = $default_minutes, times_per_week = $times_per_week, suits_concerns = $suits_concerns,
    suits_goals = $suits_goals, suits_preferences = $suits_preferences, updated_at = $at, changed_by = $by
where template_id = $template_id
"""


def template_author(con: DuckDBPyConnection, template_id: str) -> tuple[str | None, str | None] | None:
    """(created_by, changed_by) of a user template (None for one stored before authors were recorded), or None
    when there is no such user template."""
    return con.execute("select created_by, changed_by from library_templates where template_id = ?",
                       [template_id]).fetchone()


def may_change(scope: Scope, author: str | None) -> bool:
    """Whether this person may change a user template written by `author`: admins, and its author."""
    return scope.may_write_clients and (scope.is_admin or (bool(author) and author == audit.actor_email(scope)))


def save_template(con: DuckDBPyConnection, template: Template | Mapping[str, object], *,
                  scope: Scope | None = None) -> str:
    """Validate and store a user template in one transaction; returns its id.

    A template without an id, or with a bundled id (an edit of a bundled template), is stored as a
    new user template (U0001, U0002, ... from a sequence) written by the scope's user. A user id
    updates that template (updated_at, changed_by), which only admins and its author may do. The audit
    trail records both. scope None is the practice's admin (the command line, tests). Raises
    ValueError listing every problem, or for a user id that is not in the store; ScopeError for a
    role that may not write templates or a template of another author.
    """
    scope = Scope.practice() if scope is None else scope
    scope.require(scope.may_write_clients, "write library templates")
    clean, problems = normalise(template)
    if problems:
        raise ValueError("; ".join(problems))
    values = _row(clean)
    values.update({name: values[name] or None for name in TAG_COLUMNS})  # no tags: stored as missing
    values["at"] = datetime.now(UTC)
    values["by"] = audit.actor_email(scope)
    with transaction(con):
        is_user_id = clean.template_id is not None and clean.template_id.upper().startswith(USER_PREFIX)
        if is_user_id:
            author = template_author(con, clean.template_id)
            if author is None:
                raise ValueError(f"no user template {clean.template_id!r} to update")
            scope.require(may_change(scope, author[0]), "change a template someone else wrote (its author or an "
                          "admin can; save it as a new template instead)")
            con.execute(UPDATE_TEMPLATE, values)
            audit.append(con, actor=scope, action=audit.TEMPLATE_CHANGED, object_type="template",
                         object_id=clean.template_id)
            return clean.template_id
        stored = con.execute("select count(*) from library_templates").fetchone()[0]
        if stored >= MAX_USER_TEMPLATES:
            raise ValueError(f"the library holds the most user templates it can ({MAX_USER_TEMPLATES:,})")
        while True:  # a number an older release already used is passed over
            new_id = f"{USER_PREFIX}{con.execute(NEXT_USER_NUMBER).fetchone()[0]:04d}"
            if template_author(con, new_id) is None:
                break
        con.execute(INSERT_TEMPLATE, {**values, "template_id": new_id})
        audit.append(con, actor=scope, action=audit.TEMPLATE_CREATED, object_type="template", object_id=new_id,
                     detail=f"copy of {clean.template_id}" if clean.template_id else "")
        return new_id


def copy_for_editing(template: Template) -> Template:
    """A bundled template as the start of a user copy (no id: saving creates a new user template)."""
    return replace(template, template_id=None)
