"""Data: import files (canonical CSVs, flat exports, MindLogger reports; CSV or .xlsx) through a mapping, see
what an import will change before it happens, confirm it, undo it; and see what the store holds."""

import hashlib

import streamlit as st

from analytics.export import exports
from analytics.export.log import export_log
from analytics.ingest import canonical, importer, mapping, people, saved_mappings, undo
from analytics.ingest.report import shows_free_text
from analytics.metrics import adherence
from analytics.present import formats
from analytics.store import settings
from analytics.store.database import get_timezone
from analytics.store.scope import ANALYST, Scope
from dashboard import VIEW_AS_ROLES, current_period, current_scope, current_view, db, require_frame, scope_label, store

require_frame()

LAST_REPORT_KEY = "last_import_report"  # (fingerprint, ImportReport) of this session's last import or validation
LAST_REPORT_KIND_KEY = "last_import_report_kind"  # "import" or "validate"
UPLOAD_ROUND_KEY = "import_upload_round"  # a new uploader (empty) after each accepted import
HASHES_KEY = "import_file_hashes"  # upload file id -> sha256 of its bytes (each upload is hashed once)
DRAFTS_KEY = "import_drafts"  # (sha256, target) -> importer.FileDraft: each file is read once
PREVIEW_KEY = "import_preview"  # (key, importer.Preview): the preview of the files and mappings as they are
ANSWERS_KEY = "import_answers"  # (upload prefix) -> {kind: {name as written: chosen id}}
SAVED_KEY = "import_mapping_saved"  # the name the last mapping was saved under (said once beside the form)
K_SAVED_KEY = "suppression_k_saved"  # the k just saved (said once, after the rerun)
UNDONE_KEY = "import_undone"  # the last undo's result, said once above the log
STEPS_KEY = "import_steps"  # (label, lines): the steps the last check or import went through, with row counts
IGNORE = ""  # the "ignore this column" / "keep the word as written" choice
NEW_THERAPIST = "\x00new"  # the "a new therapist" choice of the MindLogger therapist box
PREVIEW_ROWS = 20

SAFELY = [  # data/README.md, "Importing safely", says each at length
    "Validate shows what the import will change (rows added, changed with before and after, unchanged, rejected) "
    "before anything is written.",
    "Rows already stored are changed only when you tick the box that names them; or add only new rows.",
    "Every import can be undone from the import log below, unless later work built on it.",
    "Therapists and clients named in an export are matched to stored ones (id, email, name), never added twice; "
    "a name that fits two is asked, never guessed.",
]

# Column headings in people's words (the frames keep their names; only the headings change).
REPORT_LABELS = {
    "file": "File", "table": "Table", "rows_read": "Rows read", "inserted": "Added", "updated": "Changed",
    "unchanged": "Unchanged", "kept": "Left as stored", "rejected": "Rejected",
    "severity": st.column_config.TextColumn("Severity", width="small"),
    "line": st.column_config.NumberColumn("Line", width="small"),
    "column": st.column_config.TextColumn("Column", width="small"),
    "reason": st.column_config.TextColumn("Problem", width="large"),
}
CHANGES_LABELS = {"file": "File", "table": "Table", "column": "Column", "rows": "Rows whose value differs"}
SAMPLE_LABELS = {"table": "Table", "line": "Line", "key": "Row", "column": "Column", "before": "Stored now",
                 "after": "In the file"}
PEOPLE_LABELS = {"file": "File", "kind": "Who", "written": "In the file", "by": "Matched by", "matched": "In the store",
                 "candidates": "Could be", "line": "First line"}
CONTENTS_LABELS = {"what": "Table", "rows": "Rows", "first": "First date", "last": "Last date"}
LOG_LABELS = {"imported_at": st.column_config.DatetimeColumn("Imported at", format="D MMM YYYY, HH:mm"),
              "imported_by": "By", "files": "Files", "tables": "Tables", "rows": "Rows read", "added": "Added",
              "changed": "Changed", "undone_at": st.column_config.DatetimeColumn("Undone at", format="D MMM YYYY, HH:mm")}
