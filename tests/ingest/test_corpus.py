"""The corpus of malformed, hostile and real-world-shaped files (tests/ingest/corpus/, written by
tests/ingest/corpus_files.py): each file
imports as stated there, or is refused with the stated message at the stated line and column, and a
refused file leaves every table of the store exactly as it was."""

from __future__ import annotations

import pytest

from analytics.ingest.importer import import_batch, import_log
from analytics.ingest.report import ImportReport
from analytics.store.database import CANONICAL_TABLES, open_store
from analytics.store.scope import Scope
from tests.ingest.corpus_files import CASES, CORPUS_DIR, Case, write_corpus

SNAPSHOT_TABLES = (*CANONICAL_TABLES, "import_log", "settings", "schema_meta", "saved_mappings")


def snapshot(con) -> dict[str, list[tuple]]:
    return {t: sorted(con.execute(f"select * from {t}").fetchall(), key=repr) for t in SNAPSHOT_TABLES}


def base_store():
    """Therapist T1, client C1 (Robin), assignment A1: what every case may refer to."""
    con = open_store(":memory:")
    con.execute("insert into therapists values ('T1', 'Ada Moss', null)")
    con.execute("insert into clients (client_id, therapist_id, label) values ('C1', 'T1', 'Robin')")
    con.execute("insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on) "
                "values ('A1', 'C1', 'journaling', 'Mood diary', date '2026-03-02', date '2026-03-08')")
    return con


def test_the_corpus_has_at_least_30_files_and_they_are_the_generated_ones() -> None:
    assert len(CASES) >= 30
    assert len({c.file for c in CASES}) == len(CASES)
    if not CORPUS_DIR.is_dir() or any(not (CORPUS_DIR / c.file).is_file() for c in CASES):
        write_corpus()
    for case in CASES:
        on_disk = (CORPUS_DIR / case.file).read_bytes()
        if not case.file.endswith(".xlsx") and case.data[:2] != b"PK":  # workbooks carry the time they were saved
            assert on_disk == case.data, f"{case.file} differs from tests/ingest/corpus_files.py: run it to rewrite the corpus"


def matching(report: ImportReport, case: Case) -> list:
    severities = ("error",) if case.outcome == "refused" else ("warning", "note")
    return [p for p in report.problems if p.severity in severities and case.message in p.reason
            and (case.line is None or p.line == case.line) and (case.column is None or p.column == case.column)]


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_each_corpus_file_has_its_stated_outcome(case: Case) -> None:
    con = base_store()
    before = snapshot(con)
    data = (CORPUS_DIR / case.file).read_bytes() if (CORPUS_DIR / case.file).is_file() else case.data
    if case.file.endswith(".xlsx") or data[:2] == b"PK":
        data = case.data
    report = import_batch(con, [(case.upload_name or case.file, data)], scope=Scope.practice(),
                          imported_by="corpus", mapping=case.mapping, max_bytes=case.max_bytes, existing=case.existing)
    text = report.to_text(max_problems=100)
    if case.counts:
        assert {f.table: (f.rows_read, f.inserted, f.updated, f.unchanged, f.kept, f.rejected)
                for f in report.files} == case.counts, text
    if case.message:
        assert matching(report, case), text
    if case.outcome == "refused":
        assert not report.accepted, text
        assert snapshot(con) == before  # byte for byte in content: nothing half-written
        assert all(p.file for p in report.errors)  # every message names the file
    else:
        assert report.accepted, text
        assert report.errors == [], text
        for table, rows in case.inserted.items():
            assert sum(f.inserted for f in report.files if f.table == table) == rows, text
        log = import_log(con)
        assert len(log) == 1
        assert '"sha256"' in log.iloc[0]["files"]
        if case.upload_name:
            assert report.files[0].file == case.upload_name.replace("\\", "/").rsplit("/", 1)[-1]
    if case.stored:
        sql, rows = case.stored
        assert con.execute(sql).fetchall() == rows, text
    con.close()
