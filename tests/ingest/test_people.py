"""People are matched, not duplicated: a therapist named in a flat or MindLogger export is found in the store by id,
then email, then exact name (case and spacing ignored); a client by id, then name; a name that fits several is a
question, never a guess; a MindLogger export can bring its own new therapist."""

from __future__ import annotations

import pytest

from analytics.cli import main
from analytics.ingest.importer import import_batch
from analytics.ingest.mapping import FLAT, Mapping
from analytics.ingest.people import NEW
from analytics.store.database import open_store
from analytics.store.scope import Scope
from tests.ingest.test_real_exports import OLD_COLUMNS, OLD_ROWS, plain

PRACTICE = Scope.practice()


@pytest.fixture
def con():
    connection = open_store(":memory:")
    connection.execute("insert into therapists values ('T3', 'Farah Dubois', 'farah@example.org'), "
                       "('T4', 'Sam Lee', 'sam.lee@example.org'), ('T5', 'Sam Lee', null)")
    connection.execute("insert into clients (client_id, therapist_id, label) values ('C1', 'T3', 'Robin Ash')")
    yield connection
    connection.close()


def flat(header: str, *rows: str) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def run(con, data: bytes, mapping: Mapping = FLAT, **kwargs):
    return import_batch(con, [("export.csv", data)], scope=PRACTICE, mapping=mapping, **kwargs)


def therapists(con) -> list[tuple]:
    return con.execute("select therapist_id, name, email from therapists order by 1").fetchall()


def matched(report) -> list[tuple]:
    return [(m.kind, m.written, m.by, m.matched) for m in report.matches]


def test_a_therapist_named_as_stored_is_matched_by_name_not_added_again(con):
    data = flat("Client ID,Therapist name,Homework,Assigned,Due date",
                "C7,Farah Dubois,Walk,2026-03-01,2026-03-07",  # line 2
                "C8,  farah   DUBOIS ,Diary,2026-03-01,2026-03-07")  # line 3: case and spacing ignored
    before = therapists(con)
    report = run(con, data)
    assert report.accepted, report.to_text()
    assert therapists(con) == before  # no second "Farah Dubois (T-...)"
    assert con.execute("select client_id, therapist_id from clients where client_id in ('C7', 'C8') order by 1"
                       ).fetchall() == [("C7", "T3"), ("C8", "T3")]
    assert ("therapist", "Farah Dubois", "name", "T3") in matched(report)
    assert "therapist Farah Dubois: T3 (matched by name)" in report.to_text()


def test_the_id_comes_first_then_the_email_then_the_name(con):
    data = flat("Client ID,Therapist ID,Therapist name,Therapist email,Homework,Assigned,Due date",
                "C7,T4,Farah Dubois,,Walk,2026-03-01,2026-03-07",  # id T4 is stored: T4, whatever the name
                "C8,EHR-9,Farah Dubois,SAM.LEE@example.org,Walk,2026-03-01,2026-03-07",  # email before name: T4
                "C9,EHR-10,Farah Dubois,,Walk,2026-03-01,2026-03-07")  # an unknown id: the name, T3
    report = run(con, data, existing="update")
    assert report.accepted, report.to_text()
    assert con.execute("select client_id, therapist_id from clients where client_id <> 'C1' order by 1").fetchall() == [
        ("C7", "T4"), ("C8", "T4"), ("C9", "T3")]
    assert sorted(m.by for m in report.matches if m.kind == "therapist") == ["email", "id", "name"]
    assert [r[0] for r in therapists(con)] == ["T3", "T4", "T5"]


def test_an_ambiguous_name_is_a_question_and_nothing_is_written(con):
    data = flat("Client ID,Therapist name,Homework,Assigned,Due date", "C7,Sam Lee,Walk,2026-03-01,2026-03-07")
    before = con.execute("select count(*) from clients").fetchone()
    report = run(con, data)
    assert not report.accepted
    assert con.execute("select count(*) from clients").fetchone() == before
    (question,) = report.questions
    assert (question.written, question.candidates) == ("Sam Lee", ("T4", "T5"))
    (error,) = report.errors
    assert error.line == 2 and error.reason.startswith("the therapist “Sam Lee” fits 2 therapists in the store "
                                                       "(T4, T5): say which one")


def test_the_analysts_answer_settles_the_question(con):
    data = flat("Client ID,Therapist name,Homework,Assigned,Due date", "C7,Sam Lee,Walk,2026-03-01,2026-03-07")
    chosen = Mapping("flat", matches=(("therapist", (("Sam Lee", "T5"),)),))
    report = run(con, data, chosen)
    assert report.accepted, report.to_text()
    assert con.execute("select therapist_id from clients where client_id = 'C7'").fetchone() == ("T5",)
    assert ("therapist", "Sam Lee", "answer", "T5") in matched(report)

    also_new = Mapping("flat", matches=(("therapist", (("Sam Lee", NEW),)),))
    report = run(con, flat("Client ID,Therapist name,Homework,Assigned,Due date",
                           "C8,Sam Lee,Walk,2026-03-01,2026-03-07"), also_new)
    assert report.accepted
    new_id = con.execute("select therapist_id from clients where client_id = 'C8'").fetchone()[0]
    assert new_id.startswith("T-") and con.execute("select name from therapists where therapist_id = ?",
                                                   [new_id]).fetchone() == ("Sam Lee",)


