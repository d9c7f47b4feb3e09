"""FakeStatuspage's page: its components and incidents, the checks Statuspage makes on what it is
sent (a 422 with its message), and the JSON it answers, in the shapes of
https://developer.statuspage.io (Incident, IncidentUpdate, Component)."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
COMPONENT_STATUSES = (
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
)
IMPACTS = ("none", "maintenance", "minor", "major", "critical")
# What Statuspage reckons an incident's impact from its components' worst status.
IMPACT_OF = {"degraded_performance": "minor", "partial_outage": "major", "major_outage": "critical"}
INCIDENT_FIELDS = {
    "name",
    "status",
    "impact_override",
    "metadata",
    "deliver_notifications",
    "body",
    "components",
    "component_ids",
    "backfilled",
    "backfill_date",
}
NAME_MAX, BODY_MAX = 255, 25000
_ID = string.ascii_lowercase + string.digits


def new_id() -> str:
    """A 12-character id, as Statuspage's look (`8kbf7d35c070`)."""
    return "".join(secrets.choice(_ID) for _ in range(12))


class StatuspageRefusal(Exception):
    """Statuspage's answer to a request it does not carry out: a status and its message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"message": message}


@dataclass
class Component:
    id: str
    name: str
    status: str = "operational"
    created_at: str = ""
    updated_at: str = ""


@dataclass
class IncidentUpdate:
    id: str
    status: str
    body: str
    created_at: str
    deliver_notifications: bool
    affected_components: list[dict[str, str]] | None = None


@dataclass
class Incident:
    id: str
    name: str
    status: str
    created_at: str
    impact_override: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    component_ids: list[str] = field(default_factory=list)
    updates: list[IncidentUpdate] = field(default_factory=list)  # oldest first
    updated_at: str = ""
    monitoring_at: str | None = None
    resolved_at: str | None = None

    @property
    def resolved(self) -> bool:
        return self.status == "resolved"

    @property
    def bodies(self) -> list[str]:
        return [update.body for update in self.updates]


class PageState:
    """One Statuspage page: what the routes read and change."""

    def __init__(self, page_id: str, clock: Callable[[], datetime], name: str = "Status") -> None:
        self.page_id = page_id
        self.name = name
        self.clock = clock
        self.components: dict[str, Component] = {}
        self.incidents: list[Incident] = []
        self.violations: list[str] = []

    def stamp(self) -> str:
        return self.clock().isoformat()

    # --- the endpoints' work -------------------------------------------------------------------

    def create(self, fields: dict[str, Any]) -> Incident:
        self._check(fields, creating=True)
        now = self.stamp()
        incident = Incident(new_id(), fields["name"], fields.get("status") or "investigating", now)
        self.incidents.append(incident)
        self._apply(incident, fields, new_update=True)
        return incident

    def update(self, incident: Incident, fields: dict[str, Any]) -> Incident:
        self._check(fields, creating=False)
        changes_status = "status" in fields and fields["status"] != incident.status
        self._apply(incident, fields, new_update="body" in fields or changes_status)
        return incident

    def find(self, incident_id: str) -> Incident:
        for incident in self.incidents:
            if incident.id == incident_id:
                return incident
        raise StatuspageRefusal(404, "The incident could not be found.")

    def search(self, query: str) -> list[Incident]:
        text = query.lower()
        return [
            incident
            for incident in reversed(self.incidents)
            if text in incident.name.lower()
            or text == incident.status
            or any(text in body.lower() for body in incident.bodies)
        ]

    def _apply(self, incident: Incident, fields: dict[str, Any], *, new_update: bool) -> None:
        now = self.stamp()
        if "name" in fields:
            incident.name = fields["name"]
        if "impact_override" in fields:
            incident.impact_override = fields["impact_override"]
        if "metadata" in fields:
            incident.metadata = dict(fields["metadata"] or {})
        if "component_ids" in fields:
            incident.component_ids = list(fields["component_ids"])
        affected = self._set_components(incident, fields.get("components") or {}, now)
        status = fields.get("status") or incident.status
        if status != incident.status or not incident.updates:
            if status == "monitoring":
                incident.monitoring_at = now
            incident.resolved_at = now if status == "resolved" else None
        incident.status = status
        incident.updated_at = now
        if new_update:
            update = IncidentUpdate(
                new_id(),
                status,
                str(fields.get("body") or ""),
                now,
                bool(fields.get("deliver_notifications", True)),
                affected or None,
            )
            incident.updates.append(update)

    def _set_components(
        self, incident: Incident, statuses: dict[str, str], now: str
    ) -> list[dict[str, str]]:
        affected = []
        for component_id, status in statuses.items():
            component = self.components[component_id]
            if component_id not in incident.component_ids:
                incident.component_ids.append(component_id)
            if component.status != status:
                affected.append(
                    {
                        "code": component.id,
                        "name": component.name,
                        "old_status": component.status,
                        "new_status": status,
                    }
                )
                component.status, component.updated_at = status, now
        return affected

    # --- Statuspage's checks -------------------------------------------------------------------

    def _check(self, fields: dict[str, Any], *, creating: bool) -> None:
        unknown = sorted(set(fields) - INCIDENT_FIELDS)
        if unknown:
            self.violations.append(f"incident fields Statuspage does not know: {unknown}")
        name = fields.get("name")
        if creating and not (isinstance(name, str) and name.strip()):
            raise StatuspageRefusal(422, "Name can't be blank")
        if isinstance(name, str) and len(name) > NAME_MAX:
            raise StatuspageRefusal(422, f"Name is too long (maximum is {NAME_MAX} characters)")
        body = fields.get("body")
        if body is not None and (not isinstance(body, str) or len(body) > BODY_MAX):
            raise StatuspageRefusal(422, f"Body is too long (maximum is {BODY_MAX} characters)")
        status = fields.get("status")
        if status is not None and status not in INCIDENT_STATUSES:
            raise StatuspageRefusal(422, f"Status {status!r} is not a realtime incident status")
        impact = fields.get("impact_override")
        if impact is not None and impact not in IMPACTS:
            raise StatuspageRefusal(422, f"Impact override {impact!r} is not valid")
        metadata = fields.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict)
            or not all(isinstance(value, dict) for value in metadata.values())
        ):
            raise StatuspageRefusal(422, "Metadata top level values must be objects")
        self._check_components(fields)

    def _check_components(self, fields: dict[str, Any]) -> None:
        ids = fields.get("component_ids") or []
        statuses = fields.get("components") or {}
        if not isinstance(ids, list) or not isinstance(statuses, dict):
            raise StatuspageRefusal(422, "component_ids is a list and components an object")
        for component_id in [*ids, *statuses]:
            if component_id not in self.components:
                raise StatuspageRefusal(422, f"Component {component_id} could not be found")
        for component_id, status in statuses.items():
            if status not in COMPONENT_STATUSES:
                raise StatuspageRefusal(
                    422, f"Status {status!r} of component {component_id} is not valid"
                )
            if component_id not in ids:
                self.violations.append(f"components names {component_id} outside component_ids")

    # --- JSON ----------------------------------------------------------------------------------

    def incident_json(self, incident: Incident) -> dict[str, Any]:
        worst = [self.components[c].status for c in incident.component_ids]
        computed = max(
            (IMPACT_OF.get(status, "none") for status in worst),
            key=IMPACTS.index,
            default="none",
        )
        return {
            "id": incident.id,
            "name": incident.name,
            "status": incident.status,
            "impact": incident.impact_override or computed,
            "impact_override": incident.impact_override,
            "created_at": incident.created_at,
            "updated_at": incident.updated_at,
            "started_at": incident.created_at,
            "monitoring_at": incident.monitoring_at,
            "resolved_at": incident.resolved_at,
            "shortlink": f"https://stspg.io/{incident.id[:9]}",
            "page_id": self.page_id,
            "metadata": incident.metadata,
            "postmortem_body": None,
            "incident_updates": [
                self._update_json(incident, update) for update in reversed(incident.updates)
            ],
            "components": [self.component_json(self.components[c]) for c in incident.component_ids],
        }

    def _update_json(self, incident: Incident, update: IncidentUpdate) -> dict[str, Any]:
        return {
            "id": update.id,
            "incident_id": incident.id,
            "status": update.status,
            "body": update.body,
            "created_at": update.created_at,
            "updated_at": update.created_at,
            "display_at": update.created_at,
            "affected_components": update.affected_components,
            "deliver_notifications": update.deliver_notifications,
            "custom_tweet": None,
            "tweet_id": None,
        }

    def page_json(self) -> dict[str, Any]:
        """The page, as GET /pages/{page_id} answers it (the fields the bot could read)."""
        subdomain = self.page_id
        return {
            "id": self.page_id,
            "name": self.name,
            "subdomain": subdomain,
            "domain": None,
            "url": f"https://{subdomain}.statuspage.io",
            "page_description": None,
            "time_zone": "Etc/UTC",
            "created_at": self.stamp(),
            "updated_at": self.stamp(),
        }

    def component_json(self, component: Component) -> dict[str, Any]:
        return {
            "id": component.id,
            "page_id": self.page_id,
            "group_id": None,
            "created_at": component.created_at,
            "updated_at": component.updated_at,
            "group": False,
            "name": component.name,
            "description": None,
            "position": list(self.components).index(component.id) + 1,
            "status": component.status,
            "showcase": True,
            "only_show_if_degraded": False,
            "start_date": None,
        }
