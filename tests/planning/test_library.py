"""The assignment library: the bundled file's content and validation, and user templates in the store."""

from __future__ import annotations

import hashlib

import pytest

from analytics.demo_catalogue import CONCERNS, PREFERENCE_TAGS
from analytics.planning import library
from analytics.planning.library import LibraryError, Template, load_bundled, save_template, templates
from analytics.store.database import open_store
from analytics.store.vocabulary import ASSIGNMENT_TYPES

FAMILIES = ("journaling", "behavioural", "mindfulness", "creative", "narrative")
HEADER = ",".join(library.COLUMNS)


@pytest.fixture
def con():
    return open_store(":memory:")


def a_template(**changes) -> dict:
    template = {"template_id": None, "assignment_type": "mindfulness", "title": "Evening wind-down",
                "instructions": "Dim the lights at nine. Breathe slowly for five minutes.", "default_minutes": 10,
                "times_per_week": 5, "suits_concerns": "sleep;stress", "suits_goals": "sleep;night",
                "suits_preferences": "quiet"}
    return {**template, **changes}


# ---------------------------------------------------------------------------------------------
# The bundled file
# ---------------------------------------------------------------------------------------------


def test_the_bundled_library_has_at_least_25_templates_across_the_five_families():
    frame = load_bundled()
    assert len(frame) >= 25
    assert frame["template_id"].is_unique
    counts = frame["assignment_type"].value_counts()
    assert all(counts.get(family, 0) >= 4 for family in FAMILIES), counts.to_dict()
    assert set(frame["assignment_type"]) <= set(ASSIGNMENT_TYPES)
    assert set(frame["source"]) == {"bundled"}


def test_the_bundled_library_names_the_homework_the_issue_asks_for():
    titles = {title.lower() for title in load_bundled()["title"]}
    for title in ("thought record", "gratitude journal", "worry diary", "behavioural activation schedule",
                  "assertiveness practice", "graded exposure step", "sleep routine", "breathing exercise",
                  "body scan", "mindful walk", "collage of goals", "drawing emotions", "letter to self",
                  "letter to a fear", "life-story chapter"):
        assert title in titles


def test_bundled_tags_use_the_clients_words_and_instructions_are_sentences():
    frame = load_bundled()
    for row in frame.to_dict("records"):
        concerns = library.split_tags(row["suits_concerns"])
        preferences = library.split_tags(row["suits_preferences"])
        assert concerns and set(concerns) <= set(CONCERNS), row["template_id"]
        assert preferences and set(preferences) <= set(PREFERENCE_TAGS), row["template_id"]
        assert library.split_tags(row["suits_goals"]), row["template_id"]
        assert row["instructions"].endswith(".") and len(row["instructions"]) >= 60, row["template_id"]
        assert 1 <= row["times_per_week"] <= 7 and 1 <= row["default_minutes"] <= 60


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("template_id,type,title\n", "the header must be"),
        (HEADER + "\nL1,mindfulness,Scan,Do it.,10,3,stress,calm,quiet\nL1,mindfulness,Scan,Do it.,10,3,,,\n",
         "line 3: template_id L1 appears twice"),
        (HEADER + "\nL1,yoga,Stretch,Do it.,10,3,,,\n", "line 2: type must be one of"),
        (HEADER + "\nU1,mindfulness,Scan,Do it.,10,3,,,\n", "kept for user templates"),
        (HEADER + "\nL1,mindfulness,Scan,Do it.,10,9,,,\n", "times per week"),
        (HEADER + "\nL1,mindfulness,Scan,,ten,3,,,\n", "instructions are needed; default minutes"),
        (HEADER + "\nL1,mindfulness,Scan\n", "line 2: 3 fields, expected 9"),
        (HEADER + "\n", "no templates"),
    ],
    ids=["header", "duplicate", "type", "reserved-id", "times", "two-problems", "short-row", "empty"],
)
def test_a_bad_bundled_file_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "library.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LibraryError, match=message) as caught:
        load_bundled(path)
    assert str(path) in str(caught.value)


