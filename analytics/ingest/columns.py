"""Reading a staged source through a mapping, column by column: the SQL that cleans ids and coded
values, reads dates in the stated order and numbers with decimal commas; what a staged table holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from duckdb import DuckDBPyConnection

from analytics.ingest.canonical import TABLES
from analytics.ingest.mapping import FLAT_TABLE_FIELDS, OWN_FIELDS, Mapping, field_column
from analytics.ingest.raw import Problem, RawTable, printable
from analytics.store.vocabulary import (
    match_key,
)

ID_KINDS = ("id",)


CODED_KINDS = ("id", "date", "datetime", "int", "bool", "enum", "type", "measure")


INVISIBLE = r"[\x{200B}-\x{200D}\x{2060}\x{FEFF}\x{00A0}\x{2007}\x{202F}]"


ZERO_WIDTH = r"[\x{200B}-\x{200D}\x{2060}\x{FEFF}]"


NBSP = r"[\x{00A0}\x{2007}\x{202F}]"


FORMULA_START = r"^([=@]|[+-][A-Za-z(]|[+-=@].*[|!])"


FORMULA_CHARS = "=@+-|!"  # a text FORMULA_START matches holds one of these (its first or, after it, | or !)


MARKUP_CHARS = "<:="  # a text MARKUP finds holds one of these


MARKUP = r"(?i)<\s*/?\s*(script|iframe|img|svg|a|style|object|embed|body|html|div|span|b|i|p)\b|javascript:|on[a-z]+\s*="


@dataclass
class StagedTable:
    """One canonical table staged from a file: temp table stage_<table> and how to report on it."""

    table: str
    present: tuple[str, ...]  # canonical columns staged, in the table's order
    labels: dict[str, str]  # column -> the name to show ("Due date (due_on)" when the file calls it so)
    rows_read: int = 0
    rejected: int = 0  # refused before validation (wrong number of fields, conflicting facts)
    date_order: str = "iso"
    row_level: bool = False  # the table that holds one row per record of the file
    source: str | None = None  # set when stage_<table> is a view over this raw table (dropped once validated)


@dataclass
class Applied:
    tables: list[StagedTable] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    ok: bool = True
    matches: list = field(default_factory=list)  # report.Match: the people the file names, and whom they are


def tables_of(mapping: Mapping) -> tuple[str, ...]:
    """The canonical tables a mapping can produce (to refuse two files for one table early)."""
    if mapping.target in TABLES:
        return (mapping.target,)
    if mapping.target == "mindlogger":
        return ("clients", "assignments", "submissions")
    fields = {f for _, f in mapping.columns if f}
    return tuple(t for t in FLAT_TABLE_FIELDS if flat_table_staged(t, fields))


def flat_table_staged(table: str, fields: set[str]) -> bool:
    if table == "therapists":
        return "therapist_name" in fields
    if table == "clients":
        return "client_id" in fields and ("therapist_id" in fields or "therapist_name" in fields)
    return bool(fields & OWN_FIELDS[table])


class SourceColumns:
    """The resolved columns of a mapping on one file: field -> SQL of its cleaned text, plus labels."""

    def __init__(self, con: DuckDBPyConnection, mapping: Mapping, raw: RawTable, *, strict: bool, slot: int):
        self.con, self.mapping, self.raw, self.strict, self.slot = con, mapping, raw, strict, slot
        self.position: dict[str, int] = {}
        self.labels: dict[str, str] = {}
        self.problems: list[Problem] = []
        self.joins: list[str] = []
        self.ok = True
        line = raw.header_line
        for source, target_field in mapping.columns:
            if not target_field:
                continue
            positions = [p for p, h in enumerate(raw.header) if h == source] or \
                        [p for p, h in enumerate(raw.header) if match_key(h) == match_key(source)]
            if not positions:
                self.problems.append(Problem(raw.file, line, target_field, f"the mapping's column "
                                             f"“{printable(source)}” is not in the file", "warning"))
                continue
            if len(positions) > 1:
                if self.ok or not any(p.column == printable(source) for p in self.problems):
                    self.problems.append(Problem(raw.file, line, printable(source), "column appears twice in the "
                                                 f"header (positions {positions[0] + 1} and {positions[1] + 1})"))
                self.ok = False
                continue
            if target_field in self.position:
                first = raw.header[self.position[target_field]]
                self.problems.append(Problem(raw.file, line, target_field, f"two columns are mapped to {target_field}: "
                                             f"“{printable(first)}” and “{printable(source)}”"))
                self.ok = False
                continue
            self.position[target_field] = positions[0]
            self.labels[target_field] = target_field if match_key(source) == match_key(target_field) else \
                f"{printable(source, 30)} ({target_field})"
        if not strict and self.ok:
            mapped = set(self.position.values())
            ignored = [printable(h, 30) for p, h in enumerate(raw.header) if p not in mapped and h]
            if ignored:
                shown = ", ".join(ignored[:12]) + (" …" if len(ignored) > 12 else "")
                self.problems.append(Problem(raw.file, line, "", f"{len(ignored)} column(s) not mapped to any field "
                                             f"were ignored: {shown}", "note"))
        self._register_value_maps()

    def _register_value_maps(self) -> None:
        self.value_fields = [f for f, pairs in self.mapping.values if pairs]
        self.con.execute("create temp table if not exists value_maps (slot integer, field varchar, word varchar, "
                         "ours varchar)")
        self.con.execute("delete from value_maps where slot = ?", [self.slot])
        rows = [(self.slot, f, word.strip().lower(), ours) for f, pairs in self.mapping.values
                for word, ours in pairs if ours]
        # one row per word as looked up (lower case, trimmed): "done" and "Done" in a map would otherwise each join
        # every row saying done, and the rows would be doubled (the first word's answer is kept)
        rows = list({(slot, f, word): (slot, f, word, ours) for slot, f, word, ours in reversed(rows)}.values())
        if rows:
            self.con.executemany("insert into value_maps values (?, ?, ?, ?)", rows)

    def has(self, name: str) -> bool:
        return name in self.position

    def text(self, name: str) -> str:
        """SQL for the field's text with invisible characters removed from coded values; NULL when unmapped."""
        if name not in self.position:
            return "cast(null as varchar)"
        column = f"r.c{self.position[name]}"
        kind, _ = field_column(self.mapping.target, name)
        if kind in CODED_KINDS:  # (the characters removed are not ASCII: text of ASCII only is left as it is, quickly)
            column = (f"case when strlen({column}) = length({column}) then {column} else "
                      f"regexp_replace(regexp_replace({column}, '{ZERO_WIDTH}', '', 'g'), '{NBSP}', ' ', 'g') end")
        return column

    def value(self, name: str) -> str:
        """SQL for the field as the importer will validate it: cleaned, value-mapped, dates and numbers read."""
        if name not in self.position:
            return "cast(null as varchar)"
        kind, _ = field_column(self.mapping.target, name)
        v = self.text(name)
        if name in self.value_fields:
            alias = f"vm_{len(self.joins)}"
            self.joins.append(f"left join value_maps {alias} on {alias}.slot = {self.slot} and {alias}.field = "
                              f"'{name}' and {alias}.word = lower(trim({v}))")
            v = f"coalesce({alias}.ours, {v})"
        if self.strict:
            return v
        if kind == "date":
            v = _date_sql(v, self.mapping.date_order)
        elif kind == "datetime":
            v = _datetime_text_sql(v, self.mapping.date_order)
        elif kind == "int":
            v = _number_sql(v, self.mapping.decimal_comma)
        return v

    def from_clause(self) -> str:
        return f"from {self.raw.table} r {' '.join(self.joins)}"

    def report_content(self) -> None:
        """Warnings for ids with invisible characters (removed), formulas and markup (kept as inert text).

        One scan of the staged file answers every check. Each row is first tested as a whole, once: the columns
        checked for invisible characters joined are ASCII only (every invisible character is not), the columns
        checked for formulas joined hold none of = @ + - | ! (a formula holds one), those checked for markup none of
        < : = (markup holds one); only a row failing a test has its columns looked at one by one.
        """
        checks: list[tuple[str, str, str]] = []  # (label, SQL predicate, reason)
        coded, formulas, texts = [], [], []
        for name, position in self.position.items():
            kind, _ = field_column(self.mapping.target, name)
            column = f"c{position}"
            label = self.labels[name]
            if kind in CODED_KINDS:
                coded.append(column)
                checks.append((label, f"case when _ascii then false else regexp_matches({column}, '{INVISIBLE}') end",
                               "held invisible characters (zero-width or non-breaking spaces) that were removed, "
                               "so the ids match the same ids typed without them"))
            if not self.strict and kind in ("id", "text", "note", "type"):
                formulas.append(column)
                checks.append((label, f"case when _formula then regexp_matches(trim({column}), '{FORMULA_START}') "
                               "else false end",
                               "start like a spreadsheet formula (=, +, -, @); stored as plain text, never run"))
            if not self.strict and kind in ("text", "note"):
                texts.append(column)
                checks.append((label, f"case when _markup then regexp_matches({column}, '{MARKUP}') else false end",
                               "hold HTML or script markup; stored and shown as plain text"))
        if not checks:
            return
        def joined(columns: list[str]) -> str:
            return f"concat({', '.join(columns)})" if columns else "''"

        def holds(columns: list[str], characters: str) -> str:
            return " or ".join(f"contains({joined(columns)}, '{c}')" for c in characters)

        row_tests = (f"strlen({joined(coded)}) = length({joined(coded)}) as _ascii, "
                     f"{holds(formulas, FORMULA_CHARS)} as _formula, {holds(texts, MARKUP_CHARS)} as _markup")
        parts = ", ".join(f"count(*) filter (where {p}), min(_line) filter (where {p})" for _, p, _ in checks)
        found = self.con.execute(f"select {parts} from (select *, {row_tests} from {self.raw.table}) "
                                 "where not _ascii or _formula or _markup").fetchone()
        for n, (label, _, reason) in enumerate(checks):
            count, first = found[2 * n], found[2 * n + 1]
            if count:
                self.problems.append(Problem(self.raw.file, first, label, f"{count} value(s) {reason} "
                                             "(the first on this line)", "warning"))


