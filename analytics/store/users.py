"""Who may sign in, and with which role: the users table, read on every page and changed by admins only.

An email is the key, stored trimmed and in lower case so that it is compared case-insensitively.
A therapist user names the therapist they are (their caseload); the other roles name none. Every
change is written to the audit trail in the same transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
from duckdb import DuckDBPyConnection

from analytics.store import audit
from analytics.store.database import transaction
from analytics.store.scope import ADMIN, ROLES, THERAPIST, Scope

MAX_EMAIL_CHARS = 254
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")


class UserError(ValueError):
    """A user change that cannot be made (unknown therapist, duplicate, ...): the message says why."""


class UserUsage(UserError):
    """A user change asked for wrongly (a therapist without a therapist id, an unknown role): a usage mistake."""


@dataclass(frozen=True)
class User:
    email: str
    role: str
    therapist_id: str | None
    active: bool


def normalise_email(text: str | None) -> str:
    """The email as stored: trimmed, lower case; UserUsage when it is not one address."""
    email = (text or "").strip().lower()
    if not email or len(email) > MAX_EMAIL_CHARS or not EMAIL_RE.match(email) or not email.isprintable():
        raise UserUsage(f"{audit.clean(text, 80)!r} is not an email address")
    return email


FIND_USER = "select email, role, therapist_id, active from users where email = $email"


def find_user(con: DuckDBPyConnection, email: str | None) -> User | None:
    """The user with this email (any case), active or not; None when there is none."""
    key = (email or "").strip().lower()
    if not key:
        return None
    row = con.execute(FIND_USER, {"email": key}).fetchone()
    return User(*row) if row else None


USERS = """
select u.email, u.role, u.therapist_id, t.name as therapist_name, u.active, u.created_at, u.changed_at
from users u
left join therapists t using (therapist_id)
order by u.email
"""


def users(con: DuckDBPyConnection) -> pd.DataFrame:
    """Every user, by email: email, role, therapist_id, therapist_name, active, created_at, changed_at."""
    return con.execute(USERS).df()


def _check_role(con: DuckDBPyConnection, role: str, therapist_id: str | None) -> str | None:
    if role not in ROLES:
        raise UserUsage(f"role must be one of {', '.join(ROLES)}")
    if role != THERAPIST:
        if therapist_id:
            raise UserUsage("only a therapist user names a therapist")
        return None
    if therapist_id is None or not therapist_id.strip():
        raise UserUsage("a therapist user needs the therapist id of their caseload")
    therapist_id = therapist_id.strip()
    known = con.execute("select count(*) from therapists where therapist_id = ?", [therapist_id]).fetchone()[0]
    if not known:
        raise UserError(f"no therapist {audit.clean(therapist_id, 60)!r} in the store")
    return therapist_id


def add_user(con: DuckDBPyConnection, *, email: str, role: str, therapist_id: str | None = None, by: Scope) -> User:
    """Add an active user in one transaction (admins only). UserUsage for a bad email, role or missing
    therapist id; UserError for an unknown therapist or an email already there."""
    by.require(by.is_admin, "manage users")
    key = normalise_email(email)
    now = datetime.now(UTC)
    with transaction(con):
        therapist = _check_role(con, role, therapist_id)
        if find_user(con, key) is not None:
            raise UserError(f"{key} is already a user (change them with set-role, enable or disable)")
        con.execute("insert into users values ($email, $role, $therapist_id, true, $now, $now)",
                    {"email": key, "role": role, "therapist_id": therapist, "now": now})
        audit.append(con, actor=by, action=audit.USER_ADDED, object_type="user", object_id=key,
                     detail=f"role {role}" + (f", therapist {therapist}" if therapist else ""), at=now)
    return User(key, role, therapist, True)


def _existing(con: DuckDBPyConnection, email: str) -> User:
    user = find_user(con, normalise_email(email))
    if user is None:
        raise UserError(f"no user {audit.clean(email, 80)!r}")
    return user


def _other_active_admins(con: DuckDBPyConnection, email: str) -> int:
    return con.execute("select count(*) from users where role = 'admin' and active and email <> ?", [email]).fetchone()[0]


def set_active(con: DuckDBPyConnection, *, email: str, active: bool, by: Scope) -> User:
    """Enable or disable a user (admins only); it takes effect at their next click. The last active admin
    cannot be disabled while other users remain (nobody could manage users any more)."""
    by.require(by.is_admin, "manage users")
    now = datetime.now(UTC)
    with transaction(con):
        user = _existing(con, email)
        if not active and user.role == ADMIN and user.active and not _other_active_admins(con, user.email):
            raise UserError(f"{user.email} is the last active admin: add or enable another admin first")
        con.execute("update users set active = $active, changed_at = $now where email = $email",
                    {"active": active, "now": now, "email": user.email})
        audit.append(con, actor=by, action=audit.USER_CHANGED, object_type="user", object_id=user.email,
                     detail="enabled" if active else "disabled", at=now)
    return User(user.email, user.role, user.therapist_id, active)


def set_role(con: DuckDBPyConnection, *, email: str, role: str, therapist_id: str | None = None, by: Scope) -> User:
    """Give a user another role (and therapist id, for a therapist); admins only. The last active admin keeps
    the admin role."""
    by.require(by.is_admin, "manage users")
    now = datetime.now(UTC)
    with transaction(con):
        user = _existing(con, email)
        therapist = _check_role(con, role, therapist_id)
        if user.role == ADMIN and role != ADMIN and user.active and not _other_active_admins(con, user.email):
            raise UserError(f"{user.email} is the last active admin: make another user admin first")
        con.execute("update users set role = $role, therapist_id = $therapist_id, changed_at = $now where email = $email",
                    {"role": role, "therapist_id": therapist, "now": now, "email": user.email})
        audit.append(con, actor=by, action=audit.USER_CHANGED, object_type="user", object_id=user.email,
                     detail=f"role {user.role} -> {role}" + (f", therapist {therapist}" if therapist else ""), at=now)
    return User(user.email, role, therapist, user.active)
