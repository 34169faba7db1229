"""The dashboard's frame: page setup, the store, who is looking, the sidebar's period, and the page list.

Run it with `streamlit run dashboard.py [-- --db PATH]`.

How pages get what they need
----------------------------
Streamlit runs this file as `__main__` on every rerun; with `st.navigation` the chosen page then
runs inside that same script run. A page asks the frame for what it needs by importing plain
functions from this module::

    from dashboard import current_period, current_scope, db, today

Importing `dashboard` from a page must not draw the frame a second time, so nothing at module level
touches the screen: the frame is drawn by `main()`, which runs only when this file is the script
Streamlit runs (`__name__ == "__main__"`). Even then `main()` is called on the imported `dashboard`
module, not on `__main__`: the frame and the pages then share one copy of these functions, so
`st.cache_resource` keeps exactly one store connection per process (its cache key includes the
module's name, and `__main__` and `dashboard` would otherwise be two modules).

The functions hold no state of their own. The store connection is a cached resource; the session's
cursor, the "View as" choice and the period live in `st.session_state` under the keys below, set by
the sidebar widgets that `main()` draws before the page runs. The chosen client lives there too
(CLIENT_KEY), set by the picker a page draws with `pick_client()` or by `open_client()`. Query results are never cached, so a
page shows what the store holds at that moment (an import is visible on the next page at once).

Streamlit treats a folder named `pages/` next to the entrypoint as the legacy multipage layout until
st.navigation has run once in the server process, so the very first request after the server starts,
if it is a deep link such as /data, would run that page alone (no frame, no scope, wrong menu). Every
page therefore starts with `require_frame()`, which sends such a request through the frame first.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import streamlit as st
from duckdb import DuckDBPyConnection

from analytics.export import exports
from analytics.metrics import adherence, clients, effectiveness
from analytics.present import deidentified, formats, tables
from analytics.store.database import StoreError, default_db_path, is_empty, open_store
from analytics.store.period import DEFAULT_PRESET, PRESETS, Period
from analytics.store.scope import Scope

# The pages, in menu order: (file, title, icon). Every file in pages/ must be listed here
# (tests/test_architecture.py checks it).
PAGES = [
    ("pages/overview.py", "Overview", ":material/dashboard:"),
    ("pages/caseload.py", "Caseload", ":material/groups:"),
    ("pages/client.py", "Client", ":material/person:"),
    ("pages/effectiveness.py", "Effectiveness", ":material/insights:"),
    ("pages/planner.py", "Planner", ":material/edit_calendar:"),
    ("pages/data.py", "Data", ":material/upload_file:"),
]

# st.session_state keys owned by the frame.
VIEW_AS_KEY = "view_as"  # therapist_id chosen in "View as", or "" for the whole practice
PERIOD_KEY = "period_preset"  # a name from analytics.store.period.PRESETS, or CUSTOM
CUSTOM_RANGE_KEY = "period_custom_range"  # (start, end) when CUSTOM is chosen
CURSOR_KEY = "store_cursor"  # (store path, this session's cursor)
FRAME_KEY = "frame_drawn"  # set once the frame has run in this session
CLIENT_KEY = "client_id"  # the client chosen in the picker or opened from a list; kept across pages
CLIENT_PICKER_KEY = "client_picker"  # the picker widget itself (see pick_client)
DEIDENTIFIED_KEY = "deidentified_view"  # the "De-identified view" switch (until roles set it: see current_scope)

CUSTOM = "Custom"
WHOLE_PRACTICE = "Whole practice"


# ---------------------------------------------------------------------------------------------
# What pages import
# ---------------------------------------------------------------------------------------------


def require_frame() -> None:
    """Every page's first line: a page run without the frame (see the module docstring) goes through it."""
    if not st.session_state.get(FRAME_KEY):
        st.switch_page("dashboard.py")


def require_data() -> None:
    """Stop the page with the way forward when the store holds no client yet (never an error)."""
    if is_empty(db()):
        st.info("No data yet. Import CSV files on the Data page, or run `make run` which loads the demo data.")
        st.page_link("pages/data.py", label="Go to the Data page", icon=":material/upload_file:")
        st.stop()


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
    """A table's own download button (the dataframe toolbar's is off: .streamlit/config.toml): formula-safe CSV
    from the export module, recorded in the export log when pressed; de-identified in the de-identified view."""
    scope = current_scope()
    data = exports.table_csv(frame)
    st.download_button(
        "Download CSV", data=data, file_name=file_name, mime="text/csv", key=key, icon=":material/download:",
        on_click=_record_table_download, args=(data, file_name, len(frame), what, scope),
        help="This table as a CSV file that is safe to open in a spreadsheet: text a spreadsheet could run as a "
        "formula starts with an apostrophe. Each download is written in the export log.",
    )


def _record_table_download(data: bytes, file_name: str, rows: int, what: str, scope: Scope) -> None:
    exports.record_table_download(db(), data=data, file_name=file_name, rows=rows, what=what, scope=scope,
                                  exported_by="dashboard")


def today() -> date:
    """The date figures are known at: today's date on this machine (one place, so tests can reason about it)."""
    return date.today()


def db_path() -> Path:
    """The store file: `--db PATH` after `--` on the streamlit command line, else $HOMEWORK_DB, else data/homework.duckdb."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--db", type=Path, default=None)
    known, _ = parser.parse_known_args(sys.argv[1:])
    return known.db or default_db_path()


@st.cache_resource(show_spinner=False)
def _store_connection(path: str) -> DuckDBPyConnection:
    """The process's one connection to the store at `path` (created or upgraded on first use)."""
    return open_store(path)


