"""Data: import canonical CSV files, and see what the store holds."""

import streamlit as st

from analytics import adherence, canonical, importer
from analytics.store import get_timezone
from dashboard import current_scope, db, require_frame, scope_label

require_frame()

LAST_REPORT_KEY = "last_import_report"  # the ImportReport of this session's last import
UPLOAD_ROUND_KEY = "import_upload_round"  # a new uploader (empty) after each accepted import

# Column headings in people's words (the frames keep their names; only the headings change).
REPORT_LABELS = {
    "file": "File", "table": "Table", "rows_read": "Rows read", "inserted": "Added", "updated": "Changed",
    "unchanged": "Unchanged", "rejected": "Rejected",
    "severity": st.column_config.TextColumn("Severity", width="small"),
    "line": st.column_config.NumberColumn("Line", width="small"),
    "column": st.column_config.TextColumn("Column", width="small"),
    "reason": st.column_config.TextColumn("Problem", width="large"),
}
CONTENTS_LABELS = {"what": "Table", "rows": "Rows", "first": "First date", "last": "Last date"}
LOG_LABELS = {"imported_at": "Imported at", "imported_by": "By", "inserted": "Added", "updated": "Changed",
              "files": st.column_config.JsonColumn("Files (click for details)", width="large")}
COLUMNS_LABELS = {"table": "File", "column": "Column", "required": "Required", "meaning": "Meaning"}

st.title("Data")
scope = current_scope()

st.subheader("Import CSV files")
if not scope.is_practice:
    st.info("Importing is done by the practice. Choose “Whole practice” under “View as” to import files.")
else:
    upload_round = st.session_state.setdefault(UPLOAD_ROUND_KEY, 0)
    uploads = st.file_uploader(
        "Canonical CSV files (any of the five, in one batch)",
        type=["csv"],
        accept_multiple_files=True,
        key=f"import_files_{upload_round}",
    )
    skip_invalid = st.checkbox(
        "Import the valid rows and skip the rejected ones",
        key="import_skip_invalid",
        help="Off: a batch with any rejected row is refused whole and nothing is written. "
        "On: the valid rows are written and the rejected ones are listed below.",
    )
    if st.button("Import", type="primary", disabled=not uploads, key="import_button"):
        report = importer.import_batch(
            db(), [(f.name, f.getvalue()) for f in uploads], scope=scope,
            imported_by="dashboard", skip_invalid=skip_invalid,
        )
        st.session_state[LAST_REPORT_KEY] = report
        if report.accepted:
            st.session_state[UPLOAD_ROUND_KEY] = upload_round + 1
        st.rerun()  # so the sidebar and every figure read the store as it now is

    report = st.session_state.get(LAST_REPORT_KEY)
    if report is not None:
        if report.accepted and not report.errors:
            st.success("Imported. Every page now includes these rows.")
        elif report.accepted:
            st.warning("Imported the valid rows; the rejected rows listed below were skipped. "
                       "Fix them and import those files again.")
        else:
            st.error("Refused: nothing was written to the store. Fix the problems listed below and import "
                     "the files again, or tick “Import the valid rows and skip the rejected ones”.")
        st.dataframe(report.files_frame(), hide_index=True, column_config=REPORT_LABELS, key="import_files_report")
        if report.problems:
            st.dataframe(report.problems_frame(), hide_index=True, column_config=REPORT_LABELS,
                         key="import_problems_report")
        if report.unlisted_problems:
            st.text(f"… and {report.unlisted_problems} more problems not listed.")

st.subheader("The five files")
st.markdown(
    "Each import is a batch of any of **therapists.csv**, **clients.csv**, **assignments.csv**, "
    "**submissions.csv** and **measures.csv**: UTF-8 CSV with a header row. Importing the same rows again "
    "changes nothing; a row with a known id replaces the stored one. `data/README.md` describes every column "
    "and how each number on the dashboard is computed."
)
with st.expander("Columns of the five files"):
    st.dataframe(canonical.columns_frame(), hide_index=True, column_config=COLUMNS_LABELS, key="canonical_columns")

st.subheader("What the store holds")
st.text(f"{scope_label(scope)} · practice time zone: {get_timezone(db())}")
st.dataframe(adherence.store_contents(db(), scope=scope), hide_index=True, column_config=CONTENTS_LABELS,
             key="store_contents")

if scope.is_practice:
    st.subheader("Import log")
    st.dataframe(
        importer.import_log(db()),
        hide_index=True,
        column_order=["imported_at", "imported_by", "inserted", "updated", "files"],
        column_config=LOG_LABELS,
        key="import_log",
    )
