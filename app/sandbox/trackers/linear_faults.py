"""FakeLinear's fault injection: the next requests (of one operation, or any) fail as Linear,
or the network in front of it, sometimes does."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass
class Fault:
    kind: str  # "server" | "ratelimit" | "drop" | "after"
    status: int = 500
    retry_after: float = 30.0
    budget: str = "requests"  # ratelimit: "requests" or "complexity"
    drop: bool = False
    operation: str | None = None


class LinearFaults:
    """A mixin: FakeLinear holds `_faults` and `_down`."""

    _faults: deque[Fault]
    _down: bool

    def fail_next(
        self,
        *,
        status: int = 500,
        times: int = 1,
        retry_after: float = 30.0,
        operation: str | None = None,
    ) -> None:
        """Answer an error page without doing anything (a 429 comes with Retry-After)."""
        self._faults.extend(
            Fault("server", status=status, retry_after=retry_after, operation=operation)
            for _ in range(times)
        )

    def rate_limit_next(
        self,
        *,
        retry_after: float = 30.0,
        budget: str = "requests",
        times: int = 1,
        operation: str | None = None,
    ) -> None:
        """Answer Linear's RATELIMITED; the budget's reset header says `retry_after` seconds."""
        self._faults.extend(
            Fault("ratelimit", retry_after=retry_after, budget=budget, operation=operation)
            for _ in range(times)
        )

    def drop_next(self, *, times: int = 1, operation: str | None = None) -> None:
        """Close the connection before doing anything."""
        self._faults.extend(Fault("drop", operation=operation) for _ in range(times))

    def fail_after_success(
        self, *, operation: str | None = None, status: int = 500, drop: bool = False, times: int = 1
    ) -> None:
        """Do the work, then lose the answer: a 5xx, or with `drop` a closed connection."""
        self._faults.extend(
            Fault("after", status=status, drop=drop, operation=operation) for _ in range(times)
        )

    def go_down(self) -> None:
        self._down = True

    def come_back(self) -> None:
        self._down = False

    def _take_fault(self, operation: str | None, kinds: tuple[str, ...]) -> Fault | None:
        for fault in self._faults:
            if fault.kind in kinds and fault.operation in (None, operation):
                self._faults.remove(fault)
                return fault
        return None
