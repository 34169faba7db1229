"""Repeated keys are rejected with the line of their first occurrence, for one-column keys and for the measures'
three-column key (compared as stored: "PHQ-9" and "phq9" on one day are one measure)."""

from __future__ import annotations

from analytics.ingest.importer import import_batch
from analytics.store.database import open_store
from analytics.store.scope import Scope


def store():
    con = open_store(":memory:")
    con.execute("insert into therapists values ('T1', 'Ada Moss', null)")
    con.execute("insert into clients (client_id, therapist_id, label) values ('C1', 'T1', 'Robin'), "
                "('C2', 'T1', 'Sam')")
    return con


def test_a_measure_repeated_on_the_same_day_is_rejected_naming_the_first_line():
    con = store()
    data = (b"client_id,measure,score,administered_on\n"  # 1
            b"C1,PHQ-9,5,2026-03-01\n"  # 2
            b"C1,GAD-7,5,2026-03-01\n"  # 3: another measure
            b"C1,phq9,6,2026-03-01\n"  # 4: the same as line 2
            b"C2,PHQ-9,5,2026-03-01\n"  # 5: another client
            b"C1,PHQ-9,7,2026-03-02\n"  # 6: another day
            b"C1,PHQ 9,8,2026-03-01\n")  # 7: the same as line 2 again
    report = import_batch(con, [("measures.csv", data)], scope=Scope.practice(), skip_invalid=True)
    assert [(p.line, p.reason) for p in report.errors] == [
        (4, "the same client_id/measure/administered_on as line 2"),
        (7, "the same client_id/measure/administered_on as line 2")]
    assert con.execute("select count(*) from measures").fetchone()[0] == 4


def test_a_repeated_client_id_is_rejected_and_the_rest_kept():
    con = store()
    data = b"client_id,therapist_id,label\nC3,T1,a\nC4,T1,b\nC3,T1,c\nC3,T1,d\n"
    report = import_batch(con, [("clients.csv", data)], scope=Scope.practice(), skip_invalid=True)
    assert [(p.line, p.reason) for p in report.errors] == [
        (4, "the same client_id as line 2"), (5, "the same client_id as line 2")]
    assert con.execute("select label from clients where client_id = 'C3'").fetchone() == ("a",)
