"""Who is looking at the dashboard: Sign in with Slack (OpenID Connect) or the static token,
kept in a signed session cookie (issue 18).

    guard(bot, endpoint)   every dashboard page: 404 while the dashboard is off, the static
                           token taken from the URL (`?token=`, once: cookie, then the same
                           address without it), no viewer -> /dashboard/login?next=<path>,
                           else `request.state.viewer` is set and the page runs
    viewer_of(bot, request)   the viewer of a request's session cookie, or None

Routes: GET/POST /dashboard/login (the page; the token form), GET /dashboard/auth/slack (off
to Slack), GET /dashboard/auth/callback (back from Slack), POST /dashboard/logout.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from app.context import BotContext
from app.dashboard import login_page
from app.dashboard.sessions import (
    COOKIE_PATH,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    SIGN_IN_TTL,
    Signer,
    secure_cookies,
    session_key,
    session_lifetime,
    session_signer,
    sign_in_signer,
)
from app.services import sign_in

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]
HOME = "/dashboard"
CALLBACK_PATH = "/dashboard/auth/callback"
TOKEN_VIEWER_NAME = "dashboard token"
MAX_NEXT_CHARS = 1000
MAX_CODE_CHARS = 512
_DOT_SEGMENTS = frozenset({".", "..", "%2e", ".%2e", "%2e.", "%2e%2e"})


@dataclass(frozen=True)
class Viewer:
    """A signed-in person (`user_id` set: Sign in with Slack), or the static token's holder
    (`user_id` None: public incidents only)."""

    user_id: str | None
    name: str
    team_id: str | None = None

    @property
    def via_token(self) -> bool:
        return self.user_id is None


def viewer_of(bot: BotContext, request: Request) -> Viewer | None:
    """The viewer of a request's session cookie, or None (not signed in, expired, tampered,
    or signed in a way the settings no longer allow)."""
    settings = bot.settings
    values = session_signer(settings).read(request.cookies.get(SESSION_COOKIE), bot.clock.now())
    if values is None:
        return None
    if values.get("via") == "token":
        current = settings.dashboard_token
        if current is None or not hmac.compare_digest(
            str(values.get("tk", "")), _token_mark(bot, current)
        ):
            return None  # the token was changed or unset since: its sessions end with it
        return Viewer(user_id=None, name=TOKEN_VIEWER_NAME)
    if values.get("via") == "slack" and settings.sign_in_with_slack:
        user_id, name, team_id = values.get("sub"), values.get("name"), values.get("team")
        if isinstance(user_id, str) and isinstance(name, str) and isinstance(team_id, str):
            return Viewer(user_id=user_id, name=name, team_id=team_id)
    return None


def guard(bot: BotContext, endpoint: Endpoint) -> Endpoint:
    """`endpoint` behind the dashboard's door (see the module's docstring)."""

    async def guarded(request: Request) -> Response:
        if not bot.settings.dashboard_enabled:
            return disabled()
        if "token" in request.query_params:
            return _token_from_url(bot, request)
        viewer = viewer_of(bot, request)
        if viewer is None:
            return _redirect(login_url(_path_of(request)))
        request.state.viewer = viewer
        response = await endpoint(request)
        response.headers.setdefault("cache-control", "no-store")
        response.headers.setdefault("referrer-policy", "same-origin")
        return response

    return guarded


require_viewer = guard


def disabled() -> Response:
    return PlainTextResponse(
        "The dashboard is off. To turn it on, set DASHBOARD_TOKEN (at least 16 characters), "
        "or SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and PUBLIC_URL for Sign in with Slack.",
        status_code=404,
    )


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of the dashboard on this site, else /dashboard."""
    if not value or len(value) > MAX_NEXT_CHARS or not value.startswith(HOME):
        return HOME
    rest = value[len(HOME) :]
    if rest and rest[0] not in "/?":
        return HOME  # /dashboardsomething is not ours
    if any(ch in value for ch in "\\\r\n\t") or "//" in value.split("?", 1)[0]:
        return HOME
    if not value.isprintable():
        return HOME
    path = value.split("?", 1)[0]
    if any(segment.lower() in _DOT_SEGMENTS for segment in path.split("/")):
        return HOME  # /dashboard/../status is not the dashboard's
    return value


def login_url(next_path: str, error: str | None = None) -> str:
    query = {"next": safe_next(next_path)}
    if error:
        query["error"] = error
    return f"{HOME}/login?{urlencode(query)}"


