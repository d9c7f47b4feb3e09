"""The policy's sections for measuring a team against its own plan: `phases:` (the plan's
procedure time boxes), `services:` (what the status page lists) and `plan_review:` (who reviews
the plan, and when).

An incident's snapshot carries these too, so a report reads each incident against the plan it
was declared under; an older snapshot without them reads the defaults below (the plan's own).
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import field_validator

from app.domain.policy.fields import USER_ID, Duration, Model, Strings
from app.domain.policy.oncall import _clock, _zone

__all__ = [
    "DEFAULT_PHASES",
    "MILESTONES",
    "SERVICE_STATES",
    "Phase",
    "PlanReview",
    "StatusService",
]

# What ends a phase, as the timeline records it: the first acknowledgement, the first status
# update posted (stakeholders told), the move to Mitigating (cause identified), resolution.
Milestone = Literal["acknowledged", "first_update", "mitigating", "resolved"]
MILESTONES: tuple[str, ...] = ("acknowledged", "first_update", "mitigating", "resolved")

# A status page service's states, worst last (Atlassian Statuspage's component statuses).
SERVICE_STATES: tuple[str, ...] = (
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
)
_SERVICE_KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


class Phase(Model):
    """One of the plan's procedure phases: it ends at `ends`, due `within` of the declaration
    (the plan's "Investigation (15-30 minutes)" is due within 30 minutes)."""

    key: str
    name: str
    ends: Milestone
    within: Duration


DEFAULT_PHASES: tuple[Phase, ...] = (
    Phase(key="detection", name="Detection", ends="acknowledged", within=timedelta(minutes=5)),
    Phase(key="response", name="Response", ends="first_update", within=timedelta(minutes=15)),
    Phase(
        key="investigation", name="Investigation", ends="mitigating", within=timedelta(minutes=30)
    ),
    Phase(key="mitigation", name="Mitigation", ends="resolved", within=timedelta(hours=1)),
    Phase(key="recovery", name="Recovery", ends="resolved", within=timedelta(hours=2)),
)


class StatusService(Model):
    """A service the public status page lists. An incident with one of `impacts` affects it
    (the status page preview proposes it); `statuspage_component` is its Atlassian Statuspage
    component id, when the page is synced there."""

    key: str
    name: str
    description: str = ""
    impacts: Strings = ()
    statuspage_component: str | None = None

    @field_validator("key")
    @classmethod
    def _check_key(cls, value: str) -> str:
        if not _SERVICE_KEY.fullmatch(value):
            raise ValueError(f"{value!r}: lowercase letters, digits, - and _ (at most 40)")
        return value


class PlanReview(Model):
    """`plan_review:` — the plan's "Review Frequency: Quarterly": on the first day of each
    quarter at `at` (in `time_zone`), the `owner` gets a DM with the last quarter's report."""

    owner: str
    every: Literal["quarterly"] = "quarterly"
    at: time = time(9, 0)
    time_zone: str = "UTC"

    @field_validator("owner")
    @classmethod
    def _check_owner(cls, value: str) -> str:
        if not USER_ID.fullmatch(value):
            raise ValueError(f"{value!r} is not a Slack user id (U…)")
        return value

    @field_validator("at", mode="before")
    @classmethod
    def _check_at(cls, value: Any) -> time:
        return _clock(value)  # also a snapshot's "09:00:00" and YAML's unquoted 09:00

    @field_validator("time_zone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        return _zone(value)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)
