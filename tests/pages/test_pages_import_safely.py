"""The Data page's safe import, run headless with AppTest: Validate says what will change; stored rows change
only after the tick naming their count (or stay with "only new"); the import log is a readable table whose rows
show their files' hashes and undo the batch; a name that fits two therapists is asked; the upload limit is one
number; the preview of a file is computed once."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.ingest import importer
from analytics.store.database import open_store
from tests.conftest import fixture_files

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard.py"


def changed_submissions() -> bytes:
    """The fixture's submissions with S2 and S3 changed (partial -> completed, completed -> skipped), S11 added."""
    lines = dict(fixture_files())["submissions.csv"].decode().splitlines()  # dated from today when the test runs
    header, rows = lines[0], lines[1:]
    out = []
    for row in rows:
        cells = row.split(",")
        if cells[0] == "S2":
            cells[3] = "completed"
        if cells[0] == "S3":
            cells[3] = "skipped"
        out.append(",".join(cells))
    new = rows[0].split(",")
    new[0] = "S11"
    return "\n".join([header, *out, ",".join(new)]).encode() + b"\n"


def no_exception(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def frame_with(at: AppTest, *columns: str):
    return next((d.value for d in at.dataframe if set(columns) <= set(d.value.columns)), None)


def texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


@pytest.fixture
def data_page(store_path: Path) -> AppTest:
    at = no_exception(AppTest.from_file(str(DASHBOARD), default_timeout=60).run())
    return no_exception(at.switch_page("pages/data.py").run())


def completions(store_path: Path) -> dict[str, str]:
    con = open_store(store_path)
    try:
        return dict(con.execute("select submission_id, completion from submissions").fetchall())
    finally:
        con.close()


def test_changes_to_stored_rows_are_shown_and_written_only_after_the_tick_naming_them(data_page, store_path):
    at = data_page
    before = completions(store_path)
    at.file_uploader[0].set_value([("submissions.csv", changed_submissions(), "text/csv")])
    no_exception(at.run())
    no_exception(at.button(key="validate_button").click().run())
    assert [w.value for w in at.warning] == [
        "Valid, but 2 rows already stored would change (listed below); nothing was written. Tick “Change …” below "
        "to change them, or “Add only new rows”."]
    files = frame_with(at, "rows_read", "kept")
    assert files[["inserted", "updated", "unchanged", "rejected"]].values.tolist() == [[1, 2, 8, 0]]
    samples = frame_with(at, "key", "before", "after")
    assert samples[["key", "column", "before", "after"]].values.tolist() == [
        ["S2", "completion", "partial", "completed"], ["S3", "completion", "completed", "skipped"]]

    # Import without the tick: refused, nothing written.
    no_exception(at.button(key="import_button").click().run())
    assert completions(store_path) == before
    assert at.warning[0].value.startswith("Not imported: 2 rows already stored would change")

    tick = next(c for c in at.checkbox if c.label == "Change the 2 rows already stored, as listed below")
    no_exception(tick.check().run())
    no_exception(at.button(key="import_button").click().run())
    assert [s.value for s in at.success] == ["Imported. Every page now includes these rows."]
    after = completions(store_path)
    assert (after["S2"], after["S3"], after["S11"]) == ("completed", "skipped", "completed")
    assert len(after) == len(before) + 1


def test_only_new_rows_leaves_the_stored_ones_as_they_are(data_page, store_path):
    at = data_page
    before = completions(store_path)
    at.file_uploader[0].set_value([("submissions.csv", changed_submissions(), "text/csv")])
    no_exception(at.run())
    no_exception(at.checkbox(key="import_only_new").check().run())
    no_exception(at.button(key="import_button").click().run())
    assert [s.value for s in at.success] == ["Imported. Every page now includes these rows."]
    files = frame_with(at, "rows_read", "kept")
    assert files[["inserted", "updated", "unchanged", "kept"]].values.tolist() == [[1, 0, 8, 2]]
    after = completions(store_path)
    assert {k: after[k] for k in before} == before and "S11" in after


def test_the_import_log_is_readable_and_a_batch_is_undone_from_it(data_page, store_path):
    at = data_page
    data = changed_submissions()
    con = open_store(store_path)
    before = con.execute("select * from submissions order by all").fetchall()
    con.close()
    at.file_uploader[0].set_value([("submissions.csv", data, "text/csv")])
    no_exception(at.run())
    no_exception(at.checkbox(key="import_only_new").check().run())
    no_exception(at.button(key="import_button").click().run())

    log = frame_with(at, "imported_by", "files", "rows")
    assert log[["imported_by", "files", "tables", "rows", "added", "changed"]].values.tolist()[0] == [
        "local", "submissions.csv", "submissions", 11, 1, 0]
    assert "sha256" not in log.columns and "batch_id" in log.columns  # the hash is one click away
    at.session_state["import_log"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    no_exception(at.run())
    batch_files = frame_with(at, "sha256", "format")
    assert batch_files["sha256"].tolist() == [hashlib.sha256(data).hexdigest()]

    no_exception(at.button(key="undo_button").click().run())
    assert at.success[0].value.startswith("Undone: the store is as it was before batch ")
    con = open_store(store_path)
    assert con.execute("select * from submissions order by all").fetchall() == before
    con.close()
    at.session_state["import_log"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    no_exception(at.run())
    assert at.button(key="undo_button").disabled  # undone once


def test_a_therapist_name_that_fits_two_is_asked_and_the_answer_imports(data_page, store_path):
    con = open_store(store_path)
    con.execute("insert into therapists values ('T7', 'Ada Byron', null)")  # a second Ada Byron (T1 is one)
    con.close()
    at = data_page
    export = b"Client ID,Therapist name,Homework,Assigned,Due date\nC9,Ada Byron,Walk,2026-03-01,2026-03-07\n"
    at.file_uploader[0].set_value([("export.csv", export, "text/csv")])
    no_exception(at.run())
    people = frame_with(at, "written", "by", "matched")
    assert people[["kind", "written", "by", "candidates"]].values.tolist()[0] == [
        "therapist", "Ada Byron", "question", "T1, T7"]
    # (the label is Markdown: the file's text in it is escaped, so it reads as typed)
    question = next(s for s in at.selectbox if s.label.startswith("The therapist “Ada Byron” in export\\.csv fits 2"))
    assert question.options == ["— say which —", "T1", "T7", "someone new (a new therapist)"]
    no_exception(question.set_value("T7").run())
    no_exception(at.button(key="import_button").click().run())
    assert [s.value for s in at.success] == ["Imported. Every page now includes these rows."]
    con = open_store(store_path)
    assert con.execute("select therapist_id from clients where client_id = 'C9'").fetchone() == ("T7",)
    assert con.execute("select count(*) from therapists").fetchone() == (3,)
    con.close()


def test_the_upload_limit_is_one_number_on_the_uploader_and_in_its_help(data_page):
    uploader = data_page.file_uploader[0]
    assert uploader.proto.max_upload_size_mb == importer.DEFAULT_UPLOAD_MB
    assert uploader.help.startswith(f"Up to {importer.DEFAULT_UPLOAD_MB} MB a file")
    assert "import-guide" not in uploader.help


def test_the_preview_is_computed_once_for_the_same_files_and_mapping(data_page, monkeypatch):
    at = data_page
    at.file_uploader[0].set_value([("submissions.csv", changed_submissions(), "text/csv")])
    no_exception(at.run())
    calls = []
    original_preview, original_inspect = importer.preview, importer.inspect_file

    def counted(name, original):
        def call(*args, **kwargs):
            calls.append(name)
            return original(*args, **kwargs)
        return call

    monkeypatch.setattr(importer, "preview", counted("preview", original_preview))
    monkeypatch.setattr(importer, "inspect_file", counted("inspect", original_inspect))
    no_exception(at.checkbox(key="import_skip_invalid").check().run())  # reruns that change neither file nor mapping
    no_exception(at.checkbox(key="import_skip_invalid").uncheck().run())
    assert calls == []
    no_exception(at.selectbox(key="map_0_0_target_").set_value("flat").run())  # another target: read and previewed
    assert calls == ["inspect", "preview"]
    no_exception(at.selectbox(key="map_0_0_target_").set_value("submissions").run())  # back: both already held
    assert calls == ["inspect", "preview", "preview"]  # (the draft is held; the preview of this mapping is redone)


def test_the_page_says_in_one_line_each_how_importing_is_safe(data_page):
    lines = [m.value for m in data_page.markdown]
    for said in ("- Validate shows what the import will change", "- Rows already stored are changed only when you "
                 "tick", "- Every import can be undone from the import log", "- Therapists and clients named in an "
                 "export are matched"):
        assert any(line.startswith(said) for line in lines), said


def test_the_steps_of_a_check_are_shown_with_row_counts_and_cells_left_empty_show_empty(data_page):
    at = data_page
    at.file_uploader[0].set_value([("submissions.csv", changed_submissions(), "text/csv")])
    no_exception(at.run())
    no_exception(at.button(key="validate_button").click().run())
    (status,) = [s for s in at.status if s.label == "Checking: done"]
    assert [t.value for t in status.text] == ["Reading submissions.csv: 11 rows",
                                              "Checking submissions from submissions.csv: 11 rows"]
    # The tables that can hold empty cells (the preview, the sample of changes, the problems, the log) show them
    # empty, never "None": their placeholder is set, to "".
    holding_empty_cells = [d for d in at.dataframe if {"line", "batch_id", "written"} & set(d.value.columns)]
    assert {tuple(d.value.columns[:2]) for d in holding_empty_cells} >= {
        ("line", "submission_id"), ("table", "line"), ("severity", "file"), ("batch_id", "imported_at")}
    assert all(d.proto.HasField("placeholder") and d.proto.placeholder == "" for d in holding_empty_cells)


def test_the_same_numbers_on_the_page_and_in_the_command_lines_dry_run(data_page, store_path, tmp_path, capsys):
    from analytics.cli import main

    at = data_page
    data = changed_submissions()
    at.file_uploader[0].set_value([("submissions.csv", data, "text/csv")])
    no_exception(at.run())
    no_exception(at.button(key="validate_button").click().run())
    page = frame_with(at, "rows_read", "kept")[["rows_read", "inserted", "updated", "unchanged", "rejected"]]
    (tmp_path / "submissions.csv").write_bytes(data)
    assert main(["import", "--db", str(store_path), "--dry-run", "--quiet", str(tmp_path / "submissions.csv")]) == 1
    out = capsys.readouterr().out
    read, added, changed, unchanged, rejected = page.values.tolist()[0]
    assert (f"submissions.csv -> submissions: {read} read, {added} to add, {changed} to change, {unchanged} "
            f"unchanged, {rejected} rejected") in out


def test_an_empty_store_takes_a_mindlogger_report_with_a_new_therapist_and_mood_items_chosen(empty_store_path):
    from tests.ingest.test_real_exports import OLD_COLUMNS, OLD_ROWS, plain

    at = no_exception(AppTest.from_file(str(DASHBOARD), default_timeout=60).run())
    at = no_exception(at.switch_page("pages/data.py").run())
    at.file_uploader[0].set_value([("report.csv", plain(OLD_COLUMNS, OLD_ROWS), "text/csv")])
    no_exception(at.run())
    key = "map_0_0_mindlogger__"
    assert at.selectbox(key=key + "mood_item").options == ["— no mood —", "mood_after", "mood_before", "feelings"]
    no_exception(at.selectbox(key=key + "mood_item").set_value("mood_after").run())
    no_exception(at.selectbox(key=key + "mood_before_item").set_value("mood_before").run())
    no_exception(at.selectbox(key=key + "therapist").set_value("\x00new").run())
    no_exception(at.text_input(key=key + "new_therapist_name").input("Nia Obi").run())
    people = frame_with(at, "written", "by", "matched")
    assert ["therapist", "Nia Obi", "new"] in people[["kind", "written", "by"]].values.tolist()
    no_exception(at.button(key="import_button").click().run())
    assert [s.value for s in at.success] == ["Imported. Every page now includes these rows."]
    con = open_store(empty_store_path)
    try:
        assert con.execute("select name from therapists").fetchall() == [("Nia Obi",)]
        assert con.execute("select submission_id, mood_before, mood_after from submissions order by 1").fetchall() == [
            ("sub-1", 4, 7), ("sub-2", 3, 8)]
    finally:
        con.close()
