"""SlackError: what a handler raises to answer ``ok: false`` (its own module, so that the
workspace state and the handler registry both use it without importing each other)."""

from __future__ import annotations

from typing import Any


class SlackError(Exception):
    """Raised by a handler to answer ``{"ok": false, "error": code, **extra}``."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.extra = extra