def _date_sql(v: str, order: str) -> str:
    if order == "iso":
        return v
    day, month = (1, 2) if order == "dmy" else (2, 1)
    pattern = r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})\s*$"
    return (f"case when regexp_matches({v}, '{pattern}') then regexp_extract({v}, '{pattern}', 3) || '-' || "
            f"lpad(regexp_extract({v}, '{pattern}', {month}), 2, '0') || '-' || "
            f"lpad(regexp_extract({v}, '{pattern}', {day}), 2, '0') else {v} end")


def _datetime_text_sql(v: str, order: str) -> str:
    """Date-times: day/month order read as asked; a date without a time is midnight."""
    if order != "iso":
        pattern = r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})(?:[ T]+(\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?))?\s*$"
        day, month = (1, 2) if order == "dmy" else (2, 1)
        v = (f"case when regexp_matches({v}, '{pattern}') then regexp_extract({v}, '{pattern}', 3) || '-' || "
             f"lpad(regexp_extract({v}, '{pattern}', {month}), 2, '0') || '-' || "
             f"lpad(regexp_extract({v}, '{pattern}', {day}), 2, '0') || 'T' || "
             f"lpad(coalesce(nullif(regexp_extract({v}, '{pattern}', 4), ''), '00:00'), 5, '0') else {v} end")
    return f"case when regexp_matches(trim({v}), '^\\d{{4}}-\\d{{2}}-\\d{{2}}$') then trim({v}) || 'T00:00:00' else {v} end"


