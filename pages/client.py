"""Client: why the client needs attention today, who they are, their period week by week (homework, mood and scores on
one time axis), current and overdue homework, and feedback given beside each submission. /client?client=ID opens one."""

from datetime import UTC, datetime

import streamlit as st

from analytics.metrics import attention, caseload, clients, effectiveness, mood, outcomes, timeline
from analytics.planning import planner
from analytics.present import figures, formats, tables, timeline_figures
from analytics.store.scope import ScopeError
from dashboard import (
    current_period,
    current_scope,
    current_view,
    db,
    download_table,
    link_to_data_page,
    pick_client,
    record_client_view,
    require_frame,
    scope_label,
    show_current_homework,
    show_effectiveness_table,
    today,
)

require_frame()

FEEDBACK_SAVED_KEY = "feedback_saved"  # set just before st.rerun() after a save, for the message on the next run
FEEDBACK_SEEN_KEY = "feedback_seen"  # (submission_id, version) of the feedback shown when the box was last drawn
KIND_BOXES = {"clinical": st.error, "engagement": st.warning, "admin": st.info}

st.title("Client")

scope, period, now = current_scope(), current_period(), today()
client = pick_client(scope, follow_url=True)
if client is None:
    st.info("No clients in your caseload yet. Import data on the Data page.")
    link_to_data_page()
    st.stop()

profile = clients.client_profile(db(), scope=scope, client_id=client)
record_client_view(client)
view = current_view()  # de-identified: a pseudonym, no text people typed, small counts hidden
as_of = period.as_of(now)

# --- Why they need attention today (the rules' own words and figures, whatever the period) ----------------------

thresholds, _ = attention.thresholds_or_defaults(db())
flags = attention.client_flags(db(), scope=scope, client_id=client, today=now, thresholds=thresholds)
if flags.empty:
    st.caption("Needs attention today: no rule is met.")
else:
    row = flags.iloc[0]
    for kind in row["kinds"]:
        reasons = [text for text, of in zip(row["reasons"], row["reason_kinds"], strict=True) if of == kind]
        KIND_BOXES[kind](f"**{attention.KINDS[kind]}** · " + formats.inert_markdown("; ".join(reasons)),
                         icon=":material/flag:")

# --- Who the client is (user text: st.text only) ---------------------------------------------------------------

with st.container(border=True):
    for column, (caption, value) in zip(
        st.columns(4),
        [
            ("Client", view.client(profile.client_id, profile.label)),
            ("Therapist", view.therapist(profile.therapist_id, profile.therapist_name)),
            ("Status", profile.status),
            ("Intake", formats.day_label(profile.intake_date, with_year=True) if profile.intake_date else formats.NO_VALUE),
        ],
        strict=True,
    ):
        column.caption(caption)
        column.text(value)
    if view.on:
        st.caption("De-identified view: the client's concern, preferences and goals are not shown.")
    for column, (caption, value) in zip(
        st.columns([1, 1, 2]) if not view.on else [],
        [
            ("Main concern", profile.primary_concern or formats.NO_VALUE),
            ("Preferences", ", ".join(profile.preferences) or formats.NO_VALUE),
            ("Goals, in the client's words", profile.goals or formats.NO_VALUE),
        ] if not view.on else [],
        strict=True,
    ):
        column.caption(caption)
        column.text(value)

st.text(f"{scope_label(scope)} · homework due {period.label()} · figures as of {as_of:%d %b %Y}")

# --- Headline numbers ------------------------------------------------------------------------------------------

# caseload.client_overview's row of this client for the period and the previous one, read from the client's own rows
current, previous = clients.client_overview(db(), scope=scope, client_id=client, period=period, today=now
                                            ).to_dict("records")
lifts = clients.mood_lifts(db(), scope=scope, client_id=client, period=period, today=now)
lift, previous_lift = clients.lift_of(current), clients.lift_of(previous)
st.caption(f"Changes compare with the previous {period.days} days ({period.previous().label()}).")