BATCH_LABELS = {**REPORT_LABELS, "format": "Read as", "sha256": st.column_config.TextColumn("sha256", width="large")}
COLUMNS_LABELS = {"table": "File", "column": "Column", "required": "Required", "meaning": "Meaning"}
TARGET_LABELS = {
    "": "— choose what this file is —",
    "therapists": "therapists (one row per therapist)",
    "clients": "clients (one row per client)",
    "assignments": "assignments (one row per homework)",
    "submissions": "submissions (one row per report of homework)",
    "measures": "measures (PHQ-9 / GAD-7 scores)",
    "flat": "flat export (a row per submission or assignment, with client and therapist columns)",
    "mindlogger": "MindLogger / Curious report.csv or responses.csv",
}


def field_label(name: str) -> str:
    return "— ignore this column —" if name == IGNORE else name


def word_label(word: str) -> str:
    return "— as written —" if word == IGNORE else word


def file_hash(upload) -> str:
    """The sha256 of an upload's bytes, computed once per upload."""
    hashes = st.session_state.setdefault(HASHES_KEY, {})
    if upload.file_id not in hashes:
        hashes[upload.file_id] = hashlib.sha256(upload.getvalue()).hexdigest()
    return hashes[upload.file_id]


def read_draft(upload, target: str | None, limit: int) -> importer.FileDraft:
    """The file's draft for this target, read once per file (by its hash) and target."""
    drafts = st.session_state.setdefault(DRAFTS_KEY, {})
    key = (file_hash(upload), target)
    if key not in drafts:
        drafts[key] = importer.inspect_file(db(), upload.name, upload.getvalue(), max_bytes=limit, target=target,
                                            seconds=importer.UPLOAD_SECONDS)
    return drafts[key]


def answers_for(prefix: str) -> dict[str, dict[str, str]]:
    return st.session_state.setdefault(ANSWERS_KEY, {}).setdefault(prefix, {"therapist": {}, "client": {}})


