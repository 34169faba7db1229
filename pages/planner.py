"""Planner: suggestions for one client, a plan and its weekly load against recent weeks, saving it with take-home
copies, changing the homework already set, and the practice's own library templates."""

from datetime import timedelta

import streamlit as st

from analytics.metrics import clients, profile
from analytics.planning import library, planner, suggest, takehome
from analytics.present import formats, plan_editor, tables, type_figures
from analytics.store import settings, vocabulary
from analytics.store.scope import ScopeError
from dashboard import (
    current_scope,
    db,
    link_to_data_page,
    pick_client,
    record_download,
    require_frame,
    show_current_homework,
    today,
)

require_frame()

SUGGESTIONS_SHOWN = 8
FIRST_WEEK = timedelta(days=7)  # a new item runs from today to the next session a week on, until changed
TEMPLATE_PICK_KEY = "planner_template_pick"
TEMPLATE_NEXT_KEY = "planner_template_next"  # a template just saved, chosen in the picker on the next run
NEW_TEMPLATE = ""

st.title("Planner")

scope, now = current_scope(), today()
if scope.deidentified:
    st.info("The planner works with what people wrote (titles, instructions, goals), so it is not part of the "
            "de-identified view. Switch the de-identified view off in the sidebar to plan homework.")
    st.stop()
client = pick_client(scope)
if client is None:
    st.info("No clients in your caseload yet. Import data on the Data page.")
    link_to_data_page()
    st.stop()

# Per client, so that a plan half built for one client never shows for another.
PLAN_KEY = f"planner_plan_{client}"  # the plan's rows as last folded in (the editor holds later edits)
EDITOR_KEY = f"planner_editor_{client}"
SAVED_KEY = f"planner_saved_{client}"  # ids of the plan saved last, for its take-home copies
PLAN_SAVED_KEY = "planner_plan_saved_message"
CHANGED_KEY = "planner_changed_message"
TEMPLATE_SAVED_KEY = "planner_template_saved_message"

who = clients.client_profile(db(), scope=scope, client_id=client)
discharged = who.status == "discharged"
due_default = now + FIRST_WEEK


def take_home(assignment_ids: list[str], *, key: str) -> None:
    """The two take-home copies of these assignments (as stored) as download buttons, side by side."""
    stored = planner.saved_plan(db(), scope=scope, client_id=client, assignment_ids=assignment_ids)
    stem = f"homework-{formats.file_stem(client)}-{now:%Y%m%d}"
    practice = settings.practice_name(db()) or settings.DEFAULT_PRACTICE_NAME
    buttons = st.container(horizontal=True)
    buttons.download_button(
        "Calendar file (.ics)", data=takehome.plan_ics(stored, client_label=who.label, practice_name=practice),
        file_name=f"{stem}.ics",
        mime="text/calendar", on_click=record_download, args=("calendar file (.ics)", client),
        key=f"planner_ics_{key}", icon=":material/calendar_month:",
        help="One event per task (repeating as often as asked), for the client's phone or computer calendar.")
    buttons.download_button(
        "Printable handout (HTML)", mime="text/html", on_click=record_download, args=("handout (HTML)", client),
        key=f"planner_handout_{key}",
        data=takehome.plan_handout_html(stored, client_label=who.label, therapist_name=who.therapist_name,
                                        practice_name=practice, client_goals=who.goals),
        file_name=f"{stem}.html", icon=":material/print:",
        help="One page: what to do, how often, by when, why, and a table to note mood before and after.")


# --- Who the client is (user text: st.text only) ---------------------------------------------------------------

with st.container(border=True):
    for column, (caption, value) in zip(
        st.columns([1, 1, 1, 3]),
        [
            ("Client", who.label),
            ("Therapist", who.therapist_name or who.therapist_id),
            ("Status", who.status),
            ("Main concern", who.primary_concern or formats.NO_VALUE),
        ],
        strict=True,
    ):
        column.caption(caption)
        column.text(value)
    for column, (caption, value) in zip(
        st.columns([1, 2]),
        [
            ("Preferences", ", ".join(who.preferences) or formats.NO_VALUE),
            ("Goals, in the client's words", who.goals or formats.NO_VALUE),
        ],
        strict=True,
    ):
        column.caption(caption)
        column.text(value)
