"""The fake Slack's OpenID Connect provider is as strict as Slack's: the app's credentials and
redirect URI as registered, a code used once, tokens signed with the key its JWKS publishes."""

from __future__ import annotations

import httpx
import jwt
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from app.clock import ManualClock
from app.sandbox.fakeslack import FakeSlack
from tests.dashboard_door import CALLBACK, CLIENT_ID, CLIENT_SECRET, trust


async def code_for(fake: FakeSlack, user_id: str, nonce: str = "n-1") -> str:
    fake.openid.sign_in_as(user_id)
    authorize = fake.base_url.replace("/api/", "/openid/connect/authorize")
    params = {
        "response_type": "code",
        "scope": "openid profile email",
        "client_id": CLIENT_ID,
        "state": "s-1",
        "nonce": nonce,
        "redirect_uri": CALLBACK,
    }
    async with httpx.AsyncClient() as http:
        response = await http.get(authorize, params=params)
    assert response.status_code == 302, response.text
    back = httpx.URL(response.headers["location"])
    assert back.params["state"] == "s-1"
    return back.params["code"]


async def exchange(fake: FakeSlack, issued: str, /, **changes: str) -> dict[str, object]:
    client = AsyncWebClient(base_url=fake.base_url)
    args = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "code": issued,
        "redirect_uri": CALLBACK,
        **changes,
    }
    answer = await client.openid_connect_token(**args)
    return dict(answer.data)  # type: ignore[arg-type]


async def test_a_code_becomes_an_id_token_signed_with_the_published_key_and_the_users_info(
    fake_slack: FakeSlack, clock: ManualClock
) -> None:
    trust(fake_slack, clock)
    answer = await exchange(fake_slack, await code_for(fake_slack, "UREPORTER"))
    assert answer["ok"] is True and answer["token_type"] == "Bearer"
    async with httpx.AsyncClient() as http:
        keys = (await http.get(fake_slack.base_url.replace("api/", "openid/connect/keys"))).json()
    [key] = jwt.PyJWKSet.from_dict(keys).keys
    claims = jwt.decode(
        str(answer["id_token"]),
        key,
        algorithms=["RS256"],
        audience=CLIENT_ID,
        options={"verify_exp": False},
    )
    assert claims["iss"] == "https://slack.com" and claims["sub"] == "UREPORTER"
    assert claims["nonce"] == "n-1" and claims["iat"] == int(clock.now().timestamp())
    assert claims["https://slack.com/team_id"] == fake_slack.team_id
    assert claims["email"] == "reporter@example.com"
    user = AsyncWebClient(token=str(answer["access_token"]), base_url=fake_slack.base_url)
    info = await user.openid_connect_userInfo()
    assert info["sub"] == "UREPORTER" and info["https://slack.com/user_id"] == "UREPORTER"
    with pytest.raises(SlackApiError) as refused:
        await AsyncWebClient(
            token="xoxp-made-up", base_url=fake_slack.base_url
        ).openid_connect_userInfo()
    assert refused.value.response["error"] == "invalid_auth"


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"client_id": "999.999"}, "invalid_client_id"),
        ({"client_secret": "not-the-secret"}, "bad_client_secret"),
        ({"redirect_uri": "http://elsewhere.test/callback"}, "bad_redirect_uri"),
        ({"code": "1.made-up"}, "invalid_code"),
        ({"grant_type": "password"}, "invalid_grant_type"),
    ],
)
async def test_the_exchange_refuses_what_slack_refuses(
    fake_slack: FakeSlack, clock: ManualClock, changes: dict[str, str], error: str
) -> None:
    trust(fake_slack, clock)
    code = await code_for(fake_slack, "UREPORTER")
    with pytest.raises(SlackApiError) as refused:
        await exchange(fake_slack, code, **changes)
    assert refused.value.response["error"] == error


async def test_a_code_is_exchanged_once(fake_slack: FakeSlack, clock: ManualClock) -> None:
    trust(fake_slack, clock)
    code = await code_for(fake_slack, "UREPORTER")
    assert (await exchange(fake_slack, code))["ok"] is True
    with pytest.raises(SlackApiError) as refused:
        await exchange(fake_slack, code)
    assert refused.value.response["error"] == "invalid_code"


async def test_the_authorize_page_refuses_an_unknown_app_or_redirect_uri(
    fake_slack: FakeSlack, clock: ManualClock
) -> None:
    trust(fake_slack, clock)
    authorize = fake_slack.base_url.replace("/api/", "/openid/connect/authorize")
    base = {"response_type": "code", "scope": "openid", "client_id": CLIENT_ID, "state": "s"}
    async with httpx.AsyncClient() as http:
        unknown = await http.get(authorize, params={**base, "client_id": "1.2"})
        elsewhere = await http.get(authorize, params={**base, "redirect_uri": "http://evil.test/"})
    assert unknown.status_code == 400 and "client_id" in unknown.text
    assert elsewhere.status_code == 400 and "redirect_uri" in elsewhere.text
