"""The command line: `python -m analytics demo | import | summary | plan | load-demo | settings | timezone | users |
audit | export`."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import duckdb

# Each command imports what it uses when it runs (`summary` and `plan` start fast: no plotly, streamlit, scipy,
# openpyxl or Parquet writer unless the command needs them; tests/test_cli_startup.py checks it). Only the store's
# light modules are imported here.
from analytics import cli_admin
from analytics.store import settings
from analytics.store.database import (
    PROJECT_DIR,
    StoreError,
    default_db_path,
    get_timezone,
    is_empty,
    open_for_reading,
    open_store,
    set_timezone,
)
from analytics.store.scope import Scope, ScopeError

if TYPE_CHECKING:
    import pandas as pd

    from analytics.ingest.mapping import Mapping

DEMO_DIR = PROJECT_DIR / "data" / "demo"
EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
NEEDS_ATTENTION = "needs-attention"
# DuckDB's memory for an import: what does not fit spills to disk, except the key indexes of the rows being written
# (about 40 bytes a key: 0.58 GB for a batch of 10M submissions with their 3.7M assignments), which must fit. A 10M
# batch ran out at 600 MB and at 1.5 GB; at 2 GB (without kept insertion order) its peak RSS is 2.55 GB.
IMPORT_MEMORY_LIMIT = "2GB"

# Choices the parser offers, written here so that building it imports nothing heavy; tests/test_cli_startup.py
# checks each against the module it comes from.
SUMMARY_GROUPS = ("client", "therapist", "type", "week")  # analytics.metrics.adherence.GROUP_BY
IMPORT_FORMATS = ("canonical", "flat", "mindlogger")  # analytics.ingest.mapping.PRESET_MAPPINGS
DATE_ORDER_NAMES = ("iso", "dmy", "mdy")  # analytics.ingest.mapping.DATE_ORDERS
MAX_SUGGESTIONS = 50  # analytics.planning.suggest.MAX_SUGGESTIONS


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from exc


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from exc
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _match(text: str) -> tuple[str, str, str]:
    """--match [therapist:|client:]NAME=ID as (kind or "", name, id)."""
    name, sep, chosen = text.rpartition("=")
    kind, colon, rest = name.partition(":")
    if colon and kind in ("therapist", "client"):
        name = rest
    else:
        kind = ""
    if not sep or not name.strip() or not chosen.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=ID")
    return kind, name.strip(), chosen.strip()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analytics", description="Homework adherence store and reports.")
    commands = parser.add_subparsers(dest="command", required=True)

    def add_db(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--db", type=Path, default=None,
                         help="store file (default: $HOMEWORK_DB or data/homework.duckdb)")

    p = commands.add_parser("demo", help="write a synthetic demo dataset (five canonical CSVs)")
    p.add_argument("--out", type=Path, required=True, help="folder to write into")
    p.add_argument("--clients", type=_positive, default=40)
    p.add_argument("--therapists", type=_positive, default=4)
    p.add_argument("--weeks", type=_positive, default=16)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--end", type=_iso_date, default=None,
                   help="last day of the data (default: today, ending at this moment in --timezone)")
    p.add_argument("--timezone", default="UTC", help="the practice's time zone, an IANA name (default: UTC)")

    p = commands.add_parser("import", help="import data files (CSV or .xlsx) as one batch")
    add_db(p)
    p.add_argument("files", nargs="+", type=Path, help="canonical files (any of therapists.csv, clients.csv, "
                   "assignments.csv, submissions.csv, measures.csv), a flat export or a MindLogger report.csv")
    p.add_argument("--skip-invalid", action="store_true",
                   help="write the valid rows and list the rejected ones (default: refuse the whole batch)")
    p.add_argument("--format", choices=[*IMPORT_FORMATS, "parquet"], default="canonical",
                   help="canonical (default): each file is one of the five tables, recognised by its name or "
                   "headers; flat: one row per submission or assignment with client and therapist columns; "
                   "mindlogger: a MindLogger/Curious report.csv; parquet: restore a backup folder (written by "
                   "`export --tier identified --format parquet`) into a new, empty store")
    p.add_argument("--mapping", type=Path, default=None, metavar="FILE.json",
                   help="a saved column mapping (JSON, as the Data page downloads it); overrides --format")
    p.add_argument("--date-order", choices=list(DATE_ORDER_NAMES), default=None,
                   help="how dates like 03/04/2026 read: dmy (day first) or mdy (month first); iso (default) "
                   "reads YYYY-MM-DD only. Never guessed")
    p.add_argument("--decimal-comma", action="store_true", help="numbers are written with a decimal comma (7,5)")
    p.add_argument("--mood-item", default=None, metavar="NAME",
                   help="mindlogger: the item whose response is the mood after (default: the first item named mood...)")
    p.add_argument("--mood-before-item", default=None, metavar="NAME",
                   help="mindlogger: the item whose response is the mood before")
    therapist = p.add_mutually_exclusive_group()
    therapist.add_argument("--therapist", type=cli_admin.therapist_id, default=None, metavar="ID",
                           help="mindlogger: the therapist of respondents who are not clients in the store yet")
    therapist.add_argument("--new-therapist-name", default=None, metavar="NAME",
                           help="mindlogger: respondents new to the store get this therapist, matched to a stored "
                           "one by name or else added (an empty store needs no therapists.csv)")
    p.add_argument("--match", action="append", default=[], metavar="NAME=ID", type=_match,
                   help="answer a question the import asked: the therapist or client written NAME is the stored ID "
                   "(ID new: someone new); 'therapist:NAME=ID' or 'client:NAME=ID' for one kind only. Repeatable")
    p.add_argument("--dry-run", action="store_true",
                   help="check and report exactly what the import would do (the same counts), write nothing")
    existing = p.add_mutually_exclusive_group()
    existing.add_argument("--update-existing", action="store_true",
                          help="change stored rows the files give other values for (default: refuse the batch "
                          "and list them)")
    existing.add_argument("--only-new", action="store_true",
                          help="add only rows that are not stored yet; leave stored rows as they are")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr (printed for work over a few seconds)")
    p.add_argument("--show-free-text", action="store_true",
                   help="quote clinical free text (notes, goals, concerns) in the list of changes (default: hidden)")

    p = commands.add_parser("undo", help="undo an import batch: the store as it was before it")
    add_db(p)
    p.add_argument("--batch", required=True, metavar="ID", help="the batch id the import printed (or the Data page's log)")

    p = commands.add_parser("summary", help="completion, on-time rate and mood lift per group")
    add_db(p)
    p.add_argument("--by", choices=[*sorted(SUMMARY_GROUPS), NEEDS_ATTENTION], required=True,
                   help="one row per group; needs-attention lists the clients that meet a rule, with the reasons")
    p.add_argument("--as-of", type=_iso_date, default=None, help="date the figures are known at (default: today)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--therapist", type=cli_admin.therapist_id, default=None,
                   help="only this therapist's clients (default: the whole practice)")
    p.add_argument("--effectiveness", action="store_true",
                   help="with --by type: add the mood lift's 95%% interval and mean quality, and leave a mean "
                        "empty when it rests on fewer than 5 ratings")

    p = commands.add_parser("plan", help="homework suggestions for one client, ranked, with reasons")
    add_db(p)
    p.add_argument("--client", required=True, help="the client's id")
    p.add_argument("--suggest", action="store_true", help="print the library's templates ranked for the client")
    p.add_argument("--limit", type=_positive, default=8, help=f"how many (1-{MAX_SUGGESTIONS}, default 8)")
    p.add_argument("--as-of", type=_iso_date, default=None, help="date the figures are known at (default: today)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--therapist", type=cli_admin.therapist_id, default=None,
                   help="plan as this therapist (only their clients)")

    p = commands.add_parser("load-demo", help="create the store from the bundled demo data, ending today")
    add_db(p)
    p.add_argument("--if-missing", action="store_true", help="do nothing when the store already holds clients")

    p = commands.add_parser("settings", help="show the practice's settings, or set one (practice_name)")
    actions = p.add_subparsers(dest="action", required=True)
    add_db(actions.add_parser("show", help="print every setting: key, then value"))
    setter = actions.add_parser("set", help="set a setting; an empty value clears it")
    add_db(setter)
    setter.add_argument("key", choices=[settings.PRACTICE_NAME_KEY], help="practice_name: on handouts and calendar files")
    setter.add_argument("value")

    p = commands.add_parser("timezone", help="show or set the practice's time zone")
    add_db(p)
    p.add_argument("zone", nargs="?", help="IANA name, e.g. Europe/London")

    cli_admin.add_parsers(commands, add_db)
    add_export_parser(commands, add_db)
    return parser


def add_export_parser(commands, add_db) -> None:
    p = commands.add_parser("export", help="write an export: identified or de-identified; CSV, Excel or Parquet")
    add_db(p)
    p.add_argument("--tier", choices=["identified", "deidentified"], required=True,
                   help="identified: the data as stored, for people allowed to see it; deidentified: pseudonyms, "
                   "days instead of dates, no free text, small counts suppressed (data/README.md)")
    p.add_argument("--format", choices=["csv", "xlsx", "parquet"], required=True,
                   help="csv: a formula-safe file per table; xlsx: one workbook; parquet: with --tier identified the "
                   "lossless backup of the whole store (restore it with `import --format parquet DIR`)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="a new (or empty) folder to write into")
    p.add_argument("--therapist", type=cli_admin.therapist_id, default=None, metavar="ID",
                   help="only this therapist's clients (default: the whole practice)")
    p.add_argument("--from", dest="date_from", type=_iso_date, default=None, metavar="DATE",
                   help="only homework due on or after this date (with its submissions), and measures taken from it")
    p.add_argument("--to", dest="date_to", type=_iso_date, default=None, metavar="DATE",
                   help="only homework due on or before this date, and measures taken up to it")
    p.add_argument("--aggregates-only", action="store_true",
                   help="deidentified: only the counts by type, therapist and week (small counts suppressed)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with 2 on wrong usage
    try:
        return COMMANDS[args.command](args)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except duckdb.OutOfMemoryException:  # a batch too large for the memory the store may use: rolled back whole
        print(f"error: out of memory: the work needed more than the {IMPORT_MEMORY_LIMIT} of memory the store may use "
              "here; nothing was written and the store is as it was. Import the files in smaller batches (e.g. split "
              "submissions.csv by date).", file=sys.stderr)
        return EXIT_REFUSED
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        sys.stderr.close()
        return EXIT_OK


def run_demo(args: argparse.Namespace) -> int:
    from analytics import demo

    counts = demo.write_demo(args.out, clients=args.clients, therapists=args.therapists,
                             weeks=args.weeks, seed=args.seed, end=args.end, timezone=args.timezone)
    for table, rows in counts.items():
        print(f"{args.out / (table + '.csv')}: {rows} rows")
    return EXIT_OK


def run_import(args: argparse.Namespace) -> int:
    if args.format == "parquet":
        return run_restore(args)
    from analytics.ingest.importer import import_batch
    from analytics.ingest.mapping import MappingError

    missing = [str(f) for f in [*args.files, *([args.mapping] if args.mapping else [])] if not f.is_file()]
    if missing:
        print(f"error: no such file: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        chosen = import_mapping(args)
    except MappingError as exc:
        print(f"error: {args.mapping}: {exc}" if args.mapping else f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    con = open_store(args.db)
    # A file of any size: DuckDB keeps its staging tables within this and spills the rest to disk.
    con.execute(f"set memory_limit = '{IMPORT_MEMORY_LIMIT}'")
    # Every staged row carries its line and every query that shows rows orders them, so DuckDB need not keep the
    # order of the rows it copies (DuckDB's own advice for large inserts that run out of memory).
    con.execute("set preserve_insertion_order = false")
    existing = "update" if args.update_existing else "skip" if args.only_new else "refuse"
    report = import_batch(con, [(f.name, f) for f in args.files], scope=cli_admin.command_line_actor(),
                          imported_by=f"{getpass.getuser()} (command line)", skip_invalid=args.skip_invalid,
                          mapping=chosen, dry_run=args.dry_run, existing=existing,
                          progress=None if args.quiet else StderrProgress())
    print(report.to_text(show_free_text=args.show_free_text))
    if args.dry_run and not report.errors:
        print("Valid: nothing was written (--dry-run).")
        return EXIT_OK
    if report.accepted:
        print(f"Undo with: python -m analytics undo --db {args.db or default_db_path()} --batch {report.batch_id}")
    return EXIT_OK if report.accepted else EXIT_REFUSED


class StderrProgress:
    """Progress lines on stderr for long work: nothing in the first `after` seconds, then at most one line a `every`
    seconds (and each new step), e.g. "reading submissions.csv: 250,000 rows (30%)"."""

    def __init__(self, *, after: float = 2.0, every: float = 1.0, clock=time.monotonic, stream=None):
        self.after, self.every, self.clock = after, every, clock
        self.stream = stream or sys.stderr
        self.started = clock()
        self.last_line, self.last_step = None, None

    def __call__(self, progress) -> None:
        now = self.clock()
        if now - self.started < self.after:
            return
        step = (progress.step, progress.file, progress.table)
        if step == self.last_step and self.last_line is not None and now - self.last_line < self.every:
            return
        self.last_line, self.last_step = now, step
        what = f"{progress.table} from {progress.file}" if progress.table else progress.file
        print(f"{progress.step} {what}: {progress.rows:,} rows ({progress.done:.0%})", file=self.stream, flush=True)


def run_undo(args: argparse.Namespace) -> int:
    from analytics.ingest.undo import undo_batch

    con = open_store(args.db)
    result = undo_batch(con, args.batch, scope=cli_admin.command_line_actor(), undone_by=f"{getpass.getuser()} (command line)")
    print(result.to_text())
    return EXIT_OK if result.done else EXIT_REFUSED


def import_mapping(args: argparse.Namespace) -> Mapping:
    """The mapping an import uses: the --mapping file, else the --format preset, with the options given."""
    from analytics.ingest.mapping import PRESET_MAPPINGS, Mapping, MappingError

    if args.mapping:
        try:
            chosen = Mapping.from_json(args.mapping.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError) as exc:
            raise MappingError(f"cannot read the mapping ({exc.__class__.__name__})") from exc
    else:
        chosen = PRESET_MAPPINGS[args.format]
    options = {"date_order": args.date_order, "mood_item": args.mood_item, "therapist_id": args.therapist,
               "new_therapist_name": args.new_therapist_name, "mood_before_item": args.mood_before_item}
    chosen = replace(chosen, **{k: v for k, v in options.items() if v is not None})
    if args.match:
        answers = {kind: dict(chosen.answers(kind)) for kind in ("therapist", "client")}
        for kind, name, person in args.match:
            for each in (kind,) if kind else ("therapist", "client"):
                answers[each][name] = person
        chosen = replace(chosen, matches=tuple((k, tuple(v.items())) for k, v in answers.items() if v))
    return replace(chosen, decimal_comma=True) if args.decimal_comma else chosen


def run_summary(args: argparse.Namespace) -> int:
    if args.effectiveness and args.by != "type":
        print("error: --effectiveness goes with --by type", file=sys.stderr)
        return EXIT_USAGE
    con = open_for_reading(args.db)  # read-only when the store is at this release's schema
    try:
        print(summary_text(con, args))
    finally:
        con.close()  # (a test may open the same file for writing next, in this process)
    return EXIT_OK


def summary_text(con, args: argparse.Namespace) -> str:
    """What `summary` prints. By client as a table or CSV, without pandas (analytics/cli_table.py)."""
    from analytics.metrics import adherence, caseload  # attention and effectiveness (scipy) only when asked for

    scope = Scope.therapist(args.therapist) if args.therapist else Scope.practice()
    as_of = args.as_of or date.today()
    if args.by == "client" and args.format in ("table", "csv"):
        from analytics import cli_table

        columns, rows = caseload.client_summary_rows(con, scope=scope, as_of=as_of)
        text = cli_table.format_rows(columns, rows, args.format)
        if text is not None:
            return text
    if args.by == NEEDS_ATTENTION:
        from analytics.metrics import attention

        try:
            thresholds = attention.load_thresholds(con)
        except ValueError as exc:
            raise StoreError(str(exc)) from exc  # main prints "error: ..." and exits with EXIT_REFUSED
        frame = attention.needs_attention(con, scope=scope, today=as_of, thresholds=thresholds)
        frame = frame[["rank", "client_id", "therapist_id", "n_reasons", "reasons"]]
    elif args.by == "client":
        frame = caseload.client_summary(con, scope=scope, as_of=as_of)
    else:
        frame = adherence.summary(con, scope=scope, by=args.by, as_of=as_of)
        if args.effectiveness:
            frame = with_effectiveness(con, frame, scope=scope, as_of=as_of)
    return format_frame(frame, args.format)


EFFECTIVENESS_COLUMNS = ["mood_lift_ci_low", "mood_lift_ci_high", "quality_mean", "quality_n"]


def with_effectiveness(con, frame: pd.DataFrame, *, scope: Scope, as_of: date) -> pd.DataFrame:
    """The summary by type with effectiveness.by_type's figures over everything up to as_of: the mood lift
    mean empty below effectiveness.MIN_N ratings, its 95% interval, quality_mean (empty below MIN_N) and quality_n."""
    from analytics.metrics import caseload, effectiveness
    from analytics.store.period import Period

    figures = effectiveness.by_type(con, scope=scope, period=Period(caseload.SINCE_THE_START, as_of), today=as_of)
    figures = figures.set_index("assignment_type")
    out = frame.copy()
    keys = out["assignment_type"]
    out["mood_lift_mean"] = keys.map(figures["mood_lift_mean"])
    for column in EFFECTIVENESS_COLUMNS:
        out[column] = keys.map(figures[column])
    out["quality_n"] = out["quality_n"].fillna(0).astype("int64")
    return out


PLAN_COLUMNS = ["rank", "template_id", "source", "assignment_type", "title", "default_minutes", "times_per_week",
                "template_times_per_week", "expected_completion", "expected_mood_lift", "score", "reason", "load_note"]


def run_plan(args: argparse.Namespace) -> int:
    if not args.suggest:
        print("error: nothing to do: add --suggest to list homework suggestions", file=sys.stderr)
        return EXIT_USAGE
    if args.limit > MAX_SUGGESTIONS:
        print(f"error: --limit can be at most {MAX_SUGGESTIONS}", file=sys.stderr)
        return EXIT_USAGE
    con = open_for_reading(args.db)  # read-only when the store is at this release's schema
    try:
        return print_plan(con, args)
    finally:
        con.close()


def print_plan(con, args: argparse.Namespace) -> int:
    from analytics.metrics.clients import client_profile
    from analytics.planning import suggest
    from analytics.planning.library import LibraryError

    scope = Scope.therapist(args.therapist) if args.therapist else Scope.practice()
    as_of = args.as_of or date.today()
    try:
        frame = suggest.suggestions(con, scope=scope, client_id=args.client, today=as_of, limit=args.limit)
    except ScopeError:
        where = f"therapist {args.therapist}'s caseload" if args.therapist else "the store"
        print(f"error: no client {cli_admin.safe_text(args.client)!r} in {where}", file=sys.stderr)
        return EXIT_REFUSED
    except LibraryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    frame = frame[PLAN_COLUMNS]
    if args.format != "table":
        print(format_frame(frame, args.format))
        return EXIT_OK
    label = client_profile(con, scope=scope, client_id=args.client).label
    safe = cli_admin.safe_text  # names, titles and reasons are user text: no terminal escape codes get through
    print(safe(f"Homework suggestions for {label} ({args.client}) as of {as_of:%Y-%m-%d}, best first:"))
    for row in frame.itertuples(index=False):
        often = "every day" if row.times_per_week == 7 else f"{row.times_per_week}x a week"
        print(safe(f"{row.rank:>2}. {row.title} [{row.template_id}, {row.assignment_type}, {row.default_minutes} min, "
                   f"{often}]  score {row.score:.2f}"))
        print(f"    {safe(row.reason)}")
    return EXIT_OK


def format_frame(frame: pd.DataFrame, fmt: str) -> str:
    """A summary as an aligned table, CSV, or JSON records (dates as YYYY-MM-DD, rates as 0-1).

    Text cells of a table or CSV lose control characters and terminal escape codes (cli_admin.safe_text);
    JSON writes them escaped (\u001b)."""
    import pandas as pd

    out = frame.copy()
    if "reasons" in out.columns and fmt != "json":  # a list of texts: one cell, reasons joined
        out["reasons"] = out["reasons"].map("; ".join)
    if fmt != "json":
        out = cli_admin.safe_frame(out)
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d" if column == "week" else "%Y-%m-%dT%H:%M:%S")
    if "week" in out.columns and not pd.api.types.is_string_dtype(out["week"]):
        out["week"] = out["week"].astype(str)
    if fmt == "csv":  # formula-safe (the export module), figures to 4 decimals
        floats = [c for c in out.columns if pd.api.types.is_float_dtype(out[c])]
        out[floats] = out[floats].round(4)
        from analytics.export import safe_files  # exports.table_csv's writer, without the Excel and Parquet ones

        return safe_files.to_csv_bytes(out).decode("utf-8-sig").rstrip("\r\n")
    if fmt == "json":
        return json.dumps(json.loads(out.to_json(orient="records", double_precision=4)), indent=2)
    if out.empty:
        return "(no rows)"
    return out.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="")


def run_load_demo(args: argparse.Namespace) -> int:
    from analytics import demo
    from analytics.ingest.importer import import_batch

    path = args.db or default_db_path()
    con = open_store(path)
    if args.if_missing and not is_empty(con):
        print(f"{path}: the store already holds data; left as it is")
        return EXIT_OK
    with tempfile.TemporaryDirectory() as tmp:
        now = datetime.now(ZoneInfo(get_timezone(con))).replace(tzinfo=None, microsecond=0)  # the practice's clock
        shift = demo.shift_demo(DEMO_DIR, Path(tmp), end=now.date(), not_after=now)
        names = ["therapists", "clients", "assignments", "submissions", "measures"]
        files = [(f"{n}.csv", Path(tmp) / f"{n}.csv") for n in names]
        report = import_batch(con, files, scope=cli_admin.command_line_actor(), imported_by="demo loader")
    print(report.to_text())
    print(f"demo data moved {shift} day(s) so that it ends today (nothing later than now); store: {path}")
    return EXIT_OK if report.accepted else EXIT_REFUSED


def run_settings(args: argparse.Namespace) -> int:
    con = open_store(args.db)
    if args.action == "set":
        try:
            value = settings.set_practice_name(con, args.value)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        print(f"{args.key}: {value}" if value else f"{args.key}: cleared")
        return EXIT_OK
    print(f"{settings.PRACTICE_NAME_KEY}: {settings.practice_name(con) or ''}")
    print(f"timezone: {get_timezone(con)}")
    return EXIT_OK


def run_timezone(args: argparse.Namespace) -> int:
    con = open_store(args.db)
    if args.zone:
        set_timezone(con, args.zone)
    print(get_timezone(con))
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    from analytics.export import exports

    if args.date_from and args.date_to and args.date_from > args.date_to:
        print("error: --from is after --to", file=sys.stderr)
        return EXIT_USAGE
    if args.aggregates_only and args.tier != "deidentified":
        print("error: --aggregates-only goes with --tier deidentified", file=sys.stderr)
        return EXIT_USAGE
    try:
        # The command line's actor (named in the export log and the audit trail), narrowed to one therapist if asked.
        request = exports.Request(args.tier, args.format, cli_admin.command_line_actor().narrowed_to(args.therapist),
                                  args.date_from, args.date_to,
                                  parts=("aggregates",) if args.aggregates_only else exports.PARTS)
    except exports.ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    con = open_store(args.db)
    if args.therapist and not con.execute("select count(*) from therapists where therapist_id = ?",
                                          [args.therapist]).fetchall()[0][0]:
        print(f"error: no therapist {args.therapist!r} in the store", file=sys.stderr)
        return EXIT_REFUSED
    try:
        done = exports.write_folder(con, request, args.out, exported_by=f"{getpass.getuser()} (command line)")
    except exports.ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    for file in done.files:
        rows = f"{file.rows} rows, " if file.rows is not None else ""
        print(f"{args.out / file.name}: {rows}{file.size:,} bytes, sha256 {file.sha256}")
    print(f"{args.tier} export of {'therapist ' + args.therapist if args.therapist else 'the whole practice'} "
          "written and recorded in the export log")
    return EXIT_OK


def run_restore(args: argparse.Namespace) -> int:
    from analytics.export import backup

    if len(args.files) != 1 or not args.files[0].is_dir():
        print("error: --format parquet restores one backup folder: import --db NEW --format parquet DIR", file=sys.stderr)
        return EXIT_USAGE
    con = open_store(args.db)
    try:
        restored = backup.restore_backup(con, args.files[0])
    except backup.BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    for table, rows in restored.items():
        print(f"{table}: {rows} rows")
    print(f"Restored {args.files[0]} into {args.db or default_db_path()}.")
    return EXIT_OK


COMMANDS = {
    "demo": run_demo,
    "import": run_import,
    "undo": run_undo,
    "summary": run_summary,
    "plan": run_plan,
    "load-demo": run_load_demo,
    "settings": run_settings,
    "timezone": run_timezone,
    "users": cli_admin.run_users,
    "audit": cli_admin.run_audit,
    "export": run_export,
}