def routes(bot: BotContext) -> list[BaseRoute]:
    """/dashboard/login, /dashboard/auth/slack, /dashboard/auth/callback, /dashboard/logout."""
    door = _Door(bot)
    return [
        Route(f"{HOME}/login", door.login_form, methods=["GET"]),
        Route(f"{HOME}/login", door.login_with_token, methods=["POST"]),
        Route(f"{HOME}/auth/slack", door.start_slack, methods=["GET"]),
        Route(CALLBACK_PATH, door.callback, methods=["GET"]),
        Route(f"{HOME}/logout", door.logout, methods=["POST"]),
    ]


class _Door:
    """The sign-in routes of one web app."""

    def __init__(self, bot: BotContext) -> None:
        self.bot = bot
        self.slack_sign_in = sign_in.SlackSignIn(bot)

    def _off(self, *, slack: bool = False) -> Response | None:
        """The answer while the dashboard (or Sign in with Slack) is off; None when on."""
        settings = self.bot.settings
        if not settings.dashboard_enabled:
            return disabled()
        if slack and not settings.sign_in_with_slack:
            return _redirect(login_url(HOME))
        return None

    async def login_form(self, request: Request) -> Response:
        if (off := self._off()) is not None:
            return off
        params = request.query_params
        return _login(self.bot, params.get("next"), params.get("error"))

    async def login_with_token(self, request: Request) -> Response:
        if (off := self._off()) is not None:
            return off
        if not _same_origin(self.bot, request):
            return PlainTextResponse("cross-site form refused", status_code=403)
        form = await _form(request)
        next_path = safe_next(form.get("next"))
        token = form.get("token")
        if token is None or not _token_matches(self.bot, token):
            log.warning("dashboard: a sign-in with a wrong token was refused")
            return _login(self.bot, next_path, "token", status_code=401)
        return _signed_in_as_token(self.bot, request, _redirect(next_path))

    async def start_slack(self, request: Request) -> Response:
        if (off := self._off(slack=True)) is not None:
            return off
        bot = self.bot
        next_path = safe_next(request.query_params.get("next"))
        state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        try:
            address = await self.slack_sign_in.authorize_url(_callback_url(bot), state, nonce)
        except sign_in.SignInRefused as exc:
            return _login(bot, next_path, exc.reason, status_code=503)
        response = _redirect(address)
        cookie = sign_in_signer(bot.settings).sign(
            {"state": state, "nonce": nonce, "next": next_path}, bot.clock.now() + SIGN_IN_TTL
        )
        _set_cookie(bot, request, response, SIGN_IN_COOKIE, cookie, SIGN_IN_TTL.total_seconds())
        return response

    async def callback(self, request: Request) -> Response:
        if (off := self._off(slack=True)) is not None:
            return off
        bot = self.bot
        pending = sign_in_signer(bot.settings).read(
            request.cookies.get(SIGN_IN_COOKIE), bot.clock.now()
        )
        next_path = safe_next(str(pending.get("next", HOME)) if pending else HOME)
        response = await _finish_slack(bot, self.slack_sign_in, request, pending, next_path)
        _clear_cookie(bot, request, response, SIGN_IN_COOKIE)  # one use, whatever happened
        return response

    async def logout(self, request: Request) -> Response:
        if not _same_origin(self.bot, request):
            return PlainTextResponse("cross-site form refused", status_code=403)
        response = _redirect(f"{HOME}/login")
        _clear_cookie(self.bot, request, response, SESSION_COOKIE)
        return response


async def _finish_slack(
    bot: BotContext,
    slack_sign_in: sign_in.SlackSignIn,
    request: Request,
    pending: dict[str, object] | None,
    next_path: str,
) -> Response:
    params = request.query_params
    if pending is None:
        return _login(bot, next_path, "expired", status_code=400)
    state = params.get("state") or ""
    if not hmac.compare_digest(state.encode(), str(pending.get("state", "")).encode()):
        log.warning("refused a Sign in with Slack callback whose state is not this browser's")
        return _login(bot, next_path, "state", status_code=400)
    if params.get("error"):
        return _login(bot, next_path, "denied", status_code=400)
    code = params.get("code")
    if not code:
        return _login(bot, next_path, "state", status_code=400)
    if len(code) > MAX_CODE_CHARS or not code.isascii() or not code.isprintable():
        return _login(bot, next_path, "invalid_code", status_code=400)
    try:
        person = await slack_sign_in.finish(code, _callback_url(bot), str(pending.get("nonce")))
    except sign_in.SignInRefused as exc:
        status = 403 if exc.reason == "other_workspace" else 400
        if exc.reason == "unavailable":
            status = 503
        return _login(bot, next_path, exc.reason, status_code=status)
    response = _redirect(next_path)
    lifetime = session_lifetime(bot.settings)
    cookie = session_signer(bot.settings).sign(
        {"via": "slack", "sub": person.user_id, "name": person.name, "team": person.team_id},
        bot.clock.now() + lifetime,
    )
    _set_cookie(bot, request, response, SESSION_COOKIE, cookie, lifetime.total_seconds())
    log.info("dashboard: %s signed in with Slack", person.user_id)
    return response


