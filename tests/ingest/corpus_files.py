"""The corpus of malformed, hostile and real-world-shaped files (tests/ingest/corpus/), written by code from synthetic
data, with each one's expected outcome.

Run `python tests/ingest/corpus_files.py` to (re)write tests/ingest/corpus/; tests/ingest/test_corpus.py checks that the
files on disk are exactly these and that each imports (or is refused) as stated here.

Every case is imported into a store holding therapist T1, client C1 (Robin) and assignment A1.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

if __name__ == "__main__":  # run as a script: the project's modules are one folder up
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from analytics.ingest.mapping import CANONICAL, Mapping  # noqa: E402
from tests.ingest.test_real_exports import (  # noqa: E402
    FLAT_EXPORT,
    NEW_COLUMNS,
    NEW_ROWS,
    OLD_COLUMNS,
    OLD_ROWS,
    aligned,
    plain,
)

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"

SUBMISSION_HEADER = "submission_id,assignment_id,submitted_at,completion,client_note"


@dataclass(frozen=True)
class Case:
    """One file and what must happen to it.

    outcome: "imported" or "refused". message: a part of the problem that must be reported (an error
    when refused, a warning or note when imported), at line/column when given. inserted: rows that
    must be added per table. upload_name: the name the file is uploaded under (default: file).
    """

    file: str
    data: bytes
    outcome: str
    message: str = ""
    line: int | None = None
    column: str | None = None
    inserted: dict[str, int] = field(default_factory=dict)
    mapping: Mapping | None = CANONICAL
    upload_name: str | None = None
    max_bytes: int | None = None
    stored: tuple[str, list[tuple]] | None = None  # (SQL, rows it must give afterwards)
    existing: str = "refuse"  # what to do with stored rows the file would change (changes.EXISTING_MODES)
    counts: dict[str, tuple[int, int, int, int, int, int]] = field(default_factory=dict)
    # table -> (rows read, added, changed, unchanged, left as stored, rejected): the expected report, refused or not


def lines(*rows: str, ending: str = "\n") -> str:
    return ending.join(rows) + ending


def xlsx(rows: list[list[object]], *, title: str = "Sheet1") -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("clients.csv", date_time=(2026, 1, 1, 0, 0, 0)), "client_id,therapist_id\nC9,T1\n")
    return out.getvalue()


def _cases() -> list[Case]:
    from datetime import datetime

    clients = "client_id,therapist_id,label"
    return [
        # --- empty and not text -------------------------------------------------------------
        Case("empty.csv", b"", "refused", "the file is empty", 1),
        Case("blank_lines_only.csv", b"\n \n\r\n\t\n", "refused", "the file is empty", 1),
        Case("bom_only.csv", b"\xef\xbb\xbf", "refused", "the file is empty", 1),
        Case("header_only.csv", b"client_id,therapist_id,label\n", "imported", inserted={"clients": 0}),
        Case("png_named.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "refused", "a PNG image", 1),
        Case("pdf_named.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "refused", "a PDF document", 1),
        Case("zip_named.csv", plain_zip(), "refused", "a zip file, not CSV text", 1),
        Case("binary_nul.csv", b"client_id,therapist_id\nC9,T1\x00\x00\x01\x02\n", "refused", "binary file", 1),
        Case("control_chars.csv", bytes(range(1, 9)) * 40, "refused", "control characters", 1),
        Case("truncated.xlsx", xlsx([["client_id", "therapist_id"], ["C9", "T1"]])[:300], "refused",
             "zip file", 1),
        # --- encodings ----------------------------------------------------------------------
        Case("utf16_bom.csv", lines(clients, "C9,T1,Zoë").encode("utf-16"), "imported", "UTF-16",
             inserted={"clients": 1}, stored=("select label from clients where client_id = 'C9'", [("Zoë",)])),
        Case("utf16be_no_bom.csv", lines(clients, "C9,T1,Zoë").encode("utf-16-be"), "imported", "UTF-16",
             inserted={"clients": 1}, stored=("select label from clients where client_id = 'C9'", [("Zoë",)])),
        Case("windows1252.csv", lines(clients, "C9,T1,Zoë € café").encode("cp1252"), "imported", "Windows-1252", 2,
             inserted={"clients": 1},
             stored=("select label from clients where client_id = 'C9'", [("Zoë € café",)])),
        Case("neither_utf8_nor_1252.csv", b"client_id,therapist_id,label\nC9,T1,caf\xe9 \x81\n", "refused",
             "neither UTF-8 nor Windows-1252", 2),
        Case("bom_crlf.csv", b"\xef\xbb\xbf" + lines(clients, "C9,T1,Kim", ending="\r\n").encode(), "imported",
             inserted={"clients": 1}),
        Case("old_mac_cr.csv", lines(clients, "C9,T1,Kim", "C10,T1,Lee", ending="\r").encode(), "imported",
             "carriage return", inserted={"clients": 2}),
        # --- dialects and layout ------------------------------------------------------------
        Case("semicolon_decimal_comma.csv", lines(
            "submission_id;assignment_id;submitted_at;completion;mood_before;mood_after",
            "S9;A1;2026-03-03T10:00:00;completed;4,0;6,0").encode(), "imported", "semicolon",
             inserted={"submissions": 1},
             stored=("select mood_before, mood_after from submissions where submission_id = 'S9'", [(4, 6)])),
        Case("tab_separated.tsv", lines("client_id\ttherapist_id\tlabel", "C9\tT1\tKim, Jr").encode(), "imported",
             "tab-separated", inserted={"clients": 1},
             stored=("select label from clients where client_id = 'C9'", [("Kim, Jr",)])),
        Case("quoted_commas_and_breaks.csv", lines(
            SUBMISSION_HEADER, 'S9,A1,2026-03-03T10:00:00,completed,"walked, then\nrested ""a bit"""',
            "S10,A1,2026-03-04T10:00:00,skipped,").encode(), "imported", inserted={"submissions": 2},
             stored=("select client_note from submissions where submission_id = 'S9'",
                     [('walked, then\nrested "a bit"',)])),
        Case("preamble.csv", lines("Clinic export", "Generated 2026-03-05 by the EHR", "", clients,
                                   "C9,T1,Kim").encode(), "imported", "before the header row", 1,
             inserted={"clients": 1}),
        Case("repeated_header.csv", lines(clients, "C9,T1,Kim", clients, "C10,T1,Lee").encode(), "imported",
             "repeated header", 3, inserted={"clients": 2}),
        Case("totals_row.csv", lines("submission_id,assignment_id,submitted_at,completion,minutes",
                                     "S9,A1,2026-03-03T10:00:00,completed,20",
                                     "S10,A1,2026-03-04T10:00:00,completed,25", "Total,,,,45").encode(),
             "imported", "totals row", 4, inserted={"submissions": 2}),
        Case("blank_lines_between.csv", lines(clients, "", "C9,T1,Kim", "  ", "C10,T1,Lee", "").encode(), "imported",
             "blank line", inserted={"clients": 2}),
        # --- broken structure ---------------------------------------------------------------
        Case("ragged_rows.csv", lines(clients, "C9,T1,Kim", "C10,T1", "C11,T1,Lee,extra").encode(), "refused",
             "has 2 fields, the header has 3", 3),
        Case("unclosed_quote.csv", lines(clients, 'C9,T1,"Kim', "C10,T1,Lee").encode(), "refused", "malformed"),
        Case("stray_quote.csv", lines(clients, 'C9,T1,Kim 5" tall', "C10,T1,Lee").encode(), "refused",
             "independent count", 2),
        Case("field_too_long.csv", lines(SUBMISSION_HEADER, "S9,A1,2026-03-03T10:00:00,completed,"
                                         + '"' + "x" * 140_000 + '"').encode(), "refused",
             "longer than 131,072 characters, the limit for one cell", 2),
        Case("unknown_columns.csv", lines("client_id,shoe_size,therapist_id", "C9,44,T1").encode(), "imported",
             "not mapped to any field", 1, inserted={"clients": 1}),
        Case("duplicated_column.csv", lines("client_id,therapist_id,label,label", "C9,T1,Kim,Kimmy").encode(),
             "refused", "column appears twice in the header", 1, "label"),
        Case("synonym_and_exact_name.csv", lines("client_id,therapist_id,label,Client name", "C9,T1,Kim,Kimmy")
             .encode(), "imported", "were ignored: Client name", 1, inserted={"clients": 1},
             stored=("select label from clients where client_id = 'C9'", [("Kim",)])),
        Case("mapped_twice.csv", lines("client_id,therapist_id,label,Client name", "C9,T1,Kim,Kimmy").encode(),
             "refused", "two columns are mapped to label", 1, "label",
             mapping=Mapping("clients", columns=(("client_id", "client_id"), ("therapist_id", "therapist_id"),
                                                 ("label", "label"), ("Client name", "label")))),
        Case("missing_required_column.csv", lines("assignment_id,client_id,title", "A9,C1,Diary").encode(),
             "refused", "required column is missing", 1, "assigned_on", upload_name="assignments.csv"),
        Case("unrecognisable.csv", lines("name,shoe_size", "Ada,38").encode(), "refused", "cannot tell which table", 1),
        Case("over_the_limit.csv", lines(clients, *(f"C{n},T1,Client {n}" for n in range(10, 110))).encode(),
             "refused", "over the limit", None, max_bytes=1024),
        # --- hostile content ----------------------------------------------------------------
        Case("formula_payloads.csv", lines(
            SUBMISSION_HEADER,
            'S9,A1,2026-03-03T10:00:00,completed,"=HYPERLINK(""http://evil.example"",""click"")"',
            "S10,A1,2026-03-03T11:00:00,completed,+cmd|' /C calc'!A0",
            "S11,A1,2026-03-03T12:00:00,completed,@SUM(1+9)*cmd|' /C calc'!A0").encode(), "imported",
             "spreadsheet formula", 2, "client_note", inserted={"submissions": 3},
             stored=("select client_note from submissions where submission_id = 'S10'", [("+cmd|' /C calc'!A0",)])),
        Case("html_script_notes.csv", lines(
            SUBMISSION_HEADER, 'S9,A1,2026-03-03T10:00:00,completed,"<script>alert(\'x\')</script><img src=x onerror=y>"'
        ).encode(), "imported", "HTML or script", 2, "client_note", inserted={"submissions": 1},
             stored=("select client_note from submissions where submission_id = 'S9'",
                     [("<script>alert('x')</script><img src=x onerror=y>",)])),
        Case("sql_values.csv", lines(clients, "\"C9'); DROP TABLE clients;--\",T1,\"Robert'); DELETE FROM therapists;--\"")
             .encode(), "imported", inserted={"clients": 1},
             stored=("select client_id, label from clients where client_id like 'C9%'",
                     [("C9'); DROP TABLE clients;--", "Robert'); DELETE FROM therapists;--")])),
        Case("sql_header.csv", lines('client_id,therapist_id,"label; DROP TABLE clients;--"', "C9,T1,Kim").encode(),
             "imported", "DROP TABLE", 1, inserted={"clients": 1},
             stored=("select count(*) from therapists", [(1,)])),
        Case("zero_width_id.csv", lines("submission_id,assignment_id,submitted_at,completion",
                                        "S9,A1\u200b,2026-03-03T10:00:00,completed").encode(), "imported",
             "invisible characters", 2, "assignment_id", inserted={"submissions": 1},
             stored=("select assignment_id from submissions where submission_id = 'S9'", [("A1",)])),
        Case("zero_width_twins.csv", lines(clients, "C9,T1,Kim", "C9\u200b,T1,Kim again").encode(), "refused",
             "the same client_id as line 2", 3, "client_id"),
        Case("nbsp_id.csv", lines(clients, "C1\u00a0,T1,Robin").encode(), "imported", "invisible characters", 2,
             "client_id", inserted={"clients": 0}, stored=("select count(*) from clients", [(1,)])),
        Case("clients.csv", lines(clients, "C9,T1,Kim").encode(), "imported", "folder path", None,
             upload_name="../../../etc/clients.csv", inserted={"clients": 1}),
        Case("windows_path_clients.csv", lines(clients, "C9,T1,Kim").encode(), "imported", "folder path", None,
             upload_name="C:\\Users\\me\\Desktop\\clients.csv", inserted={"clients": 1}),
        # --- dates ----------------------------------------------------------------------------
        Case("slash_dates_no_order.csv", lines("assignment_id,client_id,assignment_type,title,assigned_on,due_on",
                                               "A9,C1,journaling,Diary,03/04/2026,10/04/2026").encode(), "refused",
             "not a date", 2, "assigned_on"),
        Case("slash_dates_dmy.csv", lines("assignment_id,client_id,assignment_type,title,assigned_on,due_on",
                                          "A9,C1,journaling,Diary,03/04/2026,10/04/2026").encode(), "imported",
             mapping=Mapping("canonical", date_order="dmy"), inserted={"assignments": 1},
             stored=("select assigned_on::varchar, due_on::varchar from assignments where assignment_id = 'A9'",
                     [("2026-04-03", "2026-04-10")])),
        Case("slash_dates_mdy.csv", lines("assignment_id,client_id,assignment_type,title,assigned_on,due_on",
                                          "A9,C1,journaling,Diary,03/04/2026,03/10/2026").encode(), "imported",
             mapping=Mapping("canonical", date_order="mdy"), inserted={"assignments": 1},
             stored=("select assigned_on::varchar, due_on::varchar from assignments where assignment_id = 'A9'",
                     [("2026-03-04", "2026-03-10")])),
        Case("impossible_dmy_date.csv", lines("assignment_id,client_id,assignment_type,title,assigned_on,due_on",
                                              "A9,C1,journaling,Diary,31/02/2026,10/04/2026").encode(), "refused",
             "expected day/month/year", 2, "assigned_on", mapping=Mapping("canonical", date_order="dmy")),
        # --- spreadsheets ------------------------------------------------------------------
        Case("clients.xlsx", xlsx([["Clinic export"], [], ["Client ID", "Therapist", "Client name", "Intake date"],
                                   ["C9", "T1", "Kim", datetime(2026, 1, 5)], ["C10", "T1", "Lee", None]]),
             "imported", "before the header row", 1, inserted={"clients": 2},
             stored=("select client_id, label, intake_date::varchar from clients where client_id in ('C9', 'C10') "
                     "order by 1", [("C10", "Lee", None), ("C9", "Kim", "2026-01-05")])),
        Case("xlsx_named.csv", xlsx([["client_id", "therapist_id"], ["C9", "T1"]]), "imported",
             upload_name="clients.csv", inserted={"clients": 1}),
        # --- flat exports -------------------------------------------------------------------
        # --- real-world shapes (synthetic data in the shapes real exports have) ---------------
        Case("mindlogger_padded_report.csv", aligned(OLD_COLUMNS, OLD_ROWS), "imported", "padded with spaces",
             mapping=Mapping("mindlogger", new_therapist_name="Nia Obi", mood_item="mood_after",
                             mood_before_item="mood_before"),
             counts={"therapists": (1, 1, 0, 0, 0, 0), "clients": (1, 1, 0, 0, 0, 0),
                     "assignments": (1, 1, 0, 0, 0, 0), "submissions": (2, 2, 0, 0, 0, 0)},
             stored=("select submission_id, mood_before, mood_after from submissions order by 1",
                     [("sub-1", 4, 7), ("sub-2", 3, 8)])),
        Case("mindlogger_responses.csv", plain(NEW_COLUMNS, NEW_ROWS), "imported", "self-initiated",
             mapping=Mapping("mindlogger", therapist_id="T1", mood_item="calm_0_10", mood_before_item="calm_before",
                             values=(("completion", (("incomplete", "partial"),)),)),
             counts={"clients": (1, 1, 0, 0, 0, 0), "assignments": (2, 2, 0, 0, 0, 0),
                     "submissions": (2, 2, 0, 0, 0, 0)},
             stored=("select submission_id, completion, mood_before, mood_after from submissions order by 1",
                     [("as-1", "completed", 2, 6), ("as-2", "partial", None, 9)])),
        Case("flat_missed_rows_and_labels.csv", FLAT_EXPORT, "imported", "2 missed row(s)", 3,
             mapping=Mapping("flat"),
             counts={"clients": (1, 0, 0, 1, 0, 0), "assignments": (3, 3, 0, 0, 0, 0),
                     "submissions": (2, 2, 0, 0, 0, 0)},
             stored=("select title, assignment_type from assignments where title <> 'Mood diary' order by 1",
                     [("Letter", "narrative"), ("Walk", "behavioural"), ("Worksheet", "journaling")])),
        Case("ids_collide_with_store.csv", lines(clients, "C1,T1,Robin Ash", "C9,T1,Kim").encode(), "refused",
             "1 clients already stored would change (label 1)", upload_name="clients.csv",
             counts={"clients": (2, 1, 1, 0, 0, 0)}),
        Case("ids_collide_only_new.csv", lines(clients, "C1,T1,Robin Ash", "C9,T1,Kim").encode(), "imported",
             upload_name="clients.csv", existing="skip", counts={"clients": (2, 1, 0, 0, 1, 0)},
             stored=("select client_id, label from clients order by 1", [("C1", "Robin"), ("C9", "Kim")])),
        Case("ids_collide_confirmed.csv", lines(clients, "C1,T1,Robin Ash", "C9,T1,Kim").encode(), "imported",
             upload_name="clients.csv", existing="update", counts={"clients": (2, 1, 1, 0, 0, 0)},
             stored=("select client_id, label from clients order by 1", [("C1", "Robin Ash"), ("C9", "Kim")])),
        Case("flat_conflicting_therapists.csv", lines(
            "Patient ID,Therapist,Homework,Assigned,Due date,Submitted,Status",
            "C9,T1,Walk,2026-03-01,2026-03-07,2026-03-02T10:00,done",
            "C9,T2,Walk,2026-03-01,2026-03-07,2026-03-03T10:00,done").encode(), "refused",
             "therapist_id is T2 here but T1 on line 2", 3, "Therapist (therapist_id)", mapping=Mapping("flat")),
    ]


CASES: list[Case] = _cases()


def write_corpus(folder: Path = CORPUS_DIR) -> list[Path]:
    """Write every case's file into folder (tests/ingest/corpus/ by default); returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for case in CASES:
        path = folder / case.file
        path.write_bytes(case.data)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_corpus():
        print(written.relative_to(CORPUS_DIR.parents[2]))
