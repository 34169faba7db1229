"""The audit trail: who did what to which object, appended in a hash chain, listed, filtered and verified.

Rows are only ever inserted (nothing in the project updates or deletes them). Each row carries the
sha256 of the row before it (`prev_hash`) and of itself (`row_hash`, over its own fields and
prev_hash), and `audit_head` holds the last row's number and hash, so `verify` finds a row that was
edited, removed from the middle, or removed from the end. The detail is a short, fixed-form text:
ids, counts and hashes, never clinical free text (notes, feedback, goals, names).
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from duckdb import DuckDBPyConnection

from analytics.store.database import transaction
from analytics.store.scope import Scope

if TYPE_CHECKING:  # typing only: the command line builds its parser (audit.ACTIONS) without pandas
    import pandas as pd

GENESIS = "0" * 64  # prev_hash of the first row
OUTCOMES = ("ok", "denied", "failed")
MAX_FIELD_CHARS = 300  # longer object ids are cut (with …)
MAX_DETAIL_CHARS = 2000
MAX_LISTED = 5000  # rows one listing returns at most

# The actions recorded (data/README.md lists what each one's object and detail are).
SIGN_IN, SIGN_OUT, TIMEOUT, ACCESS_DENIED = "sign-in", "sign-out", "timeout", "access denied"
VIEW_CLIENT, FEEDBACK = "view client", "feedback"
PLAN_SAVED, PLAN_RESCHEDULED, PLAN_CANCELLED = "plan saved", "plan rescheduled", "plan cancelled"
IMPORT, UNDO, DOWNLOAD, EXPORT = "import", "undo import", "download", "export"
USER_ADDED, USER_CHANGED, SETTINGS_CHANGED = "user added", "user changed", "settings changed"
TEMPLATE_CREATED, TEMPLATE_CHANGED = "template created", "template changed"
ERROR = "error"
ACTIONS = (SIGN_IN, SIGN_OUT, TIMEOUT, ACCESS_DENIED, VIEW_CLIENT, FEEDBACK, PLAN_SAVED, PLAN_RESCHEDULED,
           PLAN_CANCELLED, IMPORT, UNDO, DOWNLOAD, EXPORT, USER_ADDED, USER_CHANGED, SETTINGS_CHANGED, TEMPLATE_CREATED,
           TEMPLATE_CHANGED, ERROR)

COLUMNS = ["seq", "logged_at", "user_email", "user_role", "action", "object_type", "object_id", "outcome", "detail",
           "prev_hash", "row_hash"]


def clean(text: object, limit: int = MAX_FIELD_CHARS) -> str:
    """One line of printable text: control and format characters (escape codes too) dropped, length capped."""
    kept = "".join(ch if ch.isprintable() else " " for ch in str(text or "")
                   if unicodedata.category(ch) not in ("Cf",))
    kept = " ".join(kept.split())
    return kept if len(kept) <= limit else kept[: limit - 1] + "…"


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(seq: int, logged_at: datetime, user_email: str, user_role: str, action: str, object_type: str,
             object_id: str, outcome: str, detail: str, prev_hash: str) -> str:
    """The sha256 (hex) of one row's fields and the hash of the row before it."""
    fields = [int(seq), _stamp(logged_at), user_email, user_role, action, object_type, object_id, outcome, detail,
              prev_hash]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def actor_email(actor: Scope) -> str:
    return clean(actor.user, 254) or "local"


