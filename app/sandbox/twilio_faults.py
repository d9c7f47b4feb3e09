"""FakeTwilio's fault injection: the next requests (of one operation, or any) fail as Twilio,
or the network in front of it, sometimes does. Operations: "Messages.create", "Messages.list",
"Calls.create", "Calls.list"."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass
class Fault:
    kind: str  # "server" | "ratelimit" | "drop" | "after"
    status: int = 500
    retry_after: float | None = None
    drop: bool = False
    operation: str | None = None


class TwilioFaults:
    """A mixin: FakeTwilio holds `_faults` and `_down`."""

    _faults: deque[Fault]
    _down: bool

    def fail_next(self, *, status: int = 500, times: int = 1, operation: str | None = None) -> None:
        self._faults.extend(
            Fault("server", status=status, operation=operation) for _ in range(times)
        )

    def rate_limit_next(
        self, *, times: int = 1, retry_after: float | None = None, operation: str | None = None
    ) -> None:
        self._faults.extend(
            Fault("ratelimit", status=429, retry_after=retry_after, operation=operation)
            for _ in range(times)
        )

    def drop_next(self, *, times: int = 1, operation: str | None = None) -> None:
        self._faults.extend(Fault("drop", operation=operation) for _ in range(times))

    def fail_after_success(
        self, *, operation: str | None = None, status: int = 500, drop: bool = False, times: int = 1
    ) -> None:
        self._faults.extend(
            Fault("after", status=status, drop=drop, operation=operation) for _ in range(times)
        )

    def go_down(self) -> None:
        self._down = True

    def come_back(self) -> None:
        self._down = False

    def _take(self, operation: str | None, kinds: tuple[str, ...]) -> Fault | None:
        for fault in self._faults:
            if fault.kind in kinds and fault.operation in (None, operation):
                self._faults.remove(fault)
                return fault
        return None