if discharged:
    st.warning("This client is discharged, so no homework can be planned for them. Reopen the client on the Data page "
               "(status active) to plan again.")

client_types = profile.client_profile_by_type(db(), scope=scope, client_id=client, today=now)
pace = planner.recent_pace(db(), scope=scope, client_id=client, today=now)
st.text(f"Their figures here are over all their homework up to today, whatever the period in the sidebar (the "
        f"Effectiveness page uses that period). Their pace: {formats.per_week(pace.times_per_week, 'times')} a week "
        f"over the last {planner.RECENT_WEEKS} weeks.")
with st.expander("Their figures by type of homework, and what is likely"):
    st.caption("Over all their homework up to today. What is likely mixes the client's own figure with the caseload's, "
               "weighted by how much data they have: a few assignments say little on their own.")
    st.dataframe(
        tables.profile_table(client_types),
        hide_index=True,
        key="planner_profile",
        placeholder=formats.NO_VALUE,
        column_order=["type", "expected", "completion", "shrunk_completion", "mood_lift_n", "mood_lift",
                      "shrunk_mood_lift"],
        column_config={
            "type": st.column_config.TextColumn("Type"),
            "expected": st.column_config.NumberColumn("Expected", format="%g",
                                                      help="Times their homework of this type was to be done"),
            "completion": st.column_config.NumberColumn("Their completion", format="%.0f%%"),
            "shrunk_completion": st.column_config.NumberColumn("Likely completion", format="%.0f%%"),
            "mood_lift_n": st.column_config.NumberColumn("Ratings", help="Their submissions with both moods"),
            "mood_lift": st.column_config.TextColumn("Their mood lift", help="Mean of mood after − before (points)"),
            "shrunk_mood_lift": st.column_config.NumberColumn("Likely mood lift", format="%+.1f"),
        },
    )

# --- Suggestions and the library ------------------------------------------------------------------------------

st.subheader("Suggestions")
st.caption("Library templates ranked for this client: how likely they are to do the type and how much their mood "
           "lifts after it, whether it suits their pace (offered at most 1.5 × what they did a week lately, at least "
           "once), then how well it fits their main concern, goals and preferences. Each says why; a type after which "
           "mood tends to fall is never first.")
adding = []  # rows chosen with an "Add" button in this run: they join the plan after the editor is drawn
# The homework set now, read once for the suggestions and the "Current homework" section below (every write in
# between, a plan or a template saved, reruns the page).
current = planner.current_assignments(db(), scope=scope, client_id=client, today=now)
suggested = suggest.suggestions(db(), scope=scope, client_id=client, today=now, limit=SUGGESTIONS_SHOWN,
                                by_type=client_types, pace=pace, current=current)  # read once above
for column, suggestion in zip(st.columns(2) * SUGGESTIONS_SHOWN, suggested.to_dict("records"), strict=False):
    with column.container(border=True, height="stretch"):
        st.text(f"{suggestion['rank']}. {suggestion['title']}")
        often = f"{suggestion['times_per_week']} a week"
        if suggestion["times_per_week"] < suggestion["template_times_per_week"]:
            often += f" (written as {suggestion['template_times_per_week']})"
        st.caption(f"{formats.inert_markdown(suggestion['type_label'])} · {often} · "
                   f"{suggestion['default_minutes']} min each · likely done {formats.percent(suggestion['expected_completion'])}")
        st.text(suggestion["reason"])
        if suggestion["load_note"]:
            st.caption(formats.inert_markdown(suggestion["load_note"]))
        if st.button("Add to the plan", key=f"planner_add_{suggestion['template_id']}", icon=":material/add:",
                     disabled=discharged):
            adding.append(plan_editor.plan_row(suggestion, start=now, due=due_default))

templates = library.templates(db())
template_names = tables.template_choices(templates)
pick_column, add_column = st.columns([4, 1], vertical_alignment="bottom")
library_pick = pick_column.selectbox("Or any template from the library", options=list(template_names),
                                     format_func=template_names.__getitem__, key="planner_library_pick")
