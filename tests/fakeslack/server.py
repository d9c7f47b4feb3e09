"""FakeSlack: an aiohttp server answering slack-sdk's Web API calls like Slack, only stricter.

Request pipeline (order matters, it is Slack's): parse args -> unknown method (404) -> rate
tier (429, see tiers.py) -> injected fault -> auth -> scopes -> spec-required args -> handler.
Every request is recorded in ``calls``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import traceback
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

from . import methods  # noqa: F401  (registers the handlers)
from .registry import HANDLERS, Args, SlackError
from .spec import GENERIC_ERRORS, SlackSpec
from .state import (
    BOT_ID,
    BOT_USER_ID,
    TEAM_ID,
    Call,
    Channel,
    SlackState,
    User,
    Usergroup,
)
from .tiers import DEFAULT_SCALE, Tiers

# Fields slack-sdk may send as JSON strings inside form bodies.
JSON_FIELDS = ("blocks", "attachments", "view", "files", "metadata", "unfurled_attachments")


@dataclass
class Fault:
    kind: str  # "error" | "ratelimit" | "server" | "after" (did the work, then failed)
    error: str = ""
    extra: dict[str, Any] | None = None
    retry_after: int = 1
    status: int = 500
    # "after" only: drop the connection without an answer instead of answering `status`.
    drop: bool = False
    # "server" only: the error page's type; a proxy's text/plain page reaches slack-sdk as a str.
    content_type: str = "text/html"
    # Only calls whose args include these values trip the fault (e.g. {"channel": "U123"}).
    when: dict[str, str] | None = None

    def matches(self, args: dict[str, Any]) -> bool:
        return self.when is None or all(str(args.get(k)) == v for k, v in self.when.items())


class FakeSlack:
    """A strict stand-in for ``https://slack.com/api/``; see the package docstring for usage."""

    bot_user_id = BOT_USER_ID
    bot_id = BOT_ID
    team_id = TEAM_ID

    def __init__(
        self,
        token: str = "xoxb-test",
        granted_scopes: set[str] | None = None,
        latency: float = 0.0,
        spec_dir: Path | str | None = None,
        app_token: str | None = None,
        tier_scale: float | None = DEFAULT_SCALE,
    ) -> None:
        self.token = token
        # The app-level token (xapp-...) that apps.connections.open, and only it, accepts.
        self.app_token = app_token
        # Socket Mode: the bot's open websockets, and the acks it sent back (by envelope id).
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_acks: dict[str, dict[str, Any]] = {}
        self._ack_arrived = asyncio.Event()
        self.latency = latency
        self.spec = SlackSpec(Path(spec_dir) if spec_dir is not None else None)
        self.spec_loaded = self.spec.loaded
        # Slack's rate tiers (see tiers.py): ``tiers.scale`` shrinks their windows, None is off.
        self.tiers = Tiers(self.spec, tier_scale)
        self.state = SlackState()
        self.state.granted_scopes = set(granted_scopes) if granted_scopes is not None else None
        self.calls: list[Call] = []
        # Bodies POSTed to response URLs (``response_url_base + "/<anything>"``), in order.
        self.responses: list[dict[str, Any]] = []
        # Internal inconsistencies (an undocumented error, a handler crash); tests assert empty.
        self.violations: list[str] = []
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("POST", "/api/{method}", self._handle_api)
        app.router.add_route("GET", "/api/{method}", self._handle_api)
        app.router.add_route("POST", "/upload/{file_id}", self._handle_upload)
        app.router.add_route("POST", "/response/{key}", self._handle_response_url)
        app.router.add_route("GET", "/link/", self._handle_socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])  # the ephemeral port the OS picked
        self.state.base_url = f"http://127.0.0.1:{self._port}"

    async def stop(self) -> None:
        for socket in list(self.sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def response_url_base(self) -> str:
        """Prefix for fake ``response_url``s; what is POSTed there lands in ``responses``."""
        return self.base_url.replace("/api/", "/response")

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeSlack.start() has not been awaited")
        return f"http://127.0.0.1:{self._port}/api/"

    def reset(self) -> None:
        """Forget calls, faults and workspace content; keep identity, users, usergroups, scopes."""
        self.calls.clear()
        self.responses.clear()
        self.violations.clear()
        self._faults.clear()
        self.tiers.clear()
        self.state.clear()

    # --- state views (always the live objects, also after reset) ------------------------------

    channels = property(lambda self: self.state.channels)
    messages = property(lambda self: self.state.messages)
    pins = property(lambda self: self.state.pins)
    reactions = property(lambda self: self.state.reactions)
    ephemerals = property(lambda self: self.state.ephemerals)
    views = property(lambda self: self.state.views)
    files = property(lambda self: self.state.files)
    bookmarks = property(lambda self: self.state.bookmarks)
    users = property(lambda self: self.state.users)
    usergroups = property(lambda self: self.state.usergroups)

    @property
    def granted_scopes(self) -> set[str] | None:
        """None means "every scope granted" (scope checks off); settable mid-test."""
        return self.state.granted_scopes

    @granted_scopes.setter
    def granted_scopes(self, scopes: set[str] | None) -> None:
        self.state.granted_scopes = set(scopes) if scopes is not None else None

    @property
    def trigger_ttl(self) -> float:
        return self.state.trigger_ttl

    @trigger_ttl.setter
    def trigger_ttl(self, seconds: float) -> None:
        self.state.trigger_ttl = seconds

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Args of the successful calls to ``method``."""
        return [c.args for c in self.calls if c.method == method and c.ok]

    def attempts_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def channel_by_name(self, name: str) -> Channel | None:
        return self.state.channel_by_name(name)

    # --- seeding ------------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        email: str | None = None,
        tz: str = "UTC",
        is_bot: bool = False,
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
    ) -> None:
        """``is_restricted``: a multi-channel guest; ``is_ultra_restricted``: single-channel."""
        self.state.users[user_id] = User(
            user_id,
            name or user_id.lower(),
            email,
            tz,
            is_bot,
            is_restricted=is_restricted or is_ultra_restricted,
            is_ultra_restricted=is_ultra_restricted,
        )

    def add_usergroup(
        self, handle: str, user_ids: list[str] | tuple[str, ...], *, usergroup_id: str | None = None
    ) -> str:
        group_id = usergroup_id or self.state.new_id("S")
        self.state.usergroups[group_id] = Usergroup(group_id, handle, list(user_ids))
        return group_id

    def add_channel(
        self,
        name: str,
        *,
        members: tuple[str, ...] | list[str] = (),
        is_private: bool = False,
        bot_member: bool = True,
    ) -> str:
        """Create a channel directly (no naming checks: seeds may mirror odd legacy names)."""
        if self.state.channel_by_name(name) is not None:
            raise ValueError(f"channel #{name} already exists")
        member_set = set(members) | ({BOT_USER_ID} if bot_member else set())
        channel = Channel(
            id=self.state.new_id("C"),
            name=name,
            is_private=is_private,
            members=member_set,
            created=int(time.time()),
            creator=BOT_USER_ID,
        )
        self.state.channels[channel.id] = channel
        self.state.messages[channel.id] = []
        return channel.id

    def add_message(
        self,
        channel: str,
        text: str,
        *,
        user: str,
        thread_ts: str | None = None,
        files: list[dict[str, Any]] | None = None,
        ts: str | None = None,
    ) -> str:
        """Seed a message (e.g. a human's) and return its ts (``ts`` backdates it)."""
        if channel not in self.state.channels:
            raise KeyError(f"unknown channel {channel}")
        message: dict[str, Any] = {"user": user, "text": text}
        if thread_ts:
            message["thread_ts"] = thread_ts
        if files:
            message["files"] = files
        if ts is not None:
            if self.state.find_message(channel, ts) is not None:
                raise ValueError(f"a message with ts {ts} already exists in {channel}")
            message["ts"] = ts
        return self.state.append_message(channel, message)["ts"]

    def add_reaction(self, channel: str, ts: str, name: str, *, user: str) -> None:
        """A person reacts to a message (what Slack then announces with reaction_added)."""
        self.state.require_message(channel, ts)
        reacted = self.state.reactions.setdefault((channel, ts), [])
        if (name, user) not in reacted:
            reacted.append((name, user))

    def remove_reaction(self, channel: str, ts: str, name: str, *, user: str) -> None:
        reacted = self.state.reactions.get((channel, ts), [])
        if (name, user) in reacted:
            reacted.remove((name, user))

    def edit_message(self, channel: str, ts: str, text: str, *, user: str) -> dict[str, Any]:
        """A person edits a message; returns the message as a ``message_changed`` carries it."""
        message = self.state.require_message(channel, ts)
        previous = dict(message)
        message["text"] = text
        message["edited"] = {"user": user, "ts": self.state.new_ts()}
        return {"message": self.state.render(channel, message), "previous_message": previous}

    def delete_message(self, channel: str, ts: str) -> dict[str, Any]:
        """A person deletes a message; returns it as ``message_deleted`` carries it."""
        message = self.state.require_message(channel, ts)
        self.state.messages[channel].remove(message)
        self.state.reactions.pop((channel, ts), None)
        return message

    def new_trigger_id(self) -> str:
        return self.state.new_trigger_id()

    # --- fault injection ----------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error: str,
        *,
        times: int = 1,
        extra: dict[str, Any] | None = None,
        when: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` calls with ``ok: false``; the error must be documented.

        ``when`` limits the fault to calls with those argument values, e.g. the DM to one user.
        """
        if not self.spec.allows_error(method, error):
            raise ValueError(f"{error!r} is not a documented error of {method}")
        self._faults[method].extend(Fault("error", error, extra, when=when) for _ in range(times))

    def rate_limit_next(
        self,
        method: str,
        *,
        retry_after: int = 1,
        times: int = 1,
        when: dict[str, str] | None = None,
    ) -> None:
        self._faults[method].extend(
            Fault("ratelimit", retry_after=retry_after, when=when) for _ in range(times)
        )

    def server_error_next(
        self,
        method: str,
        *,
        status: int = 500,
        times: int = 1,
        when: dict[str, str] | None = None,
        content_type: str = "text/html",
    ) -> None:
        """Answer the next ``times`` calls with an error page (``content_type``), not JSON."""
        self._faults[method].extend(
            Fault("server", status=status, when=when, content_type=content_type)
            for _ in range(times)
        )

    def fail_after_success(
        self,
        method: str,
        *,
        status: int = 500,
        drop: bool = False,
        times: int = 1,
        when: dict[str, str] | None = None,
    ) -> None:
        """Do the next ``times`` calls' work, then lose the answer: a 5xx (``status``), or with
        ``drop`` a connection closed before any answer. Real Slack does both: a 500 or a dropped
        connection says nothing about whether the channel was made or the message posted."""
        self._faults[method].extend(
            Fault("after", status=status, drop=drop, when=when) for _ in range(times)
        )

    def _take_fault(self, method: str, args: dict[str, Any]) -> Fault | None:
        """Remove and return the first queued fault of ``method`` that applies to these args."""
        queue = self._faults[method]
        for fault in queue:
            if fault.matches(args):
                queue.remove(fault)
                return fault
        return None

    # --- request handling ---------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        call = Call(method=method, args={}, at=time.monotonic())
        self.calls.append(call)  # appended on arrival so ``calls`` keeps arrival order
        response = await self._answer(method, request, call)
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        return response

    async def _answer(self, method: str, request: web.Request, call: Call) -> web.StreamResponse:
        try:
            args, token = await _parse_args(request)
        except ValueError:
            return self._json(call, {"ok": False, "error": "invalid_form_data"})
        call.args = args
        if method not in HANDLERS:
            return self._json(call, {"ok": False, "error": "unknown_method"}, status=404)
        retry_after = self.tiers.arrived(method, args, token, call.at)
        if retry_after is not None:
            return self._fault(call, Fault("ratelimit", retry_after=retry_after))
        fault = self._take_fault(method, args)
        if fault is not None and fault.kind == "ratelimit":
            self.tiers.gave_retry_after(method, args, token, fault.retry_after)
        if fault is not None and fault.kind != "after":
            return self._fault(call, fault)
        entry = HANDLERS[method]
        try:
            try:
                self._check_auth(token, method)
                self._check_scopes(method)
                self._check_required(method, args)
            except SlackError as exc:  # generic or spec-derived codes: documented by construction
                return self._json(call, self._error(method, exc.code, **exc.extra))
            try:
                body = {"ok": True, **entry.handler(self.state, args)}
            except SlackError as exc:
                if exc.code not in entry.errors | GENERIC_ERRORS:
                    raise AssertionError(f"{method} raised undeclared error {exc.code!r}") from None
                body = self._error(method, exc.code, **exc.extra)
        except AssertionError as exc:  # the fake broke its own contract: fail loudly
            self.violations.append(str(exc))
            return self._text(call, 500, f"fakeslack violation: {exc}")
        except Exception:
            self.violations.append(f"{method} crashed:\n{traceback.format_exc()}")
            return self._text(call, 500, "fakeslack handler crashed; see fake.violations")
        if fault is not None:  # "after": the work is done; the answer is lost
            call.response = body
            if fault.drop:
                call.status = -1
                if request.transport is not None:
                    request.transport.close()
                return web.Response(status=204)
            return self._fault(call, fault)
        # Slack names the token's scopes on every authenticated answer (`incident-bot check`).
        granted = self.state.granted_scopes
        scopes = None if granted is None else {"x-oauth-scopes": ",".join(sorted(granted))}
        return self._json(call, body, headers=scopes)

    def _check_auth(self, token: str | None, method: str = "") -> None:
        if not token:
            raise SlackError("missing_args" if method == "apps.connections.open" else "not_authed")
        # apps.connections.open takes the app-level token; every other method the bot token.
        expected = self.app_token if method == "apps.connections.open" else self.token
        if token != expected:
            raise SlackError("invalid_auth")

    def _check_scopes(self, method: str) -> None:
        granted = self.state.granted_scopes
        spec = self.spec.method(method)
        if granted is None or spec is None or not spec.bot_scopes:
            return
        if not any(scope in granted for scope in spec.bot_scopes):
            raise SlackError(
                "missing_scope", needed=spec.bot_scopes[0], provided=",".join(sorted(granted))
            )

    def _check_required(self, method: str, args: Args) -> None:
        spec = self.spec.method(method)
        if spec is None:
            return
        for name in spec.required:
            if args.get(name) in (None, ""):
                raise SlackError(spec.missing_arg_error(name))

    def _error(self, method: str, code: str, **extra: Any) -> dict[str, Any]:
        """Build an error body; asserts Slack documents ``code`` for ``method``."""
        if not self.spec.allows_error(method, code):
            raise AssertionError(f"{method} would return undocumented error {code!r}")
        return {"ok": False, "error": code, **extra}

    def _fault(self, call: Call, fault: Fault) -> web.StreamResponse:
        if fault.kind == "ratelimit":
            return self._json(
                call,
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(fault.retry_after)},
            )
        if fault.kind in {"server", "after"}:
            return self._text(
                call,
                fault.status,
                "<html><body>Server Error</body></html>",
                content_type=fault.content_type,
            )
        return self._json(call, {"ok": False, "error": fault.error, **(fault.extra or {})})

    @staticmethod
    def _json(
        call: Call, body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
    ) -> web.Response:
        call.status, call.response = status, body
        return web.json_response(body, status=status, headers=headers)

    @staticmethod
    def _text(call: Call, status: int, text: str, content_type: str = "text/plain") -> web.Response:
        call.status, call.response = status, {}
        return web.Response(status=status, text=text, content_type=content_type)

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        """Step 2 of files_upload_v2: the raw bytes POSTed to the issued upload_url."""
        file_id = request.match_info["file_id"]
        call = Call(method="upload", args={"file_id": file_id}, at=time.monotonic())
        self.calls.append(call)
        upload = self.state.uploads.get(file_id)
        if upload is None:
            return self._text(call, 404, "not found")
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            part = await reader.next()
            content = await part.read(decode=False) if isinstance(part, BodyPartReader) else b""
        else:
            content = await request.read()
        upload["content"] = bytes(content)
        call.args["length"] = len(content)
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        call.status = 200
        return web.Response(text=f"OK - {len(content)}", content_type="text/plain")

    # --- Socket Mode ----------------------------------------------------------------------------

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        """The websocket apps.connections.open points at: hello, then envelopes and acks."""
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": len(self.sockets),
                "debug_info": {"host": "fakeslack", "approximate_connection_time": 3600},
                "connection_info": {"app_id": "A0001"},
            }
        )
        try:
            async for frame in socket:
                if frame.type != web.WSMsgType.TEXT:
                    continue
                message = json.loads(frame.data)
                if isinstance(message, dict) and "envelope_id" in message:
                    self.socket_acks[message["envelope_id"]] = message
                    self._ack_arrived.set()
        finally:
            self.sockets.remove(socket)
        return socket

    async def socket_send(self, kind: str, payload: dict[str, Any]) -> str:
        """Deliver a request over Socket Mode (`slash_commands`, `interactive`, `events_api`);
        returns its envelope id."""
        if not self.sockets:
            raise RuntimeError("no Socket Mode connection is open")
        envelope_id = self.state.new_id("env-")
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return envelope_id

    async def socket_ack(self, envelope_id: str) -> dict[str, Any]:
        """Wait (at most 5 s, longer than Slack's 3 s deadline) for the bot's ack."""
        async with asyncio.timeout(5):
            while envelope_id not in self.socket_acks:
                self._ack_arrived.clear()
                await self._ack_arrived.wait()
        return self.socket_acks[envelope_id]

    async def _handle_response_url(self, request: web.Request) -> web.StreamResponse:
        """Messages sent with Bolt's respond() to a response_url the test handed out."""
        call = Call(
            method="response_url", args={"key": request.match_info["key"]}, at=time.monotonic()
        )
        self.calls.append(call)
        try:
            body = await request.json(loads=json.loads)
        except ValueError:
            return self._text(call, 400, "invalid_payload")
        if not isinstance(body, dict):
            return self._text(call, 400, "invalid_payload")
        call.args.update(body)
        self.responses.append(body)
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        return self._text(call, 200, "ok")


async def _parse_args(request: web.Request) -> tuple[Args, str | None]:
    """Merge query string and body (JSON or form); return (args without token, token)."""
    args: Args = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json(loads=json.loads)
            if not isinstance(body, dict):
                raise ValueError("JSON body must be an object")
            args.update(body)
        else:
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in JSON_FIELDS:
        value = args.get(key)
        if isinstance(value, str) and value.strip()[:1] in {"[", "{"}:
            # Undecodable values stay strings; the handler reports the format error Slack would.
            with contextlib.suppress(ValueError):
                args[key] = json.loads(value)
    token = args.pop("token", None)
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        token = auth[len("Bearer ") :].strip()
    return args, token
