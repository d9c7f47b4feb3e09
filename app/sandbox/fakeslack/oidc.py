"""Sign in with Slack's side: a fake OpenID Connect provider, as docs.slack.dev describes it.

    GET  /openid/connect/authorize   the browser's page: "Sign in as" one of the workspace's
                                     people (or whoever ``sign_in_as`` chose, at once); then a
                                     redirect to ``redirect_uri`` with ``code`` and ``state``
    POST /openid/connect/authorize   that page's buttons
    GET  /openid/connect/keys        the JWKS (one RS256 key, generated per fake; ``rotate_key``
                                     replaces it by a new one with a new ``kid``;
                                     ``keys_down`` answers 503; ``keys_served`` counts)
    openid.connect.token             (Web API, methods/openid.py) code -> access_token, id_token
    openid.connect.userInfo          (Web API) the signed-in person, by that access_token

Strict like Slack: the client id, secret and redirect URI must be those registered with
``register_app``; a code is used once, within ``code_ttl`` seconds, by the app and redirect
URI it was issued for. ``clock`` (seconds since the epoch) dates the tokens: a test gives the
bot's injected clock. ``add_outsider`` adds a person of another workspace, who may sign in
too (Slack's ``team`` parameter is a hint, not a check): the app must refuse them itself.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any, Protocol
from urllib.parse import urlencode

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import SlackError


class WorkspaceUser(Protocol):
    """What the provider reads of the fake workspace's users (state.User)."""

    id: str
    name: str
    email: str | None
    is_bot: bool


Users = Mapping[str, WorkspaceUser]

ISSUER = "https://slack.com"
KEY_ID = "fake-slack-oidc-1"
ID_TOKEN_TTL = 300  # Slack's sample id_token: exp = iat + 300


@dataclass(frozen=True)
class OidcApp:
    client_id: str
    client_secret: str
    redirect_uris: frozenset[str]


@dataclass(frozen=True)
class Person:
    """Who may sign in: the workspace's people, and outsiders of other workspaces."""

    user_id: str
    name: str
    email: str | None
    team_id: str


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    person: Person
    nonce: str | None
    issued: float
    used: bool = False


