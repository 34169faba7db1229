"""Sign-in and roles as a user meets them: AppTest with `at.user` (Streamlit's sign-in mock) and secrets holding an
[auth] section, on the fixture practice of conftest.py with some free text added.

Who is who (users rows added here):
  admin@example.test admin · pm@example.test practice manager · ada@example.test therapist T1 (clients C1
  "Client One", C2 "Client Two") · robin@example.test therapist T2 (C3 "Client Three", C4 "Client Four") ·
  analyst@example.test analyst · gone@example.test therapist T2, disabled.
Free text: C1's goals hold GOAL-SECRET, S1 (C1's) holds NOTE-SECRET and FEEDBACK-SECRET, C3's goals hold
GOAL-THREE.
"""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Dataframe
from streamlit.testing.v1.util import patch_config_options

import dashboard
import signin
from analytics.metrics import adherence
from analytics.store import access, audit, users
from analytics.store.database import open_store
from analytics.store.scope import Scope
from tests.pages.test_pages import DASHBOARD, no_exception, table
from tests.pages.test_pages_client_caseload import choose_submission

AUTH = {"auth": {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-test-cookie-secret-of-32-chars",
    "client_id": "dashboard-test",
    "client_secret": "dashboard-test-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}}
FREE_TEXT = ("GOAL-SECRET", "NOTE-SECRET", "FEEDBACK-SECRET", "GOAL-THREE")
T1_LABELS, T2_LABELS = ("Client One", "Client Two"), ("Client Three", "Client Four")
ALL_LABELS = T1_LABELS + T2_LABELS
ADMIN = Scope()
EVERY_PAGE = [path for path, _, _ in dashboard.PAGES]


@pytest.fixture
def store(store_path: Path) -> Path:
    con = open_store(store_path)
    try:
        con.execute("update clients set goals = 'GOAL-SECRET: sleep better' where client_id = 'C1'")
        con.execute("update clients set goals = 'GOAL-THREE: see friends' where client_id = 'C3'")
        con.execute("update submissions set client_note = 'NOTE-SECRET', therapist_feedback = 'FEEDBACK-SECRET', "
                    "feedback_at = submitted_at + interval 1 hour where submission_id = 'S1'")
        for email, role, therapist in [("admin@example.test", "admin", None), ("pm@example.test", "practice_manager", None),
                                       ("ada@example.test", "therapist", "T1"), ("robin@example.test", "therapist", "T2"),
                                       ("analyst@example.test", "analyst", None), ("gone@example.test", "therapist", "T2")]:
            users.add_user(con, email=email, role=role, therapist_id=therapist, by=ADMIN)
        users.set_active(con, email="gone@example.test", active=False, by=ADMIN)
    finally:
        con.close()
    return store_path


def signed_in(email: str | None, *, issued: float | None = None) -> AppTest:
    """The dashboard with sign-in configured; `email` None is a visitor who has not signed in."""
    at = AppTest.from_file(str(DASHBOARD), default_timeout=30)
    at.secrets = AUTH
    at.user = ({"is_logged_in": False} if email is None else
               {"is_logged_in": True, "email": email, "name": email.split("@")[0], "iat": int(issued or time.time())})
    return no_exception(at.run())


def nodes(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from nodes(child)


def shown(at: AppTest) -> str:
    """Everything the page sends to the browser, as text: every element's message (labels, options, chart specs,
    texts, metrics) and every table's cells."""
    parts = []
    for node in nodes(at._tree):
        if isinstance(node, Dataframe):
            parts.append(node.value.to_csv())
        elif getattr(node, "proto", None) is not None:
            parts.append(str(node.proto))
    return "\n".join(parts)


def visit(at: AppTest, page: str) -> str:
    return shown(no_exception(at.switch_page(page).run()))


def trail(store: Path, **filters) -> list[tuple]:
    con = open_store(store)
    try:
        return con.execute("select action, user_email, user_role, object_type, object_id, outcome from audit_log "
                           "where action <> 'user added' and action <> 'user changed' order by seq").fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------
# Before and without access
# ---------------------------------------------------------------------------------------------


def test_before_sign_in_a_visitor_sees_only_the_sign_in_screen(store: Path) -> None:
    at = signed_in(None)
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric and not at.dataframe and not at.selectbox and not at.get("plotly_chart")
    text = shown(at)
    for secret in (*ALL_LABELS, "Ada Byron", "Robin", "Overview", "Caseload", *FREE_TEXT):
        assert secret not in text
    with pytest.raises(ValueError, match="Known pages"):  # no page of the dashboard is reachable
        at.switch_page("pages/overview.py")


@pytest.mark.parametrize("email", ["stranger@example.test", "gone@example.test"], ids=["unknown", "disabled"])
def test_someone_without_an_active_user_row_sees_no_access_and_sign_out_only(store: Path, email: str) -> None:
    at = signed_in(email)
    assert [t.value for t in at.title] == ["No access"]
    assert [b.label for b in at.button] == ["Sign out"]
    assert not at.metric and not at.dataframe and not at.selectbox and not at.get("plotly_chart")
    text = shown(at)
    for secret in (*ALL_LABELS, "Ada Byron", *FREE_TEXT, "Completion"):
        assert secret not in text
    assert ("access denied", email, "unknown", "session", "denied") == trail(store)[-1][:4] + (trail(store)[-1][5],)


def test_sign_out_ends_the_session_and_is_recorded(store: Path) -> None:
    at = signed_in("ada@example.test")
    no_exception(at.button(key="sign_out").click().run())
    assert [b.label for b in at.button] == ["Sign in"]  # st.logout: the next run is signed out
    actions = [(row[0], row[1]) for row in trail(store)]
    assert actions[-2:] == [("sign-in", "ada@example.test"), ("sign-out", "ada@example.test")]


# ---------------------------------------------------------------------------------------------
# Each role, every page of its menu
# ---------------------------------------------------------------------------------------------


def test_a_therapist_sees_only_their_own_clients_on_every_page(store: Path) -> None:
    at = signed_in("ada@example.test")
    for page in dashboard.PAGES_FOR["therapist"]:
        text = visit(at, page)
        for label in T2_LABELS:
            assert label not in text, f"{label} on {page}"
        assert "GOAL-THREE" not in text
        assert not at.get("selectbox") or "view_as" not in [s.key for s in at.selectbox]
    assert "Client One" in visit(at, "pages/client.py")
    assert at.selectbox(key="client_picker").options == ["Client One · Ada Byron", "Client Two · Ada Byron"]
    for page in set(EVERY_PAGE) - set(dashboard.PAGES_FOR["therapist"]):  # not in the menu: cannot be opened
        with pytest.raises(ValueError, match="Known pages"):
            at.switch_page(page)


def test_another_therapists_client_passed_to_a_therapist_is_the_same_as_none(store: Path) -> None:
    at = signed_in("ada@example.test")
    at.session_state["client_id"] = "C3"  # Robin's client, as a link or a stale choice would pass it
    text = visit(at, "pages/client.py")
    assert "Client Three" not in text and "GOAL-THREE" not in text
    assert at.selectbox(key="client_picker").value == "C1"  # the first of their own, as for an id that does not exist
    at.session_state["client_id"] = "C99"
    visit(at, "pages/client.py")
    assert at.selectbox(key="client_picker").value == "C1"


def test_a_practice_manager_sees_every_clients_figures_but_no_free_text_and_writes_nothing(store: Path) -> None:
    at = signed_in("pm@example.test")
    visit(at, "pages/client.py")
    no_exception(at.selectbox(key="client_picker").set_value("C1").run())  # the client whose text holds the secrets
    for page in dashboard.PAGES_FOR["practice_manager"]:
        text = visit(at, page)
        for secret in FREE_TEXT:
            assert secret not in text, f"{secret} on {page}"
    assert "Client One" in visit(at, "pages/client.py")  # the client's figures, not their text
    assert "Client Three" in visit(at, "pages/caseload.py")
    assert at.selectbox(key="view_as").options == ["Whole practice", "Ada Byron", "Robin **Bold** Lee"]
    visit(at, "pages/client.py")
    assert not at.text_area  # no feedback box
    assert "Feedback is written by the client's therapist; your role reads the figures only." in [i.value for i in at.info]
    for page in ("pages/planner.py", "pages/data.py", "pages/users.py", "pages/audit.py", "pages/settings.py"):
        with pytest.raises(ValueError, match="Known pages"):
            at.switch_page(page)


def test_the_practice_can_let_managers_read_free_text(store: Path) -> None:
    con = open_store(store)
    access.save_settings(con, access.AccessSettings(manager_free_text=True), by=ADMIN)
    con.close()
    at = signed_in("pm@example.test")
    visit(at, "pages/client.py")
    text = shown(no_exception(at.selectbox(key="client_picker").set_value("C1").run()))
    assert "GOAL-SECRET" in text and "NOTE-SECRET" in text and "FEEDBACK-SECRET" in text


def test_an_analyst_sees_aggregates_and_pseudonyms_never_a_client_label_or_free_text(store: Path) -> None:
    at = signed_in("analyst@example.test")
    for page in dashboard.PAGES_FOR["analyst"]:
        text = visit(at, page)
        for secret in (*ALL_LABELS, *FREE_TEXT):
            assert secret not in text, f"{secret} on {page}"
    visit(at, "pages/effectiveness.py")
    options = at.selectbox(key="client_picker").options
    # The analyst's view is the de-identified tier: keyed pseudonyms ("C-" and 16 hex digits), never a label.
    assert len(options) == 4 and all(re.fullmatch(r"C-[0-9a-f]{16}", option) for option in options)
    assert not [o for o in options if o in ALL_LABELS]
    visit(at, "pages/data.py")
    assert len(at.file_uploader) == 1  # analysts import
    with pytest.raises(ValueError, match="Known pages"):
        at.switch_page("pages/client.py")


def test_an_admin_has_every_page_and_sees_everything(store: Path) -> None:
    at = signed_in("admin@example.test")
    visit(at, "pages/client.py")
    no_exception(at.selectbox(key="client_picker").set_value("C1").run())
    texts = {page: visit(at, page) for page in EVERY_PAGE}
    assert "GOAL-SECRET" in texts["pages/client.py"] and "FEEDBACK-SECRET" in texts["pages/client.py"]
    assert "pm@example.test" in texts["pages/users.py"]
    assert "sign-in" in texts["pages/audit.py"]
    assert [t.value for t in at.title] == ["Settings"]


def test_the_role_is_read_on_every_rerun(store: Path) -> None:
    at = signed_in("ada@example.test")
    assert "Client Three" not in visit(at, "pages/caseload.py")
    con = open_store(store)
    users.set_role(con, email="ada@example.test", role="practice_manager", by=ADMIN)
    con.close()
    visit(at, "pages/caseload.py")  # the next click: the whole practice, and "View as"
    assert at.selectbox(key="caseload_therapist").options == ["All therapists", "Ada Byron", "Robin **Bold** Lee"]
    assert at.selectbox(key="view_as").options == ["Whole practice", "Ada Byron", "Robin **Bold** Lee"]
    con = open_store(store)
    users.set_active(con, email="ada@example.test", active=False, by=ADMIN)
    con.close()
    no_exception(at.run())
    assert [t.value for t in at.title] == ["No access"]


# ---------------------------------------------------------------------------------------------
# Automatic log-off
# ---------------------------------------------------------------------------------------------


def test_a_sign_in_older_than_the_session_limit_is_signed_out_with_the_reason(store: Path) -> None:
    at = signed_in("ada@example.test", issued=time.time() - 13 * 3600)
    assert [t.value for t in at.title] == ["Signed out"]
    assert "more than 12 hours ago" in at.warning[0].value
    assert [b.label for b in at.button] == ["Sign in again"]
    assert not at.metric
    assert ("timeout", "ada@example.test") in [(row[0], row[1]) for row in trail(store)]
    no_exception(at.button(key="sign_in_again").click().run())
    assert [b.label for b in at.button] == ["Sign in"]


def test_after_the_idle_time_the_next_click_signs_out_and_says_why(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    con = open_store(store)
    access.save_settings(con, access.AccessSettings(idle_minutes=5), by=ADMIN)
    con.close()
    at = signed_in("ada@example.test")
    assert [t.value for t in at.title] == ["Overview"]
    start = signin.current_time()
    monkeypatch.setattr(signin, "current_time", lambda: start + timedelta(minutes=4))
    assert [t.value for t in no_exception(at.run()).title] == ["Overview"]  # 4 minutes: still in
    monkeypatch.setattr(signin, "current_time", lambda: start + timedelta(minutes=8, seconds=30))
    assert [t.value for t in no_exception(at.run()).title] == ["Overview"]  # 8.5 minutes in, 4.5 after the last click
    monkeypatch.setattr(signin, "current_time", lambda: start + timedelta(minutes=13, seconds=31))
    no_exception(at.run())  # 5 minutes and a second after the last click
    assert [t.value for t in at.title] == ["Signed out"]
    assert "after 5 minutes without activity" in at.warning[0].value
    monkeypatch.setattr(signin, "current_time", lambda: start + timedelta(minutes=15, seconds=5))
    assert [t.value for t in no_exception(at.run()).title] == ["Signed out"]  # stays ended: a click does not revive it


# ---------------------------------------------------------------------------------------------
# Local mode, addresses, errors
# ---------------------------------------------------------------------------------------------


def test_local_mode_is_the_admin_and_says_so(store_path: Path) -> None:
    at = no_exception(AppTest.from_file(str(DASHBOARD), default_timeout=30).run())
    assert any(dashboard.LOCAL_MODE_NOTICE in m.value for m in at.markdown)
    assert not at.button  # nothing to sign out of
    assert [t.value for t in no_exception(at.switch_page("pages/users.py").run()).title] == ["Users"]


@pytest.mark.parametrize("address", ["0.0.0.0", "192.168.1.20", ""])
def test_without_sign_in_the_dashboard_refuses_any_address_but_localhost(
    store_path: Path, address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signin, "server_address", lambda: address)
    at = no_exception(AppTest.from_file(str(DASHBOARD), default_timeout=30).run())
    assert len(at.error) == 1 and at.error[0].value.startswith("Refused: no sign-in is configured")
    assert "\n" not in at.error[0].value
    assert not at.metric and not at.selectbox


def test_with_sign_in_the_dashboard_may_serve_another_address(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signin, "server_address", lambda: "0.0.0.0")
    assert [t.value for t in signed_in("ada@example.test").title] == ["Overview"]


def test_the_address_comes_from_streamlits_option(monkeypatch: pytest.MonkeyPatch) -> None:
    with patch_config_options({"server.address": "192.0.2.7"}):
        assert signin.server_address() == "192.0.2.7"


def test_an_unexpected_error_shows_a_reference_that_the_log_has_without_clinical_text(
    store: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("NOTE-SECRET leaked into an error message")

    monkeypatch.setattr(adherence, "headline", broken)
    with caplog.at_level(logging.ERROR, logger="homework.dashboard"):
        at = signed_in("admin@example.test")
    assert not at.exception
    [message] = [e.value for e in at.error]
    reference = message.split("Reference ")[1].split(":")[0]
    assert len(reference) == 8
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"error reference {reference}" in logged and "RuntimeError" in logged
    assert "NOTE-SECRET" not in logged and "NOTE-SECRET" not in message
    assert ("error", "admin@example.test", "admin", "error", reference, "failed") in trail(store)


def test_the_config_hides_error_details() -> None:
    import tomllib

    config = tomllib.loads((DASHBOARD.parent / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"


def test_the_server_reads_its_settings_from_the_project_and_skips_the_full_collection_after_each_run() -> None:
    # What Streamlit itself makes of .streamlit/config.toml when started from the project (a misspelt option would be
    # ignored with a warning): no garbage collection after every script run (docs/DESIGN.md "Wave 15"), no magic.
    shown = subprocess.run(
        [sys.executable, "-c", "from streamlit import config; config.get_config_options(); "
         "print(config.get_option('runner.postScriptGC'), config.get_option('runner.magicEnabled'), "
         "config.get_where_defined('runner.postScriptGC'), sep='\\n')"],
        cwd=DASHBOARD.parent, capture_output=True, text=True, check=True).stdout.splitlines()
    assert shown == ["False", "False", str(DASHBOARD.parent / ".streamlit" / "config.toml")]


# ---------------------------------------------------------------------------------------------
# The audit trail from the screens
# ---------------------------------------------------------------------------------------------


def test_client_page_views_are_recorded_once_per_client_shown(store: Path) -> None:
    at = signed_in("ada@example.test")
    visit(at, "pages/client.py")
    no_exception(at.run())  # a rerun on the same page and client is the same view
    no_exception(at.selectbox(key="client_picker").set_value("C2").run())
    visit(at, "pages/overview.py")
    visit(at, "pages/client.py")  # back again: a new view
    views = [row[4] for row in trail(store) if row[0] == "view client"]
    assert views == ["C1", "C2", "C2"]


def test_feedback_from_the_client_page_keeps_the_old_version_and_says_edited(store: Path) -> None:
    at = signed_in("ada@example.test")
    visit(at, "pages/client.py")
    choose_submission(at, "C1", "S1")
    at.text_area(key="feedback_text_S1").input("Good start, keep going.")
    no_exception(at.button(key="feedback_save").click().run())
    choose_submission(at, "C1", "S1")
    assert any(c.value.startswith("Feedback given") and ", edited; saving adds a new version" in c.value for c in at.caption)
    listed = table(at, "submission_id", "client_note").set_index("submission_id")
    assert listed.loc["S1", "therapist_feedback"] == "Good start, keep going."
    con = open_store(store)
    history = con.execute("select version, text, written_by from feedback_versions where submission_id = 'S1' "
                          "order by version").fetchall()
    con.close()
    assert history == [(1, "FEEDBACK-SECRET", "import"), (2, "Good start, keep going.", "ada@example.test")]
    assert ("feedback", "ada@example.test", "therapist", "submission", "S1", "ok") in trail(store)


def test_a_feedback_save_over_someone_elses_newer_text_is_refused_and_the_text_kept(store: Path) -> None:
    at = signed_in("ada@example.test")
    visit(at, "pages/client.py")
    choose_submission(at, "C1", "S1")
    con = open_store(store)  # meanwhile, an admin edits the same feedback
    from analytics.metrics import clients
    clients.save_feedback(con, scope=ADMIN, submission_id="S1", text="Admin's words",
                          at=signin.current_time())
    con.close()
    at.text_area(key="feedback_text_S1").input("My words")
    no_exception(at.button(key="feedback_save").click().run())
    assert [e.value for e in at.error] == [
        "Nothing was saved. Someone changed the feedback on this submission at the same time, so yours was not saved. "
        "Your text is still in the box: read theirs in the list, then save again."]
    assert at.text_area(key="feedback_text_S1").value == "My words"
    listed = table(at, "submission_id", "client_note").set_index("submission_id")
    assert listed.loc["S1", "therapist_feedback"] == "Admin's words"
    no_exception(at.button(key="feedback_save").click().run())  # having seen it, saving again works
    assert not at.error


def test_the_audit_page_filters_by_user_and_action_and_checks_the_chain(store: Path) -> None:
    at = signed_in("admin@example.test")
    visit(at, "pages/audit.py")
    no_exception(at.selectbox(key="audit_action").set_value("sign-in").run())
    rows = [d for d in at.dataframe if "action" in d.value.columns][0].value
    assert set(rows["action"]) == {"sign-in"} and list(rows["user_email"]) == ["admin@example.test"]
    no_exception(at.button(key="audit_verify").click().run())
    assert at.success[0].value.startswith("Audit trail intact")
    con = open_store(store)
    assert audit.verify(con).ok
    con.close()


def test_with_sign_in_the_allowed_hosts_add_the_redirect_host_and_the_configured_list(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamlit as st

    secrets = {"auth": {"redirect_uri": "https://dash.practice.example/oauth2callback"},
               "dashboard": {"allowed_hosts": ["homework.practice.example"]}}
    monkeypatch.setattr(st, "secrets", secrets)
    hosts = signin.allowed_hosts(True)
    assert hosts == ("localhost", "127.0.0.1", "::1", "dash.practice.example", "homework.practice.example")
    assert access.host_allowed("homework.practice.example:443", hosts)
    assert not access.host_allowed("attacker.example", hosts)
    assert signin.allowed_hosts(False) == access.LOCAL_HOSTS  # local mode: this machine only
