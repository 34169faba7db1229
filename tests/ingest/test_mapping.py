"""Column mappings (analytics/ingest/mapping.py): recognising a file, synonyms, value maps, date order, decimal
commas, JSON round trip, saved mappings, and the command line's --format / --mapping / --date-order."""

from __future__ import annotations

import json
from datetime import date

import pytest

from analytics.cli import main
from analytics.ingest.importer import import_batch, inspect_file
from analytics.ingest.mapping import CANONICAL, FLAT, Mapping, MappingError
from analytics.ingest.raw import ReadOptions
from analytics.ingest.recognition import propose, recognise
from analytics.ingest.saved_mappings import load_mapping, mappings, save_mapping
from analytics.ingest.sources import read_source
from analytics.store.database import open_store
from analytics.store.scope import Scope

PRACTICE = Scope.practice()


@pytest.fixture
def con():
    connection = open_store(":memory:")
    connection.execute("insert into therapists values ('T1', 'Ada Moss', null)")
    connection.execute("insert into clients (client_id, therapist_id, label) values ('C1', 'T1', 'Robin')")
    connection.execute("insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on) "
                       "values ('A1', 'C1', 'journaling', 'Mood diary', date '2026-03-02', date '2026-03-08')")
    yield connection
    connection.close()


def raw_of(con, text: str, name: str = "export.csv"):
    from analytics.ingest.recognition import header_score

    return read_source(con, name, text.encode(), slot=0, options=ReadOptions(header_score=header_score))


@pytest.mark.parametrize(("header", "table"), [
    ("Patient ID,Clinician,Client name,Status", "clients"),
    ("Homework ID,participant,Homework type,Task,Date assigned,Due date", "assignments"),
    ("Entry ID,Homework ID,Timestamp,Outcome,Mood pre,Mood post", "submissions"),
    ("patient_id,questionnaire,total score,date administered", "measures"),
    ("Therapist ID,Therapist name,E-mail", "therapists"),
    ("Client ID,Therapist,Homework,Due date,Submitted,Done", "flat"),
    ("secret_user_id,activity_id,activity_name,item,response,activity_end_time", "mindlogger"),
    ("name,shoe_size", None),
])
def test_the_table_is_recognised_from_the_headers_with_synonyms(con, header, table):
    assert recognise(raw_of(con, header + "\n")) == table


def test_the_file_name_wins_when_it_names_a_table(con):
    assert recognise(raw_of(con, "a,b\n", name="Clients.CSV")) == "clients"


def test_the_proposal_maps_synonyms_case_spaces_and_punctuation_ignored(con):
    raw = raw_of(con, "  PATIENT-ID ,due date,Mood (pre),mood_post,Title,assigned,Homework Type\n")
    assert propose(con, raw, target="flat").column_map == {
        "PATIENT-ID": "client_id", "due date": "due_on", "Mood (pre)": "mood_before", "mood_post": "mood_after",
        "Title": "title", "assigned": "assigned_on", "Homework Type": "assignment_type"}


def test_value_maps_are_proposed_for_the_words_in_the_file(con):
    raw = raw_of(con, "Entry ID,Homework ID,Timestamp,Outcome\nE1,A1,2026-03-03T10:00,done\nE2,A1,2026-03-04T10:00,Y\n"
                      "E3,A1,2026-03-05T10:00,half\nE4,A1,2026-03-06T10:00,1\nE5,A1,2026-03-07T10:00,nope\n")
    proposal = propose(con, raw)
    assert proposal.target == "submissions"
    assert proposal.value_map("completion") == {"done": "completed", "Y": "completed", "half": "partial",
                                                "1": "completed"}  # "nope": no good guess, left to the analyst


def test_value_maps_turn_the_practices_words_into_ours(con):
    data = (b"Entry ID,Homework ID,Timestamp,Outcome\nE1,A1,2026-03-03T10:00,done\nE2,A1,2026-03-04T10:00,half\n"
            b"E3,A1,2026-03-05T10:00,nope\n")
    refused = import_batch(con, [("log.csv", data)], scope=PRACTICE, mapping=CANONICAL)
    assert [(p.line, p.column) for p in refused.errors] == [(4, "Outcome (completion)")]
    mapping = Mapping("submissions", columns=(("Entry ID", "submission_id"), ("Homework ID", "assignment_id"),
                                              ("Timestamp", "submitted_at"), ("Outcome", "completion")),
                      values=(("completion", (("done", "completed"), ("HALF", "partial"), ("nope", "skipped"))),))
    report = import_batch(con, [("log.csv", data)], scope=PRACTICE, mapping=mapping)
    assert report.accepted, report.to_text()
    assert con.execute("select submission_id, completion from submissions order by 1").fetchall() == [
        ("E1", "completed"), ("E2", "partial"), ("E3", "skipped")]


