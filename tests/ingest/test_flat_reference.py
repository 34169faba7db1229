"""The flat preset's fast path (wave 4: one text copy updated in place, the row-level table read by validate as a
view, the other tables grouped once with a min <> max test per column) gives exactly what the earlier preset
(tests/ingest/flat_reference.py) gave, on randomised exports: the same report (problems with their lines and
columns, matches, counts) and the same stored rows, with conflicting facts, repeated and missing ids, missed rows,
people matched by id, email and name, and skip_invalid."""

from __future__ import annotations

import csv
import io
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.ingest import staging
from analytics.ingest.importer import import_batch
from analytics.ingest.mapping import FLAT
from analytics.store.database import open_store
from analytics.store.scope import Scope
from tests.ingest import flat_reference

PRACTICE = Scope.practice()
COLUMNS = {  # header -> how a row fills it
    "Therapist ID": "tid", "Therapist name": "tname", "Therapist email": "temail", "Patient ID": "cid",
    "Client name": "cname", "Homework ID": "aid", "Homework": "title", "Type": "type", "Assigned": "assigned",
    "Due date": "due", "Times": "times", "Submission ID": "sid", "Submitted": "at", "Status": "done",
    "Mood post": "mood", "Notes": "note",
}
OPTIONAL = ["Therapist ID", "Therapist name", "Therapist email", "Client name", "Homework ID", "Type", "Times",
            "Submission ID", "Status", "Mood post", "Notes"]  # (the reference fails without Submitted: see test_flat)

cells = {
    "tid": st.sampled_from(["T1", "T2", "T3", "", "T9"]),
    "tname": st.sampled_from(["Ada Moss", "ada  moss", "Ben Ode", "Sam Lee", ""]),
    "temail": st.sampled_from(["", "ada@example.org", "sam.lee@example.org"]),
    "cid": st.sampled_from(["C1", "C2", "C3", " C4 ", ""]),
    "cname": st.sampled_from(["Robin Ash", "Kim", "", "Kim "]),
    "aid": st.sampled_from(["", "", "H1", "H2"]),
    "title": st.sampled_from(["Walk", "Diary", "=cmd|x", ""]),
    "type": st.sampled_from(["Behavioral", "behavioral", "mindfulness", "Art", ""]),
    "assigned": st.sampled_from(["2026-03-01", "2026-03-02"]),
    "due": st.sampled_from(["2026-03-07", "2026-03-08", "2026-02-01", "07/03/2026"]),
    "times": st.sampled_from(["1", "3", "3.0", ""]),
    "sid": st.sampled_from(["", "", "S1", "S2", "S3"]),
    "at": st.sampled_from(["", "2026-03-02T18:30:00Z", "2026-03-03T09:00:00", "2026-03-04", "soon"]),
    "done": st.sampled_from(["done", "half", "missed", "skipped", "Done", ""]),
    "mood": st.sampled_from(["", "4", "12", "5"]),
    "note": st.sampled_from(["", "felt better", "<b>hi</b>", "a, \"quoted\"\nnote"]),
}
row = st.fixed_dictionaries(cells)


def export(header: list[str], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for r in rows:
        writer.writerow([r[COLUMNS[h]] for h in header])
    return out.getvalue().encode()


def store(seeded: bool):
    con = open_store(":memory:")
    if seeded:
        con.execute("insert into therapists values ('T3', 'Ada Moss', 'ada@example.org'), "
                    "('T4', 'Sam Lee', 'sam.lee@example.org'), ('T5', 'Sam Lee', null)")
        con.execute("insert into clients (client_id, therapist_id, label) values ('C1', 'T3', 'Robin Ash')")
    return con


def outcome(con, data: bytes, **kwargs):
    report = import_batch(con, [("export.csv", data)], scope=PRACTICE, imported_by="tester", mapping=FLAT, **kwargs)
    tables = {t: con.execute(f"select * from {t} order by all").fetchall()
              for t in ("therapists", "clients", "assignments", "submissions")}
    problems = [(p.file, p.line, p.column, p.reason, p.severity) for p in report.problems]
    matches = [(m.kind, m.written, m.by, m.matched, m.candidates, m.line) for m in report.matches]
    files = [(f.table, f.rows_read, f.inserted, f.updated, f.rejected) for f in report.files]
    return report.accepted, problems, matches, files, report.unlisted_problems, tables


def both(data: bytes, seeded: bool, **kwargs):
    fast = outcome(store(seeded), data, **kwargs)
    with patch.object(staging, "apply_flat", flat_reference.apply_flat):
        reference = outcome(store(seeded), data, **kwargs)
    return fast, reference


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row, min_size=1, max_size=12), st.sets(st.sampled_from(OPTIONAL)), st.booleans(), st.booleans())
def test_the_fast_flat_path_gives_what_the_reference_gave(rows, optional, seeded, skip_invalid):
    header = [h for h in COLUMNS if h in optional or h not in OPTIONAL]
    fast, reference = both(export(header, rows), seeded, skip_invalid=skip_invalid)
    assert fast == reference


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row, min_size=1, max_size=8), st.booleans())
def test_a_dry_run_and_a_second_import_agree_with_the_reference(rows, seeded):
    data = export(list(COLUMNS), rows)
    fast, reference = both(data, seeded, dry_run=True)
    assert fast == reference
    con_fast, con_reference = store(seeded), store(seeded)
    first = (outcome(con_fast, data, skip_invalid=True), outcome(con_fast, data, skip_invalid=True))
    with patch.object(staging, "apply_flat", flat_reference.apply_flat):
        assert (outcome(con_reference, data, skip_invalid=True), outcome(con_reference, data, skip_invalid=True)) \
            == first


@pytest.mark.parametrize("extra", [
    "T1,Ada Moss,C1,Walk,mindfulness,2026-03-01,2026-03-09,4,S9,2026-03-05T18:30:00Z,done",  # type, due, times
    "T2,Ben Ode,C1,Walk,Behavioral,2026-03-01,2026-03-07,3,S1,2026-03-06T18:30:00Z,half",  # therapist, repeated S1
    "T1,ada moss,C1,Walk,BEHAVIORAL,2026-03-01,2026-03-07,3.0,S8,2026-03-06T18:30:00Z,done",  # not conflicts
])
def test_conflicts_and_repeats_read_as_the_reference_reads_them(extra):
    header = "Therapist ID,Therapist name,Patient ID,Homework,Type,Assigned,Due date,Times,Submission ID,Submitted,Status"
    data = "\n".join([header, "T1,Ada Moss,C1,Walk,Behavioral,2026-03-01,2026-03-07,3,S1,2026-03-02T18:30:00Z,done",
                      "T1,Ada Moss,C1,Walk,Behavioral,2026-03-01,2026-03-07,3,S2,2026-03-04T18:30:00Z,half",
                      extra]).encode() + b"\n"
    for skip_invalid in (False, True):
        fast, reference = both(data, False, skip_invalid=skip_invalid)
        assert fast == reference
