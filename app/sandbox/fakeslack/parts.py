"""Slack's documented Block Kit limits, and the checks of a block's parts: strings, text
objects, options, confirm dialogs and elements (blockkit.py checks blocks and views)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import BlockElement

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


class PartChecker:
    """Collects problems (deduplicated, in the order found); the checks of a block's parts."""

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
            for key in ("emoji", "verbatim"):
                if key in obj and not isinstance(obj[key], bool):
                    self.fail(f"{pointer}/{key}", "must be a boolean")
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
            if context:  # the text object's own limit: 3000 characters
                self.text(element, pointer, max_len=SECTION_TEXT_MAX)
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
