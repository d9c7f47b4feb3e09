"""Block Kit checks exactly as strict as Slack, shared by chat.* and views.* handlers.

Two layers, both run on every message and view:

1. slack_sdk's own models: each block through ``Block.parse`` (an unknown type parses to None),
   the view through ``View(**view)``, then every parsed object's validators. ``validate_json()``
   only runs the validators of the object it is called on, and ``to_dict()`` descends only
   through ``attributes`` into objects slack_sdk parsed, so the walk here visits every nested
   model (elements, options, confirm dialogs, text objects) and validates each one, reporting it
   at its own JSON pointer.
2. Slack's documented limits that slack_sdk leaves out or cannot see: slack_sdk keeps some
   nested values as raw dicts (options of static selects, radio buttons and overflow menus),
   never checks a text object's type (anything but ``plain_text`` parses as mrkdwn), and has no
   notion of a message's block count or of block_id uniqueness. Those are checked on the raw
   JSON, so pointers are exact.

Problems come back as Slack words them in ``response_metadata.messages``:
``[ERROR] must be less than 151 characters [json-pointer:/blocks/0/text/text]``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from slack_sdk.models.basic_objects import JsonObject
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from .parts import (
    ACTIONS_ELEMENTS_MAX,
    CONTEXT_ELEMENTS_MAX,
    HEADER_TEXT_MAX,
    ID_MAX,
    IMAGE_TEXT_MAX,
    INPUT_HINT_MAX,
    INPUT_LABEL_MAX,
    MESSAGE_BLOCKS_MAX,
    PLAIN,
    PRIVATE_METADATA_MAX,
    SECTION_FIELD_TEXT_MAX,
    SECTION_FIELDS_MAX,
    SECTION_TEXT_MAX,
    VIEW_BLOCKS_MAX,
    VIEW_BYTES_MAX,
    VIEW_TEXT_MAX,
    PartChecker,
)
from .registry import Args, SlackError, arg_json


class _Checker(PartChecker):
    """Collects problems (deduplicated, in the order found) for one message or view."""

    # --- blocks -------------------------------------------------------------------------------

    def blocks(self, blocks: Any, pointer: str, *, max_blocks: int) -> None:
        for i, block in enumerate(
            self.items(blocks, pointer, max_items=max_blocks, required=False)
        ):
            self.block(block, f"{pointer}/{i}")

    def block(self, block: Any, pointer: str) -> None:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            self.fail(pointer, "must provide an object with a type")
            return
        self.raw_block(block, pointer)
        try:
            parsed = Block.parse(block)
        except Exception as exc:
            self.fail(pointer, f"cannot be parsed: {exc}")
            return
        if parsed is None:
            self.fail(f"{pointer}/type", f"unsupported block type: {block['type']}")
            return
        self.sdk(parsed, pointer)

    def raw_block(self, block: dict[str, Any], pointer: str) -> None:
        block_id = block.get("block_id")
        self.string(block_id, f"{pointer}/block_id", max_len=ID_MAX, min_len=1)
        if isinstance(block_id, str):
            if block_id in self._block_ids:
                self.fail(f"{pointer}/block_id", f"duplicate block_id: {block_id}")
            self._block_ids.add(block_id)
        kind = block["type"]
        if kind == "section":
            self.text(
                block.get("text"), f"{pointer}/text", max_len=SECTION_TEXT_MAX, required=False
            )
            fields = self.items(
                block.get("fields"),
                f"{pointer}/fields",
                max_items=SECTION_FIELDS_MAX,
                required=False,
            )
            for f, field in enumerate(fields):
                self.text(field, f"{pointer}/fields/{f}", max_len=SECTION_FIELD_TEXT_MAX)
            if block.get("text") is None and not fields:
                self.fail(pointer, "must provide text or fields")
            if block.get("accessory") is not None:
                self.element(block["accessory"], f"{pointer}/accessory")
        elif kind == "header":
            self.text(block.get("text"), f"{pointer}/text", max_len=HEADER_TEXT_MAX, types=PLAIN)
        elif kind == "context":
            elements = self.items(
                block.get("elements"),
                f"{pointer}/elements",
                max_items=CONTEXT_ELEMENTS_MAX,
                required=True,
            )
            for e, element in enumerate(elements):
                self.element(element, f"{pointer}/elements/{e}", context=True)
        elif kind == "actions":
            elements = self.items(
                block.get("elements"),
                f"{pointer}/elements",
                max_items=ACTIONS_ELEMENTS_MAX,
                required=True,
            )
            for e, element in enumerate(elements):
                self.element(element, f"{pointer}/elements/{e}")
        elif kind == "input":
            self.text(block.get("label"), f"{pointer}/label", max_len=INPUT_LABEL_MAX, types=PLAIN)
            self.text(
                block.get("hint"),
                f"{pointer}/hint",
                max_len=INPUT_HINT_MAX,
                types=PLAIN,
                required=False,
            )
            if block.get("element") is None:
                self.fail(f"{pointer}/element", "missing required field")
            else:
                self.element(block["element"], f"{pointer}/element")
        elif kind == "image":
            self.string(
                block.get("alt_text"),
                f"{pointer}/alt_text",
                max_len=IMAGE_TEXT_MAX,
                required=True,
                min_len=1,
            )
            self.text(
                block.get("title"),
                f"{pointer}/title",
                max_len=IMAGE_TEXT_MAX,
                types=PLAIN,
                required=False,
            )

    def sdk(self, obj: JsonObject, pointer: str) -> None:
        """Run slack_sdk's validators on ``obj`` and on every model nested in it."""
        try:
            obj.validate_json()
        except Exception as exc:  # SlackObjectFormationError, or a validator choking on a type
            self.fail(pointer, str(exc))
        for name, value in vars(obj).items():
            key = name.lstrip("_")
            if key == "block_description":  # Option keeps its description object here
                key = "description"
            if isinstance(value, JsonObject):
                self.sdk(value, f"{pointer}/{key}")
            elif isinstance(value, (list, tuple)):
                for j, item in enumerate(value):
                    if isinstance(item, JsonObject):
                        self.sdk(item, f"{pointer}/{key}/{j}")

    # --- views --------------------------------------------------------------------------------

    def view(self, view: dict[str, Any], allowed_types: Iterable[str]) -> None:
        allowed = tuple(allowed_types)
        kind = view.get("type")
        if kind not in allowed:
            self.fail("/view/type", f"must be one of: {', '.join(allowed)}")
        blocks = view.get("blocks")
        if blocks is None:
            self.fail("/view/blocks", "missing required field")
        self.blocks(blocks, "/view/blocks", max_blocks=VIEW_BLOCKS_MAX)
        if kind == "modal":
            has_input = isinstance(blocks, list) and any(
                isinstance(b, dict) and b.get("type") == "input" for b in blocks
            )
            # A modal with input blocks cannot be submitted without a submit button.
            for key, required in (("title", True), ("submit", has_input), ("close", False)):
                self.text(
                    view.get(key),
                    f"/view/{key}",
                    max_len=VIEW_TEXT_MAX,
                    types=PLAIN,
                    required=required,
                )
        self.string(
            view.get("private_metadata"), "/view/private_metadata", max_len=PRIVATE_METADATA_MAX
        )
        self.string(view.get("callback_id"), "/view/callback_id", max_len=ID_MAX)
        try:
            parsed = View(**view)
        except Exception as exc:
            self.fail("/view", f"cannot be parsed: {exc}")
            return
        # The view's own validators; its blocks were validated one by one above.
        try:
            parsed.validate_json()
        except Exception as exc:
            self.fail("/view", str(exc))
        for key in ("title", "submit", "close"):
            value = getattr(parsed, key, None)
            if isinstance(value, JsonObject):
                self.sdk(value, f"/view/{key}")


