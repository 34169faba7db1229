"""The frame's gate (used by dashboard.py): which hosts and addresses may be served, who signed in with st.login,
their sign-in's automatic log-off, and the screens shown instead of the dashboard (sign in, no access, signed out).

Nothing here decides what a role may see: dashboard.signed_in_scope maps the identity found here to
a scope and role (analytics.store.scope.Scope.signed_in), and analytics enforces it.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import streamlit as st
from duckdb import DuckDBPyConnection

from analytics.store import access, audit
from analytics.store.access import AccessSettings
from analytics.store.scope import Scope

LOGGER = logging.getLogger("homework.dashboard")  # the server's log: errors by reference, refusals; no clinical text
if not LOGGER.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    LOGGER.addHandler(_handler)
    LOGGER.setLevel(logging.INFO)

LOCAL_USER = "local"  # who acts in local mode (no sign-in configured)
SESSION_REF_KEY = "signin_session_ref"  # a per-session stand-in when the identity carries no sign-in time
DENIED_KEY = "signin_denied_recorded"  # refusals already written to the audit trail in this session


class SignedOut(Exception):
    """Sign-in is configured and nobody signed in."""


class NoAccess(Exception):
    """Signed in, but without an active users row."""

    def __init__(self, email: str) -> None:
        super().__init__(email)
        self.email = email


class SignInEnded(Exception):
    """The sign-in ran out (idle, or too long ago) or was signed out; the message says why."""


@dataclass(frozen=True)
class Identity:
    """Who the browser says it is: an email and the sign-in's reference; LOCAL in local mode."""

    email: str
    ref: str
    signed_in_at: datetime | None  # the ID token's issue time (iat): when this sign-in happened


LOCAL = Identity(LOCAL_USER, "", None)


# ---------------------------------------------------------------------------------------------
# Configuration: [auth] and the hosts to answer
# ---------------------------------------------------------------------------------------------


def auth_configured() -> bool:
    """True when secrets hold an [auth] section (st.login's OpenID Connect provider)."""
    try:
        return bool(st.secrets.load_if_toml_exists() and "auth" in st.secrets)
    except Exception:  # an unreadable secrets file: Streamlit logs it; there is no sign-in then
        return False


def allowed_hosts(signing_in: bool) -> tuple[str, ...]:
    """Hosts a request may name: this machine always; with sign-in also redirect_uri's host and the list in
    secrets ([dashboard] allowed_hosts)."""
    hosts = list(access.LOCAL_HOSTS)
    if signing_in:
        auth = st.secrets.get("auth", {})
        redirect_host = urlsplit(str(auth.get("redirect_uri", ""))).hostname
        if redirect_host:
            hosts.append(redirect_host)
        extra = st.secrets.get("dashboard", {}).get("allowed_hosts", [])
        hosts.extend(str(h) for h in (extra if isinstance(extra, list | tuple) else [extra]))
    return tuple(hosts)


def server_address() -> str | None:
    """The address the server listens on (--server.address, or .streamlit/config.toml); None for every address."""
    from streamlit import config  # st.get_option reads the same option

    return config.get_option("server.address")


def refusal(signing_in: bool) -> str | None:
    """The one-line reason this request is not served, or None: a server on a public address without sign-in,
    or a Host header that is not an allowed host (the DNS-rebinding path to a local server)."""
    address = server_address()
    if not signing_in and not access.is_local_address(address):
        shown = audit.clean(address, 60) or "every address"
        return (f"Refused: no sign-in is configured ([auth] in .streamlit/secrets.toml), so this dashboard only serves "
                f"localhost, and it was started on {shown}. Start it with --server.address localhost, or configure "
                "sign-in.")
    host = st.context.headers.get("host")
    if not access.host_allowed(host, allowed_hosts(signing_in)):
        return (f"Refused: this dashboard does not answer to the host {audit.clean(access.host_name(host), 80)!r}. "
                "Open it at an address it is configured for.")
    return None


# ---------------------------------------------------------------------------------------------
# Who signed in, and their sign-in's limits
# ---------------------------------------------------------------------------------------------


def identity() -> Identity:
    """LOCAL without sign-in configured; the signed-in person otherwise; SignedOut when nobody signed in."""
    if not auth_configured():
        return LOCAL
    if not st.user.get("is_logged_in"):
        raise SignedOut
    email = str(st.user.get("email") or "").strip().lower()
    issued = st.user.get("iat")
    if isinstance(issued, int | float) and not isinstance(issued, bool):
        signed_in_at = datetime.fromtimestamp(issued, UTC)
        basis = f"{email}|{int(issued)}"
    else:  # no issue time: this browser session stands for the sign-in
        signed_in_at = None
        basis = f"{email}|{st.session_state.setdefault(SESSION_REF_KEY, uuid.uuid4().hex)}"
    return Identity(email, hashlib.sha256(basis.encode()).hexdigest()[:16], signed_in_at)


