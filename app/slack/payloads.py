"""Reading and checking Slack request bodies, after the signature check and before Bolt.

Bolt and our listeners index into a body assuming Slack's shapes (`body["actions"][0]
["action_id"]`, `body["view"]["type"]`, `body["user"]["id"]`, ...). A signed body that breaks
one of those assumptions would make them fail with a 500 and a traceback; this module turns it
into a `MalformedPayload` with the path and the reason, which app/web.py answers with a 400.

It checks only what is dereferenced, at the paths where it is, and nothing else: every shape
Slack documents passes (a button's `text` object, `enterprise: null`, `response_urls: []`,
`state.values` of any element, `message` with blocks, attachments or files, `authorizations`,
`event_context`, ...). What is dereferenced where:

- every body, by Bolt building its context (slack_bolt/request/internals.py): `enterprise`,
  `team`, `user` and `channel` are an id or an object (with a string `id`), in the body and in
  the dicts it recurses into (`authorizations[0]`, `event`, `message`, `previous_message`,
  `item`, `assistant_thread`); `authorizations` and `response_urls` are lists of objects;
  `response_url` is a string; `event` and `view` are objects (IgnoringSelfEvents and Bolt's
  log of unhandled requests call `.get` on them);
- `event_callback`: `event.type` (every event matcher); for reactions `event.item`, for messages
  `event.message`, its `edited` and `files`, as app/slack/timeline.py reads them;
- `block_actions`: `user.id`, `actions[0].action_id` and `block_id` (Bolt's action matchers),
  `trigger_id`, `container`, `channel`, `message` and `view` as the listeners read them (all
  but `user.id` and `actions` optional: a listener does without what is absent);
- `view_submission` / `view_closed`: `view.callback_id` (Bolt's view matchers), `view.type` and
  `view.id` for a submission (Bolt's workflow-step check, the declare listener), `user.id`,
  `view.state.values` (block id -> action id -> element state; `value`, `selected_option` and
  `selected_options` have the types the modals are read back with) and `view.private_metadata`.

The body is parsed here once, the way Slack encodes it, and that parse is what Bolt gets (see
app/web.py): JSON for `application/json`, else a form whose `payload` field holds an
interaction's JSON, else the form's fields (slash commands, `ssl_check`).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["MAX_DEPTH", "MalformedPayload", "check_body", "check_parsed", "parse_body"]

# Slack's own bodies are nested about 10 levels deep (rich text in a message in an action).
MAX_DEPTH = 64

# Keys Bolt reads as "an id, or an object with an `id`" in every dict its extractors visit.
_ID_OR_OBJECT = ("enterprise", "team", "user", "channel")
_ID_KEYS = ("enterprise_id", "team_id", "user_id", "channel_id")
# The dicts Bolt's extractors recurse into when they are dicts.
_NESTED = ("event", "message", "previous_message", "item", "assistant_thread")


class MalformedPayload(ValueError):
    pass


def check_body(raw: bytes, content_type: str) -> dict[str, Any]:
    """The parsed body, or MalformedPayload with a reason if it is not a shape Slack sends."""
    body, where = parse_body(raw, content_type)
    check_parsed(body, where)
    return body


def parse_body(raw: bytes, content_type: str) -> tuple[dict[str, Any], str]:
    """The body as a dict, and what to call it in reasons (`body`, or `payload` for an
    interaction); MalformedPayload if it cannot be read."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPayload("body is not UTF-8") from exc
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        return _json_object(text, "body"), "body"
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in form:
        return _json_object(form["payload"], "payload"), "payload"
    if "command" not in form and "ssl_check" not in form:
        raise MalformedPayload("form body is neither a slash command nor an interaction")
    return form, "body"


def check_parsed(body: dict[str, Any], where: str = "body") -> None:
    """MalformedPayload if Bolt or a listener would fail on `body` (a parsed body)."""
    _envelope(body, where)
    for key in ("event", "view"):  # IgnoringSelfEvents and Bolt's unhandled-request log
        if key in body and not isinstance(body[key], dict):
            raise MalformedPayload(f"{where}.{key} is not an object")
    _response_urls(body, where)
    kind = body.get("type")
    if kind is None and ("command" in body or "ssl_check" in body):
        return  # a slash command or an SSL check: form fields, all strings
    if not isinstance(kind, str):
        raise MalformedPayload(f"{where} has no type")
    checker = _BY_KIND.get(kind)
    if checker is not None:
        checker(body, where)