def store() -> DuckDBPyConnection:
    """The process's connection to the store, for work in another thread (a deferred download makes its own cursor)."""
    return _store_connection(str(db_path().resolve()))


def db() -> DuckDBPyConnection:
    """This session's cursor on the store (a DuckDB connection may serve many threads, each through its own cursor)."""
    path = str(db_path().resolve())
    held = st.session_state.get(CURSOR_KEY)
    if held is None or held[0] != path:
        held = (path, _store_connection(path).cursor())
        st.session_state[CURSOR_KEY] = held
    return held[1]


def signed_in_scope() -> Scope:
    """Who signed in. No sign-in is configured yet, so every visitor is the practice.

    Real sign-in changes this function only: a therapist's session returns Scope.therapist(their id),
    and the frame then offers no "View as" choice (see current_scope).
    """
    return Scope.practice()


def current_scope() -> Scope:
    """The scope every page reads: who signed in, narrowed to one therapist when the practice chose "View as",
    de-identified when the sign-in says so or the "De-identified view" switch is on."""
    # narrowed_to never widens: a therapist who signed in stays in their own caseload.
    signed_in = signed_in_scope()
    scope = signed_in.narrowed_to(st.session_state.get(VIEW_AS_KEY) or None)
    return scope.with_deidentified_view(signed_in.deidentified or bool(st.session_state.get(DEIDENTIFIED_KEY)))


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
    """therapist_id -> the name to show for it, for the therapists the signed-in user may see.

    A name two therapists share gets the id added, so the "View as" choices stay distinguishable.
    """
    frame = adherence.therapists(db(), scope=signed_in_scope())
    ids, names = list(frame["therapist_id"]), list(frame["name"])
    shown = {tid: f"{name} ({tid})" if names.count(name) > 1 else name for tid, name in zip(ids, names, strict=True)}
    return current_view().names(shown)  # pseudonyms in the de-identified view


def shown_change(change: str | None, *, neutral: bool = False) -> dict[str, str | None]:
    """st.metric's delta arguments for a change from analytics.charts ("+5 pp", "-2", "±0 pp").

    Up is green and down red, unless `neutral` (more or fewer is neither good nor bad): then grey.
    st.metric greys out only a numeric zero, so a "±0" change is made grey and arrowless here.
    """
    if change is not None and change.startswith("±"):
        return {"delta": change, "delta_color": "off", "delta_arrow": "off"}
    return {"delta": change, "delta_color": "off" if neutral else "normal"}


def open_client(client_id: str) -> None:
    """Make `client_id` the chosen client (the Client page then shows it); call before switching to that page."""
    st.session_state[CLIENT_KEY] = client_id


def _keep_picked_client() -> None:
    st.session_state[CLIENT_KEY] = st.session_state[CLIENT_PICKER_KEY]


def pick_client(scope: Scope) -> str | None:
    """The sidebar's client picker over the clients in `scope`; returns the chosen client_id, or None if there are none.

    The choice is kept in st.session_state["client_id"], a plain key, because Streamlit forgets a
    widget's value on a page that does not draw it: so the client survives a visit to another page,
    and a list elsewhere can choose the client with open_client() before switching here. A chosen
    client outside `scope` (after "View as" changed) gives way to the first client in scope.
    """
    choices = clients.client_choices(db(), scope=scope)
    ids = list(choices["client_id"])
    if not ids:
        st.session_state.pop(CLIENT_KEY, None)
        return None
    view = current_view()
    labels = [view.client(cid) if view.on else f"{label} · {therapist or 'no therapist'}"
              for cid, label, therapist in zip(ids, choices["label"], choices["therapist_name"], strict=True)]
    # Two clients shown alike get their id added, so every choice can be told apart.
    shown = {cid: f"{text} ({cid})" if labels.count(text) > 1 else text for cid, text in zip(ids, labels, strict=True)}
    chosen = st.session_state.get(CLIENT_KEY)
    if chosen not in shown:
        chosen = ids[0]
    st.session_state[CLIENT_KEY] = chosen
    st.session_state[CLIENT_PICKER_KEY] = chosen  # the widget follows the kept choice (set before it is drawn)
    with st.sidebar:
        st.selectbox(
            "Client",
            options=ids,
            format_func=shown.__getitem__,
            key=CLIENT_PICKER_KEY,
            on_change=_keep_picked_client,
            help="The clients you can see under “View as”. The choice is kept when you visit other pages.",
        )
    return chosen


# ---------------------------------------------------------------------------------------------
# The frame
# ---------------------------------------------------------------------------------------------


def view_as_picker() -> None:
    """The practice's "View as" choice: the whole practice or one therapist's caseload."""
    if not signed_in_scope().is_practice:
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


def main() -> None:
    """Draw the frame around the chosen page, then run the page."""
    st.set_page_config(page_title="Homework adherence", layout="wide")
    navigation = st.navigation([st.Page(path, title=title, icon=icon) for path, title, icon in PAGES])
    try:
        db()
    except StoreError as exc:  # e.g. another program holds the file, or a newer release wrote it
        st.error("The store cannot be opened, so there is nothing to show. The reason:")
        st.code(str(exc), language=None)
        st.stop()
    with st.sidebar:
        view_as_picker()
        deidentified_switch()
        period_picker()
    st.session_state[FRAME_KEY] = True
    navigation.run()


if __name__ == "__main__":
    import dashboard  # the module pages import: one copy of the functions above (see the docstring)

    dashboard.main()
