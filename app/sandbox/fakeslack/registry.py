"""Method registry and argument helpers shared by the handler modules.

Each handler declares up front every error code it can raise, so a test can check the whole table
against Slack's reference without having to provoke each error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import SlackError

if TYPE_CHECKING:
    from .state import SlackState

Args = dict[str, Any]
Handler = Callable[["SlackState", Args], dict[str, Any]]


@dataclass(frozen=True)
class MethodEntry:
    name: str
    handler: Handler
    errors: frozenset[str]


HANDLERS: dict[str, MethodEntry] = {}


def api(name: str, errors: tuple[str, ...] = ()) -> Callable[[Handler], Handler]:
    """Register ``handler`` as the implementation of Web API method ``name``."""

    def register(handler: Handler) -> Handler:
        if name in HANDLERS:
            raise RuntimeError(f"{name} registered twice")
        HANDLERS[name] = MethodEntry(name, handler, frozenset(errors))
        return handler

    return register


# --- argument coercion: form bodies carry strings, JSON bodies carry real types -------------------


def arg_str(args: Args, key: str, default: str = "") -> str:
    value = args.get(key)
    if value is None:
        return default
    return value if isinstance(value, str) else str(value)


def arg_bool(args: Args, key: str, default: bool = False) -> bool:
    value = args.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes"}


def arg_int(args: Args, key: str, default: int) -> int:
    value = args.get(key)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SlackError("invalid_arguments") from None


def arg_list(args: Args, key: str) -> list[str]:
    """A comma-separated string (or a JSON list) as a list of non-empty items."""
    value = args.get(key)
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def arg_json(args: Args, key: str) -> Any:
    """A structured argument; form bodies send these as JSON strings."""
    value = args.get(key)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def has_text(args: Args) -> bool:
    """Slack's ``no_text`` rule: one of text, blocks or attachments must carry something."""
    keys = ("text", "blocks", "attachments")
    return any(args.get(key) not in (None, "", [], "[]") for key in keys)
