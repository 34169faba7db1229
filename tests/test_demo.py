"""The synthetic demo caseload: deterministic, valid, realistic, movable in time, and fast at scale."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from analytics.demo import DATE_COLUMNS, DATETIME_COLUMNS, MANIFEST_NAME, TABLE_COLUMNS, generate, shift_demo, write_demo
from analytics.ingest.canonical import TABLES
from analytics.store.vocabulary import ASSIGNMENT_STATUSES, ASSIGNMENT_TYPES, CLIENT_STATUSES, COMPLETIONS, CREDIT, MEASURES

END = date(2026, 11, 25)
PROJECT_DIR = Path(__file__).resolve().parents[1]
COMMITTED_DEMO = PROJECT_DIR / "data" / "demo"
TABLE_NAMES = ("therapists", "clients", "assignments", "submissions", "measures")
DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
DATETIME_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


@pytest.fixture(scope="module")
def demo_tables() -> dict[str, pd.DataFrame]:
    """The committed demo's parameters: 40 clients, 4 therapists, 16 weeks, seed 7."""
    return generate(end=END)


@pytest.fixture(scope="module")
def larger_tables() -> dict[str, pd.DataFrame]:
    """Big enough for shares and averages to settle (about 36,000 submissions)."""
    return generate(clients=400, therapists=12, weeks=26, seed=3, end=END)


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "demo"
    write_demo(out, end=END)
    return out


def read_text_table(folder: Path, table: str) -> pd.DataFrame:
    """A CSV as written: every field as text, empty fields as ''."""
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def completion_share_by_client(tables: dict[str, pd.DataFrame], end: date) -> pd.Series:
    """Credit (completed 1, partial 0.5, capped at expected_count) over expected, for homework due by end."""
    assignments, submissions = tables["assignments"], tables["submissions"]
    credit = submissions["completion"].map(CREDIT).groupby(submissions["assignment_id"]).sum()
    due = assignments[(assignments["status"] == "active") & (assignments["due_on"] <= pd.Timestamp(end))].copy()
    due["credit"] = np.minimum(due["assignment_id"].map(credit).fillna(0.0), due["expected_count"].astype(float))
    per_client = due.groupby("client_id")[["credit", "expected_count"]].sum()
    return per_client["credit"] / per_client["expected_count"]