@dataclass
class SignInState:
    signed_in_at: datetime
    last_seen: datetime
    ended: str | None = None


@dataclass
class SignIns:
    """The sign-ins this server process has seen, by reference (one per st.login, shared by its tabs)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    by_ref: dict[str, SignInState] = field(default_factory=dict)


@st.cache_resource(show_spinner=False)
def sign_ins() -> SignIns:
    return SignIns()


def actor(who: Identity, role: str = "") -> Scope:
    """Who acts, for an audit row written before the scope is known."""
    return Scope(None, role=role or "unknown", user=who.email)


def _first_sight(con: DuckDBPyConnection, who: Identity, role: str, now: datetime) -> SignInState:
    """A sign-in this process has not seen: one that ended before a restart stays ended; a new one is recorded."""
    rows = con.execute(
        "select action, min(logged_at) from audit_log where object_type = 'session' and object_id = ? group by action",
        [who.ref]).fetchall()
    found = dict(rows)
    state = SignInState(who.signed_in_at or found.get(audit.SIGN_IN) or now, now)
    if audit.SIGN_OUT in found or audit.TIMEOUT in found:
        state.ended = "You signed out, or were signed out, of this sign-in. Sign in again to go on."
    elif audit.SIGN_IN not in found:
        audit.record(con, actor=actor(who, role), action=audit.SIGN_IN, object_type="session", object_id=who.ref)
    return state


def current_time() -> datetime:
    """The clock the sign-in limits are measured with (one place, so tests can move it)."""
    return datetime.now(UTC)


def check_sign_in(con: DuckDBPyConnection, who: Identity, role: str, settings: AccessSettings) -> None:
    """Record a new sign-in, and end one that ran out (SignInEnded with the reason, written to the audit trail)."""
    now = current_time()
    registry = sign_ins()
    with registry.lock:
        state = registry.by_ref.get(who.ref)
    if state is None:
        state = _first_sight(con, who, role, now)
        with registry.lock:
            state = registry.by_ref.setdefault(who.ref, state)
    if state.ended:
        raise SignInEnded(state.ended)
    reason = access.session_expiry(now=now, signed_in_at=state.signed_in_at, last_seen=state.last_seen,
                                   settings=settings)
    if reason:
        state.ended = reason
        audit.record(con, actor=actor(who, role), action=audit.TIMEOUT, object_type="session", object_id=who.ref,
                     detail="idle" if "without activity" in reason else "session limit")
        raise SignInEnded(reason)
    state.last_seen = now


def record_refusal_once(con: DuckDBPyConnection | None, who: Identity | None, what: str) -> None:
    """An access-denied row, once per session and reason (a reloading page does not fill the trail)."""
    seen = st.session_state.setdefault(DENIED_KEY, set())
    if what in seen:
        return
    seen.add(what)
    LOGGER.warning("access denied: %s", what)
    if con is not None:
        audit.record(con, actor=actor(who or Identity("unknown", "", None)), action=audit.ACCESS_DENIED,
                     object_type="session", object_id=who.ref if who else "", outcome="denied", detail=what)


def sign_out(con: DuckDBPyConnection, who: Identity, role: str) -> None:
    """The sign-out button: recorded, this sign-in ended on the server, then Streamlit's own sign-out."""
    with sign_ins().lock:
        state = sign_ins().by_ref.get(who.ref)
        if state is not None:
            state.ended = "You signed out. Sign in again to go on."
    audit.record(con, actor=actor(who, role), action=audit.SIGN_OUT, object_type="session", object_id=who.ref)
    st.logout()


# ---------------------------------------------------------------------------------------------
# The screens shown instead of the dashboard
# ---------------------------------------------------------------------------------------------


def show_alone(screen) -> None:
    """Run `screen` as the only page: no menu and no page of the dashboard can be reached."""
    st.navigation([st.Page(screen, title="Homework adherence", url_path="welcome", default=True)],
                  position="hidden").run()
    st.stop()


def show_refusal(reason: str) -> None:
    def screen() -> None:
        st.error(reason)

    show_alone(screen)


def show_sign_in(message: str | None = None) -> None:
    def screen() -> None:
        st.title("Homework adherence")
        if message:
            st.warning(message)
        st.text("Sign in with your practice account to see the dashboard.")
        st.button("Sign in", type="primary", on_click=st.login, key="sign_in")

    show_alone(screen)


def show_no_access(email: str) -> None:
    def screen() -> None:
        st.title("No access")
        st.text(f"{email} has no access to this dashboard. Ask the practice's admin to add you, or sign out and "
                "sign in with another account.")
        st.button("Sign out", on_click=st.logout, key="sign_out")

    show_alone(screen)


def show_ended(reason: str) -> None:
    def screen() -> None:
        st.title("Signed out")
        st.warning(reason)
        st.button("Sign in again", type="primary", on_click=st.logout, key="sign_in_again")

    show_alone(screen)