def _token_from_url(bot: BotContext, request: Request) -> Response:
    """`?token=` on a dashboard address: the cookie, then the address without the token (so it
    leaves the address bar and the history); a wrong one goes to the login page, also
    without it."""
    token = request.query_params.get("token", "")
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
    clean = request.url.path + (f"?{urlencode(kept)}" if kept else "")
    if not _token_matches(bot, token):
        log.warning("dashboard: a sign-in with a wrong token (in an address) was refused")
        return _redirect(login_url(clean, "token"))
    return _signed_in_as_token(bot, request, _redirect(safe_next(clean)))


def _token_matches(bot: BotContext, offered: str) -> bool:
    expected = bot.settings.dashboard_token
    if expected is None:
        return False
    return hmac.compare_digest(offered.encode("utf-8"), expected.encode("utf-8"))


def _token_mark(bot: BotContext, token: str) -> str:
    """A fingerprint of the token in its sessions: a new token ends the old one's sessions."""
    key = session_key(bot.settings)
    return hmac.new(key, b"token\n" + token.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def _signed_in_as_token(bot: BotContext, request: Request, response: Response) -> Response:
    lifetime = session_lifetime(bot.settings)
    assert bot.settings.dashboard_token is not None
    cookie = session_signer(bot.settings).sign(
        {"via": "token", "tk": _token_mark(bot, bot.settings.dashboard_token)},
        bot.clock.now() + lifetime,
    )
    _set_cookie(bot, request, response, SESSION_COOKIE, cookie, lifetime.total_seconds())
    log.info("dashboard: signed in with the dashboard token")
    return response


def _set_cookie(
    bot: BotContext, request: Request, response: Response, name: str, value: str, age: float
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=int(age),
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=_secure(bot, request),
    )


def _clear_cookie(bot: BotContext, request: Request, response: Response, name: str) -> None:
    """`name` deleted with the attributes it was set with (a Secure cookie is only ever
    replaced by a Secure one)."""
    response.delete_cookie(
        name, path=COOKIE_PATH, httponly=True, samesite="lax", secure=_secure(bot, request)
    )


def _secure(bot: BotContext, request: Request) -> bool:
    """Secure when PUBLIC_URL is https, or when this request itself came over https."""
    return secure_cookies(bot.settings) or request.url.scheme == "https"


def _redirect(location: str) -> Response:
    response = RedirectResponse(location, status_code=303)
    response.headers["cache-control"] = "no-store"
    response.headers["referrer-policy"] = "no-referrer"
    return response


def _login(
    bot: BotContext, next_path: str | None, error: str | None, status_code: int = 200
) -> Response:
    return login_page.render(
        next_path=safe_next(next_path),
        error=error,
        with_slack=bot.settings.sign_in_with_slack,
        with_token=bot.settings.dashboard_token is not None,
        status_code=status_code,
    )


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (the first of each); anything else reads as empty."""
    if request.headers.get("content-type", "").split(";")[0].strip() != (
        "application/x-www-form-urlencoded"
    ):
        return {}
    try:
        fields = parse_qs((await request.body()).decode("utf-8"), max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {key: values[0] for key, values in fields.items()}


def _path_of(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _callback_url(bot: BotContext) -> str:
    assert bot.settings.public_url is not None
    return bot.settings.public_url.rstrip("/") + CALLBACK_PATH


def _same_origin(bot: BotContext, request: Request) -> bool:
    """A form posted from another site is refused. Browsers say where a request comes from in
    Sec-Fetch-Site; without it, an Origin, when sent, must be PUBLIC_URL's or the Host the
    request came to ("null", an opaque origin, is refused)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True
    public = (bot.settings.public_url or "").rstrip("/")
    host = request.headers.get("host", "")
    return origin in (public, f"http://{host}", f"https://{host}")


__all__ = ["Signer", "Viewer", "guard", "require_viewer", "viewer_of"]
