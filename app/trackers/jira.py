"""Jira as a `Tracker`: Jira Cloud (REST v3) and Jira Server/Data Center (REST v2).

Why httpx and not a Jira library: `jira` (pycontribs) and `atlassian-python-api` are
synchronous (requests); called from the bot's event loop they would block every incident while
Jira answers, or need a thread per call. The dozen endpoints the bot uses are plain JSON over
HTTP, so `app.trackers.http` (one httpx.AsyncClient, every failure mapped to TrackerError) is
all it takes, and a failure means the same thing here as for GitHub and Linear.

The two flavours differ in three ways, all kept in this module:

- credentials: Cloud takes Basic auth with an Atlassian account's e-mail and API token, Server/
  Data Center a personal access token as a Bearer token (JIRA_PAT wins when both are set);
- text: Cloud takes the Atlassian Document Format, Server wiki markup (jira_text.py escapes
  people's words in both so nothing they typed becomes markup, a mention or a link);
- people: Cloud finds an assignee by e-mail to an accountId, Server to a user name.

A ticket is marked with the draft's marker as an exact label, so `find` is the JQL
`project = "OPS" AND labels = "INC-20261201-001"` (on Cloud through POST /search/jql, the
search that replaced the removed /search). Jira's search index may lag a creation by a few
seconds: a `find` right after a lost answer can miss the issue, and the ticket step's retry
(seconds later, with a backoff) looks again before it creates.

Close and reopen are idempotent: the status is read first (already done: no transition), and
a comment equal to the issue's latest one is not posted again, so a close whose answer was lost
and is retried leaves one comment and one transition.
"""

from __future__ import annotations

import base64
import logging
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlsplit

import httpx

from app.domain.tickets import Ticket, TicketDraft, TicketText
from app.trackers.base import TrackerError
from app.trackers.http import make_client, send
from app.trackers.jira_text import adf, adf_plain, jql_string, label, single_line, wiki
from app.trackers.jira_webhook import read_webhook

if TYPE_CHECKING:
    from app.config.tracker_settings import TrackerSettings

__all__ = ["JiraTracker", "read_webhook"]

log = logging.getLogger(__name__)

Flavour = Literal["cloud", "server"]
TRACKER = "Jira"
DEFAULT_ISSUE_TYPE = "Task"
# Where a reopened issue goes: a "To Do" status, else one in progress.
REOPEN_CATEGORIES = ("new", "indeterminate")
CREDENTIALS_HINT = {
    "cloud": "check JIRA_EMAIL and JIRA_API_TOKEN (an API token from id.atlassian.com)",
    "server": "check JIRA_PAT (a personal access token of the bot's Jira account)",
}


