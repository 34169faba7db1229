"""The shortcuts of the Client, Effectiveness, Planner and Data pages give exactly what the plain computation gives.

On randomised small practices (tests/metrics/test_facts.py's generator, in time zones from UTC-12 to UTC+14, where
a local day is furthest from the stored instant's UTC day):
- one client's figures over their therapist's caseload (clients.one_client_scope) equal the same SQL run over
  the whole practice, and the windows first tested on the stored instant (near_local_days, inside_local_days)
  equal the exact test on the local day alone (the SQL with those lines taken out);
- the profile's sums (profile.PROFILE_SUMS) with inside_local_days equal them without it, over a period and
  over everything up to today;
- store_contents' first and last submission day, read near the first and last instant, equal min and max over
  every submission;
- fits_excel's answer from the stored tables' sizes equals counting every table of the export, whatever the
  sheet's size.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import replace
from datetime import timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.export import exports, safe_files, tiers
from analytics.ingest.importer import import_batch
from analytics.metrics import adherence, clients, effectiveness, profile, timeline
from analytics.planning import planner
from analytics.store.database import open_store, read_snapshot, set_timezone
from analytics.store.period import Period
from analytics.store.scope import Scope, ScopeError
from analytics.store.vocabulary import ASSIGNMENT_TYPES
from tests.metrics.test_facts import BASE, _files, practice

PRACTICE = Scope.practice()
ZONES = ("UTC", "Etc/GMT+12", "Pacific/Kiritimati", "America/New_York", "Asia/Tokyo")
PREFILTERS = ("near_local_days(", "inside_local_days(")


def plain(sql: str) -> str:
    """The SQL without its cheap first tests on the stored instant: the lines that call near_local_days, and
    `inside_local_days(...) or` in front of an exact test."""
    lines = []
    for line in sql.splitlines():
        if line.strip().startswith("and near_local_days("):
            continue
        if "inside_local_days(" in line:
            before, _, rest = line.partition("(inside_local_days(")
            line = before + "(" + rest.split(" or ", 1)[1]
        lines.append(line)
    text = "\n".join(lines)
    assert not any(prefilter in text for prefilter in PREFILTERS), text
    return text


def store_of(data: dict, zone: str):
    con = open_store(":memory:")
    set_timezone(con, zone)
    report = import_batch(con, _files(data), scope=PRACTICE, imported_by="test")
    assert report.accepted, report.to_text()
    return con


def rows(con, sql: str, params: dict) -> list[tuple]:
    return sorted(con.execute(sql, params).fetchall(), key=repr)


def close(a: list[tuple], b: list[tuple]) -> bool:
    """Equal row for row; floats (sums in another order) to 1e-9."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        for u, v in zip(x, y, strict=True):
            if isinstance(u, float) and isinstance(v, float):
                if not (u == v or (u != u and v != v) or abs(u - v) <= 1e-9 * max(1.0, abs(u))):
                    return False
            elif u != v:
                return False
    return True


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=practice, zone=st.sampled_from(ZONES), length=st.sampled_from([1, 7, 28]))
def test_one_client_and_windowed_queries_equal_the_plain_computation(data: dict, zone: str, length: int) -> None:
    con = store_of(data, zone)
    try:
        for offset in data["as_of"][:2]:
            today = BASE + timedelta(days=offset)
            period = Period.last_days(length, today=today)
            window = {"start": period.start, "end": period.end, "as_of": period.as_of(today)}
            for client in ("C0", "C1", "C2", "C3"):
                narrowed = clients.one_client_scope(con, scope=PRACTICE, client_id=client)
                assert narrowed.therapist_id == ("T1" if client in ("C0", "C2") else "T2")
                base = {"client_id": client, "scope_therapist": None}
                # by type, one client: over their therapist's caseload and the window first tested on the instant
                fast = effectiveness.by_type(con, scope=PRACTICE, period=period, today=today, client_id=client)
                plain_rows = con.execute(plain(effectiveness.BY_TYPE), {**base, **window}).df()
                assert sorted(fast["assignment_type"]) == sorted(plain_rows["assignment_type"])
                for column in ("due", "expected", "credit", "mood_lift_n", "quality_n"):
                    assert dict(zip(fast["assignment_type"], fast[column], strict=True)) == dict(
                        zip(plain_rows["assignment_type"], plain_rows[column], strict=True)), column
                # week by week
                weeks = timeline.client_weeks(con, scope=PRACTICE, client_id=client, period=period, today=today)
                plain_weeks = con.execute(plain(timeline.CLIENT_WEEKS), {**base, **window}).df()
                for column in ("due", "expected", "credit", "submissions", "done", "mood_n"):
                    assert list(weeks[column]) == list(plain_weeks[column]), column
                # submissions in the period
                listed = clients.submission_list(con, scope=PRACTICE, client_id=client, period=period, today=today)
                plain_list = con.execute(plain(clients.SUBMISSION_LIST), {
                    **base, "free_text": True, "start": period.start, "as_of": period.as_of(today)}).df()
                assert list(listed["submission_id"]) == list(plain_list["submission_id"])
                # current homework and the recent pace
                current = planner.current_assignments(con, scope=PRACTICE, client_id=client, today=today)
                plain_current = con.execute(planner.CURRENT_ASSIGNMENTS, {
                    **base, "today": today, "since": today - timedelta(days=planner.CURRENT_DAYS_BACK),
                    "limit": 100}).df()
                assert current.astype(str).equals(plain_current.astype(str))
                window_start = today - timedelta(days=7 * planner.RECENT_WEEKS - 1)
                pace_params = {**base, "window_start": window_start, "today": today}
                assert con.execute(planner.RECENT_WORK, pace_params).fetchone() == con.execute(
                    plain(planner.RECENT_WORK), pace_params).fetchone()
    finally:
        con.close()


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=practice, zone=st.sampled_from(ZONES), length=st.sampled_from([3, 28, None]))
def test_the_profile_sums_and_store_contents_equal_the_plain_computation(data: dict, zone: str,
                                                                         length: int | None) -> None:
    con = store_of(data, zone)
    try:
        for offset in data["as_of"]:
            today = BASE + timedelta(days=offset)
            start = profile.SINCE_THE_START if length is None else today - timedelta(days=length - 1)
            for therapist in (None, "T1"):
                params = {"scope_therapist": therapist, "client_id": "C1", "start": start, "as_of": today,
                          "canonical_types": list(ASSIGNMENT_TYPES)}
                assert close(rows(con, profile.PROFILE_SUMS, params), rows(con, plain(profile.PROFILE_SUMS), params))
                # inside_local_days is only ever true where the local day is in the window
                assert con.execute(
                    "select count(*) from submission_facts where inside_local_days(submitted_at, $start, $as_of) "
                    "and not (submitted_on between $start and $as_of)", {"start": start, "as_of": today}
                ).fetchone()[0] == 0
        for therapist in (None, "T1", "T2"):
            scope = Scope.practice().narrowed_to(therapist)
            contents = adherence.store_contents(con, scope=scope).set_index("what")
            direct = con.execute(
                "select count(*), min(s.submitted_on)::varchar, max(s.submitted_on)::varchar from submission_facts s "
                "join assignments a using (assignment_id) join clients c using (client_id) "
                "where $t is null or c.therapist_id = $t", {"t": therapist}).fetchone()
            shown = [None if pd.isna(value) else value for value in contents.loc["submissions", ["rows", "first", "last"]]]
            assert (int(shown[0]), shown[1], shown[2]) == direct, therapist
    finally:
        con.close()


