"""FakeTwilio: an aiohttp server answering Twilio's REST API (2010-04-01) for Messages and Calls,
only stricter, and playing the phones on the other side.

    fake = FakeTwilio(clock=clock.now)          # fake.account_sid, fake.auth_token, fake.number
    await fake.start()                          # fake.base_url is TWILIO_API_URL
    fake.route("https://bot.example.com", bot_url)   # where the public URL really is
    fake.configure_number(sms_url="https://bot.example.com/webhooks/twilio/sms")
    ...
    await fake.reply("+15550002222", "1")       # a signed inbound-SMS webhook to the bot
    await fake.answer_call(call.sid, "1")       # fetch the call's TwiML, press 1
    assert fake.violations == []

In Twilio's shapes: JSON only under `.json` paths (the 2010 API answers XML otherwise: the
fake notes that as a violation); form-encoded POSTs (JSON bodies are refused as Twilio refuses
them, 21604 "To required"); Basic auth AccountSid:AuthToken (401, code 20003, otherwise; another
account's path is 404, 20404); 201 with the resource on create ("queued", no `date_sent` or
`start_time` yet); lists with Twilio's paging keys and filters (To, From, DateSent / DateSent> /
DateSent< for Messages, StartTime... for Calls: a record without that date yet is not listed
under a date filter); error bodies {code, message, more_info, status}. Refusals: a missing To
(21604 / 21201), From (21603 / 21213), Body (21602) or Url (21205), a Body over 1600 characters
(21617), a To that is not E.164 or is in `invalid_numbers` (21211), a From that is not the
account's number (21606 / 21210), an Url that is not absolute http(s) (21205).

Faults (each optionally for one operation: "Messages.create", "Messages.list", "Calls.create",
"Calls.list"): `fail_next` (a 5xx with Twilio's JSON, nothing done), `rate_limit_next` (429,
20429, with Retry-After only if given: Twilio documents it for some APIs, not this one),
`drop_next`, `fail_after_success` (the work is done, then a 5xx or a dropped connection),
`go_down` / `come_back` (503 meanwhile). `hold_messages` keeps new messages queued (no
`date_sent`) until `deliver_queued()`. `violations` lists what the client did that Twilio would
refuse or that the fake cannot honour; tests assert it stays empty.

The phone side (twilio_phone.py): `reply` and `answer_call`, with signed webhooks and strict
TwiML reading.
"""

from __future__ import annotations

import base64
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web

from .twilio_faults import Fault, TwilioFaults
from .twilio_phone import Phone
from .twilio_state import (
    API,
    CALL_PARAMS,
    E164,
    LIST_PARAMS,
    MESSAGE_PARAMS,
    BadFilter,
    Call,
    Message,
    error_body,
    filtered_calls,
    filtered_messages,
    page,
)

__all__ = ["FakeTwilio", "Message", "Call"]

PATH = re.compile(
    rf"/{API}/Accounts/(?P<account>[^/]+)/(?P<resource>Messages|Calls)(?P<ext>\.json)?"
)


@dataclass
class Request:
    """One request as the fake saw it."""

    method: str
    path: str
    operation: str | None
    params: dict[str, list[str]]
    status: int = 0


class Refused(Exception):
    def __init__(self, status: int, code: int, **values: str) -> None:
        super().__init__(code)
        self.status, self.code, self.values = status, code, values