def test_a_client_is_matched_by_name_when_the_export_has_another_id(con):
    data = flat("Client ID,Client name,Therapist ID,Homework,Assigned,Due date",
                "EHR-77, robin ash,T3,Walk,2026-03-01,2026-03-07")
    report = run(con, data)
    assert report.accepted, report.to_text()
    assert con.execute("select count(*) from clients").fetchone() == (1,)
    assert con.execute("select client_id from assignments").fetchall() == [("C1",)]
    assert ("client", "robin ash", "name", "C1") in matched(report)
    assert con.execute("select label from clients").fetchone() == ("Robin Ash",)  # the stored row is left as it is


def test_the_matches_are_in_the_dry_run_before_anything_is_written(con):
    data = flat("Client ID,Therapist name,Homework,Assigned,Due date", "C7,Farah Dubois,Walk,2026-03-01,2026-03-07",
                "C8,Nia Obi,Walk,2026-03-01,2026-03-07")
    report = run(con, data, dry_run=True)
    assert not report.accepted and report.errors == []
    assert sorted(m for m in matched(report) if m[0] == "therapist") == [
        ("therapist", "Farah Dubois", "name", "T3"), ("therapist", "Nia Obi", "new", "T-" + _sha("nia obi"))]
    assert report.matches_frame()["by"].tolist().count("new") == 3  # Nia Obi, and the clients C7 and C8


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:12]


def test_an_empty_store_takes_a_mindlogger_export_with_a_new_therapist_named_in_the_import():
    con = open_store(":memory:")
    mapping = Mapping("mindlogger", new_therapist_name="Nia Obi", mood_item="mood_after")
    report = import_batch(con, [("report.csv", plain(OLD_COLUMNS, OLD_ROWS))], scope=PRACTICE, mapping=mapping)
    assert report.accepted, report.to_text()
    assert therapists(con) == [("T-" + _sha("nia obi"), "Nia Obi", None)]
    assert con.execute("select client_id, therapist_id from clients").fetchall() == [("P-01", "T-" + _sha("nia obi"))]
    assert {f.table: f.inserted for f in report.files} == {"therapists": 1, "clients": 1, "assignments": 1,
                                                          "submissions": 2}
    # the next export with the same name finds that therapist: nothing is added twice
    second = [{**r, "secret_user_id": "P-02", "id": r["id"] + "b"} for r in OLD_ROWS]
    again = import_batch(con, [("report.csv", plain(OLD_COLUMNS, second))], scope=PRACTICE,
                         mapping=Mapping("mindlogger", new_therapist_name="nia obi"))
    assert again.accepted, again.to_text()
    assert len(therapists(con)) == 1
    assert ("therapist", "nia obi", "name", "T-" + _sha("nia obi")) in matched(again)


def test_a_mindlogger_respondent_is_matched_to_the_client_of_that_name(con):
    rows = [{**r, "secret_user_id": "Robin Ash"} for r in OLD_ROWS]
    report = import_batch(con, [("report.csv", plain(OLD_COLUMNS, rows))], scope=PRACTICE,
                          mapping=Mapping("mindlogger", mood_item="mood_after"))
    assert report.accepted, report.to_text()
    assert con.execute("select distinct client_id from assignments").fetchall() == [("C1",)]
    assert ("client", "Robin Ash", "name", "C1") in matched(report)


def test_a_new_therapist_name_that_fits_two_stored_ones_is_a_question(con):
    report = import_batch(con, [("report.csv", plain(OLD_COLUMNS, OLD_ROWS))], scope=PRACTICE,
                          mapping=Mapping("mindlogger", new_therapist_name="Sam Lee"))
    assert not report.accepted
    assert [q.candidates for q in report.questions] == [("T4", "T5")]


def test_a_mapping_keeps_the_new_therapist_and_the_answers():
    mapping = Mapping("mindlogger", new_therapist_name="Nia Obi", matches=(("therapist", (("Sam Lee", "T5"),)),))
    again = Mapping.from_json(mapping.to_json())
    assert again == mapping and again.answers("therapist") == {"Sam Lee": "T5"}


def test_the_command_line_names_a_new_therapist_and_answers_a_question(tmp_path, capsys):
    db = tmp_path / "store.duckdb"
    report = tmp_path / "report.csv"
    report.write_bytes(plain(OLD_COLUMNS, OLD_ROWS))
    assert main(["import", "--db", str(db), "--format", "mindlogger", "--new-therapist-name", "Nia Obi",
                 "--mood-item", "mood_after", "--mood-before-item", "mood_before", str(report)]) == 0
    assert "therapist Nia Obi: new, added as T-" in capsys.readouterr().out
    con = open_store(db)
    assert con.execute("select mood_before, mood_after from submissions order by submission_id").fetchall() == [
        (4, 7), (3, 8)]
    con.close()

    con = open_store(db)
    con.execute("insert into therapists values ('T4', 'Sam Lee', null), ('T5', 'Sam Lee', null)")
    con.close()
    export = tmp_path / "export.csv"
    export.write_bytes(flat("Client ID,Therapist name,Homework,Assigned,Due date", "C7,Sam Lee,Walk,2026-03-01,2026-03-07"))
    assert main(["import", "--db", str(db), "--format", "flat", str(export)]) == 1
    assert "--match \"Sam Lee=ID\"" in capsys.readouterr().out
    assert main(["import", "--db", str(db), "--format", "flat", "--match", "therapist:Sam Lee=T5", str(export)]) == 0
    con = open_store(db)
    assert con.execute("select therapist_id from clients where client_id = 'C7'").fetchone() == ("T5",)
    con.close()
