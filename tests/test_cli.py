"""The command line, in process through main() and once as a real `python -m analytics` process."""

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from conftest import built_once

from analytics.cli import main
from analytics.store.database import SCHEMA_VERSION, open_store

ROOT = Path(__file__).resolve().parents[1]  # the project folder, where `python -m analytics` runs

# ---------------------------------------------------------------------------------------------
# A tiny practice, worked by hand. Calendar: 2026-03-02 and 2026-03-09 are Mondays, 2026-03-11
# (the as-of date of every summary below) is a Wednesday. Time zone: UTC (the default).
# ---------------------------------------------------------------------------------------------

THERAPISTS = """therapist_id,name
T1,Ada Moss
T2,Ben Ode
"""
CLIENTS = """client_id,therapist_id,label
C1,T1,Robin
C2,T1,Kim
C3,T2,Sam
C4,T2,Lee
"""
ASSIGNMENTS = """assignment_id,client_id,assignment_type,title,assigned_on,due_on,expected_count,status
A1,C1,journaling,Diary,2026-03-02,2026-03-08,3,
A2,C1,mindfulness,Breathe,2026-03-02,2026-03-04,1,
A3,C1,behavioural,Walk,2026-03-09,2026-03-13,2,
A4,C1,creative,Collage,2026-03-09,2026-03-20,1,
A5,C1,narrative,Letter,2026-03-02,2026-03-04,1,cancelled
A6,C1,journaling,Gratitude,2026-03-02,2026-03-06,2,
A7,C2,behavioural,Stretch,2026-03-02,2026-03-05,1,
A8,C3,journaling,Diary,2026-03-02,2026-03-06,1,
"""
SUBMISSIONS = """submission_id,assignment_id,submitted_at,completion,mood_before,mood_after
S1,A1,2026-03-03T10:00:00,completed,4,6
S2,A1,2026-03-05T10:00:00,partial,5,6
S3,A1,2026-03-10T10:00:00,completed,,
S4,A2,2026-03-04T20:00:00,completed,3,7
S5,A2,2026-03-04T21:00:00,completed,6,5
S6,A3,2026-03-10T19:15:00,completed,5,8
S7,A4,2026-03-11T09:00:00,completed,2,3
S8,A5,2026-03-04T09:00:00,completed,1,9
S9,A6,2026-03-12T09:00:00,completed,5,9
S10,A7,2026-03-05T08:00:00,skipped,5,5
S11,A8,2026-03-06T12:00:00,completed,2,4
"""
AS_OF = "2026-03-11"

# What counts on 2026-03-11: active assignments (A5 is cancelled: left out, with S8) and submissions made on
# or before that date (S9, 03-12, counts nowhere). Due (due_on <= 03-11): A1, A2, A6, A7, A8; A3 (due 03-13)
# and A4 (due 03-20) are not due: no expected or credit, but their submissions and mood lifts count.
# By week only, weeks after the week of the as-of date (03-09) are left out: A4's week of 03-16.
# Per assignment:                  expected  credit                 on-time credit (by due_on)   subs  mood lifts
#   A1 C1 journaling  wk 03-02        3      1 + 0.5 + 1 = 2.5      S1 + S2 = 1.5 (S3 late)      3     +2, +1
#   A2 C1 mindfulness wk 03-02        1      1 + 1 = 2, capped 1    capped 1                     2     +4, -1
#   A3 C1 behavioural wk 03-09        -      (not due)              -                            1     +3
#   A4 C1 creative    wk 03-16        -      (not due)              -                            1     +1
#   A6 C1 journaling  wk 03-02        2      0 (S9 after as-of)     0                            0     -
#   A7 C2 behavioural wk 03-02        1      0 (skipped)            0                            1     0
#   A8 C3 journaling  wk 03-02        1      1                      1                            1     +2

BY_CLIENT_COLUMNS = ["client_id", "therapist_id", "expected", "credit", "completion_rate", "on_time_rate",
                     "submissions", "mood_lift_mean", "mood_lift_n", "last_submission_at", "streak_weeks",
                     "days_since_last_submission", "feedback_coverage", "median_feedback_days"]
GROUP_COLUMNS = ["expected", "credit", "completion_rate", "on_time_rate", "submissions", "mood_lift_mean",
                 "mood_lift_n"]


@pytest.fixture(autouse=True)
def no_default_store(tmp_path, monkeypatch):
    """Never touch the project's data/homework.duckdb, whatever a test forgets."""
    monkeypatch.setenv("HOMEWORK_DB", str(tmp_path / "default.duckdb"))


