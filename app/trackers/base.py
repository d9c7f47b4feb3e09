"""What every tracker does, and how it fails.

A tracker is one issue tracker's REST or GraphQL API behind the same few calls. The ticket
step (`app.services.tickets`) calls them; they raise `TrackerError` for every failure, saying
whether a later try may succeed (`transient`), how long the tracker asked to be left alone
(`retry_after`) and whether the request may have been carried out all the same (`maybe_done`:
a 5xx or a timeout after the request was sent), in which case the caller looks before redoing.
"""

from __future__ import annotations

from typing import Protocol

from app.domain.tickets import Ticket, TicketDraft, TicketText

__all__ = ["Tracker", "TrackerError"]


class TrackerError(Exception):
    """A tracker call that failed, phrased for the person who will read it."""

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        retry_after: float | None = None,
        maybe_done: bool = False,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.retry_after = retry_after
        self.maybe_done = maybe_done
        self.status = status


class Tracker(Protocol):
    """One issue tracker. Every call is one or a few HTTP requests; none is retried inside
    (the ticket step retries, with a backoff, and looks before it redoes)."""

    name: str  # "jira", "github" or "linear" (the policy's `provider`)
    title: str  # "Jira", "GitHub", "Linear": for people

    async def verify(self, project: str | None) -> str:
        """One read-only call proving the credentials work (and `project` is reachable, when
        given); returns who the bot is there, e.g. "incident-bot on acme.atlassian.net"."""
        ...

    async def find(self, draft: TicketDraft) -> Ticket | None:
        """The ticket opened for `draft.marker` (exact match), if one exists."""
        ...

    async def create(self, draft: TicketDraft) -> Ticket:
        """Open the ticket. Not idempotent: after a `maybe_done` failure, `find` first."""
        ...

    async def fetch(self, ticket: Ticket) -> Ticket:
        """The ticket as it is now (whether it is closed), for polling."""
        ...

    async def set_priority(self, ticket: Ticket, priority: str | None) -> None:
        """Set the tracker's priority (`None`: leave it). Idempotent."""
        ...

    async def close(self, ticket: Ticket, comment: TicketText) -> None:
        """Comment, then close (Jira: a transition to a "done" status). Idempotent: a ticket
        already closed is only commented on."""
        ...

    async def reopen(self, ticket: Ticket, comment: TicketText) -> None:
        """Comment, then reopen. Idempotent like `close`."""
        ...

    async def comment(self, ticket: Ticket, comment: TicketText) -> None:
        """Add a comment (not idempotent: the caller records that it was added)."""
        ...

    async def aclose(self) -> None:
        """Close the HTTP client."""
        ...