@dataclass
class OidcProvider:
    team_id: str
    team_name: str
    clock: Callable[[], float] = time.time
    code_ttl: float = 600.0
    apps: dict[str, OidcApp] = field(default_factory=dict)
    outsiders: dict[str, Person] = field(default_factory=dict)
    codes: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, Grant] = field(default_factory=dict)
    chosen: str | None = None
    # Every id_token issued, for tests that look at what the app was handed.
    issued_id_tokens: list[str] = field(default_factory=list)
    key_id: str = KEY_ID
    keys_down: bool = False  # the JWKS answers 503 (Slack having a bad day)
    keys_served: int = 0  # how many times the JWKS was asked for
    exchange_faults: list[str] = field(default_factory=list)  # errors for the next exchanges
    _key: rsa.RSAPrivateKey | None = None

    # --- what tests set up --------------------------------------------------------------------

    def register_app(self, client_id: str, client_secret: str, redirect_uris: list[str]) -> None:
        self.apps[client_id] = OidcApp(client_id, client_secret, frozenset(redirect_uris))

    def add_outsider(
        self, user_id: str, *, team_id: str, name: str | None = None, email: str | None = None
    ) -> None:
        """Someone of another workspace, who can sign in here as far as Slack is concerned."""
        self.outsiders[user_id] = Person(user_id, name or user_id.lower(), email, team_id)

    def fail_next_exchange(self, error: str = "internal_error", *, times: int = 1) -> None:
        """The next ``times`` openid.connect.token calls answer ``error`` (FakeSlack's fault
        queue does not reach these methods: they sit outside the reference)."""
        self.exchange_faults.extend([error] * times)

    def sign_in_as(self, user_id: str | None) -> None:
        """The authorize page signs this person in at once (None: show the page again)."""
        self.chosen = user_id

    # --- keys -----------------------------------------------------------------------------------

    @property
    def key(self) -> rsa.RSAPrivateKey:
        if self._key is None:
            self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self._key

    def rotate_key(self) -> str:
        """A new signing key under a new kid (Slack rotating its keys); returns the kid."""
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key_id = f"fake-slack-oidc-{secrets.token_hex(4)}"
        return self.key_id

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "alg": "RS256",
                    "use": "sig",
                    "kid": self.key_id,
                    "n": _b64_int(numbers.n),
                    "e": _b64_int(numbers.e),
                }
            ]
        }

    def sign(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        """An id_token with this provider's key (tests forge claims with it too)."""
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": kid or self.key_id})

    # --- the flow -----------------------------------------------------------------------------

    def person(self, users: Users, user_id: str) -> Person | None:
        if user_id in self.outsiders:
            return self.outsiders[user_id]
        user = users.get(user_id)
        if user is None or user.is_bot:
            return None
        return Person(user.id, user.name, user.email, self.team_id)

    def issue_code(
        self, client_id: str, redirect_uri: str, person: Person, nonce: str | None
    ) -> str:
        code = f"{secrets.randbelow(10**10)}.{secrets.token_hex(24)}"
        self.codes[code] = Grant(client_id, redirect_uri, person, nonce, self.clock())
        return code

    def exchange(self, args: dict[str, Any]) -> dict[str, Any]:
        """openid.connect.token: errors named as Slack's reference names them."""
        if self.exchange_faults:
            raise SlackError(self.exchange_faults.pop(0))
        if args.get("grant_type") not in (None, "", "authorization_code"):
            raise SlackError("invalid_grant_type")
        app = self.apps.get(str(args.get("client_id") or ""))
        if app is None:
            raise SlackError("invalid_client_id")
        if not secrets.compare_digest(str(args.get("client_secret") or ""), app.client_secret):
            raise SlackError("bad_client_secret")
        grant = self.codes.get(str(args.get("code") or ""))
        if grant is None or grant.used or grant.client_id != app.client_id:
            raise SlackError("invalid_code")
        if self.clock() - grant.issued > self.code_ttl:
            raise SlackError("invalid_code")
        if str(args.get("redirect_uri") or "") != grant.redirect_uri:
            raise SlackError("bad_redirect_uri")
        grant.used = True
        access_token = f"xoxp-{secrets.token_hex(16)}"
        self.access_tokens[access_token] = grant
        id_token = self.sign(self._claims(grant, access_token))
        self.issued_id_tokens.append(id_token)
        return {"access_token": access_token, "token_type": "Bearer", "id_token": id_token}

    def user_info(self, token: str) -> dict[str, Any]:
        grant = self.access_tokens.get(token)
        if grant is None:
            raise SlackError("invalid_auth")
        claims = self._profile(grant.person)
        return {"sub": grant.person.user_id, **claims}

    def _claims(self, grant: Grant, access_token: str) -> dict[str, Any]:
        now = int(self.clock())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": grant.person.user_id,
            "aud": grant.client_id,
            "exp": now + ID_TOKEN_TTL,
            "iat": now,
            "auth_time": now,
            "at_hash": _at_hash(access_token),
            **self._profile(grant.person),
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        return claims

    def _profile(self, person: Person) -> dict[str, Any]:
        picture = f"https://secure.gravatar.com/avatar/{person.user_id.lower()}.png"
        profile: dict[str, Any] = {
            "https://slack.com/user_id": person.user_id,
            "https://slack.com/team_id": person.team_id,
            "name": person.name,
            "given_name": person.name,
            "family_name": "",
            "locale": "en-US",
            "picture": picture,
            "https://slack.com/user_image_24": picture,
            "https://slack.com/team_name": (
                self.team_name if person.team_id == self.team_id else "Elsewhere"
            ),
        }
        if person.email:
            profile.update({"email": person.email, "email_verified": True})
        return profile


# --- the browser's pages (aiohttp) --------------------------------------------------------------


def add_routes(router: web.UrlDispatcher, provider: OidcProvider, users: Users) -> None:
    """The browser's pages; `users` is the workspace's (live) directory."""

    async def authorize(request: web.Request) -> web.StreamResponse:
        params = dict(request.query)
        if request.method == "POST":
            form = await request.post()
            params = {k: v for k, v in form.items() if isinstance(v, str)}
        return _authorize(provider, users, params, request.method == "POST")

    async def keys(request: web.Request) -> web.StreamResponse:
        provider.keys_served += 1
        if provider.keys_down:
            return web.Response(text="upstream unavailable", status=503)
        return web.json_response(provider.jwks())

    router.add_route("GET", "/openid/connect/authorize", authorize)
    router.add_route("POST", "/openid/connect/authorize", authorize)
    router.add_route("GET", "/openid/connect/keys", keys)


def _authorize(
    provider: OidcProvider, users: Users, params: dict[str, str], submitted: bool
) -> web.StreamResponse:
    app = provider.apps.get(params.get("client_id", ""))
    if app is None:
        return _page("Invalid client_id parameter", "", status=400)
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in app.redirect_uris:
        return _page("redirect_uri did not match any configured URIs", "", status=400)
    if params.get("response_type") != "code":
        return _back(redirect_uri, {"error": "invalid_request", "state": params.get("state", "")})
    if "openid" not in params.get("scope", "").split():
        return _back(redirect_uri, {"error": "invalid_scope", "state": params.get("state", "")})
    answer = {"state": params.get("state", "")}
    if submitted and params.get("cancel"):
        return _back(redirect_uri, {"error": "access_denied", **answer})
    user_id = params.get("user") if submitted else provider.chosen
    if user_id:
        person = provider.person(users, user_id)
        if person is None:
            return _page("No such user", "", status=400)
        code = provider.issue_code(app.client_id, redirect_uri, person, params.get("nonce"))
        return _back(redirect_uri, {"code": code, **answer})
    return _chooser(provider, users, params)


def _chooser(provider: OidcProvider, users: Users, params: dict[str, str]) -> web.StreamResponse:
    people = [p for p in (provider.person(users, uid) for uid in users) if p is not None]
    people += list(provider.outsiders.values())
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
        for k, v in params.items()
        if k in ("client_id", "redirect_uri", "state", "nonce", "scope", "response_type", "team")
    )
    buttons = "".join(
        f'<li><button name="user" value="{escape(p.user_id)}">Sign in as {escape(p.name)}'
        f" ({escape(p.user_id)}, {escape(p.team_id)})</button></li>"
        for p in people
    )
    body = (
        f'<form method="post" action="/openid/connect/authorize">{hidden}'
        f"<ul>{buttons}</ul>"
        '<button name="cancel" value="1">Cancel</button></form>'
    )
    return _page(f"Sign in to {provider.team_name}", body)


def _back(redirect_uri: str, query: dict[str, str]) -> web.StreamResponse:
    joiner = "&" if "?" in redirect_uri else "?"
    raise web.HTTPFound(f"{redirect_uri}{joiner}{urlencode(query)}")


def _page(title: str, body: str, status: int = 200) -> web.Response:
    html = (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>{escape(title)} | Fake Slack</title></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return web.Response(text=html, status=status, content_type="text/html")


def _b64_int(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _at_hash(access_token: str) -> str:
    """OpenID Connect's at_hash: the left half of SHA-256 of the access token, base64url."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")
