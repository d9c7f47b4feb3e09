"""The fake GitHub's state holder (`World`), the parsed request (`Ctx`), the answer
(`Answer`) and GitHub's error bodies (`GitHubError`: message, documentation_url, and for a 422
the `errors` list of validation-error), with the request checks every endpoint shares.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .github_state import Issue, Label, Repo, User

__all__ = [
    "Answer",
    "Ctx",
    "GitHubError",
    "Route",
    "Window",
    "World",
    "invalid",
    "shape",
    "too_long",
]

DOCS = "https://docs.github.com/rest"
LABEL_LIMIT, TITLE_LIMIT, BODY_LIMIT = 50, 256, 65536


class GitHubError(Exception):
    """An answer in GitHub's error shape (basic-error, or validation-error with `errors`)."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: list[dict[str, Any]] | None = None,
        *,
        shape_breach: bool = False,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors
        self.shape_breach = shape_breach  # the client sent what the description forbids
        self.retry_after = retry_after  # a secondary rate limit's retry-after header

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "documentation_url": DOCS}
        if self.errors is not None:
            body["errors"] = self.errors
        if self.status in (401, 403, 404):
            body["status"] = str(self.status)
        return body


def invalid(field_name: str, value: Any, resource: str = "Issue") -> GitHubError:
    error = {"value": value, "resource": resource, "field": field_name, "code": "invalid"}
    return GitHubError(422, "Validation Failed", [error])


def too_long(field_name: str, limit: int, resource: str = "Issue") -> GitHubError:
    message = f"{field_name} is too long (maximum is {limit} characters)"
    error = {"resource": resource, "code": "custom", "field": field_name, "message": message}
    return GitHubError(422, "Validation Failed", [error])


def shape(message: str) -> GitHubError:
    return GitHubError(422, f"Invalid request.\n\n{message}", shape_breach=True)


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Ctx:
    method: str
    url: str  # absolute, as requested (for Link headers)
    query: dict[str, str]
    body: Any
    actor: User
    kind: str  # "token", "installation" or "jwt"
    groups: tuple[str, ...] = ()


@dataclass
class Window:
    """One rate-limit resource's window (x-ratelimit-*)."""

    limit: int
    used: int = 0
    reset: int = 0  # epoch seconds


@dataclass
class World:
    """The fake's state and the rules that need more than one object."""

    api: str
    now: Callable[[], datetime]
    users: dict[str, User] = field(default_factory=dict)  # by casefolded login
    repos: dict[str, Repo] = field(default_factory=dict)  # by casefolded full name
    issues_permission: str | None = "write"  # the token's "Issues" permission
    app_slug: str = "incident-bot"
    app_id: str | None = None
    installation_id: str | None = None
    tokens: dict[str, datetime] = field(default_factory=dict)  # installation tokens
    last_id: int = 1000

    def new_id(self) -> int:
        self.last_id += 1
        return self.last_id

    def repo(self, ctx: Ctx) -> Repo:
        owner, name = ctx.groups[0], ctx.groups[1]
        repo = self.repos.get(f"{owner}/{name}".casefold())
        visible = repo is not None and repo.accessible
        if repo is None or not visible or (ctx.kind == "installation" and not repo.installed):
            raise GitHubError(404, "Not Found")
        return repo

    def issues_repo(self, ctx: Ctx, *, write: bool = False) -> Repo:
        repo = self.repo(ctx)
        needed = ("write",) if write else ("read", "write")
        if self.issues_permission not in needed:
            by = "integration" if ctx.kind == "installation" else "personal access token"
            raise GitHubError(403, f"Resource not accessible by {by}")
        if not repo.has_issues:
            raise GitHubError(410, "Issues are disabled for this repo")
        return repo

    def issue(self, ctx: Ctx, *, write: bool = False) -> tuple[Repo, Issue]:
        repo = self.issues_repo(ctx, write=write)
        issue = repo.issues.get(int(ctx.groups[2]))
        if issue is None:
            raise GitHubError(404, "Not Found")
        return repo, issue

    def pushes(self, repo: Repo, actor: User) -> bool:
        """Push access, without which GitHub silently drops labels and assignees."""
        if actor.type == "Bot":  # an App: its installation's Issues permission decides
            return self.issues_permission == "write"
        return repo.can_push(actor.login)

    def label(self, repo: Repo, name: Any, *, create: bool) -> Label | None:
        if not isinstance(name, str):
            raise shape(f"For 'items', {name!r} is not a string.")
        if len(name) > LABEL_LIMIT:
            raise too_long("name", LABEL_LIMIT, "Label")
        label = repo.labels.get(name.casefold())
        if label is None and create:  # GitHub makes unknown labels for users with push access
            label = repo.labels[name.casefold()] = Label(self.new_id(), name)
        return label

    def assignable(self, repo: Repo, login: str) -> User | None:
        user = self.users.get(login.casefold())
        return user if user is not None and repo.can_push(user.login) else None


Handler = Callable[[World, Ctx], Answer]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    operation: str
    handler: Handler
    auth: str = "token"  # "token" (a token or an installation token), "jwt", "installation"
    resource: str = "core"


# --- request checks shared by the endpoints -----------------------------------------------


def object_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise shape(f"{type(body).__name__} is not an object.")
    return body


def optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise shape(f"For 'properties/{key}', {value!r} is not a string or null.")
    return value


def str_list(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key, [])
    if not isinstance(value, list):
        raise shape(f"For 'properties/{key}', {value!r} is not an array.")
    return value


def assignees(world: World, repo: Repo, logins: list[Any]) -> list[User]:
    users = []
    for login in logins:
        if not isinstance(login, str):
            raise shape(f"For 'items', {login!r} is not a string.")
        user = world.assignable(repo, login)
        if user is None:
            raise invalid("assignees", login)
        users.append(user)
    return users


def choice(query: dict[str, str], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = query.get(key, default)
    if value not in allowed:
        raise invalid(key, value)
    return value


def time_param(value: str, key: str) -> datetime:
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(key, value) from None
    if when.tzinfo is None:
        raise invalid(key, value)
    return when


def paging(ctx: Ctx) -> tuple[int, int]:
    try:
        per_page = min(max(int(ctx.query.get("per_page", "30")), 1), 100)
        page = max(int(ctx.query.get("page", "1")), 1)
    except ValueError:
        raise invalid("per_page", ctx.query.get("per_page")) from None
    return per_page, page


def links(url: str, page: int, per_page: int, total: int) -> dict[str, str]:
    """GitHub's Link header (components/headers/link): next, last, first, prev."""
    last = max((total + per_page - 1) // per_page, 1)
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))

    def at(number: int) -> str:
        return urlunsplit(parts._replace(query=urlencode({**query, "page": str(number)})))

    rels = []
    if page < last:
        rels += [f'<{at(page + 1)}>; rel="next"', f'<{at(last)}>; rel="last"']
    if page > 1:
        rels += [f'<{at(1)}>; rel="first"', f'<{at(page - 1)}>; rel="prev"']
    return {"Link": ", ".join(rels)} if rels else {}
