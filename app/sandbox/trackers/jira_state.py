"""The fake Jira's site: projects, people, issues with their workflow and comments, and the
JSON shapes Jira's REST API answers with (Cloud v3 and Server/Data Center v2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .jira_docs import Read

# Jira's three status categories: (id, name, colour).
CATEGORIES = {
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}


@dataclass
class Status:
    id: str
    name: str
    category: str  # "new" | "indeterminate" | "done"


@dataclass
class Transition:
    id: str
    name: str
    to: str  # a status name
    sources: tuple[str, ...] | None = None  # statuses it leaves from; None: from any other


DEFAULT_STATUSES = [
    Status("10000", "To Do", "new"),
    Status("3", "In Progress", "indeterminate"),
    Status("10001", "Done", "done"),
]
DEFAULT_TRANSITIONS = [
    Transition("11", "Start Progress", "In Progress", ("To Do",)),
    Transition("21", "Stop Progress", "To Do", ("In Progress",)),
    Transition("31", "Done", "Done", ("To Do", "In Progress")),
    Transition("41", "Reopen", "To Do", ("Done",)),
]


@dataclass
class Project:
    key: str
    id: str
    name: str
    issue_types: list[str]
    priorities: list[str]
    components: list[str]


@dataclass
class User:
    email: str
    account_id: str  # Cloud's id
    name: str  # Server's user name
    display_name: str
    email_visible: bool = True  # Cloud hides an address the person keeps private


@dataclass
class Comment:
    id: str
    body: Any  # as sent: an ADF document (Cloud) or a wiki string (Server)
    read: Read  # what a person sees
    author: str
    created: str


@dataclass
class Issue:
    id: str
    key: str
    project: str
    summary: str
    issue_type: str
    status: str
    labels: list[str]
    description: Any = None  # as sent
    description_read: Read = field(default_factory=Read)
    priority: str | None = None
    components: list[str] = field(default_factory=list)
    duedate: str | None = None
    assignee: str | None = None  # accountId (Cloud) or name (Server)
    comments: list[Comment] = field(default_factory=list)
    history: list[tuple[str, str]] = field(default_factory=list)  # (from, to) status changes

    @property
    def description_text(self) -> str:
        return self.description_read.plain

    @property
    def transitions_done(self) -> int:
        return len(self.history)


class JiraState:
    """Everything the fake site holds, with the JSON views of it."""

    def __init__(self, flavour: str, bot: User) -> None:
        self.flavour = flavour
        self.base_url = ""
        self.bot = bot
        self.projects: dict[str, Project] = {}
        self.users: list[User] = []
        self.issues: dict[str, Issue] = {}
        self.statuses: list[Status] = list(DEFAULT_STATUSES)
        self.transitions: list[Transition] = list(DEFAULT_TRANSITIONS)
        self._next_id = 10000
        self._numbers: dict[str, int] = {}
        self._tick = 0

    @property
    def api(self) -> str:
        return f"{self.base_url}/rest/api/{3 if self.flavour == 'cloud' else 2}"

    def new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def new_key(self, project: str) -> str:
        self._numbers[project] = self._numbers.get(project, 0) + 1
        return f"{project}-{self._numbers[project]}"

    def timestamp(self) -> str:
        """Comment times: a second apart, in order (never the wall clock)."""
        self._tick += 1
        minutes, seconds = divmod(self._tick, 60)
        return f"2026-01-01T{10 + minutes // 60:02d}:{minutes % 60:02d}:{seconds:02d}.000+0000"

    def status(self, name: str) -> Status:
        return next(s for s in self.statuses if s.name == name)

    def available(self, issue: Issue) -> list[Transition]:
        return [
            t
            for t in self.transitions
            if t.to != issue.status and (t.sources is None or issue.status in t.sources)
        ]

    def user_by_ref(self, ref: dict[str, Any]) -> User | None:
        if self.flavour == "cloud":
            wanted = ref.get("accountId") or ref.get("id")
            return next((u for u in self.users if u.account_id == wanted), None)
        return next((u for u in self.users if u.name == ref.get("name")), None)

    def move(self, issue: Issue, to: str) -> None:
        issue.history.append((issue.status, to))
        issue.status = to

    # --- JSON views ---------------------------------------------------------------------

    def user_json(self, user: User) -> dict[str, Any]:
        if self.flavour == "cloud":
            body: dict[str, Any] = {
                "self": f"{self.api}/user?accountId={user.account_id}",
                "accountId": user.account_id,
                "accountType": "atlassian",
                "displayName": user.display_name,
                "active": True,
                "timeZone": "Etc/UTC",
            }
            if user.email_visible:
                body["emailAddress"] = user.email
            return body
        return {
            "self": f"{self.api}/user?username={user.name}",
            "key": f"JIRAUSER-{user.name}",
            "name": user.name,
            "emailAddress": user.email,
            "displayName": user.display_name,
            "active": True,
            "timeZone": "Etc/UTC",
        }

    def status_json(self, name: str) -> dict[str, Any]:
        status = self.status(name)
        cat_id, cat_name, colour = CATEGORIES[status.category]
        return {
            "self": f"{self.api}/status/{status.id}",
            "description": "",
            "iconUrl": f"{self.base_url}/images/icons/statuses/generic.png",
            "name": status.name,
            "id": status.id,
            "statusCategory": {
                "self": f"{self.api}/statuscategory/{cat_id}",
                "id": cat_id,
                "key": status.category,
                "colorName": colour,
                "name": cat_name,
            },
        }

    def transition_json(self, transition: Transition) -> dict[str, Any]:
        return {
            "id": transition.id,
            "name": transition.name,
            "to": self.status_json(transition.to),
            "hasScreen": False,
            "isGlobal": transition.sources is None,
            "isInitial": False,
            "isAvailable": True,
            "isConditional": False,
            "isLooped": False,
        }

    def fields_json(self, issue: Issue) -> dict[str, Any]:
        project = self.projects[issue.project]
        done = self.status(issue.status).category == "done"
        assignee = next((u for u in self.users if issue.assignee in (u.account_id, u.name)), None)
        return {
            "summary": issue.summary,
            "status": self.status_json(issue.status),
            "labels": list(issue.labels),
            "issuetype": {"name": issue.issue_type, "subtask": False},
            "project": {"id": project.id, "key": project.key, "name": project.name},
            "priority": {"name": issue.priority} if issue.priority else None,
            "components": [{"name": name} for name in issue.components],
            "duedate": issue.duedate,
            "assignee": self.user_json(assignee) if assignee else None,
            "resolution": {"name": "Done"} if done else None,
            "description": issue.description,
        }

    def issue_json(self, issue: Issue, fields: list[str] | None) -> dict[str, Any]:
        """An issue as GET /issue and the searches return it, with only `fields` if given."""
        every = self.fields_json(issue)
        chosen = (
            every
            if fields is None or "*all" in fields
            else {name: every[name] for name in fields if name in every}
        )
        return {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog",
            "id": issue.id,
            "self": f"{self.api}/issue/{issue.id}",
            "key": issue.key,
            "fields": chosen,
        }

    def comment_json(self, comment: Comment) -> dict[str, Any]:
        author = self.user_json(self.bot) if comment.author == "bot" else {"displayName": "?"}
        return {
            "self": f"{self.api}/issue/comment/{comment.id}",
            "id": comment.id,
            "author": author,
            "body": comment.body,
            "updateAuthor": author,
            "created": comment.created,
            "updated": comment.created,
        }