def test_type_names_map_onto_our_types(con):
    data = b"assignment_id,client_id,assignment_type,title,assigned_on,due_on\nA9,C1,CBT worksheet,X,2026-03-01,2026-03-02\n"
    mapping = Mapping("assignments", columns=tuple((c, c) for c in ("assignment_id", "client_id", "assignment_type",
                                                                     "title", "assigned_on", "due_on")),
                      values=(("assignment_type", (("CBT worksheet", "journaling"),)),))
    assert import_batch(con, [("a.csv", data)], scope=PRACTICE, mapping=mapping).accepted
    assert con.execute("select assignment_type from assignments where assignment_id = 'A9'").fetchone() == ("journaling",)


@pytest.mark.parametrize(("order", "written", "stored"), [
    ("dmy", "03/04/2026", date(2026, 4, 3)), ("mdy", "03/04/2026", date(2026, 3, 4)),
    ("dmy", "3.4.2026", date(2026, 4, 3)), ("dmy", "2026-04-03", date(2026, 4, 3)),
])
def test_dates_read_in_the_order_the_analyst_chose(con, order, written, stored):
    data = f"assignment_id,client_id,assignment_type,title,assigned_on,due_on\nA9,C1,other,X,{written},{written}\n"
    report = import_batch(con, [("assignments.csv", data.encode())], scope=PRACTICE,
                          mapping=Mapping("canonical", date_order=order))
    assert report.accepted, report.to_text()
    assert con.execute("select assigned_on from assignments where assignment_id = 'A9'").fetchone() == (stored,)


def test_slash_dates_without_an_order_are_refused_with_a_hint_not_guessed(con):
    data = b"assignment_id,client_id,assignment_type,title,assigned_on,due_on\nA9,C1,other,X,13/04/2026,14/04/2026\n"
    report = import_batch(con, [("assignments.csv", data)], scope=PRACTICE, mapping=CANONICAL)
    assert not report.accepted
    assert {p.column for p in report.errors} == {"assigned_on", "due_on"}
    assert any("day/month or month/day" in p.reason for p in report.warnings)


def test_decimal_commas_are_proposed_for_semicolon_files_and_read(con):
    data = "submission_id;assignment_id;submitted_at;completion;minutes;mood_after\nS1;A1;2026-03-03 10:00;completed;1.440;7,0\n"
    raw = raw_of(con, data, name="submissions.csv")
    assert propose(con, raw).decimal_comma
    report = import_batch(con, [("submissions.csv", data.encode())], scope=PRACTICE, mapping=CANONICAL)
    assert report.accepted, report.to_text()
    assert con.execute("select minutes, mood_after from submissions").fetchone() == (1440, 7)


def test_a_fraction_is_never_rounded_into_a_whole_number(con):
    data = b"submission_id;assignment_id;submitted_at;completion;mood_after\nS1;A1;2026-03-03 10:00;completed;7,5\n"
    report = import_batch(con, [("submissions.csv", data)], scope=PRACTICE, mapping=CANONICAL)
    assert [(p.line, p.column) for p in report.errors] == [(2, "mood_after")]


def test_json_round_trip_and_errors():
    mapping = Mapping("flat", columns=(("Patient ID", "client_id"), ("Notes", "")), date_order="dmy",
                      values=(("completion", (("done", "completed"),)),), decimal_comma=True)
    assert Mapping.from_json(mapping.to_json()) == mapping
    assert json.loads(mapping.to_json())["columns"] == {"Patient ID": "client_id", "Notes": ""}
    for text, words in [
        ("{", "not valid JSON"),
        ('{"target": "spreadsheet"}', "unknown target"),
        ('{"target": "flat", "columns": {"A": "shoe_size"}}', "not a field of flat"),
        ('{"target": "flat", "values": {"completion": {"done": "finished"}}}', "not one of completed"),
        ('{"target": "flat", "date_order": "ymd"}', "unknown date order"),
        ('{"target": "flat", "colums": {}}', "unknown key"),
        ('[1, 2]', "a JSON object"),
    ]:
        with pytest.raises(MappingError, match=words):
            Mapping.from_json(text)


