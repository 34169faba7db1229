"""Caseload: adherence across therapists and clients for the period, and the clients who need attention first."""

import streamlit as st

from analytics.metrics import adherence, attention, caseload, timeline
from analytics.present import bounds, figures, formats, tables
from analytics.store import vocabulary
from dashboard import (
    current_period,
    current_view,
    db,
    download_table,
    open_client,
    require_data,
    require_frame,
    therapist_filter,
    therapist_names,
    today,
)

require_frame()

THERAPIST_FILTER_KEY = "caseload_therapist"
TYPE_FILTER_KEY = "caseload_type"
KIND_FILTER_KEY = "caseload_attention_kind"
ALL = ""  # the "All types" choice

st.title("Caseload")

require_data()

period, now = current_period(), today()
names = therapist_names()

# --- Filters: a therapist (within what the viewer may see) and a type; the period is in the sidebar ----------

therapist_filter_column, type_filter = st.columns(2)
scope = therapist_filter(THERAPIST_FILTER_KEY, container=therapist_filter_column)
assignment_type = type_filter.selectbox(
    "Type of homework",
    options=[ALL, *vocabulary.ASSIGNMENT_TYPES],
    format_func=lambda key: vocabulary.TYPE_LABELS[key] if key else "All types",
    key=TYPE_FILTER_KEY,
    help="The adherence figures count only homework of this type. The needs-attention list is about all homework.",
) or None
one_therapist = not scope.is_practice
as_of = period.as_of(now)
view = current_view()  # de-identified: pseudonyms, counts from 1 to k hidden

who = names.get(scope.therapist_id, scope.therapist_id) if one_therapist else "All therapists"
what = vocabulary.TYPE_LABELS[assignment_type] if assignment_type else "all types"
st.text(f"{who} · {what} · homework due {period.label()} · figures as of {as_of:%d %b %Y}")

# --- Headline numbers -----------------------------------------------------------------------------------------

headline = adherence.period_headline(db(), scope=scope, period=period, today=now)
if assignment_type is None:
    rates, before = headline.current, headline.previous
else:  # the headline counts every type: one type's figures come from its row of the breakdown by type
    rates = tables.Rates.of(tables.row_of(
        caseload.breakdown(db(), scope=scope, period=period, today=now, by="type", assignment_type=assignment_type),
        "assignment_type", assignment_type,
    ))
    before = tables.Rates.of(tables.row_of(
        caseload.breakdown(db(), scope=scope, period=period.previous(), today=now, by="type",
                           assignment_type=assignment_type),
        "assignment_type", assignment_type,
    ))
thresholds, thresholds_problem = attention.thresholds_or_defaults(db())
# Ranked: the reasons are written for the rows the table shows, and for all of them when the CSV is downloaded.
flagged = attention.rank_needs_attention(db(), scope=scope, today=now, thresholds=thresholds)
# Every client's figures: the table at the end, and (the same figures, not asked for again) the spread of rates, the
# count with nothing due and, for one therapist, the bars by client.
overview = caseload.client_overview(db(), scope=scope, period=period, today=now, assignment_type=assignment_type)
nothing_due = caseload.clients_with_nothing_due_of(overview)

st.caption(f"Changes compare with the previous {period.days} days ({period.previous().label()}).")
CREDIT_RULE = (
    "Each submission earns credit: 1 when completed, 0.5 when partial, 0 when skipped; an assignment's credit "
    "is capped at its expected count."
)
metric_row = st.container(horizontal=True)  # wraps on a narrow screen, so no label is cut short
active, due, completion, on_time, needing, idle = [metric_row] * 6
active.metric("Active clients", view.count(headline.active_clients), border=True, height="stretch",
              help="Clients whose status is active today (not paused or discharged), any type of homework.")
due.metric(
    "Due",
    view.count(rates.due),
    **formats.shown_change(view.change(formats.count_change(rates.due, before.due), rates.due, before.due), neutral=True),
    help=f"Assignments (not cancelled) due from {period.start:%d %b} to {period.end:%d %b %Y}.",
    border=True,
    height="stretch",
)
rates_hidden = view.is_hidden(rates.due) or view.is_hidden(before.due)
completion.metric(
    "Completion",
    formats.NO_VALUE if view.is_hidden(rates.due) else formats.percent(rates.completion_rate),
    **formats.shown_change(None if rates_hidden else formats.points_change(rates.completion_rate, before.completion_rate)),
    help=f"Credit earned ÷ homework expected over the assignments due in the period, counting submissions up to "
    f"{as_of:%d %b %Y}. {CREDIT_RULE} Shows — when nothing is due. The change is in percentage points (pp).",
    border=True,
    height="stretch",
)
on_time.metric(
    "On time",
    formats.NO_VALUE if view.is_hidden(rates.due) else formats.percent(rates.on_time_rate),
    **formats.shown_change(None if rates_hidden else formats.points_change(rates.on_time_rate, before.on_time_rate)),
    help="As the completion rate, counting only submissions made on or before each assignment's due date.",
    border=True,
    height="stretch",
)
needing.metric("Need attention", view.count(len(flagged)), border=True, height="stretch",
               help="Active or paused clients who meet at least one of the rules below, as of today.")