@pytest.mark.parametrize("sheet_rows", [2, 3, 5, 9, 10, 16, 10_000])
def test_fits_excel_from_the_stored_sizes_equals_counting_every_table(monkeypatch: pytest.MonkeyPatch,
                                                                      sheet_rows: int) -> None:
    data = {"assignments": [{"client": i % 4, "assigned": -i, "length": 3, "expected": 1, "cancelled": False}
                            for i in range(8)],
            "submissions": [{"assignment": i, "day": -i, "hour": 12, "completion": "completed", "mood": None}
                            for i in range(14)]}
    con = store_of(data, "UTC")
    try:
        monkeypatch.setattr(safe_files, "EXCEL_MAX_ROWS", sheet_rows)
        # Outside a snapshot every request is counted; inside one each answer is kept by its scope and dates, so the
        # requests asked after it (another scope, other dates, the de-identified tier) must still get their own.
        for snapshot in (nullcontext(con), read_snapshot(con)):
            with snapshot:
                for scope in (PRACTICE, Scope.practice().narrowed_to("T1")):
                    for dates in ((None, None), (BASE - timedelta(days=3), BASE)):
                        queries = tiers.identified_queries(scope=scope, date_from=dates[0], date_to=dates[1])
                        counted = all(con.execute(f"select count(*) from ({q.sql})", q.params).fetchone()[0]
                                      < sheet_rows for q in queries.values())
                        for tier in ("identified", "deidentified"):
                            request = exports.Request(tier, "xlsx", replace(scope, deidentified=tier == "deidentified"),
                                                      *dates)
                            assert exports.fits_excel(con, request) == counted, (sheet_rows, scope, dates, tier)
    finally:
        con.close()