def mapping_form(number: int, upload, limit: int, saved: list[str], prefix: str) -> mapping.Mapping:
    """One file's mapping, proposed and editable: target, a field per column, value maps, date order."""
    st.text(f"File {number + 1}: {upload.name}")
    first = read_draft(upload, None, limit)
    if not first.readable:
        for problem in first.problems:
            st.text(f"{problem.severity}: {problem.reason}")
        return mapping.CANONICAL
    st.text(f"Read as {first.description}.")
    for problem in first.problems:
        if problem.severity == "note" and problem.reason.startswith("read as"):
            continue  # the sentence above says it
        where = f"line {problem.line}: " if problem.line else ""
        st.text(f"{problem.severity}: {where}{problem.reason}")

    chosen_saved = st.selectbox("Use a saved mapping", options=[IGNORE, *saved], key=f"{prefix}saved",
                                format_func=lambda n: "— the proposed mapping —" if n == IGNORE else n)
    base = saved_mappings.load_mapping(db(), chosen_saved) if chosen_saved else None
    recognised = first.proposal.target if first.proposal.target in mapping.TARGETS else IGNORE
    targets = [IGNORE, *mapping.TARGETS]
    target = st.selectbox(
        "This file is", options=targets, index=targets.index(base.target if base else recognised),
        format_func=TARGET_LABELS.__getitem__, key=f"{prefix}target_{chosen_saved}", disabled=base is not None,
        help="Recognised from the file's name and column names; change it if it is wrong.")
    if not target:
        st.info("Choose what this file holds to map its columns.")
        return mapping.CANONICAL
    draft = first if target == first.proposal.target else read_draft(upload, target, limit)
    base = base or draft.proposal
    key = f"{prefix}{target}_{chosen_saved}_"

    st.markdown("**Columns**: which field each column of the file is (case, spaces and punctuation are ignored "
                "when proposing; common synonyms are recognised).")
    proposed = base.column_map
    fields = [IGNORE, *mapping.vocabulary(target)]
    chosen: list[tuple[str, str]] = []
    grid = st.columns(3)
    for position, header in enumerate(draft.header):
        default = proposed.get(header, IGNORE)
        with grid[position % 3]:
            st.text(header or f"(column {position + 1} has no name)")  # the file's text: shown inert
            picked = st.selectbox(f"Field for column {position + 1}", options=fields, label_visibility="collapsed",
                                  index=fields.index(default) if default in fields else 0,
                                  format_func=field_label, key=f"{key}col_{position}")
        chosen.append((header, picked))

    values: list[tuple[str, tuple[tuple[str, str], ...]]] = []
    for value_field, allowed in mapping.value_fields(target).items():
        source_field = {"completion": "flag", "assignment_type": "activity_name"}.get(value_field, value_field) \
            if target == "mindlogger" else value_field
        position = next((p for p, (_, f) in enumerate(chosen) if f == source_field), None)
        if position is None or not draft.words.get(position):
            continue
        st.markdown(f"**Words in the column mapped to `{value_field}`**: what each means here.")
        proposed_words = base.value_map(value_field)
        options = [IGNORE, *allowed]
        pairs = []
        word_grid = st.columns(4)
        for n, word in enumerate(draft.words[position][:16]):
            default = proposed_words.get(word, IGNORE)
            with word_grid[n % 4]:
                st.text(word)
                ours = st.selectbox(f"Meaning of word {n + 1}", options=options, label_visibility="collapsed",
                                    index=options.index(default) if default in options else 0,
                                    format_func=word_label, key=f"{key}word_{value_field}_{n}")
            pairs.append((word, ours))
        values.append((value_field, tuple((w, o) for w, o in pairs if o)))

    left, right = st.columns(2)
    date_order = left.radio("Dates like 03/04/2026 are", options=list(mapping.DATE_ORDERS),
                            index=list(mapping.DATE_ORDERS).index(base.date_order), horizontal=True,
                            format_func=mapping.DATE_ORDERS.__getitem__, key=f"{key}date_order",
                            help="Never guessed: say which, or keep YYYY-MM-DD only (other dates are then refused).")
    decimal_comma = right.checkbox("Numbers have a decimal comma (7,5)", value=base.decimal_comma,
                                   key=f"{key}decimal_comma")
    options = {"mood_item": base.mood_item, "mood_before_item": base.mood_before_item,
               "therapist_id": base.therapist_id, "new_therapist_name": base.new_therapist_name}
    if target == "mindlogger":
        options = mindlogger_choices(draft, base, key)
    answered = answers_for(prefix)
    matches = tuple((kind, tuple(pairs.items())) for kind, pairs in answered.items() if pairs)
    try:
        built = mapping.Mapping(target, columns=tuple(chosen), values=tuple(v for v in values if v[1]),
                                date_order=date_order, decimal_comma=decimal_comma, matches=matches, **options)
    except mapping.MappingError as exc:
        st.text(f"error: {exc}")
        return mapping.CANONICAL

    save_name, save_button, download = st.columns([3, 1, 1], vertical_alignment="bottom")
    name = save_name.text_input("Save this mapping as", key=f"{key}save_name", placeholder="e.g. Clinic export")
    if save_button.button("Save mapping", key=f"{key}save", disabled=not name.strip()):
        try:
            saved_mappings.save_mapping(db(), name, built, saved_by="dashboard")
            st.session_state[SAVED_KEY] = name.strip()
            st.rerun()  # so every "Use a saved mapping" list offers it
        except mapping.MappingError as exc:
            st.text(f"error: {exc}")
    if st.session_state.get(SAVED_KEY) and st.session_state[SAVED_KEY] == name.strip():
        st.text(f"Saved as “{st.session_state[SAVED_KEY]}”.")
    download.download_button("Download JSON", data=built.to_json(), file_name="mapping.json",
                             mime="application/json", key=f"{key}download",
                             help="For the command line: python -m analytics import --mapping mapping.json FILE")
    return built


