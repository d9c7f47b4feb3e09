"""What the fake GitHub holds (users, repositories, labels, issues and pull requests, comments)
and the JSON GitHub answers for each, in the shapes of github/rest-api-description
(components/schemas: simple-user, label, issue, issue-comment, full-repository, integration).

An issue and a pull request share one numbering per repository, as on GitHub; the issues
endpoints list both, a pull request carrying a `pull_request` key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Comment", "Issue", "Label", "Repo", "User", "iso"]

WEB = "https://github.com"


def iso(when: datetime | None) -> str | None:
    """GitHub's timestamps: UTC, seconds, a Z."""
    return None if when is None else when.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class User:
    login: str
    id: int
    email: str | None = None  # the public e-mail /search/users matches ("in:email")
    type: str = "User"  # "Bot" for an App's "<slug>[bot]"
    name: str | None = None

    def simple(self, api: str) -> dict[str, Any]:
        url = f"{api}/users/{self.login}"
        return {
            "login": self.login,
            "id": self.id,
            "node_id": f"U_{self.id:08d}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{self.id}?v=4",
            "gravatar_id": "",
            "url": url,
            "html_url": f"{WEB}/{self.login}",
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": self.type,
            "site_admin": False,
        }

    def private(self, api: str, now: datetime) -> dict[str, Any]:
        """GET /user: the authenticated user (private-user: a simple-user and more)."""
        return {
            **self.simple(api),
            "name": self.name,
            "email": self.email,
            "company": None,
            "blog": "",
            "location": None,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": 0,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": iso(now),
            "updated_at": iso(now),
        }


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None

    def json(self, api: str, full_name: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "node_id": f"LA_{self.id:08d}",
            "url": f"{api}/repos/{full_name}/labels/{self.name.replace(' ', '%20')}",
            "name": self.name,
            "description": self.description,
            "color": self.color,
            "default": False,
        }


@dataclass
class Comment:
    id: int
    body: str
    user: User
    created_at: datetime


@dataclass
class Issue:
    repo: str  # "owner/repo"
    number: int
    id: int
    title: str
    body: str | None
    user: User
    created_at: datetime
    updated_at: datetime
    labels: list[Label] = field(default_factory=list)
    assignees: list[User] = field(default_factory=list)
    state: str = "open"
    state_reason: str | None = None
    closed_at: datetime | None = None
    is_pull_request: bool = False
    comments: list[Comment] = field(default_factory=list)

    @property
    def label_names(self) -> list[str]:
        return [label.name for label in self.labels]

    def json(self, api: str) -> dict[str, Any]:
        url = f"{api}/repos/{self.repo}/issues/{self.number}"
        kind = "pull" if self.is_pull_request else "issues"
        body: dict[str, Any] = {
            "id": self.id,
            "node_id": f"I_{self.id:08d}",
            "url": url,
            "repository_url": f"{api}/repos/{self.repo}",
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{WEB}/{self.repo}/{kind}/{self.number}",
            "number": self.number,
            "state": self.state,
            "state_reason": self.state_reason,
            "title": self.title,
            "body": self.body,
            "user": self.user.simple(api),
            "labels": [label.json(api, self.repo) for label in self.labels],
            "assignee": self.assignees[0].simple(api) if self.assignees else None,
            "assignees": [user.simple(api) for user in self.assignees],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": len(self.comments),
            "closed_at": iso(self.closed_at),
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "author_association": "NONE" if self.user.type == "Bot" else "MEMBER",
            "timeline_url": f"{url}/timeline",
        }
        if self.is_pull_request:
            pulls = f"{api}/repos/{self.repo}/pulls/{self.number}"
            body["pull_request"] = {
                "url": pulls,
                "html_url": f"{WEB}/{self.repo}/pull/{self.number}",
                "diff_url": f"{WEB}/{self.repo}/pull/{self.number}.diff",
                "patch_url": f"{WEB}/{self.repo}/pull/{self.number}.patch",
                "merged_at": None,
            }
        return body

    def comment_json(self, comment: Comment, api: str) -> dict[str, Any]:
        return {
            "id": comment.id,
            "node_id": f"IC_{comment.id:08d}",
            "url": f"{api}/repos/{self.repo}/issues/comments/{comment.id}",
            "html_url": f"{WEB}/{self.repo}/issues/{self.number}#issuecomment-{comment.id}",
            "body": comment.body,
            "user": comment.user.simple(api),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.created_at),
            "issue_url": f"{api}/repos/{self.repo}/issues/{self.number}",
            "author_association": "NONE",
        }


@dataclass
class Repo:
    full_name: str
    id: int
    owner: User
    has_issues: bool = True
    private: bool = True
    collaborators: set[str] = field(default_factory=set)  # logins with push access
    accessible: bool = True  # False: the bot's credentials cannot see it (404)
    installed: bool = True  # App mode: the installation covers it
    labels: dict[str, Label] = field(default_factory=dict)  # by casefolded name
    issues: dict[int, Issue] = field(default_factory=dict)
    next_number: int = 1

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[1]

    def can_push(self, login: str) -> bool:
        return login.casefold() in {c.casefold() for c in self.collaborators} or (
            login.casefold() == self.owner.login.casefold()
        )

    def json(self, api: str, push: bool) -> dict[str, Any]:
        """full-repository, with `permissions` as the viewer has them."""
        url = f"{api}/repos/{self.full_name}"
        return {
            "id": self.id,
            "node_id": f"R_{self.id:08d}",
            "name": self.name,
            "full_name": self.full_name,
            "private": self.private,
            "owner": self.owner.simple(api),
            "html_url": f"{WEB}/{self.full_name}",
            "description": None,
            "fork": False,
            "url": url,
            "issues_url": f"{url}/issues{{/number}}",
            "labels_url": f"{url}/labels{{/name}}",
            "created_at": "2020-01-01T00:00:00Z",
            "updated_at": "2020-01-01T00:00:00Z",
            "pushed_at": "2020-01-01T00:00:00Z",
            "default_branch": "main",
            "visibility": "private" if self.private else "public",
            "has_issues": self.has_issues,
            "has_projects": True,
            "has_wiki": False,
            "archived": False,
            "disabled": False,
            "open_issues_count": sum(1 for i in self.issues.values() if i.state == "open"),
            "permissions": {
                "admin": False,
                "maintain": False,
                "push": push,
                "triage": push,
                "pull": True,
            },
        }