def test_one_client_scope_is_the_clients_therapist_and_refuses_a_client_outside_the_scope() -> None:
    data = {"assignments": [{"client": 0, "assigned": 0, "length": 3, "expected": 1, "cancelled": False}],
            "submissions": []}
    con = store_of(data, "UTC")
    try:
        assert clients.one_client_scope(con, scope=PRACTICE, client_id="C1").therapist_id == "T2"
        therapist = Scope.therapist("T1")
        assert clients.one_client_scope(con, scope=therapist, client_id="C2") == therapist
        with pytest.raises(ScopeError):
            clients.one_client_scope(con, scope=therapist, client_id="C1")
        with pytest.raises(ScopeError):
            clients.one_client_scope(con, scope=PRACTICE, client_id="nobody")
    finally:
        con.close()


def test_plain_takes_out_the_first_tests_only() -> None:
    assert plain("where x\n  and near_local_days(s.a, $s, $e)\n  and s.d between $s and $e") == (
        "where x\n  and s.d between $s and $e")
    assert plain("  and (inside_local_days(s.a, $s, $e) or s.d between $s and $e)") == "  and (s.d between $s and $e)"


@pytest.mark.parametrize("zone", ZONES + ("Pacific/Chatham", "Australia/Lord_Howe"))
@pytest.mark.parametrize("first, last", [("2026-03-05", "2026-03-05"), ("2026-03-04", "2026-03-12"),
                                         ("1900-01-01", "2026-03-15")])
def test_inside_local_days_is_true_only_for_instants_whose_local_day_is_in_the_window(zone: str, first: str,
                                                                                      last: str) -> None:
    """Every quarter hour from 1 to 20 March 2026 (New York's clocks change on the 8th): never true outside the
    window, and true for the instants well inside it (what makes it worth testing first)."""
    con = open_store(":memory:")
    try:
        wrong, inside, well_inside = con.execute("""
            with instants as (
                select unnest(generate_series(timestamptz '2026-03-01 00:00:00+00', timestamptz '2026-03-20 00:00:00+00',
                                              interval 15 minute)) as t
            )
            select count(*) filter (where inside_local_days(t, $first, $last)
                                    and not (cast(timezone($zone, t) as date) between $first and $last)),
                   count(*) filter (where inside_local_days(t, $first, $last)),
                   count(*) filter (where t >= timezone('UTC', $first::date + interval 3 day)
                                    and t < timezone('UTC', $last::date - interval 2 day))
            from instants
        """, {"zone": zone, "first": first, "last": last}).fetchone()
        assert wrong == 0
        assert inside >= well_inside
    finally:
        con.close()
