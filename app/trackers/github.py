"""GitHub Issues behind `Tracker`: a ticket is an issue in "owner/repo", its key "owner/repo#45".

The client is httpx through `app.trackers.http` (make_client, send), not githubkit, the library
issue #15 suggested. githubkit has the knobs (base_url, timeout, auto_retry=False,
http_cache=False) and is httpx underneath, but: its App auth reads the wall clock
(`datetime.now` for the JWT and the token's expiry) where our rule is an injected clock; it
pulls in ~56 MB of generated schema packages and hishel, and `pip install githubkit` (0.16.1)
resolved hishel 2.0.0, which its own import fails on; and the dozen calls below would need its
exceptions mapped to TrackerError anyway, which `send` already does for every tracker. App auth
is a JWT signed with PyJWT[crypto] (github_auth.py).

GitHub has no priority, team or due-date field: priority and team are labels, a due date and an
owner GitHub cannot assign are lines of the body. Labels and assignees are silently dropped for
a token without push access (the published description says so), which `verify` points out.
The user's words are escaped (github_markdown.py): no mention pings, no #123 links, no HTML.
`find` lists the bot's own issues since the draft's time and matches the body's hidden marker
line exactly; the search API would lag behind a create that just happened.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx

from app.clock import Clock, SystemClock
from app.domain.tickets import DEFAULT_PRIORITIES, Ticket, TicketDraft, TicketText
from app.trackers.base import TrackerError
from app.trackers.github_auth import TRACKER, AppAuth, GitHubAuth, TokenAuth
from app.trackers.github_http import make_github_client, next_page
from app.trackers.github_markdown import has_marker, render_body, render_text, render_title
from app.trackers.github_webhook import read_webhook, ticket_from_issue
from app.trackers.http import send

if TYPE_CHECKING:
    from app.config.tracker_settings import TrackerSettings

__all__ = ["GitHubTracker", "read_webhook"]

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
MAX_PAGES = 5
# `since` is compared with GitHub's clock, not ours: a few minutes' slack costs a few more rows.
CLOCK_SKEW = timedelta(minutes=5)
_NAME = r"[A-Za-z0-9_.-]+"
_REPO = re.compile(rf"({_NAME})/({_NAME})")
_ISSUE = re.compile(rf"({_NAME})/({_NAME})#([0-9]+)")
_NUMBERED = re.compile(r"([a-z]+)[-_ ]?[0-9]+")


class GitHubTracker:
    """GitHub Issues through the REST API (github.com, or GitHub Enterprise's /api/v3)."""

    name = "github"
    title = "GitHub"

    def __init__(
        self,
        auth: GitHubAuth,
        *,
        api_url: str = DEFAULT_API_URL,
        clock: Clock | None = None,
        priority_labels: Iterable[str] = (),
    ) -> None:
        self._auth = auth
        self._clock = clock or SystemClock()
        self._api_url = api_url.rstrip("/")
        self._client = make_github_client(self._api_url, self._clock.now)
        # The labels that mean a priority: GitHub's defaults plus the policy's own names.
        self._priorities = {p.casefold() for p in (*DEFAULT_PRIORITIES["github"], *priority_labels)}

    @classmethod
    def from_settings(
        cls,
        settings: TrackerSettings,
        *,
        clock: Clock | None = None,
        priority_labels: Iterable[str] = (),
    ) -> GitHubTracker | None:
        """The tracker for these settings, None when GitHub is not configured. An App (all
        three GITHUB_APP_* set) wins over GITHUB_TOKEN: it is the more deliberate setup."""
        clock = clock or SystemClock()
        app_id, key_file = settings.github_app_id, settings.github_app_private_key_file
        installation = settings.github_app_installation_id
        auth: GitHubAuth
        if app_id and key_file and installation:
            auth = AppAuth(app_id, _read_key(key_file), installation, clock.now)
        elif settings.github_token:
            auth = TokenAuth(settings.github_token)
        else:
            return None
        api_url = settings.github_api_url or DEFAULT_API_URL
        return cls(auth, api_url=api_url, clock=clock, priority_labels=priority_labels)

    # --- the Tracker calls ---------------------------------------------------------------------

    async def verify(self, project: str | None) -> str:
        login = await self._auth.login(self._client)
        if project is None:
            if self._auth.kind == "app":
                response = await self._call("GET", "/installation/repositories?per_page=1")
                count = int(response.json().get("total_count", 0))
                noun = "repository" if count == 1 else "repositories"
                return f"{login} on {count} {noun} of {self._host()}"
            return f"{login} on {self._host()}"
        owner, repo = _repo(project)
        body = (await self._call("GET", f"/repos/{owner}/{repo}")).json()
        full_name = str(body.get("full_name") or project)
        if body.get("has_issues") is False:
            raise TrackerError(f"Issues are turned off on {full_name}", transient=False)
        permissions = body.get("permissions")
        if isinstance(permissions, dict) and not permissions.get("push", True):
            return f"{login} on {full_name} (no push access: labels and assignees are dropped)"
        return f"{login} on {full_name}"

    async def find(self, draft: TicketDraft) -> Ticket | None:
        owner, repo = _repo(draft.project)
        since = _utc(draft.created_after) - CLOCK_SKEW
        params: dict[str, str] | None = {
            "state": "all",
            "creator": await self._auth.login(self._client),
            "since": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sort": "created",
            "direction": "desc",
            "per_page": "100",
        }
        url: str | None = f"/repos/{owner}/{repo}/issues"
        for _page in range(MAX_PAGES):
            assert url is not None
            response = await self._call("GET", url, params=params)
            found, older = _match(response.json(), draft.marker, since, f"{owner}/{repo}")
            if found is not None:
                return found
            url = self._same_api(next_page(response))
            if older or url is None:
                return None  # newest first: past an older issue, none can carry the marker
            params = None  # the next page's URL carries them (an empty dict would erase them)
        log.warning("github: no issue for %s in %d pages of %s", draft.marker, MAX_PAGES, repo)
        return None

    async def create(self, draft: TicketDraft) -> Ticket:
        owner, repo = _repo(draft.project)
        assignees, unassigned = await self._assignees(owner, repo, draft.assignee_email)
        payload: dict[str, Any] = {
            "title": render_title(draft.title),
            "body": render_body(draft.body, draft.marker, owner_email=unassigned, due=draft.due),
            "labels": _labels(draft),
        }
        if assignees:
            payload["assignees"] = assignees
        response = await self._call("POST", f"/repos/{owner}/{repo}/issues", json=payload)
        issue = response.json()
        return ticket_from_issue(issue, _full_name(issue, f"{owner}/{repo}"))

    async def fetch(self, ticket: Ticket) -> Ticket:
        issue = await self._issue(ticket)
        return ticket_from_issue(issue, _full_name(issue, _issue_ref(ticket)[0]))

    async def set_priority(self, ticket: Ticket, priority: str | None) -> None:
        if priority is None:
            return
        path = _issue_path(ticket)
        names = _label_names(await self._issue(ticket))
        for name in names:
            if name.casefold() != priority.casefold() and self._is_priority(name, priority):
                try:
                    await self._call("DELETE", f"{path}/labels/{quote(name, safe='')}")
                except TrackerError as exc:
                    if exc.status != 404:  # 404: already gone, which is what we wanted
                        raise
        if priority.casefold() not in {name.casefold() for name in names}:
            await self._call("POST", f"{path}/labels", json={"labels": [priority]})

    async def close(self, ticket: Ticket, comment: TicketText) -> None:
        await self._change_state(ticket, comment, {"state": "closed", "state_reason": "completed"})

    async def reopen(self, ticket: Ticket, comment: TicketText) -> None:
        await self._change_state(ticket, comment, {"state": "open"})

    async def comment(self, ticket: Ticket, comment: TicketText) -> None:
        body = render_text(comment)
        if body:  # GitHub refuses an empty comment (422)
            await self._call("POST", f"{_issue_path(ticket)}/comments", json={"body": body})

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- helpers -------------------------------------------------------------------------------

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One authenticated request. A 401 after which the App's cached installation token was
        dropped is worth a retry (the next try fetches a new one); any other 401 is not."""
        headers = await self._auth.headers(self._client)
        try:
            return await send(self._client, TRACKER, method, path, headers=headers, **kwargs)
        except TrackerError as exc:
            if exc.status == 401 and self._auth.invalidate():
                raise TrackerError(
                    f"{exc.message} (installation token dropped; a new one is fetched next)",
                    transient=True,
                    status=401,
                ) from exc
            raise

    async def _issue(self, ticket: Ticket) -> dict[str, Any]:
        issue = (await self._call("GET", _issue_path(ticket))).json()
        assert isinstance(issue, dict)
        return issue

    async def _change_state(
        self, ticket: Ticket, comment: TicketText, change: dict[str, str]
    ) -> None:
        """Comment, then change the state unless it already is the wanted one (so a human's
        "not planned" is not rewritten as "completed" on a retry)."""
        current = await self._issue(ticket)
        await self.comment(ticket, comment)
        if current.get("state") != change["state"]:
            await self._call("PATCH", _issue_path(ticket), json=change)

    async def _assignees(
        self, owner: str, repo: str, email: str | None
    ) -> tuple[list[str], str | None]:
        """([login], None) when the e-mail names exactly one GitHub user who can be assigned
        here; ([], email) otherwise, and the body says "Owner: <email>". GitHub matches only
        public e-mails; an assignee who cannot be assigned would fail the create with a 422."""
        if not email:
            return [], None
        try:
            response = await self._call(
                "GET", "/search/users", params={"q": f"{email} in:email", "per_page": "2"}
            )
        except TrackerError as exc:
            if exc.transient:
                raise
            return [], email
        items = response.json().get("items") or []
        if response.json().get("total_count") != 1 or len(items) != 1:
            return [], email
        login = str(items[0]["login"])
        try:
            await self._call("GET", f"/repos/{owner}/{repo}/assignees/{quote(login, safe='')}")
        except TrackerError as exc:
            if exc.status == 404:
                return [], email
            raise
        return [login], None

    def _is_priority(self, name: str, new: str) -> bool:
        """Whether label `name` is a priority that `new` replaces: a known priority label,
        "priority…", or a label of the new one's form ("sev: 1" / "sev: 2", "P1" / "P2")."""
        folded, new_folded = name.casefold(), new.casefold()
        if folded in self._priorities or re.match(r"priority[:/ -]", folded):
            return True
        prefix = re.match(r"([^:/]+[:/])", new_folded)
        if prefix and folded.startswith(prefix.group(1)):
            return True
        numbered = _NUMBERED.fullmatch(new_folded)
        other = _NUMBERED.fullmatch(folded)
        return bool(numbered and other and numbered.group(1) == other.group(1))

    def _same_api(self, url: str | None) -> str | None:
        """A Link URL, only if it points at our API: the token is never sent anywhere else."""
        if url is None:
            return None
        if not url.startswith(self._api_url + "/"):
            log.warning("github: ignoring a next page outside %s", self._api_url)
            return None
        return url

    def _host(self) -> str:
        host = urlsplit(self._api_url).hostname or self._api_url
        return "github.com" if host == "api.github.com" else host


def _read_key(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"GITHUB_APP_PRIVATE_KEY_FILE: cannot read {path}: {exc}") from exc


def _repo(project: str) -> tuple[str, str]:
    match = _REPO.fullmatch(project.strip())
    if not match:
        raise TrackerError(f"not a GitHub repository: {project!r} (owner/repo)", transient=False)
    return match.group(1), match.group(2)


def _issue_ref(ticket: Ticket) -> tuple[str, int]:
    match = _ISSUE.fullmatch(ticket.remote_id)
    if not match:
        raise TrackerError(f"not a GitHub issue: {ticket.remote_id!r}", transient=False)
    return f"{match.group(1)}/{match.group(2)}", int(match.group(3))


def _issue_path(ticket: Ticket) -> str:
    full_name, number = _issue_ref(ticket)
    return f"/repos/{full_name}/issues/{number}"


def _full_name(issue: dict[str, Any], fallback: str) -> str:
    """GitHub's spelling of "owner/repo" (names are case-insensitive; a repository may have
    been renamed or the issue transferred), from the issue's repository_url."""
    url = str(issue.get("repository_url") or "")
    tail = url.rsplit("/repos/", 1)[-1] if "/repos/" in url else ""
    return tail if _REPO.fullmatch(tail) else fallback


def _labels(draft: TicketDraft) -> list[str]:
    names = [*draft.labels, draft.priority, draft.team]
    seen: dict[str, str] = {}
    for name in names:
        if name and name.strip() and name.casefold() not in seen:
            seen[name.casefold()] = name.strip()
    return list(seen.values())


def _label_names(issue: dict[str, Any]) -> list[str]:
    labels = issue.get("labels") or []
    return [str(label["name"] if isinstance(label, dict) else label) for label in labels]


def _match(
    issues: list[dict[str, Any]], marker: str, since: datetime, fallback: str
) -> tuple[Ticket | None, bool]:
    """(the issue carrying `marker`, whether an issue created before `since` was seen)."""
    older = False
    for issue in issues:
        if "pull_request" in issue:
            continue  # the issues endpoint lists pull requests too
        if has_marker(issue.get("body"), marker):
            return ticket_from_issue(issue, _full_name(issue, fallback)), older
        created = str(issue.get("created_at") or "")
        if created and datetime.fromisoformat(created.replace("Z", "+00:00")) < since:
            older = True
    return None, older


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
