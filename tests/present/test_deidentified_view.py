"""The de-identified view of the screens (analytics.present.deidentified), on small frames worked by hand."""

from __future__ import annotations

import math

import pandas as pd

from analytics.export import deidentify
from analytics.present.deidentified import View
from analytics.store.database import open_store
from analytics.store.scope import Scope

SECRET = b"s" * 32
ON = View(True, 10, SECRET)
OFF = View(False)


def test_off_gives_every_frame_back_as_it_is() -> None:
    frame = pd.DataFrame({"client_id": ["C1"], "label": ["Jane"], "client_note": ["=1+1"], "due": [3]})
    assert OFF.people(frame) is frame and OFF.suppressed(frame, "due") is frame
    assert OFF.count(3) == 3 and OFF.client("C1", "Jane") == "Jane"


def test_of_reads_the_scope_and_the_practices_k_and_secret() -> None:
    con = open_store(":memory:")
    assert View.of(con, Scope.practice()) == OFF
    deidentify.set_suppression_k(con, 4)
    view = View.of(con, Scope.therapist("T1").with_deidentified_view())
    assert (view.on, view.k, view.secret) == (True, 4, deidentify.practice_secret(con))
    assert (view.hidden, view.hidden_short) == ("fewer than 5", "<5")


def test_people_are_named_by_pseudonyms_and_typed_text_is_left_out() -> None:
    frame = pd.DataFrame({"client_id": ["C1", "C2"], "label": ["Jane Doe", "John Roe"], "therapist_id": ["T1", "T1"],
                          "therapist_name": ["Ada", "Ada"], "title": ["Bakery diary", "Walk"],
                          "client_note": ["=1+1", None], "due": [3, 12]})
    shown = ON.people(frame, keep_ids=["therapist_id"])
    assert list(shown.columns) == ["client_id", "label", "therapist_id", "therapist_name", "due"]
    c1, c2 = (deidentify.pseudonym(SECRET, "client", c) for c in ("C1", "C2"))
    assert shown["client_id"].tolist() == shown["label"].tolist() == [c1, c2]
    assert shown["therapist_name"].tolist() == [deidentify.pseudonym(SECRET, "therapist", "T1")] * 2
    assert shown["therapist_id"].tolist() == ["T1", "T1"]  # kept: the page acts on it and does not show it
    assert frame["label"].tolist() == ["Jane Doe", "John Roe"]  # the input is left alone


def test_counts_1_to_k_are_hidden_with_a_complement_when_the_total_is_known() -> None:
    # due by therapist 3, 25, 40, 0 with the total 68 shown elsewhere: 3 is hidden, and 25 with it (68 - 40 - 0
    # would otherwise give 3 back); 0 and 40 stay.
    frame = pd.DataFrame({"therapist": ["A", "B", "C", "D"], "due": [3, 25, 40, 0], "rate": [0.5, 0.6, 0.7, math.nan]})
    shown = ON.suppressed(frame, "due", depends=["rate"])
    assert shown["due"].tolist() == ["fewer than 11", "fewer than 11", "40", "0"]
    assert shown["rate"].tolist()[:3] == [None, None, 0.7]
    alone = ON.suppressed(frame, "due", total=False)  # no total anywhere: only 1 to k
    assert alone["due"].tolist() == ["fewer than 11", "25", "40", "0"]


def test_metrics_and_changes() -> None:
    assert [ON.count(n) for n in (0, 1, 10, 11)] == [0, "<11", "<11", 11]
    assert ON.change("+2", 12, 14) == "+2" and ON.change("+2", 12, 9) is None


def test_a_group_or_week_with_a_hidden_count_has_no_figures_and_says_why() -> None:
    groups = pd.DataFrame({"therapist_id": ["T1", "T2", "T3"], "label": ["Ada", "Bo", "Cy"], "due": [2, 30, 50],
                           "expected": [4.0, 60.0, 90.0], "credit": [2.0, 30.0, 45.0],
                           "completion_rate": [0.5, 0.5, 0.5], "previous_completion_rate": [0.1, 0.2, 0.3]})
    shown = ON.groups(groups)
    assert shown["hidden_note"].tolist() == ["fewer than 11 due", "fewer than 11 due", ""]  # 2, and 30 beside it
    assert shown["completion_rate"].isna().tolist() == [True, True, False]
    assert shown["label"].tolist() == [deidentify.pseudonym(SECRET, "therapist", t) for t in ("T1", "T2", "T3")]
    weeks = pd.DataFrame({"week": ["2026-03-02", "2026-03-09"], "key": ["C1", "C1"], "label": ["Jane", "Jane"],
                          "expected": [7.0, 12.0], "credit": [3.0, 6.0], "completion_rate": [3 / 7, 0.5]})
    shown = ON.weekly(weeks, kind="client")
    assert shown["hidden_note"].tolist() == ["fewer than 11 homework expected", ""]
    assert shown["key"].tolist() == shown["label"].tolist() == [deidentify.pseudonym(SECRET, "client", "C1")] * 2