def mindlogger_choices(draft: importer.FileDraft, base: mapping.Mapping, key: str) -> dict[str, str | None]:
    """The MindLogger options: which items are the mood after and before, and the therapist of new respondents."""
    items = [IGNORE, *draft.items]
    after, before = st.columns(2)
    mood_item = after.selectbox("Mood after: the item whose answer (0-10) is the mood after", options=items,
                                index=items.index(base.mood_item) if base.mood_item in items else 0,
                                format_func=lambda i: "— no mood —" if i == IGNORE else i, key=f"{key}mood_item")
    mood_before = before.selectbox("Mood before: the item whose answer (0-10) is the mood before", options=items,
                                   index=items.index(base.mood_before_item) if base.mood_before_item in items else 0,
                                   format_func=lambda i: "— no mood —" if i == IGNORE else i,
                                   key=f"{key}mood_before_item")
    names = adherence.therapists(db(), scope=current_scope())
    labels = dict(zip(names["therapist_id"], names["name"], strict=True))
    therapist_ids = [IGNORE, *labels, NEW_THERAPIST]
    current = NEW_THERAPIST if base.new_therapist_name else base.therapist_id
    therapist = st.selectbox(
        "Therapist of respondents new to the store", options=therapist_ids,
        index=therapist_ids.index(current) if current in therapist_ids else 0,
        format_func=lambda t: ("— none: they must be clients already —" if t == IGNORE else
                               "a new therapist (name below)" if t == NEW_THERAPIST else f"{labels[t]} ({t})"),
        key=f"{key}therapist")
    new_name = None
    if therapist == NEW_THERAPIST:
        new_name = st.text_input("Name of the new therapist", value=base.new_therapist_name or "",
                                 key=f"{key}new_therapist_name",
                                 help="Matched to a stored therapist of that name first (case and spacing ignored); "
                                 "added only when there is none.").strip() or None
    return {"mood_item": mood_item or None, "mood_before_item": mood_before or None,
            "therapist_id": therapist if therapist not in (IGNORE, NEW_THERAPIST) else None,
            "new_therapist_name": new_name}


def ask_questions(preview_report, uploads, prefixes: list[str]) -> None:
    """A choice for each name that fits more than one stored person; the answer goes into that file's mapping."""
    for question in preview_report.questions:
        number = next((n for n, u in enumerate(uploads) if importer.display_name(u.name) == question.file), None)
        if number is None:
            continue
        answered = answers_for(prefixes[number])[question.kind]
        options = [IGNORE, *question.candidates, people.NEW]
        widget = f"{prefixes[number]}ask_{question.kind}_{hashlib.sha1(question.written.encode()).hexdigest()[:10]}"

        def keep(kind=question.kind, written=question.written, widget=widget, number=number) -> None:
            answers_for(prefixes[number])[kind][written] = st.session_state[widget]

        st.selectbox(f"The {question.kind} “{formats.inert_markdown(question.written)}” in "
                     f"{formats.inert_markdown(question.file)} fits {len(question.candidates)} in the store: which is it?",
                     options=options,
                     index=options.index(answered.get(question.written, IGNORE)),
                     format_func=lambda c, kind=question.kind: ("— say which —" if c == IGNORE else
                                                                f"someone new (a new {kind})" if c == people.NEW else c),
                     key=widget, on_change=keep)


def show_preview(files, mappings: list, limit: int, uploads, prefixes: list[str]) -> None:
    """The first rows as they will be imported, the people matched, and why a table is empty; computed once per
    files, mappings and state of the store."""
    key = (tuple(hashlib.sha256(data).hexdigest() for _, data in files), tuple(m.to_json() for m in mappings),
           undo.store_stamp(db()))
    held = st.session_state.get(PREVIEW_KEY)
    if held is None or held[0] != key:
        held = (key, importer.preview(db(), files, mappings, rows=PREVIEW_ROWS, max_bytes=limit,
                                      seconds=importer.UPLOAD_SECONDS))
        st.session_state[PREVIEW_KEY] = held
    preview = held[1]
    if preview.report.matches:
        st.markdown("**People in the files**: whom each therapist and client named is in the store (nothing is "
                    "written yet).")
        st.dataframe(preview.report.matches_frame(), hide_index=True, column_config=PEOPLE_LABELS, placeholder="",
                     key="preview_people")
        ask_questions(preview.report, uploads, prefixes)
    if preview.tables or preview.empty:
        st.markdown(f"**Preview**: the first {PREVIEW_ROWS} rows of each table as they will be imported "
                    "(rows with problems are left out here; Validate lists them).")
    for table, frame in preview.tables.items():
        st.text(table)
        if frame.empty:
            st.text(f"No rows to show: {preview.empty.get(table, 'see the problems Validate lists')}.")
        else:
            st.dataframe(frame, hide_index=True, placeholder="", key=f"preview_{table}")
    for name, reason in preview.empty.items():
        if name not in preview.tables:
            st.text(f"{name}: nothing to preview: {reason}")


