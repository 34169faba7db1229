"""The Data page's mapping flow, run headless with AppTest: upload a flat export whose columns have other
names, see the proposed mapping, change the date order, preview, validate, save the mapping and import."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.ingest.saved_mappings import load_mapping
from analytics.store.database import open_store

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard.py"
EXPORT = (b"Practice export\n"
          b"Patient ID;Clinician;Task;Kind;Set on;Deadline;Logged at;Result;Mood post;Notes\n"
          b"C1;T1;Evening walk;habit;01/03/2026;07/03/2026;02/03/2026 18:30;done;6;<b>felt good</b>\n"
          b"C1;T1;Evening walk;habit;01/03/2026;07/03/2026;04/03/2026 18:30;half;5;\n")
PREFIX = "map_0_0_"
COLUMN = PREFIX + "flat__col_{}"


def no_exception(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def frame_with(at: AppTest, *columns: str):
    return next((d.value for d in at.dataframe if set(columns) <= set(d.value.columns)), None)


@pytest.fixture
def data_page(store_path: Path) -> AppTest:
    at = no_exception(AppTest.from_file(str(DASHBOARD), default_timeout=60).run())
    return no_exception(at.switch_page("pages/data.py").run())


def test_a_flat_export_is_recognised_mapped_previewed_validated_saved_and_imported(data_page: AppTest, store_path):
    at = data_page
    at.file_uploader[0].set_value([("export.csv", EXPORT, "text/csv")])
    no_exception(at.run())

    texts = [t.value for t in at.text]
    assert "File 1: export.csv" in texts
    assert any("semicolon-separated, header on line 2" in t for t in texts)
    assert at.selectbox(key=PREFIX + "target_").value == "flat"
    assert [at.selectbox(key=COLUMN.format(i)).value for i in range(10)] == [
        "client_id", "therapist_id", "title", "assignment_type", "assigned_on", "due_on", "submitted_at",
        "completion", "mood_after", "client_note"]
    words = {at.selectbox(key=f"{PREFIX}flat__word_completion_{n}").value for n in range(2)}
    assert words == {"completed", "partial"}  # done -> completed, half -> partial

    # Dates like 01/03/2026 are not read until the analyst says which order they are in; the preview says why it
    # shows no assignments.
    assert frame_with(at, "line", "assignment_id", "due_on") is None
    assert ("No rows to show: all 1 row(s) read from export.csv have problems (the first: line 3, Set on "
            "(assigned_on): not a date: expected YYYY-MM-DD).") in [t.value for t in at.text]
    no_exception(at.radio(key=PREFIX + "flat__date_order").set_value("dmy").run())
    preview = frame_with(at, "line", "assignment_id", "due_on")
    assert len(preview) == 1 and str(preview["due_on"].iloc[0])[:10] == "2026-03-07"
    submissions = frame_with(at, "line", "submission_id", "completion")
    assert list(submissions["line"]) == [3, 4] and list(submissions["completion"]) == ["completed", "partial"]

    no_exception(at.button(key="validate_button").click().run())
    assert [s.value for s in at.success] == ["Valid: nothing was written yet. Import to write these rows."]

    no_exception(at.text_input(key=PREFIX + "flat__save_name").input("Clinic export").run())
    no_exception(at.button(key=PREFIX + "flat__save").click().run())
    assert "Clinic export" in at.selectbox(key=PREFIX + "saved").options
    assert "Saved as “Clinic export”." in [t.value for t in at.text]

    no_exception(at.button(key="import_button").click().run())
    assert [s.value for s in at.success] == ["Imported. Every page now includes these rows."]
    files = frame_with(at, "rows_read", "rejected")
    assert files[["table", "inserted"]].to_dict("records") == [
        {"table": "clients", "inserted": 0},
        {"table": "assignments", "inserted": 1}, {"table": "submissions", "inserted": 2}]
    problems = frame_with(at, "severity", "reason")
    assert any("HTML or script" in r for r in problems["reason"])  # the note is kept, and said to be markup
    assert at.file_uploader[0].value == []

    con = open_store(store_path)
    try:
        assert load_mapping(con, "Clinic export").date_order == "dmy"
        assert con.execute("select client_note from submissions where client_note like '<b>%'").fetchall() == [
            ("<b>felt good</b>",)]
    finally:
        con.close()


def test_changing_a_column_and_a_word_changes_what_is_imported(data_page: AppTest, store_path):
    at = data_page
    at.file_uploader[0].set_value([("export.csv", EXPORT, "text/csv")])
    no_exception(at.run())
    no_exception(at.radio(key=PREFIX + "flat__date_order").set_value("dmy").run())
    no_exception(at.selectbox(key=COLUMN.format(8)).set_value("").run())  # ignore "Mood post"
    no_exception(at.selectbox(key=PREFIX + "flat__word_completion_1").set_value("skipped").run())  # half -> skipped
    submissions = frame_with(at, "line", "submission_id", "completion")
    assert list(submissions["completion"]) == ["completed", "skipped"]
    assert "mood_after" not in submissions.columns
    no_exception(at.button(key="import_button").click().run())
    con = open_store(store_path)
    try:
        assert con.execute("select completion, mood_after from submissions where assignment_id like 'A-%' "
                           "order by submitted_at").fetchall() == [("completed", None), ("skipped", None)]
    finally:
        con.close()


def test_a_binary_file_is_refused_with_its_reason_and_nothing_written(data_page: AppTest):
    at = data_page
    at.file_uploader[0].set_value([("clients.csv", b"\x89PNG\r\n\x1a\n\x00\x00binary", "text/csv")])
    no_exception(at.run())
    assert "error: this is a PNG image, not CSV text" in [t.value for t in at.text]
    no_exception(at.button(key="import_button").click().run())
    problems = frame_with(at, "severity", "reason")
    assert list(problems["reason"]) == ["this is a PNG image, not CSV text"]


def test_a_full_disk_during_an_import_is_said_plainly_and_nothing_is_written(data_page: AppTest, store_path, monkeypatch):
    from analytics.ingest import importer
    from analytics.store.database import disk_full

    def full(*args, **kwargs):
        raise disk_full(OSError(28, "No space left on device"))

    con = open_store(store_path)
    try:
        before = con.execute("select count(*) from submissions").fetchone()[0]
    finally:
        con.close()
    at = data_page
    at.file_uploader[0].set_value([("export.csv", EXPORT, "text/csv")])
    no_exception(at.run())
    no_exception(at.radio(key=PREFIX + "flat__date_order").set_value("dmy").run())
    monkeypatch.setattr(importer, "import_batch", full)
    no_exception(at.button(key="import_button").click().run())
    assert [e.value for e in at.error] == [
        "Nothing was saved: the disk is full: nothing was written and the store is as it was; free some space on that "
        "disk and try again."]
    assert [f.name for f in at.file_uploader[0].value] == ["export.csv"]  # the upload is kept for another try
    con = open_store(store_path)
    try:
        assert con.execute("select count(*) from submissions").fetchone()[0] == before
    finally:
        con.close()
