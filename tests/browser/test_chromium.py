"""benchmarks/browser.py, the one Chromium launch of the browser tests and the load test: no Chromium is a failure
(an AssertionError saying how to install it), never a skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import browser, load


def test_a_missing_chromium_fails_with_a_message_naming_the_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "no-chromium-here"
    monkeypatch.setenv("HOMEWORK_CHROMIUM", str(missing))
    with pytest.raises(AssertionError) as caught:
        browser.launch_options()
    assert isinstance(caught.value, browser.ChromiumNotFound)
    assert str(caught.value).startswith(f"Chromium not found at {missing}: install it (apt-get install chromium)")
    assert "never skipped" in str(caught.value)
    # The load test refuses before it copies the store or starts a server.
    with pytest.raises(browser.ChromiumNotFound, match="The load test"):
        load.run(tmp_path / "no-store.duckdb", sessions=1)


def test_the_launch_options_name_the_executable_and_the_arguments(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    present = tmp_path / "chromium"
    present.write_text("")
    monkeypatch.setenv("HOMEWORK_CHROMIUM", str(present))
    options = browser.launch_options("--host-resolver-rules=MAP rebind.test 127.0.0.1")
    assert options["executable_path"] == str(present)
    assert options["headless"] is True
    assert options["args"][:2] == ["--no-sandbox", "--disable-gpu"]
    assert options["args"][-1] == "--host-resolver-rules=MAP rebind.test 127.0.0.1"
    monkeypatch.delenv("HOMEWORK_CHROMIUM")
    assert browser.executable() == "/usr/bin/chromium"
