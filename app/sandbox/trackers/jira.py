"""FakeJira: an aiohttp server answering Jira's REST API like Jira Cloud (v3) or Jira Server/
Data Center (v2), only stricter, for the tests and the demo.

    fake = FakeJira("cloud")            # or "server"
    fake.seed_project("OPS", issue_types=["Task"], priorities=["High"], components=["api"])
    fake.seed_user("ada@example.com", display_name="Ada Lovelace")
    await fake.start()                  # fake.base_url is the JIRA_URL
    ...
    assert fake.violations == []
    await fake.stop()

Request pipeline: down? -> GET /browse/{KEY} (the issue's read-only page for a person's browser,
no auth) -> route (any other path outside /rest/api, the other flavour's API version or Cloud's
removed /search are the client's mistakes: noted in `violations`) -> injected fault -> auth
(Basic e-mail:API token for Cloud, Bearer PAT for Server; 401 otherwise) -> JSON body -> the
endpoint (jira_handlers.py, jira_routes.py). Every request is recorded in `requests`.

Faults: `fail_next` (a status, e.g. 500/502/503, or 429 with Retry-After), `rate_limit_next`,
`fail_after_success` (the work is done, then a 5xx or a dropped connection), `drop_next` (the
connection drops before any work), `go_down` (connections refused, or every request answered
with a status) and `come_up`. `route=` limits a fault to one route, e.g.
"POST /issue/{key}/transitions".
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import traceback
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .jira_docs import adf_read, wiki_read
from .jira_handlers import Call, JiraError
from .jira_routes import browse_page, is_browse, removed_search, route
from .jira_state import Comment, Issue, JiraState, Project, Status, Transition, User

__all__ = ["FakeJira", "Status", "Transition"]

CLOUD_401 = "Client must be authenticated to access this resource."
SERVER_401 = "You are not authenticated. Authentication required to perform this operation."


@dataclass
class Fault:
    kind: str  # "status" (nothing done), "after" (done, then fail), "hold" (done, waits), "drop"
    status: int = 500
    retry_after: int | None = None
    drop: bool = False
    route: str | None = None


class FakeJira:
    """A strict stand-in for one Jira site; see the module docstring."""

    def __init__(
        self,
        flavour: str = "cloud",
        *,
        email: str = "incident-bot@example.com",
        token: str = "jira-api-token",
        pat: str = "jira-personal-access-token",
        display_name: str = "Incident Bot",
    ) -> None:
        if flavour not in ("cloud", "server"):
            raise ValueError("flavour is 'cloud' or 'server'")
        self.flavour = flavour
        self.email, self.token, self.pat = email, token, pat
        bot = User(email, "5b10a2844c20165700ede21g", "incident-bot", display_name)
        self.state = JiraState(flavour, bot)
        self.requests: list[Call] = []
        self.violations: list[str] = []
        self.webhook_deliveries = 0
        self._faults: deque[Fault] = deque()
        self.released = asyncio.Event()
        self.latency = 0.0  # seconds every REST answer waits (a slow or hanging Jira)
        self._down_status: int | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._port: int | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await self._listen(0)
        self.state.base_url = self.base_url

    async def _listen(self, port: int) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, "127.0.0.1", port)
        await self._site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = self._site = None

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeJira.start() has not been awaited")
        return f"http://127.0.0.1:{self._port}"

    # --- seeding and state --------------------------------------------------------------------

    def seed_project(
        self,
        key: str,
        issue_types: list[str] | tuple[str, ...] = ("Task", "Bug"),
        priorities: list[str] | tuple[str, ...] = ("Highest", "High", "Medium", "Low", "Lowest"),
        components: list[str] | tuple[str, ...] = (),
        name: str | None = None,
    ) -> Project:
        project = Project(
            key,
            str(10000 + len(self.state.projects)),
            name or f"{key} project",
            list(issue_types),
            list(priorities),
            list(components),
        )
        self.state.projects[key] = project
        return project

    def seed_user(
        self,
        email: str,
        account_id: str | None = None,
        name: str | None = None,
        display_name: str | None = None,
        *,
        email_visible: bool = True,
    ) -> User:
        local = email.split("@", 1)[0]
        user = User(
            email,
            account_id or f"712020:{len(self.state.users):08d}-{local}",
            name or local,
            display_name or local.title(),
            email_visible,
        )
        self.state.users.append(user)
        return user

    @property
    def issues(self) -> dict[str, Issue]:
        return self.state.issues

    @property
    def statuses(self) -> list[Status]:
        return self.state.statuses

    @property
    def transitions(self) -> list[Transition]:
        """The workflow; replace it to test a workflow without a way to Done."""
        return self.state.transitions

    @transitions.setter
    def transitions(self, value: list[Transition]) -> None:
        self.state.transitions = list(value)

    def set_status(self, key: str, status: str) -> None:
        """A person moves the issue in Jira (any status, whatever the workflow offers)."""
        self.state.move(self.state.issues[key], status)

    def add_comment(self, key: str, text: str) -> None:
        """A person comments in Jira."""
        if self.flavour == "cloud":
            body: Any = {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
            }
            read = adf_read(body)
        else:
            body, read = text, wiki_read(text)
        comment = Comment(self.state.new_id(), body, read, "person", self.state.timestamp())
        self.state.issues[key].comments.append(comment)

    def requests_to(self, route_name: str) -> list[Call]:
        """The requests to a route that succeeded (2xx)."""
        return [c for c in self.requests if c.route == route_name and 200 <= c.status < 300]

    def attempts_to(self, route_name: str) -> list[Call]:
        return [c for c in self.requests if c.route == route_name]

    # --- faults -------------------------------------------------------------------------------

    def fail_next(
        self,
        status: int = 500,
        *,
        times: int = 1,
        route: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next `times` requests (to `route`) with `status`, doing nothing."""
        self._faults.extend(Fault("status", status, retry_after, route=route) for _ in range(times))

    def rate_limit_next(
        self, retry_after: int = 1, *, times: int = 1, route: str | None = None
    ) -> None:
        self.fail_next(429, times=times, route=route, retry_after=retry_after)

    def fail_after_success(
        self, status: int = 500, *, drop: bool = False, times: int = 1, route: str | None = None
    ) -> None:
        """Do the next requests' work, then answer `status` (or drop the connection)."""
        self._faults.extend(Fault("after", status, drop=drop, route=route) for _ in range(times))

    def hold_after_success(self, *, route: str | None = None) -> None:
        """Do the next request's work, then keep its answer until `released` is set."""
        self.released = asyncio.Event()
        self._faults.append(Fault("hold", route=route))

    def drop_next(self, *, times: int = 1, route: str | None = None) -> None:
        """Close the next connections before doing anything."""
        self._faults.extend(Fault("drop", route=route) for _ in range(times))

    async def go_down(self, status: int | None = None) -> None:
        """Refuse connections (status None) or answer every request with `status` (e.g. 503)."""
        if status is not None:
            self._down_status = status
        elif self._site is not None:
            await self._site.stop()
            self._site = None

    async def come_up(self) -> None:
        self._down_status = None
        if self._site is None and self._port is not None:
            await self._listen(self._port)

    def _take_fault(self, route_name: str) -> Fault | None:
        for fault in self._faults:
            if fault.route is None or fault.route == route_name:
                self._faults.remove(fault)
                return fault
        return None

    # --- webhooks -----------------------------------------------------------------------------

    def webhook_for(
        self,
        issue_key: str,
        secret: str,
        *,
        event: str = "jira:issue_updated",
        at: datetime | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """A signed delivery of `event` for the issue as it is now, in Jira's shape."""
        issue = self.state.issues[issue_key]
        sent = at or datetime.now(UTC)
        self.webhook_deliveries += 1
        payload: dict[str, Any] = {
            "timestamp": int(sent.timestamp() * 1000),
            "webhookEvent": event,
            "issue_event_type_name": "issue_generic",
            "user": self.state.user_json(self.state.bot),
            "issue": self.state.issue_json(issue, None),
        }
        if issue.history:
            before, after = issue.history[-1]
            payload["changelog"] = {
                "id": str(20000 + self.webhook_deliveries),
                "items": [
                    {
                        "field": "status",
                        "fieldtype": "jira",
                        "from": self.state.status(before).id,
                        "fromString": before,
                        "to": self.state.status(after).id,
                        "toString": after,
                    }
                ],
            }
        body = json.dumps(payload).encode()
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json; charset=UTF-8",
            "User-Agent": "Atlassian Webhook HTTP Client",
            "X-Atlassian-Webhook-Identifier": str(self.webhook_deliveries),
            "X-Hub-Signature": f"sha256={digest}",
        }
        return headers, body

    # --- request handling ---------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        call = Call(request.method, "", request.path, dict(request.query))
        self.requests.append(call)
        if self._down_status is not None:
            return _text(call, self._down_status, "<html><body>Service Unavailable</body></html>")
        if is_browse(call.method, call.path):  # a person's page, outside the API's rules
            call.route = "GET /browse/{key}"
            call.status, page = browse_page(self.state, call.path)
            return web.Response(status=call.status, text=page, content_type="text/html")
        found = self._route(call)
        if found is None:
            return _json(call, 404, {"errorMessages": [f"null for uri: {request.url}"]})
        call.route, handler, call.params = found
        await asyncio.sleep(self.latency)
        if handler is removed_search:
            self.violations.append(f"{call.method} {call.path}: Jira Cloud removed this search")
        fault = self._take_fault(call.route)
        if fault is not None and fault.kind not in ("after", "hold"):
            return _fault(call, fault, request)
        if not self._authorized(request.headers.get("Authorization", "")):
            if self.flavour == "cloud":
                return _text(call, 401, CLOUD_401)
            return _json(call, 401, {"errorMessages": [SERVER_401], "errors": {}})
        refused = await self._read_body(request, call)
        if refused is not None:
            return refused
        try:
            status, body = handler(self.state, call)
        except JiraError as exc:
            return _json(call, exc.status, exc.body)
        except Exception:
            self.violations.append(f"{call.route} crashed:\n{traceback.format_exc()}")
            return _text(call, 500, "fake Jira crashed; see fake.violations")
        if fault is not None and fault.kind == "hold":  # done; the answer waits (a kill test)
            await self.released.wait()
        elif fault is not None:  # "after": the work is done, the answer is lost
            return _fault(call, fault, request)
        if body is None:
            call.status = status
            return web.Response(status=status)
        return _json(call, status, body)

    def _route(self, call: Call) -> tuple[str, Any, dict[str, str]] | None:
        prefix = "/rest/api/"
        if not call.path.startswith(prefix) or "/" not in call.path[len(prefix) :]:
            self.violations.append(f"{call.method} {call.path}: not a Jira REST API path")
            return None
        version, tail = call.path[len(prefix) :].split("/", 1)
        expected = "3" if self.flavour == "cloud" else "2"
        if version != expected:
            self.violations.append(
                f"{call.method} {call.path}: Jira {self.flavour} is spoken to in REST v{expected}"
            )
            return None
        found = route(self.flavour, call.method, "/" + tail)
        if found is None:
            self.violations.append(f"{call.method} {call.path}: no such endpoint in the fake")
        return found

    def _authorized(self, header: str) -> bool:
        if self.flavour == "server":
            return header == f"Bearer {self.pat}"
        pair = base64.b64encode(f"{self.email}:{self.token}".encode()).decode()
        return header == f"Basic {pair}"

    async def _read_body(self, request: web.Request, call: Call) -> web.Response | None:
        if request.method not in ("POST", "PUT"):
            return None
        if request.content_type != "application/json":
            return _text(call, 415, "Unsupported Media Type")
        try:
            call.body = json.loads(await request.read())
        except ValueError:
            return _json(call, 400, {"errorMessages": ["Unexpected character in the JSON body"]})
        return None


def _json(call: Call, status: int, body: Any) -> web.Response:
    call.status, call.response = status, body
    return web.json_response(body, status=status)


def _text(call: Call, status: int, text: str) -> web.Response:
    call.status, call.response = status, text
    content_type = "text/html" if text.startswith("<html>") else "text/plain"
    return web.Response(status=status, text=text, content_type=content_type)


def _fault(call: Call, fault: Fault, request: web.Request) -> web.StreamResponse:
    if fault.kind == "drop" or fault.drop:
        call.status = -1
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=204)
    if fault.status == 429:
        call.status = 429
        headers = {"Retry-After": str(fault.retry_after or 1)}
        return web.Response(status=429, text="Rate limit exceeded.", headers=headers)
    return _text(call, fault.status, "<html><body>Server Error</body></html>")