def run_batch(label: str, files, mappings: list, limit: int, **options) -> importer.ImportReport:
    """import_batch with its steps and progress shown while it works; the steps are kept to show afterwards."""
    steps: dict[tuple, str] = {}
    with st.status(label, expanded=True) as status:
        bar = st.progress(0.0)
        line = st.empty()

        def told(progress: importer.Progress) -> None:
            bar.progress(min(max(progress.done, 0.0), 1.0))
            what = f"{progress.table} from {progress.file}" if progress.table else progress.file
            steps[(progress.step, progress.file, progress.table)] = f"{progress.step.capitalize()} {what}: " \
                                                                     f"{progress.rows:,} rows"
            line.text(steps[(progress.step, progress.file, progress.table)])

        report = importer.import_batch(db(), files, scope=scope, mapping=mappings, max_bytes=limit,
                                       seconds=importer.UPLOAD_SECONDS, progress=told, **options)
        bar.progress(1.0)
        status.update(label=f"{label}: done", state="complete", expanded=False)
    st.session_state[STEPS_KEY] = (f"{label}: done", list(steps.values()))
    return report


def show_report(report: importer.ImportReport, kind: str) -> None:
    held = st.session_state.get(STEPS_KEY)
    if held is not None:
        with st.status(held[0], state="complete", expanded=False):
            for step in held[1]:
                st.text(step)
    if kind == "validate":
        if report.undecided:
            st.warning(f"Valid, but {report.changing:,} rows already stored would change (listed below); nothing was "
                       "written. Tick “Change …” below to change them, or “Add only new rows”.")
        elif report.errors:
            st.error("Not valid: nothing was written. Fix the problems listed below (in the file or the "
                     "mapping) and validate again.")
        else:
            st.success("Valid: nothing was written yet. Import to write these rows.")
    elif report.accepted and not report.errors:
        st.success("Imported. Every page now includes these rows.")
    elif report.accepted:
        st.warning("Imported the valid rows; the rejected rows listed below were skipped. "
                   "Fix them and import those files again.")
    elif report.undecided:
        st.warning(f"Not imported: {report.changing:,} rows already stored would change (listed below). Tick "
                   "“Change …” below to change them, or “Add only new rows”.")
    else:
        st.error("Refused: nothing was written to the store. Fix the problems listed below and import "
                 "the files again, or tick “Import the valid rows and skip the rejected ones”.")
    labels = REPORT_LABELS if report.accepted else {**REPORT_LABELS, "inserted": "To add", "updated": "To change"}
    st.dataframe(report.files_frame(), hide_index=True, column_config=labels, key="import_files_report")
    if report.differing:
        verb = "are left as stored" if report.existing == "skip" else "change" if report.accepted else "would change"
        st.markdown(f"**Rows already stored whose values differ** ({report.differing:,}; they {verb}): the columns, "
                    "and the first rows with their values now and in the file.")
        st.dataframe(report.changes_frame(), hide_index=True, column_config=CHANGES_LABELS, key="import_changes")
        st.dataframe(report.samples_frame(show_free_text=shows_free_text(scope)), hide_index=True,
                     column_config=SAMPLE_LABELS, placeholder="", key="import_change_samples")
    if report.matches:
        st.dataframe(report.matches_frame(), hide_index=True, column_config=PEOPLE_LABELS, placeholder="",
                     key="import_people")
    if report.problems:
        st.dataframe(report.problems_frame(), hide_index=True, column_config=REPORT_LABELS, placeholder="",
                     key="import_problems_report")
    if report.unlisted_problems:
        st.text(f"… and {report.unlisted_problems} more problems not listed.")
    if report.accepted:
        st.text(f"Batch {report.batch_id}: undo it from the import log below.")


