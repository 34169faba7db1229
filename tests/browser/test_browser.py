"""The real dashboard in a real browser: `streamlit run` on a fixture store, driven by Playwright in Chromium.

Chromium is required, never skipped: set HOMEWORK_CHROMIUM to its path when it is not /usr/bin/chromium.
Screenshots are saved to screenshots/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from benchmarks.browser import SharedChromium

pytestmark = pytest.mark.browser

PROJECT_DIR = Path(__file__).resolve().parents[2]
SCREENSHOTS = PROJECT_DIR / "screenshots"
STARTUP_SECONDS = 60
WAIT_MS = 20_000
expect.set_options(timeout=WAIT_MS)  # every expect() waits as long as the pages may (a loaded machine draws slowly)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    pytest.fail(f"streamlit did not answer at {url} within {STARTUP_SECONDS}s:\n{log.read_text(errors='replace')}")


@pytest.fixture
def dashboard_url(store_path: Path, tmp_path: Path) -> Iterator[str]:
    """`streamlit run dashboard.py -- --db <fixture store>` on a free port; stopped after the test."""
    port = free_port()
    log = tmp_path / "streamlit.log"
    env = {k: v for k, v in os.environ.items() if k != "HOMEWORK_DB"}  # the store must come from --db
    command = [
        sys.executable, "-m", "streamlit", "run", "dashboard.py",
        "--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType", "none",
        "--", "--db", str(store_path),
    ]
    with log.open("wb") as output:
        server = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            url = f"http://localhost:{port}"
            wait_until_healthy(url, server, log)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=15)


def metric_values(page: Page) -> dict[str, str]:
    labels = page.get_by_test_id("stMetricLabel").all_inner_texts()
    values = page.get_by_test_id("stMetricValue").all_inner_texts()
    return {label.strip(): value.strip() for label, value in zip(labels, values, strict=True)}


def expect_no_exception(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


IDLE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return app !== null && app.getAttribute('data-test-script-state') === 'notRunning'
    && document.querySelector('[data-stale="true"]') === null;
}"""


def wait_until_idle(page: Page) -> None:
    """Wait until Streamlit has finished the run and drawn all of it: elements found before may be replaced until then."""
    page.wait_for_function(IDLE)


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def test_overview_and_an_import_in_a_real_browser(browser: SharedChromium, dashboard_url: str) -> None:
    check_overview_and_import(browser.new_page(viewport={"width": 1400, "height": 900}), dashboard_url)


def check_overview_and_import(page: Page, dashboard_url: str) -> None:
    page.set_default_timeout(WAIT_MS)
    page.goto(dashboard_url)

    # The figures worked out by hand in tests/pages/test_pages.py (whole practice, last 28 days), after the counts
    # of who needs attention today (C1 and C3: feedback waiting, admin).
    expect_metric(page, "Completion rate", "56%")
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(1)
    assert metric_values(page) == {
        "Clinical risk": "0",
        "Engagement": "0",
        "Admin": "2",
        "Active clients": "3",
        "Assignments due": "4",
        "Completion rate": "56%",
        "On-time rate": "44%",
        "7-day submissions": "5",
    }
    expect(page.get_by_text("Whole practice · homework due", exact=False)).to_be_visible()
    expect_no_exception(page)
    page.wait_for_timeout(500)  # let the chart finish drawing before the picture
    screenshot(page, "overview")

    page.get_by_test_id("stSidebarNav").get_by_text("Data", exact=True).click()
    expect(page.get_by_role("heading", name="Data")).to_be_visible()
    page.locator('input[type="file"]').set_input_files(
        files=[{"name": "clients.csv", "mimeType": "text/csv",
                "buffer": b"client_id,therapist_id,label,status\nC5,T1,Client Five,active\n"}]
    )
    expect(page.get_by_text("clients.csv", exact=True).first).to_be_visible()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Imported. Every page now includes these rows.")).to_be_visible()
    expect(page.get_by_test_id("stDataFrame")).to_have_count(5)  # report, columns, contents, export and import logs
    expect_no_exception(page)
    screenshot(page, "data-after-import")

    page.get_by_test_id("stSidebarNav").get_by_text("Overview", exact=True).click()
    expect_metric(page, "Active clients", "4")
    expect_no_exception(page)
    page.close()


