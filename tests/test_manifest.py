"""manifest.yml against Slack's schema and event reference, and against what the app handles."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import ROOT
from tests.fakeslack import DEFAULT_SPEC_DIR
from tests.slack_requests import SlackSender

MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())
# files_upload_v2 is slack-sdk's helper over these two methods.
HELPERS = {"files.upload.v2": ["files.getUploadURLExternal", "files.completeUploadExternal"]}
BOT_EVENTS: list[str] = MANIFEST["settings"]["event_subscriptions"]["bot_events"]


def spec(name: str) -> Any:
    path = DEFAULT_SPEC_DIR / name
    if not path.is_file():
        pytest.fail(f"Slack reference {path} is missing: copy shared/slack-spec next to the repo")
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


def sample(name: str) -> dict[str, Any]:
    """A minimal event of the subscribed type, in a channel that is not an incident's."""
    if name.startswith("message."):
        kind = {"channels": "channel", "groups": "group", "im": "im", "mpim": "mpim"}[
            name.split(".", 1)[1]
        ]
        return {
            "type": "message",
            "channel": "C0ELSEWHERE",
            "channel_type": kind,
            "user": "UOTHER",
            "text": "hi",
            "ts": "1795905000.000100",
        }
    if name.startswith("reaction_"):
        return {
            "type": name,
            "user": "UOTHER",
            "reaction": "pushpin",
            "item": {"type": "message", "channel": "C0ELSEWHERE", "ts": "1795905000.000100"},
            "event_ts": "1795905001.000100",
        }
    return {"type": name, "event_ts": "1795905001.000100"}


@pytest.mark.parametrize("name", BOT_EVENTS)
async def test_every_subscribed_event_is_handled_not_404(slack: SlackSender, name: str) -> None:
    """Bolt answers 404 to an event no listener matches, and Slack then retries it."""
    response = await slack.event(sample(name))
    assert response.status_code == 200


def methods_called_by_the_bot() -> set[str]:
    """Web API methods the app calls through slack-sdk (`.chat_postMessage(` → chat.postMessage)."""
    found: set[str] = set()
    for path in (ROOT / "app").rglob("*.py"):
        for name in re.findall(
            r"\.slack\.([a-z]+_[A-Za-z_0-9]+)\(|client\.([a-z]+_[A-Za-z_0-9]+)\(", path.read_text()
        ):
            method = (name[0] or name[1]).replace("_", ".")
            found.update(HELPERS.get(method, [method]))
    return found


def test_every_web_api_call_has_a_granted_scope() -> None:
    granted = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    called = methods_called_by_the_bot()
    assert {"conversations.create", "chat.postMessage", "views.open", "pins.add"} <= called
    missing = {}
    for method in sorted(called):
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