if add_column.button("Add to the plan", key="planner_add_from_library", icon=":material/add:", disabled=discharged):
    adding.append(plan_editor.plan_row(tables.row_of(templates, "template_id", library_pick), start=now, due=due_default))

with st.expander("Add a template to the library, or change one"):
    if TEMPLATE_NEXT_KEY in st.session_state:  # chosen before the picker is drawn (a drawn widget cannot change)
        st.session_state[TEMPLATE_PICK_KEY] = st.session_state.pop(TEMPLATE_NEXT_KEY)
    if message := st.session_state.pop(TEMPLATE_SAVED_KEY, None):
        st.success(message)
    picked = st.selectbox("Template", options=[NEW_TEMPLATE, *template_names], key=TEMPLATE_PICK_KEY,
                          format_func=lambda tid: template_names.get(tid, "A new template"))
    base = library.get_template(db(), picked) if picked else None
    if base is not None and not picked.startswith(library.USER_PREFIX):
        st.caption("This template came with the dashboard and stays as shipped: saving makes your practice's own copy, "
                   "with a new id.")
    elif base is not None:
        author = library.template_author(db(), picked) or (None, None)
        st.caption(f"Written by {author[0] or 'an earlier release (no author recorded)'}"
                   + (f", last changed by {author[1]}" if author[1] and author[1] != author[0] else "")
                   + ("." if library.may_change(scope, author[0]) else
                      ". Only its author or an admin can change it: saving makes a copy of your own instead."))
    form_key = picked or "new"  # a form per template, so that its fields start from that template
    with st.form(f"planner_template_form_{form_key}", border=False):
        kind = st.selectbox("Type", options=vocabulary.ASSIGNMENT_TYPES, format_func=vocabulary.TYPE_LABELS.__getitem__,
                            index=vocabulary.ASSIGNMENT_TYPES.index(base.assignment_type) if base else 0,
                            key=f"planner_template_type_{form_key}")
        title = st.text_input("Title", value=base.title if base else "", max_chars=library.MAX_TITLE_CHARS,
                              key=f"planner_template_title_{form_key}")
        instructions = st.text_area("Instructions the client can follow", value=base.instructions if base else "",
                                    max_chars=library.MAX_INSTRUCTIONS_CHARS,
                                    key=f"planner_template_instructions_{form_key}")
        minutes_column, times_column = st.columns(2)
        minutes = minutes_column.number_input("Minutes each time", min_value=0, max_value=library.MAX_MINUTES, step=1,
                                              value=base.default_minutes if base else 10,
                                              key=f"planner_template_minutes_{form_key}")
        times = times_column.number_input("Times a week", min_value=1, max_value=library.MAX_TIMES_PER_WEEK, step=1,
                                          value=base.times_per_week if base else 1,
                                          key=f"planner_template_times_{form_key}")
        concerns = st.text_input("Suits these main concerns", value="; ".join(base.suits_concerns) if base else "",
                                 help="Separated by ;, in the words of the clients' main concern: low mood; worry",
                                 key=f"planner_template_concerns_{form_key}")
        goals = st.text_input("Suits goals with these words", value="; ".join(base.suits_goals) if base else "",
                              help="Separated by ;, matched against the client's goals: sleep; seeing friends",
                              key=f"planner_template_goals_{form_key}")
        preferences = st.text_input("Suits these preferences", value="; ".join(base.suits_preferences) if base else "",
                                    help="Separated by ;: writing, visual, movement, quiet, structured, creative",
                                    key=f"planner_template_preferences_{form_key}")
        save_template = st.form_submit_button("Save the template", key=f"planner_template_save_{form_key}")
    if save_template:
        theirs = bool(picked) and picked.startswith(library.USER_PREFIX) and not library.may_change(
            scope, (library.template_author(db(), picked) or (None, None))[0])
        try:
            saved_id = library.save_template(db(), {
                "template_id": None if theirs else picked or None, "assignment_type": kind, "title": title,
                "instructions": instructions, "default_minutes": minutes, "times_per_week": times,
                "suits_concerns": concerns, "suits_goals": goals, "suits_preferences": preferences,
            }, scope=scope)
        except ValueError as exc:
            st.error("Nothing was saved. What needs changing:")
            st.text(str(exc))
        else:
            st.session_state[TEMPLATE_NEXT_KEY] = saved_id
            st.session_state[TEMPLATE_SAVED_KEY] = (f"Saved the template “{formats.inert_markdown(title.strip())}”. "
                                                    "It is in the library for every therapist and in the suggestions "
                                                    "from now on.")
            st.rerun()