def show_log() -> None:
    """The import log: one row per batch; choosing one shows its files with their hashes, and undo."""
    st.subheader("Import log")
    outcome = st.session_state.pop(UNDONE_KEY, None)
    if outcome is not None:
        (st.success if outcome.done else st.error)(outcome.to_text().splitlines()[0])
        for reason in outcome.to_text().splitlines()[1:]:
            st.text(reason.strip())
    history = undo.batch_history(db())
    picked = st.dataframe(
        history, hide_index=True, key="import_log", on_select="rerun", selection_mode="single-row", placeholder="",
        column_order=["imported_at", "imported_by", "files", "tables", "rows", "added", "changed", "undone_at"],
        column_config=LOG_LABELS)
    rows = picked.selection.rows if picked else []
    if not rows:
        st.caption("Choose a batch to see its files (with their sha256) and to undo it.")
        return
    batch = history.iloc[rows[0]]
    st.text(f"Batch {batch['batch_id']}, imported by {batch['imported_by']}")
    st.dataframe(undo.batch_files(db(), batch["batch_id"]), hide_index=True, column_config=BATCH_LABELS,
                 placeholder="", key="import_batch_files")
    if st.button("Undo this import", key="undo_button", disabled=not bool(batch["can_undo"]),
                 help="Puts the store back as it was before this batch: rows it added are removed, rows it changed "
                 "get their old values. Refused, with the reason, if later imports or edits built on it."):
        st.session_state[UNDONE_KEY] = undo.undo_batch(db(), batch["batch_id"], scope=scope, undone_by=scope.user or "dashboard")
        for held_key in (PREVIEW_KEY, LAST_REPORT_KEY, STEPS_KEY):  # all about the store before the undo
            st.session_state.pop(held_key, None)
        st.rerun()  # so the sidebar and every figure read the store as it now is


st.title("Data")
scope = current_scope()

st.subheader("Import files")
if not scope.may_import:
    st.info("Importing is done by the practice. Choose “Whole practice” under “View as” to import files."
            if scope.role in VIEW_AS_ROLES else "Importing is done by the practice's admins and analysts.")
elif scope.deidentified and scope.role != ANALYST:  # an analyst imports in the only view they have
    st.info("Importing is done in the identified view: switch the de-identified view off in the sidebar.")
else:
    for sentence in SAFELY:
        st.markdown(f"- {sentence}")
    upload_round = st.session_state.setdefault(UPLOAD_ROUND_KEY, 0)
    server_mb = int(st.get_option("server.maxUploadSize"))
    limit = importer.upload_limit_bytes(db(), server_mb=server_mb)
    uploads = st.file_uploader(
        "CSV or Excel files: the canonical files (any of the five), a flat export, or a MindLogger report",
        type=["csv", "xlsx", "tsv", "txt"],
        accept_multiple_files=True,
        key=f"import_files_{upload_round}",
        max_upload_size=max(limit >> 20, 1),
        help=f"Up to {max(limit >> 20, 1)} MB a file (bigger files: the command line). Any encoding (UTF-8, "
        "UTF-16, Windows-1252) and comma, semicolon or tab separated; see data/README.md, “Importing exports from "
        "other systems”.",
    )
    skip_invalid = st.checkbox(
        "Import the valid rows and skip the rejected ones",
        key="import_skip_invalid",
        help="Off: a batch with any rejected row is refused whole and nothing is written. "
        "On: the valid rows are written and the rejected ones are listed below.",
    )
    only_new = st.checkbox(
        "Add only new rows; leave rows already stored as they are", key="import_only_new",
        help="Rows whose id is already stored are left untouched, even where the file says otherwise "
        "(the report counts them as “left as stored”).")
    mappings: list[mapping.Mapping] = []
    files: list[tuple[str, bytes]] = []
    prefixes = [f"map_{upload_round}_{number}_" for number in range(len(uploads or []))]
    if uploads:
        saved = list(saved_mappings.mappings(db())["name"])
        for number, upload in enumerate(uploads):
            with st.container(border=True):
                mappings.append(mapping_form(number, upload, limit, saved, prefix=prefixes[number]))
        files = [(f.name, f.getvalue()) for f in uploads]
        show_preview(files, mappings, limit, uploads, prefixes)

    fingerprint = hashlib.sha256(repr((files and [hashlib.sha256(d).hexdigest() for _, d in files],
                                       [m.to_json() for m in mappings], skip_invalid)).encode()).hexdigest()
    held = st.session_state.get(LAST_REPORT_KEY)
    last = held[1] if held and held[0] == fingerprint else None
    confirmed = 0
    if uploads and last is not None and last.changing and not only_new and not last.accepted:
        if st.checkbox(f"Change the {last.changing:,} rows already stored, as listed below",
                       key=f"import_confirm_{fingerprint[:16]}_{last.changing}",
                       help="Their stored values are replaced by the file's. The import is refused if the number "
                       "differs when you import (someone changed the store meanwhile)."):
            confirmed = last.changing
    existing = "skip" if only_new else "update" if confirmed else "refuse"

    validate_column, import_column = st.columns([1, 6])
    if validate_column.button("Validate", disabled=not uploads, key="validate_button"):
        report = run_batch("Checking", files, mappings, limit, skip_invalid=skip_invalid, dry_run=True,
                           existing=existing, expect_changes=confirmed or None)
        st.session_state[LAST_REPORT_KEY] = (fingerprint, report)
        st.session_state[LAST_REPORT_KIND_KEY] = "validate"
        st.rerun()  # the confirmation box (when rows would change) is drawn above the buttons
    if import_column.button("Import", type="primary", disabled=not uploads, key="import_button"):
        report = run_batch("Importing", files, mappings, limit, skip_invalid=skip_invalid, imported_by=scope.user or "dashboard",
                           existing=existing, expect_changes=confirmed or None)
        st.session_state[LAST_REPORT_KEY] = (fingerprint if not report.accepted else "", report)
        st.session_state[LAST_REPORT_KIND_KEY] = "import"
        if report.accepted:
            st.session_state[UPLOAD_ROUND_KEY] = upload_round + 1
            for held_key in (DRAFTS_KEY, PREVIEW_KEY, HASHES_KEY, ANSWERS_KEY):
                st.session_state.pop(held_key, None)
        st.rerun()  # so the sidebar and every figure read the store as it now is

    held = st.session_state.get(LAST_REPORT_KEY)
    if held is not None:
        show_report(held[1], st.session_state.get(LAST_REPORT_KIND_KEY, "validate"))

