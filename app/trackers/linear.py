"""Linear: issues in a team, over Linear's GraphQL API (LINEAR_API_URL), with httpx.

Why httpx and hand-written operations: Linear's official SDK is TypeScript, and the Python
GraphQL clients (gql, sgqlc, ariadne-codegen) add a schema layer (download, codegen or a DSL)
for the dozen fixed operations the bot sends. They live as strings in linear_graphql.py, sent
with variables through the shared client of app/trackers/http.py, and the test fake validates
each against Linear's published schema.

Authentication: a personal API key goes in `Authorization` as it is (no "Bearer": that prefix
is for OAuth tokens, and Linear refuses a key sent with it).

How the bot's words map to Linear:

- `draft.project` is a team KEY ("ENG"), resolved to the team's id once per process;
  `Ticket.key` is the issue identifier ("ENG-12"), `remote_id` the issue's id (a UUID).
- Priority: Linear's numbers (none 0, urgent 1, high 2, medium 3, low 4) by name, or a number
  given as text ("2").
- Labels: `draft.labels` and `draft.team` are label names, matched without regard to case
  among the team's labels and the workspace's. A missing one is created in the team, so the
  views that filter on it work; if Linear refuses to create it (a member without that right),
  the issue is opened without it and the refusal is logged.
- Assignee: the Linear user with `draft.assignee_email`; someone Linear does not know leaves
  the issue unassigned, with an "Owner: e-mail" line in the description.
- The marker: the description's last line is "incident-bot: <marker>". `find` asks Linear
  for the team's issues created since `draft.created_after` whose description contains that
  line, then keeps only those whose LAST line is exactly it ("INC-1" never finds "INC-1-A7").
  This is written by the same `issueCreate` that opens the issue, so an issue found is an
  issue opened: an attachment (attachmentLinkURL) would be a second mutation, and a process
  dying between the two would leave an issue that `find` cannot see, so a retry would open a
  second one. The `issues` filter reads Linear's database, not its search index, so an issue
  is found the moment it exists.
- Closed: the state's type is "completed" or "canceled". `close` moves the issue to the
  team's first "completed" state (by position), `reopen` to its first "unstarted" one, else
  "backlog".
"""

from __future__ import annotations

import logging
from typing import Any

from app.clock import Clock, SystemClock
from app.config.tracker_settings import TrackerSettings
from app.domain.text import visible
from app.domain.tickets import LINEAR_PRIORITIES, Ticket, TicketDraft, TicketText
from app.trackers import linear_graphql as gql
from app.trackers.base import TrackerError
from app.trackers.http import make_client
from app.trackers.linear_text import description, has_marker, markdown, marker_line
from app.trackers.linear_webhook import CLOSED_TYPES, read_webhook

__all__ = ["LinearTracker", "priority_number", "read_webhook"]

log = logging.getLogger(__name__)
REOPEN_TYPES = ("unstarted", "backlog")


def priority_number(name: str | None) -> int | None:
    """Linear's priority for a policy's name ("urgent", "No priority") or a number as text."""
    if name is None:
        return None
    text = name.strip().lower()
    if text in ("none", "no priority"):
        return 0
    if text in LINEAR_PRIORITIES:
        return LINEAR_PRIORITIES[text]
    if text.isdigit() and 0 <= int(text) <= 4:
        return int(text)
    raise TrackerError(
        f"Linear has no priority {name!r}: use urgent, high, medium, low or none (or 0 to 4)",
        transient=False,
    )


