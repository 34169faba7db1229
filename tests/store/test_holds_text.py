"""schema.sql's holds_text(x): whether feedback holds anything but spaces, as `coalesce(trim(x) <> '', false)` says,
answered without trim for a text that starts with a visible ASCII character."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.store.database import open_store

DEFINITION = "coalesce(trim($x) <> '', false)"


@pytest.fixture(scope="module")
def con():
    con = open_store(":memory:")
    yield con
    con.close()


def holds_text(con, x: str | None) -> bool:
    return con.execute("select holds_text($x)", {"x": x}).fetchone()[0]


@pytest.mark.parametrize(("text", "held"), [
    (None, False), ("", False), ("   ", False),  # nothing, or spaces only
    ("Well done", True), ("  Well done  ", True), ("!", True), ("~", True), ("é", True), (" é", True),
    ("\u00a0", False), ("\u3000", False),  # spaces trim removes too (no-break, ideographic)
    ("\t", True), ("\n", True),  # which trim keeps: so they count as text, as they did before
])
def test_feedback_of_spaces_only_or_none_holds_no_text(con, text: str | None, held: bool) -> None:
    assert holds_text(con, text) is held
    assert con.execute(f"select {DEFINITION}", {"x": text}).fetchone()[0] is held  # the definition says the same


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.none(), st.text(max_size=6), st.text(alphabet=" \t\u00a0\u2003\u3000x!~é", max_size=6)))
def test_holds_text_is_trim_then_not_empty(con, text: str | None) -> None:
    assert holds_text(con, text) == con.execute(f"select {DEFINITION}", {"x": text}).fetchone()[0]
