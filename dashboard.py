"""The dashboard's frame: page setup, the store, who is looking, the sidebar's period, and the page list.

Run it with `streamlit run dashboard.py [-- --db PATH]`.

How pages get what they need
----------------------------
Streamlit runs this file as `__main__` on every rerun; with `st.navigation` the chosen page then
runs inside that same script run. A page asks the frame for what it needs by importing plain
functions from this module::

    from dashboard import current_period, current_scope, db, today

Importing `dashboard` from a page must not draw the frame a second time, so nothing at module level touches the
screen: the frame is drawn by `main()`, which runs only when this file is the script Streamlit runs (`__name__ ==
"__main__"`). Even then `main()` is called on the imported `dashboard` module, not on `__main__`: the frame and the
pages then share one copy of these functions, so `st.cache_resource` keeps exactly one store connection per process
(its cache key includes the module's name, and `__main__` and `dashboard` would otherwise be two modules).

The functions hold no state of their own. The store connection is a cached resource; the session's cursor, the
"View as" choice and the period live in `st.session_state` under the keys below, set by the sidebar widgets that
`main()` draws before the page runs. The chosen client lives there too (CLIENT_KEY), set by the picker a page draws
with `pick_client()` or by `open_client()`. Query results are never cached, so a page shows what the store holds at
that moment (an import is visible on the next page at once).

Who is looking is decided at the start of every rerun (`signed_in_scope`): with an `[auth]` section in the secrets, a
visitor signs in with `st.login` and the users table gives their role, read again at each click; without one, local
mode serves this machine only and the visitor is the admin. `signin.py` holds the gate (hosts, addresses, automatic
log-off, the screens shown instead of the dashboard). A role sees only its pages in the menu (PAGES_FOR), and the
scope carries the role into every analytics call.

Streamlit treats a folder named `pages/` next to the entrypoint as the legacy multipage layout until st.navigation has
run once in the server process, so the very first request after the server starts, if it is a deep link such as /data,
would run that page alone (no frame, no scope, wrong menu). Every page therefore starts with `require_frame()`, which
sends such a request through the frame first."""

from __future__ import annotations

import argparse
import functools
import os
import sys
import threading
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Hashable
from datetime import date
from pathlib import Path
from typing import TypeVar

import streamlit as st
from duckdb import DuckDBPyConnection

import signin
from analytics.export import exports
from analytics.metrics import adherence, clients, effectiveness
from analytics.present import bounds, deidentified, formats, tables
from analytics.store import access, audit, users
from analytics.store.database import DiskFull, StoreError, WriteConflict, default_db_path, is_empty, open_store, read_snapshot
from analytics.store.period import DEFAULT_PRESET, PRESETS, Period
from analytics.store.scope import ADMIN, ANALYST, PRACTICE_MANAGER, ROLE_LABELS, THERAPIST, Scope, ScopeError

# The pages, in menu order: (file, title, icon). Every file in pages/ must be listed here
# (tests/test_architecture.py checks it).
PAGES = [
    ("pages/overview.py", "Overview", ":material/dashboard:"),
    ("pages/caseload.py", "Caseload", ":material/groups:"),
    ("pages/client.py", "Client", ":material/person:"),
    ("pages/effectiveness.py", "Effectiveness", ":material/insights:"),
    ("pages/planner.py", "Planner", ":material/edit_calendar:"),
    ("pages/data.py", "Data", ":material/upload_file:"),
    ("pages/users.py", "Users", ":material/manage_accounts:"),
    ("pages/audit.py", "Audit", ":material/policy:"),
    ("pages/settings.py", "Settings", ":material/settings:"),
]

# The pages each role has in its menu (a page not listed cannot be opened by that role). What a page then
# shows is limited by the scope in analytics (Scope.signed_in).
PAGES_FOR = {
    ADMIN: tuple(path for path, _, _ in PAGES),
    PRACTICE_MANAGER: ("pages/overview.py", "pages/caseload.py", "pages/client.py", "pages/effectiveness.py"),
    THERAPIST: ("pages/overview.py", "pages/caseload.py", "pages/client.py", "pages/effectiveness.py",
                "pages/planner.py", "pages/data.py"),  # the Data page: exports of their own caseload, no import
    ANALYST: ("pages/overview.py", "pages/effectiveness.py", "pages/data.py"),
}
VIEW_AS_ROLES = (ADMIN, PRACTICE_MANAGER)  # the roles offered "View as"
CLIENT_PAGE = "pages/client.py"
LOCAL_MODE_NOTICE = "Local mode: no sign-in"
LOGGER = signin.LOGGER
T = TypeVar("T")  # what held_while keeps

