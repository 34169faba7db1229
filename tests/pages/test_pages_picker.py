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
