"""Type words: every name data/README.md lists for an assignment type, and the dashboard's own labels, are read as
that type by the importer (read from the file, so the documentation and the code cannot drift apart)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analytics.ingest.importer import import_batch
from analytics.ingest.mapping import FLAT
from analytics.present.type_figures import SHORT_TYPE_LABELS
from analytics.store.database import open_store
from analytics.store.scope import Scope
from analytics.store.vocabulary import ASSIGNMENT_TYPES, TYPE_LABELS, normalise_type

README = Path(__file__).resolve().parents[2] / "data" / "README.md"


def documented_type_words() -> list[tuple[str, str]]:
    """(word, type) for each name in the Assignment types table and each "`word` → type" example of the page."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Assignment types", 1)[1].split("\n### ", 1)[0]
    pairs = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and cells[0].strip("`") in ASSIGNMENT_TYPES:
            pairs += [(word.strip(), cells[0].strip("`")) for word in cells[2].split(",") if word.strip()]
    for word, type_name in re.findall(r"`([^`]+)` → (\w+)", text):
        if type_name in ASSIGNMENT_TYPES:
            pairs.append((word, type_name))
    return pairs


WORDS = documented_type_words()


def test_the_readme_lists_names_for_every_type():
    assert {t for _, t in WORDS} == set(ASSIGNMENT_TYPES)
    assert len(WORDS) >= 40
    assert ("CBT worksheet", "journaling") in WORDS and ("Narrative", "narrative") in WORDS


@pytest.mark.parametrize("word, type_name", WORDS, ids=[w for w, _ in WORDS])
def test_every_documented_type_word_is_read_as_its_type(word, type_name):
    assert normalise_type(word) == type_name


@pytest.mark.parametrize("labels", [TYPE_LABELS, SHORT_TYPE_LABELS], ids=["table labels", "chart labels"])
def test_the_dashboards_own_labels_read_back_as_their_type(labels):
    assert {type_name: normalise_type(label) for type_name, label in labels.items()} == {t: t for t in labels}


def test_a_flat_export_with_display_labels_and_synonyms_imports_without_unknown_types():
    rows = [f"C1,T1,Task {n},{word},2026-03-01,2026-03-07" for n, (word, _) in enumerate(WORDS)]
    data = ("\n".join(["Client,Therapist,Homework,Type,Assigned,Due date", *rows]) + "\n").encode()
    con = open_store(":memory:")
    con.execute("insert into therapists values ('T1', 'Ada', null)")
    report = import_batch(con, [("export.csv", data)], scope=Scope.practice(), mapping=FLAT)
    assert report.accepted, report.to_text()
    assert not [p for p in report.problems if "unknown type" in p.reason]
    stored = dict(con.execute("select title, assignment_type from assignments").fetchall())
    assert stored == {f"Task {n}": type_name for n, (_, type_name) in enumerate(WORDS)}