# st.session_state keys owned by the frame.
VIEW_AS_KEY = "view_as"  # therapist_id chosen in "View as", or "" for the whole practice
PERIOD_KEY = "period_preset"  # a name from analytics.store.period.PRESETS, or CUSTOM
CUSTOM_RANGE_KEY = "period_custom_range"  # (start, end) when CUSTOM is chosen
CURSOR_KEY = "store_cursor"  # ((store path, script thread), this session's cursor for that thread)
FRAME_KEY = "frame_drawn"  # set once the frame has run in this session
PENDING_PAGE_KEY = "frame_pending_page"  # (page, query params) a deep link asked for before the frame had run
CLIENT_KEY = "client_id"  # the client chosen in the picker or opened from a list; kept across pages
CLIENT_PICKER_KEY = "client_picker"  # the picker widget itself (see pick_client)
CLIENT_FIND_KEY = "client_find"  # the picker's search box, drawn when more clients are in scope than it offers
RUN_KEY = "frame_run"  # counts this session's reruns: signed_in_scope decides once per rerun
SCOPE_KEY = "signed_in_scope"  # the Scope of the rerun in progress (held_while)
NAMES_KEY = "therapist_names"  # the therapists' names of the rerun in progress (held_while)
VIEWED_KEY = "client_viewed"  # the client whose Client page view is in the audit trail (until the page changes)
CLIENT_PARAM = "client"  # the Client page's query parameter: /client?client=ID opens that client
DEIDENTIFIED_KEY = "deidentified_view"  # the "De-identified view" switch (an analyst always has it on: see current_scope)

CUSTOM = "Custom"
WHOLE_PRACTICE = "Whole practice"


# ---------------------------------------------------------------------------------------------
# What pages import
# ---------------------------------------------------------------------------------------------


def require_frame() -> None:
    """Every page's first line: a page run without the frame (see the module docstring) goes through it, and
    the frame then opens that page with the same query parameters (a deep link such as /client?client=C1)."""
    if not st.session_state.get(FRAME_KEY):
        caller = Path(sys._getframe(1).f_globals.get("__file__", "")).resolve()
        page = f"pages/{caller.name}"
        if page in {path for path, _, _ in PAGES}:
            st.session_state[PENDING_PAGE_KEY] = (page, st.query_params.to_dict())
        st.switch_page("dashboard.py")


def require_data() -> None:
    """Stop the page with the way forward when the store holds no client yet (never an error)."""
    if is_empty(db()):
        st.info("No data yet. Import CSV files on the Data page, or run `make run` which loads the demo data.")
        link_to_data_page()
        st.stop()


def link_to_data_page() -> None:
    """A link to the Data page, for a role whose menu has it."""
    if "pages/data.py" in PAGES_FOR.get(signed_in_scope().role, ()):
        st.page_link("pages/data.py", label="Go to the Data page", icon=":material/upload_file:")


def record_client_view(client_id: str) -> None:
    """The Client page's row in the audit trail: once per client shown, until the person picks another client
    or leaves the page."""
    if st.session_state.get(VIEWED_KEY) == client_id:
        return
    audit.record(db(), actor=signed_in_scope(), action=audit.VIEW_CLIENT, object_type="client", object_id=client_id)
    st.session_state[VIEWED_KEY] = client_id


def record_download(what: str, client_id: str) -> None:
    """A download button's on_click: the download in the audit trail (what, for which client)."""
    audit.record(db(), actor=signed_in_scope(), action=audit.DOWNLOAD, object_type="client", object_id=client_id,
                 detail=what)


ALL_THERAPISTS = ""  # the "All therapists" choice of therapist_filter


