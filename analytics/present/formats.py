"""Numbers, dates, changes and short texts as the pages write them (no streamlit here).

One place for how a rate, a change in points, a day or an interval reads, so every page says them alike.
User text goes through `plain` or `inert_markdown` before it reaches a widget that renders Markdown.
"""

from __future__ import annotations

import html
import math
import re
from datetime import date, datetime

import pandas as pd

from analytics.metrics import outcomes
from analytics.metrics.mood import LiftSummary, MoodTrend

NO_VALUE = "—"  # shown where a figure cannot be computed, e.g. a rate when nothing was due


def percent(rate: float | None) -> str:
    """A 0-1 rate as a whole percentage ("63%"), halves rounded up; "—" when there is no rate."""
    if rate is None or pd.isna(rate):
        return NO_VALUE
    return f"{math.floor(rate * 100 + 0.5)}%"


def points_change(rate: float | None, before: float | None) -> str | None:
    """The change between two 0-1 rates in percentage points ("+5 pp", "-3 pp", "±0 pp"); None if either is missing."""
    if rate is None or before is None or pd.isna(rate) or pd.isna(before):
        return None
    points = math.floor((rate - before) * 100 + 0.5)
    return f"{points:+d} pp" if points else "±0 pp"


def count_change(count: int, before: int) -> str:
    """The change between two counts ("+2", "-1", "±0")."""
    change = count - before
    return f"{change:+d}" if change else "±0"


def amount(value: float) -> str:
    """A count of homework that may hold halves (partial credit): "18", "17.5", "1,204"."""
    text = f"{value:,.1f}"
    return text[:-2] if text.endswith(".0") else text


def day_label(day: date | datetime | pd.Timestamp, *, with_year: bool = False) -> str:
    """A date the way people say it: "3 Nov" (or "3 Nov 2025")."""
    return f"{day.day} {day:%b %Y}" if with_year else f"{day.day} {day:%b}"


MINUS = "−"  # the minus sign in running text (st.metric deltas keep "-", which it reads as "down")