idle.metric("Nothing due", view.count(nothing_due), border=True, height="stretch",
            help="Clients (any status) with no homework due in the period: they have no completion rate.")

# --- Needs attention ------------------------------------------------------------------------------------------

st.subheader("Needs attention")
st.caption("As of today, whatever the period and type chosen; most urgent first (clinical risk, then engagement, then "
           "admin). Choose a row, or its link, to open that client on the Client page.")
if thresholds_problem:
    st.warning("A needs-attention setting stored for the practice is not valid, so the default thresholds are used:")
    st.code(thresholds_problem, language=None)
counts = attention.kind_counts(flagged)
kind = st.segmented_control(
    "Show", options=[ALL, *attention.KINDS], key=KIND_FILTER_KEY, default=ALL,
    format_func=lambda k: f"{attention.KINDS[k]} ({counts[k]})" if k else f"All ({len(flagged)})",
    help="Clients with at least one reason of this kind (a client can have reasons of more than one kind).",
)
shown_flagged = attention.of_kind(flagged, kind or None)
if flagged.empty:
    st.success("No client meets any of the rules below today.")
elif shown_flagged.empty:
    st.success(f"No client has a reason of this kind today ({attention.KINDS[kind].lower()}).")
else:
    first_flagged, more_attention = bounds.first_rows(shown_flagged)
    attention_rows = tables.attention_table(first_flagged, thresholds=thresholds, today=now)
    first_attention = view.people(attention_rows)
    picked = st.dataframe(
        first_attention,
        hide_index=True,
        key="attention_list",
        on_select="rerun",
        selection_mode="single-row",
        row_height=66,  # above 4rem a cell wraps its text, so every reason can be read
        height=min(37 + 66 * len(attention_rows), 565),
        column_order=["rank", "label", "therapist_name", "kind", "reasons", "link"],
        column_config={
            "rank": st.column_config.NumberColumn("#", width=40),
            "label": st.column_config.TextColumn("Client", width=140),
            "therapist_name": st.column_config.TextColumn("Therapist", width=140),
            "kind": st.column_config.TextColumn("Kind", width=110, help="The kind of the most serious reason"),
            "reasons": st.column_config.TextColumn("Why", width="large"),
            "link": st.column_config.LinkColumn("Link", display_text="Open", width=60,
                                                help="The Client page for this client: open it, or copy the address"),
        },
    )
    if more_attention:
        st.caption(bounds.more_rows_note(more_attention, shown=len(first_attention), what="clients by need"))
    download_table(lambda: view.people(tables.attention_table(shown_flagged, thresholds=thresholds, today=now))[
        ["rank", "label", "therapist_name", "reasons"]], what="needs attention", file_name="needs-attention.csv",
        key="attention_download")
    if picked.selection.rows:
        open_client(list(attention_rows["client_id"])[picked.selection.rows[0]])
with st.expander("The rules, with the practice's thresholds"):
    for name, texts in attention.rules_by_kind(thresholds).items():
        st.markdown(f"**{name}**\n" + "\n".join(f"- {text}" for text in texts))
    st.caption("Clinical risk ranks first, then engagement, then admin; within a kind, the most serious rule met (in "
               "the order above), then the next; then the lowest completion. Discharged clients are never listed.")

# --- Completion by therapist (or client) and the spread of client rates ---------------------------------------

group = "client" if one_therapist else "therapist"
by_group = view.groups(caseload.breakdown_by_client_of(overview) if one_therapist else caseload.breakdown(
    db(), scope=scope, period=period, today=now, by=group, assignment_type=assignment_type))
distribution, hidden_bins = view.distribution(caseload.completion_distribution_of(overview))
left, right = st.columns(2)
with left:
    if by_group.empty:
        st.info(f"No {group}s in this caseload yet.")
    else:
        charted, more_groups = bounds.most_in_need(by_group)
        st.plotly_chart(figures.completion_by_group(charted, group_title=group), key="caseload_by_group")
        st.caption(f"Each bar: credit earned ÷ homework expected over the {group}'s assignments due in the period. "
                   "The dark tick is the previous period. " + bounds.more_groups_note(more_groups, group=group))