def therapist_filter(key: str, *, container=st) -> Scope:
    """A page's therapist filter within what the viewer may see; returns the viewer's scope narrowed to it.

    A therapist's own view offers only themselves (the filter can never widen a scope).
    """
    viewer, names = current_scope(), therapist_names()
    options = [ALL_THERAPISTS, *names] if viewer.is_practice else [viewer.therapist_id]
    if st.session_state.get(key) not in options:  # e.g. after "View as" changed
        st.session_state[key] = options[0]
    chosen = container.selectbox(
        "Therapist",
        options=options,
        format_func=lambda tid: names.get(tid, tid) if tid else "All therapists",
        key=key,
        disabled=not viewer.is_practice,
        help="Every figure on this page counts only this therapist's clients.",
    )
    return viewer.narrowed_to(chosen or None)


def show_effectiveness_table(by_type, *, key: str) -> None:
    """The by-type table of `effectiveness.by_type` (Client and Effectiveness pages), with its help texts.

    In the de-identified view `by_type` has been through `current_view().by_type` and hidden counts read as text.
    """
    view = current_view()
    counts = st.column_config.TextColumn if view.on else st.column_config.NumberColumn
    st.dataframe(
        view.effectiveness_table(tables.effectiveness_table(by_type), by_type),
        hide_index=True,
        key=key,
        placeholder=formats.NO_VALUE,
        column_config={
            "type": st.column_config.TextColumn("Type"),
            "due": counts("Due", help="Assignments (not cancelled) due in the period"),
            "completion": st.column_config.NumberColumn("Completion", format="%.0f%%",
                                                        help="Credit earned ÷ homework expected"),
            "on_time": st.column_config.NumberColumn("On time", format="%.0f%%",
                                                     help="As completion, counting submissions by the due date"),
            "mood_lift": st.column_config.TextColumn(
                "Mood lift", help="Mean of mood after − mood before, in points (0–10 scale), over submissions made in "
                f"the period to homework not cancelled; shown from {effectiveness.MIN_N} ratings"),
            "lift_interval": st.column_config.TextColumn("95% interval", help="Mean ± t · sd / √n"),
            "lift_n": counts("Ratings", help="Submissions with both moods"),
            "quality": st.column_config.TextColumn(
                "Quality", help=f"Mean rating of the work, 0–4; shown from {effectiveness.MIN_N} ratings"),
            "quality_n": counts("Rated", help="Submissions with a quality rating"),
        },
    )


def show_current_homework(current, *, key: str, detailed: bool = False) -> None:
    """The table of `planner.current_assignments` (Client and Planner pages); `detailed` adds times a week,
    minutes and the id, which the planner needs to move or cancel homework."""
    columns = ["title", "assignment_type", "assigned_on", "due_on", "expected_count", "credit", "goal"]
    if detailed:
        columns[4:4] = ["times_per_week", "est_minutes"]
        columns[-1:-1] = ["assignment_id"]
    shown = current_view().people(tables.current_homework_table(current))
    columns = [c for c in columns if c in shown.columns]
    st.dataframe(
        shown,
        hide_index=True,
        key=key,
        placeholder="",
        column_order=columns,
        column_config={
            "title": st.column_config.TextColumn("Homework"),
            "assignment_type": st.column_config.TextColumn("Type"),
            "assigned_on": st.column_config.DateColumn("Set", format="D MMM YYYY"),
            "due_on": st.column_config.DateColumn("Due", format="D MMM YYYY"),
            "times_per_week": st.column_config.NumberColumn("Times a week", help="Planned homework only"),
            "est_minutes": st.column_config.NumberColumn("Minutes each"),
            "expected_count": st.column_config.NumberColumn("Expected", help="Times to be done by the due date"),
            "credit": st.column_config.NumberColumn("Done so far", format="%g",
                                                    help="Credit: completed 1, partial 0.5, up to the expected count"),
            "goal": st.column_config.TextColumn("Goal"),
            "assignment_id": st.column_config.TextColumn("Id", width=120),
        },
    )
    download_table(shown[columns], what="current homework", file_name="current-homework.csv", key=f"{key}_download")


