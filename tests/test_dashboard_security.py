"""The dashboard's door under attack (issue 18, security review): where `next` may send a
browser, replayed and forged callbacks, id_tokens Slack would never sign, Slack's keys rotating
or down, Slack unreachable. The pages' side is test_dashboard_security_pages.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from app.clock import ManualClock
from app.context import BotContext
from app.dashboard.auth import safe_next
from app.dashboard.sessions import SIGN_IN_COOKIE
from app.sandbox.fakeslack import FakeSlack
from app.services.sign_in import KEYS_RETRY, SignInRefused, SlackSignIn
from tests.dashboard_door import (
    CALLBACK,
    CLIENT_ID,
    DASHBOARD_TOKEN,
    SIGN_IN,
    at_slack,
    browser,
    sets_session,
    sign_in_with_slack,
    start_with_slack,
    trust,
)

pytestmark = pytest.mark.settings(**SIGN_IN)


def claims(fake: FakeSlack, clock: ManualClock, **changes: Any) -> dict[str, Any]:
    now = int(clock.now().timestamp())
    good: dict[str, Any] = {
        "iss": "https://slack.com",
        "sub": "UREPORTER",
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 300,
        "nonce": "n",
        "https://slack.com/team_id": fake.team_id,
        "https://slack.com/user_id": "UREPORTER",
    }
    good.update(changes)
    return {k: v for k, v in good.items() if v is not None}


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def hs256_with_the_public_key(fake: FakeSlack, body: dict[str, Any]) -> str:
    """The classic confusion: HS256 keyed with the provider's *public* key (which anyone has)."""
    pem = fake.openid.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": fake.openid.key_id}).encode())
    payload = b64(json.dumps(body).encode())
    mac = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(mac)}"


# --- next: only the dashboard's own paths -----------------------------------------------------

HOSTILE_NEXT = [
    "//evil.com",
    "//evil.com/dashboard",
    "/\\evil.com",
    "/dashboard\\..\\..\\evil.com",
    "/dashboard@evil.com",
    "/dashboard.evil.com",
    "/dashboard//evil.com",
    "/dashboard/..//evil.com",
    "/dashboard/../status",
    "/dashboard/%2e%2e/status",
    "/dashboard/%2E%2E/%2E%2E/status",
    "/dashboard/./x",
    "%2F%2Fevil.com",
    "/%2F/evil.com",
    "https://evil.com",
    "https:evil.com",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)//dashboard",
    "\t//evil.com",
    " /dashboard",
    "/dashboard\r\nSet-Cookie: x=1",
    "/dashboard\x00",
    "/dashboard/\u2028",
    "/dashboard/" + "x" * 2000,
]


@pytest.mark.parametrize("offered", HOSTILE_NEXT)
def test_next_never_names_a_place_outside_the_dashboard(offered: str) -> None:
    assert safe_next(offered) == "/dashboard"


@pytest.mark.parametrize(
    "kept", ["/dashboard", "/dashboard/report?period=2026Q3", "/dashboard/incidents/INC-1"]
)
def test_next_keeps_the_dashboards_own_paths(kept: str) -> None:
    assert safe_next(kept) == kept


