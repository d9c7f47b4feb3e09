"""FakeLinear's workspace: teams with their workflow states, people, labels, issues and
comments, as the resolvers (linear_resolvers.py) read and change them.

Attribute names are Linear's field names (`createdAt`, `dueDate`), so graphql-core's default
resolver serves them; a connection field is a method taking the field's arguments.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .linear_query import connection, invalid, not_found

ORG_KEY = "acme"
DEFAULT_STATES: tuple[tuple[str, str], ...] = (
    ("Triage", "triage"),
    ("Backlog", "backlog"),
    ("Todo", "unstarted"),
    ("In Progress", "started"),
    ("Done", "completed"),
    ("Canceled", "canceled"),
)
PRIORITY_LABELS = {0: "No priority", 1: "Urgent", 2: "High", 3: "Medium", 4: "Low"}


def _id() -> str:
    return str(uuid.uuid4())


@dataclass(eq=False)
class User:
    name: str
    email: str
    id: str = field(default_factory=_id)
    active: bool = True

    @property
    def displayName(self) -> str:
        return self.name.split()[0].lower() if self.name else self.email


@dataclass(eq=False)
class Team:
    key: str
    name: str
    id: str = field(default_factory=_id)
    workflow: list[WorkflowState] = field(default_factory=list)
    workspace: Workspace | None = None

    def states(self, info: Any, **args: Any) -> dict[str, Any]:
        return connection(self.workflow, args, "WorkflowState")

    def labels(self, info: Any, **args: Any) -> dict[str, Any]:
        assert self.workspace is not None
        return connection([x for x in self.workspace.labels if x.team is self], args, "IssueLabel")


@dataclass(eq=False)
class WorkflowState:
    name: str
    type: str
    position: float
    team: Team
    id: str = field(default_factory=_id)


@dataclass(eq=False)
class IssueLabel:
    name: str
    team: Team | None
    id: str = field(default_factory=_id)


@dataclass(eq=False)
class Issue:
    team: Team
    number: int
    title: str
    description: str | None
    priority: int
    state: WorkflowState
    createdAt: str
    assignee: User | None = None
    dueDate: str | None = None
    label_list: list[IssueLabel] = field(default_factory=list)
    id: str = field(default_factory=_id)

    @property
    def identifier(self) -> str:
        return f"{self.team.key}-{self.number}"

    @property
    def url(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")[:60]
        return f"https://linear.app/{ORG_KEY}/issue/{self.identifier}/{slug}"

    @property
    def priorityLabel(self) -> str:
        return PRIORITY_LABELS[self.priority]

    def labels(self, info: Any, **args: Any) -> dict[str, Any]:
        return connection(self.label_list, args, "IssueLabel")


@dataclass(eq=False)
class Comment:
    issue: Issue
    body: str
    createdAt: str
    user: User
    id: str = field(default_factory=_id)

    @property
    def url(self) -> str:
        return f"{self.issue.url}#comment-{self.id[:8]}"


class Workspace:
    """Everything FakeLinear holds; `Root` reads and changes it."""

    def __init__(self, viewer: User, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.viewer = viewer
        self.users: list[User] = [viewer]
        self.teams: list[Team] = []
        self.labels: list[IssueLabel] = []
        self.issues: list[Issue] = []
        self.comments: list[Comment] = []
        self.sync_id = 1000.0
        # A workspace where members may not create labels (only admins): issueLabelCreate is
        # refused as Linear refuses a missing permission.
        self.labels_locked = False

    def now_iso(self) -> str:
        return self.clock().isoformat().replace("+00:00", "Z")

    def next_sync(self) -> float:
        self.sync_id += 1
        return self.sync_id

    def team_by_key(self, key: str) -> Team | None:
        return next((t for t in self.teams if t.key == key), None)

    def find_issue(self, ref: str) -> Issue:
        """By id or identifier ("ENG-12"), as Linear's `issue(id:)` accepts both."""
        found = next((i for i in self.issues if ref in (i.id, i.identifier)), None)
        if found is None:
            raise not_found("Issue")
        return found

    def _by_id(self, items: list[Any], ref: str | None, entity: str) -> Any:
        found = next((item for item in items if item.id == ref), None)
        if found is None:
            raise not_found(entity)
        return found

    def check_fields(self, team: Team, values: dict[str, Any]) -> dict[str, Any]:
        """Issue input checked as Linear checks it; returns the model's values."""
        out: dict[str, Any] = {}
        if "priority" in values and values["priority"] is not None:
            priority = values["priority"]
            if priority > 4:
                raise invalid("priority must not be greater than 4")
            if priority < 0:
                raise invalid("priority must not be less than 0")
            out["priority"] = priority
        if values.get("stateId") is not None:
            out["state"] = self._by_id(team.workflow, values["stateId"], "WorkflowState")
        if values.get("assigneeId") is not None:
            out["assignee"] = self._by_id(self.users, values["assigneeId"], "User")
        if values.get("labelIds") is not None:
            usable = [x for x in self.labels if x.team in (None, team)]
            out["label_list"] = [
                self._by_id(usable, ref, "IssueLabel") for ref in values["labelIds"]
            ]
        if values.get("dueDate") is not None:
            try:
                out["dueDate"] = date.fromisoformat(values["dueDate"]).isoformat()
            except ValueError:
                raise invalid("dueDate must be a valid TimelessDate (YYYY-MM-DD)") from None
        if "title" in values:
            title = (values["title"] or "").strip()
            if not title:
                raise invalid("title should not be empty")
            out["title"] = title
        if "description" in values:
            out["description"] = values["description"]
        return out
