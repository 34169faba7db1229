"""Pseudonyms (HMAC-SHA256 with the practice's secret) and suppression (1 to k, and complementary), checked against
hand-worked tables and an independent attack: solving the published totals for each hidden count."""

from __future__ import annotations

import hashlib
import hmac
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from suppression_attack import attack  # tests/export/suppression_attack.py

from analytics.export import deidentify
from analytics.store.database import StoreError, open_store

# --- Pseudonyms --------------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=1, max_size=100), st.sampled_from(sorted(deidentify.KINDS)),
       st.text(st.characters(exclude_categories=("Cs",)), max_size=30))
def test_the_pseudonym_duckdb_computes_is_hmac_sha256_of_kind_and_id(secret: bytes, kind: str, identifier: str) -> None:
    con = open_store(":memory:")
    sql = f"select {deidentify.pseudonym_sql(kind, '$id')}"
    (found,) = con.execute(sql, {"id": identifier, **deidentify.hmac_parameters(secret)}).fetchall()[0]
    digest = hmac.new(secret, f"{kind}:{identifier}".encode(), hashlib.sha256).hexdigest()  # the standard library
    assert found == deidentify.pseudonym(secret, kind, identifier) == f"{deidentify.KINDS[kind]}-{digest[:16]}"


def test_a_pseudonym_depends_on_the_secret_and_the_kind_and_holds_nothing_of_the_id() -> None:
    one, other = b"a" * 32, b"b" * 32
    assert deidentify.pseudonym(one, "client", "C1") == deidentify.pseudonym(one, "client", "C1")
    assert deidentify.pseudonym(one, "client", "C1") != deidentify.pseudonym(other, "client", "C1")
    assert deidentify.pseudonym(one, "client", "C1")[2:] != deidentify.pseudonym(one, "therapist", "C1")[2:]
    assert "C1" not in deidentify.pseudonym(one, "client", "C1")[1:]


def test_the_secret_is_made_once_and_kept_in_the_store(tmp_path) -> None:
    con = open_store(tmp_path / "s.duckdb")
    first = deidentify.practice_secret(con)
    assert len(first) == 32 and deidentify.practice_secret(con) == first
    con.close()
    assert deidentify.practice_secret(open_store(tmp_path / "s.duckdb")) == first
    assert deidentify.practice_secret(open_store(tmp_path / "other.duckdb")) != first


def test_sessions_asking_for_the_secret_at_once_all_get_the_same_one(tmp_path) -> None:
    con = open_store(tmp_path / "s.duckdb")
    found: list[bytes] = []
    barrier = threading.Barrier(6)

    def ask() -> None:
        cursor = con.cursor()
        barrier.wait()
        found.append(deidentify.practice_secret(cursor))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 6 and len(set(found)) == 1
    assert con.execute("select count(*) from settings where key = ?", [deidentify.SECRET_KEY]).fetchall() == [(1,)]


def test_k_is_10_until_the_practice_sets_it_and_must_be_a_whole_number_of_at_least_1() -> None:
    con = open_store(":memory:")
    assert deidentify.suppression_k(con) == 10
    deidentify.set_suppression_k(con, 5)
    assert deidentify.suppression_k(con) == 5
    for bad in (0, -3, 2.5):
        with pytest.raises(ValueError):
            deidentify.set_suppression_k(con, bad)
    assert deidentify.suppression_k(con) == 5
    con.execute("update settings set value = 'ten' where key = ?", [deidentify.K_KEY])
    with pytest.raises(StoreError, match="export.suppression_k"):
        deidentify.suppression_k(con)


# --- Suppression ---------------------------------------------------------------------------------------------------


def with_totals(parts: list[list[int]]) -> np.ndarray:
    grid = np.array(parts, dtype=np.int64)
    grid = np.hstack([grid, grid.sum(axis=1, keepdims=True)])
    return np.vstack([grid, grid.sum(axis=0, keepdims=True)])


