"""Effectiveness: which types of homework get done and lift mood, how homework goes with questionnaire change, and one
client's figures by type next to the caseload's."""

import streamlit as st

from analytics.metrics import clients, effectiveness, profile
from analytics.present import bounds, formats, tables, type_figures
from analytics.store import vocabulary
from dashboard import (
    current_period,
    current_view,
    db,
    pick_client,
    require_data,
    require_frame,
    show_effectiveness_table,
    therapist_filter,
    therapist_names,
    today,
)

require_frame()

THERAPIST_FILTER_KEY = "effectiveness_therapist"
MEASURE_KEY = "effectiveness_measure"

st.title("Effectiveness")

require_data()

period, now = current_period(), today()
names = therapist_names()

# --- Filters: a therapist (within what the viewer may see); the period and the client are in the sidebar -------

scope = therapist_filter(THERAPIST_FILTER_KEY)
view = current_view()  # de-identified: pseudonyms, counts from 1 to k hidden
who = names.get(scope.therapist_id, scope.therapist_id) if scope.therapist_id else "All therapists"
as_of = period.as_of(now)
st.text(f"{who} · homework due {period.label()} · figures as of {as_of:%d %b %Y}")

# --- Types compared ----------------------------------------------------------------------------------------------

st.subheader("Types of homework compared")
by_type = view.by_type(effectiveness.by_type(db(), scope=scope, period=period, today=now))
if by_type.empty:
    st.info("Nothing was due and no mood was reported in this period. Choose a longer period.")
else:
    left_out = view.left_out_of_type_chart(by_type, type_figures.left_out_of_type_chart(by_type))
    if len(left_out) == len(by_type):
        st.info(f"No type has both homework due and {effectiveness.MIN_N} or more mood ratings in this period, "
                "so there is no chart. The table below has what there is.")
    else:
        st.plotly_chart(type_figures.type_comparison(view.charted_types(by_type)), key="effectiveness_types")
        st.caption(
            "Each point is a type of homework: across, the share of the homework expected that was done; up, the mean "
            "change in mood from before to after doing it (points on the 0–10 scale). The bar is the mean's 95% "
            f"interval; n is how many submissions had both moods. A mean needs {effectiveness.MIN_N} ratings or more."
        )
        if left_out:
            st.caption("Not in the chart:")
            for line in left_out:
                st.text(line)
    show_effectiveness_table(by_type, key="effectiveness_table")

# --- Homework and questionnaire change ----------------------------------------------------------------------------

st.subheader("Homework and change in questionnaire scores")
measure = st.radio("Questionnaire", options=list(vocabulary.MEASURES), horizontal=True, key=MEASURE_KEY,
                   help="PHQ-9 measures depression, GAD-7 anxiety; lower scores are better.")
outcome = effectiveness.adherence_outcome(db(), scope=scope, period=period, today=now, measure=measure)
shown_outcome = view.outcome(outcome)
if shown_outcome is None:
    st.info(f"De-identified view: {view.hidden} clients have homework due and two {measure} scores in this period, "
            "so there is nothing to show.")
elif outcome.n == 0:
    st.info(outcome.wording)
else:
    outcome = shown_outcome
    st.plotly_chart(type_figures.adherence_outcome_scatter(outcome), key="effectiveness_outcome")
    if bounds.scatter_note(len(outcome.points)):
        st.caption(bounds.scatter_note(len(outcome.points)))
    st.text(outcome.wording)
    st.caption(
        f"Each point is a client with homework due in the period and at least two {measure} scores taken in it: "
        "across, how much of their homework they completed; up, their latest score minus their first (below 0 is "
        "better). r is the correlation, with its 95% interval; the dashed line is the least-squares fit."
    )

# --- One client ---------------------------------------------------------------------------------------------------

st.subheader("One client, type by type")
client = pick_client(scope)
if client is None:
    st.info("No clients in this caseload yet.")
    st.stop()
chosen = clients.client_profile(db(), scope=scope, client_id=client)
st.text(f"{view.client(chosen.client_id, chosen.label)} · {view.therapist(chosen.therapist_id, chosen.therapist_name)} "
        f"· homework due {period.label()}")
client_types = profile.client_profile_by_type(db(), scope=scope, client_id=client, period=period, today=now)
if not tables.has_own_figures(client_types):
    st.info("This client had nothing due and no mood ratings in this period, so what is likely for them is the "
            "caseload's figure for each type. Choose a longer period to see their own.")
st.caption(
    "A client's own figure from a few assignments is mostly chance, so what is likely for them mixes their own figure "
    f"and the caseload's (the figure over {'this therapist' if scope.therapist_id else 'every therapist'}'s clients), "
    "weighted by how much data they have. Choose the client in the sidebar."
)
st.plotly_chart(type_figures.profile_chart(client_types), key="effectiveness_profile")
st.dataframe(
    tables.profile_table(client_types),
    hide_index=True,
    key="effectiveness_profile_table",
    placeholder=formats.NO_VALUE,
    column_config={
        "type": st.column_config.TextColumn("Type"),
        "expected": st.column_config.NumberColumn("Expected", format="%g",
                                                  help="Times the client's homework of this type was to be done: "
                                                  "the amount of data behind their completion"),
        "completion": st.column_config.NumberColumn("Theirs", format="%.0f%%", help="Their own completion"),
        "caseload_completion": st.column_config.NumberColumn("Caseload", format="%.0f%%",
                                                             help="The caseload's completion of this type"),
        "completion_weight": st.column_config.NumberColumn(
            "Own weight", format="%.0f%%", help="How much their own completion counts in the likely one"),
        "shrunk_completion": st.column_config.NumberColumn("Likely", format="%.0f%%",
                                                           help="Likely completion: theirs pulled toward the caseload's"),
        "mood_lift_n": st.column_config.NumberColumn("Ratings", help="Their submissions with both moods"),
        "mood_lift": st.column_config.TextColumn("Their lift", help=f"Their mean mood lift, from {effectiveness.MIN_N} "
                                                 "ratings (points, 0–10 scale)"),
        "caseload_mood_lift": st.column_config.NumberColumn("Caseload lift", format="%+.1f"),
        "mood_weight": st.column_config.NumberColumn("Own lift weight", format="%.0f%%",
                                                     help="How much their own mood lift counts in the likely one"),
        "shrunk_mood_lift": st.column_config.NumberColumn("Likely lift", format="%+.1f",
                                                          help="Likely mood lift: theirs pulled toward the caseload's"),
    },
)