def cli(capsys, *argv: object) -> tuple[int, str, str]:
    """Run main() as the command line would; (exit code, stdout, stderr)."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse exits for wrong usage
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_files(folder: Path, **tables: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for table, text in tables.items():
        path = folder / f"{table}.csv"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


@pytest.fixture
def practice(tmp_path, capsys) -> Path:
    """A store file holding the hand-worked practice above."""
    db = tmp_path / "practice.duckdb"
    files = write_files(tmp_path / "csv", therapists=THERAPISTS, clients=CLIENTS, assignments=ASSIGNMENTS,
                        submissions=SUBMISSIONS)

    def imported(store: Path) -> None:
        code, out, err = cli(capsys, "import", "--db", store, *files)
        assert code == 0, out + err

    return built_once("the command line's practice", db, imported)  # imported once per process, then copied


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def header(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text)))


def number(text: str) -> float | None:
    return None if text == "" else float(text)


# ---------------------------------------------------------------------------------------------
# import
# ---------------------------------------------------------------------------------------------


def test_import_of_valid_files_exits_0_and_prints_the_report(tmp_path, capsys):
    db = tmp_path / "store.duckdb"
    files = write_files(tmp_path / "csv", therapists=THERAPISTS, clients=CLIENTS, assignments=ASSIGNMENTS,
                        submissions=SUBMISSIONS)
    code, out, err = cli(capsys, "import", "--db", db, *files)
    assert code == 0
    assert out.splitlines()[0].startswith("Imported as batch ")
    assert "therapists.csv -> therapists: 2 read, 2 added, 0 changed, 0 unchanged, 0 rejected" in out
    assert "clients.csv -> clients: 4 read, 4 added" in out
    assert "assignments.csv -> assignments: 8 read, 8 added" in out
    assert "submissions.csv -> submissions: 11 read, 11 added" in out
    assert err == ""
    con = duckdb.connect(str(db))
    assert con.execute("select count(*) from submissions").fetchone()[0] == 11
    assert con.execute("select imported_by from import_log").fetchone()[0].endswith("(command line)")
    con.close()

    # the same files again: nothing new
    code, out, _ = cli(capsys, "import", "--db", db, *files)
    assert code == 0
    assert "submissions.csv -> submissions: 11 read, 0 added, 0 changed, 11 unchanged, 0 rejected" in out


BAD_SUBMISSIONS = """submission_id,assignment_id,submitted_at,completion,mood_before,mood_after
S1,A1,2026-03-03T10:00:00,completed,4,6
S2,A1,2026-03-05T10:00:00,completed,5,11
S3,A404,2026-03-05T10:00:00,completed,5,6
"""


def test_import_of_invalid_files_exits_1_naming_file_line_and_column(practice, tmp_path, capsys):
    (path,) = write_files(tmp_path / "bad", submissions=BAD_SUBMISSIONS)
    code, out, err = cli(capsys, "import", "--db", practice, path)
    assert code == 1
    assert out.splitlines()[0] == "Refused: nothing was written to the store."
    assert "submissions.csv, line 3, column mood_after: not a whole number between 0 and 10" in out
    assert "submissions.csv, line 4, column assignment_id:" in out
    assert "Traceback" not in err and "Traceback" not in out
    con = duckdb.connect(str(practice))
    assert con.execute("select count(*) from submissions").fetchone()[0] == 11  # unchanged
    con.close()


def test_import_with_skip_invalid_writes_the_valid_rows(practice, tmp_path, capsys):
    (path,) = write_files(tmp_path / "bad", submissions=BAD_SUBMISSIONS.replace("S1,A1", "S12,A1"))
    code, out, _ = cli(capsys, "import", "--db", practice, "--skip-invalid", path)
    assert code == 0
    assert "submissions.csv -> submissions: 3 read, 1 added, 0 changed, 0 unchanged, 2 rejected" in out


def test_a_real_process_reports_bad_data_without_a_traceback(tmp_path):
    db = tmp_path / "process.duckdb"
    (bad,) = write_files(tmp_path / "bad", clients="client_id,therapist_id,label\nC1,T404,Robin\nC2,,Kim\n")
    env = {**os.environ, "HOMEWORK_DB": str(tmp_path / "default.duckdb")}
    result = subprocess.run([sys.executable, "-m", "analytics", "import", "--db", str(db), str(bad)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "clients.csv, line 2, column therapist_id: therapist_id T404 is not in therapists.csv or the store" in result.stdout
    assert "clients.csv, line 3, column therapist_id: required value is missing" in result.stdout

    # and a store from a newer release: a one-line error, exit 1, no traceback
    con = duckdb.connect(str(db))
    con.execute("insert into schema_meta (version) values (?)", [SCHEMA_VERSION + 1])
    con.close()
    result = subprocess.run([sys.executable, "-m", "analytics", "timezone", "--db", str(db)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: this store was written by a newer release")


# ---------------------------------------------------------------------------------------------
# Wrong usage: exit 2
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    [],
    ["frobnicate"],
    ["summary", "--as-of", AS_OF],  # --by is required
    ["summary", "--by", "planet"],
    ["summary", "--by", "client", "--as-of", "2026-02-30"],
    ["summary", "--by", "client", "--as-of", "11/03/2026"],
    ["summary", "--by", "client", "--format", "xml"],
    ["import"],  # no files
    ["demo"],  # --out is required
], ids=["nothing", "unknown-command", "missing-by", "bad-by", "impossible-date", "us-date", "bad-format",
        "import-no-files", "demo-no-out"])
def test_wrong_usage_exits_2(tmp_path, capsys, argv):
    code, out, err = cli(capsys, *argv)
    assert code == 2
    assert "usage:" in err
    assert "Traceback" not in err
    assert not (tmp_path / "default.duckdb").exists()


def test_bad_as_of_date_says_what_is_wrong(capsys):
    code, _, err = cli(capsys, "summary", "--by", "client", "--as-of", "2026-02-30")
    assert code == 2
    assert "not a date: use YYYY-MM-DD" in err


def test_import_of_a_nonexistent_file_exits_2(tmp_path, capsys):
    db = tmp_path / "store.duckdb"
    missing = tmp_path / "nowhere" / "clients.csv"
    code, out, err = cli(capsys, "import", "--db", db, missing)
    assert code == 2
    assert "no such file" in err and "clients.csv" in err
    assert not db.exists()  # refused before the store was opened


# ---------------------------------------------------------------------------------------------
# summary
# ---------------------------------------------------------------------------------------------


def test_summary_by_client_csv(practice, capsys):
    code, out, err = cli(capsys, "summary", "--db", practice, "--by", "client", "--format", "csv", "--as-of", AS_OF)
    assert code == 0, err
    assert header(out) == BY_CLIENT_COLUMNS
    table = {r["client_id"]: r for r in read_csv(out)}
    assert list(table) == ["C1", "C2", "C3", "C4"]  # every client, even one with nothing set

    c1 = table["C1"]
    # C1: due A1 (3) + A2 (1) + A6 (2) = 6 expected; credit 2.5 + 1 + 0 = 3.5 -> 3.5 / 6 = 0.5833;
    # on time 1.5 + 1 + 0 = 2.5 -> 2.5 / 6 = 0.4167; submissions A1 3 + A2 2 + A3 1 + A4 1 + A6 0 = 7;
    # mood lifts +2 +1 +4 -1 +3 +1 = 10 over 6 -> 1.6667; last counted submission S7 2026-03-11 09:00.
    assert c1["therapist_id"] == "T1"
    assert number(c1["expected"]) == 6
    assert number(c1["credit"]) == 3.5
    assert number(c1["completion_rate"]) == pytest.approx(3.5 / 6, abs=1e-4)
    assert number(c1["on_time_rate"]) == pytest.approx(2.5 / 6, abs=1e-4)
    assert number(c1["submissions"]) == 7
    assert number(c1["mood_lift_mean"]) == pytest.approx(10 / 6, abs=1e-4)
    assert number(c1["mood_lift_n"]) == 6
    assert c1["last_submission_at"] == "2026-03-11T09:00:00"

    # C2: A7 due, 1 expected, skipped -> credit 0, rates 0; one submission, lift 5 -> 5 = 0.
    c2 = table["C2"]
    assert [number(c2[c]) for c in GROUP_COLUMNS] == [1, 0, 0, 0, 1, 0, 1]
    assert c2["last_submission_at"] == "2026-03-05T08:00:00"
    # C3: A8 due, completed on time; lift 4 - 2 = 2.
    assert [number(table["C3"][c]) for c in GROUP_COLUMNS] == [1, 1, 1, 1, 1, 2, 1]
    # C4: nothing set: zeros, and empty rates and mean.
    c4 = table["C4"]
    assert c4["therapist_id"] == "T2"
    assert [number(c4[c]) for c in GROUP_COLUMNS] == [0, 0, None, None, 0, None, 0]
    assert c4["last_submission_at"] == ""


def test_summary_by_client_adds_streak_days_since_and_feedback(practice, capsys):
    code, out, err = cli(capsys, "summary", "--db", practice, "--by", "client", "--format", "csv", "--as-of", AS_OF)
    assert code == 0, err
    table = {r["client_id"]: r for r in read_csv(out)}
    engagement = ["streak_weeks", "days_since_last_submission", "feedback_coverage", "median_feedback_days"]
    # Streak as of 03-11: the week of 03-09 has nothing due yet (A3 03-13, A4 03-20) and is skipped.
    # C1's week of 03-02 earned 3.5 of 6 (58%) < 80%: 0. C3's earned 1 of 1: 1. C2's 0 of 1: 0.
    # Days since the last submission to 03-11: C1 S7 03-11 -> 0; C2 S10 03-05 -> 6; C3 S11 03-06 -> 5.
    # Feedback: none in the fixture. C1 has 7 completed/partial submissions to active homework -> 0;
    # C2's only one is skipped -> no coverage to show; nobody has a feedback delay.
    assert [number(table["C1"][c]) for c in engagement] == [0, 0, 0, None]
    assert [number(table["C2"][c]) for c in engagement] == [0, 6, None, None]
    assert [number(table["C3"][c]) for c in engagement] == [1, 5, 0, None]
    assert [number(table["C4"][c]) for c in engagement] == [0, None, None, None]


def test_summary_by_therapist_json(practice, capsys):
    code, out, err = cli(capsys, "summary", "--db", practice, "--by", "therapist", "--format", "json", "--as-of", AS_OF)
    assert code == 0, err
    records = json.loads(out)
    assert [list(r) for r in records] == [["therapist_id", *GROUP_COLUMNS]] * 2
    t1, t2 = records
    # T1 = C1 + C2: expected 6 + 1 = 7, credit 3.5 + 0 = 3.5 -> 0.5; on time 2.5 / 7 = 0.3571;
    # submissions 7 + 1 = 8; mood lifts 10 + 0 over 6 + 1 = 7 -> 1.4286.
    assert t1["therapist_id"] == "T1"
    assert (t1["expected"], t1["credit"], t1["completion_rate"]) == (7, 3.5, 0.5)
    assert t1["on_time_rate"] == pytest.approx(2.5 / 7, abs=1e-4)
    assert (t1["submissions"], t1["mood_lift_n"]) == (8, 7)
    assert t1["mood_lift_mean"] == pytest.approx(10 / 7, abs=1e-4)
    # T2 = C3 (C4 has nothing): 1 expected, 1 credit, lift 2.
    assert t2 == {"therapist_id": "T2", "expected": 1, "credit": 1, "completion_rate": 1, "on_time_rate": 1,
                  "submissions": 1, "mood_lift_mean": 2, "mood_lift_n": 1}


def test_summary_by_type_csv(practice, capsys):
    code, out, err = cli(capsys, "summary", "--db", practice, "--by", "type", "--format", "csv", "--as-of", AS_OF)
    assert code == 0, err
    assert header(out) == ["assignment_type", *GROUP_COLUMNS]
    table = {r["assignment_type"]: r for r in read_csv(out)}
    # narrative (A5) is cancelled: no row.
    assert list(table) == ["behavioural", "creative", "journaling", "mindfulness"]
    # creative = A4, not due yet: nothing expected, empty rates; S7 counts, lift +1.
    assert [number(table["creative"][c]) for c in GROUP_COLUMNS] == [0, 0, None, None, 1, 1, 1]
    # journaling = A1 + A6 + A8: expected 3 + 2 + 1 = 6, credit 2.5 + 0 + 1 = 3.5, on time 1.5 + 0 + 1 = 2.5,
    # submissions 3 + 0 + 1 = 4, lifts +2 +1 +2 = 5 over 3.
    j = table["journaling"]
    assert [number(j[c]) for c in GROUP_COLUMNS] == pytest.approx([6, 3.5, 3.5 / 6, 2.5 / 6, 4, 5 / 3, 3], abs=1e-4)
    # behavioural = A3 (not due) + A7: expected 1, credit 0; submissions S6 + S10 = 2; lifts +3, 0 -> 1.5.
    b = table["behavioural"]
    assert [number(b[c]) for c in GROUP_COLUMNS] == [1, 0, 0, 0, 2, 1.5, 2]
    # mindfulness = A2: 1 expected, credit capped at 1; 2 submissions; lifts +4, -1 -> 1.5.
    assert [number(table["mindfulness"][c]) for c in GROUP_COLUMNS] == [1, 1, 1, 1, 2, 1.5, 2]


def test_summary_by_week_json(practice, capsys):
    code, out, err = cli(capsys, "summary", "--db", practice, "--by", "week", "--format", "json", "--as-of", AS_OF)
    assert code == 0, err
    records = json.loads(out)
    assert [r["week"] for r in records] == ["2026-03-02", "2026-03-09"]
    assert list(records[0]) == ["week", *GROUP_COLUMNS]
    # week of 03-02 = A1, A2, A6, A7, A8: expected 3 + 1 + 2 + 1 + 1 = 8; credit 2.5 + 1 + 0 + 0 + 1 = 4.5 -> 0.5625;
    # on time 1.5 + 1 + 0 + 0 + 1 = 3.5 -> 0.4375; submissions 3 + 2 + 0 + 1 + 1 = 7;
    # lifts +2 +1 +4 -1 0 +2 = 8 over 6 -> 1.3333.
    w1 = records[0]
    assert [w1[c] for c in GROUP_COLUMNS] == pytest.approx([8, 4.5, 0.5625, 0.4375, 7, 8 / 6, 6], abs=1e-4)
    # week of 03-09 = A3, not yet due: nothing expected, rates empty; S6 counts, lift +3.
    w2 = records[1]
    assert [w2[c] for c in GROUP_COLUMNS] == [0, 0, None, None, 1, 3, 1]


def test_summary_for_one_therapist_limits_rows_to_their_clients(practice, capsys):
    code, out, err = cli(capsys, "summary", "--db", practice, "--by", "client", "--format", "csv", "--as-of", AS_OF,
                         "--therapist", "T1")
    assert code == 0, err
    table = read_csv(out)
    assert [(r["client_id"], r["therapist_id"]) for r in table] == [("C1", "T1"), ("C2", "T1")]
    assert number(table[0]["expected"]) == 6  # the same figures as for the practice

    code, out, _ = cli(capsys, "summary", "--db", practice, "--by", "type", "--format", "json", "--as-of", AS_OF,
                       "--therapist", "T2")
    assert code == 0
    # T2's only assignment in play is A8 (journaling)
    assert json.loads(out) == [{"assignment_type": "journaling", "expected": 1, "credit": 1, "completion_rate": 1,
                                "on_time_rate": 1, "submissions": 1, "mood_lift_mean": 2, "mood_lift_n": 1}]


def test_summary_as_of_an_earlier_date_ignores_later_submissions(practice, capsys):
    # As of 2026-03-05 (Thursday): due A2 (03-04) and A7 (03-05); A1, A3, A4, A6, A8 not yet due.
    # C1: expected A2 = 1, credit 1; submissions by then S1, S2 (A1), S4, S5 (A2) = 4 (S3, S6, S7 come later);
    # lifts +2 +1 +4 -1 = 6 / 4 = 1.5; last submission S2 2026-03-05 10:00.
    code, out, _ = cli(capsys, "summary", "--db", practice, "--by", "client", "--format", "csv", "--as-of", "2026-03-05")
    assert code == 0
    c1 = read_csv(out)[0]
    assert [number(c1[c]) for c in GROUP_COLUMNS] == [1, 1, 1, 1, 4, 1.5, 4]
    assert c1["last_submission_at"] == "2026-03-05T10:00:00"


def test_summary_table_format_on_an_empty_store(tmp_path, capsys):
    code, out, _ = cli(capsys, "summary", "--db", tmp_path / "empty.duckdb", "--by", "therapist", "--as-of", AS_OF)
    assert code == 0
    assert out.strip() == "(no rows)"


# ---------------------------------------------------------------------------------------------
# timezone, and a store from a newer release
# ---------------------------------------------------------------------------------------------


def test_timezone_shows_utc_then_sets_europe_london(tmp_path, capsys):
    db = tmp_path / "tz.duckdb"
    assert cli(capsys, "timezone", "--db", db) == (0, "UTC\n", "")
    assert cli(capsys, "timezone", "--db", db, "Europe/London") == (0, "Europe/London\n", "")
    assert cli(capsys, "timezone", "--db", db) == (0, "Europe/London\n", "")


def test_timezone_refuses_a_bogus_zone_with_exit_1(tmp_path, capsys):
    db = tmp_path / "tz.duckdb"
    code, out, err = cli(capsys, "timezone", "--db", db, "Mars/Olympus")
    assert code == 1
    assert err.startswith("error: unknown time zone 'Mars/Olympus'")
    assert cli(capsys, "timezone", "--db", db) == (0, "UTC\n", "")


def test_the_time_zone_moves_a_late_evening_submission_to_the_next_day(practice, capsys):
    # In UTC, as of 2026-03-10, C1 has S1, S2, S3 (A1), S4, S5 (A2) and S6 (A3, 03-10 19:15) = 6 submissions
    # (S7 is 03-11).
    # In Asia/Tokyo (UTC+9) S6 is 2026-03-11 04:15 local: after the as-of date, so 5 remain, and the last
    # one is S3, 2026-03-10 10:00 UTC = 19:00 local.
    code, out, _ = cli(capsys, "summary", "--db", practice, "--by", "client", "--format", "csv", "--as-of", "2026-03-10")
    assert code == 0
    c1 = read_csv(out)[0]
    assert (number(c1["submissions"]), c1["last_submission_at"]) == (6, "2026-03-10T19:15:00")

    assert cli(capsys, "timezone", "--db", practice, "Asia/Tokyo") == (0, "Asia/Tokyo\n", "")
    code, out, _ = cli(capsys, "summary", "--db", practice, "--by", "client", "--format", "csv", "--as-of", "2026-03-10")
    assert code == 0
    c1 = read_csv(out)[0]
    assert (number(c1["submissions"]), c1["last_submission_at"]) == (5, "2026-03-10T19:00:00")


@pytest.mark.parametrize("argv", [["timezone"], ["summary", "--by", "client", "--as-of", AS_OF],
                                  ["import", "CLIENTS"]], ids=["timezone", "summary", "import"])
def test_a_store_from_a_newer_release_gives_a_clear_error_and_exit_1(tmp_path, capsys, argv):
    db = tmp_path / "newer.duckdb"
    con = open_store(db)
    con.execute("insert into schema_meta (version) values (?)", [SCHEMA_VERSION + 1])
    con.close()
    (clients,) = write_files(tmp_path / "csv", clients=CLIENTS)
    argv = [clients if a == "CLIENTS" else a for a in argv]

    code, out, err = cli(capsys, argv[0], "--db", db, *argv[1:])

    assert code == 1
    assert err.startswith("error: this store was written by a newer release")
    assert f"schema version {SCHEMA_VERSION + 1}" in err
    assert "Traceback" not in err
    assert out == ""


def test_summary_by_needs_attention_lists_clients_with_their_reasons(practice, capsys):
    # As of 03-11, by the default rules:
    # - low completion (28 days, at least 2 due): C1 3.5 of 6 = 58%; C2 and C3 have one due each: no;
    # - silent 14 days: C1, C2 (S10 03-05) and C3 (S11 03-06) all submitted: no; C4 has nothing due;
    # - missed in a row: C1's last due (A1, 03-08) earned credit; C2 has only one due: no;
    # - mood falling: C1's 7 moods (S1-S8 but S3; S8's mood counts though A5 is cancelled) slope
    #   about -1.4 a week but the 95% interval runs from about -6 to +3: no;
    # - feedback waiting: C1's S1 (completed 03-03, 8 days ago, no feedback): yes. S4/S5 are 7 days old.
    code, out, _ = cli(capsys, "summary", "--db", practice, "--by", "needs-attention", "--as-of", AS_OF,
                       "--format", "csv")
    assert code == 0
    rows = read_csv(out)
    assert [(r["rank"], r["client_id"], r["therapist_id"], r["n_reasons"]) for r in rows] == [("1", "C1", "T1", "1")]
    assert "waiting for feedback" in rows[0]["reasons"] and "8 days" in rows[0]["reasons"]


def test_summary_by_needs_attention_in_one_therapists_scope(practice, capsys):
    code, out, _ = cli(capsys, "summary", "--db", practice, "--by", "needs-attention", "--as-of", AS_OF,
                       "--format", "json", "--therapist", "T2")
    assert code == 0
    assert json.loads(out) == []


# ---------------------------------------------------------------------------------------------
# summary --by type --effectiveness, and plan --suggest
# ---------------------------------------------------------------------------------------------

EFFECTIVENESS_COLUMNS = ["mood_lift_ci_low", "mood_lift_ci_high", "quality_mean", "quality_n"]
MORE_MINDFULNESS = """submission_id,assignment_id,submitted_at,completion,quality,mood_before,mood_after
S12,A2,2026-03-05T10:00:00,completed,3,4,5
S13,A2,2026-03-06T10:00:00,completed,4,3,5
S14,A2,2026-03-07T10:00:00,completed,2,2,6
"""


def test_summary_by_type_with_effectiveness_hides_means_under_five_ratings(practice, tmp_path, capsys):
    (more,) = write_files(tmp_path / "more", submissions=MORE_MINDFULNESS)
    assert cli(capsys, "import", "--db", practice, more)[0] == 0
    code, out, err = cli(capsys, "summary", "--db", practice, "--by", "type", "--effectiveness", "--format", "csv",
                         "--as-of", AS_OF)
    assert code == 0, err
    assert header(out) == ["assignment_type", *GROUP_COLUMNS, *EFFECTIVENESS_COLUMNS]
    table = {r["assignment_type"]: r for r in read_csv(out)}
    # mindfulness = A2: lifts S4 +4, S5 -1, S12 +1, S13 +2, S14 +4: n 5, mean 2; deviations 2, -3, -1, 0, 2,
    # sd = sqrt(18 / 4) = 2.12132, half width 2.776445 * 2.12132 / sqrt(5) = 2.63397 -> -0.6340 .. 4.6340;
    # quality only on S12-S14 (n 3): no mean.
    m = table["mindfulness"]
    assert [number(m[c]) for c in GROUP_COLUMNS] == [1, 1, 1, 1, 5, 2, 5]
    assert [number(m[c]) for c in EFFECTIVENESS_COLUMNS] == pytest.approx([-0.6340, 4.6340, None, 3], abs=1e-4)
    # journaling keeps its figures but its mean lift (+2 +1 +2, n 3) is left empty
    j = table["journaling"]
    assert [number(j[c]) for c in GROUP_COLUMNS] == pytest.approx([6, 3.5, 3.5 / 6, 2.5 / 6, 4, None, 3], abs=1e-4)
    assert [number(j[c]) for c in EFFECTIVENESS_COLUMNS] == [None, None, None, 0]


def test_effectiveness_goes_with_by_type_only(practice, capsys):
    code, _, err = cli(capsys, "summary", "--db", practice, "--by", "client", "--effectiveness", "--as-of", AS_OF)
    assert code == 2
    assert "--effectiveness goes with --by type" in err


# plan --suggest for Robin (C1), practice scope, as of 03-11. Nobody has a concern, goals or preferences,
# so score = 0.35 x expected completion + 0.25 x min(1, lift / 2). Fewer than 5 clients per type: every
# prior strength is the default 10.
#   mindfulness: caseload = Robin's A2, 1 of 1 -> prior 1.0, shrunk (1 + 10) / 11 = 1.0;
#       lifts S4 +4, S5 -1: prior 1.5, Robin's mean 1.5 -> 1.5. Score 0.35 + 0.25 x 0.75 = 0.5375
#   journaling: caseload A1 + A6 + A8 = 3.5 of 6 -> 0.5833; Robin 2.5 of 5 -> (2.5 + 5.8333) / 15 = 0.5556;
#       lifts +2 +1 (Robin) +2 (Sam): prior 1.6667, Robin w = 2 / 12 -> 1.6389. Score 0.1944 + 0.2049 = 0.3993
#   narrative and other (no data: the caseload over all types, 4.5 of 8 = 0.5625, lift 12 / 8 = 1.5): 0.3844
# So the six mindfulness templates come first (ties in library order), then journaling.


def test_plan_suggest_prints_ranked_suggestions_with_reasons(practice, capsys):
    code, out, err = cli(capsys, "plan", "--db", practice, "--client", "C1", "--suggest", "--as-of", AS_OF,
                         "--limit", "2")
    assert code == 0, err
    # Robin has no concern, goals or preferences. Her pace: 7.5 credit in the 10 days since her first homework
    # (03-02; S1-S8, the cancelled A5's S8 too: work she did) over 10 / 7 = 1.43 weeks = 5.25 a week; 1.5 × 5.25 =
    # 7.9, so 7 a week fits and every template keeps its own times. Mindfulness: about 100% likely, lift +1.5:
    # 0.25 × 1 + 0.20 × 0.75 + 0.15 = 0.55.
    history = ("little mindfulness history for Robin (1 expected): about 100% likely (caseload 100%); "
               "mood lift +1.5 across the caseload")
    assert out.splitlines() == [
        "Homework suggestions for Robin (C1) as of 2026-03-11, best first:",
        " 1. Breathing exercise [L013, mindfulness, 5 min, every day]  score 0.55",
        "    No match with their concern, goals or preferences; 7 a week suits their pace (they did 5.2 a week over "
        f"the last 1.4 weeks); {history}",
        " 2. Body scan [L014, mindfulness, 15 min, 5x a week]  score 0.55",
        "    No match with their concern, goals or preferences; 5 a week suits their pace (they did 5.2 a week over "
        f"the last 1.4 weeks); {history}",
    ]


def test_plan_suggest_as_json(practice, capsys):
    code, out, _ = cli(capsys, "plan", "--db", practice, "--client", "C1", "--suggest", "--as-of", AS_OF,
                       "--format", "json")
    assert code == 0
    records = json.loads(out)
    assert [r["rank"] for r in records] == list(range(1, 9))
    assert [r["assignment_type"] for r in records] == ["mindfulness"] * 6 + ["journaling"] * 2
    assert records[0]["score"] == pytest.approx(0.55, abs=1e-4)
    # Journaling: caseload 3.5 of 6 = 0.5833, k 10: Robin (2.5 + 5.833) / 15 = 0.5556; lift: caseload 5 / 3 = 1.667,
    # Robin's 1.5 from 2 ratings, weight 2 / 12: 1.639, benefit 0.819. 0.25 × 0.5556 + 0.20 × 0.8194 + 0.15 = 0.4528.
    assert records[6]["score"] == pytest.approx(0.4528, abs=1e-4)
    assert records[6]["expected_completion"] == pytest.approx(0.5556, abs=1e-4)
    assert records[6]["times_per_week"] == records[6]["template_times_per_week"]


def test_plan_suggest_for_a_therapist_uses_their_caseload_as_the_prior(practice, capsys):
    # T1's caseload is Robin and Kim: journaling is Robin's alone, 2.5 of 5 -> prior 0.5 and shrunk 0.5;
    # lifts +2 +1 -> 1.5. Score 0.25 x 0.5 + 0.20 x 0.75 + 0.15 (pace) = 0.425 (Sam's A8, in T2's caseload, is not in it).
    code, out, _ = cli(capsys, "plan", "--db", practice, "--client", "C1", "--suggest", "--as-of", AS_OF,
                       "--format", "json", "--therapist", "T1")
    assert code == 0
    records = json.loads(out)
    assert records[6]["assignment_type"] == "journaling"
    assert (records[6]["expected_completion"], records[6]["score"]) == pytest.approx((0.5, 0.425), abs=1e-4)


@pytest.mark.parametrize(("extra", "message"), [
    (["--client", "C9"], "error: no client 'C9' in the store"),
    (["--client", "C1", "--therapist", "T2"], "error: no client 'C1' in therapist T2's caseload"),
], ids=["unknown", "other-therapist"])
def test_plan_for_an_unknown_client_or_one_outside_the_scope_exits_1(practice, capsys, extra, message):
    code, out, err = cli(capsys, "plan", "--db", practice, "--suggest", "--as-of", AS_OF, *extra)
    assert (code, out) == (1, "")
    assert err.strip() == message


def test_plan_without_an_action_is_a_usage_error(practice, capsys):
    code, _, err = cli(capsys, "plan", "--db", practice, "--client", "C1")
    assert code == 2
    assert "add --suggest" in err


# ---------------------------------------------------------------------------------------------
# load-demo: the bundled demo, moved to end today, holds nothing later than now
# ---------------------------------------------------------------------------------------------


def test_load_demo_ends_today_and_holds_nothing_later_than_now(tmp_path, capsys):
    db = tmp_path / "demo.duckdb"
    code, out, _ = cli(capsys, "load-demo", "--db", db)
    after = datetime.now(UTC)
    assert code == 0 and "so that it ends today" in out
    con = open_store(db)
    try:
        latest, feedback, days = con.execute(
            "select max(submitted_at), max(feedback_at), count(distinct submitted_at::date) from submissions").fetchone()
    finally:
        con.close()
    assert days > 50  # the demo's 16 weeks
    assert latest <= after and feedback <= after  # the store's time zone is UTC, as the demo's clock
    assert latest.date() >= after.date() - timedelta(days=2)  # it does run up to about now


def test_settings_set_practice_name_is_used_and_shown(tmp_path, capsys):
    db = tmp_path / "s.duckdb"
    code, out, _ = cli(capsys, "settings", "set", "--db", db, "practice_name", "  Northside   Therapy ")
    assert (code, out) == (0, "practice_name: Northside Therapy\n")
    code, out, _ = cli(capsys, "settings", "show", "--db", db)
    assert (code, out) == (0, "practice_name: Northside Therapy\ntimezone: UTC\n")
    code, _, err = cli(capsys, "settings", "set", "--db", db, "practice_name", "x" * 121)
    assert code == 1 and "at most 120 characters" in err
    code, out, _ = cli(capsys, "settings", "set", "--db", db, "practice_name", "")
    assert out == "practice_name: cleared\n"
    con = open_store(db)
    try:
        assert con.execute("select count(*) from settings where key = 'practice_name'").fetchone()[0] == 0
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------
# export, and import --format parquet (the backup)
# ---------------------------------------------------------------------------------------------


def test_summary_csv_goes_through_the_formula_safe_writer(practice, capsys):
    con = open_store(practice)
    con.execute("insert into clients (client_id, therapist_id, label) values ('@SUM(1+1)', 'T2', 'x')")
    con.close()
    code, out, err = cli(capsys, "summary", "--db", practice, "--by", "client", "--format", "csv", "--as-of", AS_OF)
    assert code == 0, err
    rows = {r["client_id"]: r for r in read_csv(out)}
    assert "'@SUM(1+1)" in rows and rows["'@SUM(1+1)"]["therapist_id"] == "T2"
    assert '"\'@SUM(1+1)","T2",0,' in out  # text quoted, numbers bare


def test_export_writes_the_files_lists_them_and_a_backup_restores_equal(practice, tmp_path, capsys):
    code, out, err = cli(capsys, "export", "--db", practice, "--tier", "identified", "--format", "csv",
                         "--out", tmp_path / "t1", "--therapist", "T1")
    assert code == 0, err
    assert f"{tmp_path / 't1' / 'clients.csv'}: 2 rows" in out and "sha256" in out
    assert sorted(p.name for p in (tmp_path / "t1").iterdir()) == [
        "assignments.csv", "clients.csv", "measures.csv", "submissions.csv", "therapists.csv"]
    code, out, err = cli(capsys, "export", "--db", practice, "--tier", "identified", "--format", "parquet",
                         "--out", tmp_path / "backup")
    assert code == 0, err
    code, out, err = cli(capsys, "import", "--db", tmp_path / "new.duckdb", "--format", "parquet", tmp_path / "backup")
    assert code == 0, err
    assert "submissions: 11 rows" in out
    old, new = duckdb.connect(str(practice), read_only=True), duckdb.connect(str(tmp_path / "new.duckdb"), read_only=True)
    for table in ("therapists", "clients", "assignments", "submissions", "measures", "import_log"):
        assert new.execute(f"select * from {table} order by all").fetchall() == \
            old.execute(f"select * from {table} order by all").fetchall(), table


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["--tier", "identified", "--format", "csv", "--therapist", ""], 2, "a therapist id cannot be empty"),
    (["--tier", "identified", "--format", "csv", "--therapist", "  "], 2, "a therapist id cannot be empty"),
    (["--tier", "identified", "--format", "csv", "--therapist", "T9"], 1, "no therapist 'T9' in the store"),
    (["--tier", "identified", "--format", "parquet", "--therapist", "T1"], 2, "takes no therapist and no dates"),
    (["--tier", "identified", "--format", "parquet", "--from", "2026-03-01"], 2, "takes no therapist and no dates"),
    (["--tier", "deidentified", "--format", "csv", "--from", "2026-03-09", "--to", "2026-03-01"], 2,
     "--from is after --to"),
    (["--tier", "identified", "--format", "csv", "--aggregates-only"], 2, "goes with --tier deidentified"),
    (["--tier", "public", "--format", "csv"], 2, "invalid choice"),
    (["--tier", "identified", "--format", "csv", "--from", "03/01/2026"], 2, "is not a date"),
])
def test_export_refuses_bad_usage_with_a_clear_message(practice, tmp_path, capsys, argv, code, message):
    found, out, err = cli(capsys, "export", "--db", practice, "--out", tmp_path / "out", *argv)
    assert found == code and message in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_export_never_writes_into_a_folder_that_holds_files(practice, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    code, out, err = cli(capsys, "export", "--db", practice, "--tier", "deidentified", "--format", "xlsx",
                         "--out", tmp_path / "out")
    assert code == 1 and "is not an empty folder" in err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]


def test_import_parquet_takes_one_backup_folder(practice, tmp_path, capsys):
    code, _, err = cli(capsys, "import", "--db", tmp_path / "new.duckdb", "--format", "parquet",
                       tmp_path / "nowhere")
    assert code == 2 and "restores one backup folder" in err
    (tmp_path / "empty").mkdir()
    code, _, err = cli(capsys, "import", "--db", tmp_path / "new.duckdb", "--format", "parquet", tmp_path / "empty")
    assert code == 1 and "holds no manifest.json" in err
# progress on long work
# ---------------------------------------------------------------------------------------------


def test_progress_lines_wait_a_few_seconds_then_come_at_most_once_a_second():
    from analytics.cli import StderrProgress
    from analytics.ingest.importer import Progress

    now = [100.0]
    out = io.StringIO()
    told = StderrProgress(after=2.0, every=1.0, clock=lambda: now[0], stream=out)
    for at, rows in ((100.5, 0), (102.1, 50_000), (102.5, 100_000), (103.2, 150_000)):
        now[0] = at
        told(Progress("reading", "submissions.csv", None, rows, rows / 300_000 * 0.6))
    now[0] = 103.3
    told(Progress("checking", "submissions.csv", "submissions", 150_000, 0.66))  # a new step: said at once
    assert out.getvalue().splitlines() == [
        "reading submissions.csv: 50,000 rows (10%)",
        "reading submissions.csv: 150,000 rows (30%)",
        "checking submissions from submissions.csv: 150,000 rows (66%)",
    ]


def test_a_long_import_prints_progress_to_stderr_unless_quiet(tmp_path, capsys, monkeypatch):
    import analytics.cli as cli_module

    rows = "".join(f"C{n},T1,Client {n}\n" for n in range(60_000))
    (path,) = write_files(tmp_path / "big", clients="client_id,therapist_id,label\n" + rows)
    therapists = write_files(tmp_path / "t", therapists=THERAPISTS)[0]
    original = cli_module.StderrProgress.__init__

    def at_once(self, **kwargs):
        original(self, after=0.0, every=0.0)  # as if the work took long: every step is said

    monkeypatch.setattr(cli_module.StderrProgress, "__init__", at_once)
    code, out, err = cli(capsys, "import", "--db", tmp_path / "s.duckdb", therapists, path)
    assert code == 0, out
    assert "reading clients.csv: 50,000 rows" in err and "writing clients from clients.csv: 60,000 rows" in err
    assert "reading" not in out  # the report stays clean on stdout
    code, out, err = cli(capsys, "import", "--db", tmp_path / "s2.duckdb", "--quiet", therapists, path)
    assert code == 0 and err == ""
