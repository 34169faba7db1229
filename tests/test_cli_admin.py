"""The command line's users and audit commands, and its hardening: `python -m analytics users ...`, `audit`,
`--therapist ''`, user text printed without control characters, absurd mapping files (analytics/cli_admin.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analytics.cli import main
from analytics.cli_admin import safe_text
from analytics.store.database import open_store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "store.duckdb"
    con = open_store(path)
    con.execute("insert into therapists values ('T1', 'Ada Moss', null)")
    con.execute("insert into clients (client_id, therapist_id, label) values "
                "('C1', 'T1', 'Robin' || chr(27) || '[2J' || chr(27) || ']0;owned' || chr(7) || chr(10) || 'next')")
    con.close()
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_users_add_list_disable_enable_set_role(db: Path, capsys) -> None:
    assert run(capsys, "users", "add", "--db", str(db), "--email", "Boss@Example.test", "--role", "admin")[:2] == (
        0, "added boss@example.test as admin\n")
    code, out, _ = run(capsys, "users", "add", "--db", str(db), "--email", "ada@example.test", "--role", "therapist",
                       "--therapist", "T1")
    assert (code, out) == (0, "added ada@example.test as therapist (therapist T1)\n")
    assert run(capsys, "users", "disable", "--db", str(db), "--email", "ADA@example.test")[:2] == (
        0, "ada@example.test is disabled\n")
    assert run(capsys, "users", "enable", "--db", str(db), "--email", "ada@example.test")[:2] == (
        0, "ada@example.test is enabled\n")
    assert run(capsys, "users", "set-role", "--db", str(db), "--email", "ada@example.test", "--role", "analyst")[:2] == (
        0, "ada@example.test is now analyst\n")
    code, out, _ = run(capsys, "users", "list", "--db", str(db), "--format", "json")
    assert code == 0
    assert [(u["email"], u["role"], u["therapist_id"], u["active"]) for u in json.loads(out)] == [
        ("ada@example.test", "analyst", None, True), ("boss@example.test", "admin", None, True)]
    code, out, _ = run(capsys, "users", "list", "--db", str(db), "--format", "csv")
    # Through the formula-safe writer: every text field quoted.
    assert out.splitlines()[0] == '"email","role","therapist_id","therapist_name","active","created_at","changed_at"'


@pytest.mark.parametrize("argv, code, message", [
    (["--email", "a@x.test", "--role", "therapist", "--therapist", "T9"], 1, "error: no therapist 'T9' in the store"),
    (["--email", "a@x.test", "--role", "therapist"], 2, "error: a therapist user needs the therapist id"),
    (["--email", "a@x.test", "--role", "therapist", "--therapist", ""], 2, "a therapist id cannot be empty"),
    (["--email", "a@x.test", "--role", "owner"], 2, "invalid choice: 'owner'"),
    (["--email", "not-an-email", "--role", "admin"], 2, "is not an email address"),
], ids=["unknown therapist", "therapist without --therapist", "blank --therapist", "unknown role", "bad email"])
def test_users_add_errors_are_clear_with_the_usual_exit_codes(db: Path, capsys, argv, code, message) -> None:
    if code == 2 and message.startswith(("a therapist id", "invalid choice")):
        with pytest.raises(SystemExit) as exited:  # argparse refuses it
            main(["users", "add", "--db", str(db), *argv])
        assert exited.value.code == 2
        assert message in capsys.readouterr().err
        return
    got, _, err = run(capsys, "users", "add", "--db", str(db), *argv)
    assert got == code
    assert message in err


def test_a_duplicate_user_is_refused_with_exit_1(db: Path, capsys) -> None:
    run(capsys, "users", "add", "--db", str(db), "--email", "a@x.test", "--role", "admin")
    code, _, err = run(capsys, "users", "add", "--db", str(db), "--email", "A@X.test", "--role", "analyst")
    assert (code, err) == (1, "error: a@x.test is already a user (change them with set-role, enable or disable)\n")


def test_audit_lists_and_verifies_and_finds_an_altered_row(db: Path, capsys) -> None:
    run(capsys, "users", "add", "--db", str(db), "--email", "a@x.test", "--role", "admin")
    run(capsys, "users", "disable", "--db", str(db), "--email", "b@x.test")  # refused: no such user, no row
    run(capsys, "users", "add", "--db", str(db), "--email", "b@x.test", "--role", "analyst")
    code, out, _ = run(capsys, "audit", "--db", str(db), "--format", "json")
    rows = json.loads(out)
    assert code == 0 and [(r["seq"], r["action"], r["object_id"]) for r in rows] == [
        (2, "user added", "b@x.test"), (1, "user added", "a@x.test")]
    assert rows[0]["prev_hash"] == rows[1]["row_hash"]
    code, out, _ = run(capsys, "audit", "--db", str(db), "--action", "user added", "--since", "2000-01-01")
    assert code == 0 and "b@x.test" in out and "prev_hash" not in out
    assert run(capsys, "audit", "--db", str(db), "--verify")[:2] == (
        0, "audit trail intact: 2 row(s), every hash matches\n")
    con = open_store(db)
    con.execute("update audit_log set detail = 'role admin' where seq = 2")
    con.close()
    code, _, err = run(capsys, "audit", "--db", str(db), "--verify")
    assert (code, err) == (1, "audit trail altered at row 2: its contents do not match its hash: it was edited\n")


def test_a_blank_therapist_is_an_error_never_the_whole_practice(db: Path, capsys) -> None:
    for argv in (["summary", "--by", "client"], ["plan", "--client", "C1", "--suggest"]):
        with pytest.raises(SystemExit) as exited:
            main([*argv, "--db", str(db), "--therapist", "  "])
        assert exited.value.code == 2
        assert "a therapist id cannot be empty" in capsys.readouterr().err


def test_user_text_is_printed_without_control_characters_or_escape_codes(db: Path, capsys) -> None:
    con = open_store(db)  # a practice's own template whose title carries escape codes
    con.execute("insert into library_templates values ('U0001', 'journaling', 'Diary' || chr(27) || '[31m red', "
                "'Write.', 10, 2, null, null, null, now(), now(), 'user', null, null)")
    con.close()
    plan = ["plan", "--db", str(db), "--client", "C1", "--suggest", "--as-of", "2026-03-11", "--limit", "50"]
    code, out, _ = run(capsys, *plan)
    assert code == 0
    assert out.startswith("Homework suggestions for Robin next (C1)")  # escape codes gone, the line break a space
    assert "Diary red" in out
    for fmt in ("csv", "table"):
        code, out, _ = run(capsys, *plan, "--format", fmt)
        assert code == 0 and "\x1b" not in out and "\x07" not in out and "Diary red" in out
    code, out, _ = run(capsys, *plan, "--format", "json")
    assert "\x1b" not in out and "\\u001b" in out  # JSON keeps the text, escaped


@pytest.mark.parametrize("raw, clean", [
    ("plain", "plain"), ("red\x1b[31mtext\x1b[0m", "redtext"), ("title\x1b]0;owned\x07!", "title!"),
    ("a\tb\nc\r\nd", "a b c  d"), ("bell\x07", "bell"), ("csi\x9b2J", "csi"), ("rtl\u202eevil", "rtlevil"),
    ("ünïcødé ☂", "ünïcødé ☂"),
])
def test_safe_text(raw: str, clean: str) -> None:
    assert safe_text(raw) == clean


@pytest.mark.parametrize("content, message", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"target": "flat", "columns": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {}}}}}}}}}}', "nested too deeply"),
    ('{"target": "flat", "sheet": ' + "9" * 5000 + "}", "a number too long"),
    ('{"target": "flat", "date_order": 1e999}', "a number too large"),
    ('{"target": "flat", "date_order": NaN}', "NaN is not a number a mapping can hold"),
    (" " * 1_000_001, "too large for a mapping"),
], ids=["deep list", "deep object", "huge integer", "infinite float", "NaN", "huge file"])
def test_an_absurd_mapping_file_is_exit_2_with_a_message(tmp_path: Path, content: str, message: str) -> None:
    mapping = tmp_path / "mapping.json"
    mapping.write_text(content, encoding="utf-8")
    data = tmp_path / "x.csv"
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "analytics", "import", "--db", str(tmp_path / "s.duckdb"),
                           "--mapping", str(mapping), str(data)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
