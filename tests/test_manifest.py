"""manifest.yml against Slack's schema and event reference, and against what the app handles."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
import yaml

from app.sandbox import builders as build
from app.sandbox.fakeslack import DEFAULT_SPEC_DIR, FakeSlack
from app.sandbox.sender import SlackSender
from tests import slack_events as ev
from tests.conftest import ROOT

MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())
# files_upload_v2 is slack-sdk's helper over these two methods.
HELPERS = {"files.upload.v2": ["files.getUploadURLExternal", "files.completeUploadExternal"]}
# Called with the app's client id and secret (Sign in with Slack), not the bot token.
NO_BOT_SCOPE = {"openid.connect.token", "openid.connect.userInfo"}
# Methods of slack-sdk's Socket Mode client: frames on the websocket, not Web API calls.
SOCKET_MODE_CLIENT = {"send_socket_mode_response", "connect", "disconnect", "close"}
BOT_EVENTS: list[str] = MANIFEST["settings"]["event_subscriptions"]["bot_events"]


def spec(name: str) -> Any:
    if not DEFAULT_SPEC_DIR.is_dir():
        # A bare clone has no ../shared; CI always has it (.ci/run fails without it).
        pytest.skip(
            f"Slack's reference data is absent ({DEFAULT_SPEC_DIR} does not exist): this check "
            "needs ../shared/slack-spec beside the clone"
        )
    path = DEFAULT_SPEC_DIR / name
    assert path.is_file(), f"{name} is not in Slack's reference: not a Web API method?"
    return json.loads(path.read_text())


def test_manifest_matches_slacks_schema() -> None:
    jsonschema.validate(MANIFEST, spec("manifest.schema.1.0.0.json"))


def test_every_subscribed_event_exists_and_its_scope_is_requested() -> None:
    events = {e["name"]: e for e in spec("events.json")}
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    for name in BOT_EVENTS:
        assert name in events, f"{name} is not a Slack event"
        needed = set(events[name].get("scopes") or [])
        assert not needed or needed & scopes, f"{name} needs one of {sorted(needed)}"


def sample(fake: FakeSlack, name: str) -> dict[str, Any]:
    """An event of the subscribed type, as Slack sends it, in a channel that is not an
    incident's (a private one for `message.groups`)."""
    channel = fake.add_channel(
        f"elsewhere-{name.replace('.', '-')}",
        members=["UOTHER"],
        is_private=name == "message.groups",
    )
    if name.startswith("message."):
        return ev.message(fake, channel, "hi")
    ts = fake.add_message(channel, "hi", user="UOTHER")
    if name == "reaction_added":
        return ev.added(fake, channel, ts)
    if name == "reaction_removed":
        return ev.removed(fake, channel, ts)
    if name == "app_home_opened":
        return build.app_home_opened_event(fake, "UOTHER")
    raise AssertionError(f"no sample of {name}: add one here")


@pytest.mark.parametrize("name", BOT_EVENTS)
async def test_every_subscribed_event_is_handled_not_404(
    slack: SlackSender, fake_slack: FakeSlack, name: str
) -> None:
    """Bolt answers 404 to an event no listener matches, and Slack then retries it."""
    response = await slack.event(sample(fake_slack, name))
    assert response.status_code == 200


def methods_called_by_the_bot() -> set[str]:
    """Web API methods the app calls through slack-sdk (`.chat_postMessage(` → chat.postMessage)."""
    found: set[str] = set()
    for path in (ROOT / "app").rglob("*.py"):
        for name in re.findall(
            r"\.slack\.([a-z]+_[A-Za-z_0-9]+)\(|client\.([a-z]+_[A-Za-z_0-9]+)\(", path.read_text()
        ):
            if (name[0] or name[1]) in SOCKET_MODE_CLIENT:
                continue
            method = (name[0] or name[1]).replace("_", ".")
            found.update(HELPERS.get(method, [method]))
    return found


def test_every_web_api_call_has_a_granted_scope() -> None:
    granted = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    called = methods_called_by_the_bot()
    assert {"conversations.create", "chat.postMessage", "views.open", "pins.add"} <= called
    missing = {}
    spec("methods/chat.postMessage.json")  # skips without Slack's reference
    families = {p.name.split(".")[0] for p in (DEFAULT_SPEC_DIR / "methods").glob("*.json")}
    for method in sorted(called - NO_BOT_SCOPE):
        if method.split(".")[0] not in families | {"files"}:
            continue  # another service's client (Statuspage's `client.create_incident(`)
        reference = spec(f"methods/{method}.json")
        needs = reference.get("scope", {}).get("bot") or []
        if needs and not granted.intersection(needs):
            missing[method] = needs
    assert missing == {}


def test_all_request_urls_point_at_the_slack_events_endpoint() -> None:
    m = MANIFEST
    urls = [
        m["features"]["slash_commands"][0]["url"],
        m["settings"]["event_subscriptions"]["request_url"],
        m["settings"]["interactivity"]["request_url"],
    ]
    assert all(url.endswith("/slack/events") for url in urls)
