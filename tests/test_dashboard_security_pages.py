"""The dashboard's pages under attack (issue 18, security review): cookie flags, logout, what
the logs keep, the headers of every HTML answer, input reflected in pages, and private
incidents that must read exactly like unknown ones (also to someone just removed from the
channel, and when Slack cannot say)."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from datetime import timedelta
from urllib.parse import quote

import httpx
import pytest

from app.clock import ManualClock
from app.context import BotContext
from app.dashboard.sessions import SESSION_COOKIE
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.web import create_web_app
from tests.dashboard_door import (
    CALLBACK,
    DASHBOARD_TOKEN,
    SIGN_IN,
    at_slack,
    browser,
    sets_session,
    sign_in_with_slack,
    sign_in_with_token,
    start_with_slack,
    trust,
)
from tests.running import declare

pytestmark = pytest.mark.settings(**SIGN_IN)


# --- cookies, logout, logs ---------------------------------------------------------------------


def cookie_of(response: httpx.Response, name: str) -> str:
    [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith(f"{name}=")]
    return cookie.lower()


@pytest.mark.settings(dashboard_token=DASHBOARD_TOKEN, public_url="https://bot.example.com")
async def test_cookies_are_secure_httponly_lax_and_on_the_dashboard_path_over_https(
    bot: BotContext,
) -> None:
    transport = httpx.ASGITransport(app=create_web_app(bot))
    async with httpx.AsyncClient(transport=transport, base_url="https://bot.example.com") as http:
        response = await http.post("/dashboard/login", data={"token": DASHBOARD_TOKEN})
        cookie = cookie_of(response, SESSION_COOKIE)
        for flag in ("secure", "httponly", "samesite=lax", "path=/dashboard"):
            assert flag in cookie, flag
        out = await http.post("/dashboard/logout", headers={"origin": "https://bot.example.com"})
        gone = cookie_of(out, SESSION_COOKIE)
        assert "max-age=0" in gone and "secure" in gone and "path=/dashboard" in gone


@pytest.mark.settings(dashboard_token=DASHBOARD_TOKEN, public_url=None)
async def test_a_request_over_https_gets_a_secure_cookie_even_without_public_url(
    bot: BotContext,
) -> None:
    transport = httpx.ASGITransport(app=create_web_app(bot))
    async with httpx.AsyncClient(transport=transport, base_url="https://bot.internal") as http:
        response = await http.post("/dashboard/login", data={"token": DASHBOARD_TOKEN})
        assert "secure" in cookie_of(response, SESSION_COOKIE)


async def test_logout_is_a_post_from_this_site_only(bot: BotContext) -> None:
    async with browser(bot) as http:
        await sign_in_with_token(http)
        assert (await http.get("/dashboard/logout")).status_code == 405
        assert (await http.get("/dashboard")).status_code == 200
        forged = await http.post(
            "/dashboard/logout", headers={"sec-fetch-site": "same-site", "origin": "null"}
        )
        assert forged.status_code == 403
        assert (await http.get("/dashboard")).status_code == 200
        out = await http.post("/dashboard/logout", headers={"sec-fetch-site": "same-origin"})
        assert out.status_code == 303
        assert (await http.get("/dashboard")).status_code == 303


async def test_a_token_form_from_a_sibling_site_or_a_null_origin_is_refused(
    bot: BotContext,
) -> None:
    async with browser(bot) as http:
        for headers in ({"sec-fetch-site": "same-site"}, {"origin": "null"}):
            response = await http.post(
                "/dashboard/login", data={"token": DASHBOARD_TOKEN}, headers=headers
            )
            assert response.status_code == 403 and not sets_session(response)


async def test_the_logs_never_hold_the_token_a_code_a_state_or_an_id_token(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    provider = trust(fake_slack, clock)
    secrets_seen: list[str] = [DASHBOARD_TOKEN, DASHBOARD_TOKEN[:-1] + "X"]
    # INFO: the bot's level; its DEBUG lines of Slack bodies are dropped (app.logs).
    with caplog.at_level(logging.INFO):
        async with browser(bot) as http:
            await http.get("/dashboard", params={"token": DASHBOARD_TOKEN})
            await http.get("/dashboard", params={"token": secrets_seen[1]})
            await http.post("/dashboard/login", data={"token": secrets_seen[1]})
            await sign_in_with_token(http)
            provider.sign_in_as("UREPORTER")
            authorize = await start_with_slack(http)
            back = await at_slack(authorize)
            secrets_seen += [httpx.URL(back).params["code"], httpx.URL(authorize).params["state"]]
            secrets_seen.append(httpx.URL(authorize).params["nonce"])
            await http.get(back)
            await http.get(back)  # replayed: refused, logged
            secrets_seen += provider.issued_id_tokens
            secrets_seen.append(http.cookies[SESSION_COOKIE])
    logged = "\n".join(
        f"{record.name} {record.getMessage()}"
        for record in caplog.records
        if record.name.startswith("app.") and not record.name.startswith("app.sandbox")
    )
    assert "wrong token" in logged
    for secret in secrets_seen:
        assert secret not in logged


async def test_a_url_token_redirect_keeps_the_token_out_of_the_referrer_and_the_cache(
    bot: BotContext,
) -> None:
    async with browser(bot) as http:
        response = await http.get("/dashboard/report", params={"token": DASHBOARD_TOKEN})
        assert response.status_code == 303
        assert DASHBOARD_TOKEN not in response.headers["location"]
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"


# --- every HTML answer: headers, and nothing reflected as markup -------------------------------


def assert_locked_down(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/html"), response.url
    csp = response.headers["content-security-policy"]
    for directive in ("script-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"):
        assert directive in csp, (response.url, directive)
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert "<script" not in response.text.lower()


async def test_every_html_answer_has_the_csp_and_frame_and_cache_headers(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    trust(fake_slack, clock)
    incident = await declare(slack, fake_slack, bot, title="Slow search")
    async with browser(bot) as http:
        answers = [
            await http.get("/dashboard/login"),
            await http.get("/dashboard/login", params={"error": "state"}),
            await http.post("/dashboard/login", data={"token": "wrong-wrong-wrong-wrong"}),
            await http.get(CALLBACK, params={"state": "x", "code": "y"}),
        ]
        await sign_in_with_token(http)
        answers += [
            await http.get("/dashboard"),
            await http.get("/dashboard/report"),
            await http.get("/dashboard/report", params={"period": "nope"}),
            await http.get(f"/dashboard/incidents/{incident.public_id}"),
            await http.get("/dashboard/incidents/INC-20990101-999"),
            await http.get("/dashboard/incidents/not-an-id"),
        ]
    for response in answers:
        assert_locked_down(response)
    assert [r.status_code for r in answers] == [200, 200, 401, 400, 200, 200, 400, 200, 404, 404]


async def test_the_login_pages_inline_style_is_the_one_its_csp_allows(bot: BotContext) -> None:
    async with browser(bot) as http:
        page = await http.get("/dashboard/login")
    [style] = re.findall(r"<style>(.*?)</style>", page.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]


HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


async def test_nothing_from_the_request_comes_back_as_markup(
    bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    trust(fake_slack, clock)
    async with browser(bot) as http:
        pages = [
            await http.get("/dashboard/login", params={"next": f"/dashboard?{HOSTILE}"}),
            await http.get("/dashboard/login", params={"error": HOSTILE}),
        ]
        await sign_in_with_token(http)
        pages += [
            await http.get("/dashboard/report", params={"period": HOSTILE}),
            await http.get("/dashboard/incidents/" + quote(HOSTILE, safe="")),
            await http.get("/dashboard/incidents/INC-1" + quote("<b>x</b>", safe="")),
        ]
    for page in pages:
        assert "<script" not in page.text and "<img" not in page.text and "<b>" not in page.text
    assert "Signing in failed" in pages[1].text  # a fixed text, not the words sent


# --- private incidents -------------------------------------------------------------------------


async def test_a_private_incident_page_reads_byte_for_byte_like_an_unknown_one(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    trust(fake_slack, clock)
    secret = await declare(slack, fake_slack, bot, title="Payroll leak", visibility="private")
    unknown = secret.public_id[:-3] + "999"
    async with browser(bot) as other, browser(bot) as token:
        await sign_in_with_slack(other, fake_slack, "UOTHER")
        await sign_in_with_token(token)
        for http in (other, token):
            hidden = await http.get(f"/dashboard/incidents/{secret.public_id}")
            missing = await http.get(f"/dashboard/incidents/{unknown}")
            assert hidden.status_code == missing.status_code == 404
            assert dict(hidden.headers) | {"content-length": ""} == dict(missing.headers) | {
                "content-length": ""
            }
            assert hidden.text.replace(secret.public_id, "ID") == missing.text.replace(
                unknown, "ID"
            )
            lower = await http.get(f"/dashboard/incidents/{secret.public_id.lower()}")
            assert "Payroll leak" not in lower.text and lower.status_code == 404


async def test_someone_removed_from_a_private_channel_loses_it_within_the_minute(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    trust(fake_slack, clock)
    secret = await declare(slack, fake_slack, bot, title="Payroll leak", visibility="private")
    assert secret.channel_id
    fake_slack.channels[secret.channel_id].members.add("UOTHER")
    async with browser(bot) as http:
        await sign_in_with_slack(http, fake_slack, "UOTHER")
        page = f"/dashboard/incidents/{secret.public_id}"
        assert (await http.get(page)).status_code == 200
        fake_slack.channels[secret.channel_id].members.discard("UOTHER")
        clock.advance(timedelta(seconds=61))
        assert (await http.get(page)).status_code == 404
        board = await http.get("/dashboard")
        assert "Payroll leak" not in board.text and secret.public_id not in board.text
        assert 'data-count="0"' in board.text


async def test_slack_unable_to_say_who_is_in_the_channel_hides_the_private_incident_everywhere(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    trust(fake_slack, clock)
    secret = await declare(slack, fake_slack, bot, title="Payroll leak", visibility="private")
    async with browser(bot) as http:
        await sign_in_with_slack(http, fake_slack, "UREPORTER")  # a member
        clock.advance(timedelta(seconds=61))
        fake_slack.fail_next("conversations.members", "internal_error", times=20)
        board = await http.get("/dashboard")
        page = await http.get(f"/dashboard/incidents/{secret.public_id}")
    assert "Payroll leak" not in board.text and secret.public_id not in board.text
    assert page.status_code == 404 and "Payroll leak" not in page.text


async def test_the_report_shows_private_incidents_only_as_numbers(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext, clock: ManualClock
) -> None:
    trust(fake_slack, clock)
    secret = await declare(slack, fake_slack, bot, title="Payroll leak", visibility="private")
    async with browser(bot) as token, browser(bot) as other:
        await sign_in_with_token(token)
        await sign_in_with_slack(other, fake_slack, "UOTHER")
        for http in (token, other):
            page = (await http.get("/dashboard/report", params={"period": "this"})).text
            for internal in (
                "Payroll leak",
                secret.public_id,
                secret.channel_id or "-",
                secret.channel_name or "-",
                "UREPORTER",
            ):
                assert internal not in page, internal
