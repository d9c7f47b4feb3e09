"""FakeStatuspage: an aiohttp server answering Atlassian Statuspage's REST API v1 for one page,
in its published shapes (https://developer.statuspage.io), only stricter, for the tests.

    fake = FakeStatuspage(clock=clock.now)
    api = fake.add_component("API", "8kbf7d35c070")
    await fake.start()          # fake.base_url is STATUSPAGE_API_URL (…/v1)
    ...
    assert fake.violations == []
    await fake.stop()

Endpoints, under /v1/pages/{page_id}: GET (the page itself), POST /incidents, GET /incidents
(`q`, `limit`, `page`), GET /incidents/unresolved (`page`, `per_page`), GET|PATCH|PUT
/incidents/{id}, GET /components, GET|PATCH|PUT /components/{id}. A request is authenticated
by `Authorization: OAuth <api key>` (401 otherwise), names the fake's page (404 otherwise),
sends JSON when it has a body (415), and what it asks is checked as Statuspage does (422
`{"message": ...}`, statuspage_state.py).
Every request is kept in `requests`, with the route it matched and the status answered.

Faults (`route=` limits one to a route, e.g. "POST /incidents"):
`fail_next(status, retry_after=None)` answers with `status`, doing nothing; `rate_limit_next`
is a 429 with Retry-After (Statuspage allows 1 request a second per key); `fail_after_success`
does the work, then answers a 5xx or drops the connection (the answer is lost);
`slow_next(seconds)` does the work and answers that late (a client's timeout loses it);
`hold_after_success` does the work and keeps the answer until `released` is set (a process
killed meanwhile); `drop_next` closes the connection before doing anything; `go_down(status)`
answers every request with `status` until `come_up()`. `violations` lists what a client sent
that Statuspage would ignore or misread (unknown fields, a path outside the API); tests assert
it is empty.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from .statuspage_state import (
    COMPONENT_STATUSES,
    Component,
    Incident,
    PageState,
    StatuspageRefusal,
    new_id,
)

__all__ = ["Call", "FakeStatuspage", "Incident"]

DEFAULT_API_KEY = "statuspage-api-key-0123456789abcdef"
DEFAULT_PAGE_ID = "pg0kx3m2qv7d"
DEFAULT_PAGE_NAME = "Example Status"
ROUTES = (
    ("GET", r"", "GET /pages/{page_id}"),
    ("POST", r"/incidents", "POST /incidents"),
    ("GET", r"/incidents", "GET /incidents"),
    ("GET", r"/incidents/unresolved", "GET /incidents/unresolved"),
    ("GET", r"/incidents/(?P<id>[a-z0-9]+)", "GET /incidents/{id}"),
    ("PATCH", r"/incidents/(?P<id>[a-z0-9]+)", "PATCH /incidents/{id}"),
    ("PUT", r"/incidents/(?P<id>[a-z0-9]+)", "PATCH /incidents/{id}"),
    ("GET", r"/components", "GET /components"),
    ("GET", r"/components/(?P<id>[a-z0-9]+)", "GET /components/{id}"),
    ("PATCH", r"/components/(?P<id>[a-z0-9]+)", "PATCH /components/{id}"),
    ("PUT", r"/components/(?P<id>[a-z0-9]+)", "PATCH /components/{id}"),
)


@dataclass
class Call:
    """One request as the fake saw it, and its answer's status (-1: the connection dropped)."""

    method: str
    path: str
    query: dict[str, str]
    route: str = ""
    body: Any = None
    status: int = 0
    answer: Any = None


@dataclass
class Fault:
    kind: str  # "status" (nothing done), "after", "slow", "hold" (done, then...), "drop"
    status: int = 500
    retry_after: int | None = None
    drop: bool = False
    seconds: float = 0.0
    route: str | None = None


@dataclass
class _Request:
    call: Call
    params: dict[str, str] = field(default_factory=dict)


