"""Overview: who needs attention today (clinical risk first), then the headline numbers for the scope and period,
and completion week by week."""

from datetime import timedelta

import streamlit as st

from analytics.metrics import adherence, attention
from analytics.present import figures, formats, tables
from dashboard import (
    client_link,
    current_period,
    current_scope,
    current_view,
    db,
    require_data,
    require_frame,
    scope_label,
    today,
)

require_frame()

st.title("Overview")

require_data()

TRIAGE_SHOWN = 6  # clients listed by name; the Caseload page lists them all

scope, period, now = current_scope(), current_period(), today()
view = current_view()  # de-identified: counts from 1 to k hidden, no client named

# --- Needs attention today: whatever the period, clinical risk first --------------------------------------------

st.subheader("Needs attention today")
thresholds, thresholds_problem = attention.thresholds_or_defaults(db())
flagged = attention.rank_needs_attention(db(), scope=scope, today=now, thresholds=thresholds)  # reasons: shown rows
if thresholds_problem:
    st.warning("A needs-attention setting stored for the practice is not valid, so the default thresholds are used:")
    st.code(thresholds_problem, language=None)
counts = attention.kind_counts(flagged)
KIND_HELP = {name: "Clients with a reason of this kind today: " + "; ".join(texts) + "."
             for name, texts in attention.rules_by_kind(thresholds).items()}
for column, (kind, count) in zip(st.columns(len(counts)), counts.items(), strict=True):
    name = attention.KINDS[kind]
    column.metric(name, view.count(count), help=KIND_HELP[name], border=True, height="stretch")
if flagged.empty:
    st.success("No client meets any needs-attention rule today.")
elif view.on:  # no client is named in the de-identified view: the counts above are all it shows
    st.caption("The de-identified view names no client; the counts by kind are shown above.")
else:
    st.caption(f"{len(flagged)} clients in all, most urgent first: clinical risk, then engagement, then admin. "
               "Each opens on the Client page.")
    named = attention.with_reasons(flagged.head(TRIAGE_SHOWN), thresholds=thresholds, today=now)
    for number, row in enumerate(tables.triage_rows(named, TRIAGE_SHOWN), start=1):
        who, why = st.columns([2, 5], vertical_alignment="center")
        with who:
            client_link(row["client_id"], f"{number}. {row['label']}")
        therapist = f"{row['therapist_name']} · " if scope.is_practice and row["therapist_name"] else ""
        why.text(f"{therapist}{row['kind']} · {row['reason']}")
    if len(flagged) > TRIAGE_SHOWN:
        st.page_link("pages/caseload.py", label=f"See all {len(flagged)} on the Caseload page",
                     icon=":material/groups:")

# --- Headline numbers for the period -----------------------------------------------------------------------------

st.subheader("Homework in the period")
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

metric_row = st.container(horizontal=True)  # wraps on a narrow screen, so no label is cut short
active, due, completion, on_time, submitted = [metric_row] * 5
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
    **formats.shown_change(view.change(formats.count_change(current.due, previous.due), current.due, previous.due),
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
    **formats.shown_change(None if rates_hidden else formats.points_change(current.completion_rate, previous.completion_rate)),
    help="Credit earned ÷ homework expected, over the assignments due in the period, "
    f"counting submissions made up to {current.as_of:%d %b %Y} (the period's end, or today). "
    f"{CREDIT_RULE} Shows — when nothing is due. The change is in percentage points (pp).",
    border=True,
    height="stretch",
)
on_time.metric(
    "On-time rate",
    formats.NO_VALUE if view.is_hidden(current.due) else formats.percent(current.on_time_rate),
    **formats.shown_change(None if rates_hidden else formats.points_change(current.on_time_rate, previous.on_time_rate)),
    help="As the completion rate, but counting only submissions made on or before each assignment's due date. "
    f"{CREDIT_RULE} Shows — when nothing is due. The change is in percentage points (pp).",
    border=True,
    height="stretch",
)
submitted.metric(
    "7-day submissions",
    view.count(headline.submissions_last_7_days),
    **formats.shown_change(view.change(formats.count_change(headline.submissions_last_7_days,
                                                            headline.submissions_previous_7_days),
                                       headline.submissions_last_7_days, headline.submissions_previous_7_days)),
    help=f"Submissions reported from {now - timedelta(days=6):%d %b} to {now:%d %b %Y} (practice time zone), "
    "completed, partial or skipped, whatever the period chosen.",
    border=True,
    height="stretch",
)

weekly = view.weekly(adherence.weekly_completion(db(), scope=scope, period=period, today=now))
if weekly.empty or not figures.anything_due(weekly):
    st.info("Nothing was due in this period, so there is no weekly completion to show. Choose a longer period.")
else:
    st.plotly_chart(figures.weekly_completion(weekly), key="overview_weekly_completion")
    st.caption("Every week of the period, empty ones included. The current week is lighter and marked “so far”: it "
               "is not over, so its homework is only what was due up to today, not a full week to compare.")
    if view.on:
        st.caption(f"De-identified view: a week with {view.hidden} homework expected has no bar.")
