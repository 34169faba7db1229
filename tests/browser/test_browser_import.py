"""Importing a flat export with other column names in a real browser: upload, the proposed mapping, the date
order, the preview, the import and its report. Chromium is required, never skipped (see tests/browser/test_browser.py).
Screenshots go to screenshots/ for a person to look at."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from benchmarks.browser import SharedChromium
from tests.browser.test_browser import (  # noqa: F401
    WAIT_MS,
    dashboard_url,
    expect_no_exception,
    screenshot,
    wait_until_idle,
)

pytestmark = pytest.mark.browser

EXPORT = (b"Patient ID;Clinician;Task;Kind;Set on;Deadline;Logged at;Result;Mood post\n"
          b"C1;T1;Evening walk;habit;01/03/2026;07/03/2026;02/03/2026 18:30;done;6\n"
          b"C1;T1;Evening walk;habit;01/03/2026;07/03/2026;04/03/2026 18:30;half;5\n")


def upload_on_the_data_page(browser: SharedChromium, url: str, name: str, data: bytes) -> Page:
    """A new page, on the Data page, with the CSV file `name` holding `data` in the uploader."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(WAIT_MS)  # expect()'s own wait is set by tests/browser/test_browser.py
    page.goto(url)
    page.get_by_test_id("stSidebarNav").get_by_text("Data", exact=True).click()
    expect(page.get_by_role("heading", name="Data")).to_be_visible()
    page.locator('input[type="file"]').set_input_files(files=[{"name": name, "mimeType": "text/csv", "buffer": data}])
    expect(page.get_by_text(f"File 1: {name}")).to_be_visible()
    return page


def test_upload_map_preview_and_import_a_flat_export(browser: SharedChromium, dashboard_url: str) -> None:  # noqa: F811
    page = upload_on_the_data_page(browser, dashboard_url, "export.csv", EXPORT)
    expect(page.get_by_role("combobox", name="This file is")).to_have_value(
        "flat export (a row per submission or assignment, with client and therapist columns)")
    proposed = ["client_id", "therapist_id", "title", "assignment_type", "assigned_on", "due_on", "submitted_at",
                "completion", "mood_after"]
    for column, field in enumerate(proposed, start=1):
        expect(page.get_by_role("combobox", name=f"Field for column {column}", exact=True)).to_have_value(field)
    expect(page.get_by_text("Patient ID", exact=True)).to_be_visible()
    expect_no_exception(page)

    page.get_by_text("day/month/year", exact=True).click()
    expect(page.get_by_text("Preview", exact=False).first).to_be_visible()
    # the preview's table name (st.text), not the "submissions" row of the store-contents table further down
    expect(page.get_by_test_id("stText").get_by_text("submissions", exact=True)).to_be_visible()
    page.wait_for_timeout(800)
    expect_no_exception(page)
    screenshot(page, "import-mapping-preview")

    page.get_by_role("button", name="Validate", exact=True).click()
    expect(page.get_by_text("Valid: nothing was written yet. Import to write these rows.")).to_be_visible()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Imported. Every page now includes these rows.")).to_be_visible()
    expect(page.get_by_text("File 1: export.csv")).to_have_count(0)  # a fresh uploader after the import
    expect_no_exception(page)
    page.wait_for_timeout(500)
    screenshot(page, "import-flat-after")
    page.close()


def test_validate_confirm_import_and_undo_in_the_browser(browser: SharedChromium, dashboard_url: str) -> None:  # noqa: F811
    # (the server holds the store while it runs: the store's rows are checked in tests/pages/test_pages_import_safely.py)
    from tests.pages.test_pages_import_safely import changed_submissions

    page = upload_on_the_data_page(browser, dashboard_url, "submissions.csv", changed_submissions())
    page.get_by_role("button", name="Validate", exact=True).click()
    expect(page.get_by_text("Valid, but 2 rows already stored would change")).to_be_visible()
    page.wait_for_timeout(500)
    screenshot(page, "import-validate-changes")
    page.get_by_text("Change the 2 rows already stored, as listed below").click()
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_text("Imported. Every page now includes these rows.")).to_be_visible()
    expect_no_exception(page)

    wait_until_idle(page)  # the run that shows "Imported" redraws the import log below it
    log = page.get_by_test_id("stDataFrame").last  # the import log: choose its first (newest) row
    log.scroll_into_view_if_needed()
    box = log.bounding_box()
    page.mouse.click(box["x"] + 15, box["y"] + 55)
    expect(page.get_by_role("button", name="Undo this import")).to_be_visible()
    page.get_by_role("button", name="Undo this import").click()
    expect(page.get_by_text("Undone: the store is as it was before batch")).to_be_visible()
    expect_no_exception(page)
    page.wait_for_timeout(500)
    expect(page.get_by_text("submissions: 1 removed, 2 restored")).to_be_visible()
    screenshot(page, "import-undone")
    page.close()
