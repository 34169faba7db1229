"""A submission later than the import (beyond the clock-skew allowance) is refused (analytics/ingest/checks.py),
and imports are in the audit trail with their files' sha256 and counts."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from analytics.ingest.checks import FUTURE_SKEW_MINUTES
from analytics.ingest.importer import import_batch
from analytics.store.database import open_store
from analytics.store.scope import Scope

BASE = [("therapists.csv", b"therapist_id,name\nT1,Ada\n"), ("clients.csv", b"client_id,therapist_id\nC1,T1\n"),
        ("assignments.csv", b"assignment_id,client_id,assignment_type,title,assigned_on,due_on\n"
                            b"A1,C1,journaling,Diary,2026-01-01,2026-01-08\n")]
WHO = Scope(None, user="boss@example.test")


def submissions(*moments: datetime) -> tuple[str, bytes]:
    lines = "".join(f"S{i},A1,{m.strftime('%Y-%m-%dT%H:%M:%SZ')},completed\n" for i, m in enumerate(moments))
    return "submissions.csv", ("submission_id,assignment_id,submitted_at,completion\n" + lines).encode()


def test_a_submission_after_the_import_time_is_refused_within_the_skew_it_is_taken() -> None:
    now = datetime.now(UTC)
    con = open_store(":memory:")
    skewed = now + timedelta(minutes=FUTURE_SKEW_MINUTES - 2)  # a clock a little ahead: taken
    report = import_batch(con, [*BASE, submissions(now - timedelta(days=1), skewed)], scope=WHO)
    assert report.accepted, report.to_text()
    late = now + timedelta(minutes=FUTURE_SKEW_MINUTES + 5)
    refused = import_batch(con, [submissions(now - timedelta(hours=1), late)], scope=WHO)
    assert not refused.accepted
    [problem] = [p for p in refused.problems if p.column == "submitted_at"]  # (and row 2 would change S1: a decision)
    assert (problem.line, problem.column) == (3, "submitted_at")
    assert problem.reason.startswith("submitted_at is later than the time of this import")
    assert con.execute("select count(*) from submissions").fetchone()[0] == 2  # the store is as it was


def test_imports_and_refusals_are_in_the_audit_trail_with_sha256_and_counts() -> None:
    con = open_store(":memory:")
    report = import_batch(con, BASE, scope=WHO, imported_by="boss")
    assert report.accepted
    refused = import_batch(con, [("clients.csv", b"client_id,therapist_id\nC2,T9\n")], scope=WHO)
    assert not refused.accepted
    import_batch(con, BASE, scope=WHO, dry_run=True)  # a dry run writes nothing, not even a row here
    rows = con.execute("select action, user_email, object_type, object_id, outcome, detail from audit_log "
                       "order by seq").fetchall()
    assert [(r[0], r[1], r[2], r[4]) for r in rows] == [("import", "boss@example.test", "batch", "ok"),
                                                          ("import", "boss@example.test", "batch", "failed")]
    assert rows[0][3] == report.batch_id and rows[1][3] == ""
    sha = hashlib.sha256(BASE[1][1]).hexdigest()
    assert f"clients sha256 {sha} read 1 added 1 changed 0 rejected 0" in rows[0][5]
    assert rows[1][5].startswith("1 file(s): clients sha256") and "rejected 1" in rows[1][5]


def test_a_practice_manager_cannot_import() -> None:
    import pytest

    from analytics.store.scope import ScopeError

    con = open_store(":memory:")
    with pytest.raises(ScopeError, match="cannot import files"):
        import_batch(con, BASE, scope=Scope.signed_in(role="practice_manager", user="pm@example.test"))
    assert con.execute("select count(*) from therapists").fetchone()[0] == 0