def append(
    con: DuckDBPyConnection,
    *,
    actor: Scope,
    action: str,
    object_type: str = "",
    object_id: str = "",
    outcome: str = "ok",
    detail: str = "",
    at: datetime | None = None,
) -> int:
    """Add one row to the trail inside the caller's transaction (so it commits or rolls back with the change
    it records); returns its number. Use `record` for a row on its own."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
    at = at or datetime.now(UTC)
    prev, seq = con.execute("select coalesce((select row_hash from audit_head where id = 1), ?), nextval('audit_seq')",
                            [GENESIS]).fetchone()
    values = {
        "seq": seq, "logged_at": at, "user_email": actor_email(actor), "user_role": clean(actor.role, 40),
        "action": action, "object_type": clean(object_type, 40), "object_id": clean(object_id),
        "outcome": outcome, "detail": clean(detail, MAX_DETAIL_CHARS), "prev_hash": prev,
    }
    values["row_hash"] = row_hash(**values)
    con.execute(
        "insert into audit_log (seq, logged_at, user_email, user_role, action, object_type, object_id, outcome, "
        "detail, prev_hash, row_hash) values ($seq, $logged_at, $user_email, $user_role, $action, $object_type, "
        "$object_id, $outcome, $detail, $prev_hash, $row_hash)", values)
    # Replacing the one head row makes two appends at once conflict (one is refused) instead of forking the chain.
    con.execute("insert into audit_head values (1, $seq, $row_hash) on conflict (id) do update "
                "set seq = excluded.seq, row_hash = excluded.row_hash", {"seq": seq, "row_hash": values["row_hash"]})
    return seq


def record(con: DuckDBPyConnection, **entry: object) -> int:
    """Add one row to the trail in a transaction of its own (for what changes nothing: a view, a refusal)."""
    with transaction(con):
        return append(con, **entry)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def entries(
    con: DuckDBPyConnection,
    *,
    scope: Scope,
    user: str | None = None,
    action: str | None = None,
    object_id: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = MAX_LISTED,
) -> pd.DataFrame:
    """The trail, newest first, filtered (admins only). Columns: COLUMNS.

    user: the email, compared case-insensitively; action: one of ACTIONS; object_id: e.g. a client
    id; since / until: dates (UTC) included. At most `limit` rows (up to MAX_LISTED).
    """
    scope.require(scope.is_admin, "read the audit trail")
    params = {
        "user": user.strip().lower() if user and user.strip() else None,
        "action": action or None,
        "object_id": object_id.strip() if object_id and object_id.strip() else None,
        "since": datetime.combine(since, datetime.min.time(), UTC) if since else None,
        "until": datetime.combine(until + timedelta(days=1), datetime.min.time(), UTC) if until else None,
        "limit": max(1, min(int(limit), MAX_LISTED)),
    }
    return con.execute(
        f"select {', '.join(COLUMNS)} from audit_log "
        "where ($user is null or lower(user_email) = $user) and ($action is null or action = $action) "
        "and ($object_id is null or object_id = $object_id) and ($since is null or logged_at >= $since) "
        "and ($until is null or logged_at < $until) order by seq desc limit $limit", params).df()


@dataclass(frozen=True)
class ChainCheck:
    """What verify found: ok, rows checked, and the first row that does not fit (its seq and why)."""

    ok: bool
    rows: int
    first_broken: int | None = None
    reason: str = ""

    def text(self) -> str:
        if self.ok:
            return f"audit trail intact: {self.rows} row(s), every hash matches"
        where = f"row {self.first_broken}" if self.first_broken is not None else "the end of the trail"
        return f"audit trail altered at {where}: {self.reason}"


def verify(con: DuckDBPyConnection, *, batch: int = 10_000) -> ChainCheck:
    """Recompute the chain from the first row: each row's hash over its fields, each link to the row before,
    and the head against the last row (rows removed from the end)."""
    cursor = con.cursor()
    try:
        cursor.execute(f"select {', '.join(COLUMNS)} from audit_log order by seq")
        prev_hash, prev_seq, rows = GENESIS, None, 0
        while chunk := cursor.fetchmany(batch):
            for row in chunk:
                values = dict(zip(COLUMNS, row, strict=True))
                stored = values.pop("row_hash")
                if values["prev_hash"] != prev_hash:
                    after = f"row {prev_seq}" if prev_seq is not None else "the start"
                    return ChainCheck(False, rows, values["seq"], f"it does not follow {after}: a row before it "
                                      "was removed or changed")
                if row_hash(**values) != stored:
                    return ChainCheck(False, rows, values["seq"], "its contents do not match its hash: it was edited")
                prev_hash, prev_seq, rows = stored, values["seq"], rows + 1
        head = cursor.execute("select seq, row_hash from audit_head where id = 1").fetchone()
    finally:
        cursor.close()
    if (head is None and rows) or (head is not None and (head[0], head[1]) != (prev_seq, prev_hash)):
        return ChainCheck(False, rows, None, "the last row recorded is missing: rows were removed from the end")
    return ChainCheck(True, rows)


def require_known(action: str | None) -> None:
    """Raise ValueError for an action that is never recorded (a typo in a filter)."""
    if action is not None and action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; the actions are: {', '.join(ACTIONS)}")