def test_saved_mappings_are_stored_by_name_replaced_and_loaded(con):
    first = Mapping("flat", columns=(("Patient ID", "client_id"),))
    save_mapping(con, " Clinic export ", first, saved_by="tester")
    save_mapping(con, "Clinic export", Mapping("flat", columns=(("Client", "client_id"),)))
    assert list(mappings(con)["name"]) == ["Clinic export"]
    assert load_mapping(con, "Clinic export").column_map == {"Client": "client_id"}
    with pytest.raises(MappingError, match="no saved mapping"):
        load_mapping(con, "nope")
    with pytest.raises(MappingError):
        save_mapping(con, "   ", first)


def test_a_mapping_whose_column_is_not_in_the_file_says_so(con):
    mapping = Mapping("clients", columns=(("client_id", "client_id"), ("therapist_id", "therapist_id"),
                                          ("Nickname", "label")))
    report = import_batch(con, [("c.csv", b"client_id,therapist_id\nC9,T1\n")], scope=PRACTICE, mapping=mapping)
    assert report.accepted
    assert any("Nickname" in p.reason and "not in the file" in p.reason for p in report.warnings)


def test_inspect_file_proposes_without_writing(con):
    before = con.execute("select count(*) from clients").fetchone()
    draft = inspect_file(con, "export.csv", b"Client ID;Therapist;Homework;Due date;Submitted;Done\nC9;T1;Walk;x;y;yes\n")
    assert draft.readable and draft.proposal.target == "flat"
    assert "semicolon-separated" in draft.description
    assert draft.words[5] == ["yes"]
    assert con.execute("select count(*) from clients").fetchone() == before
    assert con.execute("select count(*) from duckdb_tables() where temporary").fetchone() == (0,)


def cli(capsys, *argv: object) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_command_line_takes_a_mapping_file_a_format_and_a_date_order(tmp_path, capsys):
    db = tmp_path / "store.duckdb"
    export = tmp_path / "export.csv"
    export.write_text("Patient;Clinician;Clinician name;Task;Set on;Deadline;Logged at;Result\n"
                      "C1;T1;Ada;Walk;01/03/2026;07/03/2026;02/03/2026 18:30;done\n", encoding="cp1252")
    code, out, _ = cli(capsys, "import", "--db", db, "--format", "flat", export)
    assert code == 1 and "say whether they are day/month or month/day" in out
    code, out, _ = cli(capsys, "import", "--db", db, "--format", "flat", "--date-order", "dmy", "--dry-run", export)
    assert code == 0 and "Valid: nothing was written" in out
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(Mapping("flat", columns=(("Patient", "client_id"), ("Clinician", "therapist_id"),
                                                     ("Clinician name", "therapist_name"), ("Task", "title"),
                                                     ("Set on", "assigned_on"), ("Deadline", "due_on"),
                                                     ("Logged at", "submitted_at"), ("Result", "completion")),
                                    date_order="dmy", values=(("completion", (("done", "completed"),)),)).to_json())
    code, out, err = cli(capsys, "import", "--db", db, "--mapping", mapping_file, export)
    assert code == 0, out + err
    assert "export.csv -> submissions: 1 read, 1 added" in out
    con = open_store(db)
    assert con.execute("select assigned_on, due_on from assignments").fetchall() == [(date(2026, 3, 1), date(2026, 3, 7))]
    con.close()


def test_a_bad_mapping_file_is_wrong_usage(tmp_path, capsys):
    bad = tmp_path / "mapping.json"
    bad.write_text('{"target": "flat", "columns": {"A": "shoe_size"}}')
    data = tmp_path / "export.csv"
    data.write_text("A\n1\n")
    code, _, err = cli(capsys, "import", "--db", tmp_path / "s.duckdb", "--mapping", bad, data)
    assert code == 2 and "not a field of flat" in err
    assert not (tmp_path / "s.duckdb").exists()


def test_the_flat_preset_is_a_mapping_without_columns():
    assert FLAT.columns == () and FLAT.target == "flat"