# ------------------------------------------------------------------------------ parsing


def _json_object(text: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except RecursionError:
        raise MalformedPayload(f"{where} is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise MalformedPayload(f"{where} is not valid JSON") from exc
    if not isinstance(value, dict):
        raise MalformedPayload(f"{where} is not an object")
    _check_depth(value, where)
    return value


def _check_depth(value: dict[str, Any], where: str) -> None:
    """Iteratively, so that no check or listener recursing into the body can overflow."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise MalformedPayload(f"{where} is nested deeper than {MAX_DEPTH} levels")
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


# ------------------------------------------------------------------------------ helpers


def _required(container: dict[str, Any], key: str, where: str, kind: type, noun: str) -> Any:
    """`container[key]`, which must be there and be a `kind` (`noun` in the message)."""
    if key not in container:
        raise MalformedPayload(f"{where}.{key} is missing")
    value = container[key]
    if not isinstance(value, kind):
        raise MalformedPayload(f"{where}.{key} is not {noun}")
    return value


def _object(container: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """`container[key]`, which must be an object."""
    return _required(container, key, where, dict, "an object")


def _optional_object(container: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """`container[key]` when it is an object; {} when absent or null."""
    value = container.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedPayload(f"{where}.{key} is not an object")
    return value


def _string(container: dict[str, Any], key: str, where: str) -> str:
    return _required(container, key, where, str, "a string")


def _optional_string(container: dict[str, Any], key: str, where: str) -> None:
    value = container.get(key)
    if value is not None and not isinstance(value, str):
        raise MalformedPayload(f"{where}.{key} is not a string")


def _optional_list(container: dict[str, Any], key: str, where: str) -> list[Any]:
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedPayload(f"{where}.{key} is not a list")
    return value


# ------------------------------------------------------------------------------ every body


def _envelope(value: dict[str, Any], where: str) -> None:
    """What Bolt's context extractors (team, user, channel, enterprise ids) dereference."""
    for key in _ID_OR_OBJECT:
        item = value.get(key)
        if item is None or isinstance(item, str):
            continue
        if not isinstance(item, dict):
            raise MalformedPayload(f"{where}.{key} is neither an id nor an object")
        _optional_string(item, "id", f"{where}.{key}")
    for key in _ID_KEYS:
        _optional_string(value, key, where)
    authorizations = _optional_list(value, "authorizations", where)
    if authorizations:
        first = authorizations[0]
        if not isinstance(first, dict):
            raise MalformedPayload(f"{where}.authorizations[0] is not an object")
        _envelope(first, f"{where}.authorizations[0]")
    for key in _NESTED:
        item = value.get(key)
        if isinstance(item, dict):
            _envelope(item, f"{where}.{key}")


def _response_urls(body: dict[str, Any], where: str) -> None:
    """Bolt's respond() posts to `response_url`, else to `response_urls[0].response_url`."""
    _optional_string(body, "response_url", where)
    urls = _optional_list(body, "response_urls", where)
    if urls:
        if not isinstance(urls[0], dict):
            raise MalformedPayload(f"{where}.response_urls[0] is not an object")
        _optional_string(urls[0], "response_url", f"{where}.response_urls[0]")


# ------------------------------------------------------------------------------ by kind


def _event_callback(body: dict[str, Any], where: str) -> None:
    if "event" not in body:
        raise MalformedPayload("event_callback without an event")
    event = body["event"]  # an object: check_parsed saw to it
    kind = _string(event, "type", f"{where}.event")
    at = f"{where}.event"
    if kind == "function_executed":
        _optional_object(event, "function", at)  # Bolt's unhandled-request log
    elif kind in {"reaction_added", "reaction_removed"}:
        _optional_object(event, "item", at)
    elif kind == "message":
        _optional_string(event, "event_ts", at)
        message = _optional_object(event, "message", at)
        edited = _optional_object(message, "edited", f"{at}.message")
        _optional_string(edited, "ts", f"{at}.message.edited")
        for n, item in enumerate(_optional_list(message, "files", f"{at}.message")):
            if not isinstance(item, dict):
                raise MalformedPayload(f"{at}.message.files[{n}] is not an object")


def _user_id(body: dict[str, Any], where: str) -> None:
    user = body.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        raise MalformedPayload(f"{body['type']} without a user id ({where}.user.id)")


def _block_actions(body: dict[str, Any], where: str) -> None:
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        raise MalformedPayload(f"block_actions without actions ({where}.actions)")
    if not isinstance(actions[0], dict):
        raise MalformedPayload(f"{where}.actions[0] is not an object")
    _string(actions[0], "action_id", f"{where}.actions[0]")
    _optional_string(actions[0], "block_id", f"{where}.actions[0]")
    _user_id(body, where)
    _optional_string(body, "trigger_id", where)  # views.open takes it as a string
    container = _optional_object(body, "container", where)
    _optional_string(container, "channel_id", f"{where}.container")
    _optional_string(container, "message_ts", f"{where}.container")
    _optional_object(body, "channel", where)
    message = _optional_object(body, "message", where)
    _optional_string(message, "ts", f"{where}.message")
    if "view" in body:
        view = body["view"]  # an object: check_parsed saw to it
        _string(view, "id", f"{where}.view")
        _view(view, f"{where}.view")


def _view_submission(body: dict[str, Any], where: str) -> None:
    view = _object(body, "view", where)
    for key in ("id", "type", "callback_id"):
        _string(view, key, f"{where}.view")
    _view(view, f"{where}.view")
    _user_id(body, where)
    if view["type"] == "workflow_step" and "workflow_step" not in body:
        raise MalformedPayload(f"a workflow_step view_submission without {where}.workflow_step")


def _view_closed(body: dict[str, Any], where: str) -> None:
    view = _object(body, "view", where)
    _string(view, "callback_id", f"{where}.view")


def _view(view: dict[str, Any], where: str) -> None:
    """A view as listeners read it back: metadata, hash, and state.values."""
    _optional_string(view, "private_metadata", where)
    _optional_string(view, "hash", where)
    if "state" not in view:
        return
    state = _object(view, "state", where)
    if "values" not in state:
        return
    values = _object(state, "values", f"{where}.state")
    for block_id, elements in values.items():
        at = f"{where}.state.values.{block_id}"
        if not isinstance(elements, dict):
            raise MalformedPayload(f"{at} is not an object")
        for action_id, element in elements.items():
            if not isinstance(element, dict):
                raise MalformedPayload(f"{at}.{action_id} is not an object")
            _element_state(element, f"{at}.{action_id}")


def _element_state(element: dict[str, Any], where: str) -> None:
    """The keys modals are read back with; other element types' keys are nobody's business."""
    _optional_string(element, "value", where)
    option = element.get("selected_option")
    if option is not None:
        _option(option, f"{where}.selected_option")
    for n, option in enumerate(_optional_list(element, "selected_options", where)):
        _option(option, f"{where}.selected_options[{n}]")


def _option(option: Any, where: str) -> None:
    if not isinstance(option, dict):
        raise MalformedPayload(f"{where} is not an object")
    _string(option, "value", where)


def _legacy_action(body: dict[str, Any], where: str) -> None:
    """Bolt's action matchers given a pattern (the snooze buttons') search it in the
    `callback_id` of these legacy kinds, so it must be a string."""
    _optional_string(body, "callback_id", where)
    if "callback_id" not in body:
        return
    if body["type"] == "interactive_message":
        # Bolt takes `actions[0]` of an attachment action that has a callback_id.
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            raise MalformedPayload(f"interactive_message without actions ({where}.actions)")
    if body["type"] == "workflow_step_edit" and "workflow_step" not in body:
        # Bolt hands `body["workflow_step"]` to every listener of a workflow_step_edit.
        raise MalformedPayload(f"workflow_step_edit without {where}.workflow_step")


def _block_suggestion(body: dict[str, Any], where: str) -> None:
    """Bolt's unhandled-request log quotes the action id with `+`."""
    _optional_string(body, "action_id", where)


_BY_KIND = {
    "block_suggestion": _block_suggestion,
    "event_callback": _event_callback,
    "block_actions": _block_actions,
    "view_submission": _view_submission,
    "view_closed": _view_closed,
    "interactive_message": _legacy_action,
    "dialog_submission": _legacy_action,
    "dialog_cancellation": _legacy_action,
    "workflow_step_edit": _legacy_action,
}
