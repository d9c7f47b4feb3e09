"""GitHub's side of the shared HTTP client: its headers, its two rate limits, its pages.

`app.trackers.http.send` maps transport failures, 5xx and 429 with Retry-After. GitHub says
"slow down" in two more ways it does not know (docs.github.com, "Rate limits for the REST API"):

- the primary limit: 403 or 429 with `x-ratelimit-remaining: 0`, and `x-ratelimit-reset` (epoch
  seconds) saying when the window reopens;
- a secondary limit (too many writes, too fast): 403 or 429 with `retry-after`, or only the
  message "You have exceeded a secondary rate limit" (then wait at least a minute).

A plain 403 (a missing permission) stays a refusal for good. The response hook below turns the
first two into a transient `TrackerError` before `send` sees the status.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime

import httpx

from app.trackers.base import TrackerError
from app.trackers.http import make_client

__all__ = ["API_VERSION", "make_github_client", "next_page", "rate_limit_error"]

API_VERSION = "2022-11-28"
SECONDARY_WAIT = 60.0  # GitHub: "wait for at least one minute before retrying"
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


def make_github_client(base_url: str, now: Callable[[], datetime]) -> httpx.AsyncClient:
    """The shared client with GitHub's media type and API version, following the redirects
    GitHub answers for renamed repositories and transferred issues."""
    client = make_client(
        base_url,
        {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION},
    )
    client.follow_redirects = True
    client.event_hooks["response"] = [_rate_limit_hook(now)]
    return client


def _rate_limit_hook(
    now: Callable[[], datetime],
) -> Callable[[httpx.Response], Awaitable[None]]:
    async def hook(response: httpx.Response) -> None:
        if response.status_code not in (403, 429):
            return
        await response.aread()
        error = rate_limit_error(response, now())
        if error is not None:
            raise error

    return hook


def rate_limit_error(response: httpx.Response, now: datetime) -> TrackerError | None:
    """The TrackerError for a 403/429 that is a rate limit, None for any other answer."""
    status = response.status_code
    if status not in (403, 429):
        return None
    headers = response.headers
    message = _message(response)
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        return TrackerError(
            f"GitHub secondary rate limit ({status}): {message}",
            transient=True,
            retry_after=_seconds(retry_after, SECONDARY_WAIT),
            status=status,
        )
    if headers.get("x-ratelimit-remaining") == "0":
        reset = _seconds(headers.get("x-ratelimit-reset", ""), 0.0)
        wait = max(reset - now.timestamp(), 0.0) if reset else SECONDARY_WAIT
        resource = headers.get("x-ratelimit-resource", "core")
        return TrackerError(
            f"GitHub rate limit reached ({resource}, {status}): {message}",
            transient=True,
            retry_after=wait,
            status=status,
        )
    if "secondary rate limit" in message.lower():
        return TrackerError(
            f"GitHub secondary rate limit ({status}): {message}",
            transient=True,
            retry_after=SECONDARY_WAIT,
            status=status,
        )
    return None


def next_page(response: httpx.Response) -> str | None:
    """The `rel="next"` URL of GitHub's Link header, if there is a next page."""
    match = _NEXT.search(response.headers.get("link", ""))
    return match.group(1) if match else None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])[:300]
    return ""


def _seconds(value: str, default: float) -> float:
    try:
        return max(float(value), 0.0)
    except ValueError:
        return default
