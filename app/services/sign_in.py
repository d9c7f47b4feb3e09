"""Sign in with Slack (OpenID Connect) for the dashboard: where to send the browser, and what
to check when it comes back.

The flow is Slack's (docs.slack.dev, "Sign in with Slack"): the browser goes to
SLACK_OIDC_URL (`https://slack.com/openid/connect/authorize`) with `response_type=code`,
`scope=openid profile email`, our client id, a `state` and a `nonce`, the redirect URL and
`team=<the bot's workspace>`; Slack sends it back with a `code`, which `openid.connect.token`
(slack-sdk, against SLACK_API_URL) exchanges for an `id_token`. That token is believed only
when:

- its RS256 signature verifies with a key from Slack's JWKS (`…/openid/connect/keys`, next to
  the authorize URL; fetched on demand and kept an hour; an unknown `kid` refetches it, at most
  once a minute; a failed fetch is not retried for KEYS_RETRY, so an outage of the keys costs
  one request to Slack per KEYS_RETRY whatever the number of sign-ins);
- `iss` is https://slack.com, `aud` exactly our client id (a list of audiences is refused:
  OpenID Connect Core 3.1.3.7), `exp` in the future and `iat` not in it (the injected clock, a
  minute's leeway), and `nonce` the one this browser was given;
- `https://slack.com/team_id` is the bot's own workspace (auth.test's team_id): a member of
  another workspace is refused, whatever Slack says about them otherwise.

Anything else refuses the sign-in (SignInRefused, with a reason the page explains); nothing is
guessed.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import jwt
from slack_sdk.errors import SlackApiError

from app.config.settings import Settings
from app.context import BotContext
from app.services.slack_errors import is_transient, slack_error

log = logging.getLogger(__name__)

ISSUER = "https://slack.com"
SCOPES = "openid profile email"
TEAM_CLAIM = "https://slack.com/team_id"
USER_CLAIM = "https://slack.com/user_id"
LEEWAY = timedelta(seconds=60)
KEYS_TTL = timedelta(hours=1)
KEYS_REFETCH = timedelta(minutes=1)
KEYS_RETRY = timedelta(seconds=10)
KEYS_TIMEOUT = 5.0
# Slack's answers that mean our own setup is wrong rather than this one sign-in.
SETUP_ERRORS = frozenset(
    {
        "invalid_client",
        "invalid_client_id",
        "bad_client_secret",
        "bad_redirect_uri",
        "invalid_grant_type",
    }
)


class SignInRefused(Exception):
    """Signing in failed; `reason` is a key the sign-in page explains (login_page.REASONS)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class SignedIn:
    """Who Slack says signed in, checked."""

    user_id: str
    name: str
    team_id: str
    email: str | None = None


def authorize_endpoint(settings: Settings) -> str:
    """SLACK_OIDC_URL, or next to SLACK_API_URL (`…/api/` -> `…/openid/connect/authorize`)."""
    if settings.slack_oidc_url:
        return settings.slack_oidc_url
    base = settings.slack_api_url.rstrip("/")
    if base.endswith("/api"):
        base = base[: -len("/api")]
    return f"{base}/openid/connect/authorize"


def keys_endpoint(settings: Settings) -> str:
    """The JWKS beside the authorize URL (Slack's: https://slack.com/openid/connect/keys)."""
    authorize = authorize_endpoint(settings).split("?", 1)[0].rstrip("/")
    head, _, last = authorize.rpartition("/")
    return f"{head}/keys" if last == "authorize" else f"{authorize}/keys"


