"""What a failed Slack call means: its error in a word, and whether trying later may help."""

from __future__ import annotations

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


def is_transient(exc: BaseException) -> bool:
    """Whether retrying later may succeed: 5xx, 429, network trouble, Slack's own hiccups."""
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        return status >= 500 or status == 429 or exc.response.get("error") in TRANSIENT_ERRORS
    return isinstance(exc, ClientError | OSError | TimeoutError)


def slack_error(exc: BaseException) -> str:
    """Slack's error code (or the HTTP status) of a refused call; the exception's name else."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc.response.status_code)
    return type(exc).__name__
