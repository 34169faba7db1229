"""Frames shaped for `st.dataframe` and the choices of select boxes: column names and units as people read them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote_plus

import pandas as pd

from analytics.metrics.attention import KINDS as KIND_NAMES
from analytics.metrics.attention import Thresholds, with_reasons
from analytics.metrics.effectiveness import MIN_N
from analytics.present.formats import day_label, interval_text, lift_or_not_enough, not_enough_data
from analytics.present.type_figures import SHORT_TYPE_LABELS
from analytics.store.vocabulary import TYPE_LABELS


def row_of(frame: pd.DataFrame, column: str, value: object) -> dict | None:
    """The first row whose `column` equals `value`, as a dict, or None (e.g. one client of caseload.client_overview)."""
    rows = frame[frame[column] == value]
    return None if rows.empty else rows.iloc[0].to_dict()


def client_row(frame: pd.DataFrame, client_id: str) -> dict | None:
    """The row of `client_id` in a one-row-per-client frame (e.g. caseload.client_overview) as a dict, or None."""
    return row_of(frame, "client_id", client_id)


@dataclass(frozen=True)
class Rates:
    """Due assignments, completion and on-time rate of one group, named like adherence.PeriodFigures."""

    due: int
    completion_rate: float | None
    on_time_rate: float | None

    @classmethod
    def of(cls, row: dict | None) -> Rates:
        """From a row of caseload.breakdown (nothing due when the row is missing)."""
        if row is None:
            return cls(0, None, None)
        return cls(int(row["due"]), _number(row["completion_rate"]), _number(row["on_time_rate"]))


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def rows_of(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """The rows of one key in a frame with a `key` column (caseload.weekly_grid by client: one client's weeks)."""
    return frame[frame["key"] == key].reset_index(drop=True)


def as_percentages(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """A copy with the 0-1 rates in `columns` as 0-100, for st.dataframe's "%.0f%%" column formats."""
    shown = frame.copy()
    for column in columns:
        shown[column] = shown[column].astype(float) * 100
    return shown


def effectiveness_table(by_type: pd.DataFrame) -> pd.DataFrame:
    """effectiveness.by_type for st.dataframe: one row per type, the words "not enough data (n = 3)" for thin means.

    Columns: type (label), due, completion and on_time (0-100, NaN when nothing was due), mood_lift (text:
    "+0.6" or the words), lift_interval (text), lift_n, quality (text: "2.7 of 4" or the words), quality_n.
    """
    rows = []
    for row in by_type.to_dict("records"):
        quality_n = int(row["quality_n"])
        rows.append({
            "type": row["type_label"],
            "due": int(row["due"]),
            "completion": float(row["completion_rate"]) * 100 if row["due"] else math.nan,
            "on_time": float(row["on_time_rate"]) * 100 if row["due"] else math.nan,
            "mood_lift": lift_or_not_enough(row["mood_lift_mean"], int(row["mood_lift_n"])),
            "lift_interval": interval_text(row["mood_lift_ci_low"], row["mood_lift_ci_high"]),
            "lift_n": int(row["mood_lift_n"]),
            "quality": not_enough_data(quality_n) if pd.isna(row["quality_mean"]) else f"{row['quality_mean']:.1f} of 4",
            "quality_n": quality_n,
        })
    columns = ["type", "due", "completion", "on_time", "mood_lift", "lift_interval", "lift_n", "quality", "quality_n"]
    return pd.DataFrame(rows, columns=columns)


AWAITING = "● to give"  # a submission waiting for the therapist's feedback
GIVEN = "given"


def submissions_table(submissions: pd.DataFrame) -> pd.DataFrame:
    """clients.submission_list with the type's label and a review column, for st.dataframe (user text stays as typed).

    review: AWAITING for completed or partial work to homework not cancelled without feedback, GIVEN when
    it has feedback, "" otherwise (skipped, or cancelled homework)."""
    shown = submissions.copy()
    shown["assignment_type"] = [TYPE_LABELS.get(t, t) for t in shown["assignment_type"]]
    has_feedback = [isinstance(f, str) and bool(f.strip()) for f in shown["therapist_feedback"]]
    wants = [c in ("completed", "partial") and s == "active"
             for c, s in zip(shown["completion"], shown["assignment_status"], strict=True)]
    shown.insert(0, "review", [GIVEN if given else AWAITING if want else ""
                               for given, want in zip(has_feedback, wants, strict=True)])
    return shown


def first_awaiting(shown: pd.DataFrame) -> str | None:
    """The id of the first row of `submissions_table` (the newest) waiting for feedback, or None."""
    waiting = shown[shown["review"] == AWAITING]
    return None if waiting.empty else str(waiting["submission_id"].iloc[0])


def submission_choices(submissions: pd.DataFrame) -> dict[str, str]:
    """submission_id -> "3 Nov 2026 · Thought record · completed", in the list's order (newest first).

    The text never depends on the feedback, so it stays the same when feedback is saved (a selectbox
    whose option text changes under it would show the old text).
    """
    return {
        row["submission_id"]: " · ".join(
            [day_label(row["submitted_at"], with_year=True), str(row["title"]), str(row["completion"])]
        )
        for row in submissions.to_dict("records")
    }


def attention_table(ranked: pd.DataFrame, *, thresholds: Thresholds, today: date) -> pd.DataFrame:
    """Rows of attention.rank_needs_attention with their reasons written (attention.with_reasons, for these rows
    only) and joined into one text: rank, client_id, label, therapist_id, therapist_name, kind (the name of the most
    serious kind), reasons, and link (the Client page's URL for the client)."""
    attention = with_reasons(ranked, thresholds=thresholds, today=today)
    shown = attention[["rank", "client_id", "label", "therapist_id", "therapist_name"]].copy()
    shown["kind"] = [KIND_NAMES[kind] for kind in attention["top_kind"]]
    shown["reasons"] = ["; ".join(reasons) for reasons in attention["reasons"]]
    shown["link"] = client_urls(attention["client_id"])
    return shown


def by_need(overview: pd.DataFrame, flagged: pd.DataFrame) -> pd.DataFrame:
    """caseload.client_overview sorted by need, for st.dataframe: the clients of attention.needs_attention in its
    order first, then the others by the lowest completion (none due last), then label. Adds need (the
    needs-attention rank, NaN when not listed), need_kind (the name of the most serious kind, "" when not
    listed) and link (client_urls); the rates in percent as `as_percentages` gives them."""
    # (lists, not the Series: walking an Arrow-backed column boxes value after value, 50 ms for the 24,644 clients
    # listed at 10M)
    listed = flagged["client_id"].tolist()
    ranks = dict(zip(listed, flagged["rank"].tolist(), strict=True))
    kinds = dict(zip(listed, flagged["top_kind"].tolist(), strict=True))
    shown = as_percentages(overview, ["completion_rate", "completion_change", "on_time_rate", "feedback_coverage"])
    ids = shown["client_id"].tolist()
    shown["need"] = pd.array([ranks.get(c) for c in ids], dtype="Float64")
    shown["need_kind"] = [KIND_NAMES[kinds[c]] if c in kinds else "" for c in ids]
    shown["link"] = client_urls(ids)
    shown["_label"] = shown["label"].str.lower()
    shown = shown.sort_values(["need", "completion_rate", "_label", "client_id"], na_position="last", kind="stable")
    return shown.drop(columns="_label").reset_index(drop=True)


def table_height(rows: int, *, most: int = 40, row_height: int = 35) -> int:
    """Pixels for st.dataframe to show `rows` rows without scrolling (up to `most`, then it scrolls)."""
    return row_height * (min(max(rows, 1), most) + 1) + 3


# The characters quote_plus never changes (RFC 3986's unreserved ones): an id made of them only is its own quoting.
UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def client_urls(client_ids) -> list[str]:
    """The Client page's address of each id, in order, relative to the dashboard: "client?client=C1" (what
    urlencode({"client": id}) gives: quote_plus is what it applies to a value, here without its checks per call and
    only for ids with a character to quote; 55,000 links took 28 ms, now 13 ms)."""
    ids = client_ids.tolist() if isinstance(client_ids, pd.Series) else client_ids  # not a walk over Arrow scalars
    return ["client?client=" + (text if UNRESERVED.fullmatch(text) else quote_plus(text))
            for text in map(str, ids)]


def one_line_reason(reasons: list[str]) -> str:
    """The most serious reason, with how many more there are: "No submission for 39 days (…) · and 2 more"."""
    if not reasons:
        return ""
    more = len(reasons) - 1
    return reasons[0] + (f" · and {more} more" if more else "")


def triage_rows(flagged: pd.DataFrame, limit: int) -> list[dict]:
    """The first `limit` rows of attention.needs_attention for the Overview: client_id, label, therapist_name,
    kind (its name, e.g. "Clinical risk") and reason (one line)."""
    return [{"client_id": row["client_id"], "label": row["label"], "therapist_name": row["therapist_name"] or "",
             "kind": KIND_NAMES[row["top_kind"]], "reason": one_line_reason(list(row["reasons"]))}
            for row in flagged.head(limit).to_dict("records")]


def has_own_figures(profile: pd.DataFrame) -> bool:
    """Whether profile.client_profile_by_type holds any of the client's own data (something due, or a mood rating)."""
    return bool((profile["expected"] > 0).any() or (profile["mood_lift_n"] > 0).any())


def profile_table(profile: pd.DataFrame) -> pd.DataFrame:
    """profile.client_profile_by_type for st.dataframe; rates and weights 0-100, a thin own mood lift in words.

    Columns: type (short name), expected (their n), completion, caseload_completion, completion_weight, shrunk_completion,
    mood_lift_n, mood_lift (text), caseload_mood_lift, mood_weight, shrunk_mood_lift.
    """
    shown = pd.DataFrame({
        "type": [SHORT_TYPE_LABELS.get(t, t) for t in profile["assignment_type"]],
        "expected": profile["expected"].astype(float),
        "completion": profile["completion_rate"].astype(float) * 100,
        "caseload_completion": profile["caseload_completion_rate"].astype(float) * 100,
        "completion_weight": profile["completion_weight"].astype(float) * 100,
        "shrunk_completion": profile["shrunk_completion_rate"].astype(float) * 100,
        "mood_lift_n": profile["mood_lift_n"].astype(int),
        "mood_lift": [lift_or_not_enough(mean if n >= MIN_N else None, n)
                      for mean, n in zip(profile["mood_lift_mean"], profile["mood_lift_n"], strict=True)],
        "caseload_mood_lift": profile["caseload_mood_lift"].astype(float),
        "mood_weight": profile["mood_weight"].astype(float) * 100,
        "shrunk_mood_lift": profile["shrunk_mood_lift"].astype(float),
    })
    return shown.reset_index(drop=True)


def current_homework_table(current: pd.DataFrame) -> pd.DataFrame:
    """planner.current_assignments for st.dataframe, with the type's short name (user text stays as typed)."""
    shown = current.copy()
    shown["assignment_type"] = [SHORT_TYPE_LABELS.get(t, t) for t in shown["assignment_type"]]
    return shown


def assignment_choices(current: pd.DataFrame) -> dict[str, str]:
    """assignment_id -> "“Body scan” due 3 Mar 2026" for a picker and for messages, in the list's order: homework by
    its title and due date; the id is added only to tell apart two that read the same."""
    named = {row["assignment_id"]: f"“{row['title']}” due {day_label(row['due_on'], with_year=True)}"
             for row in current.to_dict("records")}
    texts = list(named.values())
    return {aid: f"{text} ({aid})" if texts.count(text) > 1 else text for aid, text in named.items()}


def homework_names(items: list) -> str:
    """Plan items by title and due date: "“Body scan” due 3 Mar 2026, “Daily walk” due 3 Mar 2026"."""
    return ", ".join(f"“{item.title.strip()}” due {day_label(item.due, with_year=True)}" for item in items)


def template_choices(templates: pd.DataFrame) -> dict[str, str]:
    """template_id -> "Thought record · Journaling (bundled)" for a picker, in the library's order."""
    return {
        row["template_id"]: f"{row['title']} · {row['type_label']} "
                            f"({'bundled' if row['source'] == 'bundled' else 'your practice'})"
        for row in templates.to_dict("records")
    }