CREDIT_RULE = (
    "Each submission earns credit: 1 when completed, 0.5 when partial, 0 when skipped, "
    "and an assignment's credit is capped at its expected count."
)
completion, on_time, coverage = st.columns(3)
completion.metric(
    "Completion rate",
    formats.percent(current["completion_rate"]),
    **formats.shown_change(formats.points_change(current["completion_rate"], current["previous_completion_rate"])),
    help=f"Credit earned ÷ homework expected, over this client's assignments due in the period, counting "
    f"submissions up to {as_of:%d %b %Y}. {CREDIT_RULE} Shows — when nothing was due.",
    border=True,
    height="stretch",
)
on_time.metric(
    "On-time rate",
    formats.percent(current["on_time_rate"]),
    **formats.shown_change(formats.points_change(current["on_time_rate"], previous["on_time_rate"])),
    help="As the completion rate, counting only submissions made on or before each assignment's due date.",
    border=True,
    height="stretch",
)
coverage.metric(
    "Feedback given",
    formats.percent(current["feedback_coverage"]),
    **formats.shown_change(formats.points_change(current["feedback_coverage"], previous["feedback_coverage"])),
    help="Share of the completed or partial submissions made in the period (to homework not cancelled) "
    "that have your feedback. Shows — when there were none.",
    border=True,
    height="stretch",
)
silence, streak, lifted = st.columns(3)
silence.metric(
    "Last submission",
    formats.days_ago(current["days_since_last_submission"]),
    help=f"Days from the client's last submission (to any homework, made up to {as_of:%d %b %Y}) to today.",
    border=True,
    height="stretch",
)
streak.metric(
    "Streak",
    formats.weeks(current["streak_weeks"]),
    help=f"Weeks in a row, up to this week, in which the client earned at least {caseload.STREAK_THRESHOLD:.0%} "
    "of the homework due that week. Weeks with nothing due neither count nor break the streak. As of today.",
    border=True,
    height="stretch",
)
lifted.metric(
    "Mood lift",
    formats.lift_text(lift),
    **formats.shown_change(formats.signed_change(lift.mean, previous_lift.mean)),
    help="Mean of mood after − mood before (points on the 0–10 scale) over the submissions made in the period "
    f"with both moods; n is how many. 95% interval: {formats.interval_text(lift.ci_low, lift.ci_high)} "
    "(none below 2 submissions).",
    border=True,
    height="stretch",
)

# --- Week by week: homework, mood and questionnaires on one time axis ---------------------------------------

weeks = timeline.client_weeks(db(), scope=scope, client_id=client, period=period, today=now)
daily = mood.daily_mood(db(), scope=scope, client_id=client, period=period, today=now)
taken = outcomes.measure_series(db(), scope=scope, client_id=client, period=period, today=now)
trend = mood.mood_trend(db(), scope=scope, client_id=client, period=period, today=now)
st.plotly_chart(timeline_figures.client_timeline(weeks, daily, taken), key="client_timeline")
st.caption(
    "Every week of the period, empty ones included (weeks start on Monday). Bars: credit earned ÷ homework expected "
    "for the assignments due that week; the current week is lighter and marked “so far”: it is not over, so it is "
    "not a full week to compare. Shaded: weeks without a single submission. Mood: dots are each day's mean, the line "
    "each week's (mood after, or before when only that was given). Scores: PHQ-9 and GAD-7 taken in the period."
)
st.text(formats.trend_text(trend))
st.caption(
    "The trend is the least-squares line through every mood reported in the period against time, "
    "in points a week, with its 95% interval; it needs 3 moods on at least 2 days."
)

# --- Mood before and after ----------------------------------------------------------------------------------

if lifts.empty:
    st.info("No submission in this period has both a mood before and a mood after, so there is no mood lift to show.")
else:
    st.plotly_chart(figures.mood_before_after(view.titled_by_type(lifts)), key="client_mood_lifts")
    st.caption("Each submission with both moods: the open circle is the mood before the homework, the filled one "
               "the mood after (0 worst – 10 best); the line between them is the mood lift.")

# --- Questionnaires ------------------------------------------------------------------------------------------

st.subheader("Questionnaires")
scores = outcomes.measure_series(db(), scope=scope, client_id=client)
if scores.empty:
    st.info("No PHQ-9 or GAD-7 scores recorded for this client yet.")
