"""The sidebar's client picker (dashboard.pick_client): clients shown alike get their id added, the others not."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from analytics.store.database import open_store
from tests.pages.test_pages import DASHBOARD, no_exception


def test_two_clients_shown_alike_are_told_apart_by_their_id_and_the_others_are_shown_as_they_are(
        store_path: Path) -> None:
    con = open_store(store_path)
    try:  # C2 (Ada Byron's, like C1) takes C1's label: both read "Client One · Ada Byron"
        con.execute("update clients set label = 'Client One' where client_id = 'C2'")
    finally:
        con.close()
    at = no_exception(AppTest.from_file(str(DASHBOARD), default_timeout=30).run())
    at = no_exception(at.switch_page("pages/client.py").run())
    picker = at.selectbox(key="client_picker")
    # options are the formatted labels, in the picker's order (by label, then id)
    assert picker.options == [
        "Client Four · Robin **Bold** Lee",
        "Client One · Ada Byron (C1)",
        "Client One · Ada Byron (C2)",
        "Client Three · Robin **Bold** Lee",
    ]


def test_the_therapists_are_read_again_on_every_rerun(store_path: Path) -> None:
    """dashboard.therapist_names reads them once per rerun (the sidebar and the page ask up to three times): a
    therapist added between two clicks is in "View as" at the next."""
    at = no_exception(AppTest.from_file(str(DASHBOARD), default_timeout=30).run())
    at = no_exception(at.switch_page("pages/caseload.py").run())
    assert at.selectbox(key="view_as").options == ["Whole practice", "Ada Byron", "Robin **Bold** Lee"]
    con = open_store(store_path)
    try:
        con.execute("insert into therapists (therapist_id, name) values ('T3', 'Cy Young')")
    finally:
        con.close()
    at = no_exception(at.run())
    assert at.selectbox(key="view_as").options == ["Whole practice", "Ada Byron", "Cy Young", "Robin **Bold** Lee"]
    # the page's own therapist filter, drawn later in the same rerun, lists the same
    assert at.selectbox(key="caseload_therapist").options == ["All therapists", "Ada Byron", "Cy Young",
                                                              "Robin **Bold** Lee"]