def download_table(frame, *, what: str, file_name: str, key: str) -> None:
    """A table's own download button (toolbar's off: .streamlit/config.toml): formula-safe CSV, built only when pressed
    (in its own thread and cursor, from `frame` or what the function `frame` returns; it may not read the store) and
    then written in the export log; de-identified in that view (the frame is)."""
    scope, connection = current_scope(), store()
    def pressed() -> bytes:
        table = frame() if callable(frame) else frame
        data = exports.table_csv(table)
        with connection.cursor() as cursor:  # closed after the write
            exports.record_table_download(cursor, data=data, file_name=file_name, rows=len(table), what=what,
                                          scope=scope, exported_by="dashboard")
        return data
    st.download_button(
        "Download CSV", data=pressed, file_name=file_name, mime="text/csv", key=key, icon=":material/download:",
        on_click="ignore", help="This table as a CSV file that is safe to open in a spreadsheet: text a spreadsheet "
        "could run as a formula starts with an apostrophe. Each download is written in the export log.",
    )


def today() -> date:
    """The date figures are known at: today's date on this machine (one place, so tests can reason about it)."""
    return date.today()


def db_path() -> Path:
    """The store file, absolute: `--db PATH` after `--` on the streamlit command line, else $HOMEWORK_DB, else
    data/homework.duckdb. Worked out once per arguments, $HOMEWORK_DB and working directory (every query asks)."""
    return _db_path(tuple(sys.argv[1:]), os.environ.get("HOMEWORK_DB"), os.getcwd())


@functools.lru_cache(maxsize=16)
def _db_path(argv: tuple[str, ...], _environment: str | None, _cwd: str) -> Path:
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--db", type=Path, default=None)
    return (parser.parse_known_args(list(argv))[0].db or default_db_path()).resolve()


@st.cache_resource(show_spinner=False)
def _store_connection(path: str) -> DuckDBPyConnection:
    """The process's one connection to the store at `path` (created or upgraded on first use)."""
    return open_store(path)


def store() -> DuckDBPyConnection:
    """The process's connection to the store, for work in another thread (a deferred download makes its own cursor)."""
    return _store_connection(str(db_path()))


def db() -> DuckDBPyConnection:
    """This session's cursor on the store (a DuckDB connection may serve many threads, each through its own cursor).

    One per script thread: with Streamlit's fast reruns a click starts a new run in a new thread while the
    old run may still be inside a query, and DuckDB refuses a cursor busy with another call.
    """
    path = str(db_path())
    return held_while(CURSOR_KEY, (path, threading.get_ident()), lambda: _store_connection(path).cursor())


def held_while(key: str, stamp: Hashable, make: Callable[[], T]) -> T:
    """make()'s answer, kept in st.session_state[key] with `stamp` and made again when the stamp changes."""
    held = st.session_state.get(key)
    if held is None or held[0] != stamp:
        held = (stamp, make())
        st.session_state[key] = held
    return held[1]


def signed_in_scope() -> Scope:
    """Who is looking, decided once per rerun: the one place that maps an identity to a scope and role.

    Local mode (no [auth] in the secrets): the practice's admin. Signed in with st.login: the users row
    of their email, read on every rerun (so disabling a user or changing a role takes effect at their
    next click), made a scope by Scope.signed_in; their sign-in must not have run out (signin.check_sign_in).
    Raises signin.SignedOut, signin.NoAccess or signin.SignInEnded: main() then shows that screen only.
    """
    return held_while(SCOPE_KEY, st.session_state.get(RUN_KEY), _scope_of_identity)


def _scope_of_identity() -> Scope:
    who = signin.identity()
    if who is signin.LOCAL:
        return Scope(None, role=ADMIN, user=signin.LOCAL_USER)
    user = users.find_user(db(), who.email)
    if user is None or not user.active:
        raise signin.NoAccess(who.email)
    settings = access.load_settings(db())
    signin.check_sign_in(db(), who, user.role, settings)
    return Scope.signed_in(role=user.role, user=user.email, therapist_id=user.therapist_id,
                           manager_free_text=settings.manager_free_text)


def current_scope() -> Scope:
    """The scope every page reads: who signed in, narrowed to one therapist when the practice chose "View as",
    de-identified when the role says so (an analyst) or the "De-identified view" switch is on."""
    viewer = signed_in_scope()
    scope = viewer
    if viewer.is_practice and viewer.role in VIEW_AS_ROLES:  # a therapist stays in their own caseload
        scope = viewer.narrowed_to(st.session_state.get(VIEW_AS_KEY) or None)
    return scope.with_deidentified_view(viewer.deidentified or bool(st.session_state.get(DEIDENTIFIED_KEY)))