async def test_a_hostile_next_sends_the_browser_home_after_every_way_in(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    trust(fake_slack, clock).sign_in_as("UREPORTER")
    async with browser(bot) as http:
        for offered in ("//evil.com", "/\\evil.com", "/dashboard/../status", "javascript:x"):
            login = await http.get("/dashboard/login", params={"next": offered})
            assert 'name="next" value="/dashboard"' in login.text, offered
            assert "evil" not in login.text and "javascript" not in login.text
            form = await http.post(
                "/dashboard/login", data={"token": DASHBOARD_TOKEN, "next": offered}
            )
            assert form.headers["location"] == "/dashboard", offered
            back = await at_slack(await start_with_slack(http, offered))
            assert (await http.get(back)).headers["location"] == "/dashboard", offered


# --- the callback ------------------------------------------------------------------------------


async def test_a_callback_replayed_with_a_copy_of_its_sign_in_cookie_signs_nobody_in(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    trust(fake_slack, clock).sign_in_as("UREPORTER")
    async with browser(bot) as victim, browser(bot) as thief:
        back = await at_slack(await start_with_slack(victim))
        stolen = victim.cookies[SIGN_IN_COOKIE]
        assert (await victim.get(back)).status_code == 303
        thief.cookies.set(SIGN_IN_COOKIE, stolen, domain="bot.test", path="/dashboard")
        replayed = await thief.get(back)
        assert replayed.status_code == 400 and "sign-in code" in replayed.text
        assert not sets_session(replayed)
    errors = [c.response.get("error") for c in fake_slack.attempts_to("openid.connect.token")]
    assert errors == [None, "invalid_code"]


async def test_a_code_that_is_not_one_is_refused_without_asking_slack(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    trust(fake_slack, clock)
    async with browser(bot) as http:
        for code in ("x" * 5000, "abc\u202edef", "a b\n"):
            authorize = await start_with_slack(http)
            state = httpx.URL(authorize).params["state"]
            response = await http.get(CALLBACK, params={"state": state, "code": code})
            assert response.status_code == 400 and "sign-in code" in response.text
            assert code not in response.text
    assert fake_slack.calls_to("openid.connect.token") == []


async def test_a_callback_with_an_error_and_no_state_changes_nothing(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    trust(fake_slack, clock)
    async with browser(bot) as http:
        await start_with_slack(http)
        refused = await http.get(CALLBACK, params={"error": "<script>x</script>"})
        assert refused.status_code == 400 and "<script>" not in refused.text
        assert not sets_session(refused)


# --- the id_token ------------------------------------------------------------------------------


async def test_id_tokens_with_a_confused_alg_no_kid_several_audiences_or_a_near_issuer_are_refused(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    provider = trust(fake_slack, clock)
    checker = SlackSignIn(bot)
    assert (await checker.verify(provider.sign(claims(fake_slack, clock)), "n"))["sub"]
    key = provider.key
    forged = {
        "HS256 keyed with the public key": hs256_with_the_public_key(
            fake_slack, claims(fake_slack, clock)
        ),
        "RS512": jwt.encode(
            claims(fake_slack, clock), key, algorithm="RS512", headers={"kid": provider.key_id}
        ),
        "no kid": jwt.encode(claims(fake_slack, clock), key, algorithm="RS256"),
        "aud as a list with another app": provider.sign(
            claims(fake_slack, clock, aud=[CLIENT_ID, "another-app"])
        ),
        "aud as a list": provider.sign(claims(fake_slack, clock, aud=[CLIENT_ID])),
        "iss with a slash": provider.sign(claims(fake_slack, clock, iss="https://slack.com/")),
        "iss a prefix": provider.sign(claims(fake_slack, clock, iss="https://slack.co")),
        "iss as a list": jwt.api_jws.encode(
            json.dumps(claims(fake_slack, clock, iss=["https://slack.com"])).encode(),
            key,
            algorithm="RS256",
            headers={"kid": provider.key_id},
        ),
        "no nonce": provider.sign(claims(fake_slack, clock, nonce=None)),
        "expired past the leeway": provider.sign(
            claims(
                fake_slack,
                clock,
                exp=int(clock.now().timestamp()) - 61,
                iat=int(clock.now().timestamp()) - 400,
            )
        ),
        "exp as text": provider.sign(claims(fake_slack, clock, exp="9999999999")),
        "no sub": provider.sign(claims(fake_slack, clock, sub=None)),
    }
    for what, token in forged.items():
        with pytest.raises(SignInRefused) as refused:
            await checker.verify(token, "n")
        assert refused.value.reason == "invalid_token", what


async def test_slack_rotating_its_key_refetches_the_keys_once_and_an_unknown_kid_not_again(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    provider = trust(fake_slack, clock)
    provider.sign_in_as("UREPORTER")
    async with browser(bot) as http:
        assert (await sign_in_with_slack(http, fake_slack, "UREPORTER")).status_code == 303
        assert provider.keys_served == 1
        clock.advance(timedelta(minutes=2))
        provider.rotate_key()
        http.cookies.clear()
        assert (await sign_in_with_slack(http, fake_slack, "UREPORTER")).status_code == 303
        assert provider.keys_served == 2  # the new kid: fetched once
        http.cookies.clear()
        assert (await sign_in_with_slack(http, fake_slack, "UREPORTER")).status_code == 303
        assert provider.keys_served == 2  # known now: from memory
    checker = SlackSignIn(bot)
    await checker.verify(provider.sign(claims(fake_slack, clock)), "n")
    served = provider.keys_served
    for _ in range(20):  # a flood of unknown kids: at most one fetch a minute
        with pytest.raises(SignInRefused):
            await checker.verify(
                provider.sign(claims(fake_slack, clock), kid=secrets.token_hex(8)), "n"
            )
    assert provider.keys_served == served
    clock.advance(timedelta(minutes=1))
    with pytest.raises(SignInRefused):
        await checker.verify(provider.sign(claims(fake_slack, clock), kid="still-unknown"), "n")
    assert provider.keys_served == served + 1


async def test_slacks_keys_down_refuses_with_a_clear_page_and_asks_again_only_after_a_pause(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    provider = trust(fake_slack, clock)
    provider.keys_down = True
    async with browser(bot) as http:
        for _ in range(4):
            refused = await sign_in_with_slack(http, fake_slack, "UREPORTER")
            assert refused.status_code == 503 and "could not be reached" in refused.text
            assert not sets_session(refused)
            assert refused.headers["content-security-policy"]
        assert provider.keys_served == 1
        provider.keys_down = False
        clock.advance(KEYS_RETRY)
        assert (await sign_in_with_slack(http, fake_slack, "UREPORTER")).status_code == 303
        assert provider.keys_served == 2


async def test_slack_down_at_the_start_or_the_exchange_fails_closed_with_a_clear_page(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    trust(fake_slack, clock).sign_in_as("UREPORTER")
    async with browser(bot) as http:
        fake_slack.fail_next("auth.test", "internal_error")
        start = await http.get("/dashboard/auth/slack")
        assert start.status_code == 503 and "could not be reached" in start.text
        assert SIGN_IN_COOKIE not in http.cookies
    async with browser(bot) as http:
        back = await at_slack(await start_with_slack(http))
        fake_slack.openid.fail_next_exchange("internal_error")
        refused = await http.get(back)
        assert refused.status_code == 503 and "could not be reached" in refused.text
        assert not sets_session(refused)
