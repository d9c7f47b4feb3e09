"""FakePagerDuty: an aiohttp server answering PagerDuty's Events API v2 (POST /v2/enqueue) in
its published shapes, keeping incidents by `dedup_key` as PagerDuty does, and playing the
responders whose acknowledgements and resolves reach the bot as signed v3 webhooks.

Answers (developer-docs events-API-v2, api-schema events-v2/openapiv3.json):

- 202 `{"status": "success", "message": "Event processed", "dedup_key": ...}` (a trigger
  without a key gets one made up, as PagerDuty does);
- 400 `{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}` for
  an event PagerDuty refuses (pagerduty_events.event_errors), and `{"status": "Unrecognized
  object", "message": "Event object format is unrecognized", "errors": ["JSON parse error"]}`
  for a body that is not JSON;
- 429 (text, no Retry-After: PagerDuty documents none) when told to rate-limit.

Webhooks: `subscribe(url, secret)` makes a v3 subscription. A change made by a responder
(`acknowledge(dedup_key, by_email)`, `resolve(...)`) is delivered at once, signed with
X-PagerDuty-Signature (`v1=<hex HMAC-SHA256 of the raw body>`, one per secret of the
subscription: `rotate` adds a second) and X-Webhook-Id, the agent a `user_reference`; a change
made through the Events API (the bot's own events) is queued and sent by `deliver_pending()`,
as PagerDuty delivers asynchronously, its agent the service. `redeliver(delivery)` sends one
again (PagerDuty delivers at least once).

Faults: `fail_next(status=500, times=1)` (nothing done), `rate_limit_next(times=1)`,
`drop_next()` (connection closed, nothing done), `fail_after_success(status=500, drop=False)`
(the event is applied, then the answer is lost), `go_down()`/`come_back()` (503 meanwhile).
`violations` lists what a client did that PagerDuty would not do what it expects with (unknown
fields, a non-JSON content type, a path that is not the Events API); tests assert it is empty.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from .pagerduty_events import (
    Alert,
    Incident,
    Service,
    User,
    event_errors,
    pd_id,
    signature,
    unknown_fields,
    webhook_body,
)

DEFAULT_ROUTING_KEY = "R0123456789ABCDEF0123456789ABCDE"  # 32 characters, like PagerDuty's
WEBHOOK_TIMEOUT = 5.0  # PagerDuty waits 5 seconds for a 2xx
INVALID = {"status": "invalid event", "message": "Event object is invalid"}
UNRECOGNIZED = {
    "status": "Unrecognized object",
    "message": "Event object format is unrecognized",
    "errors": ["JSON parse error"],
}


@dataclass
class Call:
    """One request to /v2/enqueue as the fake saw it, and what it answered (-1: dropped)."""

    body: Any
    status: int = 0
    answer: Any = None


@dataclass
class Delivery:
    """One webhook sent to the bot, and the bot's answer."""

    url: str
    event_type: str
    body: bytes
    headers: dict[str, str]
    status: int = 0
    answer: str = ""


@dataclass
class Subscription:
    url: str
    secrets: list[str]
    events: tuple[str, ...]
    deliveries: list[Delivery] = field(default_factory=list)


@dataclass
class _Fault:
    kind: str  # "server" | "ratelimit" | "drop" | "after"
    status: int = 500
    drop: bool = False