st.subheader("The five files")
st.markdown(
    "Each import is a batch of any of **therapists.csv**, **clients.csv**, **assignments.csv**, "
    "**submissions.csv** and **measures.csv** (or other files mapped onto them): a header row and one row per "
    "record. Importing the same rows again changes nothing; a row with a known id that differs from the stored "
    "one is changed only when you confirm it. `data/README.md` describes every column and how each number on the "
    "dashboard is computed; its sections “Importing exports from other systems” and “Importing safely” say "
    "which files are accepted, how they are mapped, and how an import is checked, confirmed and undone."
)
with st.expander("Columns of the five files"):
    st.dataframe(canonical.columns_frame(), hide_index=True, column_config=COLUMNS_LABELS, key="canonical_columns")

st.subheader("What the store holds")
st.text(f"{scope_label(scope)} · practice time zone: {get_timezone(db())}")
st.dataframe(current_view().suppressed(adherence.store_contents(db(), scope=scope), "rows", total=False),
             hide_index=True, column_config=CONTENTS_LABELS, key="store_contents")


def export_button(container, request: exports.Request, label: str, help_text: str, key: str) -> None:
    """A download made when pressed (in its own thread, on its own cursor) and recorded in the export log."""
    connection = store()
    fits = request.format != "xlsx" or exports.fits_excel(db(), request)
    container.download_button(
        label, data=lambda: exports.download(connection, request, exported_by="dashboard", what="Data page")[1],
        file_name=exports.download_name(request), mime=exports.download_mime(request), key=key, on_click="ignore",
        icon=":material/download:", disabled=not fits,
        help=help_text if fits else "A table has more rows than an Excel sheet holds: use CSV.")


st.subheader("Export")
st.caption("Every export is formula-safe (text a spreadsheet could run starts with an apostrophe) and written in the "
           "export log. data/README.md describes each tier column by column.")
period = current_period()
dated = st.radio("Homework", options=["all", "period"], horizontal=True, key="export_dates",
                 format_func={"all": "Everything", "period": f"Due {period.label()} (the sidebar's period)"}.get)