def assert_valid(tables: dict[str, pd.DataFrame], end: date) -> None:
    """Everything an importer would check, plus the generator's own promises."""
    assert list(tables) == list(TABLE_NAMES)
    for name, frame in tables.items():
        assert tuple(frame.columns) == TABLE_COLUMNS[name]
        for column in TABLES[name].required:
            assert frame[column].notna().all(), f"{name}.{column} has empty required fields"
        assert not frame.duplicated(list(TABLES[name].key)).any(), f"{name} has repeated keys"
    therapists, clients, assignments = tables["therapists"], tables["clients"], tables["assignments"]
    submissions, measures = tables["submissions"], tables["measures"]

    # References resolve: submission -> assignment -> client -> therapist; measures -> client.
    assert clients["therapist_id"].isin(therapists["therapist_id"]).all()
    assert assignments["client_id"].isin(clients["client_id"]).all()
    assert submissions["assignment_id"].isin(assignments["assignment_id"]).all()
    assert measures["client_id"].isin(clients["client_id"]).all()

    # Allowed values and ranges.
    assert clients["status"].isin(CLIENT_STATUSES).all()
    assert assignments["assignment_type"].isin(ASSIGNMENT_TYPES).all()
    assert assignments["status"].isin(ASSIGNMENT_STATUSES).all()
    assert submissions["completion"].isin(COMPLETIONS).all()
    assert measures["measure"].isin(list(MEASURES)).all()
    assert (assignments["expected_count"] >= 1).all()
    assert (assignments["est_minutes"] >= 1).all()
    assert (assignments["due_on"] >= assignments["assigned_on"]).all()
    for column, low, high in (("quality", 0, 4), ("mood_before", 0, 10), ("mood_after", 0, 10), ("minutes", 1, 1440)):
        values = submissions[column].dropna()
        assert values.between(low, high).all(), column
    for measure, highest in MEASURES.items():
        assert measures.loc[measures["measure"] == measure, "score"].between(0, highest).all(), measure
    assert therapists["email"].str.endswith("@example.org").all()

    # Skipped means not done: no rating, minutes or mood; done attempts have rating and minutes.
    skipped = submissions["completion"] == "skipped"
    for column in ("quality", "minutes", "mood_before", "mood_after"):
        assert submissions.loc[skipped, column].isna().all(), column
    for column in ("quality", "minutes"):
        assert submissions.loc[~skipped, column].notna().all(), column

    # Time runs forwards and stops at the end of `end`; only current homework is due later.
    last_day, last_moment = pd.Timestamp(end), pd.Timestamp(end) + pd.Timedelta(hours=23, minutes=59, seconds=59)
    assert (clients["intake_date"] <= last_day).all()
    assert (assignments["assigned_on"] <= last_day).all()
    assert (measures["administered_on"] <= last_day).all()
    assert submissions["submitted_at"].max() <= last_moment
    assert submissions["feedback_at"].dropna().max() <= last_moment
    due_later = assignments["due_on"] > last_day
    assert (assignments.loc[due_later, "assigned_on"] > last_day - pd.Timedelta(days=8)).all()
    intake = assignments["client_id"].map(clients.set_index("client_id")["intake_date"])
    assert (assignments["assigned_on"] >= intake).all()
    assert (measures["administered_on"] >= measures["client_id"].map(clients.set_index("client_id")["intake_date"])).all()
    homework = assignments.set_index("assignment_id")
    assigned_on = submissions["assignment_id"].map(homework["assigned_on"])
    due_on = submissions["assignment_id"].map(homework["due_on"])
    assert (submissions["submitted_at"] >= assigned_on).all()
    assert (submissions["submitted_at"] < due_on + pd.Timedelta(days=6)).all()  # at most 5 days late

    has_feedback = submissions["therapist_feedback"].notna()
    assert (has_feedback == submissions["feedback_at"].notna()).all()
    assert (submissions.loc[has_feedback, "feedback_at"] >= submissions.loc[has_feedback, "submitted_at"]).all()
    assert (submissions.loc[has_feedback, "completion"] != "skipped").all()


# --- determinism ------------------------------------------------------------------------------


def test_same_seed_gives_identical_frames(demo_tables: dict[str, pd.DataFrame]) -> None:
    again = generate(end=END)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(demo_tables[name], again[name])


def test_same_seed_gives_identical_file_bytes(demo_files: Path, tmp_path: Path) -> None:
    write_demo(tmp_path, end=END)
    for name in [*TABLE_NAMES, "demo"]:
        file_name = MANIFEST_NAME if name == "demo" else f"{name}.csv"
        assert (tmp_path / file_name).read_bytes() == (demo_files / file_name).read_bytes(), file_name


def test_different_seed_gives_different_data(demo_tables: dict[str, pd.DataFrame]) -> None:
    other = generate(end=END, seed=8)
    for name in ("clients", "assignments", "submissions", "measures"):
        assert not demo_tables[name].equals(other[name]), name


def test_the_committed_demo_is_what_the_generator_writes(tmp_path: Path) -> None:
    manifest = json.loads((COMMITTED_DEMO / MANIFEST_NAME).read_text(encoding="utf-8"))
    write_demo(
        tmp_path,
        clients=manifest["clients"],
        therapists=manifest["therapists"],
        weeks=manifest["weeks"],
        seed=manifest["seed"],
        end=date.fromisoformat(manifest["end"]),
    )
    for name in TABLE_NAMES:
        assert (tmp_path / f"{name}.csv").read_bytes() == (COMMITTED_DEMO / f"{name}.csv").read_bytes(), (
            f"data/demo/{name}.csv is stale: regenerate it with write_demo(Path('data/demo'), end={manifest['end']!r}, ...)"
        )