else:
    chart, judged = st.columns([3, 2])
    chart.plotly_chart(figures.measure_scores(scores), key="client_measures")
    judged.caption("First to latest score (all scores recorded, whatever the period)")
    for sentence in formats.measure_change_texts(outcomes.measure_change(db(), scope=scope, client_id=client)):
        judged.text(sentence)
    judged.caption(
        "Lower scores are better. Reliable change: the score moved by at least "
        f"{outcomes.RELIABLE_CHANGE['PHQ-9']} points on PHQ-9 or {outcomes.RELIABLE_CHANGE['GAD-7']} on GAD-7. "
        f"Recovered: the first score was at or above the clinical cut-off ({outcomes.CLINICAL_CUTOFF['PHQ-9']} on "
        f"PHQ-9, {outcomes.CLINICAL_CUTOFF['GAD-7']} on GAD-7; dotted line) and the latest is below it. "
        "Shaded bands: minimal, mild, moderate, (moderately) severe, as in the NHS Talking Therapies manual."
    )

# --- By type of homework ------------------------------------------------------------------------------------

st.subheader("By type of homework")
by_type = view.by_type(effectiveness.by_type(db(), scope=scope, period=period, today=now, client_id=client))
if by_type.empty:
    st.info("Nothing was due and no mood lift was reported in this period. Choose a longer period.")
else:
    show_effectiveness_table(by_type, key="client_by_type")

# --- Current and overdue homework: what is set now, whatever the period (a plan saved on the Planner shows at once) ---

st.subheader("Current homework")
current, overdue = planner.homework_now(db(), scope=scope, client_id=client, today=now)
if current.empty:
    st.info("Nothing is set for this client that is due today or later. Plan homework on the Planner page.")
else:
    st.caption("Homework not cancelled that is due today or later, soonest first. Change or cancel it on the Planner "
               "page.")
    show_current_homework(current, key="client_current")
if not overdue.empty:
    st.subheader("Overdue")
    st.caption(f"Homework due in the last {planner.CURRENT_DAYS_BACK} days, before today, that is not fully done, the "
               "most recent first. Move its due date or cancel it on the Planner page.")
    show_current_homework(overdue, key="client_overdue")

# --- Submissions, each answered in place: choose a row, the feedback box is beside the list --------------------

SUBMISSION_ORDER = ["review", "submitted_at", "title", "completion", "client_note", "therapist_feedback", "mood_before",
                    "mood_after", "on_time", "quality", "assignment_type", "assignment_status"]
SUBMISSION_COLUMNS = {
    "review": st.column_config.TextColumn("Feedback", width=100,
                                          help=f"{tables.AWAITING}: completed or partial work without feedback"),
    "submitted_at": st.column_config.DatetimeColumn("Submitted", format="D MMM, HH:mm", width=110),
    "title": st.column_config.TextColumn("Assignment"),
    "assignment_type": st.column_config.TextColumn("Type"),
    "completion": st.column_config.TextColumn("Done", width=85),
    "on_time": st.column_config.CheckboxColumn("On time", help="Submitted on or before the due date", width=70),
    "quality": st.column_config.NumberColumn("Quality", help="Rating 0–4", width=70),
    "mood_before": st.column_config.NumberColumn("Mood before", help="0 worst – 10 best", width=95),
    "mood_after": st.column_config.NumberColumn("Mood after", help="0 worst – 10 best", width=90),
    "client_note": st.column_config.TextColumn("Client's note", width="medium"),
    "therapist_feedback": st.column_config.TextColumn("Your feedback", width="medium"),
    "assignment_status": st.column_config.TextColumn(
        "Homework", help="cancelled: the homework was withdrawn, so it counts in no rate"),
}

st.subheader("Submissions in the period")
submissions = clients.submission_list(db(), scope=scope, client_id=client, period=period, today=now)
if submissions.empty:
    st.info("No submissions in this period. Choose a longer period to see earlier work.")
    st.stop()

if view.on:  # pseudonyms and no typed text; feedback is written in the identified view
    shown = view.people(tables.submissions_table(submissions))
    columns = [c for c in SUBMISSION_ORDER if c in shown.columns]
    st.dataframe(shown, hide_index=True, key=f"client_submissions_{client}", placeholder="", column_order=columns,
                 column_config=SUBMISSION_COLUMNS)
    download_table(shown[columns], what="submissions of one client",
                   file_name=f"submissions-{formats.file_stem(view.client(client))}.csv", key="client_submissions_download")
    st.info("Feedback is written in the identified view: the de-identified view shows no text people typed.")
    st.stop()

