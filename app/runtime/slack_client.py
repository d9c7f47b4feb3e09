"""slack-sdk's AsyncWebClient, paced, careful and counted: the one door every Slack call passes.

- Paced: each call takes a slot of its method's gate (`slack_limits`), so bursts queue instead
  of collecting 429s; a 429 holds every caller of that method (of that channel, for
  chat.postMessage) for its Retry-After, then the call is tried again (a bounded number of times).
- Careful: a 5xx or a dropped connection is retried inside the call only for reads and
  idempotent methods. For a call that creates something (a channel, a message, a modal) it is
  raised: Slack may have done the work, so the caller looks before it redoes it.
- Clean: every refusal leaves as a SlackApiError whose body is a dict with an "error" (a 503 with
  an HTML body becomes "http_503"), so `exc.response.get("error")` works everywhere; no answer
  at all (a dropped connection, a timeout) stays aiohttp's or asyncio's error, which
  `services.slack_errors.is_transient` calls transient and the error path words as
  "Slack could not be reached".
- Counted: every logical call and how it ended, and every 429 (seen by `RateLimitObserver`, a
  retry handler placed first, which sees each HTTP attempt), reach /metrics.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from app import metrics
from app.runtime.slack_limits import SlackLimits, priority_of, retry_safe

RATE_LIMITED_ATTEMPTS = 5  # a call is sent at most this often while Slack answers 429


class InstrumentedWebClient(AsyncWebClient):
    """AsyncWebClient whose `api_call` (every method goes through it) is paced by `limits`,
    retries a 429 after its Retry-After, and gives every refusal a dict body."""

    def __init__(
        self,
        *args: Any,
        limits: SlackLimits | None = None,
        rate_limited_attempts: int = RATE_LIMITED_ATTEMPTS,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits if limits is not None else SlackLimits(enabled=False)
        self.rate_limited_attempts = rate_limited_attempts

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        channel = _channel_of(kwargs)
        priority = priority_of(api_method)
        ticket = self.limits.ticket()
        attempt = 0
        while True:
            attempt += 1
            async with self.limits.slot(api_method, channel, priority, ticket) as gate:
                try:
                    response = await self._sent(api_method, **kwargs)
                except SlackApiError as exc:
                    if exc.response.status_code == 429 and attempt < self.rate_limited_attempts:
                        gate.hold(_retry_after(exc.response))
                        continue
                    metrics.slack_call(api_method, str(exc.response.get("error")))
                    raise
                except Exception as exc:
                    metrics.slack_call(api_method, type(exc).__name__)
                    raise
            metrics.slack_call(api_method)
            return response

    async def _sent(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        """One call through slack-sdk; a refusal whose body is not Slack's JSON (a proxy's HTML
        503) gets a dict body naming its status, so `.get("error")` works on every refusal."""
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            if not isinstance(exc.response.data, dict) or not exc.response.data.get("error"):
                exc.response.data = {"ok": False, "error": f"http_{exc.response.status_code}"}
            raise


def _channel_of(kwargs: dict[str, Any]) -> str | None:
    """The `channel` argument, wherever slack-sdk put it (json, form data or query)."""
    for where in ("json", "data", "params"):
        values = kwargs.get(where)
        if isinstance(values, dict) and values.get("channel"):
            return str(values["channel"])
    return None


def _retry_after(response: AsyncSlackResponse) -> float:
    """Seconds Slack asked us to wait; 1 when the header is missing or unreadable."""
    for name, value in (response.headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                break
    return 1.0


def _method_of(request: HttpRequest) -> str | None:
    """The Web API method of an HTTP attempt; None for a file's bytes sent to its upload URL."""
    path = urlsplit(request.url).path
    return path.rsplit("/", 1)[-1] if "/api/" in path else None


class _RetrySafeOnly(AsyncRetryHandler):
    """Lets its base handler retry only methods that may be sent twice (and file uploads)."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = _method_of(request)
        if method is not None and not retry_safe(method):
            return False
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


class SafeServerErrorRetryHandler(_RetrySafeOnly, AsyncServerErrorRetryHandler):
    """slack-sdk's 500/503 retry, for reads and idempotent methods only."""


class SafeConnectionErrorRetryHandler(_RetrySafeOnly, AsyncConnectionErrorRetryHandler):
    """slack-sdk's dropped-connection retry, for reads and idempotent methods only."""


class RateLimitObserver(AsyncRetryHandler):
    """Never retries itself: it only records 429s, then lets the real handlers decide."""

    def __init__(self) -> None:
        super().__init__(max_retry_count=1_000_000)

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            metrics.slack_rate_limited(urlsplit(request.url).path.rsplit("/", 1)[-1])
        return False