dates = (period.start, period.end) if dated == "period" else (None, None)
if not scope.deidentified:
    st.markdown("**Identified**: the data as stored, for people allowed to see it (a therapist: their own caseload; "
                "the practice: everything). Therapists, clients, assignments, submissions and measures.")
    identified = st.container(horizontal=True)
    export_button(identified, exports.Request("identified", "csv", scope, *dates), "Identified CSV (.zip)",
                  "One CSV file per table, in a .zip.", "export_identified_csv")
    export_button(identified, exports.Request("identified", "xlsx", scope, *dates), "Identified Excel",
                  "One workbook, a sheet per table, every cell typed.", "export_identified_xlsx")
    if scope.is_practice:
        export_button(identified, exports.Request("identified", "parquet", Scope.practice()), "Backup (Parquet, .zip)",
                      "Every table of the store, lossless, with a manifest (row counts, sha256). Restore it with "
                      "python -m analytics import --db NEW --format parquet DIR.", "export_backup")
st.markdown("**De-identified**: for analysts and research. Pseudonyms instead of ids, days since each client's start "
            "instead of dates, no text people typed; summary tables by type, therapist and week with counts from 1 to "
            f"{exports.suppression_k(db())} suppressed.")
deidentified_buttons = st.container(horizontal=True)
export_button(deidentified_buttons, exports.Request("deidentified", "csv", scope, *dates), "De-identified CSV (.zip)",
              "Records and summary tables, one CSV each, in a .zip.", "export_deidentified_csv")
export_button(deidentified_buttons, exports.Request("deidentified", "xlsx", scope, *dates), "De-identified Excel",
              "Records and summary tables, a sheet each.", "export_deidentified_xlsx")
export_button(deidentified_buttons, exports.Request("deidentified", "csv", scope, *dates, parts=("aggregates",)),
              "Summary tables only (CSV, .zip)", "Only the suppressed counts: what can be shared most widely.",
              "export_deidentified_summary")

if scope.is_practice and not scope.deidentified:
    with st.form("suppression_k_form", border=False):
        k_column, save_column, _ = st.columns([1, 1, 2], vertical_alignment="bottom")
        k = k_column.number_input("Suppress counts from 1 to k", min_value=1, max_value=1000, step=1,
                                  value=exports.suppression_k(db()), key="suppression_k",
                                  help="In de-identified tables and the de-identified view, a count from 1 to k is "
                                  "hidden, and so is the next smallest where a total would give it away.")
        if save_column.form_submit_button("Save k", key="suppression_k_save"):
            exports.set_suppression_k(db(), int(k))
            st.session_state[K_SAVED_KEY] = int(k)
            st.rerun()  # so every text on the page says the new k
    if saved_k := st.session_state.pop(K_SAVED_KEY, None):
        st.success(f"Saved: counts from 1 to {saved_k} are suppressed.")
    st.subheader("Export log")
    st.dataframe(export_log(db()), hide_index=True, key="export_log", placeholder="",
                 column_order=["exported_at", "exported_by", "tier", "format", "what", "therapist_id", "date_from",
                               "date_to", "rows", "files"],
                 column_config={"exported_at": "Exported at", "exported_by": "By", "tier": "Tier", "format": "Format",
                                "what": "What", "therapist_id": "Therapist", "date_from": "From", "date_to": "To",
                                "rows": st.column_config.JsonColumn("Rows"),
                                "files": st.column_config.JsonColumn("Files and sha256", width="large")})

if scope.is_practice and not scope.deidentified:
    show_log()

if scope.is_practice:
    st.subheader("Practice name")
    current_name = settings.practice_name(db())
    with st.form("practice_name_form", border=False):
        name = st.text_input("The practice's name, as clients see it", value=current_name or "",
                             max_chars=settings.MAX_PRACTICE_NAME_CHARS, key="practice_name_input",
                             placeholder=settings.DEFAULT_PRACTICE_NAME,
                             help="Printed on take-home handouts and in calendar files. Empty: they say "
                             f"“{settings.DEFAULT_PRACTICE_NAME}”. Also: python -m analytics settings set practice_name ...")
        if st.form_submit_button("Save the name", key="practice_name_save"):
            try:
                saved_name = settings.set_practice_name(db(), name)
            except ValueError as exc:
                st.error(f"Nothing was saved: {exc}. Your text is still in the box.")
            else:
                shown_name = formats.inert_markdown(saved_name or settings.DEFAULT_PRACTICE_NAME)
                st.success(f"Saved: handouts and calendar files now say “{shown_name}”.")
