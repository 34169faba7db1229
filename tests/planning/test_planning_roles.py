"""The planner and the library under the roles: who may write, who wrote a template, and the audit trail.
Fixtures: tests/planning/test_planner.py (clients R1, H1 of T1; K1 of T2) and test_library.py (a_template)."""

from __future__ import annotations

from datetime import date

import pytest

from analytics.planning import library, planner
from analytics.store import audit
from analytics.store.scope import Scope, ScopeError
from tests.planning import test_planner
from tests.planning.test_library import a_template
from tests.planning.test_planner import count, item

con = test_planner.con  # the fixture: clients R1, H1 of T1, K1 of T2, ...
ONE = Scope.signed_in(role="therapist", user="one@example.test", therapist_id="T1")
TWO = Scope.signed_in(role="therapist", user="two@example.test", therapist_id="T2")
MANAGER = Scope.signed_in(role="practice_manager", user="pm@example.test")
ANALYST = Scope.signed_in(role="analyst", user="an@example.test")
ADMIN = Scope.signed_in(role="admin", user="boss@example.test")
TODAY = date(2026, 3, 15)


def trail(con) -> list[tuple]:
    return con.execute("select action, user_email, user_role, object_type, object_id, detail from audit_log "
                       "order by seq").fetchall()


def test_saving_moving_and_cancelling_homework_is_in_the_audit_trail(con):
    ids = planner.save_plan(con, scope=ONE, client_id="R1", items=[item(), item(title="Walk")], today=TODAY)
    assert ids == ["P20260315-001", "P20260315-002"]
    planner.reschedule(con, scope=ONE, assignment_id=ids[0], due_on=date(2026, 3, 30))
    planner.cancel(con, scope=ONE, assignment_id=ids[1])
    assert trail(con) == [
        ("plan saved", "one@example.test", "therapist", "client", "R1", "2 assignment(s): P20260315-001, P20260315-002"),
        ("plan rescheduled", "one@example.test", "therapist", "assignment", ids[0], "due 2026-03-30"),
        ("plan cancelled", "one@example.test", "therapist", "assignment", ids[1], ""),
    ]
    assert audit.verify(con).ok


def test_plan_ids_come_from_a_sequence_and_go_on_across_days(con):
    first = planner.save_plan(con, scope=ONE, client_id="R1", items=[item()], today=TODAY)
    con.execute("delete from assignments where assignment_id = ?", first)  # even a removed id is not used again
    second = planner.save_plan(con, scope=ONE, client_id="R1", items=[item()], today=date(2026, 3, 16))
    assert (first, second) == (["P20260315-001"], ["P20260316-002"])


def test_an_id_an_import_already_used_is_passed_over(con):
    con.execute("insert into assignments (assignment_id, client_id, assignment_type, title, assigned_on, due_on) "
                "values ('P20260315-001', 'H1', 'journaling', 'Imported', '2026-03-01', '2026-03-08')")
    assert planner.save_plan(con, scope=ONE, client_id="R1", items=[item()], today=TODAY) == ["P20260315-002"]


@pytest.mark.parametrize("scope", [MANAGER, ANALYST], ids=["practice manager", "analyst"])
def test_roles_that_do_not_plan_cannot_save_move_or_cancel(con, scope):
    before = count(con, "assignments")
    with pytest.raises(ScopeError, match="cannot save plans"):
        planner.save_plan(con, scope=scope, client_id="R1", items=[item()], today=TODAY)
    with pytest.raises(ScopeError, match="cannot change homework"):
        planner.reschedule(con, scope=scope, assignment_id="J-H1", due_on=date(2026, 3, 30))
    with pytest.raises(ScopeError, match="cannot change homework"):
        planner.cancel(con, scope=scope, assignment_id="J-H1")
    assert count(con, "assignments") == before
    assert con.execute("select due_on, status from assignments where assignment_id = 'J-H1'").fetchone() == (
        date(2026, 3, 8), "active")


def test_a_template_records_who_wrote_and_changed_it(con):
    new_id = library.save_template(con, a_template(), scope=ONE)
    assert library.template_author(con, new_id) == ("one@example.test", "one@example.test")
    library.save_template(con, a_template(template_id=new_id, title="Evening wind-down, shorter"), scope=ADMIN)
    assert library.template_author(con, new_id) == ("one@example.test", "boss@example.test")
    assert [row[:5] for row in trail(con)] == [
        ("template created", "one@example.test", "therapist", "template", new_id),
        ("template changed", "boss@example.test", "admin", "template", new_id),
    ]


def test_only_its_author_and_admins_change_a_template(con):
    new_id = library.save_template(con, a_template(), scope=ONE)
    with pytest.raises(ScopeError, match="change a template someone else wrote"):
        library.save_template(con, a_template(template_id=new_id, title="Taken over"), scope=TWO)
    assert library.get_template(con, new_id).title == "Evening wind-down"
    library.save_template(con, a_template(template_id=new_id, title="Mine still"), scope=ONE)
    assert library.get_template(con, new_id).title == "Mine still"
    assert library.may_change(TWO, "one@example.test") is False
    assert library.may_change(ADMIN, "one@example.test") is True
    assert library.may_change(ONE, None) is False  # written before authors were recorded: admins only
    with pytest.raises(ScopeError, match="cannot write library templates"):
        library.save_template(con, a_template(), scope=MANAGER)


def test_a_copy_of_a_bundled_template_belongs_to_whoever_saved_it(con):
    copy_id = library.save_template(con, a_template(template_id="L001"), scope=TWO)
    assert copy_id.startswith("U") and library.template_author(con, copy_id)[0] == "two@example.test"
    assert trail(con)[-1][5] == "copy of L001"