def expect_metric(page: Page, label: str, value: str) -> None:
    """Wait until the st.metric labelled `label` shows `value` (a rerun may still be drawing the page)."""
    metric = page.get_by_test_id("stMetric").filter(has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True))
    expect(metric.get_by_test_id("stMetricValue")).to_have_text(value)


def full_screenshot(page: Page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main block, so the window is made as tall as that block first."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height + 40)})
    page.wait_for_timeout(800)  # charts redraw at the new size
    screenshot(page, name)
    page.set_viewport_size(size)


def test_from_the_caseload_to_a_client_and_feedback_in_a_real_browser(browser: SharedChromium, dashboard_url: str) -> None:
    check_caseload_to_client_feedback(browser.new_page(viewport={"width": 1400, "height": 900}), dashboard_url)


def check_caseload_to_client_feedback(page: Page, dashboard_url: str) -> None:
    page.set_default_timeout(WAIT_MS)
    # A link to one client as the server's very first request (Streamlit then still reads pages/ the legacy way):
    # it goes through the frame and still opens that client.
    page.goto(f"{dashboard_url}/client?client=C3")
    expect(page.get_by_role("heading", name="Client", exact=True)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("stText").first).to_have_text("Client Three")
    page.wait_for_url("**/client?client=C3")
    expect_no_exception(page)
    page.goto(dashboard_url)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect_metric(page, "Completion rate", "56%")
    page.wait_for_timeout(500)
    full_screenshot(page, "walk-1-overview")

    # Needs attention today: each client is a link to /client?client=ID. Client Three's link opens her page, and the
    # address names her, so it can be copied.
    page.get_by_role("link", name="2. Client Three").click()
    expect(page.get_by_role("heading", name="Client", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stText").first).to_have_text("Client Three")
    page.wait_for_url("**/client?client=C3")
    expect(page.get_by_role("combobox", name="Client")).to_have_value("Client Three · Robin **Bold** Lee")
    expect(page.get_by_text("Admin · 2 submissions are waiting for feedback, the oldest for 9 days")).to_be_visible()
    expect_no_exception(page)
    full_screenshot(page, "walk-1b-client-from-a-link")
    # The address follows the picker.
    page.get_by_role("combobox", name="Client").click()
    page.get_by_role("option", name="Client Two · Ada Byron").click()
    expect(page.get_by_test_id("stText").first).to_have_text("Client Two")
    page.wait_for_url("**/client?client=C2")
    # A link to a client who does not exist reads "not found".
    page.goto(f"{dashboard_url}/client?client=C99")
    expect(page.get_by_text("Client not found: the link names no client in your caseload.")).to_be_visible()
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
    expect_no_exception(page)
    page.goto(dashboard_url)
    expect_metric(page, "Completion rate", "56%")

    # The Caseload page: figures and the needs-attention list of tests/pages/test_pages_client_caseload.py (base rows:
    # C1 has S1 waiting for feedback for 11 days, C3 has S5 and S6 waiting, the oldest for 9 days).
    page.get_by_test_id("stSidebarNav").get_by_text("Caseload", exact=True).click()
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    expect_metric(page, "Need attention", "2")
    expect_metric(page, "Completion", "56%")
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(3)
    expect_no_exception(page)
    page.wait_for_timeout(500)
    full_screenshot(page, "walk-2-caseload")

    # Choose the first row of the needs-attention list (Client One) by its selection box, left of the row.
    attention_list = page.get_by_test_id("stDataFrame").first
    expect(attention_list).to_be_visible()
    attention_list.scroll_into_view_if_needed()
    box = attention_list.bounding_box()
    assert box is not None
    header, row_height = 35, 66  # the list's rows are 66 px high (pages/caseload.py)
    page.mouse.click(box["x"] + 16, box["y"] + header + row_height / 2)

    expect(page.get_by_role("heading", name="Client", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stText").first).to_have_text("Client One")
    expect(page.get_by_role("combobox", name="Client")).to_have_value("Client One · Ada Byron")
    expect_metric(page, "Completion rate", "50%")
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(2)  # weekly completion; questionnaire scores
    expect_no_exception(page)
    page.wait_for_timeout(500)
    full_screenshot(page, "walk-3-client")

    # Feedback beside the list, on the newest submission waiting for it (S8, chosen by default), saved and shown at once.
    feedback = "Well done on the breathing space **every** day."
    page.get_by_label("Your feedback").fill(feedback)
    page.get_by_role("button", name="Save feedback").click()
    expect(page.get_by_text("Feedback saved. It shows in the list and counts on every page.")).to_be_visible()
    expect(page.get_by_label("Your feedback")).to_have_value(feedback)  # as typed, still beside the same submission
    expect_metric(page, "Feedback given", "25%")  # S8 of S1, S2, S3, S8
    expect_no_exception(page)
    full_screenshot(page, "walk-4-feedback-saved")
    page.close()


def test_a_plan_built_and_saved_in_the_planner_shows_on_the_client_page_in_a_real_browser(
    browser: SharedChromium, dashboard_url: str
) -> None:
    check_plan_to_client(browser.new_page(viewport={"width": 1400, "height": 900}), dashboard_url)


def check_plan_to_client(page: Page, dashboard_url: str) -> None:
    page.set_default_timeout(WAIT_MS)
    page.goto(dashboard_url)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()

    # Effectiveness on the base rows: no moods, so no type chart and no questionnaire chart, only the client profile.
    page.get_by_test_id("stSidebarNav").get_by_text("Effectiveness", exact=True).click()
    expect(page.get_by_role("heading", name="Effectiveness")).to_be_visible()
    expect(page.get_by_test_id("stPlotlyChart")).to_have_count(1)
    expect(page.get_by_text("No type has both homework due and 5 or more mood ratings in this period")).to_be_visible()
    types = page.get_by_test_id("stDataFrame").first
    expect(types.locator("td", has_text="Art & creative expression")).to_have_count(1)
    expect(types.locator("td", has_text="not enough data (n = 0)").first).to_be_attached()
    expect_no_exception(page)
    full_screenshot(page, "plan-1-effectiveness")

    # The Planner for Client One (the first client in the list, Client Four, is discharged).
    page.get_by_test_id("stSidebarNav").get_by_text("Planner", exact=True).click()
    expect(page.get_by_role("heading", name="Planner")).to_be_visible()
    page.get_by_role("combobox", name="Client").click()
    page.get_by_role("option", name="Client One · Ada Byron").click()
    expect(page.get_by_test_id("stText").first).to_have_text("Client One")
    # Client One has no creative homework and the caseload did all of its creative homework, so the creative
    # templates lead, in library order: the first is Collage of goals (once a week, 45 minutes).
    expect(page.get_by_test_id("stText").filter(has_text="1. Collage of goals")).to_have_count(1)
    page.get_by_role("button", name="Add to the plan").first.click()
    expect_metric(page, "Plan: times", "1 time")
    expect_metric(page, "Plan: minutes", "45 min")
    expect(page.get_by_test_id("stDataFrame").locator("td", has_text="Collage of goals")).to_have_count(1)
    expect_no_exception(page)
    full_screenshot(page, "plan-2-built")

    page.get_by_role("button", name="Save the plan").click()
    week = date.today() + timedelta(days=7)
    expect(page.get_by_text(f"Saved 1 assignment: “Collage of goals” due {week.day} {week:%b %Y}. They count on the "
                            "Client and Caseload pages now.")).to_be_visible()
    expect(page.get_by_role("button", name="Calendar file (.ics)")).to_have_count(2)  # the plan saved, and all current
    expect(page.get_by_role("button", name="Printable handout (HTML)")).to_have_count(2)
    expect_no_exception(page)
    full_screenshot(page, "plan-3-saved")

    # The Client page (same client, kept across pages) lists it under Current homework at once.
    page.get_by_test_id("stSidebarNav").get_by_text("Client", exact=True).click()
    expect(page.get_by_role("heading", name="Current homework")).to_be_visible()
    expect(page.get_by_role("combobox", name="Client")).to_have_value("Client One · Ada Byron")
    current = page.get_by_test_id("stDataFrame").filter(has=page.locator("td", has_text="Collage of goals"))
    expect(current).to_have_count(1)
    expect(current.locator("td", has_text=f"{date.today() + timedelta(days=7):%Y-%m-%d}")).to_have_count(1)
    expect_no_exception(page)
    full_screenshot(page, "plan-4-client")
    page.close()
