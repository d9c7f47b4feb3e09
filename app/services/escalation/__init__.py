"""Escalation: page L1, L2, ... until someone acknowledges; warn once when the response target
runs out; remind the channel to post status updates.

Every page and reminder is a scheduled step (see `app.services.engine`), so nothing lives only
in memory. `start` plans the chain of a new incident (with its declaration) and releases L1's
page, `handlers` send its steps (registered by `app.wiring`), `acknowledge` and `snooze` answer
the buttons, and `replan` follows the other features' changes (resolved, severity, status
updates). Those only move or cancel rows; the
handlers re-check the incident when a step falls due (acknowledged? resolved? still within the
severity's cap?), so a missed call can delay nothing worse than a cancelled page showing up as
cancelled.
"""

from app.services.escalation.acknowledge import AckResult, acknowledge, announce_acknowledgement
from app.services.escalation.replan import on_resolved, on_severity_changed, on_status_update
from app.services.escalation.snooze import SnoozeResult, snooze_reminder
from app.services.escalation.start import ESCALATION_KINDS, plan_escalation, release_first_pages

__all__ = [
    "ESCALATION_KINDS",
    "AckResult",
    "SnoozeResult",
    "acknowledge",
    "announce_acknowledgement",
    "on_resolved",
    "on_severity_changed",
    "on_status_update",
    "plan_escalation",
    "release_first_pages",
    "snooze_reminder",
]