# --- structure and file format ----------------------------------------------------------------


def test_demo_is_structurally_valid(demo_tables: dict[str, pd.DataFrame]) -> None:
    assert_valid(demo_tables, END)


@pytest.mark.parametrize(
    ("clients", "therapists", "weeks", "seed", "end"),
    [
        (400, 12, 26, 3, END),
        (120, 5, 30, 11, date(2031, 3, 1)),
        (3, 5, 2, 1, END),  # more therapists than clients
        (1, 1, 1, 2, date(2024, 2, 29)),
    ],
)
def test_other_sizes_are_valid(clients: int, therapists: int, weeks: int, seed: int, end: date) -> None:
    tables = generate(clients=clients, therapists=therapists, weeks=weeks, seed=seed, end=end)
    assert_valid(tables, end)
    assert len(tables["clients"]) == clients
    assert len(tables["therapists"]) == therapists


def test_ids_are_zero_padded_and_grow_with_size(larger_tables: dict[str, pd.DataFrame]) -> None:
    assert larger_tables["therapists"]["therapist_id"].iloc[0] == "T01"
    assert larger_tables["clients"]["client_id"].iloc[-1] == "C400"
    assert larger_tables["assignments"]["assignment_id"].str.fullmatch(r"A\d{6}").all()
    assert larger_tables["submissions"]["submission_id"].str.fullmatch(r"S\d{7}").all()
    assert generate(clients=1200, therapists=1, weeks=1, end=END)["clients"]["client_id"].iloc[0] == "C0001"


def test_files_are_canonical_text(demo_files: Path) -> None:
    for name in TABLE_NAMES:
        text = read_text_table(demo_files, name)
        assert tuple(text.columns) == TABLE_COLUMNS[name]
        for column in TABLES[name].columns:
            values = text[column.name]
            filled = values[values != ""]
            if column.required:
                assert len(filled) == len(values), f"{name}.{column.name} has empty required fields"
            pattern = {"date": DATE_TEXT, "datetime": DATETIME_TEXT, "int": re.compile(r"\d+"), "bool": re.compile("true|false")}
            if column.kind in pattern:
                assert filled.str.fullmatch(pattern[column.kind]).all(), f"{name}.{column.name}"
    raw = (demo_files / "submissions.csv").read_bytes()
    assert raw.startswith(b"submission_id,assignment_id,submitted_at,")
    assert b"\r" not in raw
    assert b".0," not in raw


def test_notes_with_commas_quotes_and_line_breaks_survive_the_csv(demo_tables: dict[str, pd.DataFrame], demo_files: Path) -> None:
    notes = read_text_table(demo_files, "submissions")["client_note"]
    assert notes.str.contains("\n", regex=False).any()
    assert notes.str.contains('"', regex=False).any()
    assert notes.str.contains(",", regex=False).any()
    assert notes.replace("", None).tolist() == demo_tables["submissions"]["client_note"].replace(np.nan, None).tolist()


