"""A structural check of Slack request bodies, run after the signature check and before Bolt.

Bolt indexes into payloads (`body["view"]["type"]`, `body["actions"][0]`, ...) assuming Slack's
shapes; a signed but malformed body would make it fail with a 500 and a traceback. Checking the
few shapes Bolt and our listeners rely on lets the bot answer 400 with a reason instead.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

# Keys that Slack sends as null in some payloads (no enterprise).
NULLABLE_OBJECT_KEYS = ("enterprise",)
# Keys that, when present, must hold an object (or null, for the ones above).
OBJECT_KEYS = (
    "event",
    "view",
    "container",
    "message",
    "previous_message",
    "item",
    "assistant_thread",
    "function_data",
    "workflow_step",
    "enterprise",
    "state",
)
# Keys that are an id in some payloads and an object in others (events vs interactions).
ID_OR_OBJECT_KEYS = ("user", "team", "channel")
# Keys that, when present and not null, must hold a string.
STRING_KEYS = (
    "type",
    "callback_id",
    "trigger_id",
    "response_url",
    "api_app_id",
    "team_id",
    "user_id",
    "channel_id",
    "id",
    "hash",
    "private_metadata",
    "subtype",
    "ts",
    "thread_ts",
    "channel_type",
    "bot_id",
    "reaction",
    "action_id",
    "block_id",
    "event_id",
    "tab",
    "text",
)
LIST_KEYS = ("actions", "authorizations", "response_urls")


class MalformedPayload(ValueError):
    pass


def check_body(raw: bytes, content_type: str) -> None:
    """Raise MalformedPayload with a reason if the body is not a shape Slack sends."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPayload("body is not UTF-8") from exc
    if content_type.startswith("application/json"):
        _check_json_body(_loads(text))
        return
    form = parse_qs(text, keep_blank_values=True)
    if "payload" in form:
        _check_interaction(_loads(form["payload"][0]))
    elif "command" not in form and "ssl_check" not in form:
        raise MalformedPayload("form body is neither a slash command nor an interaction")


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise MalformedPayload("body is not valid JSON") from exc


def _check_json_body(body: Any) -> None:
    _check_object(body, "body")
    if body.get("type") == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise MalformedPayload("event_callback without an event type")


def _check_interaction(body: Any) -> None:
    _check_object(body, "payload")
    kind = body.get("type")
    if not isinstance(kind, str):
        raise MalformedPayload("payload has no type")
    if kind in {"view_submission", "view_closed"}:
        view = body.get("view")
        if not isinstance(view, dict) or not all(
            isinstance(view.get(k), str) for k in ("id", "callback_id", "type")
        ):
            raise MalformedPayload(f"{kind} without a view id, type and callback_id")
    if kind == "block_actions" and not body.get("actions"):
        raise MalformedPayload("block_actions without actions")
    if kind in {"view_submission", "block_actions"}:
        user = body.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            raise MalformedPayload(f"{kind} without a user id")


def _check_object(value: Any, where: str, depth: int = 0) -> None:
    if not isinstance(value, dict):
        raise MalformedPayload(f"{where} is not an object")
    if depth > 3:
        return
    for key in OBJECT_KEYS:
        if key in value and not (value[key] is None and key in NULLABLE_OBJECT_KEYS):
            _check_object(value[key], f"{where}.{key}", depth + 1)
    for key in STRING_KEYS:
        if value.get(key) is not None and not isinstance(value[key], str):
            raise MalformedPayload(f"{where}.{key} is not a string")
    for key in ID_OR_OBJECT_KEYS:
        item = value.get(key)
        if item is not None and not isinstance(item, str | dict):
            raise MalformedPayload(f"{where}.{key} is neither an id nor an object")
        if isinstance(item, dict):
            _check_object(item, f"{where}.{key}", depth + 1)
    for key in LIST_KEYS:
        items = value.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            raise MalformedPayload(f"{where}.{key} is not a list")
        for n, item in enumerate(items):
            _check_object(item, f"{where}.{key}[{n}]", depth + 1)
