"""Overview: the headline numbers for the scope and period, and completion week by week."""

from datetime import timedelta

import streamlit as st

from analytics.metrics import adherence
from analytics.present import figures, formats
from dashboard import (
    current_period,
    current_scope,
    current_view,
    db,
    require_data,
    require_frame,
    scope_label,
    shown_change,
    today,
)

require_frame()

st.title("Overview")

require_data()

scope, period, now = current_scope(), current_period(), today()
view = current_view()  # de-identified: counts from 1 to k hidden
headline = adherence.headline(db(), scope=scope, period=period, today=now)
current, previous = headline.current, headline.previous
rates_hidden = view.is_hidden(current.due) or view.is_hidden(previous.due)

st.text(f"{scope_label(scope)} · homework due {period.label()} · figures as of {current.as_of:%d %b %Y}")
st.caption(f"Changes compare with the previous {period.days} days ({previous.period.label()}); "
           "submissions with the 7 days before.")

CREDIT_RULE = (
    "Each submission earns credit: 1 when completed, 0.5 when partial, 0 when skipped. "
    "An assignment's credit is capped at its expected count (e.g. 7 for a daily task over a week). "
    "An assignment is due on a date when it is not cancelled and its due date is on or before that date."
)

active, due, completion, on_time, submitted = st.columns(5)
active.metric(
    "Active clients",
    view.count(headline.active_clients),
    help="Clients whose status is active today (not paused or discharged). "
    "This is today's caseload, whatever the period, so it has no comparison.",
    border=True,
    height="stretch",
)
due.metric(
    "Assignments due",
    view.count(current.due),
    **shown_change(view.change(formats.count_change(current.due, previous.due), current.due, previous.due),
                   neutral=True),
    help=f"Assignments (not cancelled) due from {period.start:%d %b} to {period.end:%d %b %Y}. "
    "Homework due after today is not counted until its due date. "
    "The change is against the previous period of the same length.",
    border=True,
    height="stretch",
)
completion.metric(
    "Completion rate",
    formats.NO_VALUE if view.is_hidden(current.due) else formats.percent(current.completion_rate),
    **shown_change(None if rates_hidden else formats.points_change(current.completion_rate, previous.completion_rate)),
    help="Credit earned ÷ homework expected, over the assignments due in the period, "
    f"counting submissions made up to {current.as_of:%d %b %Y} (the period's end, or today). "
    f"{CREDIT_RULE} Shows — when nothing is due. The change is in percentage points (pp).",
    border=True,
    height="stretch",
)
on_time.metric(
    "On-time rate",
    formats.NO_VALUE if view.is_hidden(current.due) else formats.percent(current.on_time_rate),
    **shown_change(None if rates_hidden else formats.points_change(current.on_time_rate, previous.on_time_rate)),
    help="As the completion rate, but counting only submissions made on or before each assignment's due date. "
    f"{CREDIT_RULE} Shows — when nothing is due. The change is in percentage points (pp).",
    border=True,
    height="stretch",
)
submitted.metric(
    "7-day submissions",
    view.count(headline.submissions_last_7_days),
    **shown_change(view.change(formats.count_change(headline.submissions_last_7_days,
                                                    headline.submissions_previous_7_days),
                               headline.submissions_last_7_days, headline.submissions_previous_7_days)),
    help=f"Submissions reported from {now - timedelta(days=6):%d %b} to {now:%d %b %Y} (practice time zone), "
    "completed, partial or skipped, whatever the period chosen.",
    border=True,
    height="stretch",
)

weekly = view.weekly(adherence.weekly_completion(db(), scope=scope, period=period, today=now))
if weekly.empty:
    st.info("Nothing was due in this period, so there is no weekly completion to show. Choose a longer period.")
else:
    st.plotly_chart(figures.weekly_completion(weekly), key="overview_weekly_completion")
    if view.on:
        st.caption(f"De-identified view: a week with {view.hidden} homework expected has no bar.")
