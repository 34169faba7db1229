"""Signing in for real: the dashboard under `streamlit run` with an [auth] section, a real OpenID Connect provider
(the npm package oidc-provider, run by Node.js from tests/browser/oidc/), and Chromium.

A therapist signs in, sees only their caseload, signs out; an unknown user gets "no access". A request for
another host name (a DNS-rebinding page) is refused. Node, the provider's packages (`npm ci --prefix
tests/browser/oidc`) and Chromium are required: the tests fail, never skip, when one is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from analytics.store import users
from analytics.store.database import open_store
from analytics.store.scope import Scope
from benchmarks.browser import launch_options
from tests.browser.test_browser import (
    PROJECT_DIR,
    WAIT_MS,
    expect_metric,
    expect_no_exception,
    free_port,
    screenshot,
    wait_until_healthy,
)

pytestmark = pytest.mark.browser

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
CLIENT_ID, CLIENT_SECRET = "dashboard-test", "dashboard-test-secret"
THERAPIST, STRANGER = "therapist@example.test", "stranger@example.test"
PEOPLE = {THERAPIST: {"name": "Thea Therapist"}, STRANGER: {"name": "Sam Stranger"}}
START_SECONDS = 30


@contextlib.contextmanager
def process(command: list[str], log: Path, **kwargs) -> Iterator[subprocess.Popen[bytes]]:
    """Run `command` with its output in `log`; stopped (and its log printed, shown on failure) at the end."""
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kwargs)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        print(f"----- {log.name} -----\n{log.read_text(errors='replace')}")


def node_and_provider() -> str:
    """The node executable, with oidc-provider installed beside provider.mjs (npm ci once if npm is there)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the sign-in test needs Node.js >= 18 (apt-get install nodejs npm). "
                    "It is required and never skipped.")
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        npm = shutil.which("npm")
        if npm:
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=OIDC_DIR, capture_output=True, timeout=300)
        if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
            pytest.fail(f"oidc-provider is not installed: run `npm ci --prefix {OIDC_DIR.relative_to(PROJECT_DIR)}`")
    return node


def start_provider(stack: contextlib.ExitStack, tmp_path: Path, app_port: int) -> str:
    """oidc-provider on a free port of 127.0.0.1 with the two test people; returns its issuer URL."""
    log = tmp_path / "provider.log"
    proc = stack.enter_context(process(
        [node_and_provider(), "provider.mjs", "--port", "0", "--app-port", str(app_port), "--client-id", CLIENT_ID,
         "--client-secret", CLIENT_SECRET, "--users", json.dumps(PEOPLE)], log, cwd=OIDC_DIR))
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the OIDC provider exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("READY "):
                return line.split()[1]
        time.sleep(0.1)
    pytest.fail(f"the OIDC provider was not ready after {START_SECONDS}s:\n{log.read_text(errors='replace')}")