def current_view() -> deidentified.View:
    """How pages show data to the current scope: as stored, or de-identified (analytics.present.deidentified)."""
    return deidentified.View.of(db(), current_scope())


def current_period() -> Period:
    """The reporting period chosen in the sidebar ("Last 28 days" until the user picks another)."""
    choice = st.session_state.get(PERIOD_KEY, DEFAULT_PRESET)
    if choice in PRESETS:
        return Period.last_days(PRESETS[choice], today=today())
    picked = tuple(st.session_state.get(CUSTOM_RANGE_KEY) or ())
    if not picked:  # the range input was cleared: fall back to the default
        return Period.last_days(PRESETS[DEFAULT_PRESET], today=today())
    # While the user is picking, the range has only its first day.
    return Period(picked[0], picked[-1])


def scope_label(scope: Scope) -> str:
    """"Whole practice" or "Viewing as <therapist name>" (user text: show it with st.text, never as Markdown)."""
    if scope.is_practice:
        return WHOLE_PRACTICE
    names = therapist_names()
    return f"Viewing as {names.get(scope.therapist_id, scope.therapist_id)}"


def therapist_names() -> dict[str, str]:
    """therapist_id -> the name to show for it, for the therapists the signed-in user may see (read once per rerun:
    the sidebar and the page ask for them up to three times).

    A name two therapists share gets the id added, so the "View as" choices stay distinguishable; in the de-identified
    view the names are pseudonyms.
    """
    viewer = signed_in_scope()

    def read() -> dict[str, str]:
        frame = adherence.therapists(db(), scope=viewer)
        ids, names, uses = list(frame["therapist_id"]), list(frame["name"]), Counter(frame["name"].tolist())
        return {tid: f"{name} ({tid})" if uses[name] > 1 else name for tid, name in zip(ids, names, strict=True)}

    return current_view().names(held_while(NAMES_KEY, (st.session_state.get(RUN_KEY), viewer), read))


def open_client(client_id: str) -> None:
    """Make `client_id` the chosen client and switch to the Client page, its URL naming the client."""
    st.session_state[CLIENT_KEY] = client_id
    st.switch_page("pages/client.py", query_params={CLIENT_PARAM: client_id})


def client_link(client_id: str, label: str) -> None:
    """A link to the Client page for one client (/client?client=ID); `label` is user text, shown as typed."""
    st.page_link("pages/client.py", label=formats.inert_markdown(label), query_params={CLIENT_PARAM: client_id},
                 icon=":material/person:")


def _keep_picked_client() -> None:
    st.session_state[CLIENT_KEY] = st.session_state[CLIENT_PICKER_KEY]
    if CLIENT_PARAM in st.query_params:  # the Client page: its URL follows the picker, so it can be copied
        st.query_params[CLIENT_PARAM] = st.session_state[CLIENT_PICKER_KEY]


