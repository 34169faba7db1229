"""Users, roles, the audit trail and the access rules (analytics/store/users.py, audit.py, access.py, scope.py),
and schema version 4 (migrations/004_users_and_audit.sql)."""

from __future__ import annotations

import os
import stat
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from analytics.store import access, audit, users
from analytics.store.database import SCHEMA_VERSION, open_store
from analytics.store.scope import Scope, ScopeError

ADMIN = Scope(None, user="boss@example.test")
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def con():
    con = open_store(":memory:")
    con.execute("insert into therapists values ('T1', 'Ada', null), ('T2', 'Robin', null)")
    yield con
    con.close()


# ---------------------------------------------------------------------------------------------
# Scope: what each role may do
# ---------------------------------------------------------------------------------------------


def test_each_role_gets_its_scope() -> None:
    therapist = Scope.signed_in(role="therapist", user="a@x.test", therapist_id="T1")
    assert (therapist.therapist_id, therapist.free_text, therapist.pseudonyms, therapist.may_write_clients,
            therapist.may_import) == ("T1", True, False, True, False)
    manager = Scope.signed_in(role="practice_manager", user="m@x.test")
    assert (manager.therapist_id, manager.free_text, manager.may_write_clients, manager.may_import) == (
        None, False, False, False)
    assert Scope.signed_in(role="practice_manager", user="m@x.test", manager_free_text=True).free_text
    analyst = Scope.signed_in(role="analyst", user="n@x.test")
    assert (analyst.free_text, analyst.pseudonyms, analyst.may_write_clients, analyst.may_import) == (
        False, True, False, True)
    admin = Scope.signed_in(role="admin", user="b@x.test")
    assert (admin.is_admin, admin.free_text, admin.may_write_clients, admin.may_import) == (True, True, True, True)
    with pytest.raises(ValueError):
        Scope.signed_in(role="therapist", user="a@x.test")  # no therapist id
    with pytest.raises(ValueError):
        Scope.signed_in(role="owner", user="a@x.test")


def test_the_old_constructors_still_mean_the_practice_and_one_therapist() -> None:
    assert Scope() == Scope.practice() == Scope(None)
    assert Scope.practice().is_admin and Scope.practice().free_text
    assert Scope.therapist("T1").therapist_id == "T1"


def test_narrowing_keeps_who_is_looking() -> None:
    manager = Scope.signed_in(role="practice_manager", user="m@x.test")
    narrowed = manager.narrowed_to("T2")
    assert (narrowed.therapist_id, narrowed.role, narrowed.user, narrowed.free_text) == (
        "T2", "practice_manager", "m@x.test", False)
    therapist = Scope.signed_in(role="therapist", user="a@x.test", therapist_id="T1")
    with pytest.raises(ScopeError):
        therapist.narrowed_to("T2")


# ---------------------------------------------------------------------------------------------
# Users
# ---------------------------------------------------------------------------------------------


def test_users_are_added_with_the_email_in_lower_case_and_found_in_any_case(con) -> None:
    users.add_user(con, email="  Ada.Byron@Example.TEST ", role="therapist", therapist_id="T1", by=ADMIN)
    assert users.find_user(con, "ADA.BYRON@example.test") == users.User("ada.byron@example.test", "therapist", "T1", True)
    frame = users.users(con)
    assert list(frame["email"]) == ["ada.byron@example.test"]
    assert list(frame["therapist_name"]) == ["Ada"]


@pytest.mark.parametrize("email, role, therapist, error, message", [
    ("a@x.test", "therapist", None, users.UserUsage, "needs the therapist id"),
    ("a@x.test", "therapist", "  ", users.UserUsage, "needs the therapist id"),
    ("a@x.test", "therapist", "T9", users.UserError, "no therapist 'T9'"),
    ("a@x.test", "analyst", "T1", users.UserUsage, "only a therapist user names a therapist"),
    ("a@x.test", "owner", None, users.UserUsage, "role must be one of"),
    ("not an email", "admin", None, users.UserUsage, "is not an email address"),
    ("a@x.test\x1b[31m", "admin", None, users.UserUsage, "is not an email address"),
])
def test_a_user_that_cannot_be_added_is_refused_with_the_reason(con, email, role, therapist, error, message) -> None:
    with pytest.raises(error, match=message):
        users.add_user(con, email=email, role=role, therapist_id=therapist, by=ADMIN)
    assert users.users(con).empty


