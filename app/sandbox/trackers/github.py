"""FakeGitHub: an aiohttp server answering GitHub's REST API for issues, like GitHub, only
stricter, for the tests and the demo.

    fake = FakeGitHub(token="ghp_test", login="incident-bot")
    fake.seed_repo("acme/api", collaborators=["octocat"])
    fake.seed_user("octocat", email="octocat@example.com")
    await fake.start()          # fake.base_url is GITHUB_API_URL
    ...
    assert fake.issues("acme/api")[0].title == "..."
    assert fake.violations == []
    await fake.stop()

Pipeline (GitHub's order): down -> injected fault -> route (404) -> client checks (User-Agent,
API version) -> auth (401) -> primary rate limit (403/429 with x-ratelimit-remaining: 0) ->
secondary rate limit on demand (403/429 with retry-after) -> handler -> lost answer on demand.
Every answer to an authenticated call carries x-ratelimit-limit/remaining/reset/used/resource.
Routes and shapes: github_routes.py and github_state.py. Faults, seeding and the signed webhook
deliveries: github_faults.py. The clock is `now` (a callable); the fake never reads the wall
clock, so a test moves time (rate-limit windows, token expiry) with its own clock.

`violations` lists the client's breaches of GitHub's contract (a missing User-Agent, a body
that is not JSON or breaks the description's types, calls while rate limited, an unknown
route) and the fake's own crashes; tests assert it is empty.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from .github_faults import Fault, GitHubFaults
from .github_routes import ROUTES
from .github_state import User
from .github_world import Answer, Ctx, GitHubError, Route, Window, World

__all__ = ["Call", "FakeGitHub"]

VERSIONS = ("2022-11-28", "2026-03-10")
LIMITS = {"core": 5000, "search": 30}
WINDOWS = {"core": 3600, "search": 60}
PRIMARY = (
    "API rate limit exceeded for user ID {id}. If you reach out to GitHub Support for help, "
    "please include the request ID."
)
SECONDARY = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try "
    "again. If you reach out to GitHub Support for help, please include the request ID."
)
UNAVAILABLE = (
    "No server is currently available to service your request. Sorry about that. Please try "
    "resubmitting your request and contact us if the problem persists."
)
NO_AGENT = (
    "Request forbidden by administrative rules. Please make sure your request has a "
    "User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api"
    "#user-agent-required)."
)
NOT_INSTALLATION = (
    "You must authenticate with an installation access token in order to list repositories "
    "for an installation."
)


@dataclass
class Call:
    method: str
    path: str
    operation: str | None
    query: dict[str, str]
    body: Any
    status: int = 0


class FakeGitHub(GitHubFaults):
    def __init__(
        self,
        token: str = "ghp_test",
        login: str = "incident-bot",
        *,
        now: Callable[[], datetime] | None = None,
        app_id: str | None = None,
        app_public_key: str | None = None,
        installation_id: str | None = None,
        app_slug: str = "incident-bot",
    ) -> None:
        self.token = token
        self._start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
        self.now: Callable[[], datetime] = now or (lambda: self._start)
        self.world = World(api="", now=lambda: self.now())
        self.world.app_id, self.world.installation_id = app_id, installation_id
        self.world.app_slug = app_slug
        self.app_public_key = app_public_key
        self.bot = self.seed_user(login)
        self.app_bot = User(f"{app_slug}[bot]", 9000, type="Bot")
        self.world.users[self.app_bot.login.casefold()] = self.app_bot
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.windows = {name: Window(limit) for name, limit in LIMITS.items()}
        self._limited_until: dict[str, float] = {}  # resource -> epoch the client must wait
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        super().__init__()

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        self.world.api = self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeGitHub.start() has not been awaited")
        return f"http://127.0.0.1:{self._port}"

    def calls_to(self, operation: str) -> list[Call]:
        return [c for c in self.calls if c.operation == operation]

    # --- request handling -----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.raw_path.split("?", 1)[0]
        route, groups = _find_route(request.method, raw_path)
        call = Call(
            request.method, raw_path, route.operation if route else None, dict(request.query), None
        )
        self.calls.append(call)
        if self._is_down():
            return self._drop(request, call) if self._down_drops else self._unavailable(call)
        fault = self._take_fault(call.operation)
        if fault is not None:
            return self._fault(request, call, fault)
        if route is None:
            self.violations.append(f"{request.method} {raw_path}: no such GitHub endpoint")
            return self._error(call, GitHubError(404, "Not Found"))
        try:
            answer, resource = await self._serve(request, route, groups, call)
        except GitHubError as exc:
            if exc.shape_breach:
                self.violations.append(f"{route.operation}: {exc.message}")
            return self._error(call, exc, self._rate_headers(route.resource))
        except Exception:
            self.violations.append(f"{route.operation} crashed:\n{traceback.format_exc()}")
            call.status = 500
            return web.Response(status=500, text="fake GitHub crashed; see violations")
        lost = self._take(route.operation, ("after",))
        if lost is not None:  # the work is done; the answer is lost
            return self._fault(request, call, lost)
        headers = {**self._rate_headers(resource), **answer.headers}
        call.status = answer.status
        if answer.body is None:
            return web.Response(status=answer.status, headers=headers)
        return web.json_response(answer.body, status=answer.status, headers=headers)

    async def _serve(
        self, request: web.Request, route: Route, groups: tuple[str, ...], call: Call
    ) -> tuple[Answer, str]:
        self._check_client(request, route)
        body = await _json_body(request)
        call.body = body
        actor, kind = self._authenticate(request, route)
        self._spend(route)
        secondary = self._take_secondary(route.operation)
        if secondary is not None:
            raise self._secondary(secondary)
        ctx = Ctx(request.method, str(request.url), call.query, body, actor, kind, groups)
        return route.handler(self.world, ctx), route.resource

    def _check_client(self, request: web.Request, route: Route) -> None:
        if not request.headers.get("User-Agent"):
            self.violations.append(f"{route.operation}: no User-Agent header")
            raise GitHubError(403, NO_AGENT)
        version = request.headers.get("X-GitHub-Api-Version")
        if version is not None and version not in VERSIONS:
            self.violations.append(f"{route.operation}: unsupported API version {version}")
            raise GitHubError(400, f"API version {version} is not supported.")
        if "access_token" in request.query:
            self.violations.append(f"{route.operation}: token in the query string")
            raise GitHubError(400, "Passing the token in the query string is not supported")

    def _authenticate(self, request: web.Request, route: Route) -> tuple[User, str]:
        header = request.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() not in ("bearer", "token") or not credential:
            raise GitHubError(401, "Requires authentication")
        if route.auth == "jwt":
            self._check_jwt(credential)
            return self.app_bot, "jwt"
        expires = self.world.tokens.get(credential)
        if expires is not None and self.now() < expires:
            return self.app_bot, "installation"
        if route.auth == "installation":
            raise GitHubError(403, NOT_INSTALLATION)
        if credential != self.token or self.token == "":
            raise GitHubError(401, "Bad credentials")
        return self.bot, "token"

    def _check_jwt(self, credential: str) -> None:
        """GitHub's checks of an App's JWT: RS256 by the App's key, `iss` the App's id, `iat`
        not in the future, `exp` in the future and at most 10 minutes after `iat`."""
        if self.app_public_key is None or self.world.app_id is None:
            raise GitHubError(401, "A JSON web token could not be decoded")
        import jwt

        try:
            claims = jwt.decode(
                credential,
                self.app_public_key,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError:
            raise GitHubError(401, "A JSON web token could not be decoded") from None
        now = self.now().timestamp()
        iat, exp = claims.get("iat"), claims.get("exp")
        if str(claims.get("iss")) != self.world.app_id:
            raise GitHubError(401, "'Issuer' claim ('iss') must be an Integer")
        if not isinstance(iat, int) or iat > now + 60:
            raise GitHubError(401, "'Issued at' claim ('iat') must be an Integer in the past")
        if not isinstance(exp, int) or exp <= now:
            raise GitHubError(401, "'Expiration time' claim ('exp') must be in the future")
        if exp - iat > 600:
            raise GitHubError(401, "'Expiration time' claim ('exp') is too far in the future")

    # --- rate limits ----------------------------------------------------------------------------

    def _window(self, resource: str) -> Window:
        window = self.windows[resource]
        now = self.now().timestamp()
        if now >= window.reset:
            window.used, window.reset = 0, int(now) + WINDOWS[resource]
        return window

    def _spend(self, route: Route) -> None:
        resource = route.resource
        window = self._window(resource)
        now = self.now().timestamp()
        if now < self._limited_until.get(resource, 0.0):
            self.violations.append(f"{route.operation}: called while rate limited ({resource})")
        if window.used >= window.limit:
            self._limited_until[resource] = float(window.reset)
            raise GitHubError(self._primary_status, PRIMARY.format(id=self.bot.id))
        window.used += 1

    def _rate_headers(self, resource: str) -> dict[str, str]:
        window = self._window(resource)
        return {
            "x-ratelimit-limit": str(window.limit),
            "x-ratelimit-remaining": str(max(window.limit - window.used, 0)),
            "x-ratelimit-reset": str(window.reset),
            "x-ratelimit-used": str(window.used),
            "x-ratelimit-resource": resource,
        }

    def _secondary(self, fault: Fault) -> GitHubError:
        self._limited_until["core"] = self.now().timestamp() + fault.retry_after
        return GitHubError(fault.status, SECONDARY, retry_after=fault.retry_after)

    # --- answers --------------------------------------------------------------------------------

    def _error(
        self, call: Call, error: GitHubError, headers: dict[str, str] | None = None
    ) -> web.Response:
        call.status = error.status
        extra = dict(headers or {})
        if error.retry_after is not None:
            extra["retry-after"] = str(error.retry_after)
        return web.json_response(error.body(), status=error.status, headers=extra)

    def _unavailable(self, call: Call) -> web.Response:
        call.status = 503
        return web.json_response({"message": UNAVAILABLE}, status=503)

    def _drop(self, request: web.Request, call: Call) -> web.StreamResponse:
        call.status = -1
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=204)

    def _fault(self, request: web.Request, call: Call, fault: Fault) -> web.StreamResponse:
        if fault.kind == "drop" or (fault.kind == "after" and fault.drop):
            return self._drop(request, call)
        if fault.kind == "ratelimit":  # a 429 with Retry-After, GitHub's other way to say it
            call.status = 429
            self._limited_until["core"] = self.now().timestamp() + fault.retry_after
            body = {
                "message": "Too Many Requests",
                "documentation_url": "https://docs.github.com/rest",
            }
            return web.json_response(
                body, status=429, headers={"retry-after": str(fault.retry_after)}
            )
        call.status = fault.status
        if fault.status == 503:
            return self._unavailable(call)
        if fault.status == 502:
            return web.Response(
                status=502,
                text="<html><body><h1>502 Bad Gateway</h1></body></html>",
                content_type="text/html",
            )
        return web.json_response({"message": "Server Error"}, status=fault.status)


def _find_route(method: str, raw_path: str) -> tuple[Route | None, tuple[str, ...]]:
    for route in ROUTES:
        match = route.pattern.match(raw_path)
        if match and route.method == method:
            return route, tuple(unquote(group) for group in match.groups())
    return None, ()


async def _json_body(request: web.Request) -> Any:
    if request.method in ("GET", "DELETE", "HEAD"):
        return None
    raw = await request.read()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise GitHubError(400, "Problems parsing JSON", shape_breach=True) from None
