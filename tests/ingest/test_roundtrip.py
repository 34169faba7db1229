"""Round trip by property: generated valid rows, written in varied dialects (delimiter, quoting, line ends, padded
into aligned columns or not) and
encodings (UTF-8, UTF-8 with BOM, UTF-16, Windows-1252 text), imported as files come, give back exactly the
same rows."""

from __future__ import annotations

import csv
import io
import string
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.ingest.canonical import TABLES
from analytics.ingest.importer import import_batch
from analytics.ingest.mapping import CANONICAL
from analytics.store.database import open_store
from analytics.store.scope import Scope
from analytics.store.vocabulary import ASSIGNMENT_STATUSES, ASSIGNMENT_TYPES, CLIENT_STATUSES

SAFE_ID = st.text(alphabet=string.ascii_letters + string.digits + "-_.", min_size=1, max_size=10)
# Text without control characters (a file full of them is refused as binary) or surrogates; pre-stripped,
# since surrounding spaces are removed by design.
UNICODE_TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=30).map(str.strip)
# Windows-1252 text that is not by chance also valid UTF-8: ASCII and the bytes 0x80-0xBF (never first in UTF-8).
CP1252_ALPHABET = bytes(range(0x80, 0xC0)).decode("cp1252", errors="ignore")
CP1252_TEXT = st.text(alphabet=string.ascii_letters + string.digits + " ,;\"'\n\t" + CP1252_ALPHABET.replace("\xa0", ""),
                      max_size=30).map(str.strip)
SPECIAL = st.sampled_from(['a, "b"; c', "line\nbreak", "tab\there", "€ café", "=1+2"])
DATES = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252"])
DIALECTS = st.tuples(st.sampled_from([",", ";", "\t"]), st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
                     st.sampled_from(["\n", "\r\n"]), st.booleans())  # the last: padded into aligned columns


@st.composite
def batches(draw):
    encoding = draw(ENCODINGS)
    text = (CP1252_TEXT if encoding == "cp1252" else UNICODE_TEXT | SPECIAL).filter(
        lambda t: encoding != "cp1252" or all(ch in CP1252_ALPHABET or ord(ch) < 128 for ch in t))
    client_ids = draw(st.lists(SAFE_ID, min_size=1, max_size=4, unique=True))
    clients = [{"client_id": c, "therapist_id": "T1", "label": draw(text), "intake_date": draw(st.none() | DATES),
                "goals": draw(text), "status": draw(st.sampled_from(CLIENT_STATUSES))} for c in client_ids]
    assignment_ids = draw(st.lists(SAFE_ID, min_size=1, max_size=5, unique=True))
    assignments = []
    for aid in assignment_ids:
        assigned = draw(DATES)
        assignments.append({
            "assignment_id": aid, "client_id": draw(st.sampled_from(client_ids)),
            "assignment_type": draw(st.sampled_from(ASSIGNMENT_TYPES)), "title": draw(text.filter(bool)),
            "assigned_on": assigned, "due_on": assigned + timedelta(days=draw(st.integers(0, 60))),
            "expected_count": draw(st.integers(1, 1000)), "goal": draw(text),
            "status": draw(st.sampled_from(ASSIGNMENT_STATUSES))})
    if encoding == "cp1252":  # one character that only Windows-1252 reads, so the file is not also UTF-8
        clients[0]["label"] = (clients[0]["label"] + " €").strip()
    return encoding, draw(DIALECTS), clients, assignments


def write(columns: tuple[str, ...], records: list[dict], encoding: str, dialect) -> bytes:
    delimiter, quoting, ending, padded = dialect
    rows = [list(columns), *(["" if record.get(c) is None else str(record[c]) for c in columns] for record in records)]
    if padded:  # each field written alone, then padded with spaces on both sides to its column's width
        def field(value: str) -> str:
            one = io.StringIO(newline="")
            csv.writer(one, delimiter=delimiter, quoting=quoting, lineterminator=ending).writerow([value])
            return one.getvalue().removesuffix(ending)  # (with the real line end, a line break in a value is quoted)
        cells = [[field(v) for v in row] for row in rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
        text = ending.join(delimiter.join(" " + v.ljust(widths[i] + 1) for i, v in enumerate(r)) for r in cells)
        return (text + ending).encode(encoding)
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator=ending)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(batches())
def test_rows_written_in_any_dialect_and_encoding_come_back_exactly(batch):
    encoding, dialect, clients, assignments = batch
    client_columns = ("client_id", "therapist_id", "label", "intake_date", "goals", "status")
    assignment_columns = ("assignment_id", "client_id", "assignment_type", "title", "assigned_on", "due_on",
                          "expected_count", "goal", "status")
    files = [("clients.csv", write(client_columns, clients, encoding, dialect)),
             ("assignments.csv", write(assignment_columns, assignments, encoding, dialect))]
    con = open_store(":memory:")
    try:
        con.execute("insert into therapists values ('T1', 'Ada', null)")
        report = import_batch(con, files, scope=Scope.practice(), imported_by="property", mapping=CANONICAL)
        assert report.accepted, report.to_text()
        assert [f.inserted for f in report.files] == [len(clients), len(assignments)]
        assert con.execute("select client_id, therapist_id, label, intake_date, goals, status from clients "
                           "order by client_id").fetchall() == sorted(
            (c["client_id"], "T1", c["label"] or c["client_id"], c["intake_date"], c["goals"] or None, c["status"])
            for c in clients)
        assert con.execute("select assignment_id, client_id, assignment_type, title, assigned_on, due_on, "
                           "expected_count, goal, status from assignments order by assignment_id").fetchall() == sorted(
            (a["assignment_id"], a["client_id"], a["assignment_type"], a["title"], a["assigned_on"], a["due_on"],
             a["expected_count"], a["goal"] or None, a["status"]) for a in assignments)
        again = import_batch(con, files, scope=Scope.practice(), imported_by="property", mapping=CANONICAL)
        assert [(f.inserted, f.updated) for f in again.files] == [(0, 0), (0, 0)]
    finally:
        con.close()


def test_the_canonical_columns_used_here_exist():
    assert {"label", "goals"} <= set(TABLES["clients"].column_names)