def test_manifest_records_the_parameters(demo_files: Path) -> None:
    manifest = json.loads((demo_files / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest == {"end": "2026-11-25", "seed": 7, "clients": 40, "therapists": 4, "weeks": 16}


def test_write_demo_returns_row_counts(demo_tables: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    counts = write_demo(tmp_path, end=END)
    assert counts == {name: len(frame) for name, frame in demo_tables.items()}


def test_demo_module_does_not_import_streamlit() -> None:
    check = "import sys, analytics.demo; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", check], cwd=PROJECT_DIR, check=False).returncode == 0


# --- realism ----------------------------------------------------------------------------------


def test_demo_has_the_shapes_a_real_practice_has(demo_tables: dict[str, pd.DataFrame]) -> None:
    clients, assignments, submissions = demo_tables["clients"], demo_tables["assignments"], demo_tables["submissions"]
    share = completion_share_by_client(demo_tables, END)
    assert share.min() < 0.2, "a client who does little or nothing"
    assert share.max() >= 0.85, "a client who does nearly everything"
    assert share.between(0.3, 0.8).sum() >= len(share) // 2, "most clients in the middle"

    late = submissions["submitted_at"].dt.normalize() > submissions["assignment_id"].map(
        assignments.set_index("assignment_id")["due_on"]
    )
    assert late.any()
    assert {"completed", "partial", "skipped"} <= set(submissions["completion"])
    assert (assignments["status"] == "cancelled").any()
    assert (assignments["expected_count"] >= 5).any()
    assert (assignments["expected_count"] <= 3).any()
    assert {"journaling", "behavioural", "mindfulness", "creative", "narrative"} <= set(assignments["assignment_type"])
    assert {"paused", "discharged"} <= set(clients["status"])
    assert clients["intake_date"].nunique() > 10, "staggered intakes"
    assert (assignments["due_on"] > pd.Timestamp(END)).any(), "current homework not yet due"
    assert assignments["chosen_with_client"].any() and not assignments["chosen_with_client"].all()


def test_shares_are_in_realistic_ranges(larger_tables: dict[str, pd.DataFrame]) -> None:
    assignments, submissions = larger_tables["assignments"], larger_tables["submissions"]
    due_on = submissions["assignment_id"].map(assignments.set_index("assignment_id")["due_on"])
    late_share = (submissions["submitted_at"].dt.normalize() > due_on).mean()
    assert 0.08 <= late_share <= 0.18
    assert 0.02 <= (assignments["status"] == "cancelled").mean() <= 0.06
    assert 0.25 <= submissions["client_note"].notna().mean() <= 0.35

    done = submissions[submissions["completion"] != "skipped"]
    any_mood = (done["mood_before"].notna() | done["mood_after"].notna()).mean()
    assert 0.7 <= any_mood <= 0.9
    assert (done["mood_before"].notna() & done["mood_after"].isna()).any()
    assert (done["mood_before"].isna() & done["mood_after"].notna()).any()
    # Therapists review week by week and rarely miss one; one in a practice of three or more often does.
    assert 0.8 <= done["therapist_feedback"].notna().mean() <= 0.97

    daily = assignments["expected_count"] >= 5
    assert set(assignments.loc[daily, "expected_count"]) <= {5, 6, 7}
    assert set(assignments.loc[~daily, "expected_count"]) <= {1, 2, 3}
    attempts = submissions.groupby("assignment_id").size()
    extra = attempts > attempts.index.map(assignments.set_index("assignment_id")["expected_count"])
    assert extra.any(), "now and then one more practice than asked"
    assert (attempts <= attempts.index.map(assignments.set_index("assignment_id")["expected_count"]) + 1).all()


def test_mood_lifts_most_after_mindfulness(larger_tables: dict[str, pd.DataFrame]) -> None:
    assignments, submissions = larger_tables["assignments"], larger_tables["submissions"]
    completed = submissions[submissions["completion"] == "completed"].dropna(subset=["mood_before", "mood_after"])
    family = completed["assignment_id"].map(assignments.set_index("assignment_id")["assignment_type"])
    lift = (completed["mood_after"] - completed["mood_before"]).astype(float).groupby(family).mean()
    assert lift["mindfulness"] == lift.max()
    assert 0.9 <= lift["mindfulness"] <= 1.5
    assert lift["creative"] < lift["mindfulness"] - 0.5


def test_clients_do_more_of_the_homework_they_prefer(larger_tables: dict[str, pd.DataFrame]) -> None:
    clients, assignments, submissions = larger_tables["clients"], larger_tables["assignments"], larger_tables["submissions"]
    tags = assignments["client_id"].map(clients.set_index("client_id")["preferences"].fillna(""))
    prefers_writing = tags.str.contains("writing") & assignments["assignment_type"].eq("journaling")
    other_journaling = ~tags.str.contains("writing|structured") & assignments["assignment_type"].eq("journaling")
    credit = submissions["completion"].map(CREDIT).groupby(submissions["assignment_id"]).sum()
    per_expected = assignments["assignment_id"].map(credit).fillna(0.0) / assignments["expected_count"]
    assert per_expected[prefers_writing].mean() > per_expected[other_journaling].mean() + 0.05


def test_high_adherers_improve_more_and_a_few_get_worse(larger_tables: dict[str, pd.DataFrame]) -> None:
    measures = larger_tables["measures"].sort_values(["client_id", "measure", "administered_on"])
    phq = measures[measures["measure"] == "PHQ-9"].groupby("client_id")["score"]
    change = (phq.last() - phq.first())[phq.size() >= 3].astype(float)
    share = completion_share_by_client(larger_tables, END).reindex(change.index)
    assert share.corr(change) < -0.2
    assert change[share >= share.quantile(0.75)].mean() < change[share <= share.quantile(0.25)].mean() - 1.5
    assert (change >= 5).any(), "some clients deteriorate"
    first_scores = measures.groupby(["client_id", "measure"])["score"].first().unstack()
    assert (first_scores["PHQ-9"] >= 10).mean() > 0.25
    assert (first_scores["GAD-7"] >= 8).mean() > 0.25

    gaps = measures.groupby(["client_id", "measure"])["administered_on"].diff().dropna().dt.days
    assert ((gaps >= 14) & (gaps % 7 == 0)).all(), "on session days, at least two weeks apart"
    assert gaps.between(14, 28).mean() > 0.9, "mostly every 2-4 weeks (longer only when one was missed)"


# --- moving the demo in time ------------------------------------------------------------------


def test_shift_moves_every_date_by_the_difference(demo_files: Path, tmp_path: Path) -> None:
    new_end = END + timedelta(days=100)
    assert shift_demo(demo_files, tmp_path, end=new_end) == 100
    for name in TABLE_NAMES:
        before, after = read_text_table(demo_files, name), read_text_table(tmp_path, name)
        assert before.shape == after.shape and list(before.columns) == list(after.columns)
        moved = DATE_COLUMNS[name] + DATETIME_COLUMNS[name]
        for column in before.columns:
            if column not in moved:
                assert before[column].equals(after[column]), f"{name}.{column} text changed"
                continue
            empty = before[column] == ""
            assert (empty == (after[column] == "")).all(), f"{name}.{column} empties changed"
            pattern = DATE_TEXT if column in DATE_COLUMNS[name] else DATETIME_TEXT
            assert after.loc[~empty, column].str.fullmatch(pattern).all()
            difference = pd.to_datetime(after.loc[~empty, column]) - pd.to_datetime(before.loc[~empty, column])
            assert (difference == pd.Timedelta(days=100)).all(), f"{name}.{column}"
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest == {"end": new_end.isoformat(), "seed": 7, "clients": 40, "therapists": 4, "weeks": 16}


def test_shift_to_the_same_end_copies_bytes_unchanged(demo_files: Path, tmp_path: Path) -> None:
    assert shift_demo(demo_files, tmp_path, end=END) == 0
    for name in TABLE_NAMES:
        assert (tmp_path / f"{name}.csv").read_bytes() == (demo_files / f"{name}.csv").read_bytes(), name


def test_shift_back_and_forth_in_place_round_trips(demo_files: Path, tmp_path: Path) -> None:
    shutil.copytree(demo_files, tmp_path, dirs_exist_ok=True)
    assert shift_demo(tmp_path, tmp_path, end=END - timedelta(days=400)) == -400
    assert (tmp_path / "submissions.csv").read_bytes() != (demo_files / "submissions.csv").read_bytes()
    assert shift_demo(tmp_path, tmp_path, end=END) == 400
    for name in TABLE_NAMES:
        assert (tmp_path / f"{name}.csv").read_bytes() == (demo_files / f"{name}.csv").read_bytes(), name
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary files left behind"


# --- scale ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_about_a_million_submissions_in_under_a_minute(tmp_path: Path) -> None:
    out = tmp_path / "large"
    started = time.perf_counter()
    counts = write_demo(out, clients=5500, therapists=100, weeks=52, seed=7, end=END)
    elapsed = time.perf_counter() - started
    shutil.rmtree(out)  # about 150 MB
    assert counts["submissions"] >= 900_000
    assert elapsed < 60, f"{counts['submissions']:,} submissions took {elapsed:.1f} s to generate and write"


# --- nothing from the future ------------------------------------------------------------------


def test_history_stops_at_the_moment_given(demo_tables: dict[str, pd.DataFrame]) -> None:
    # The committed demo's history ends on 25 Nov at 23:59:59; stopped at 10:30 that day, nothing is later, and
    # everything before 10:30 is as it was (the same draws, cut).
    until = datetime(2026, 11, 25, 10, 30)
    cut = generate(end=END, until=until)
    full = demo_tables["submissions"]
    kept = full[full["submitted_at"] <= pd.Timestamp(until)]
    assert 0 < len(kept) < len(full)
    assert cut["submissions"]["submitted_at"].max() <= pd.Timestamp(until)
    assert cut["submissions"]["feedback_at"].dropna().max() <= pd.Timestamp(until)
    pd.testing.assert_series_equal(cut["submissions"]["assignment_id"].reset_index(drop=True),
                                   kept["assignment_id"].reset_index(drop=True))
    assert_valid(cut, END)
    with pytest.raises(ValueError, match="must fall on the last day"):
        generate(end=END, until=datetime(2026, 11, 24, 10, 30))


def test_write_demo_without_an_end_stops_now_in_the_practice_time_zone(tmp_path: Path) -> None:
    zone = "Pacific/Kiritimati"  # UTC+14: its today and its clock differ most from UTC's
    before = datetime.now(ZoneInfo(zone)).replace(tzinfo=None)
    write_demo(tmp_path, clients=30, therapists=3, weeks=4, timezone=zone)
    after = datetime.now(ZoneInfo(zone)).replace(tzinfo=None)
    manifest = json.loads((tmp_path / MANIFEST_NAME).read_text(encoding="utf-8"))
    assert manifest["end"] in {before.date().isoformat(), after.date().isoformat()}
    submissions = read_text_table(tmp_path, "submissions")
    latest = max(submissions["submitted_at"].max(), submissions["feedback_at"].max())
    assert datetime.fromisoformat(latest) <= after


def test_a_shift_to_now_leaves_out_what_lies_later_today(demo_files: Path, tmp_path: Path) -> None:
    # Moved to end on 1 Dec and cut at 09:00 that day: no submission or feedback after 09:00 on 1 Dec.
    now = datetime(2026, 12, 1, 9, 0)
    shift_demo(demo_files, tmp_path, end=now.date(), not_after=now)
    before = read_text_table(demo_files, "submissions")
    after = read_text_table(tmp_path, "submissions")
    moved = pd.to_datetime(before["submitted_at"]) + pd.Timedelta(days=6)
    assert len(after) == int((moved <= pd.Timestamp(now)).sum()) < len(before)
    assert pd.to_datetime(after["submitted_at"]).max() <= pd.Timestamp(now)
    feedback = pd.to_datetime(after["feedback_at"].replace("", None)).dropna()
    assert feedback.max() <= pd.Timestamp(now)
    assert ((after["therapist_feedback"] == "") == (after["feedback_at"] == "")).all()
