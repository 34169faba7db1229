"""Who is looking: the practice (everything) or one therapist (only their clients), with the role that says what
they may see and change."""

from __future__ import annotations

from dataclasses import dataclass, replace

from duckdb import DuckDBPyConnection

from analytics.store.database import kept_for_snapshot


class ScopeError(PermissionError):
    """A read or write asked for a client outside the caller's scope, or for something the role may not do."""


# The roles of the users table (data/README.md, "Users, roles and the audit trail").
ADMIN, PRACTICE_MANAGER, THERAPIST, ANALYST = "admin", "practice_manager", "therapist", "analyst"
ROLES = (ADMIN, PRACTICE_MANAGER, THERAPIST, ANALYST)
ROLE_LABELS = {ADMIN: "Admin", PRACTICE_MANAGER: "Practice manager", THERAPIST: "Therapist", ANALYST: "Analyst"}


@dataclass(frozen=True)
class Scope:
    """The practice when `therapist_id` is None, else one therapist's caseload.

    Every read of client data in `analytics` takes a Scope and passes `therapist_id` into its SQL
    (the `scope_therapist` argument of the `assignment_progress` macro, or a `where` clause), so
    the limit holds in the query itself, whatever the screen shows.

    `deidentified`: the viewer sees the de-identified tier (pseudonyms for people, no free text, small counts
    suppressed); the pages read it, and an export by this viewer is de-identified.
    """

    therapist_id: str | None = None
    # Who is looking and what their role lets them see. The defaults are the practice's own full view (the
    # command line, local mode): a signed-in person gets theirs from Scope.signed_in.
    role: str = ADMIN
    user: str = ""  # the signed-in email, or who ran the command line; written in the audit trail
    free_text: bool = True  # clients' free text (notes, feedback, goals) is shown
    pseudonyms: bool = False  # client labels are replaced by pseudonyms (analytics.store.access.pseudonym)
    deidentified: bool = False

    @classmethod
    def practice(cls) -> Scope:
        return cls(None)

    @classmethod
    def therapist(cls, therapist_id: str) -> Scope:
        if not therapist_id:
            raise ValueError("a therapist scope needs a therapist_id")
        return cls(therapist_id)

    @classmethod
    def signed_in(cls, *, role: str, user: str, therapist_id: str | None = None, manager_free_text: bool = False) -> Scope:
        """The scope of a signed-in person with this role (the access model, in one place).

        admin: the whole practice, everything. therapist: their own caseload, their clients' free
        text, writes. practice_manager: the whole practice's figures, free text only when the practice
        turned it on (`manager_free_text`), no writes of feedback or plans. analyst: the whole practice
        with client labels replaced by pseudonyms and no free text; imports.
        """
        if role == THERAPIST:
            return cls(cls.therapist(therapist_id or "").therapist_id, role=role, user=user)
        if role == PRACTICE_MANAGER:
            return cls(None, role=role, user=user, free_text=manager_free_text)
        if role == ANALYST:
            return cls(None, role=role, user=user, free_text=False, pseudonyms=True, deidentified=True)
        if role == ADMIN:
            return cls(None, role=role, user=user)
        raise ValueError(f"unknown role {role!r}")

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def may_write_clients(self) -> bool:
        """Feedback, plans, rescheduling and cancelling homework, library templates: admins and therapists."""
        return self.role in (ADMIN, THERAPIST)

    @property
    def may_import(self) -> bool:
        """Importing files into the store: admins and analysts."""
        return self.role in (ADMIN, ANALYST) and self.is_practice

    def require(self, allowed: bool, what: str) -> None:
        """Raise ScopeError saying what the role may not do unless `allowed`."""
        if not allowed:
            raise ScopeError(f"a {ROLE_LABELS.get(self.role, self.role).lower()} cannot {what}")

    @property
    def is_practice(self) -> bool:
        return self.therapist_id is None

    def narrowed_to(self, therapist_id: str | None) -> Scope:
        """This scope limited to one therapist's caseload (a filter); None keeps it as it is.

        A therapist scope can only be narrowed to itself: asking for another therapist raises.
        """
        if therapist_id is None or therapist_id == self.therapist_id:
            return self
        if self.is_practice:
            return replace(self, therapist_id=Scope.therapist(therapist_id).therapist_id)
        raise ScopeError("a therapist can only see their own caseload")

    def with_deidentified_view(self, on: bool = True) -> Scope:
        """This scope, seeing the de-identified tier (or not)."""
        return replace(self, deidentified=on)

    def sees_client(self, con: DuckDBPyConnection, client_id: str) -> bool:
        """True when the client exists and belongs to this scope. Asked once per read snapshot (a Client page asks
        it for each of its ten analytics calls, about a millisecond each; inside a snapshot the answer cannot change)."""
        return kept_for_snapshot(con, ("sees_client", self.therapist_id, client_id), lambda: con.execute(
            "select count(*) from clients where client_id = $client_id "
            "and ($scope_therapist is null or therapist_id = $scope_therapist)",
            {"client_id": client_id, "scope_therapist": self.therapist_id},
        ).fetchone()[0] > 0)

    def require_client(self, con: DuckDBPyConnection, client_id: str) -> None:
        """Raise ScopeError unless the client is in this scope (the same message whether it exists or not)."""
        if not self.sees_client(con, client_id):
            raise ScopeError(f"client {client_id!r} is not in your caseload")
