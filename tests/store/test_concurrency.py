"""Two people writing at the same moment, as the dashboard runs them: one DuckDB connection per process, each
session (here each thread) with its own cursor. Nothing is lost, no id is used twice, no raw database error
reaches anyone, and the audit trail stays one unbroken chain."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import duckdb
import pytest

from analytics.ingest.importer import import_batch
from analytics.metrics import clients
from analytics.planning import library, planner
from analytics.store import audit
from analytics.store.database import WriteConflict, open_store, transaction
from analytics.store.scope import Scope
from tests.conftest import fixture_files

ADA = Scope.signed_in(role="therapist", user="ada@example.test", therapist_id="T1")
ADMIN = Scope(None, user="boss@example.test")
ROUNDS = 5


@pytest.fixture
def shared(tmp_path):
    con = open_store(tmp_path / "shared.duckdb")
    report = import_batch(con, fixture_files(), scope=Scope.practice(), imported_by="fixture")
    assert report.accepted
    yield con
    con.close()


def at_once(con, *jobs):
    """Run each job(cursor) in its own thread with its own cursor, released together; returns (results, errors)."""
    barrier = threading.Barrier(len(jobs))
    results, errors = [None] * len(jobs), [None] * len(jobs)

    def run(i, job):
        cursor = con.cursor()
        try:
            barrier.wait()
            results[i] = job(cursor)
        except BaseException as exc:  # noqa: BLE001 - the test looks at what each one got
            errors[i] = exc
        finally:
            cursor.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


def plan(title: str):
    today = date.today()
    one = planner.PlanItem.from_template(
        {"assignment_type": "journaling", "title": title, "instructions": "Write it down.", "default_minutes": 10,
         "times_per_week": 2}, start=today, due=date.fromordinal(today.toordinal() + 7))
    return lambda cursor: planner.save_plan(cursor, scope=ADA, client_id="C1", items=[one, one], today=today)


def test_two_plans_saved_at_once_both_land_with_their_own_ids(shared) -> None:
    saved = []
    for round_number in range(ROUNDS):
        results, errors = at_once(shared, plan(f"A{round_number}"), plan(f"B{round_number}"))
        assert errors == [None, None]
        saved.extend(results)
    ids = [assignment_id for result in saved for assignment_id in result]
    assert len(ids) == 4 * ROUNDS == len(set(ids))
    stored = shared.execute("select count(*) from assignments where assignment_id like 'P%'").fetchone()[0]
    assert stored == 4 * ROUNDS
    assert shared.execute("select count(*) from assignment_details").fetchone()[0] == 4 * ROUNDS
    assert audit.verify(shared).ok
    assert shared.execute("select count(*) from audit_log where action = 'plan saved'").fetchone()[0] == 2 * ROUNDS


def test_two_feedback_saves_at_once_keep_both_texts(shared) -> None:
    for round_number in range(ROUNDS):
        now = datetime.now(UTC)
        results, errors = at_once(
            shared,
            lambda c, n=round_number, at=now: clients.save_feedback(c, scope=ADA, submission_id="S1", text=f"Ada {n}",
                                                                    at=at),
            lambda c, n=round_number, at=now: clients.save_feedback(c, scope=ADMIN, submission_id="S1",
                                                                    text=f"Boss {n}", at=at),
        )
        assert errors == [None, None]
        assert sorted(results) == [2 * round_number + 1, 2 * round_number + 2]
    texts = [t for (t,) in shared.execute("select text from feedback_versions where submission_id = 'S1'").fetchall()]
    assert sorted(texts) == sorted([f"Ada {n}" for n in range(ROUNDS)] + [f"Boss {n}" for n in range(ROUNDS)])
    latest = shared.execute("select text from feedback_versions where submission_id = 'S1' order by version desc "
                            "limit 1").fetchone()[0]
    assert shared.execute("select therapist_feedback from submissions where submission_id = 'S1'").fetchone()[0] == latest
    assert audit.verify(shared).ok


def test_two_saves_over_the_same_version_one_lands_and_the_other_is_told_to_try_again(shared) -> None:
    now = datetime.now(UTC)
    results, errors = at_once(
        shared,
        lambda c: clients.save_feedback(c, scope=ADA, submission_id="S2", text="Ada's", at=now, expected_version=0),
        lambda c: clients.save_feedback(c, scope=ADMIN, submission_id="S2", text="Boss's", at=now, expected_version=0),
    )
    assert sorted(r for r in results if r is not None) == [1]
    [error] = [e for e in errors if e is not None]
    assert isinstance(error, clients.FeedbackConflict) and "at the same time" in str(error)
    assert shared.execute("select count(*) from feedback_versions where submission_id = 'S2'").fetchone()[0] == 1


def test_an_import_beside_a_feedback_save_both_land(shared) -> None:
    new = (b"submission_id,assignment_id,submitted_at,completion\n"
           + "".join(f"N{i},A1,{date.today().isoformat()}T00:00:00Z,completed\n" for i in range(200)).encode())
    for round_number in range(3):
        files = [("submissions.csv", new.replace(b"N", f"R{round_number}N".encode()))]
        now = datetime.now(UTC)
        results, errors = at_once(
            shared,
            lambda c, files=files: import_batch(c, files, scope=ADMIN, imported_by="boss"),
            lambda c, n=round_number, at=now: clients.save_feedback(c, scope=ADA, submission_id="S3",
                                                                    text=f"Note {n}", at=at),
        )
        assert errors == [None, None]
        assert results[0].accepted
    assert shared.execute("select count(*) from submissions where submission_id like 'R%'").fetchone()[0] == 600
    assert shared.execute("select count(*) from feedback_versions where submission_id = 'S3'").fetchone()[0] == 3
    assert audit.verify(shared).ok


def test_two_templates_saved_at_once_get_different_ids(shared) -> None:
    def template(title):
        return lambda c: library.save_template(c, {"assignment_type": "journaling", "title": title,
                                                   "instructions": "Do it.", "default_minutes": 5,
                                                   "times_per_week": 1}, scope=ADA)

    ids = []
    for round_number in range(ROUNDS):
        results, errors = at_once(shared, template(f"One {round_number}"), template(f"Two {round_number}"))
        assert errors == [None, None]
        ids.extend(results)
    assert len(set(ids)) == 2 * ROUNDS
    authors = shared.execute("select distinct created_by from library_templates").fetchall()
    assert authors == [("ada@example.test",)]


def test_a_conflict_the_database_finds_is_a_clear_write_conflict_not_a_database_error(shared) -> None:
    # A transaction opened without transaction() (so not taking turns) holds a change to S1...
    other = shared.cursor()
    other.execute("begin transaction")
    other.execute("update submissions set minutes = 1 where submission_id = 'S1'")
    mine = shared.cursor()
    with pytest.raises(WriteConflict, match="someone changed this at the same time"):
        with transaction(mine):
            mine.execute("update submissions set minutes = 2 where submission_id = 'S1'")
    other.execute("commit")
    assert shared.execute("select minutes from submissions where submission_id = 'S1'").fetchone()[0] == 1
    with transaction(mine):  # the cursor is usable again
        mine.execute("update submissions set minutes = 3 where submission_id = 'S1'")
    assert shared.execute("select minutes from submissions where submission_id = 'S1'").fetchone()[0] == 3
    assert not issubclass(WriteConflict, duckdb.Error)
