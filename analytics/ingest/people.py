"""People named in an export, matched to the store before anything is written: a therapist by id, then email,
then exact name (case and spacing ignored); a client by id, then exact name (label). A name that fits more than
one stored person is a question for the analyst (Mapping.matches holds the answers), never a guess.
"""

from __future__ import annotations

from duckdb import DuckDBPyConnection

from analytics.ingest.mapping import Mapping
from analytics.ingest.raw import Problem, RawTable, printable
from analytics.ingest.report import Match

NEW = "new"  # an answer to a question: the name is someone new, added by the import


LISTED = 200  # matches listed per file and kind; every one is applied


def normalised(v: str) -> str:
    """SQL: a name for matching: case ignored, surrounding spaces removed, inner runs of spaces made one."""
    return f"lower(regexp_replace(trim({v}), '\\s+', ' ', 'g'))"


def derived_therapist_id(name: str) -> str:
    """SQL: the id a therapist known only by name gets (as the flat preset has always derived it)."""
    return f"'T-' || left(sha256(lower({name})), 12)"


def _register_answers(con: DuckDBPyConnection, mapping: Mapping, kind: str) -> None:
    con.execute("create or replace temp table match_answers (written varchar, chosen varchar)")
    pairs = [(name, chosen) for name, chosen in mapping.answers(kind).items() if chosen]
    if pairs:
        con.executemany(f"insert into match_answers select {normalised('?')}, ?", pairs)


def match_therapists(con: DuckDBPyConnection, table: str, mapping: Mapping, raw: RawTable, label: str,
                     matches: list[Match], problems: list[Problem]) -> bool:
    """Resolve the therapist columns of a flat table (therapist_id, therapist_name, therapist_email, any of
    them) to ids: therapist_id is rewritten to the stored or new id, and _therapist_known is true for rows that
    name a stored therapist by email or name (their stored row is left as it is). Returns False when a name is
    a question (problems say which)."""
    columns = {c for (c,) in con.execute(
        "select column_name from information_schema.columns where table_name = ?", [table]).fetchall()}
    tid = "therapist_id" if "therapist_id" in columns else "cast(null as varchar)"
    tname = "therapist_name" if "therapist_name" in columns else "cast(null as varchar)"
    temail = "therapist_email" if "therapist_email" in columns else "cast(null as varchar)"
    _register_answers(con, mapping, "therapist")
    con.execute(
        f"create or replace temp table therapist_people as "
        f"select {tid} as tid, {tname} as tname, {temail} as temail, min(_line) as first_line from {table} "
        f"where coalesce({tid}, {tname}, {temail}) is not null group by all")
    con.execute(
        f"create or replace temp table therapist_matched as "
        f"with found as (select p.*, "
        f"exists (select 1 from therapists t where t.therapist_id = p.tid) as by_id, "
        f"(select list(t.therapist_id order by t.therapist_id) from therapists t where p.temail is not null and "
        f"lower(trim(t.email)) = lower(trim(p.temail))) as email_ids, "
        f"(select list(t.therapist_id order by t.therapist_id) from therapists t where p.tname is not null and "
        f"{normalised('t.name')} = {normalised('p.tname')}) as name_ids, "
        f"(select any_value(chosen) from match_answers a where a.written = {normalised('p.tname')}) as answer "
        f"from therapist_people p) "
        f"select *, case when by_id then 'id' when len(email_ids) = 1 then 'email' "
        f"when answer = '{NEW}' then 'new' when answer is not null then 'answer' "
        f"when len(name_ids) = 1 then 'name' when len(name_ids) > 1 or len(email_ids) > 1 then 'question' "
        f"else 'new' end as how from found")
    con.execute("alter table therapist_matched add column resolved varchar")
    con.execute(
        f"update therapist_matched set resolved = case how when 'id' then tid when 'email' then email_ids[1] "
        f"when 'answer' then answer when 'name' then name_ids[1] when 'question' then null "
        f"else coalesce(tid, case when tname is not null then {derived_therapist_id('tname')} end) end")
    if "therapist_id" not in columns:
        con.execute(f"alter table {table} add column therapist_id varchar")
    con.execute(f"alter table {table} add column _therapist_known boolean default false")
    con.execute(
        f"update {table} f set therapist_id = m.resolved, _therapist_known = m.how in ('email', 'name', 'answer') "
        f"from therapist_matched m where m.tid is not distinct from {_qualified(tid)} "
        f"and m.tname is not distinct from {_qualified(tname)} and m.temail is not distinct from {_qualified(temail)}")
    return _collect(con, "therapist_matched", "therapist", "coalesce(tname, temail, tid)",
                    "coalesce(email_ids, name_ids)", raw, label, matches, problems)


def _qualified(column: str) -> str:
    """The table's column as the update reads it (the values before the update), or the NULL it stands for."""
    return f"f.{column}" if not column.startswith("cast(") else column