def pick_client(scope: Scope, *, follow_url: bool = False) -> str | None:
    """The sidebar's client picker over the clients in `scope`; returns the chosen client_id, or None if there are none.

    The choice is kept in st.session_state["client_id"], a plain key, because Streamlit forgets a widget's value on a
    page that does not draw it: so the client survives a visit to another page, and a list elsewhere can choose the
    client with open_client() before switching here. A chosen client outside `scope` (after "View as" changed)
    gives way to the first client in scope. With `follow_url` (the Client page) the URL's ?client=ID chooses the
    client, and the URL follows the picker; an id missing or outside `scope` stops the page: "Client not found".
    """
    choices = clients.client_choices(db(), scope=scope)
    ids = choices["client_id"].tolist()  # plain lists: walking a Series of 55,000 strings costs a tenth of a second
    if not ids:
        st.session_state.pop(CLIENT_KEY, None)
        return None
    view = current_view()
    shown = bounds.picker_texts(ids, choices["label"].tolist(), choices["therapist_name"].tolist(),
                                pseudonym=view.client if view.on else None)
    chosen = st.session_state.get(CLIENT_KEY)
    asked = st.query_params.get(CLIENT_PARAM) if follow_url else None
    if asked is not None and asked == chosen and asked not in shown:
        asked = None  # the URL only followed the picker, and "View as" has changed since: like the picker, move on
    if asked is not None and asked in shown:
        chosen = asked
    if chosen not in shown:
        chosen = ids[0]
    st.session_state[CLIENT_KEY] = chosen
    st.session_state[CLIENT_PICKER_KEY] = chosen  # the widget follows the kept choice (set before it is drawn)
    offered, note = ids, ""
    with st.sidebar:
        if len(ids) > bounds.PICKER_CHOICES:  # a large caseload: "Find a client", never the whole list sent to the browser
            ids_seen = not (view.on or scope.pseudonyms)  # where ids are hidden, only what the picker shows is searched
            find = st.text_input("Find a client", key=CLIENT_FIND_KEY, placeholder="Part of a name" + " or id" * ids_seen)
            offered, note = bounds.picker_offer(shown, find=find, chosen=chosen, ids_seen=ids_seen)
        st.selectbox("Client", offered, format_func=shown.__getitem__, key=CLIENT_PICKER_KEY, on_change=_keep_picked_client,
                     help="The clients you can see under “View as”. The choice is kept when you visit other pages.")
        if note:
            st.caption(note)
    if follow_url:
        if asked is not None and asked not in shown:  # missing or outside the scope: the same words either way
            st.error("Client not found: the link names no client in your caseload. Choose a client in the sidebar.")
            st.stop()
        st.query_params[CLIENT_PARAM] = chosen
    return chosen


# ---------------------------------------------------------------------------------------------
# The frame
# ---------------------------------------------------------------------------------------------


def view_as_picker() -> None:
    """The practice's "View as" choice: the whole practice or one therapist's caseload."""
    viewer = signed_in_scope()
    if not viewer.is_practice or viewer.role not in VIEW_AS_ROLES:
        return
    names = therapist_names()
    st.selectbox(
        "View as",
        # "" is the whole practice (None would read as "nothing chosen" and offer a clear button).
        options=["", *names],
        format_func=lambda tid: names.get(tid, tid) if tid else WHOLE_PRACTICE,
        key=VIEW_AS_KEY,
        help="See the dashboard as one therapist sees it: only their clients count.",
    )


def deidentified_switch() -> None:
    """The "De-identified view" switch (a role that must see the de-identified tier sets it in signed_in_scope)."""
    if signed_in_scope().deidentified:
        st.caption("You see the de-identified view.")
        return
    st.toggle(
        "De-identified view",
        key=DEIDENTIFIED_KEY,
        help="See the dashboard as an analyst does: pseudonyms instead of names, no text people typed, and counts "
        "from 1 to k shown as “fewer than k+1”. Downloads are then de-identified too.",
    )
    view = current_view()
    if view.on:
        st.caption(f"Pseudonyms, no typed text; counts from 1 to {view.k} read “{view.hidden}” ({view.hidden_short}).")


def period_picker() -> None:
    """The reporting period: a preset ending today, or a custom range of due dates."""
    st.selectbox(
        "Period",
        options=[*PRESETS, CUSTOM],
        index=list(PRESETS).index(DEFAULT_PRESET),
        key=PERIOD_KEY,
        help="Homework due in this period is counted. The previous period of the same length is shown for comparison.",
    )
    if st.session_state.get(PERIOD_KEY) == CUSTOM:
        default = Period.last_days(PRESETS[DEFAULT_PRESET], today=today())
        st.date_input(
            "Due between",
            value=(default.start, default.end),
            key=CUSTOM_RANGE_KEY,
            format="DD/MM/YYYY",
            persist_state="session",
        )


def who_is_looking(scope: Scope) -> None:
    """The sidebar's first lines: local mode said plainly, or who signed in with their role and a sign-out button."""
    if scope.user == signin.LOCAL_USER:
        with st.container(border=True, key="local_mode"):
            st.markdown(f":orange[:material/lock_open: **{LOCAL_MODE_NOTICE}**]")
            st.caption("Whoever uses this computer is the admin. Configure sign-in ([auth] in "
                       ".streamlit/secrets.toml) before the practice's data goes in.")
        return
    st.text(f"{scope.user} · {ROLE_LABELS.get(scope.role, scope.role)}")
    st.button("Sign out", key="sign_out", on_click=signin.sign_out, args=(db(), signin.identity(), scope.role))