def test_a_worked_example_two_small_cells_and_their_complements() -> None:
    # By type x completion (completed, partial, skipped | total), k = 10:
    #   journaling   50   3  20 |  73     3 is hidden (1..10); alone in its row and column it would be 73-50-20.
    #   behavioural  40  30  25 |  95
    #   mindfulness  60  35   2 |  97     2 is hidden; alone it would be 97-60-35.
    #   total       150  68  47 | 265
    # The smallest shown count beside each is hidden too: 20 in journaling's row, 35 in mindfulness's. The four
    # hidden cells then form a rectangle: adding 1 to 3 and 2 and taking 1 from 20 and 35 keeps every total.
    table = with_totals([[50, 3, 20], [40, 30, 25], [60, 35, 2]])
    (mask,) = deidentify.suppress([table], 10)
    assert mask.astype(int).tolist() == [[0, 1, 1, 0], [0, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    assert attack([table], [mask]) == set()
    # Primary suppression alone would give both small cells away.
    primary = (table >= 1) & (table <= 10)
    assert attack([table], [primary]) == {(0, 0, 1), (0, 2, 2)}


def test_zeros_and_counts_above_k_are_shown() -> None:
    table = with_totals([[0, 11], [12, 0]])
    (mask,) = deidentify.suppress([table], 10)
    assert not mask.any()


def test_k_itself_is_suppressed_and_k_plus_1_is_not() -> None:
    # 10, 3, 4 and 2 are hidden and already form a rectangle, so nothing more is needed: 11 stays.
    table = with_totals([[10, 3, 40], [4, 2, 50], [11, 30, 60]])
    (mask,) = deidentify.suppress([table], 10)
    assert mask.astype(int).tolist() == [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]


def test_a_small_total_is_hidden_in_every_table_that_shares_it() -> None:
    by_type = with_totals([[4, 30], [3, 40]])  # the partial total is 7
    by_week = with_totals([[2, 35], [5, 35]])
    masks = deidentify.suppress([by_type, by_week], 10)
    assert masks[0][-1, 0] and masks[1][-1, 0]
    assert attack([by_type, by_week], masks) == set()


@st.composite
def tables_sharing_totals(draw: st.DrawFn) -> list[np.ndarray]:
    """One to three tables counting the same records by different dimensions (like by type, by therapist, by week),
    each by one of up to four columns (like completion), with their totals."""
    columns = draw(st.integers(1, 4))
    records = draw(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.integers(0, 6),
                                       st.integers(0, columns - 1)), min_size=1, max_size=150))
    tables = []
    for dimension in range(draw(st.integers(1, 3))):
        rows = sorted({record[dimension] for record in records})
        counts = np.zeros((len(rows), columns), dtype=np.int64)
        for record in records:
            counts[rows.index(record[dimension]), record[3]] += 1
        tables.append(with_totals(counts.tolist()))
    return tables


@settings(max_examples=150, deadline=None)
@given(tables_sharing_totals(), st.integers(1, 12))
def test_no_hidden_count_can_be_worked_out_from_the_totals(tables: list[np.ndarray], k: int) -> None:
    masks = deidentify.suppress(tables, k)
    for table, mask in zip(tables, masks, strict=True):
        small = (table >= 1) & (table <= k)
        assert (mask | ~small).all()  # every count from 1 to k is hidden
    # the shared total row is hidden alike everywhere
    assert len({tuple(mask[-1]) for mask in masks}) == 1
    assert attack(tables, masks) == set()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=12), st.integers(1, 12))
def test_a_single_column_with_its_total_keeps_hidden_counts_hidden(counts: list[int], k: int) -> None:
    table = np.array([*counts, sum(counts)], dtype=np.int64).reshape(-1, 1)
    (mask,) = deidentify.suppress([table], k, row_totals=False)
    assert (mask | ~((table >= 1) & (table <= k))).all()
    assert attack([table], [mask], row_totals=False) == set()
