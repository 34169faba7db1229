"""The rules around signing in that need no screen: the access settings (automatic log-off, what a practice
manager may read), which hosts and addresses the dashboard answers on, and client pseudonyms.

The frame (dashboard.py) applies them on every rerun; they live here so that they are plain,
tested functions.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

import pandas as pd
from duckdb import DuckDBPyConnection

from analytics.store import audit
from analytics.store.database import transaction
from analytics.store.scope import Scope

# ---------------------------------------------------------------------------------------------
# Settings (keys access.<field> in the settings table)
# ---------------------------------------------------------------------------------------------

LIMITS = {"idle_minutes": (1, 24 * 60), "session_hours": (1, 24 * 30)}


@dataclass(frozen=True)
class AccessSettings:
    """idle_minutes: signed out after this long without a click; session_hours: signed out this long after
    signing in, whatever happens; manager_free_text: practice managers read clients' notes, feedback, goals."""

    idle_minutes: int = 30
    session_hours: int = 12
    manager_free_text: bool = False


KEYS = {f.name: f"access.{f.name}" for f in fields(AccessSettings)}


def _parse(name: str, text: str) -> int | bool | None:
    if name == "manager_free_text":
        return {"true": True, "false": False}.get(text.strip().lower())
    try:
        value = int(text)
    except ValueError:
        return None
    low, high = LIMITS[name]
    return value if low <= value <= high else None


def load_settings(con: DuckDBPyConnection) -> AccessSettings:
    """The stored settings; a missing or unreadable one is its default (never an error: sign-in must work)."""
    rows = dict(con.execute("select key, value from settings where key like 'access.%'").fetchall())
    values = {}
    for name, key in KEYS.items():
        parsed = _parse(name, rows[key]) if key in rows else None
        if parsed is not None:
            values[name] = parsed
    return AccessSettings(**values)


def save_settings(con: DuckDBPyConnection, new: AccessSettings, *, by: Scope) -> list[str]:
    """Store the settings (admins only) in one transaction, each change in the audit trail; returns the changes
    as "access.idle_minutes: 30 -> 15". ValueError for a value outside its limits."""
    by.require(by.is_admin, "change settings")
    for name, (low, high) in LIMITS.items():
        value = getattr(new, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name.replace('_', ' ')} must be a whole number from {low} to {high}")
    changes = []
    with transaction(con):
        old = load_settings(con)
        for name, key in KEYS.items():
            before, after = getattr(old, name), getattr(new, name)
            if before == after:
                continue
            text = str(after).lower()
            con.execute("insert into settings values (?, ?) on conflict (key) do update set value = excluded.value",
                        [key, text])
            change = f"{key}: {str(before).lower()} -> {text}"
            audit.append(con, actor=by, action=audit.SETTINGS_CHANGED, object_type="setting", object_id=key,
                         detail=change)
            changes.append(change)
    return changes


# ---------------------------------------------------------------------------------------------
# Automatic log-off
# ---------------------------------------------------------------------------------------------


def session_expiry(*, now: datetime, signed_in_at: datetime, last_seen: datetime | None,
                   settings: AccessSettings) -> str | None:
    """Why this sign-in has ended (a sentence for the person), or None while it is still valid."""
    if now - signed_in_at >= timedelta(hours=settings.session_hours):
        return (f"You were signed out because you signed in more than {settings.session_hours} hours ago. "
                "Sign in again to go on.")
    if last_seen is not None and now - last_seen >= timedelta(minutes=settings.idle_minutes):
        return (f"You were signed out after {settings.idle_minutes} minutes without activity. "
                "Sign in again to go on.")
    return None


# ---------------------------------------------------------------------------------------------
# Hosts and addresses
# ---------------------------------------------------------------------------------------------

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def host_name(host_header: str | None) -> str:
    """The host of a Host header, lower case, without the port: "[::1]:8501" -> "::1", "LocalHost:80" -> "localhost"."""
    text = (host_header or "").strip().lower()
    if text.startswith("["):
        return text[1:text.find("]")] if "]" in text else text
    if text.count(":") == 1:
        text = text.split(":", 1)[0]
    return text.rstrip(".")


def host_allowed(host_header: str | None, allowed: tuple[str, ...] | list[str] | set[str]) -> bool:
    """True when the request's Host names an allowed host (port ignored). A missing Host header is allowed:
    only a browser sends one, and a browser always does, so a request without one is not a browser's."""
    if host_header is None:
        return True
    return host_name(host_header) in {host_name(h) for h in allowed}


def is_local_address(address: str | None) -> bool:
    """True for an address that only this machine can reach: localhost, 127.x.x.x, ::1. None or "" means every
    interface (Streamlit's default), which is not local."""
    text = (address or "").strip().lower().strip("[]")
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------
# Pseudonyms (the analyst's view: no client labels)
# ---------------------------------------------------------------------------------------------

SALT_KEY = "access.pseudonym_salt"


def pseudonym_salt(con: DuckDBPyConnection) -> str:
    """The store's secret for pseudonyms, made once (so a pseudonym cannot be computed from a known client id)."""
    row = con.execute("select value from settings where key = ?", [SALT_KEY]).fetchone()
    if row:
        return row[0]
    with transaction(con):
        con.execute("insert into settings values (?, ?) on conflict (key) do nothing", [SALT_KEY, secrets.token_hex(16)])
    return con.execute("select value from settings where key = ?", [SALT_KEY]).fetchone()[0]


def pseudonym(salt: str, client_id: str) -> str:
    """A stable stand-in for a client's label: "Client 3F9A1C" (the same client always gets the same one)."""
    digest = hmac.new(salt.encode(), str(client_id).encode(), hashlib.sha256).hexdigest()
    return f"Client {digest[:6].upper()}"


def shown_labels(con: DuckDBPyConnection, frame: pd.DataFrame, *, scope: Scope,
                 label: str = "label", client_id: str = "client_id") -> pd.DataFrame:
    """The frame with its client labels replaced by pseudonyms when the scope asks for them (else as it is)."""
    if not scope.pseudonyms or frame.empty:
        return frame
    salt = pseudonym_salt(con)
    out = frame.copy()
    out[label] = [pseudonym(salt, cid) for cid in out[client_id]]
    return out
