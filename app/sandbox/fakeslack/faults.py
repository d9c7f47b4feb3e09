"""Fault injection: the next calls of a method answer an error, a 429, a 5xx, or do their
work and then lose the answer, as real Slack sometimes does."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from .spec import SlackSpec


@dataclass
class Fault:
    kind: str  # "error" | "ratelimit" | "server" | "after" (did the work, then failed)
    error: str = ""
    extra: dict[str, Any] | None = None
    retry_after: int = 1
    status: int = 500
    # "after" only: drop the connection without an answer instead of answering `status`.
    drop: bool = False
    # "server" only: the error page's type; a proxy's text/plain page reaches slack-sdk as a str.
    content_type: str = "text/html"
    # Only calls whose args include these values trip the fault (e.g. {"channel": "U123"}).
    when: dict[str, str] | None = None

    def matches(self, args: dict[str, Any]) -> bool:
        return self.when is None or all(str(args.get(k)) == v for k, v in self.when.items())


class FaultInjection:
    """FakeSlack's fault queue (a mixin: FakeSlack holds ``spec`` and ``_faults``)."""

    spec: SlackSpec
    _faults: dict[str, deque[Fault]]

    def fail_next(
        self,
        method: str,
        error: str,
        *,
        times: int = 1,
        extra: dict[str, Any] | None = None,
        when: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` calls with ``ok: false``; the error must be documented.

        ``when`` limits the fault to calls with those argument values, e.g. the DM to one user.
        """
        if not self.spec.allows_error(method, error):
            raise ValueError(f"{error!r} is not a documented error of {method}")
        self._faults[method].extend(Fault("error", error, extra, when=when) for _ in range(times))

    def rate_limit_next(
        self,
        method: str,
        *,
        retry_after: int = 1,
        times: int = 1,
        when: dict[str, str] | None = None,
    ) -> None:
        self._faults[method].extend(
            Fault("ratelimit", retry_after=retry_after, when=when) for _ in range(times)
        )

    def server_error_next(
        self,
        method: str,
        *,
        status: int = 500,
        times: int = 1,
        when: dict[str, str] | None = None,
        content_type: str = "text/html",
    ) -> None:
        """Answer the next ``times`` calls with an error page (``content_type``), not JSON."""
        self._faults[method].extend(
            Fault("server", status=status, when=when, content_type=content_type)
            for _ in range(times)
        )

    def fail_after_success(
        self,
        method: str,
        *,
        status: int = 500,
        drop: bool = False,
        times: int = 1,
        when: dict[str, str] | None = None,
    ) -> None:
        """Do the next ``times`` calls' work, then lose the answer: a 5xx (``status``), or with
        ``drop`` a connection closed before any answer. Real Slack does both: a 500 or a dropped
        connection says nothing about whether the channel was made or the message posted."""
        self._faults[method].extend(
            Fault("after", status=status, drop=drop, when=when) for _ in range(times)
        )

    def _take_fault(self, method: str, args: dict[str, Any]) -> Fault | None:
        """Remove and return the first queued fault of ``method`` that applies to these args."""
        queue = self._faults[method]
        for fault in queue:
            if fault.matches(args):
                queue.remove(fault)
                return fault
        return None
