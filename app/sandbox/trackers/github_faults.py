"""What a test does to the fake GitHub: put users, repositories, issues and pull requests in it,
make it fail the way GitHub does, and build the signed webhook deliveries GitHub would send.

Faults (``operation`` is GitHub's operationId, e.g. "issues/create"; None matches any call):

- ``fail_next(status=500|502|503)``: answer an error page without doing anything;
- ``rate_limit_next(retry_after=...)``: a 429 with Retry-After;
- ``secondary_rate_limit_next(retry_after=..., status=403|429)``: GitHub's secondary limit;
- ``exhaust_rate_limit(resource="core", status=403|429)``: the primary limit: every call
  answers x-ratelimit-remaining: 0 until x-ratelimit-reset (the fake's `now` passing it);
- ``fail_after_success(status=500, drop=False)``: do the work, then lose the answer;
- ``drop_next()``: close the connection without an answer (nothing done);
- ``go_down(seconds=None, drop=False)``: every call answers 503 (or drops) until `now` passes
  the end, or ``come_back()``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .github_state import Issue, Label, Repo, User
from .github_world import Window, World

__all__ = ["Fault", "GitHubFaults"]


@dataclass
class Fault:
    kind: str  # "server", "ratelimit", "secondary", "after", "drop", "down"
    operation: str | None = None
    status: int = 500
    retry_after: int = 1
    drop: bool = False


class GitHubFaults:
    """FakeGitHub's test-facing half (a mixin over its `world`, `now`, `windows`, `bot`)."""

    world: World
    now: Callable[[], datetime]
    windows: dict[str, Window]
    bot: User
    app_bot: User
    _limited_until: dict[str, float]

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._primary_status = 403
        self._down_until: datetime | None = None
        self._down_forever = False
        self._down_drops = False
        self._deliveries = 0

    # --- faults ---------------------------------------------------------------------------------

    def fail_next(self, operation: str | None = None, *, status: int = 500, times: int = 1) -> None:
        self._queue(Fault("server", operation, status=status), times)

    def rate_limit_next(
        self, operation: str | None = None, *, retry_after: int = 1, times: int = 1
    ) -> None:
        self._queue(Fault("ratelimit", operation, status=429, retry_after=retry_after), times)

    def secondary_rate_limit_next(
        self,
        operation: str | None = None,
        *,
        retry_after: int = 60,
        status: int = 403,
        times: int = 1,
    ) -> None:
        self._queue(Fault("secondary", operation, status=status, retry_after=retry_after), times)

    def exhaust_rate_limit(self, resource: str = "core", *, status: int = 403) -> int:
        """Use up the primary limit's window; returns its reset (epoch seconds)."""
        self._primary_status = status
        window = self.windows[resource]
        now = int(self.now().timestamp())
        if now >= window.reset:
            window.reset = now + (3600 if resource == "core" else 60)
        window.used = window.limit
        return window.reset

    def fail_after_success(
        self, operation: str, *, status: int = 500, drop: bool = False, times: int = 1
    ) -> None:
        self._queue(Fault("after", operation, status=status, drop=drop), times)

    def drop_next(self, operation: str | None = None, *, times: int = 1) -> None:
        self._queue(Fault("drop", operation), times)

    def go_down(self, seconds: float | None = None, *, drop: bool = False) -> None:
        self._down_forever = seconds is None
        self._down_until = None if seconds is None else self.now() + timedelta(seconds=seconds)
        self._down_drops = drop

    def come_back(self) -> None:
        self._down_forever, self._down_until = False, None

    def reset_limits(self) -> None:
        """Forget rate-limit windows and waits (a new hour)."""
        for window in self.windows.values():
            window.used = window.reset = 0
        self._limited_until.clear()

    def _queue(self, fault: Fault, times: int) -> None:
        self._faults.extend(Fault(**vars(fault)) for _ in range(times))

    def _take(self, operation: str | None, kinds: tuple[str, ...]) -> Fault | None:
        for fault in self._faults:
            if fault.kind in kinds and fault.operation in (None, operation):
                self._faults.remove(fault)
                return fault
        return None

    def _take_fault(self, operation: str | None) -> Fault | None:
        return self._take(operation, ("server", "ratelimit", "drop"))

    def _take_secondary(self, operation: str | None) -> Fault | None:
        return self._take(operation, ("secondary",))

    def _is_down(self) -> bool:
        return self._down_forever or (
            self._down_until is not None and self.now() < self._down_until
        )

    # --- seeding --------------------------------------------------------------------------------

    def seed_user(self, login: str, *, email: str | None = None, name: str | None = None) -> User:
        user = User(login, self.world.new_id(), email=email, name=name)
        self.world.users[login.casefold()] = user
        return user

    def seed_repo(
        self,
        full_name: str,
        *,
        collaborators: Iterable[str] = (),
        has_issues: bool = True,
        bot_can_push: bool = True,
        accessible: bool = True,
        installed: bool = True,
        labels: Iterable[str] = (),
    ) -> Repo:
        owner_login = full_name.split("/", 1)[0]
        owner = self.world.users.get(owner_login.casefold()) or User(
            owner_login, self.world.new_id(), type="Organization"
        )
        names = {*collaborators, *([self.bot.login] if bot_can_push else [])}
        for login in names:
            if login.casefold() not in self.world.users:
                self.seed_user(login)
        repo = Repo(
            full_name,
            self.world.new_id(),
            owner,
            has_issues=has_issues,
            collaborators=set(names),
            accessible=accessible,
            installed=installed,
        )
        for name in labels:
            repo.labels[name.casefold()] = Label(self.world.new_id(), name)
        self.world.repos[full_name.casefold()] = repo
        return repo

    def seed_issue(
        self,
        full_name: str,
        title: str,
        body: str | None = None,
        *,
        user: str | None = None,
        pull_request: bool = False,
        state: str = "open",
        labels: Iterable[str] = (),
        created_at: datetime | None = None,
    ) -> Issue:
        """An issue (or, with ``pull_request``, a pull request) as if someone had opened it."""
        repo = self.world.repos[full_name.casefold()]
        author = self.world.users[(user or self.bot.login).casefold()]
        when = created_at or self.now()
        issue = Issue(
            repo.full_name, repo.next_number, self.world.new_id(), title, body, author, when, when
        )
        issue.is_pull_request, issue.state = pull_request, state
        issue.labels = [self.world.label(repo, n, create=True) or Label(0, n) for n in labels]
        if state == "closed":
            issue.closed_at, issue.state_reason = when, "completed"
        repo.issues[issue.number] = issue
        repo.next_number += 1
        return issue

    def repo(self, full_name: str) -> Repo:
        return self.world.repos[full_name.casefold()]

    def issues(self, full_name: str) -> list[Issue]:
        """The repository's issues, pull requests left out, in the order they were opened."""
        items = self.repo(full_name).issues.values()
        return [issue for issue in items if not issue.is_pull_request]

    def issue(self, full_name: str, number: int) -> Issue:
        return self.repo(full_name).issues[number]

    @property
    def issues_permission(self) -> str | None:
        return self.world.issues_permission

    @issues_permission.setter
    def issues_permission(self, value: str | None) -> None:
        """The token's Issues permission: "write", "read" or None (403 on issue endpoints)."""
        self.world.issues_permission = value

    # --- webhooks -------------------------------------------------------------------------------

    def webhook_for(
        self, issue: Issue, action: str, secret: str, *, sender: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        """The headers and body GitHub POSTs for an `issues` event (webhook-issues-<action>)."""
        repo = self.repo(issue.repo)
        who = self.world.users.get((sender or "").casefold()) or self.bot
        payload: dict[str, Any] = {
            "action": action,
            "issue": issue.json(self.world.api),
            "repository": repo.json(self.world.api, self.world.pushes(repo, who)),
            "sender": who.simple(self.world.api),
        }
        if action == "labeled" and issue.labels:
            payload["label"] = issue.labels[-1].json(self.world.api, repo.full_name)
        return self._delivery("issues", payload, secret)

    def ping_webhook(self, secret: str) -> tuple[dict[str, str], bytes]:
        payload = {
            "zen": "Keep it logically awesome.",
            "hook_id": 1,
            "hook": {"type": "Repository", "id": 1, "events": ["issues"], "active": True},
        }
        return self._delivery("ping", payload, secret)

    def _delivery(
        self, event: str, payload: dict[str, Any], secret: str
    ) -> tuple[dict[str, str], bytes]:
        self._deliveries += 1
        body = json.dumps(payload, separators=(",", ":")).encode()
        sha256 = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        sha1 = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/fake",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": str(uuid.UUID(int=self._deliveries)),
            "X-GitHub-Hook-ID": "1",
            "X-GitHub-Hook-Installation-Target-ID": str(self.world.new_id()),
            "X-GitHub-Hook-Installation-Target-Type": "repository",
            "X-Hub-Signature": f"sha1={sha1}",
            "X-Hub-Signature-256": f"sha256={sha256}",
        }
        return headers, body
