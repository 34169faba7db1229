"""Users: who may sign in and with which role (admins only): add a user, change a role, disable or enable."""

import streamlit as st

from analytics.store import users
from analytics.store.scope import ROLE_LABELS, ROLES, THERAPIST
from dashboard import db, require_frame, signed_in_scope, therapist_names

require_frame()

DONE_KEY = "users_done_message"  # what the last change did, said once after the rerun

st.title("Users")
by = signed_in_scope()
names = therapist_names()
if message := st.session_state.pop(DONE_KEY, None):
    st.success(message)

st.caption("People sign in with the practice's account provider; this list says who gets in and what they see. "
           "A change takes effect at the person's next click. Roles: an admin sees and changes everything; a "
           "practice manager sees every client's figures but not their notes, feedback or goals (unless Settings "
           "allow it) and writes no feedback or plans; a therapist sees only their own clients; an analyst imports "
           "files and sees the practice's figures without client names.")
listed = users.users(db())
st.dataframe(
    listed,
    hide_index=True,
    key="users_table",
    column_order=["email", "role", "therapist_name", "therapist_id", "active", "created_at", "changed_at"],
    column_config={
        "email": st.column_config.TextColumn("Email"),
        "role": st.column_config.TextColumn("Role"),
        "therapist_name": st.column_config.TextColumn("Therapist"),
        "therapist_id": st.column_config.TextColumn("Therapist id"),
        "active": st.column_config.CheckboxColumn("Active"),
        "created_at": st.column_config.DatetimeColumn("Added", format="D MMM YYYY"),
        "changed_at": st.column_config.DatetimeColumn("Changed", format="D MMM YYYY, HH:mm"),
    },
)


def therapist_choice(key: str) -> str:
    return st.selectbox("Their caseload (therapists only)", options=["", *names], key=key,
                        format_func=lambda tid: names.get(tid, tid) if tid else "— not a therapist —")


def apply(change, done: str) -> None:
    """Run a change; its refusal is shown as the reason, its success after a rerun (the table shows it)."""
    try:
        change()
    except (users.UserError, PermissionError) as exc:
        st.error("Nothing was changed:")
        st.text(str(exc))
    else:
        st.session_state[DONE_KEY] = done
        st.rerun()


st.subheader("Add a user")
with st.form("users_add", border=True):
    email = st.text_input("Email, as the account provider knows it", key="users_add_email", max_chars=254)
    role = st.selectbox("Role", options=ROLES, format_func=ROLE_LABELS.__getitem__, key="users_add_role")
    therapist = therapist_choice("users_add_therapist")
    add = st.form_submit_button("Add the user", type="primary", key="users_add_button")
if add:
    apply(lambda: users.add_user(db(), email=email, role=role, therapist_id=therapist or None, by=by),
          f"Added {email.strip().lower()} as {ROLE_LABELS[role].lower()}.")

if not listed.empty:
    st.subheader("Change a user")
    with st.form("users_change", border=True):
        who = st.selectbox("User", options=list(listed["email"]), key="users_change_email")
        new_role = st.selectbox("Role", options=ROLES, format_func=ROLE_LABELS.__getitem__, key="users_change_role",
                                index=ROLES.index(THERAPIST))
        new_therapist = therapist_choice("users_change_therapist")
        role_column, disable_column, enable_column = st.columns(3)
        set_role = role_column.form_submit_button("Give this role", key="users_set_role")
        disable = disable_column.form_submit_button("Disable", key="users_disable")
        enable = enable_column.form_submit_button("Enable", key="users_enable")
    if set_role:
        apply(lambda: users.set_role(db(), email=who, role=new_role, therapist_id=new_therapist or None, by=by),
              f"{who} is now {ROLE_LABELS[new_role].lower()}.")
    elif disable or enable:
        apply(lambda: users.set_active(db(), email=who, active=bool(enable), by=by),
              f"{who} is {'enabled' if enable else 'disabled'}.")
