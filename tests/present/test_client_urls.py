"""The links of the Caseload tables: `client_urls` gives for each id what urlencode gives for the query "client=<id>"."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st

from analytics.present.tables import client_urls


def client_url(client_id: str) -> str:
    """The definition the links are held to: the Client page's query string as urlencode writes it."""
    return "client?" + urlencode({"client": client_id})


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