FEEDBACK_FOR_KEY = f"feedback_for_{client}"  # the submission the box is for, kept across reruns
if st.session_state.pop(FEEDBACK_SAVED_KEY, False):
    st.success("Feedback saved. It shows in the list and counts on every page.")
shown = tables.submissions_table(submissions)
waiting = int((shown["review"] == tables.AWAITING).sum())
st.caption(f"Newest first; {waiting} of {len(shown)} wait for your feedback (marked “{tables.AWAITING}”). Choose a row "
           "to read it and give feedback beside the list.")
listed, answer = st.columns([3, 2])
with listed:
    picked = st.dataframe(
        shown,
        hide_index=True,
        key=f"client_submissions_{client}",
        placeholder="",
        on_select="rerun",
        selection_mode="single-row",
        height=tables.table_height(len(shown), most=12),
        column_order=SUBMISSION_ORDER,
        column_config=SUBMISSION_COLUMNS,
    )
    download_table(shown[SUBMISSION_ORDER], what="submissions of one client",
                   file_name=f"submissions-{formats.file_stem(client)}.csv", key="client_submissions_download")
ids = list(shown["submission_id"])
if picked.selection.rows:
    st.session_state[FEEDBACK_FOR_KEY] = ids[picked.selection.rows[0]]
chosen = st.session_state.get(FEEDBACK_FOR_KEY)
if chosen not in ids:  # nothing chosen yet: the newest waiting for feedback, else the newest
    chosen = tables.first_awaiting(shown) or ids[0]
existing = tables.row_of(submissions, "submission_id", chosen)
has_feedback = isinstance(existing["therapist_feedback"], str) and bool(existing["therapist_feedback"].strip())
version = clients.feedback_version(db(), scope=scope, submission_id=chosen)
TEXT_KEY = f"feedback_text_{chosen}"
if TEXT_KEY not in st.session_state:  # the box starts from the feedback already given (saving adds a version)
    st.session_state[TEXT_KEY] = existing["therapist_feedback"] if has_feedback else ""

with answer.container(border=True):
    st.caption("Feedback on")
    st.text(tables.submission_choices(submissions)[chosen])
    if isinstance(existing["client_note"], str) and existing["client_note"].strip():
        st.caption("The client's note:")
        st.text(existing["client_note"])
    edited = ", edited" if version > 1 else ""
    st.caption(f"Feedback given {formats.day_label(existing['feedback_at'], with_year=True)}{edited}; saving adds a new "
               "version (earlier ones are kept)." if has_feedback else "No feedback on this submission yet.")
    if not scope.may_write_clients:
        st.info("Feedback is written by the client's therapist; your role reads the figures only.")
        st.stop()
    with st.form("feedback_form", border=False):
        text = st.text_area("Your feedback", key=TEXT_KEY, max_chars=clients.MAX_FEEDBACK_CHARS,
                            placeholder="What went well, what to try next time…")
        save = st.form_submit_button("Save feedback", type="primary", key="feedback_save")
    # The version this person saw is the one drawn on the run before this click: a newer one is someone else's.
    seen = st.session_state.get(FEEDBACK_SEEN_KEY)
    st.session_state[FEEDBACK_SEEN_KEY] = (chosen, version)
    if save:
        try:
            clients.save_feedback(db(), scope=scope, submission_id=chosen, text=text, at=datetime.now(UTC),
                                  expected_version=seen[1] if seen and seen[0] == chosen else version)
        except ScopeError:
            st.error("This submission is not in your caseload, so no feedback was saved.")
        except ValueError as exc:  # FeedbackRefused and the like: the real reason, in words; the text stays in the box
            st.error(f"Nothing was saved. {exc}")  # our own words: FeedbackRefused holds no typed text
        else:
            st.session_state[FEEDBACK_SAVED_KEY] = True
            st.session_state[FEEDBACK_FOR_KEY] = chosen
            st.rerun()  # every figure and list reads the store again, so the feedback shows at once