def message_problems(blocks: Any) -> list[str]:
    """What Slack would say about a message's ``blocks`` (empty when it accepts them)."""
    checker = _Checker()
    checker.blocks(blocks, "/blocks", max_blocks=MESSAGE_BLOCKS_MAX)
    return checker.problems


def view_problems(view: Any, allowed_types: Iterable[str] = ("modal", "home")) -> list[str]:
    """What Slack would say about a view (empty when it accepts it)."""
    if not isinstance(view, dict):
        return ["[ERROR] must provide an object [json-pointer:/view]"]
    checker = _Checker()
    checker.view(view, allowed_types)
    return checker.problems


def check_message_blocks(
    args: Args, *, format_error: str = "invalid_blocks_format"
) -> list[Any] | None:
    """The message's blocks, or None without any; raises chat.*'s documented errors:
    ``format_error`` for blocks that are not JSON, ``invalid_blocks`` (with Slack's ``errors``
    and ``response_metadata.messages``) for blocks Slack would refuse."""
    if args.get("blocks") in (None, ""):
        return None
    blocks = arg_json(args, "blocks")
    if isinstance(blocks, str):
        raise SlackError(format_error)
    problems = message_problems(blocks)
    if problems:
        raise SlackError(
            "invalid_blocks",
            errors=[p.removeprefix("[ERROR] ") for p in problems],
            response_metadata={"messages": problems},
        )
    return blocks


def check_view(args: Args, *, allowed_types: Iterable[str]) -> dict[str, Any]:
    """The ``view`` argument if Slack would show it; else views.*'s ``view_too_large`` or
    ``invalid_arguments`` with Slack's ``response_metadata.messages``."""
    view = arg_json(args, "view")
    if isinstance(view, dict) and len(json.dumps(view)) > VIEW_BYTES_MAX:
        raise SlackError("view_too_large")
    problems = view_problems(view, allowed_types)
    if problems:
        raise SlackError("invalid_arguments", response_metadata={"messages": problems})
    return view