class FakeTwilio(Phone, TwilioFaults):
    """A strict stand-in for https://api.twilio.com; see the module docstring."""

    def __init__(
        self,
        *,
        account_sid: str = "AC" + "0123456789abcdef" * 2,
        auth_token: str = "twilio-test-auth-token",
        number: str = "+15005550006",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.number = number
        self.clock = clock or (lambda: datetime.now(UTC))
        self.messages: list[Message] = []
        self.calls: list[Call] = []
        self.requests: list[Request] = []
        self.violations: list[str] = []
        self.invalid_numbers: set[str] = set()
        self.hold_messages = False
        self._faults: deque[Fault] = deque()
        self._down = False
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        await self.close_phone()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeTwilio.start() has not been awaited")
        return f"http://127.0.0.1:{self._port}"

    # --- state and faults ------------------------------------------------------------------------

    def messages_to(self, number: str) -> list[Message]:
        """Messages the bot sent to `number` (not the replies TwiML made)."""
        return [m for m in self.messages if m.to == number and m.direction == "outbound-api"]

    def calls_to(self, number: str) -> list[Call]:
        return [c for c in self.calls if c.to == number]

    def requests_to(self, operation: str) -> list[Request]:
        return [r for r in self.requests if r.operation == operation]

    def deliver_queued(self) -> None:
        for message in self.messages:
            if message.status == "queued":
                message.status, message.date_sent = "sent", self.clock()

    # --- request handling ------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        params = parse_qs(
            raw.decode() if request.method == "POST" else request.query_string,
            keep_blank_values=True,
        )
        match = PATH.fullmatch(request.path)
        operation = None
        if match is not None:
            verb = "create" if request.method == "POST" else "list"
            operation = f"{match['resource']}.{verb}"
        seen = Request(request.method, request.path, operation, params)
        self.requests.append(seen)
        if self._down:
            return self._json(seen, error_body(20503, 503), 503)
        if match is None or not match["ext"] or request.method not in ("GET", "POST"):
            self.violations.append(
                f"{request.method} {request.path}: not a JSON Messages/Calls list"
            )
            return self._json(seen, error_body(20404, 404, path=request.path), 404)
        fault = self._take(operation, ("drop", "server"))
        if fault is not None:
            return self._drop(seen, request) if fault.kind == "drop" else self._fault(seen, fault)
        if not self._authorized(request):
            return self._json(
                seen, error_body(20003, 401), 401, {"WWW-Authenticate": 'Basic realm="Twilio API"'}
            )
        if match["account"] != self.account_sid:
            return self._json(seen, error_body(20404, 404, path=request.path), 404)
        limited = self._take(operation, ("ratelimit",))
        if limited is not None:
            return self._fault(seen, limited)
        try:
            status, body = self._serve(request, match["resource"], params)
        except Refused as exc:
            return self._json(seen, error_body(exc.code, exc.status, **exc.values), exc.status)
        after = self._take(operation, ("after",))
        if after is not None:
            return self._drop(seen, request) if after.drop else self._fault(seen, after)
        return self._json(seen, body, status)

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Basic":
            return False
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid and password == self.auth_token

    def _serve(
        self, request: web.Request, resource: str, params: dict[str, list[str]]
    ) -> tuple[int, dict[str, Any]]:
        if request.method == "GET":
            return 200, self._list(resource, self._single(params, LIST_PARAMS[resource]))
        if not request.content_type.startswith("application/x-www-form-urlencoded"):
            self.violations.append(f"POST {resource} as {request.content_type!r}, not a form")
            raise Refused(400, 21604 if resource == "Messages" else 21201)
        if resource == "Messages":
            return 201, self._create_message(self._single(params, MESSAGE_PARAMS))
        return 201, self._create_call(self._single(params, CALL_PARAMS))

    def _single(self, params: dict[str, list[str]], known: frozenset[str]) -> dict[str, str]:
        for name, values in params.items():
            if name not in known:
                self.violations.append(f"unknown parameter {name!r}")
            if len(values) > 1 and name not in ("MediaUrl", "StatusCallbackEvent"):
                self.violations.append(f"parameter {name!r} given {len(values)} times")
        return {name: values[0] for name, values in params.items()}

    def _create_message(self, form: dict[str, str]) -> dict[str, Any]:
        to, sender, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not to:
            raise Refused(400, 21604)
        if not sender and not form.get("MessagingServiceSid"):
            raise Refused(400, 21603)
        if not body and not form.get("MediaUrl"):
            raise Refused(400, 21602)
        if len(body) > 1600:
            raise Refused(400, 21617)
        if not E164.fullmatch(to) or to in self.invalid_numbers:
            raise Refused(400, 21211, value=to)
        if sender != self.number:
            raise Refused(400, 21606, value=sender)
        message = Message(self.account_sid, to, sender, body, "outbound-api", self.clock())
        self.messages.append(message)
        answer = message.resource()
        if not self.hold_messages:
            message.status, message.date_sent = "sent", self.clock()
        return answer

    def _create_call(self, form: dict[str, str]) -> dict[str, Any]:
        to, caller, url = form.get("To", ""), form.get("From", ""), form.get("Url", "")
        if not to:
            raise Refused(400, 21201)
        if not caller:
            raise Refused(400, 21213)
        if form.get("Twiml") or form.get("ApplicationSid"):
            self.violations.append("a call with Twiml/ApplicationSid: the fake plays only Url")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise Refused(400, 21205, value=url)
        if not E164.fullmatch(to) or to in self.invalid_numbers:
            raise Refused(400, 21211, value=to)
        if caller != self.number:
            raise Refused(400, 21210, value=caller)
        method = form.get("Method", "POST").upper()
        if method not in ("GET", "POST"):
            self.violations.append(f"call Method {method!r}")
        timeout = form.get("Timeout", "60")
        if not timeout.isdigit() or not 1 <= int(timeout) <= 600:
            self.violations.append(f"call Timeout {timeout!r}: an integer of seconds, 1-600")
        call = Call(self.account_sid, to, caller, url, method, self.clock())
        self.calls.append(call)
        return call.resource()

    def _list(self, resource: str, query: dict[str, str]) -> dict[str, Any]:
        try:
            size = int(query.get("PageSize", "50"))
            number = int(query.get("Page", "0"))
        except ValueError:
            self.violations.append(f"PageSize/Page not integers: {query}")
            size, number = 50, 0
        if not 1 <= size <= 1000:
            self.violations.append(f"PageSize {size}: Twilio allows 1-1000")
        try:
            if resource == "Messages":
                found: list[Any] = filtered_messages(self.messages, query)
            else:
                found = filtered_calls(self.calls, query)
        except BadFilter as exc:
            self.violations.append(f"{resource} date filter {exc}: YYYY-MM-DD")
            raise Refused(400, 20001, value=str(exc)) from None
        return page(self.account_sid, resource, found, query, size, number)

    # --- answers ------------------------------------------------------------------------------

    @staticmethod
    def _json(
        seen: Request, body: dict[str, Any], status: int, headers: dict[str, str] | None = None
    ) -> web.Response:
        seen.status = status
        return web.json_response(body, status=status, headers=headers)

    def _fault(self, seen: Request, fault: Fault) -> web.Response:
        if fault.status == 429:
            headers = (
                None if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            )
            return self._json(seen, error_body(20429, 429), 429, headers)
        code = 20503 if fault.status == 503 else 20500
        return self._json(seen, error_body(code, fault.status), fault.status)

    @staticmethod
    def _drop(seen: Request, request: web.Request) -> web.Response:
        seen.status = -1
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=204)
