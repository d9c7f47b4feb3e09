"""manifest.yml is valid for Slack and grants every scope the bot's Web API calls need."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.fakeslack import DEFAULT_SPEC_DIR

ROOT = Path(__file__).resolve().parents[1]
SPEC = DEFAULT_SPEC_DIR

# files_upload_v2 is slack-sdk's helper over these two methods.
HELPERS = {"files.upload.v2": ["files.getUploadURLExternal", "files.completeUploadExternal"]}


@pytest.fixture(scope="module")
def spec_dir() -> Path:
    if not SPEC.is_dir():
        pytest.fail(f"Slack reference data not found at {SPEC}: the manifest cannot be checked")
    return SPEC


def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


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


def test_manifest_is_valid_against_slacks_schema(spec_dir: Path) -> None:
    schema = json.loads((spec_dir / "manifest.schema.1.0.0.json").read_text())
    errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(manifest())]
    assert errors == []


def test_every_web_api_call_has_a_granted_scope(spec_dir: Path) -> None:
    granted = set(manifest()["oauth_config"]["scopes"]["bot"])
    called = methods_called_by_the_bot()
    assert {"conversations.create", "chat.postMessage", "views.open", "pins.add"} <= called
    missing = {}
    for method in sorted(called):
        reference = json.loads((spec_dir / "methods" / f"{method}.json").read_text())
        needs = reference.get("scope", {}).get("bot") or []
        if needs and not granted.intersection(needs):
            missing[method] = needs
    assert missing == {}


def test_every_subscribed_event_exists_and_its_scope_is_granted(spec_dir: Path) -> None:
    events = {e["name"]: e for e in json.loads((spec_dir / "events.json").read_text())}
    granted = set(manifest()["oauth_config"]["scopes"]["bot"])
    for name in manifest()["settings"]["event_subscriptions"]["bot_events"]:
        assert name in events, name
        assert granted.intersection(events[name]["scopes"]), name


def test_all_request_urls_point_at_the_slack_events_endpoint() -> None:
    m = manifest()
    urls = [
        m["features"]["slash_commands"][0]["url"],
        m["settings"]["event_subscriptions"]["request_url"],
        m["settings"]["interactivity"]["request_url"],
    ]
    assert all(url.endswith("/slack/events") for url in urls)
