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
from slack_sdk.models.blocks import Block, BlockElement
from slack_sdk.models.views import View

from .registry import Args, SlackError, arg_json

MESSAGE_BLOCKS_MAX = 50
VIEW_BLOCKS_MAX = 100
VIEW_BYTES_MAX = 250_000
ID_MAX = 255  # block_id, action_id, callback_id
PRIVATE_METADATA_MAX = 3000
VIEW_TEXT_MAX = 24  # modal title, submit and close
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX = 10
SECTION_FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
URL_MAX = 3000
ACTIONS_ELEMENTS_MAX = 25
CONTEXT_ELEMENTS_MAX = 10
INPUT_LABEL_MAX = 2000
INPUT_HINT_MAX = 2000
IMAGE_TEXT_MAX = 2000  # image alt_text and title
PLACEHOLDER_MAX = 150
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
OPTION_GROUPS_MAX = 100
TEXT_INPUT_LENGTH_MAX = 3000  # plain_text_input min_length / max_length

PLAIN = ("plain_text",)
ANY_TEXT = ("plain_text", "mrkdwn")
# Properties each text object type takes; anything else is "invalid additional property".
TEXT_PROPERTIES = {"plain_text": {"type", "text", "emoji"}, "mrkdwn": {"type", "text", "verbatim"}}

# Options per element and the text types their options may use: checkboxes and radio buttons
# render mrkdwn, menus only plain_text.
OPTION_RULES: dict[str, tuple[int, tuple[str, ...]]] = {
    "checkboxes": (10, ANY_TEXT),
    "radio_buttons": (10, ANY_TEXT),
    "static_select": (100, PLAIN),
    "multi_static_select": (100, PLAIN),
    "overflow": (5, PLAIN),
    "external_select": (100, PLAIN),
    "multi_external_select": (100, PLAIN),
}
BUTTONS = {"button", "workflow_button"}
TEXT_TYPES = set(ANY_TEXT)