def test_a_duplicate_in_another_case_is_refused(con) -> None:
    users.add_user(con, email="a@x.test", role="admin", by=ADMIN)
    with pytest.raises(users.UserError, match="already a user"):
        users.add_user(con, email="A@X.TEST", role="analyst", by=ADMIN)
    assert list(users.users(con)["role"]) == ["admin"]


def test_only_an_admin_manages_users(con) -> None:
    manager = Scope.signed_in(role="practice_manager", user="m@x.test")
    with pytest.raises(ScopeError, match="practice manager cannot manage users"):
        users.add_user(con, email="a@x.test", role="admin", by=manager)


def test_disable_enable_and_set_role_change_the_row_and_the_last_admin_is_kept(con) -> None:
    users.add_user(con, email="boss@x.test", role="admin", by=ADMIN)
    users.add_user(con, email="a@x.test", role="therapist", therapist_id="T1", by=ADMIN)
    assert users.set_active(con, email="A@x.test", active=False, by=ADMIN).active is False
    assert users.find_user(con, "a@x.test").active is False
    users.set_active(con, email="a@x.test", active=True, by=ADMIN)
    assert users.set_role(con, email="a@x.test", role="practice_manager", by=ADMIN) == users.User(
        "a@x.test", "practice_manager", None, True)
    with pytest.raises(users.UserError, match="last active admin"):
        users.set_active(con, email="boss@x.test", active=False, by=ADMIN)
    with pytest.raises(users.UserError, match="last active admin"):
        users.set_role(con, email="boss@x.test", role="analyst", by=ADMIN)
    with pytest.raises(users.UserError, match="no user"):
        users.set_active(con, email="ghost@x.test", active=False, by=ADMIN)
    actions = con.execute("select action, object_id, detail from audit_log order by seq").fetchall()
    assert actions == [
        ("user added", "boss@x.test", "role admin"), ("user added", "a@x.test", "role therapist, therapist T1"),
        ("user changed", "a@x.test", "disabled"), ("user changed", "a@x.test", "enabled"),
        ("user changed", "a@x.test", "role therapist -> practice_manager"),
    ]


def test_the_store_refuses_a_therapist_row_without_a_therapist(con) -> None:
    with pytest.raises(duckdb.ConstraintException):
        con.execute("insert into users values ('a@x.test', 'therapist', null, true, now(), now())")


# ---------------------------------------------------------------------------------------------
# The audit trail
# ---------------------------------------------------------------------------------------------


def three_rows(con) -> None:
    for action, object_id in (("sign-in", "s1"), ("view client", "C1"), ("feedback", "S1")):
        audit.record(con, actor=ADMIN, action=action, object_type="x", object_id=object_id)


def test_rows_are_chained_by_their_hashes(con) -> None:
    three_rows(con)
    rows = con.execute("select seq, prev_hash, row_hash, user_email, user_role from audit_log order by seq").fetchall()
    assert [r[0] for r in rows] == [1, 2, 3]
    assert rows[0][1] == audit.GENESIS
    assert rows[1][1] == rows[0][2] and rows[2][1] == rows[1][2]
    assert len({r[2] for r in rows}) == 3
    assert {(r[3], r[4]) for r in rows} == {("boss@example.test", "admin")}
    assert con.execute("select seq, row_hash from audit_head").fetchone() == (3, rows[2][2])
    assert audit.verify(con) == audit.ChainCheck(True, 3)


def test_verify_finds_an_edited_row(con) -> None:
    three_rows(con)
    con.execute("update audit_log set object_id = 'C2' where seq = 2")
    check = audit.verify(con)
    assert (check.ok, check.first_broken, check.rows) == (False, 2, 1)
    assert "edited" in check.text()


def test_verify_finds_an_edited_row_whose_hash_was_recomputed(con) -> None:
    three_rows(con)
    row = dict(zip(audit.COLUMNS, con.execute("select * from audit_log where seq = 2").fetchone(), strict=True))
    row["object_id"] = "C2"
    row.pop("row_hash")
    con.execute("update audit_log set object_id = 'C2', row_hash = ? where seq = 2", [audit.row_hash(**row)])
    check = audit.verify(con)
    assert (check.ok, check.first_broken) == (False, 3)  # row 3 no longer follows row 2


