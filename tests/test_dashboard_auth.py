"""The dashboard's door, over HTTP: the static token, Sign in with Slack against the fake
OpenID provider (state, nonce, audience, workspace), signed session cookies, logout, and who
may see a private incident."""

from __future__ import annotations

import base64
import hmac
import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.clock import ManualClock
from app.context import BotContext
from app.dashboard import auth
from app.dashboard.auth import guard, safe_next
from app.dashboard.sessions import SESSION_COOKIE, SIGN_IN_COOKIE
from app.sandbox.fakeslack import FakeSlack
from app.services.sign_in import SignInRefused, SlackSignIn
from tests.dashboard_door import (
    CALLBACK,
    CLIENT_ID,
    DASHBOARD_TOKEN,
    SIGN_IN,
    at_slack,
    browser,
    sign_in_with_slack,
    sign_in_with_token,
    start_with_slack,
    trust,
)

WHOAMI = "/dashboard/whoami"


def door(bot: BotContext) -> Starlette:
    """The sign-in routes and one guarded page that says who is looking."""

    async def whoami(request: Request) -> Response:
        viewer = request.state.viewer
        return JSONResponse(
            {"user_id": viewer.user_id, "name": viewer.name, "team_id": viewer.team_id}
        )

    return Starlette(routes=[*auth.routes(bot), Route(WHOAMI, guard(bot, whoami))])


async def whoami(http: httpx.AsyncClient) -> dict[str, Any] | None:
    response = await http.get(WHOAMI)
    if response.status_code == 303:
        return None
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def sets_session(response: httpx.Response) -> bool:
    return any(
        c.startswith(f"{SESSION_COOKIE}=") and "max-age=0" not in c.lower()
        for c in response.headers.get_list("set-cookie")
    )


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# --- the door is shut until it is set up ---------------------------------------------------------


async def test_the_dashboard_answers_404_naming_its_settings_while_none_is_set(
    bot: BotContext,
) -> None:
    async with browser(bot, door(bot)) as http:
        for path in (WHOAMI, "/dashboard/login", "/dashboard/auth/slack"):
            response = await http.get(path)
            assert response.status_code == 404
            assert "DASHBOARD_TOKEN" in response.text and "SLACK_CLIENT_ID" in response.text


@pytest.mark.settings(**SIGN_IN)
async def test_a_page_without_a_session_redirects_to_the_login_page_with_its_path(
    bot: BotContext,
) -> None:
    async with browser(bot, door(bot)) as http:
        response = await http.get(WHOAMI, params={"q": "1"})
        assert response.status_code == 303
        assert response.headers["location"] == "/dashboard/login?next=%2Fdashboard%2Fwhoami%3Fq%3D1"
        login = await http.get(response.headers["location"])
    assert login.status_code == 200
    assert "Sign in with Slack" in login.text and 'name="token"' in login.text
    assert 'value="/dashboard/whoami?q=1"' in login.text


@pytest.mark.parametrize(
    "offered",
    [
        "https://evil.example/dashboard",
        "//evil.example/dashboard",
        "/\\evil.example",
        "/dashboardevil",
        "/dashboard//evil.example",
        "/status",
        "",
        "javascript:alert(1)",
    ],
)
def test_only_paths_of_the_dashboard_are_accepted_as_next(offered: str) -> None:
    assert safe_next(offered) == "/dashboard"


def test_paths_of_the_dashboard_are_kept_as_next() -> None:
    assert safe_next("/dashboard/incidents/INC-1?x=1") == "/dashboard/incidents/INC-1?x=1"


# --- the static token ----------------------------------------------------------------------------


@pytest.mark.settings(**SIGN_IN)
async def test_the_token_in_the_address_becomes_a_cookie_and_leaves_the_address(
    bot: BotContext,
) -> None:
    async with browser(bot, door(bot)) as http:
        response = await http.get(WHOAMI, params={"token": DASHBOARD_TOKEN, "q": "1"})
        assert response.status_code == 303
        assert response.headers["location"] == f"{WHOAMI}?q=1"
        assert response.headers["referrer-policy"] == "no-referrer"
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/dashboard" in cookie
        assert DASHBOARD_TOKEN not in response.headers["set-cookie"]
        assert await whoami(http) == {"user_id": None, "name": "dashboard token", "team_id": None}


@pytest.mark.settings(**SIGN_IN)
async def test_the_token_form_signs_in_and_goes_to_next(bot: BotContext) -> None:
    async with browser(bot, door(bot)) as http:
        await sign_in_with_token(http)
        assert (await whoami(http) or {})["user_id"] is None
        http.cookies.clear()
        response = await http.post(
            "/dashboard/login", data={"token": DASHBOARD_TOKEN, "next": WHOAMI}
        )
        assert (response.status_code, response.headers["location"]) == (303, WHOAMI)
        assert (await whoami(http) or {})["name"] == "dashboard token"


