"""Audit: the trail of who did what (admins only), filtered by user, action, client and date, and the check that
nobody altered it."""

import streamlit as st

from analytics.store import audit
from dashboard import db, require_frame, signed_in_scope

require_frame()

st.title("Audit")
scope = signed_in_scope()
st.caption("Every sign-in and sign-out, automatic log-off, refusal, Client page view, feedback, plan change, import, "
           "download, user, setting and template change, newest first. Rows are only ever added, and each holds the "
           "hash of the one before, so an edited or removed row is found by the check below.")

user_column, action_column, client_column, since_column, until_column = st.columns([3, 2, 2, 2, 2])
user = user_column.text_input("User (email)", key="audit_user")
action = action_column.selectbox("Action", options=["", *audit.ACTIONS], key="audit_action",
                                 format_func=lambda a: a or "Any action")
client = client_column.text_input("Client or other id", key="audit_object")
since = since_column.date_input("From", value=None, format="DD/MM/YYYY", key="audit_since")
until = until_column.date_input("To", value=None, format="DD/MM/YYYY", key="audit_until")

rows = audit.entries(db(), scope=scope, user=user, action=action or None, object_id=client, since=since, until=until)
st.text(f"{len(rows)} row(s)" + (f", the newest {audit.MAX_LISTED}" if len(rows) >= audit.MAX_LISTED else ""))
st.dataframe(
    rows,
    hide_index=True,
    key="audit_rows",
    column_order=["seq", "logged_at", "user_email", "user_role", "action", "object_type", "object_id", "outcome",
                  "detail"],
    column_config={
        "seq": st.column_config.NumberColumn("#", width="small"),
        "logged_at": st.column_config.DatetimeColumn("When (UTC)", format="D MMM YYYY, HH:mm:ss"),
        "user_email": st.column_config.TextColumn("User"),
        "user_role": st.column_config.TextColumn("Role"),
        "action": st.column_config.TextColumn("Action"),
        "object_type": st.column_config.TextColumn("Object"),
        "object_id": st.column_config.TextColumn("Id"),
        "outcome": st.column_config.TextColumn("Outcome", width="small"),
        "detail": st.column_config.TextColumn("Detail", width="large"),
    },
)

if st.button("Check the trail", key="audit_verify", icon=":material/verified:"):
    check = audit.verify(db())
    (st.success if check.ok else st.error)(check.text().capitalize() + ".")