class SlackSignIn:
    """One per web app: the keys it has fetched and the workspace it belongs to."""

    def __init__(self, ctx: BotContext) -> None:
        self._ctx = ctx
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_fetched: datetime | None = None
        self._keys_failed: datetime | None = None
        self._team_id: str | None = None
        self._lock = asyncio.Lock()

    async def authorize_url(self, redirect_uri: str, state: str, nonce: str) -> str:
        settings = self._ctx.settings
        assert settings.slack_client_id is not None
        query = {
            "response_type": "code",
            "scope": SCOPES,
            "client_id": settings.slack_client_id,
            "state": state,
            "nonce": nonce,
            "redirect_uri": redirect_uri,
            "team": await self.team_id(),
        }
        return f"{authorize_endpoint(settings)}?{urlencode(query, quote_via=quote)}"

    async def team_id(self) -> str:
        """The bot's workspace (auth.test's team_id), asked once."""
        if self._team_id is None:
            try:
                answer = await self._ctx.slack.auth_test()
            except Exception as exc:  # noqa: BLE001 - any failure: no sign-in now, said so
                log.warning("Sign in with Slack: auth.test failed (%s)", slack_error(exc))
                raise SignInRefused("unavailable", slack_error(exc)) from exc
            self._team_id = str(answer["team_id"])
        return self._team_id

    async def finish(self, code: str, redirect_uri: str, nonce: str) -> SignedIn:
        """Exchange `code` and check the id_token (see the module's docstring)."""
        settings = self._ctx.settings
        assert settings.slack_client_id is not None and settings.slack_client_secret is not None
        try:
            answer = await self._ctx.slack.openid_connect_token(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret,
                code=code,
                redirect_uri=redirect_uri,
                grant_type="authorization_code",
            )
        except SlackApiError as exc:
            error = slack_error(exc)
            if error in SETUP_ERRORS:
                log.error("Sign in with Slack: openid.connect.token refused our app (%s)", error)
                raise SignInRefused("misconfigured", error) from exc
            reason = "unavailable" if is_transient(exc) else "invalid_code"
            log.warning("Sign in with Slack: openid.connect.token failed (%s)", error)
            raise SignInRefused(reason, error) from exc
        except Exception as exc:  # noqa: BLE001 - network trouble
            log.warning("Sign in with Slack: openid.connect.token failed (%s)", slack_error(exc))
            raise SignInRefused("unavailable", slack_error(exc)) from exc
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            raise SignInRefused("invalid_token", "no id_token in Slack's answer")
        claims = await self.verify(id_token, nonce)
        return await self._person(claims)

    async def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The claims of a genuine id_token for us and this browser; else SignInRefused."""
        settings = self._ctx.settings
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as exc:
            raise SignInRefused("invalid_token", f"unreadable id_token ({exc})") from exc
        if header.get("alg") != "RS256":
            raise SignInRefused("invalid_token", f"alg {header.get('alg')!r} is not RS256")
        key = await self._key(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key=key,
                algorithms=["RS256"],
                audience=settings.slack_client_id,
                issuer=ISSUER,
                # exp and iat are checked below against the injected clock, not the machine's.
                options={
                    "require": ["iss", "aud", "sub", "exp", "iat"],
                    "strict_aud": True,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            log.warning("Sign in with Slack: an id_token was refused (%s)", exc)
            raise SignInRefused("invalid_token", str(exc)) from exc
        self._check_times(claims)
        offered = claims.get("nonce")
        if not isinstance(offered, str) or not hmac.compare_digest(
            offered.encode(), nonce.encode()
        ):
            log.warning("Sign in with Slack: an id_token's nonce is not this browser's")
            raise SignInRefused("invalid_token", "nonce mismatch")
        return claims

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self._ctx.clock.now().timestamp()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise SignInRefused("invalid_token", "exp or iat is not a number")
        if exp <= now - LEEWAY.total_seconds():
            raise SignInRefused("invalid_token", "the id_token has expired")
        if iat > now + LEEWAY.total_seconds():
            raise SignInRefused("invalid_token", "the id_token was issued in the future")

    async def _person(self, claims: dict[str, Any]) -> SignedIn:
        team = claims.get(TEAM_CLAIM)
        expected = await self.team_id()
        if not isinstance(team, str) or not hmac.compare_digest(team.encode(), expected.encode()):
            log.warning(
                "Sign in with Slack: refused %s of workspace %s (the bot's is %s)",
                str(claims.get("sub"))[:32],
                str(team)[:32],
                expected,
            )
            raise SignInRefused("other_workspace", str(team)[:32])
        user_id = claims.get(USER_CLAIM) or claims.get("sub")
        if not isinstance(user_id, str) or not user_id:
            raise SignInRefused("invalid_token", "no user id")
        name = claims.get("name") or claims.get("given_name") or user_id
        email = claims.get("email")
        return SignedIn(
            user_id=user_id,
            name=str(name)[:200],
            team_id=team,
            email=email if isinstance(email, str) else None,
        )

    async def _key(self, kid: str) -> jwt.PyJWK:
        async with self._lock:
            now = self._ctx.clock.now()
            fetched = self._keys_fetched
            stale = fetched is None or now - fetched >= KEYS_TTL
            unknown = kid not in self._keys and (fetched is None or now - fetched >= KEYS_REFETCH)
            if stale or unknown:
                failed = self._keys_failed
                if failed is not None and timedelta(0) <= now - failed < KEYS_RETRY:
                    raise SignInRefused("unavailable", "keys: the last fetch failed a moment ago")
                try:
                    self._keys = await self._fetch_keys()
                except SignInRefused:
                    self._keys_failed = now
                    raise
                self._keys_fetched, self._keys_failed = now, None
            key = self._keys.get(kid)
        if key is None:
            raise SignInRefused("invalid_token", f"no key {kid[:40]!r} in Slack's JWKS")
        return key

    async def _fetch_keys(self) -> dict[str, jwt.PyJWK]:
        url = keys_endpoint(self._ctx.settings)
        try:
            async with httpx.AsyncClient(timeout=KEYS_TIMEOUT) as http:
                response = await http.get(url, headers={"accept": "application/json"})
                response.raise_for_status()
                document = json.loads(response.text)
            if not isinstance(document, dict):
                raise ValueError("the JWKS is not a JSON object")
            keys = jwt.PyJWKSet.from_dict(document).keys
        except (httpx.HTTPError, TimeoutError, ValueError, jwt.PyJWTError) as exc:
            log.warning("Sign in with Slack: could not read the keys at %s (%s)", url, exc)
            raise SignInRefused("unavailable", f"keys: {type(exc).__name__}") from exc
        return {str(key.key_id): key for key in keys if key.key_id and key.key_type == "RSA"}