# --- The plan -------------------------------------------------------------------------------------------------

st.subheader("The plan")
if message := st.session_state.pop(PLAN_SAVED_KEY, None):
    st.success(message)
if st.session_state.get(SAVED_KEY):
    st.caption("Take-home copies of the plan saved last, for the client, headed “"
               f"{formats.inert_markdown(settings.practice_name(db()) or settings.DEFAULT_PRACTICE_NAME)}” "
               "(the practice name is set on the Data page):")
    take_home(st.session_state[SAVED_KEY], key="saved")
st.caption("Add suggestions above, or a row of your own with + below the table. Change any cell; to remove rows, "
           "tick them at the left and press the bin. Times a week: 1–7; the homework is expected that often from its "
           "start to its due date.")
edited = st.data_editor(
    plan_editor.plan_table(st.session_state.get(PLAN_KEY, [])),
    key=EDITOR_KEY,
    num_rows="dynamic",
    hide_index=True,
    placeholder="",
    disabled=discharged,
    column_order=["assignment_type", "title", "start", "due", "times_per_week", "minutes", "chosen_with_client", "goal",
                  "instructions"],
    column_config={
        "assignment_type": st.column_config.SelectboxColumn("Type", options=vocabulary.ASSIGNMENT_TYPES, required=True,
                                                            format_func=type_figures.SHORT_TYPE_LABELS.__getitem__),
        "title": st.column_config.TextColumn("Title", required=True, max_chars=planner.MAX_TITLE_CHARS),
        "instructions": st.column_config.TextColumn("Instructions for the client",
                                                    max_chars=planner.MAX_INSTRUCTIONS_CHARS, width="large"),
        "start": st.column_config.DateColumn("Start", format="D MMM YYYY", default=now, required=True),
        "due": st.column_config.DateColumn("Due", format="D MMM YYYY", default=due_default, required=True),
        "times_per_week": st.column_config.NumberColumn("Times a week", min_value=1,
                                                        max_value=library.MAX_TIMES_PER_WEEK, step=1, default=1,
                                                        required=True),
        "minutes": st.column_config.NumberColumn("Minutes each", min_value=0, max_value=library.MAX_MINUTES, step=1,
                                                 default=10, required=True),
        "goal": st.column_config.TextColumn("Goal it serves", max_chars=planner.MAX_GOAL_CHARS),
        "chosen_with_client": st.column_config.CheckboxColumn("Chosen together", default=False,
                                                              help="Tick when it was chosen with the client"),
    },
)
if adding:  # the rows added in this run join the plan with every edit made so far
    st.session_state[PLAN_KEY] = plan_editor.plan_rows(edited) + adding
    st.rerun()

items, problems = plan_editor.plan_items(plan_editor.plan_rows(edited))
if problems:
    st.warning("Some items cannot be saved yet. Fix them in the table, or remove them:")
    for problem in problems:
        st.text(problem)
if items:
    load = planner.plan_load(db(), scope=scope, client_id=client, items=items, today=now)
    st.caption(f"A week: the plan's busiest week, and what the client has done a week over the last "
               f"{planner.RECENT_WEEKS} weeks (fewer when their homework began later; — when they never had any).")
    metric_row = st.container(horizontal=True)  # wraps on a narrow screen, so no label is cut short
    asked, minutes_asked, done, minutes_done, likely = [metric_row] * 5
    asked.metric("Plan: times", formats.per_week(load.planned_times_per_week, "times"), border=True,
                 help="Times a week in the plan's busiest week: items that run at the same time add up, "
                 "one after another do not.")
    minutes_asked.metric("Plan: minutes", formats.per_week(load.planned_minutes_per_week, "min"), border=True,
                         help="Times a week × minutes each, in the plan's busiest week.")
    done.metric("Done: times", formats.per_week(load.recent_times_per_week, "times"), border=True,
                help="Credit earned a week lately: completed 1, partial 0.5.")
    minutes_done.metric("Done: minutes", formats.per_week(load.recent_minutes_per_week, "min"), border=True,
                        help="Minutes a week lately: the minutes they reported, else the homework's minutes each time.")
    likely.metric("Likely done", formats.percent(load.expected_completion), border=True,
                  help="The plan's expected completion: their likely completion of each type (their own figure "
                  "pulled toward the caseload's), weighted by how many times each item is expected.")
    st.plotly_chart(type_figures.plan_load_chart(load, client_label=who.label), key="planner_load")
    if load.warning:
        st.warning("This plan asks clearly more than this client has done lately.", icon=":material/warning:")
        st.text(load.warning)
