"""Helpers for tests of the dashboard: its settings, a browser-like HTTP client on the real web
app, and the two ways in (the static token, Sign in with Slack against the fake provider).

    @pytest.mark.settings(**SIGN_IN)
    async def test_...(bot, fake_slack, clock):
        provider = trust(fake_slack, clock)
        async with browser(bot) as http:
            await sign_in_with_slack(http, fake_slack, "UREPORTER")
            page = await http.get("/dashboard")
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.types import ASGIApp

from app.clock import ManualClock
from app.context import BotContext
from app.dashboard.sessions import SESSION_COOKIE
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.fakeslack.oidc import OidcProvider
from app.web import create_web_app

PUBLIC_URL = "http://bot.test"
CALLBACK = f"{PUBLIC_URL}/dashboard/auth/callback"
CLIENT_ID = "1234567890.9876543210"
CLIENT_SECRET = "fake-client-secret-0123456789abcdef"
DASHBOARD_TOKEN = "dashboard-token-0123456789abcdef"
SIGN_IN: dict[str, Any] = {
    "slack_client_id": CLIENT_ID,
    "slack_client_secret": CLIENT_SECRET,
    "public_url": PUBLIC_URL,
    "dashboard_token": DASHBOARD_TOKEN,
}


def trust(fake: FakeSlack, clock: ManualClock, callback: str = CALLBACK) -> OidcProvider:
    """The fake Slack knows the bot's app (client id, secret, redirect URL) and dates its
    tokens on the test's clock."""
    provider: OidcProvider = fake.openid
    provider.register_app(CLIENT_ID, CLIENT_SECRET, [callback])
    provider.clock = lambda: clock.now().timestamp()
    return provider


@contextlib.asynccontextmanager
async def browser(bot: BotContext, app: ASGIApp | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """A client that keeps cookies, on the bot's real web app (in process, at PUBLIC_URL)."""
    transport = httpx.ASGITransport(app=app or create_web_app(bot))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
        yield http


async def sign_in_with_token(http: httpx.AsyncClient, token: str = DASHBOARD_TOKEN) -> None:
    response = await http.post("/dashboard/login", data={"token": token, "next": "/dashboard"})
    assert response.status_code == 303, response.text


async def start_with_slack(http: httpx.AsyncClient, next_path: str = "/dashboard") -> str:
    """Press "Sign in with Slack": the authorize URL the bot sends the browser to."""
    response = await http.get("/dashboard/auth/slack", params={"next": next_path})
    assert response.status_code == 303, response.text
    return response.headers["location"]


async def at_slack(authorize_url: str, **form: str) -> str:
    """The browser at Slack's authorize page (the fake's, over real HTTP): with `form`, the
    "Sign in as" button pressed; without, whoever `sign_in_as` chose. Returns where Slack sends
    the browser back to."""
    async with httpx.AsyncClient() as outside:
        if form:
            page = await outside.get(authorize_url)
            assert page.status_code == 200, page.text
            fields = dict(httpx.URL(authorize_url).params)
            response = await outside.post(authorize_url.split("?", 1)[0], data={**fields, **form})
        else:
            response = await outside.get(authorize_url)
    assert response.status_code == 302, response.text
    return response.headers["location"]


async def sign_in_with_slack(
    http: httpx.AsyncClient, fake: FakeSlack, user_id: str, next_path: str = "/dashboard"
) -> httpx.Response:
    """The whole round trip as `user_id`; returns the bot's answer to the callback."""
    fake.openid.sign_in_as(user_id)
    back = await at_slack(await start_with_slack(http, next_path))
    return await http.get(back)


def sets_session(response: httpx.Response) -> bool:
    """Whether `response` sets a session cookie (not one that deletes it)."""
    return any(
        c.startswith(f"{SESSION_COOKIE}=") and "max-age=0" not in c.lower()
        for c in response.headers.get_list("set-cookie")
    )
