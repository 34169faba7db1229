"""Who is looking: the practice (everything) or one therapist (only their clients)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from duckdb import DuckDBPyConnection


class ScopeError(PermissionError):
    """A read or write asked for a client outside the caller's scope."""


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
    deidentified: bool = False

    @classmethod
    def practice(cls) -> Scope:
        return cls(None)

    @classmethod
    def therapist(cls, therapist_id: str) -> Scope:
        if not therapist_id:
            raise ValueError("a therapist scope needs a therapist_id")
        return cls(therapist_id)

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
        """True when the client exists and belongs to this scope."""
        row = con.execute(
            "select count(*) from clients where client_id = $client_id "
            "and ($scope_therapist is null or therapist_id = $scope_therapist)",
            {"client_id": client_id, "scope_therapist": self.therapist_id},
        ).fetchone()
        return row[0] > 0

    def require_client(self, con: DuckDBPyConnection, client_id: str) -> None:
        """Raise ScopeError unless the client is in this scope (the same message whether it exists or not)."""
        if not self.sees_client(con, client_id):
            raise ScopeError(f"client {client_id!r} is not in your caseload")