def test_verify_finds_a_deleted_row_in_the_middle_and_at_the_end(con) -> None:
    three_rows(con)
    con.execute("delete from audit_log where seq = 2")
    assert (audit.verify(con).ok, audit.verify(con).first_broken) == (False, 3)
    con.execute("delete from audit_log")
    three_rows(con)  # rows 4-6, the chain going on from the head
    con.execute("delete from audit_log where seq < 4")
    con.execute("update audit_log set prev_hash = ? where seq = 4", [audit.GENESIS])
    con.execute("delete from audit_log where seq = 6")
    check = audit.verify(con)
    assert check.ok is False  # row 4 was edited to look first; and the last row is gone


def test_verify_finds_the_last_row_removed(con) -> None:
    three_rows(con)
    con.execute("delete from audit_log where seq = 3")
    check = audit.verify(con)
    assert (check.ok, check.first_broken) == (False, None)
    assert "removed from the end" in check.text()


def test_the_detail_and_ids_lose_control_characters_and_stay_short(con) -> None:
    audit.record(con, actor=ADMIN, action="error", object_id="C1\x1b[2J", detail="x" * 5000 + "\n")
    object_id, detail = con.execute("select object_id, detail from audit_log").fetchone()
    assert "\x1b" not in object_id and object_id.endswith("[2J")
    assert len(detail) == audit.MAX_DETAIL_CHARS and detail.endswith("…")
    with pytest.raises(ValueError):
        audit.record(con, actor=ADMIN, action="made up")


def test_entries_filter_by_user_action_object_and_date_for_admins_only(con) -> None:
    other = Scope(None, user="Other@Example.test")
    audit.record(con, actor=ADMIN, action="sign-in", object_id="s1", at=T0)
    audit.record(con, actor=other, action="view client", object_id="C1", at=T0 + timedelta(days=1))
    audit.record(con, actor=ADMIN, action="view client", object_id="C2", at=T0 + timedelta(days=2))
    assert list(audit.entries(con, scope=ADMIN)["seq"]) == [3, 2, 1]
    assert list(audit.entries(con, scope=ADMIN, user="other@EXAMPLE.test")["seq"]) == [2]
    assert list(audit.entries(con, scope=ADMIN, action="view client")["object_id"]) == ["C2", "C1"]
    assert list(audit.entries(con, scope=ADMIN, object_id="C1")["seq"]) == [2]
    assert list(audit.entries(con, scope=ADMIN, since=date(2026, 3, 2), until=date(2026, 3, 2))["seq"]) == [2]
    with pytest.raises(ScopeError):
        audit.entries(con, scope=Scope.signed_in(role="analyst", user="n@x.test"))


# ---------------------------------------------------------------------------------------------
# Access settings, log-off, hosts, addresses, pseudonyms
# ---------------------------------------------------------------------------------------------


def test_settings_default_save_and_survive_bad_stored_values(con) -> None:
    assert access.load_settings(con) == access.AccessSettings(30, 12, False)
    changes = access.save_settings(con, access.AccessSettings(15, 8, True), by=ADMIN)
    assert changes == ["access.idle_minutes: 30 -> 15", "access.session_hours: 12 -> 8",
                       "access.manager_free_text: false -> true"]
    assert access.load_settings(con) == access.AccessSettings(15, 8, True)
    assert access.save_settings(con, access.AccessSettings(15, 8, True), by=ADMIN) == []
    con.execute("update settings set value = 'soon' where key = 'access.idle_minutes'")
    assert access.load_settings(con).idle_minutes == 30  # unreadable: the default, sign-in keeps working
    with pytest.raises(ValueError, match="idle minutes"):
        access.save_settings(con, access.AccessSettings(0, 8, True), by=ADMIN)
    with pytest.raises(ScopeError):
        access.save_settings(con, access.AccessSettings(), by=Scope.signed_in(role="therapist", user="a", therapist_id="T1"))
    assert [r[0] for r in con.execute("select action from audit_log").fetchall()] == ["settings changed"] * 3


