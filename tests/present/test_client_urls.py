"""The links of the Caseload tables: `client_urls` (many ids at once) gives what `client_url` gives for each id."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from analytics.present.tables import client_url, client_urls


def test_an_id_with_characters_a_url_reserves_is_escaped() -> None:
    assert client_urls(["C1", "a b&c=d", "x+y/z?", "Zoë#1", "a.b_c~d-9", "C1\n", "٣"]) == [
        "client?client=C1", "client?client=a+b%26c%3Dd", "client?client=x%2By%2Fz%3F", "client?client=Zo%C3%AB%231",
        "client?client=a.b_c~d-9", "client?client=C1%0A", "client?client=%D9%A3"]


@given(st.lists(st.text(alphabet="AZaz09_.~-+ /%é\n", max_size=12), max_size=8))
def test_client_urls_equals_client_url_for_ids_near_the_unreserved_characters(ids: list[str]) -> None:
    assert client_urls(ids) == [client_url(client_id) for client_id in ids]


@given(st.lists(st.text(max_size=12), max_size=8))
def test_client_urls_equals_client_url_for_each_id(ids: list[str]) -> None:
    assert client_urls(ids) == [client_url(client_id) for client_id in ids]
