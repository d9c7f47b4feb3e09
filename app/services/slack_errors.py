"""What a failed Slack call means: its error in a word, and whether trying later may help."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError

# Slack answers that mean "try again later" rather than "this will never work".
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "request_timeout",
        "service_unavailable",
    }
)


def _status(exc: SlackApiError) -> int:
    status = getattr(exc.response, "status_code", None)
    return status if isinstance(status, int) else 0


def _error(exc: SlackApiError) -> Any:
    """Slack's "error" field, whatever the body is (a dict, HTML text, nothing)."""
    data = getattr(exc.response, "data", None)
    return data.get("error") if isinstance(data, dict) else None


def is_transient(exc: BaseException) -> bool:
    """Whether retrying later may succeed: 5xx, 429, network trouble, Slack's own hiccups."""
    if isinstance(exc, SlackApiError):
        status = _status(exc)
        return status >= 500 or status == 429 or _error(exc) in TRANSIENT_ERRORS
    return isinstance(exc, ClientError | OSError | TimeoutError)


def slack_error(exc: BaseException) -> str:
    """Slack's error code (or the HTTP status) of a refused call; the exception's name else."""
    if isinstance(exc, SlackApiError):
        return str(_error(exc) or f"http_{_status(exc)}")
    return type(exc).__name__