def test_session_expiry_after_the_idle_time_or_the_session_limit() -> None:
    settings = access.AccessSettings(idle_minutes=30, session_hours=12)
    at = lambda **kw: T0 + timedelta(**kw)  # noqa: E731
    assert access.session_expiry(now=at(minutes=29), signed_in_at=T0, last_seen=T0, settings=settings) is None
    idle = access.session_expiry(now=at(minutes=30), signed_in_at=T0, last_seen=T0, settings=settings)
    assert "after 30 minutes without activity" in idle
    assert access.session_expiry(now=at(hours=11, minutes=59), signed_in_at=T0, last_seen=at(hours=11, minutes=50),
                                 settings=settings) is None
    assert "more than 12 hours ago" in access.session_expiry(now=at(hours=12), signed_in_at=T0,
                                                              last_seen=at(hours=11, minutes=59), settings=settings)


@pytest.mark.parametrize("host, allowed", [
    ("localhost:8501", True), ("LOCALHOST:8501", True), ("127.0.0.1:8501", True), ("[::1]:8501", True),
    ("localhost", True), ("evil.example:8501", False), ("localhost.evil.example:8501", False),
    ("127.0.0.1.nip.io:8501", False), ("", False), (None, True),
])
def test_only_allowed_hosts_are_served(host, allowed) -> None:
    assert access.host_allowed(host, access.LOCAL_HOSTS) is allowed


def test_a_configured_host_is_allowed() -> None:
    assert access.host_allowed("dashboard.practice.example", [*access.LOCAL_HOSTS, "dashboard.practice.example"])
    assert access.host_name("Dashboard.Practice.Example.:443") == "dashboard.practice.example"


@pytest.mark.parametrize("address, local", [
    ("localhost", True), ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True),
    ("0.0.0.0", False), ("192.168.1.20", False), ("", False), (None, False), ("::", False), ("example.org", False),
])
def test_local_addresses(address, local) -> None:
    assert access.is_local_address(address) is local


def test_pseudonyms_are_stable_secret_and_different_per_client(con) -> None:
    salt = access.pseudonym_salt(con)
    assert access.pseudonym_salt(con) == salt and len(salt) == 32
    one, two = access.pseudonym(salt, "C1"), access.pseudonym(salt, "C2")
    assert one == access.pseudonym(salt, "C1") and one != two
    assert one.startswith("Client ") and len(one) == len("Client ") + 6
    assert access.pseudonym("another store's salt", "C1") != one


# ---------------------------------------------------------------------------------------------
# Schema version 4 and the store file
# ---------------------------------------------------------------------------------------------


def test_version_4_upgrades_a_version_3_file_and_new_ids_start_after_the_stored_ones(tmp_path) -> None:
    path = tmp_path / "v3.duckdb"
    con = open_store(path)
    for table in ("users", "audit_log", "audit_head", "feedback_versions"):
        con.execute(f"drop table {table}")
    for name in ("audit_seq", "feedback_version_seq", "plan_assignment_seq", "user_template_seq"):
        con.execute(f"drop sequence {name}")
    con.execute("alter table library_templates drop column created_by")
    con.execute("alter table library_templates drop column changed_by")
    con.execute("delete from schema_meta")
    con.execute("insert into schema_meta (version) values (3)")
    con.execute("insert into library_templates values ('U0007', 'journaling', 'Diary', 'Write', 10, 2, null, null, "
                "null, now(), now(), 'user')")
    con.execute("insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on) "
                "values ('P20260301-012', 'C1', 'journaling', 'Diary', date '2026-03-01', date '2026-03-08')")
    con.close()

    con = open_store(path)
    assert [v for (v,) in con.execute("select version from schema_meta order by version").fetchall()] == [3, SCHEMA_VERSION]
    assert con.execute("select template_id, created_by from library_templates").fetchall() == [("U0007", None)]
    assert con.execute("select nextval('user_template_seq'), nextval('plan_assignment_seq')").fetchone() == (8, 13)
    assert users.users(con).empty and audit.verify(con).ok
    con.close()


def test_the_store_file_is_readable_by_its_owner_only(tmp_path) -> None:
    path = tmp_path / "private.duckdb"
    con = open_store(path)
    con.execute("insert into therapists values ('T1', 'Ada', null)")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    wal = path.with_name(path.name + ".wal")  # the insert is in the write-ahead log until a checkpoint
    assert wal.exists()
    wal_mode = stat.S_IMODE(os.stat(wal).st_mode)
    con.close()
    assert mode == 0o600
    assert wal_mode == 0o600
