"""Settings (admins only): automatic log-off, and whether practice managers read clients' free text."""

import streamlit as st

from analytics.store import access
from dashboard import db, require_frame, signed_in_scope

require_frame()

DONE_KEY = "settings_done_message"

st.title("Settings")
by = signed_in_scope()
if message := st.session_state.pop(DONE_KEY, None):
    st.success(message)

current = access.load_settings(db())
st.subheader("Signing in")
st.caption("The sign-in cookie lasts 30 days and cannot be shortened, so the dashboard keeps its own limits: "
           "after either one, the next click signs the person out and says why.")
with st.form("access_settings", border=True):
    idle_low, idle_high = access.LIMITS["idle_minutes"]
    idle = st.number_input("Sign out after this many minutes without a click", min_value=idle_low, max_value=idle_high,
                           value=current.idle_minutes, step=1, key="settings_idle_minutes")
    hours_low, hours_high = access.LIMITS["session_hours"]
    hours = st.number_input("Sign out this many hours after signing in, whatever happens", min_value=hours_low,
                            max_value=hours_high, value=current.session_hours, step=1, key="settings_session_hours")
    free_text = st.checkbox("Practice managers read clients' notes, feedback and goals",
                            value=current.manager_free_text, key="settings_manager_free_text",
                            help="Off: practice managers see every client's figures, but none of this text.")
    save = st.form_submit_button("Save the settings", type="primary", key="settings_save")
if save:
    try:
        changes = access.save_settings(db(), access.AccessSettings(int(idle), int(hours), bool(free_text)), by=by)
    except (ValueError, PermissionError) as exc:
        st.error("Nothing was saved:")
        st.text(str(exc))
    else:
        st.session_state[DONE_KEY] = "Saved: " + "; ".join(changes) + "." if changes else "Nothing changed."
        st.rerun()