def start_dashboard(stack: contextlib.ExitStack, tmp_path: Path, port: int, store: Path, issuer: str | None) -> str:
    """`streamlit run dashboard.py` on the store, with sign-in against `issuer` (none: local mode)."""
    secrets = tmp_path / "secrets.toml"  # given with --secrets.files: no developer's own secrets come in
    secrets.write_text("" if issuer is None else (
        "[auth]\n"
        'redirect_uri = "http://localhost:{port}/oauth2callback"\n'.replace("{port}", str(port))
        + f'cookie_secret = "{os.urandom(16).hex()}"\n'
        f'client_id = "{CLIENT_ID}"\n'
        f'client_secret = "{CLIENT_SECRET}"\n'
        f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n'), encoding="utf-8")
    log = tmp_path / "streamlit.log"
    env = {k: v for k, v in os.environ.items() if k != "HOMEWORK_DB"}
    server = stack.enter_context(process(
        [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--secrets.files", str(secrets),
         "--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false", "--", "--db", str(store)], log, cwd=PROJECT_DIR, env=env))
    url = f"http://localhost:{port}"  # the origin of redirect_uri: the sign-in state lives in its cookie
    wait_until_healthy(url, server, log)
    return url


def chromium_with(stack: contextlib.ExitStack, *extra_args: str) -> Browser:
    options = launch_options(*extra_args)  # benchmarks/browser.py: fails (never skips) when Chromium is missing
    playwright = stack.enter_context(sync_playwright())
    browser = playwright.chromium.launch(**options)
    stack.callback(browser.close)
    return browser


def sign_in(page: Page, app_url: str, issuer: str, email: str) -> None:
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{issuer}/interaction/**")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{app_url}/**")


@pytest.fixture
def store_with_users(store_path: Path) -> Path:
    con = open_store(store_path)
    users.add_user(con, email=THERAPIST, role="therapist", therapist_id="T1", by=Scope(None, user="test setup"))
    con.close()
    return store_path


def test_a_therapist_signs_in_sees_only_their_caseload_signs_out_and_a_stranger_has_no_access(
    store_with_users: Path, tmp_path: Path
) -> None:
    app_port = free_port()
    with contextlib.ExitStack() as stack:
        issuer = start_provider(stack, tmp_path, app_port)
        app_url = start_dashboard(stack, tmp_path, app_port, store_with_users, issuer)
        page = chromium_with(stack).new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(WAIT_MS)
        try:
            check_sign_in_and_out(page, app_url, issuer)
        except Exception:
            screenshot(page, "sign-in-failure")
            raise


def check_sign_in_and_out(page: Page, app_url: str, issuer: str) -> None:
    page.goto(app_url)
    # Before sign-in: the sign-in screen only, no figure and no menu.
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    expect(page.get_by_text("Client One")).to_have_count(0)
    screenshot(page, "sign-in-1-signed-out")

    sign_in(page, app_url, issuer, THERAPIST)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_text(f"{THERAPIST} · Therapist")).to_be_visible()
    expect_metric(page, "Active clients", "2")  # Ada's C1 and C2; the practice has 3
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_text("Data", exact=True)).to_have_count(1)  # exports of their own caseload (no import)
    expect(nav.get_by_text("Users", exact=True)).to_have_count(0)
    expect(page.get_by_role("combobox", name="View as")).to_have_count(0)
    expect_no_exception(page)
    screenshot(page, "sign-in-2-therapist-overview")

    nav.get_by_text("Caseload", exact=True).click()
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    every_client = page.get_by_test_id("stDataFrame").last
    expect(every_client.locator("td", has_text="Client One")).to_have_count(1)
    expect(every_client.locator("td", has_text="Client Two")).to_have_count(1)
    expect(page.locator("td", has_text="Client Three")).to_have_count(0)
    expect(page.locator("td", has_text="Client Four")).to_have_count(0)
    expect_no_exception(page)
    screenshot(page, "sign-in-3-therapist-caseload")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_text(THERAPIST)).to_have_count(0)
    expect(page.get_by_test_id("stMetric")).to_have_count(0)

    sign_in(page, app_url, issuer, STRANGER)
    expect(page.get_by_role("heading", name="No access")).to_be_visible()
    expect(page.get_by_text(f"{STRANGER} has no access to this dashboard", exact=False)).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
    expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
    expect(page.get_by_text("Client One")).to_have_count(0)
    screenshot(page, "sign-in-4-no-access")


def test_a_page_under_another_host_name_is_refused_and_local_mode_says_so(store_path: Path, tmp_path: Path) -> None:
    """DNS rebinding: a web page's own host name made to point at this machine. Chromium is told that
    rebind.test is 127.0.0.1, so it sends `Host: rebind.test:PORT` to the local dashboard."""
    port = free_port()
    with contextlib.ExitStack() as stack:
        app_url = start_dashboard(stack, tmp_path, port, store_path, None)
        browser = chromium_with(stack, "--host-resolver-rules=MAP rebind.test 127.0.0.1")
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(WAIT_MS)
        page.goto(app_url)
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        expect(page.get_by_text("Local mode: no sign-in")).to_be_visible()
        screenshot(page, "local-mode")

        page.goto(f"http://rebind.test:{port}/")
        expect(page.get_by_text("Refused: this dashboard does not answer to the host 'rebind.test'")).to_be_visible()
        expect(page.get_by_test_id("stMetric")).to_have_count(0)
        expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
        screenshot(page, "rebinding-refused")