def test_a_missing_bundled_file_is_a_clear_error(tmp_path, con):
    with pytest.raises(LibraryError, match="cannot be read"):
        templates(con, path=tmp_path / "nowhere.csv")


# ---------------------------------------------------------------------------------------------
# User templates
# ---------------------------------------------------------------------------------------------


def test_user_templates_get_their_own_ids_and_follow_the_bundled_ones(con):
    bundled = load_bundled()
    first = save_template(con, a_template())
    second = save_template(con, a_template(title="Morning stretch", assignment_type="behavioural"))
    assert (first, second) == ("U0001", "U0002")
    frame = templates(con)
    assert len(frame) == len(bundled) + 2
    assert list(frame["template_id"][-2:]) == ["U0001", "U0002"]
    user = frame.set_index("template_id").loc["U0001"]
    assert (user["source"], user["type_label"], user["title"]) == ("user", "Mindfulness & meditation", "Evening wind-down")
    assert (user["default_minutes"], user["times_per_week"]) == (10, 5)
    assert (user["suits_concerns"], user["suits_goals"], user["suits_preferences"]) == ("sleep;stress", "sleep;night", "quiet")


def test_editing_a_bundled_template_saves_a_user_copy_and_leaves_the_file_as_shipped(con):
    digest = hashlib.sha256(library.LIBRARY_FILE.read_bytes()).hexdigest()
    original = library.get_template(con, "L001")
    new_id = save_template(con, {**original.__dict__, "title": "Thought record (short)", "default_minutes": 5})
    assert new_id.startswith("U")
    assert library.get_template(con, "L001") == original
    copy = library.get_template(con, new_id)
    assert (copy.title, copy.default_minutes, copy.instructions) == ("Thought record (short)", 5, original.instructions)
    assert hashlib.sha256(library.LIBRARY_FILE.read_bytes()).hexdigest() == digest
    assert library.copy_for_editing(original).template_id is None


def test_editing_a_user_template_updates_it_in_place(con):
    template_id = save_template(con, a_template())
    created = con.execute("select created_at, updated_at from library_templates").fetchone()
    assert save_template(con, a_template(template_id=template_id, title="Wind-down", times_per_week=7)) == template_id
    assert con.execute("select count(*) from library_templates").fetchone()[0] == 1
    title, times, created_at, updated_at = con.execute(
        "select title, times_per_week, created_at, updated_at from library_templates").fetchone()
    assert (title, times, created_at) == ("Wind-down", 7, created[0])
    assert updated_at >= created[1]
    with pytest.raises(ValueError, match="no user template 'U0999'"):
        save_template(con, a_template(template_id="U0999"))


def test_a_template_is_normalised_before_it_is_saved(con):
    template_id = save_template(con, a_template(
        assignment_type="Mindfulness & Meditation", title="  Evening   wind-down ",
        suits_concerns=" Sleep ; STRESS;sleep;; ", suits_goals=["Night", "sleep"], suits_preferences=""))
    saved = library.get_template(con, template_id)
    assert saved == Template(template_id, "mindfulness", "Evening wind-down",
                             "Dim the lights at nine. Breathe slowly for five minutes.", 10, 5,
                             ("sleep", "stress"), ("night", "sleep"), ())
    assert con.execute("select suits_preferences from library_templates").fetchone()[0] is None


def test_an_invalid_template_lists_every_problem_and_writes_nothing(con):
    bad = a_template(assignment_type="yoga", title="", instructions=" ", default_minutes=-1, times_per_week=8,
                     suits_goals=";".join(f"goal {i}" for i in range(25)))
    with pytest.raises(ValueError) as caught:
        save_template(con, bad)
    message = str(caught.value)
    for part in ("type must be one of", "a title is needed", "instructions are needed", "default minutes",
                 "times per week", "at most 20 goals tags"):
        assert part in message
    assert con.execute("select count(*) from library_templates").fetchone()[0] == 0
