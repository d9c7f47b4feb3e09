"""Tickets in the team's tracker (Jira, GitHub, Linear) for incidents and their action items.

plan.py     asking for a ticket and planning the `ticket` step, in the change's transaction
sync.py     the `ticket` step: make the tracker match the incident (open, priority, close,
            reopen, links), each part saved as the tracker answers
drafts.py   what a ticket and its comments say (plain text; trackers escape it)
notices.py  telling a person what went wrong
"""

from app.services.tickets.plan import (
    TICKET,
    plan_for_declared,
    plan_for_item,
    plan_sync,
    want_incident_ticket,
)
from app.services.tickets.request import request_ticket
from app.services.tickets.sync import sync_tickets

__all__ = [
    "TICKET",
    "plan_for_declared",
    "plan_for_item",
    "plan_sync",
    "request_ticket",
    "sync_tickets",
    "want_incident_ticket",
]