def match_clients(con: DuckDBPyConnection, table: str, mapping: Mapping, raw: RawTable, label: str,
                  matches: list[Match], problems: list[Problem], *, label_column: str | None) -> bool:
    """Resolve client ids of a table (client_id, and label_column holding their names, when there is one): an id
    not in the store is matched to the stored client whose label is that name (or, without a name column, that
    id); client_id is rewritten and _client_known is true for rows naming a stored client by name."""
    name = label_column or "client_id"
    _register_answers(con, mapping, "client")
    con.execute(
        f"create or replace temp table client_people as select client_id as cid, {name} as cname, min(_line) as "
        f"first_line from {table} where client_id is not null group by all")
    con.execute(
        f"create or replace temp table client_matched as with found as (select p.*, "
        f"exists (select 1 from clients c where c.client_id = p.cid) as by_id, "
        f"(select list(c.client_id order by c.client_id) from clients c where p.cname is not null and "
        f"{normalised('c.label')} = {normalised('p.cname')}) as name_ids, "
        f"(select any_value(chosen) from match_answers a where a.written = {normalised('p.cname')}) as answer "
        f"from client_people p) "
        f"select *, case when by_id then 'id' when answer = '{NEW}' then 'new' when answer is not null then 'answer' "
        f"when len(name_ids) = 1 then 'name' when len(name_ids) > 1 then 'question' else 'new' end as how, "
        f"case when by_id then cid when answer = '{NEW}' then cid when answer is not null then answer "
        f"when len(name_ids) = 1 then name_ids[1] when len(name_ids) > 1 then null else cid end as resolved "
        f"from found")
    con.execute(f"alter table {table} add column _client_known boolean default false")
    con.execute(
        f"update {table} f set client_id = m.resolved, _client_known = m.how in ('name', 'answer') "
        f"from client_matched m where m.cid = f.client_id and m.cname is not distinct from f.{name}")
    return _collect(con, "client_matched", "client", "cname", "name_ids", raw, label, matches, problems)


def _collect(con: DuckDBPyConnection, matched: str, kind: str, written: str, candidates: str, raw: RawTable,
             label: str, matches: list[Match], problems: list[Problem]) -> bool:
    """Matches of one kind into the report's list (capped), and a problem for each question."""
    rows = con.execute(
        f"select {written}, how, resolved, coalesce({candidates}, []), first_line from {matched} "
        f"order by how = 'question' desc, first_line limit {LISTED}").fetchall()
    for shown, how, resolved, found, line in rows:
        matches.append(Match(raw.file, kind, printable(str(shown), 60), how, resolved,
                             tuple(str(c) for c in found), line))
        if how == "question":
            problems.append(Problem(
                raw.file, line, label, f"the {kind} “{printable(str(shown), 60)}” fits {len(found)} {kind}s in the "
                f"store ({', '.join(printable(str(c), 20) for c in found)}): say which one (the Data page asks; "
                f"--match \"{printable(str(shown), 60)}=ID\" on the command line); nothing is guessed"))
    questions = con.execute(f"select count(*) from {matched} where how = 'question'").fetchone()[0]
    con.execute(f"drop table if exists {matched}")
    return questions == 0


def therapist_for_new_clients(con: DuckDBPyConnection, mapping: Mapping, raw: RawTable, matches: list[Match],
                              problems: list[Problem]) -> tuple[str | None, bool]:
    """The therapist of clients new to the store: (id, whether it is new and must be added). mapping.therapist_id
    names a stored one; mapping.new_therapist_name is matched by name (a question when it fits several), else
    added with a derived id. (None, False) when neither is given or the name is a question."""
    if mapping.therapist_id or not (mapping.new_therapist_name or "").strip():
        return mapping.therapist_id, False
    name = mapping.new_therapist_name.strip()
    answer = mapping.answers("therapist").get(name)
    found = [r[0] for r in con.execute(
        f"select therapist_id from therapists where {normalised('name')} = {normalised('?')} order by 1",
        [name]).fetchall()]
    shown = printable(name, 60)
    if answer and answer != NEW:
        matches.append(Match(raw.file, "therapist", shown, "answer", answer, tuple(found)))
        return answer, False
    if len(found) == 1 and answer != NEW:
        matches.append(Match(raw.file, "therapist", shown, "name", found[0]))
        return found[0], False
    if len(found) > 1 and answer != NEW:
        matches.append(Match(raw.file, "therapist", shown, "question", None, tuple(found)))
        problems.append(Problem(raw.file, None, "therapist", f"the therapist “{shown}” fits {len(found)} therapists in "
                                f"the store ({', '.join(found)}): say which one; nothing is guessed"))
        return None, False
    new_id = con.execute(f"select {derived_therapist_id('?')}", [name]).fetchone()[0]
    matches.append(Match(raw.file, "therapist", shown, "new", new_id))
    return new_id, True