def report_error(exc: BaseException, page: str, scope: Scope | None) -> str:
    """Log an unexpected error under a new reference (type and code lines only: no data, no clinical text) and
    record it in the audit trail; returns the reference the person is shown."""
    reference = uuid.uuid4().hex[:8].upper()
    frames = "".join(f"  {Path(frame.filename).name}:{frame.lineno} in {frame.name}\n"
                     for frame in traceback.extract_tb(exc.__traceback__))  # where, not the source text
    LOGGER.error("error reference %s on page %s (role %s): %s\n%s", reference, page,
                 scope.role if scope else "-", type(exc).__name__, frames)
    try:
        audit.record(db(), actor=scope or Scope(None, role="unknown", user="unknown"), action=audit.ERROR,
                     object_type="error", object_id=reference, outcome="failed", detail=f"{page}: {type(exc).__name__}")
    except Exception:  # the store itself may be what failed: the log line is there
        LOGGER.error("error reference %s could not be written to the audit trail", reference)
    return reference


def run_page(navigation, scope: Scope) -> None:
    """Run the chosen page; what goes wrong is said in one short line, never as a traceback."""
    try:
        with read_snapshot(db()):  # every query of the page sees the same store (an import commits whole or not yet)
            navigation.run()
    except ScopeError:
        # The same words whether the thing asked for exists elsewhere or not at all.
        signin.record_refusal_once(db(), None if scope.user == signin.LOCAL_USER else signin.identity(),
                                   f"not in scope on {navigation.title}")
        st.error("Not found: there is nothing with that id that you can see.")
    except WriteConflict as exc:
        st.error(f"Nothing was saved: {exc}.")
    except DiskFull as exc:  # an import, a plan or feedback: rolled back whole
        st.error(f"Nothing was saved: {exc}.")
    except Exception as exc:
        reference = report_error(exc, navigation.title, scope)
        st.error(f"Something went wrong and this page stopped. Reference {reference}: give it to whoever runs "
                 "the dashboard; the server's log has the details under it.")


def main() -> None:
    """Check who is looking, draw the frame around the chosen page, then run the page."""
    st.set_page_config(page_title="Homework adherence", layout="wide")
    st.session_state[RUN_KEY] = st.session_state.get(RUN_KEY, 0) + 1
    signing_in = signin.auth_configured()
    if reason := signin.refusal(signing_in):
        signin.record_refusal_once(None, None, reason)
        signin.show_refusal(reason)
    try:
        db()
    except StoreError as exc:  # e.g. another program holds the file, or a newer release wrote it
        why = str(exc)

        def store_error() -> None:
            st.error("The store cannot be opened, so there is nothing to show. The reason:")
            st.code(why, language=None)

        signin.show_alone(store_error)
    try:
        scope = signed_in_scope()
    except signin.SignedOut:
        signin.show_sign_in()
    except signin.NoAccess as exc:
        signin.record_refusal_once(db(), signin.identity(), "no active user")
        signin.show_no_access(exc.email)
    except signin.SignInEnded as exc:
        signin.show_ended(str(exc))
    allowed = PAGES_FOR.get(scope.role, ())
    navigation = st.navigation([st.Page(path, title=title, icon=icon) for path, title, icon in PAGES if path in allowed])
    if navigation.title != dict((path, title) for path, title, _ in PAGES)[CLIENT_PAGE]:
        st.session_state.pop(VIEWED_KEY, None)  # a later visit to the Client page is a new view
    with st.sidebar:
        who_is_looking(scope)
        view_as_picker()
        deidentified_switch()
        period_picker()
    st.session_state[FRAME_KEY] = True
    if (pending := st.session_state.pop(PENDING_PAGE_KEY, None)) and pending[0] in allowed:
        st.switch_page(pending[0], query_params=pending[1])
    run_page(navigation, scope)


if __name__ == "__main__":
    import dashboard  # the module pages import: one copy of the functions above (see the docstring)

    dashboard.main()
