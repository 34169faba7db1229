"""The client picker's choices on a large caseload (bounds.picker_choices, bounds.picker_note): at most `limit`
offered, found by what is typed in the text the caller lets a search look in, with the client on screen always kept."""

from __future__ import annotations

from analytics.present import bounds

# client_id -> the text searched, in the picker's order (by label)
SEARCHED = {
    "C3": "Alex Moss · Dr Ng C3",
    "C1": "Bea Stone · Dr Ng C1",
    "C7": "Cal Moss · Dr Roe C7",
    "C2": "Dee Park · Dr Roe C2",
    "C9": "Eli Mossop · Dr Roe C9",
}


def test_with_nothing_typed_the_first_clients_in_order_are_offered_and_every_client_matches() -> None:
    assert bounds.picker_choices(SEARCHED, find="", chosen="C3", limit=3) == (["C3", "C1", "C7"], 5)
    assert bounds.picker_choices(SEARCHED, find="   ", chosen=None, limit=2) == (["C3", "C1"], 5)


def test_the_client_on_screen_is_offered_first_when_the_cut_or_the_search_leaves_it_out() -> None:
    assert bounds.picker_choices(SEARCHED, find="", chosen="C9", limit=2) == (["C9", "C3", "C1"], 5)
    # "moss" matches C3, C7 and C9 (Mossop), in order, whatever the case; C2 is on screen and kept first
    assert bounds.picker_choices(SEARCHED, find="MOSS", chosen="C2", limit=10) == (["C2", "C3", "C7", "C9"], 3)
    # a chosen client that is not in scope is not offered (the frame has already moved to one in scope)
    assert bounds.picker_choices(SEARCHED, find="moss", chosen="C404", limit=10) == (["C3", "C7", "C9"], 3)


def test_a_search_counts_every_match_but_offers_at_most_the_limit() -> None:
    assert bounds.picker_choices(SEARCHED, find="dr roe", chosen="C7", limit=2) == (["C7", "C2"], 3)
    assert bounds.picker_choices(SEARCHED, find=" c1 ", chosen="C1", limit=2) == (["C1"], 1)
    assert bounds.picker_choices(SEARCHED, find="nobody", chosen="C1", limit=2) == (["C1"], 0)


def test_the_note_says_what_the_picker_lists_and_nothing_when_it_lists_every_client() -> None:
    assert bounds.picker_note(matching=5, total=5, find="", limit=5) == ""
    assert bounds.picker_note(matching=1100, total=1100, find="", limit=500) == (
        "The first 500 of 1,100 clients are listed: type in “Find a client” to list others.")
    assert bounds.picker_note(matching=0, total=1100, find="zz", limit=500) == (
        "No client matches that text (of 1,100 clients).")
    assert bounds.picker_note(matching=612, total=1100, find="1", limit=500) == (
        "612 clients match: the first 500 are listed. Type more to narrow them.")
    assert bounds.picker_note(matching=11, total=1100, find="109", limit=500) == "11 of 1,100 clients match."