class FakeStatuspage:
    """A strict stand-in for one Statuspage page; see the module docstring."""

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        page_id: str = DEFAULT_PAGE_ID,
        *,
        clock: Callable[[], datetime] | None = None,
        name: str = DEFAULT_PAGE_NAME,
    ) -> None:
        self.api_key = api_key
        self.state = PageState(page_id, clock or (lambda: datetime.now(UTC)), name)
        self.requests: list[Call] = []
        self.released = asyncio.Event()
        self._faults: deque[Fault] = deque()
        self._down_status: int | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        self.released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """What STATUSPAGE_API_URL is set to."""
        if self._port is None:
            raise RuntimeError("FakeStatuspage.start() has not been awaited")
        return f"http://127.0.0.1:{self._port}/v1"

    @property
    def page_id(self) -> str:
        return self.state.page_id

    # --- state ---------------------------------------------------------------------------------

    def add_component(self, name: str, component_id: str | None = None) -> Component:
        stamp = self.state.stamp()
        component = Component(component_id or new_id(), name, created_at=stamp, updated_at=stamp)
        self.state.components[component.id] = component
        return component

    @property
    def incidents(self) -> list[Incident]:
        return self.state.incidents

    @property
    def violations(self) -> list[str]:
        return self.state.violations

    def delete_incident(self, incident_id: str) -> None:
        """A person deletes the incident in Statuspage."""
        self.state.incidents.remove(self.state.find(incident_id))

    def attempts_to(self, route: str) -> list[Call]:
        return [c for c in self.requests if c.route == route]

    def done(self, route: str) -> list[Call]:
        """The requests to `route` answered with a 2xx."""
        return [c for c in self.attempts_to(route) if 200 <= c.status < 300]

    # --- faults --------------------------------------------------------------------------------

    def fail_next(
        self,
        status: int = 500,
        *,
        times: int = 1,
        route: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        self._faults.extend(Fault("status", status, retry_after, route=route) for _ in range(times))

    def rate_limit_next(
        self, retry_after: int = 1, *, times: int = 1, route: str | None = None
    ) -> None:
        self.fail_next(429, times=times, route=route, retry_after=retry_after)

    def fail_after_success(
        self, status: int = 500, *, drop: bool = False, times: int = 1, route: str | None = None
    ) -> None:
        self._faults.extend(Fault("after", status, drop=drop, route=route) for _ in range(times))

    def slow_next(self, seconds: float, *, route: str | None = None) -> None:
        self._faults.append(Fault("slow", seconds=seconds, route=route))

    def hold_after_success(self, *, route: str | None = None) -> None:
        self.released = asyncio.Event()
        self._faults.append(Fault("hold", route=route))

    def drop_next(self, *, times: int = 1, route: str | None = None) -> None:
        self._faults.extend(Fault("drop", route=route) for _ in range(times))

    def go_down(self, status: int = 503) -> None:
        self._down_status = status

    def come_up(self) -> None:
        self._down_status = None

    def _take_fault(self, route: str) -> Fault | None:
        for fault in self._faults:
            if fault.route is None or fault.route == route:
                self._faults.remove(fault)
                return fault
        return None

    # --- requests ------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        call = Call(request.method, request.path, dict(request.query))
        self.requests.append(call)
        if self._down_status is not None:
            return _text(call, self._down_status, "<html><body>Service Unavailable</body></html>")
        found = self._route(call)
        if found is None:
            return _json(call, 404, {"message": "Not found"})
        fault = self._take_fault(call.route)
        if fault is not None and fault.kind in ("status", "drop"):
            return _fault(call, fault, request)
        if request.headers.get("Authorization") != f"OAuth {self.api_key}":
            return _json(call, 401, {"message": "Could not authenticate"})
        if found.params["page"] != self.page_id:
            return _json(call, 404, {"message": "The page could not be found."})
        refused = await _read_body(request, call)
        if refused is not None:
            return refused
        try:
            status, answer = self._serve(found)
        except StatuspageRefusal as exc:
            return _json(call, exc.status, exc.body)
        if fault is not None and fault.kind == "hold":
            await self.released.wait()
        elif fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.seconds)
        elif fault is not None:  # "after": done, and the answer is lost
            return _fault(call, fault, request)
        return _json(call, status, answer)

    def _route(self, call: Call) -> _Request | None:
        match = re.fullmatch(r"/v1/pages/(?P<page>[^/]+?)(?:\.json)?(?P<tail>/.*)?", call.path)
        if match is None:
            self.violations.append(f"{call.method} {call.path}: not a Statuspage API v1 path")
            return None
        tail = (match["tail"] or "").removesuffix(".json")
        for method, pattern, name in ROUTES:
            found = re.fullmatch(pattern, tail)
            if found is not None and method == call.method:
                call.route = name
                return _Request(call, {"page": match["page"], **found.groupdict()})
        self.violations.append(f"{call.method} {call.path}: no such endpoint in the fake")
        return None

    def _serve(self, request: _Request) -> tuple[int, Any]:
        call, state = request.call, self.state
        route, body = call.route, call.body if isinstance(call.body, dict) else {}
        if route in ("POST /incidents", "PATCH /incidents/{id}"):
            fields = body.get("incident")
            if not isinstance(fields, dict):
                raise StatuspageRefusal(422, "incident is missing")
            if route == "POST /incidents":
                return 201, state.incident_json(state.create(fields))
            incident = state.find(request.params["id"])
            return 200, state.incident_json(state.update(incident, fields))
        if route == "GET /incidents/{id}":
            return 200, state.incident_json(state.find(request.params["id"]))
        if route == "GET /incidents/unresolved":
            per_page = self._number(call, "per_page", 100)
            rows = [i for i in reversed(state.incidents) if not i.resolved]
            return 200, [state.incident_json(i) for i in _page(call, rows, per_page)]
        if route == "GET /incidents":
            limit = self._number(call, "limit", 100)
            found = state.search(call.query["q"]) if call.query.get("q") else state.incidents[::-1]
            return 200, [state.incident_json(i) for i in _page(call, found, limit)]
        if route == "GET /pages/{page_id}":
            return 200, state.page_json()
        if route == "GET /components":
            return 200, [state.component_json(c) for c in state.components.values()]
        component = state.components.get(request.params["id"])
        if component is None:
            raise StatuspageRefusal(404, "The component could not be found.")
        if route == "PATCH /components/{id}":
            status = (body.get("component") or {}).get("status")
            if status not in COMPONENT_STATUSES:
                raise StatuspageRefusal(422, f"Status {status!r} is not valid")
            component.status, component.updated_at = status, state.stamp()
        return 200, state.component_json(component)

    def _number(self, call: Call, name: str, most: int) -> int:
        value = int(call.query.get(name, most))
        if value > most:
            self.violations.append(f"{call.route}: {name}={value}, Statuspage gives at most {most}")
        return min(value, most)


