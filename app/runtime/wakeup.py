"""The process's alarm clock: whoever plans a step says when it falls due, the scheduler wakes.

A plain holder below the context: the store notes due times in the planning transaction, an
after-commit listener (registered by `app.wiring.build`) calls `at(due)`, and the scheduler,
when it runs, has subscribed to pull its next tick earlier. Nothing is told before the commit,
so a woken tick always finds the step.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

log = logging.getLogger(__name__)

Alarm = Callable[[datetime], None]


class Wakeup:
    """Fan-out of "a step falls due at <time>" to whoever listens (the scheduler, tests)."""

    def __init__(self) -> None:
        self._alarms: list[Alarm] = []

    def subscribe(self, alarm: Alarm) -> None:
        if alarm not in self._alarms:
            self._alarms.append(alarm)

    def unsubscribe(self, alarm: Alarm) -> None:
        if alarm in self._alarms:
            self._alarms.remove(alarm)

    def at(self, due: datetime) -> None:
        """A step falls due at `due` (committed). Never raises: the commit already happened."""
        for alarm in list(self._alarms):
            try:
                alarm(due)
            except Exception:  # noqa: BLE001 - a wake-up is an optimisation; the tick still polls
                log.exception("waking the scheduler failed")
