"""Practice settings: the practice's name, stored in `settings`, trimmed, limited, and cleared by an empty value."""

from __future__ import annotations

import pytest

from analytics.store import settings
from analytics.store.database import open_store


def test_the_practice_name_is_stored_trimmed_and_cleared_when_empty():
    con = open_store(":memory:")
    assert settings.practice_name(con) is None
    assert settings.set_practice_name(con, "  Northside \t Therapy  ") == "Northside Therapy"
    assert settings.practice_name(con) == "Northside Therapy"
    settings.set_practice_name(con, "Southside")  # replaces, never a duplicate key
    assert con.execute("select value from settings where key = 'practice_name'").fetchall() == [("Southside",)]
    assert settings.set_practice_name(con, "   ") == ""
    assert settings.practice_name(con) is None


@pytest.mark.parametrize("name", ["x" * 121, "Bad\x07name"])
def test_a_name_too_long_or_with_control_characters_is_refused_and_nothing_changes(name):
    con = open_store(":memory:")
    settings.set_practice_name(con, "Kept")
    with pytest.raises(ValueError):
        settings.set_practice_name(con, name)
    assert settings.practice_name(con) == "Kept"