class LinearTracker:
    """The `Tracker` for Linear; see the module docstring."""

    name = "linear"
    title = "Linear"

    def __init__(
        self,
        api_key: str,
        api_url: str = "https://api.linear.app/graphql",
        *,
        clock: Clock | None = None,
    ) -> None:
        self._url = api_url
        self._client = make_client(api_url, {"Authorization": api_key})
        self._clock: Clock = clock or SystemClock()
        self._team_ids: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: TrackerSettings) -> LinearTracker | None:
        if not settings.linear_api_key:
            return None
        return cls(settings.linear_api_key, settings.linear_api_url)

    async def _call(
        self, document: str, variables: dict[str, Any] | None = None, *, mutation: bool = False
    ) -> dict[str, Any]:
        return await gql.request(
            self._client,
            self._url,
            document,
            variables or {},
            mutation=mutation,
            now=self._clock.now(),
        )

    async def verify(self, project: str | None) -> str:
        if project is None:
            data = await self._call(gql.VIEWER)
            return f"{_get(data, 'viewer', 'name')} on Linear"
        data = await self._call(gql.VIEWER_AND_TEAM, {"key": project})
        self._team_ids[project] = _team_id(data, project)
        return f"{_get(data, 'viewer', 'name')} on Linear (team {project})"

    async def _team(self, key: str) -> str:
        if key not in self._team_ids:
            self._team_ids[key] = _team_id(await self._call(gql.TEAM, {"key": key}), key)
        return self._team_ids[key]

    async def find(self, draft: TicketDraft) -> Ticket | None:
        where = {
            "team": {"key": {"eq": draft.project}},
            "description": {"contains": marker_line(draft.marker)},
            "createdAt": {"gte": draft.created_after.isoformat()},
        }
        data = await self._call(gql.FIND_ISSUES, {"filter": where})
        found = [
            node
            for node in _get(data, "issues", "nodes")
            if has_marker(node.get("description"), draft.marker)
        ]
        if not found:
            return None
        return _ticket(min(found, key=lambda node: str(node.get("createdAt"))))

    async def create(self, draft: TicketDraft) -> Ticket:
        team_id = await self._team(draft.project)
        priority = priority_number(draft.priority)
        names = [*draft.labels, *([draft.team] if draft.team else [])]
        label_ids = await self._label_ids(team_id, names)
        assignee = await self._user(draft.assignee_email) if draft.assignee_email else None
        owner = draft.assignee_email if draft.assignee_email and assignee is None else None
        fields: dict[str, Any] = {
            "teamId": team_id,
            "title": visible(draft.title),
            "description": description(draft.body, draft.marker, owner),
        }
        optional = {
            "priority": priority,
            "labelIds": label_ids or None,
            "assigneeId": assignee,
            "dueDate": draft.due.isoformat() if draft.due else None,
        }
        fields.update({k: v for k, v in optional.items() if v is not None})
        data = await self._call(gql.ISSUE_CREATE, {"input": fields}, mutation=True)
        _succeeded(data, "issueCreate")
        return _ticket(_get(data, "issueCreate", "issue"))

    async def _label_ids(self, team_id: str, names: list[str]) -> list[str]:
        wanted = {name.strip().lower(): name.strip() for name in names if name.strip()}
        if not wanted:
            return []
        where = {
            "and": [
                {"or": [{"name": {"eqIgnoreCase": name}} for name in wanted.values()]},
                {"or": [{"team": {"id": {"eq": team_id}}}, {"team": {"null": True}}]},
            ]
        }
        data = await self._call(gql.LABELS, {"filter": where})
        known: dict[str, str] = {}
        for node in sorted(_get(data, "issueLabels", "nodes"), key=lambda n: n.get("team") is None):
            known.setdefault(str(node["name"]).lower(), str(node["id"]))
        ids = []
        for lowered, name in wanted.items():
            label = known.get(lowered) or await self._create_label(team_id, name)
            if label:
                ids.append(label)
        return ids

    async def _create_label(self, team_id: str, name: str) -> str | None:
        try:
            data = await self._call(
                gql.LABEL_CREATE, {"input": {"name": name, "teamId": team_id}}, mutation=True
            )
        except TrackerError as exc:
            if exc.transient:
                raise
            log.warning("Linear refused to create the label %r (%s): opening without it", name, exc)
            return None
        _succeeded(data, "issueLabelCreate")
        return str(_get(data, "issueLabelCreate", "issueLabel", "id"))

    async def _user(self, email: str) -> str | None:
        nodes = _get(await self._call(gql.USER_BY_EMAIL, {"email": email}), "users", "nodes")
        return str(nodes[0]["id"]) if nodes else None

    async def fetch(self, ticket: Ticket) -> Ticket:
        data = await self._call(gql.ISSUE, {"id": ticket.remote_id})
        return _ticket(_get(data, "issue"))

    async def set_priority(self, ticket: Ticket, priority: str | None) -> None:
        number = priority_number(priority)
        if number is None:
            return
        data = await self._call(
            gql.ISSUE_UPDATE, {"id": ticket.remote_id, "input": {"priority": number}}, mutation=True
        )
        _succeeded(data, "issueUpdate")

    async def close(self, ticket: Ticket, comment: TicketText) -> None:
        await self._move(ticket, comment, closing=True)

    async def reopen(self, ticket: Ticket, comment: TicketText) -> None:
        await self._move(ticket, comment, closing=False)

    async def _move(self, ticket: Ticket, comment: TicketText, *, closing: bool) -> None:
        """Comment, then move to the target state unless the issue is already closed (or,
        reopening, already open): the state is looked up first, so a team without a fitting
        state fails before anything is written."""
        issue = _get(await self._call(gql.ISSUE_AND_STATES, {"id": ticket.remote_id}), "issue")
        is_closed = _get(issue, "state", "type") in CLOSED_TYPES
        states = sorted(_get(issue, "team", "states", "nodes"), key=lambda s: s["position"])
        wanted = ("completed",) if closing else REOPEN_TYPES
        target = next((s for kind in wanted for s in states if s["type"] == kind), None)
        if target is None and is_closed != closing:
            raise TrackerError(
                f"Linear: team of {ticket.key} has no {' or '.join(wanted)} state", transient=False
            )
        await self.comment(ticket, comment)
        if is_closed == closing or target is None:
            return
        data = await self._call(
            gql.ISSUE_UPDATE,
            {"id": ticket.remote_id, "input": {"stateId": target["id"]}},
            mutation=True,
        )
        _succeeded(data, "issueUpdate")

    async def comment(self, ticket: Ticket, comment: TicketText) -> None:
        body = markdown(comment)
        if not body:
            return  # Linear refuses an empty comment, and there is nothing to say
        data = await self._call(
            gql.COMMENT_CREATE,
            {"input": {"issueId": ticket.remote_id, "body": body}},
            mutation=True,
        )
        _succeeded(data, "commentCreate")

    async def aclose(self) -> None:
        await self._client.aclose()


def _get(data: Any, *path: str) -> Any:
    """`data[path[0]][path[1]]...`, or a TrackerError naming what Linear's answer lacked."""
    for name in path:
        if not isinstance(data, dict) or data.get(name) is None:
            raise TrackerError(f"Linear's answer has no {'.'.join(path)}", transient=False)
        data = data[name]
    return data


def _succeeded(data: dict[str, Any], mutation: str) -> None:
    if _get(data, mutation, "success") is not True:
        raise TrackerError(f"Linear did not carry out {mutation}", transient=False)


def _team_id(data: dict[str, Any], key: str) -> str:
    teams = _get(data, "teams", "nodes")
    if not teams:
        raise TrackerError(
            f"Linear has no team with the key {key!r} (or the API key's user cannot see it)",
            transient=False,
        )
    return str(teams[0]["id"])


def _ticket(issue: Any) -> Ticket:
    state = _get(issue, "state", "type")
    return Ticket(
        key=str(_get(issue, "identifier")),
        url=str(_get(issue, "url")),
        remote_id=str(_get(issue, "id")),
        closed=state in CLOSED_TYPES,
        extra={"state": str(state)},
    )