@pytest.mark.settings(**SIGN_IN)
async def test_a_wrong_token_is_refused_and_compared_in_constant_time(
    bot: BotContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    wrong = DASHBOARD_TOKEN[:-1] + "X"
    async with browser(bot, door(bot)) as http:
        response = await http.post("/dashboard/login", data={"token": wrong, "next": WHOAMI})
        assert response.status_code == 401
        assert "not the dashboard&#x27;s token" in response.text
        assert not sets_session(response)
        by_url = await http.get(WHOAMI, params={"token": wrong})
        assert by_url.status_code == 303
        assert wrong not in by_url.headers["location"]
        assert query(by_url.headers["location"]) == {"next": WHOAMI, "error": "token"}
        assert await whoami(http) is None
    assert (wrong.encode(), DASHBOARD_TOKEN.encode()) in compared


@pytest.mark.settings(**SIGN_IN)
async def test_a_token_form_posted_from_another_site_is_refused(bot: BotContext) -> None:
    async with browser(bot, door(bot)) as http:
        response = await http.post(
            "/dashboard/login",
            data={"token": DASHBOARD_TOKEN},
            headers={"origin": "https://evil.example"},
        )
        assert response.status_code == 403
        assert await whoami(http) is None


# --- Sign in with Slack --------------------------------------------------------------------------


@pytest.mark.settings(**SIGN_IN)
async def test_sign_in_with_slack_round_trip_lands_on_next_signed_in(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    trust(fake_slack, clock)
    async with browser(bot, door(bot)) as http:
        authorize = await start_with_slack(http, WHOAMI)
        assert authorize.startswith(fake_slack.base_url.replace("/api/", "/openid/connect/"))
        assert "scope=openid%20profile%20email" in authorize
        asked = query(authorize)
        assert asked["response_type"] == "code" and asked["client_id"] == CLIENT_ID
        assert asked["redirect_uri"] == CALLBACK and asked["team"] == fake_slack.team_id
        assert len(asked["state"]) >= 32 and len(asked["nonce"]) >= 32
        fake_slack.openid.sign_in_as("UREPORTER")
        back = await at_slack(authorize)
        assert back.startswith(CALLBACK) and query(back)["state"] == asked["state"]
        response = await http.get(back)
        assert (response.status_code, response.headers["location"]) == (303, WHOAMI)
        assert await whoami(http) == {
            "user_id": "UREPORTER",
            "name": "ureporter",
            "team_id": fake_slack.team_id,
        }
        assert SIGN_IN_COOKIE not in http.cookies  # used once
    [exchange] = fake_slack.calls_to("openid.connect.token")
    assert exchange["client_id"] == CLIENT_ID and exchange["redirect_uri"] == CALLBACK


@pytest.mark.settings(**SIGN_IN)
async def test_the_fake_slack_page_lists_the_workspace_and_signs_in_whoever_is_picked(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    trust(fake_slack, clock)
    async with browser(bot, door(bot)) as http:
        back = await at_slack(await start_with_slack(http, WHOAMI), user="ULEAD")
        assert (await http.get(back)).status_code == 303
        assert (await whoami(http) or {})["user_id"] == "ULEAD"


@pytest.mark.settings(**SIGN_IN)
async def test_a_callback_that_did_not_start_in_this_browser_is_refused(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    trust(fake_slack, clock)
    fake_slack.openid.sign_in_as("UREPORTER")
    async with browser(bot, door(bot)) as victim, browser(bot, door(bot)) as attacker:
        # The attacker's own code, handed to the victim's browser (login CSRF).
        back = await at_slack(await start_with_slack(attacker, WHOAMI))
        refused = await victim.get(back)
        assert refused.status_code == 400 and "Try again" in refused.text
        assert await whoami(victim) is None
        # The victim started a sign-in, but the state that comes back is not theirs.
        await start_with_slack(victim, WHOAMI)
        refused = await victim.get(back)
        assert refused.status_code == 400 and "did not start in this browser" in refused.text
        assert await whoami(victim) is None
    assert fake_slack.calls_to("openid.connect.token") == []


@pytest.mark.settings(**SIGN_IN)
async def test_a_callback_is_used_once(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    trust(fake_slack, clock).sign_in_as("UREPORTER")
    async with browser(bot, door(bot)) as http:
        back = await at_slack(await start_with_slack(http))
        assert (await http.get(back)).status_code == 303
        await http.post("/dashboard/logout")
        assert (await http.get(back)).status_code == 400
        assert await whoami(http) is None


@pytest.mark.settings(**SIGN_IN)
async def test_an_id_token_carrying_another_nonce_is_refused(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    trust(fake_slack, clock)
    fake_slack.openid.sign_in_as("UREPORTER")
    async with browser(bot, door(bot)) as http:
        authorize = await start_with_slack(http)
        forged = authorize.replace(f"nonce={query(authorize)['nonce']}", "nonce=attackers")
        response = await http.get(await at_slack(forged))
        assert response.status_code == 400 and "could not be verified" in response.text
        assert await whoami(http) is None


@pytest.mark.settings(**SIGN_IN)
async def test_a_member_of_another_workspace_is_refused_with_a_clear_page(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    trust(fake_slack, clock)
    fake_slack.openid.add_outsider("UOUTSIDER", team_id="T0OTHER", name="outsider")
    async with browser(bot, door(bot)) as http:
        response = await sign_in_with_slack(http, fake_slack, "UOUTSIDER")
        assert response.status_code == 403
        assert "another Slack workspace" in response.text
        assert not sets_session(response)
        assert await whoami(http) is None


@pytest.mark.settings(**SIGN_IN)
async def test_id_tokens_for_another_app_issuer_time_or_key_are_refused(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    provider = trust(fake_slack, clock)
    now = int(clock.now().timestamp())
    good = {
        "iss": "https://slack.com",
        "sub": "UREPORTER",
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 300,
        "nonce": "n",
        "https://slack.com/team_id": fake_slack.team_id,
        "https://slack.com/user_id": "UREPORTER",
    }
    checker = SlackSignIn(bot)
    assert (await checker.verify(provider.sign(good), "n"))["sub"] == "UREPORTER"
    forged = {
        "audience": provider.sign({**good, "aud": "someone-elses-app"}),
        "issuer": provider.sign({**good, "iss": "https://evil.example"}),
        "expired": provider.sign({**good, "iat": now - 900, "exp": now - 600}),
        "future": provider.sign({**good, "iat": now + 3600, "exp": now + 3900}),
        "unknown key": provider.sign(good, kid="not-slacks"),
        "no exp": provider.sign({k: v for k, v in good.items() if k != "exp"}),
    }
    forged["HS256"] = jwt.encode(good, "guessable-secret-0123456789abcdef", algorithm="HS256")
    forged["none"] = jwt.encode(good, None, algorithm="none")  # type: ignore[arg-type]
    for what, token in forged.items():
        with pytest.raises(SignInRefused) as refused:
            await checker.verify(token, "n")
        assert refused.value.reason == "invalid_token", what


@pytest.mark.settings(**SIGN_IN)
async def test_slack_refusing_the_code_or_the_apps_secret_refuses_the_sign_in(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    provider = trust(fake_slack, clock)
    provider.sign_in_as("UREPORTER")
    async with browser(bot, door(bot)) as http:
        back = await at_slack(await start_with_slack(http))
        clock.advance(timedelta(minutes=9))  # within the sign-in cookie's 10 minutes
        provider.code_ttl = 60
        expired_code = await http.get(back)
        assert expired_code.status_code == 400 and "sign-in code" in expired_code.text
        provider.register_app(CLIENT_ID, "another-secret-entirely", [CALLBACK])
        back = await at_slack(await start_with_slack(http))
        wrong_secret = await http.get(back)
        assert wrong_secret.status_code == 400 and "SLACK_CLIENT_SECRET" in wrong_secret.text
        assert await whoami(http) is None
    errors = [c.response.get("error") for c in fake_slack.attempts_to("openid.connect.token")]
    assert errors == ["invalid_code", "bad_client_secret"]


# --- the session cookie --------------------------------------------------------------------------


@pytest.mark.settings(**SIGN_IN)
async def test_a_tampered_session_cookie_is_refused(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    trust(fake_slack, clock)
    async with browser(bot, door(bot)) as http:
        await sign_in_with_slack(http, fake_slack, "UOTHER")
        original = http.cookies[SESSION_COOKIE]
        payload, mac = original.split(".")
        values = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        values["sub"] = "UCEO"
        changed = base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=").decode()
        for cookie, signed_in in (
            (f"{changed}.{mac}", False),
            (f"{payload}.{mac[:-2]}AA", False),
            (payload, False),
            (original, True),
        ):
            http.cookies.clear()
            http.cookies.set(SESSION_COOKIE, cookie, domain="bot.test", path="/dashboard")
            assert (await whoami(http) is not None) is signed_in, cookie


@pytest.mark.settings(**SIGN_IN, dashboard_session_hours=2)
async def test_a_session_ends_after_dashboard_session_hours(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    trust(fake_slack, clock)
    async with browser(bot, door(bot)) as http:
        await sign_in_with_slack(http, fake_slack, "UOTHER")
        clock.advance(timedelta(hours=2) - timedelta(seconds=1))
        assert (await whoami(http) or {})["user_id"] == "UOTHER"
        clock.advance(timedelta(seconds=1))
        assert await whoami(http) is None


@pytest.mark.settings(**SIGN_IN)
async def test_logout_clears_the_session(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    trust(fake_slack, clock)
    async with browser(bot, door(bot)) as http:
        await sign_in_with_slack(http, fake_slack, "UOTHER")
        for elsewhere in ({"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}):
            refused = await http.post("/dashboard/logout", headers=elsewhere)
            assert refused.status_code == 403
        assert await whoami(http) is not None
        response = await http.post("/dashboard/logout", headers={"origin": "http://bot.test"})
        assert (response.status_code, response.headers["location"]) == (303, "/dashboard/login")
        assert await whoami(http) is None