class _Checker:
    """Collects problems (deduplicated, in the order found) for one message or view."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self._block_ids: set[str] = set()

    def fail(self, pointer: str, message: str) -> None:
        entry = f"[ERROR] {message} [json-pointer:{pointer}]"
        if entry not in self.problems:
            self.problems.append(entry)

    # --- scalars ------------------------------------------------------------------------------

    def string(
        self,
        value: Any,
        pointer: str,
        *,
        max_len: int | None,
        required: bool = False,
        min_len: int = 0,
    ) -> None:
        if value is None:
            if required:
                self.fail(pointer, "missing required field")
            return
        if not isinstance(value, str):
            self.fail(pointer, "must be a string")
        elif len(value) < min_len:
            self.fail(pointer, f"must be more than {min_len - 1} characters")
        elif max_len is not None and len(value) > max_len:
            self.fail(pointer, f"must be less than {max_len + 1} characters")

    def text(
        self,
        obj: Any,
        pointer: str,
        *,
        max_len: int | None,
        types: tuple[str, ...] = ANY_TEXT,
        required: bool = True,
    ) -> None:
        """A text object: ``{"type": "plain_text" | "mrkdwn", "text": "1..max_len chars"}``."""
        if obj is None:
            if required:
                self.fail(pointer, "missing required field")
            return
        if not isinstance(obj, dict):
            self.fail(pointer, "must provide an object")
            return
        kind = obj.get("type")
        if kind not in TEXT_TYPES:
            self.fail(f"{pointer}/type", "must be one of: plain_text, mrkdwn")
        elif kind not in types:
            self.fail(f"{pointer}/type", f"must be {' or '.join(types)}")
        else:
            for key in sorted(set(obj) - TEXT_PROPERTIES[kind]):
                self.fail(pointer, f"invalid additional property: {key}")
        self.string(obj.get("text"), f"{pointer}/text", max_len=max_len, required=True, min_len=1)

    def items(self, value: Any, pointer: str, *, max_items: int, required: bool) -> list[Any]:
        """A JSON array of at most ``max_items`` (at least one when required)."""
        if value is None:
            if required:
                self.fail(pointer, "missing required field")
            return []
        if not isinstance(value, list):
            self.fail(pointer, "must be an array")
            return []
        if required and not value:
            self.fail(pointer, "must have at least 1 item")
        if len(value) > max_items:
            self.fail(pointer, f"no more than {max_items} items allowed")
        return value

    # --- composition objects ------------------------------------------------------------------

    def option(self, option: Any, pointer: str, types: tuple[str, ...]) -> None:
        if not isinstance(option, dict):
            self.fail(pointer, "must provide an object")
            return
        self.text(option.get("text"), f"{pointer}/text", max_len=OPTION_TEXT_MAX, types=types)
        self.string(
            option.get("value"), f"{pointer}/value", max_len=OPTION_VALUE_MAX, required=True
        )
        self.text(
            option.get("description"),
            f"{pointer}/description",
            max_len=OPTION_TEXT_MAX,
            types=types,
            required=False,
        )
        self.string(option.get("url"), f"{pointer}/url", max_len=URL_MAX)

    def options(
        self, element: dict[str, Any], pointer: str, max_items: int, types: tuple[str, ...]
    ) -> None:
        if "option_groups" in element:
            groups = self.items(
                element["option_groups"],
                f"{pointer}/option_groups",
                max_items=OPTION_GROUPS_MAX,
                required=True,
            )
            for g, group in enumerate(groups):
                where = f"{pointer}/option_groups/{g}"
                if not isinstance(group, dict):
                    self.fail(where, "must provide an object")
                    continue
                self.text(
                    group.get("label"), f"{where}/label", max_len=OPTION_TEXT_MAX, types=PLAIN
                )
                listed = self.items(
                    group.get("options"), f"{where}/options", max_items=max_items, required=True
                )
                for o, option in enumerate(listed):
                    self.option(option, f"{where}/options/{o}", types)
        elif "options" in element or element.get("type") in {"checkboxes", "radio_buttons"}:
            listed = self.items(
                element.get("options"), f"{pointer}/options", max_items=max_items, required=True
            )
            for o, option in enumerate(listed):
                self.option(option, f"{pointer}/options/{o}", types)
        if "initial_option" in element:
            self.option(element["initial_option"], f"{pointer}/initial_option", types)
        if "initial_options" in element:
            chosen = self.items(
                element["initial_options"],
                f"{pointer}/initial_options",
                max_items=max_items,
                required=False,
            )
            for o, option in enumerate(chosen):
                self.option(option, f"{pointer}/initial_options/{o}", types)

    def confirm(self, confirm: Any, pointer: str) -> None:
        if confirm is None:
            return
        if not isinstance(confirm, dict):
            self.fail(pointer, "must provide an object")
            return
        self.text(confirm.get("title"), f"{pointer}/title", max_len=100, types=PLAIN)
        self.text(confirm.get("text"), f"{pointer}/text", max_len=300)
        self.text(confirm.get("confirm"), f"{pointer}/confirm", max_len=30, types=PLAIN)
        self.text(confirm.get("deny"), f"{pointer}/deny", max_len=30, types=PLAIN)

    # --- elements -----------------------------------------------------------------------------

    def element(self, element: Any, pointer: str, *, context: bool = False) -> None:
        """An element of a section accessory, an actions block or an input block; in a context
        block, an image element or a text object."""
        if not isinstance(element, dict) or not isinstance(element.get("type"), str):
            self.fail(pointer, "must provide an object with a type")
            return
        kind = element["type"]
        if kind in TEXT_TYPES:
            if context:  # Slack documents no length limit for a context block's text
                self.text(element, pointer, max_len=None)
            else:
                self.fail(f"{pointer}/type", f"a {kind} text object is not an element")
            return
        if context and kind != "image":
            self.fail(f"{pointer}/type", "must be an image element or a text object")
            return
        try:
            parsed = BlockElement.parse(element)
        except Exception as exc:  # slack_sdk's constructors refuse unknown or missing fields
            self.fail(pointer, f"cannot be parsed: {exc}")
            return
        if parsed is None:
            self.fail(f"{pointer}/type", f"unsupported element type: {kind}")
            return
        self.string(element.get("action_id"), f"{pointer}/action_id", max_len=ID_MAX)
        if kind in BUTTONS:
            self.text(element.get("text"), f"{pointer}/text", max_len=BUTTON_TEXT_MAX, types=PLAIN)
            self.string(element.get("value"), f"{pointer}/value", max_len=BUTTON_VALUE_MAX)
            self.string(element.get("url"), f"{pointer}/url", max_len=URL_MAX)
        if kind == "image":
            self.string(
                element.get("alt_text"), f"{pointer}/alt_text", max_len=IMAGE_TEXT_MAX, min_len=1
            )
        if "placeholder" in element:
            self.text(
                element["placeholder"],
                f"{pointer}/placeholder",
                max_len=PLACEHOLDER_MAX,
                types=PLAIN,
            )
        if kind in OPTION_RULES:
            self.options(element, pointer, *OPTION_RULES[kind])
        if kind == "plain_text_input":
            for key, lowest in (("min_length", 0), ("max_length", 1)):
                value = element.get(key)
                if value is None:
                    continue
                if not isinstance(value, int) or isinstance(value, bool):
                    self.fail(f"{pointer}/{key}", "must be an integer")
                elif value > TEXT_INPUT_LENGTH_MAX:
                    self.fail(f"{pointer}/{key}", f"must be less than {TEXT_INPUT_LENGTH_MAX + 1}")
                elif value < lowest:
                    self.fail(f"{pointer}/{key}", f"must be at least {lowest}")
        self.confirm(element.get("confirm"), f"{pointer}/confirm")

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
