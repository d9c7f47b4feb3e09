"""Who the bot is on GitHub: a token, or a GitHub App's installation.

A fine-grained (or classic) token is sent as is; the bot's login comes from GET /user.

A GitHub App signs a JWT (RS256, at most 10 minutes long, `iss` = the App's id) with its
private key, trades it for an installation token (POST /app/installations/{id}/access_tokens,
valid one hour) and uses that until five minutes before it expires. Issues it opens are by
"<slug>[bot]", the slug coming from GET /app. Time comes from the injected clock, so the cache
is tested without waiting an hour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import httpx

from app.trackers.base import TrackerError
from app.trackers.http import send

__all__ = ["AppAuth", "GitHubAuth", "TokenAuth"]

TRACKER = "GitHub"
REFRESH_BEFORE = timedelta(minutes=5)
JWT_LIFETIME = timedelta(minutes=9)  # GitHub refuses more than 10
JWT_BACKDATE = timedelta(seconds=60)  # GitHub's advice, against clock drift


class GitHubAuth(Protocol):
    kind: str  # "token" or "app"

    async def headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        """The Authorization header for one API call."""
        ...

    async def login(self, client: httpx.AsyncClient) -> str:
        """The bot's login: the creator of the issues it opens."""
        ...

    def invalidate(self) -> bool:
        """Forget a cached credential after a 401; True if there was one to forget (a retry
        may then succeed with a fresh one)."""
        ...


@dataclass
class TokenAuth:
    token: str
    kind: str = "token"
    _login: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return "TokenAuth(token=***)"

    async def headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def login(self, client: httpx.AsyncClient) -> str:
        if self._login is None:
            response = await send(
                client, TRACKER, "GET", "/user", headers=await self.headers(client)
            )
            self._login = str(response.json()["login"])
        return self._login

    def invalidate(self) -> bool:
        return False


@dataclass
class AppAuth:
    app_id: str
    private_key: str
    installation_id: str
    now: Callable[[], datetime]
    kind: str = "app"
    _token: str | None = field(default=None, repr=False)
    _expires: datetime | None = field(default=None, repr=False)
    _slug: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"AppAuth(app_id={self.app_id!r}, installation_id={self.installation_id!r})"

    def jwt(self) -> str:
        """The App's own credential, for /app and the token exchange only."""
        import jwt  # PyJWT[crypto]; only an App needs it

        issued = self.now() - JWT_BACKDATE
        claims = {
            "iat": int(issued.timestamp()),
            "exp": int((issued + JWT_LIFETIME).timestamp()),
            "iss": self.app_id,
        }
        try:
            return jwt.encode(claims, self.private_key, algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise TrackerError(
                f"GitHub App private key unusable: {type(exc).__name__}", transient=False
            ) from exc

    async def headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        now = self.now()
        if self._token is None or self._expires is None or now >= self._expires - REFRESH_BEFORE:
            await self._refresh(client)
        return {"Authorization": f"Bearer {self._token}"}

    async def _refresh(self, client: httpx.AsyncClient) -> None:
        path = f"/app/installations/{self.installation_id}/access_tokens"
        response = await send(
            client, TRACKER, "POST", path, headers={"Authorization": f"Bearer {self.jwt()}"}
        )
        body = response.json()
        self._token = str(body["token"])
        self._expires = _parse_time(str(body["expires_at"]))

    async def login(self, client: httpx.AsyncClient) -> str:
        if self._slug is None:
            response = await send(
                client, TRACKER, "GET", "/app", headers={"Authorization": f"Bearer {self.jwt()}"}
            )
            self._slug = str(response.json()["slug"])
        return f"{self._slug}[bot]"

    def invalidate(self) -> bool:
        had = self._token is not None
        self._token = self._expires = None
        return had


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
