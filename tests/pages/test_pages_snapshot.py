"""The frame runs each page on one read snapshot (dashboard.run_page, database.read_snapshot): an import that
another session commits while the page is being drawn shows in all of the page or in none of it."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

import dashboard
from analytics.ingest.importer import import_batch
from analytics.metrics import adherence
from analytics.store.scope import Scope

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard.py"
NEW_CLIENT = "client_id,therapist_id,label,intake_date,status\nC9,T1,Client Nine,2026-01-05,active\n"


def clients(cur) -> int:
    return cur.execute("select count(*) from clients").fetchone()[0]


def test_an_import_committed_while_the_overview_is_drawn_is_not_half_seen(store_path, monkeypatch) -> None:
    seen: list[tuple[int, int]] = []
    original = adherence.headline

    def headline_while_someone_imports(con, **kwargs):
        before = clients(con)
        if not seen:  # the first run: another session's import commits in the middle of this page's run
            other = dashboard.store().cursor()
            report = import_batch(other, [("clients.csv", NEW_CLIENT.encode())], scope=Scope.practice())
            assert report.accepted, report.to_text()
            assert clients(other) == 5
        seen.append((before, clients(con)))
        return original(con, **kwargs)

    monkeypatch.setattr(adherence, "headline", headline_while_someone_imports)
    at = AppTest.from_file(str(DASHBOARD), default_timeout=60).run()
    assert not at.exception
    assert seen == [(4, 4)]  # the rest of the run still reads the store as it was when the run began
    at.run()
    assert seen[-1] == (5, 5)  # the next run sees the import whole
