"""What a surface offers a person: its interactive elements (a button named by its label or
action id), the answers each takes, and the `state.values` and `actions` entries Slack reports
for them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from app.sandbox.identity import NotOffered, action_ts

# Element types whose value Slack reports in `state.values`, and under which key.
STATE_KEYS = {
    "plain_text_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "number_input": "value",
    "rich_text_input": "rich_text_value",
    "static_select": "selected_option",
    "external_select": "selected_option",
    "radio_buttons": "selected_option",
    "checkboxes": "selected_options",
    "multi_static_select": "selected_options",
    "multi_external_select": "selected_options",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
}


# Where the element's initial value sits, for each state key.
INITIAL_KEYS = {
    "value": "initial_value",
    "rich_text_value": "initial_value",
    "selected_option": "initial_option",
    "selected_options": "initial_options",
    "selected_user": "initial_user",
    "selected_users": "initial_users",
    "selected_conversation": "initial_conversation",
    "selected_conversations": "initial_conversations",
    "selected_channel": "initial_channel",
    "selected_channels": "initial_channels",
    "selected_date": "initial_date",
    "selected_time": "initial_time",
    "selected_date_time": "initial_date_time",
}


MULTI_KEYS = {"selected_options", "selected_users", "selected_conversations", "selected_channels"}


OPTION_KEYS = {"selected_option", "selected_options"}


INTERACTIVE = {*STATE_KEYS, "button", "overflow", "workflow_button"}


def elements(blocks: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(block, element) for every interactive element of a message's or view's blocks."""
    for block in blocks:
        candidates = [*block.get("elements", []), block.get("accessory"), block.get("element")]
        for element in candidates:
            if isinstance(element, dict) and element.get("type") in INTERACTIVE:
                yield block, element


def _label(element: dict[str, Any]) -> str:
    text = element.get("text")
    return text.get("text", "") if isinstance(text, dict) else ""


def block_text(block: dict[str, Any]) -> str:
    """What a person reads in a block (its text and fields)."""
    parts = [block.get("text")] + list(block.get("fields") or [])
    return " ".join(p.get("text", "") for p in parts if isinstance(p, dict))


def find_element(
    blocks: list[dict[str, Any]],
    action: str,
    *,
    block_id: str | None = None,
    near: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The element a person would press: named by its action id, or a button by its label;
    `near` picks among equal buttons the one whose block reads that text."""
    found = [
        (block, element)
        for block, element in elements(blocks)
        if (element.get("action_id") == action or _label(element) == action)
        and (block_id is None or block.get("block_id") == block_id)
        and (near is None or near in block_text(block))
    ]
    if not found:
        offered = [(b.get("block_id"), e.get("action_id"), _label(e)) for b, e in elements(blocks)]
        raise NotOffered(f"no element {action!r} (block {block_id!r}); offered: {offered}")
    if len(found) > 1:
        raise NotOffered(f"{len(found)} elements match {action!r}; say which (near=...)")
    return found[0]


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def _option(element: dict[str, Any], value: str) -> dict[str, Any]:
    for option in _options(element):
        if option.get("value") == value:
            return option
    offered = [o.get("value") for o in _options(element)]
    raise NotOffered(f"{element.get('action_id')!r} offers no option {value!r}; it has {offered}")


def _chosen(element: dict[str, Any], key: str, answer: Any) -> Any:
    """An answer (an option value, a list of them, a text, an id) in Slack's shape for `key`."""
    if key in MULTI_KEYS:
        picked = [answer] if isinstance(answer, str) else list(answer or [])
        return [_option(element, v) for v in picked] if key in OPTION_KEYS else picked
    if answer is None:
        return None
    if key == "selected_option":
        return _option(element, str(answer))
    if key == "value" and element.get("type") == "plain_text_input":
        limit = element.get("max_length")
        if limit is not None and len(str(answer)) > int(limit):
            raise NotOffered(f"{element.get('action_id')!r} takes at most {limit} characters")
    return answer


def _initial(element: dict[str, Any], key: str) -> Any:
    initial = element.get(INITIAL_KEYS[key])
    if key in MULTI_KEYS:
        return list(initial or [])
    return initial


def state_values(
    blocks: list[dict[str, Any]], answers: Mapping[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """`state.values` as Slack sends it: every stateful element, keyed by block and action id.

    `answers` maps a block id to what the person entered there (text, option value(s), user
    id...); an element nobody touched carries its initial value, or Slack's null.
    """
    answers = dict(answers or {})
    values: dict[str, dict[str, Any]] = {}
    for block, element in elements(blocks):
        kind = element["type"]
        key = STATE_KEYS.get(kind)
        if key is None:
            continue
        block_id = block["block_id"]
        if block_id in answers:
            current = _chosen(element, key, answers.pop(block_id))
        else:
            current = _initial(element, key)
        values.setdefault(block_id, {})[element["action_id"]] = {"type": kind, key: current}
    if answers:
        raise NotOffered(f"no input blocks {sorted(answers)} in this surface")
    return values


def action(block: dict[str, Any], element: dict[str, Any], selected: Any = None) -> dict[str, Any]:
    """One entry of `actions`, as Slack reports the element that was used."""
    kind = element["type"]
    out: dict[str, Any] = {
        "type": kind,
        "block_id": block["block_id"],
        "action_id": element["action_id"],
        "action_ts": action_ts(),
    }
    if kind in {"button", "workflow_button"}:
        out["text"] = element["text"]
        if "value" in element:
            out["value"] = element["value"]
        if "style" in element:
            out["style"] = element["style"]
        return out
    if kind == "overflow":
        out["selected_option"] = _option(element, str(selected))
        return out
    key = STATE_KEYS[kind]
    out[key] = _chosen(element, key, selected)
    if "placeholder" in element:
        out["placeholder"] = element["placeholder"]
    return out