def _number_sql(v: str, decimal_comma: bool) -> str:
    """Whole numbers: 7,0 or 7.0 -> 7; with decimal commas 1.440 -> 1440 (a fraction stays and is refused)."""
    if decimal_comma:
        v = (f"case when regexp_matches(trim({v}), '^[+-]?\\d{{1,3}}(\\.\\d{{3}})+(,\\d+)?$') "
             f"then replace(replace(trim({v}), '.', ''), ',', '.') "
             f"when regexp_matches(trim({v}), '^[+-]?\\d+,\\d+$') then replace(trim({v}), ',', '.') else {v} end")
    # (only a number with a point can change: others are passed over without the regular expression)
    return f"case when contains({v}, '.') then regexp_replace({v}, '^\\s*([+-]?\\d+)\\.0+\\s*$', '\\1') else {v} end"


def required_missing(spec_name: str, present: Iterable[str], raw: RawTable, applied: Applied,
                      *, derived: Iterable[str] = ()) -> bool:
    missing = [c for c in TABLES[spec_name].required if c not in present and c not in derived]
    for column in missing:
        applied.problems.append(Problem(raw.file, raw.header_line, column,
                                        f"no column was mapped to {column}, which {spec_name} need: the required "
                                        "column is missing from the header (map a column of the file to it)"))
    if missing:
        applied.ok = False
    return bool(missing)
