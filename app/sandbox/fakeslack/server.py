"""FakeSlack: an aiohttp server answering slack-sdk's Web API calls like Slack, only stricter.

Request pipeline (order matters, it is Slack's): parse args -> unknown method (404) -> rate
tier (429, see tiers.py) -> injected fault -> auth -> scopes -> spec-required args -> handler.
Every request is recorded in ``calls``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import traceback
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

from . import blockkit, methods, oidc  # noqa: F401  (registers the handlers)
from .faults import Fault, FaultInjection
from .methods import openid
from .registry import HANDLERS, Args, SlackError
from .seeding import Seeding
from .sockets import SocketMode
from .spec import GENERIC_ERRORS, SlackSpec
from .state import (
    BOT_ID,
    BOT_USER_ID,
    TEAM_ID,
    Call,
    Channel,
    SlackState,
)
from .tiers import DEFAULT_SCALE, Tiers

# Fields slack-sdk may send as JSON strings inside form bodies.
JSON_FIELDS = ("blocks", "attachments", "view", "files", "metadata", "unfurled_attachments")


class FakeSlack(Seeding, FaultInjection, SocketMode):
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
        # Sign in with Slack's pages and keys
        oidc.add_routes(app.router, self.state.openid, self.state.users)
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
    # Sign in with Slack: register_app, sign_in_as, add_outsider (see oidc.py).
    openid = property(lambda self: self.state.openid)

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
        if method in openid.METHODS:  # Sign in with Slack's: outside the reference (openid.py)
            return self._answer_openid(method, args, token, call)
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

    def _answer_openid(
        self, method: str, args: Args, token: str | None, call: Call
    ) -> web.StreamResponse:
        try:
            body = {"ok": True, **openid.METHODS[method](self.state, args, token)}
        except SlackError as exc:
            if exc.code not in openid.ERRORS[method] | GENERIC_ERRORS:
                self.violations.append(f"{method} raised undeclared error {exc.code!r}")
                return self._text(call, 500, f"fakeslack violation: {exc.code}")
            body = {"ok": False, "error": exc.code}
        return self._json(call, body)

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
        # A response_url answer's blocks are held to Block Kit's rules, as chat.* calls are.
        if body.get("blocks") and blockkit.message_problems(body["blocks"]):
            return self._text(call, 400, "invalid_blocks")
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
    elif auth.startswith("Basic "):  # client_secret_basic (openid.connect.token)
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            client_id, _, secret = base64.b64decode(auth[6:].strip()).decode().partition(":")
            args.setdefault("client_id", client_id)
            args.setdefault("client_secret", secret)
    return args, token