def _page(call: Call, rows: list[Incident], size: int) -> list[Incident]:
    start = (max(int(call.query.get("page", 1)), 1) - 1) * size
    return rows[start : start + size]


async def _read_body(request: web.Request, call: Call) -> web.Response | None:
    if request.method not in ("POST", "PATCH", "PUT"):
        return None
    if request.content_type != "application/json":
        return _json(call, 415, {"message": "Unsupported Media Type"})
    try:
        call.body = json.loads(await request.read())
    except ValueError:
        return _json(call, 400, {"message": "The body is not valid JSON"})
    return None


def _json(call: Call, status: int, body: Any) -> web.Response:
    call.status, call.answer = status, body
    return web.json_response(body, status=status)


def _text(call: Call, status: int, text: str) -> web.Response:
    call.status, call.answer = status, text
    return web.Response(status=status, text=text, content_type="text/html")


def _fault(call: Call, fault: Fault, request: web.Request) -> web.StreamResponse:
    if fault.kind == "drop" or fault.drop:
        call.status = -1
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=204)
    if fault.status in (420, 429):
        call.status = fault.status
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
        return web.json_response(
            {"message": "Rate limit exceeded"}, status=fault.status, headers=headers
        )
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
    call.status, call.answer = fault.status, "Server Error"
    return web.Response(
        status=fault.status,
        text="<html><body>Server Error</body></html>",
        content_type="text/html",
        headers=headers,
    )
