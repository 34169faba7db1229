"""The command line's `users` and `audit` commands, and what makes any printed user text safe for a terminal."""

from __future__ import annotations

import argparse
import getpass
import re
import sys
import unicodedata
from datetime import date
from typing import TYPE_CHECKING

from analytics.store import audit
from analytics.store.database import open_store
from analytics.store.scope import ROLES, Scope, ScopeError

if TYPE_CHECKING:  # pandas and the users module when a command needs them: the command line starts faster
    import pandas as pd

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2

# Terminal escape sequences: CSI (ESC [ ... or the one-byte 0x9B), OSC (ESC ] ... BEL or ESC \), and two-byte ESC x.
ESCAPES = re.compile(r"(\x1b\[|\x9b)[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)?|\x1b[@-Z\\-_]?")


def safe_text(value: object) -> str:
    """Text a terminal prints as it is: escape sequences removed, other control and format characters (bidi
    overrides included) removed, and line breaks and tabs made spaces."""
    text = ESCAPES.sub("", str(value))
    return "".join(" " if ch in "\t\n\r\v\f" else ch for ch in text
                   if ch in "\t\n\r\v\f" or unicodedata.category(ch) not in ("Cc", "Cf"))


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell made safe_text (numbers, dates and empty cells as they are)."""
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = [safe_text(v) if isinstance(v, str) else v for v in out[column]]
    return out


def therapist_id(text: str) -> str:
    """argparse type for --therapist: an id, never blank (a blank id must not mean "the whole practice")."""
    if not text.strip():
        raise argparse.ArgumentTypeError("a therapist id cannot be empty (leave --therapist out for the whole practice)")
    return text.strip()


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from exc


def command_line_actor() -> Scope:
    """Who acts from the command line: the practice's admin, named after the account that runs it."""
    return Scope(None, user=f"{getpass.getuser()} (command line)")


def add_parsers(commands: argparse._SubParsersAction, add_db) -> None:
    """The `users` and `audit` commands, added to the command line's parser."""
    p = commands.add_parser("users", help="who may sign in and with which role")
    actions = p.add_subparsers(dest="users_command", required=True)
    sub = actions.add_parser("add", help="add an active user")
    add_db(sub)
    sub.add_argument("--email", required=True)
    sub.add_argument("--role", required=True, choices=ROLES)
    sub.add_argument("--therapist", type=therapist_id, default=None, metavar="ID",
                     help="the therapist id of a therapist user (required for the therapist role)")
    sub = actions.add_parser("list", help="every user")
    add_db(sub)
    sub.add_argument("--format", choices=["table", "csv", "json"], default="table")
    for name, what in (("disable", "stop a user signing in (from their next click)"), ("enable", "let a user in again")):
        sub = actions.add_parser(name, help=what)
        add_db(sub)
        sub.add_argument("--email", required=True)
    sub = actions.add_parser("set-role", help="give a user another role")
    add_db(sub)
    sub.add_argument("--email", required=True)
    sub.add_argument("--role", required=True, choices=ROLES)
    sub.add_argument("--therapist", type=therapist_id, default=None, metavar="ID")

    p = commands.add_parser("audit", help="list the audit trail, or check that nobody altered it")
    add_db(p)
    p.add_argument("--verify", action="store_true", help="check the hash chain; exit 1 naming the first altered row")
    p.add_argument("--user", default=None, metavar="EMAIL", help="only this user's rows")
    p.add_argument("--action", default=None, choices=audit.ACTIONS, metavar="ACTION",
                   help=f"only this action: {', '.join(audit.ACTIONS)}")
    p.add_argument("--since", type=_iso_date, default=None, help="from this date (UTC), YYYY-MM-DD")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")


def run_users(args: argparse.Namespace) -> int:
    from analytics.cli import format_frame  # the command line's one table format
    from analytics.store import users

    con = open_store(args.db)
    by = command_line_actor()
    try:
        if args.users_command == "list":
            frame = users.users(con)
            print(format_frame(safe_frame(frame), args.format))
            return EXIT_OK
        if args.users_command == "add":
            user = users.add_user(con, email=args.email, role=args.role, therapist_id=args.therapist, by=by)
            done = f"added {user.email} as {user.role}" + (f" (therapist {user.therapist_id})" if user.therapist_id else "")
        elif args.users_command == "set-role":
            user = users.set_role(con, email=args.email, role=args.role, therapist_id=args.therapist, by=by)
            done = f"{user.email} is now {user.role}" + (f" (therapist {user.therapist_id})" if user.therapist_id else "")
        else:
            user = users.set_active(con, email=args.email, active=args.users_command == "enable", by=by)
            done = f"{user.email} is {'enabled' if user.active else 'disabled'}"
    except users.UserUsage as exc:
        print(f"error: {safe_text(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except (users.UserError, ScopeError) as exc:
        print(f"error: {safe_text(exc)}", file=sys.stderr)
        return EXIT_REFUSED
    print(safe_text(done))
    return EXIT_OK


def run_audit(args: argparse.Namespace) -> int:
    from analytics.cli import format_frame

    con = open_store(args.db)
    if args.verify:
        check = audit.verify(con)
        print(check.text(), file=sys.stdout if check.ok else sys.stderr)
        return EXIT_OK if check.ok else EXIT_REFUSED
    frame = audit.entries(con, scope=command_line_actor(), user=args.user, action=args.action, since=args.since)
    shown = frame.drop(columns=["prev_hash", "row_hash"]) if args.format == "table" else frame
    print(format_frame(safe_frame(shown), args.format))
    return EXIT_OK
