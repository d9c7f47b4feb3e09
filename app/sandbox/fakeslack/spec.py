"""Slack's method reference (``shared/slack-spec/methods``): the fake's source of strictness.

The fake never invents rules the reference does not state: required arguments, accepted bot
scopes and the documented error codes all come from here, so tests fail the same way Slack would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# app/sandbox/fakeslack/spec.py in a checkout -> <checkout>/../shared/slack-spec; an installed
# package finds none there and runs without the reference.
DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "slack-spec"

# Errors Slack may return from any method, documented on its "common errors" page rather than per
# method, so they are allowed everywhere.
GENERIC_ERRORS: frozenset[str] = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "missing_scope",
        "ratelimited",
        "invalid_arguments",
        "internal_error",
        "fatal_error",
        "missing_argument",
        "invalid_arg_name",
        "invalid_form_data",
        "request_timeout",
    }
)

# When a required argument is missing Slack often answers with a more specific error than
# ``missing_argument``; the first candidate the method documents wins.
MISSING_ARG_ERRORS: dict[str, tuple[str, ...]] = {
    "channel": ("channel_not_found",),
    "channel_id": ("channel_not_found",),
    "name": ("invalid_name_required", "invalid_name"),
    "users": ("no_user", "users_list_not_supplied"),
    "user": ("user_not_found",),
    "email": ("users_not_found",),
    "usergroup": ("no_such_subteam",),
    "ts": ("message_not_found",),
    "message_ts": ("message_not_found",),
    "timestamp": ("no_item_specified", "bad_timestamp"),
}


@dataclass(frozen=True)
class MethodSpec:
    """The parts of one ``methods/<name>.json`` file the fake enforces."""

    name: str
    http_method: str
    required: tuple[str, ...]
    bot_scopes: tuple[str, ...]
    errors: frozenset[str]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any]) -> MethodSpec:
        args = data.get("args") or {}
        scope = data.get("scope") or {}
        return cls(
            name=name,
            http_method=str(data.get("http_method", "POST")).upper(),
            required=tuple(a for a in args.get("required", []) if a != "token"),
            bot_scopes=tuple(scope.get("bot") or ()),
            errors=frozenset(data.get("errors") or {}),
            raw=data,
        )

    def missing_arg_error(self, arg: str) -> str:
        """The error Slack returns when ``arg`` is absent."""
        for candidate in MISSING_ARG_ERRORS.get(arg, ()):
            if candidate in self.errors:
                return candidate
        return "missing_argument"


class SlackSpec:
    """Lazily parsed method specs; ``loaded`` is False when the reference folder is absent."""

    def __init__(self, spec_dir: Path | None = None) -> None:
        self.spec_dir = Path(spec_dir) if spec_dir is not None else DEFAULT_SPEC_DIR
        self.methods_dir = self.spec_dir / "methods"
        self.loaded = self.methods_dir.is_dir()
        self._cache: dict[str, MethodSpec | None] = {}

    def method(self, name: str) -> MethodSpec | None:
        """Spec for ``name``, or None if the reference does not describe it (or is absent)."""
        if not self.loaded:
            return None
        if name not in self._cache:
            path = self.methods_dir / f"{name}.json"
            self._cache[name] = (
                MethodSpec.from_json(name, json.loads(path.read_text(encoding="utf-8")))
                if path.is_file()
                else None
            )
        return self._cache[name]

    def allows_error(self, method: str, code: str) -> bool:
        """True if Slack documents ``code`` for ``method`` (or it is a generic error)."""
        if code in GENERIC_ERRORS or not self.loaded:
            return True
        spec = self.method(method)
        return spec is not None and code in spec.errors
