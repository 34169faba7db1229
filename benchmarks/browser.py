"""How the project launches Chromium through Playwright: its path, its arguments and the "not found" message, once.

Used by the load test (benchmarks/load.py) and the browser tests (tests/browser/); the tests import it from here
because benchmarks may never import tests. Chromium is required wherever it is used, never skipped: when it is
missing, launch_options() raises ChromiumNotFound (an AssertionError, so pytest reports a failure) saying where it
looked and how to install it. HOMEWORK_CHROMIUM names it when it is not /usr/bin/chromium; it is read at each call.

    with sync_playwright() as playwright:            # or: await playwright.chromium.launch(**...) with async_api
        browser = playwright.chromium.launch(**launch_options())
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_PATH = "/usr/bin/chromium"
PATH_VARIABLE = "HOMEWORK_CHROMIUM"
ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run")


class ChromiumNotFound(AssertionError):
    """Chromium is not at the path given (or the default one); the message says how to install it."""


def executable() -> str:
    """The path of the Chromium executable: $HOMEWORK_CHROMIUM, else /usr/bin/chromium."""
    return os.environ.get(PATH_VARIABLE) or DEFAULT_PATH


def not_found_message(path: str, needed_by: str = "The browser tests") -> str:
    return (f"Chromium not found at {path}: install it (apt-get install chromium) or set {PATH_VARIABLE} to its "
            f"path. {needed_by} need a real browser: required, never skipped.")


def launch_options(*extra_args: str, needed_by: str = "The browser tests") -> dict[str, object]:
    """Keyword arguments for Playwright's chromium.launch (sync or async); raises ChromiumNotFound when it is missing."""
    path = executable()
    if not Path(path).is_file():
        raise ChromiumNotFound(not_found_message(path, needed_by))
    return {"executable_path": path, "args": [*ARGS, *extra_args], "headless": True}


class SharedChromium:
    """One Chromium (sync Playwright) for several tests: launched at the first new_page(), so that a missing Chromium
    fails the test that asked for it, then reused; each page gets a context of its own (no cookie or storage is
    shared between pages). close() ends it."""

    def __init__(self, *extra_args: str) -> None:
        self._extra_args = extra_args
        self._playwright = None
        self._browser = None

    def new_page(self, **options):
        if self._browser is None:
            launch = launch_options(*self._extra_args)
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(**launch)
        return self._browser.new_page(**options)

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()
        self._browser = self._playwright = None