def inert_markdown(text: object) -> str:
    """User text made safe inside a Markdown-reading element (st.success, st.caption, ...): every ASCII
    punctuation mark is backslash-escaped, so `**`, links, `:material/…:` icons and `:red[…]` read as typed."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", "" if text is None else str(text))


def plain(text: object) -> str:
    """User text made safe for Plotly, which reads some HTML (<b>, <br>, <a href>) in titles, ticks and hover text."""
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return ""
    return html.escape(str(text))


def _round_half_up(value: float, digits: int) -> float:
    scale = 10**digits
    return math.floor(value * scale + 0.5) / scale


def signed(value: float | None, digits: int = 1) -> str:
    """A mood change in points with its sign ("+1.3", "-0.5", "0.0"); "—" when missing. Halves round up."""
    if value is None or pd.isna(value):
        return NO_VALUE
    rounded = _round_half_up(float(value), digits)
    return f"{rounded:+.{digits}f}" if rounded else f"{0:.{digits}f}"


def signed_change(value: float | None, before: float | None) -> str | None:
    """The change between two mood lifts ("+0.4", "-1.0", "±0.0"); None if either is missing."""
    if value is None or before is None or pd.isna(value) or pd.isna(before):
        return None
    text = signed(float(value) - float(before))
    return text if text.strip("0.") else "±0.0"


def days(count: float | None) -> str:
    """ "1 day", "4 days"; "—" when missing."""
    if count is None or pd.isna(count):
        return NO_VALUE
    return f"{int(count)} day" if int(count) == 1 else f"{int(count)} days"


def days_ago(count: float | None) -> str:
    """ "today", "yesterday", "4 days ago"; "—" when there is none."""
    if count is None or pd.isna(count):
        return NO_VALUE
    return {0: "today", 1: "yesterday"}.get(int(count), f"{int(count)} days ago")


def weeks(count: float | None) -> str:
    """ "1 week", "3 weeks"; "—" when missing."""
    if count is None or pd.isna(count):
        return NO_VALUE
    return f"{int(count)} week" if int(count) == 1 else f"{int(count)} weeks"


def lift_text(lift: LiftSummary) -> str:
    """ "+1.3 (n = 4)", or "—" without a lift."""
    return NO_VALUE if lift.mean is None else f"{signed(lift.mean)} (n = {lift.n})"


def interval_text(low: float | None, high: float | None) -> str:
    """A 95% interval in mood points ("-0.3 to +1.2"); "—" when there is none (fewer than 2 values)."""
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return NO_VALUE
    return f"{signed(low)} to {signed(high)}"


def trend_text(trend: MoodTrend) -> str:
    """The mood trend in words, with its 95% interval and the number of ratings behind it."""
    if trend.slope_per_week is None:
        return (f"Mood trend: not enough ratings for a trend in this period ({trend.n} so far; "
                "3 or more on at least 2 different days are needed).")
    direction = "rising" if trend.ci_low > 0 else "falling" if trend.ci_high < 0 else "no clear direction"
    return (f"Mood trend: {signed(trend.slope_per_week)} points a week "
            f"(95% interval {signed(trend.ci_low)} to {signed(trend.ci_high)}; {trend.n} ratings): {direction}.")


def measure_change_texts(changes: pd.DataFrame) -> list[str]:
    """One sentence per measure from outcomes.measure_change, with the thresholds it was judged by, e.g.
    "PHQ-9: 16 → 8 (−8): reliable improvement (a change of 6 or more), recovered (from 10 or above to below 10)"."""
    texts = []
    order = list(outcomes.BANDS)
    rows = sorted(changes.to_dict("records"), key=lambda r: order.index(r["measure"]) if r["measure"] in order else 99)
    for row in rows:
        measure, first, latest = row["measure"], int(row["first_score"]), int(row["latest_score"])
        if int(row["n"]) < 2:
            texts.append(f"{measure}: {first} on {day_label(row['first_on'], with_year=True)}, one score only: "
                         "no change to judge yet.")
            continue
        threshold, cutoff = outcomes.RELIABLE_CHANGE[measure], outcomes.CLINICAL_CUTOFF[measure]
        change = latest - first
        change_text = f"{change:+d}".replace("-", MINUS) if change else "±0"
        reliable = {
            "reliable improvement": f"reliable improvement (a fall of {threshold} or more)",
            "reliable deterioration": f"reliable deterioration (a rise of {threshold} or more)",
        }.get(row["reliable_change"], f"no reliable change (a change of {threshold} or more is needed)")
        recovered = row["recovered"]
        if recovered is None or pd.isna(recovered):
            recovery = f"below the cut-off of {cutoff} from the start, so recovery does not apply"
        elif recovered:
            recovery = f"recovered (from {cutoff} or above to below {cutoff})"
        else:
            recovery = f"not recovered (still {cutoff} or above)"
        texts.append(f"{measure}: {first} → {latest} ({change_text}): {reliable}, {recovery}")
    return texts


def not_enough_data(n: int) -> str:
    """What a mean resting on too few observations shows instead of a number: "not enough data (n = 3)"."""
    return f"not enough data (n = {int(n)})"


def lift_or_not_enough(mean: float | None, n: int) -> str:
    """A mean mood lift ("+1.3") when it rests on enough ratings (analytics leaves it empty otherwise), else the words."""
    if mean is None or pd.isna(mean):
        return not_enough_data(n)
    return signed(mean)


MEASURE_NAMES = {"PHQ-9": "depression", "GAD-7": "anxiety"}


def per_week(value: float | None, unit: str) -> str:
    """A week's figure with its unit: "9 times", "1 time", "5.8 times", "45 min"; "—" when there is none."""
    if value is None or pd.isna(value):
        return NO_VALUE
    number = amount(round(float(value), 1))
    return f"{number} {'time' if unit == 'times' and number == '1' else unit}"


def file_stem(text: str) -> str:
    """A safe piece of a download's file name: letters, digits, '-' and '_' only ("plan" when nothing is left)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "plan"


def shown_change(change: str | None, *, neutral: bool = False) -> dict[str, str | None]:
    """st.metric's delta arguments for a change written by points_change, count_change or signed_change ("+5 pp",
    "-2", "±0 pp").

    Up is green and down red, unless `neutral` (more or fewer is neither good nor bad): then grey.
    st.metric greys out only a numeric zero, so a "±0" change is made grey and arrowless here.
    """
    if change is not None and change.startswith("±"):
        return {"delta": change, "delta_color": "off", "delta_arrow": "off"}
    return {"delta": change, "delta_color": "off" if neutral else "normal"}