class FakePagerDuty:
    """A strict stand-in for https://events.pagerduty.com; see the module docstring."""

    def __init__(
        self,
        routing_key: str = DEFAULT_ROUTING_KEY,
        *,
        service: str = "Incident Bot",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))
        self.services: dict[str, Service] = {}
        self.service = self.add_service(service, routing_key)
        self.users: dict[str, User] = {}
        self.incidents: list[Incident] = []
        self.calls: list[Call] = []
        self.dropped: list[dict[str, Any]] = []  # acknowledge/resolve with no open alert
        self.subscriptions: list[Subscription] = []
        self.outbox: deque[tuple[str, Incident, dict[str, Any] | None]] = deque()
        self.violations: list[str] = []
        self._faults: deque[_Fault] = deque()
        self._down = False
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("POST", "/v2/enqueue", self._enqueue)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """What PAGERDUTY_EVENTS_URL is set to."""
        if self._port is None:
            raise RuntimeError("FakePagerDuty.start() has not been awaited")
        return f"http://127.0.0.1:{self._port}"

    # --- state ---------------------------------------------------------------------------------

    def add_service(self, name: str, routing_key: str) -> Service:
        """A service with an Events API v2 integration whose key is `routing_key`."""
        service = Service(pd_id(), name, routing_key)
        self.services[routing_key] = service
        return service

    def seed_user(self, email: str, name: str) -> User:
        user = User(pd_id(), name, email)
        self.users[email.lower()] = user
        return user

    def incidents_for(self, dedup_key: str) -> list[Incident]:
        return [i for i in self.incidents if i.dedup_key == dedup_key]

    def open_incident(self, dedup_key: str, routing_key: str | None = None) -> Incident | None:
        for incident in self.incidents_for(dedup_key):
            if incident.is_open and routing_key in (None, incident.service.routing_key):
                return incident
        return None

    # --- faults --------------------------------------------------------------------------------

    def fail_next(self, *, status: int = 500, times: int = 1) -> None:
        self._faults.extend(_Fault("server", status=status) for _ in range(times))

    def rate_limit_next(self, *, times: int = 1) -> None:
        self._faults.extend(_Fault("ratelimit", status=429) for _ in range(times))

    def drop_next(self, *, times: int = 1) -> None:
        self._faults.extend(_Fault("drop") for _ in range(times))

    def fail_after_success(self, *, status: int = 500, drop: bool = False, times: int = 1) -> None:
        self._faults.extend(_Fault("after", status=status, drop=drop) for _ in range(times))

    def go_down(self) -> None:
        self._down = True

    def come_back(self) -> None:
        self._down = False

    def _take(self, *kinds: str) -> _Fault | None:
        for fault in self._faults:
            if fault.kind in kinds:
                self._faults.remove(fault)
                return fault
        return None

    # --- the Events API ------------------------------------------------------------------------

    async def _unknown(self, request: web.Request) -> web.Response:
        self.violations.append(f"{request.method} {request.path}: not the Events API v2")
        return web.json_response({"status": "Not Found", "message": "Not Found"}, status=404)

    async def _enqueue(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        call = Call(body)
        self.calls.append(call)
        if self._down:
            return _answer(call, 503, {"status": "Service Unavailable", "message": "Try later"})
        fault = self._take("server", "ratelimit", "drop")
        if fault is not None:
            return _faulty(call, fault, request)
        if not request.content_type.startswith("application/json"):
            self.violations.append(f"Content-Type {request.content_type!r}, not JSON")
        if body is None:
            return _answer(call, 400, UNRECOGNIZED)
        errors = event_errors(body, set(self.services))
        if errors:
            return _answer(call, 400, {**INVALID, "errors": errors})
        self.violations += [f"{body['event_action']}: {x}" for x in unknown_fields(body)]
        dedup_key = body.get("dedup_key") or uuid.uuid4().hex
        self._apply(body, dedup_key)
        after = self._take("after")
        if after is not None:
            return _faulty(call, after, request)
        answer = {"status": "success", "message": "Event processed", "dedup_key": dedup_key}
        return _answer(call, 202, answer)

    def _apply(self, event: dict[str, Any], dedup_key: str) -> None:
        service = self.services[event["routing_key"]]
        action = event["event_action"]
        incident = self.open_incident(dedup_key, service.routing_key)
        agent = service.reference()
        if action == "trigger":
            if incident is not None:
                incident.alert.triggers += 1
                incident.log.append("trigger")
                return
            incident = self._new_incident(service, dedup_key, event)
            self.outbox.append(("incident.triggered", incident, agent))
            return
        if incident is None:
            self.dropped.append(event)
            return
        incident.log.append(action)
        if action == "acknowledge" and incident.status == "triggered":
            incident.status, incident.acknowledged_by = "acknowledged", service.name
            self.outbox.append(("incident.acknowledged", incident, agent))
        elif action == "resolve":
            incident.status, incident.resolved_by = "resolved", service.name
            self.outbox.append(("incident.resolved", incident, agent))

    def _new_incident(self, service: Service, dedup_key: str, event: dict[str, Any]) -> Incident:
        payload = event["payload"]
        alert = Alert(
            dedup_key=dedup_key,
            summary=payload["summary"],
            severity=payload["severity"],
            source=payload["source"],
            custom_details=dict(payload.get("custom_details") or {}),
            links=list(event.get("links") or []),
        )
        incident = Incident(
            id=pd_id(),
            number=len(self.incidents) + 1,
            service=service,
            alert=alert,
            created_at=self.clock(),
            log=["trigger"],
        )
        self.incidents.append(incident)
        return incident

    # --- webhooks and responders ---------------------------------------------------------------

    def subscribe(
        self,
        url: str,
        secret: str,
        events: tuple[str, ...] = ("incident.acknowledged", "incident.resolved"),
    ) -> Subscription:
        subscription = Subscription(url, [secret], events)
        self.subscriptions.append(subscription)
        return subscription

    @staticmethod
    def rotate(subscription: Subscription, new_secret: str) -> None:
        """A second secret signs every delivery too, as during PagerDuty's secret rotation."""
        subscription.secrets.append(new_secret)

    async def acknowledge(
        self, dedup_key: str, by_email: str, *, with_email: bool = False
    ) -> list[Delivery]:
        """A responder acknowledges the open incident of `dedup_key` in PagerDuty's app.

        The delivery's agent is the user's `user_reference` (name, no e-mail, as PagerDuty sends
        it); `with_email` adds the e-mail, as a relay that enriches deliveries would."""
        incident, user = self._responder_target(dedup_key, by_email)
        if incident.status == "triggered":
            incident.status, incident.acknowledged_by = "acknowledged", user.email
        incident.log.append(f"acknowledge by {user.email}")
        return await self._deliver_now("incident.acknowledged", incident, user, with_email)

    async def resolve(
        self, dedup_key: str, by_email: str, *, with_email: bool = False
    ) -> list[Delivery]:
        """A responder resolves the open incident of `dedup_key` in PagerDuty's app."""
        incident, user = self._responder_target(dedup_key, by_email)
        incident.status, incident.resolved_by = "resolved", user.email
        incident.log.append(f"resolve by {user.email}")
        return await self._deliver_now("incident.resolved", incident, user, with_email)

    def _responder_target(self, dedup_key: str, email: str) -> tuple[Incident, User]:
        incident = self.open_incident(dedup_key)
        if incident is None:
            raise LookupError(f"no open PagerDuty incident has dedup_key {dedup_key!r}")
        user = self.users.get(email.lower())
        if user is None:
            raise LookupError(f"no PagerDuty user {email!r}: seed_user it first")
        return incident, user

    async def _deliver_now(
        self, event_type: str, incident: Incident, user: User, with_email: bool
    ) -> list[Delivery]:
        agent = user.reference()
        if with_email:
            agent["email"] = user.email
        return await self._send(event_type, incident, agent, {"name": "PagerDuty"})

    async def deliver_pending(self) -> list[Delivery]:
        """Send the webhooks of changes made through the Events API, in order."""
        sent: list[Delivery] = []
        while self.outbox:
            event_type, incident, agent = self.outbox.popleft()
            sent += await self._send(event_type, incident, agent, None)
        return sent

    async def _send(
        self,
        event_type: str,
        incident: Incident,
        agent: dict[str, Any] | None,
        client: dict[str, Any] | None,
    ) -> list[Delivery]:
        body = webhook_body(event_type, incident, self.clock(), agent, client)
        sent = []
        for subscription in self.subscriptions:
            if event_type not in subscription.events:
                continue
            headers = {
                "Content-Type": "application/json",
                "X-PagerDuty-Signature": signature(body, subscription.secrets),
                "X-Webhook-Id": str(uuid.uuid4()),
            }
            delivery = Delivery(subscription.url, event_type, body, headers)
            subscription.deliveries.append(delivery)
            sent.append(await self._post(delivery))
        return sent

    async def redeliver(self, delivery: Delivery) -> Delivery:
        """The same webhook again (same body, signature and X-Webhook-Id)."""
        again = Delivery(delivery.url, delivery.event_type, delivery.body, dict(delivery.headers))
        return await self._post(again)

    @staticmethod
    async def _post(delivery: Delivery) -> Delivery:
        timeout = aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(delivery.url, data=delivery.body, headers=delivery.headers) as response,
        ):
            delivery.status = response.status
            delivery.answer = await response.text()
        return delivery


def _answer(call: Call, status: int, body: dict[str, Any]) -> web.Response:
    call.status, call.answer = status, body
    return web.json_response(body, status=status)


def _faulty(call: Call, fault: _Fault, request: web.Request) -> web.Response:
    if fault.kind == "drop" or fault.drop:
        call.status = -1
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=204)
    if fault.status == 429:
        call.status = 429
        return web.Response(status=429, text="429 - Request Limit Exceeded")
    return _answer(call, fault.status, {"status": "Internal Server Error", "message": "Retry"})