with right:
    if hidden_bins and not distribution["clients"].any():
        st.info(f"De-identified view: every bin holds {view.hidden} clients, so there is no chart.")
    elif not distribution["clients"].any():
        st.info("No client had anything due in this period, so there are no completion rates to compare.")
    else:
        st.plotly_chart(figures.completion_distribution(distribution), key="caseload_distribution")
        st.caption(
            "Each client's completion rate over their assignments due in the period, counted in bins of 10 points "
            "(a rate on a boundary goes to the higher bin; 100% is in the last). "
            f"Clients with nothing due are not counted: {view.count(nothing_due)}."
        )
        if hidden_bins:
            st.caption(f"De-identified view: bins with {view.hidden} clients have no bar: {', '.join(hidden_bins)}.")

# --- Week by week ---------------------------------------------------------------------------------------------

grid = view.weekly(caseload.weekly_grid(db(), scope=scope, period=period, today=now, by=group,
                                        assignment_type=assignment_type), kind=group)
if grid.empty:
    st.info("Nothing was due in this period, so there is no week-by-week view. Choose a longer period.")
else:
    charted, more_groups = bounds.most_in_need(by_group)
    st.plotly_chart(figures.completion_heatmap(bounds.grid_of(grid, charted, group=group) if more_groups else grid,
                                               row_title=group, week_so_far=timeline.week_so_far(period, now)),
                    key="caseload_heatmap")
    st.caption(f"Each cell: credit earned ÷ homework expected over the {group}'s assignments due that week "
               "(weeks start on Monday). Blank: nothing was due. The current week, not over yet, is marked “so far”. "
               + bounds.more_groups_note(more_groups, group=group))

# --- Every client ---------------------------------------------------------------------------------------------

st.subheader("Every client")
st.caption("Sorted by need: the needs-attention list's order first, then the lowest completion. "
           "Choose a row, or its link, to open that client on the Client page.")
shown = view.people(tables.by_need(overview, flagged))
first_clients, more_clients = bounds.first_rows(shown)
picked_client = st.dataframe(
    first_clients,
    hide_index=True,
    key="caseload_table",
    placeholder=formats.NO_VALUE,
    on_select="rerun",
    selection_mode="single-row",
    height=tables.table_height(len(first_clients)),
    column_order=["need", "label", "therapist_name", "status", "need_kind", "due", "completion_rate",
                  "completion_change", "on_time_rate", "days_since_last_submission", "streak_weeks",
                  "feedback_coverage", "link"],
    column_config={
        "need": st.column_config.NumberColumn("Need", format="%d", width=50,
                                              help="Place in the needs-attention list (empty: not on it)"),
        "need_kind": st.column_config.TextColumn("Attention", width=110,
                                                 help="The kind of the most serious reason today"),
        "link": st.column_config.LinkColumn("Link", display_text="Open", width=60,
                                            help="The Client page for this client: open it, or copy the address"),
        "label": st.column_config.TextColumn("Client", width=130),
        "therapist_name": st.column_config.TextColumn("Therapist", width=130),
        "status": st.column_config.TextColumn("Status", width=85),
        "due": st.column_config.NumberColumn("Due", help="Assignments due in the period"),
        "completion_rate": st.column_config.NumberColumn("Completion", format="%.0f%%",
                                                         help="Credit earned ÷ homework expected"),
        "completion_change": st.column_config.NumberColumn("Change", format="%+.0f pp",
                                                           help="Against the previous period, in percentage points"),
        "on_time_rate": st.column_config.NumberColumn("On time", format="%.0f%%",
                                                      help="Credit earned by the due date ÷ homework expected"),
        "days_since_last_submission": st.column_config.NumberColumn("Days since last", format="%d",
                                                                    help="Days from the last submission to today"),
        "streak_weeks": st.column_config.NumberColumn(
            "Streak (weeks)",
            help=f"Weeks in a row up to this week with at least {caseload.STREAK_THRESHOLD:.0%} of the homework due done"),
        "feedback_coverage": st.column_config.NumberColumn(
            "Feedback given", format="%.0f%%",
            help="Share of completed or partial submissions made in the period that have feedback"),
    },
)
if more_clients:
    st.caption(bounds.more_rows_note(more_clients, shown=len(first_clients), what="clients by need"))
download_table(shown[["label", "therapist_name", "status", "due", "completion_rate", "completion_change", "on_time_rate",
                      "days_since_last_submission", "streak_weeks", "feedback_coverage"]],
               what="every client", file_name="clients.csv", key="caseload_download")
if picked_client.selection.rows:
    open_client(list(shown["client_id"])[picked_client.selection.rows[0]])