elif not problems:
    st.info("The plan is empty. Add a suggestion, a template from the library, or a row of your own.")

if st.button("Save the plan", type="primary", key="planner_save", icon=":material/save:",
             disabled=discharged or not items or bool(problems),
             help="Writes one assignment per item. It shows on the Client and Caseload pages at once."):
    try:
        saved_ids = planner.save_plan(db(), scope=scope, client_id=client, items=items, today=now)
    except ScopeError:
        st.error("This client is not in your caseload, so nothing was saved.")
    except ValueError as exc:
        st.error("Nothing was saved. What needs changing:")
        st.text(str(exc))
    else:
        st.session_state[SAVED_KEY] = saved_ids
        st.session_state[PLAN_KEY] = []
        st.session_state[PLAN_SAVED_KEY] = (
            f"Saved {len(saved_ids)} assignment{'s' if len(saved_ids) != 1 else ''}: "
            f"{formats.inert_markdown(tables.homework_names(items))}. They count on the Client and Caseload pages now."
        )
        st.rerun()


# --- Current homework: take-home copies, reschedule, cancel ----------------------------------------------------------

st.subheader("Current homework")
since = planner.current_since(now)
if message := st.session_state.pop(CHANGED_KEY, None):
    st.success(message)
if current.empty:
    st.info(f"Nothing is set for this client that is due from {since:%d %b %Y} on. A saved plan shows here.")
    st.stop()

st.caption(f"Homework not cancelled that is due from {since:%d %b %Y} on, soonest first.")
show_current_homework(current, key="planner_current", detailed=True)
upcoming = planner.not_yet_due(current, now)
if upcoming:
    st.caption(f"Take-home copies of the homework not yet due ({len(upcoming)}):")
    take_home(upcoming, key="current")

choices = tables.assignment_choices(current)
with st.form("planner_change", border=True):
    st.caption("Move a due date, or cancel homework (cancelled homework is never due and counts in no rate).")
    chosen = st.selectbox("Homework", options=list(choices), format_func=choices.__getitem__,
                          key=f"planner_change_pick_{client}")
    new_due = st.date_input("New due date", value=due_default, format="DD/MM/YYYY", key="planner_change_due",
                            help="The expected count stays: moving the date gives more (or less) time for the same work.")
    move_column, cancel_column = st.columns(2)
    move = move_column.form_submit_button("Move the due date", key="planner_move", icon=":material/event:")
    sure = cancel_column.checkbox("Yes, cancel this homework", key="planner_cancel_sure")
    cancel = cancel_column.form_submit_button("Cancel the homework", key="planner_cancel", icon=":material/block:")
if move or cancel:
    try:
        if move:
            planner.reschedule(db(), scope=scope, assignment_id=chosen, due_on=new_due)
            done_message = (f"{formats.inert_markdown(choices[chosen])} is now due on "
                            f"{formats.day_label(new_due, with_year=True)}.")
        elif sure:
            planner.cancel(db(), scope=scope, assignment_id=chosen)
            done_message = (f"{formats.inert_markdown(choices[chosen])} is cancelled: it is no longer due and counts "
                            "in no rate.")
        else:
            done_message = None
            st.error("Nothing was changed: tick “Yes, cancel this homework” to cancel it.")
    except ScopeError:
        st.error("This homework is not in your caseload, so nothing was changed.")
    except ValueError as exc:
        st.error(f"Nothing was changed: {formats.inert_markdown(exc)}")
    else:
        if done_message:
            st.session_state[CHANGED_KEY] = done_message
            st.rerun()