class JiraTracker:
    """One Jira site, Cloud or Server/Data Center."""

    name = "jira"
    title = "Jira"

    def __init__(
        self,
        url: str,
        *,
        email: str | None = None,
        api_token: str | None = None,
        pat: str | None = None,
    ) -> None:
        if pat:
            self.flavour: Flavour = "server"
            authorization = f"Bearer {pat}"
        elif email and api_token:
            self.flavour = "cloud"
            pair = base64.b64encode(f"{email}:{api_token}".encode()).decode()
            authorization = f"Basic {pair}"
        else:
            raise ValueError("Jira needs JIRA_PAT, or JIRA_EMAIL with JIRA_API_TOKEN")
        self.url = url.rstrip("/")
        self._api = "/rest/api/3" if self.flavour == "cloud" else "/rest/api/2"
        self._client = make_client(self.url, {"Authorization": authorization})

    @classmethod
    def from_settings(cls, settings: TrackerSettings) -> JiraTracker | None:
        """The tracker the settings describe, None when Jira is not configured."""
        if not settings.jira_configured or not settings.jira_url:
            return None
        if settings.jira_pat:
            return cls(settings.jira_url, pat=settings.jira_pat)
        return cls(settings.jira_url, email=settings.jira_email, api_token=settings.jira_api_token)

    # --- the protocol ---------------------------------------------------------------------

    async def verify(self, project: str | None) -> str:
        me = await self._json("GET", "/myself")
        who = me.get("displayName") or me.get("name") or me.get("emailAddress") or "?"
        where = f"{who} on {urlsplit(self.url).netloc}"
        if project:
            found = await self._json("GET", f"/project/{quote(project, safe='')}")
            where += f", project {found.get('key', project)} ({found.get('name', '?')})"
        return where

    async def find(self, draft: TicketDraft) -> Ticket | None:
        marker = label(draft.marker)
        jql = f"project = {jql_string(draft.project)} AND labels = {jql_string(marker)}"
        path = "/search/jql" if self.flavour == "cloud" else "/search"
        body = {"jql": jql, "fields": ["status", "labels"], "maxResults": 20}
        found = await self._json("POST", path, json=body)
        issues = [
            issue
            for issue in found.get("issues") or []
            if marker in ((issue.get("fields") or {}).get("labels") or [])
        ]
        if not issues:
            return None
        first = min(issues, key=lambda issue: int(issue.get("id") or 0))  # a doubled create
        return self._ticket(first)

    async def create(self, draft: TicketDraft) -> Ticket:
        fields = await self._fields(draft)
        created = await self._json("POST", "/issue", json={"fields": fields})
        key = created.get("key")
        if not isinstance(key, str):
            raise TrackerError(
                "Jira created an issue but its answer has no key", transient=True, maybe_done=True
            )
        return Ticket(key=key, url=self._browse(key), remote_id=key)

    async def fetch(self, ticket: Ticket) -> Ticket:
        issue = await self._json("GET", self._issue(ticket), params={"fields": "status"})
        return self._ticket(issue)

    async def set_priority(self, ticket: Ticket, priority: str | None) -> None:
        if priority is None:
            return
        body = {"fields": {"priority": {"name": priority}}}
        await self._send("PUT", self._issue(ticket), json=body)

    async def close(self, ticket: Ticket, comment: TicketText) -> None:
        await self._move(ticket, comment, ("done",))

    async def reopen(self, ticket: Ticket, comment: TicketText) -> None:
        await self._move(ticket, comment, REOPEN_CATEGORIES)

    async def comment(self, ticket: Ticket, comment: TicketText) -> None:
        body = self._document(comment)
        if body is not None:
            await self._send("POST", self._issue(ticket) + "/comment", json={"body": body})

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- creating ---------------------------------------------------------------------------

    async def _fields(self, draft: TicketDraft) -> dict[str, Any]:
        labels: list[str] = []
        for name in (*draft.labels, draft.marker):
            cleaned = label(name)
            if cleaned and cleaned not in labels:
                labels.append(cleaned)
        fields: dict[str, Any] = {
            "project": {"key": draft.project},
            "summary": single_line(draft.title) or draft.marker,
            "issuetype": {"name": draft.issue_type or DEFAULT_ISSUE_TYPE},
            "labels": labels,
        }
        description = self._document(draft.body)
        if description is not None:
            fields["description"] = description
        if draft.priority:
            fields["priority"] = {"name": draft.priority}
        if draft.team:
            fields["components"] = [{"name": draft.team}]
        if draft.due is not None:
            fields["duedate"] = draft.due.isoformat()
        if draft.assignee_email:
            assignee = await self._assignee(draft.assignee_email)
            if assignee is not None:
                fields["assignee"] = assignee
        return fields

    async def _assignee(self, email: str) -> dict[str, str] | None:
        """The user with that e-mail as Jira's assignee value; None leaves the issue unassigned
        (an unknown address, or an account the bot may not look up)."""
        cloud = self.flavour == "cloud"
        params = {"query": email} if cloud else {"username": email}
        try:
            response = await self._send("GET", "/user/search", params=params)
        except TrackerError as exc:
            if exc.transient:
                raise
            log.warning("jira: cannot look up %s, leaving the ticket unassigned: %s", email, exc)
            return None
        users = [u for u in _body(response, reads=True) or [] if isinstance(u, dict)]
        exact = [u for u in users if str(u.get("emailAddress", "")).casefold() == email.casefold()]
        # Cloud may hide e-mail addresses (profile visibility): one unnamed match is taken.
        hidden = [u for u in users if not u.get("emailAddress")]
        chosen = exact[0] if exact else hidden[0] if len(users) == 1 and hidden else None
        if chosen is None:
            return None
        field = "accountId" if cloud else "name"
        return {field: str(chosen[field])} if chosen.get(field) else None

    # --- closing and reopening ----------------------------------------------------------------

    async def _move(self, ticket: Ticket, comment: TicketText, categories: tuple[str, ...]) -> None:
        """Comment, then transition to a status of the first of `categories` that has one."""
        path = self._issue(ticket)
        issue = await self._json("GET", path, params={"fields": "status"})
        category = _category(issue)
        transition = None
        if category not in categories:
            transition = await self._transition_to(path, categories, issue)
        body = self._document(comment)
        if body is not None and not await self._latest_comment_is(path, body):
            await self._send("POST", path + "/comment", json={"body": body})
        if transition is not None:
            await self._send("POST", path + "/transitions", json={"transition": {"id": transition}})

    async def _transition_to(
        self, path: str, categories: tuple[str, ...], issue: dict[str, Any]
    ) -> str:
        answer = await self._json("GET", path + "/transitions")
        offered = [t for t in answer.get("transitions") or [] if isinstance(t, dict)]
        for wanted in categories:
            for transition in offered:
                to = transition.get("to") or {}
                if (to.get("statusCategory") or {}).get("key") == wanted:
                    return str(transition["id"])
        reachable = ", ".join(str((t.get("to") or {}).get("name", "?")) for t in offered)
        status = ((issue.get("fields") or {}).get("status") or {}).get("name", "?")
        goal = "a done status" if "done" in categories else "an open status"
        raise TrackerError(
            f"Jira offers no transition from {status} to {goal} on {issue.get('key', path)}: "
            f"it can go to {reachable or 'no other status'}",
            transient=False,
        )

    async def _latest_comment_is(self, path: str, body: str | dict[str, Any]) -> bool:
        """Whether the issue's newest comment says `body` already (an earlier try posted it)."""
        params = {"orderBy": "-created", "maxResults": "1"}
        answer = await self._json("GET", path + "/comment", params=params)
        comments = answer.get("comments") or []
        if not comments or not isinstance(comments[0], dict):
            return False
        latest = comments[0].get("body")
        if isinstance(body, dict):
            return adf_plain(latest).strip() == adf_plain(body).strip()
        return isinstance(latest, str) and _same_wiki(latest, body)

    # --- plumbing ---------------------------------------------------------------------------

    def _document(self, text: TicketText) -> str | dict[str, Any] | None:
        if self.flavour == "cloud":
            return adf(text)
        return wiki(text) or None

    def _issue(self, ticket: Ticket) -> str:
        return f"/issue/{quote(ticket.remote_id, safe='')}"

    def _browse(self, key: str) -> str:
        return f"{self.url}/browse/{key}"

    def _ticket(self, issue: dict[str, Any]) -> Ticket:
        key = str(issue.get("key") or "")
        return Ticket(
            key=key, url=self._browse(key), remote_id=key, closed=_category(issue) == "done"
        )

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await send(self._client, TRACKER, method, self._api + path, **kwargs)
        except TrackerError as exc:
            if exc.status == 401:
                raise TrackerError(
                    f"Jira refused the bot's credentials (401): {CREDENTIALS_HINT[self.flavour]}",
                    transient=False,
                    status=401,
                ) from exc
            raise

    async def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await self._send(method, path, **kwargs)
        body = _body(response, reads=method == "GET")
        if not isinstance(body, dict):
            raise TrackerError(
                f"Jira answered {method} {path} with something other than a JSON object",
                transient=True,
                maybe_done=method != "GET",
            )
        return body


def _body(response: httpx.Response, *, reads: bool) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise TrackerError(
            f"Jira answered {response.status_code} with a body that is not JSON",
            transient=True,
            maybe_done=not reads,
        ) from exc


def _category(issue: dict[str, Any]) -> str:
    status = (issue.get("fields") or {}).get("status") or {}
    return str((status.get("statusCategory") or {}).get("key") or "")


def _same_wiki(stored: str, sent: str) -> bool:
    def norm(text: str) -> str:
        return text.replace("\r\n", "\n").strip()

    return norm(stored) == norm(sent)
