"""slack-sdk's AsyncWebClient, counted: every call, every failure and every 429 reach /metrics.

A subclass sees each logical call (after retries) and how it ended; a retry handler placed first
sees each HTTP attempt, which is the only place a 429 that was waited out is visible.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from app import metrics


class InstrumentedWebClient(AsyncWebClient):
    """Counts calls and errors by method; behaves exactly like AsyncWebClient otherwise."""

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        try:
            response = await super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            metrics.slack_call(api_method, str(error or exc.response.status_code))
            raise
        except Exception as exc:
            metrics.slack_call(api_method, type(exc).__name__)
            raise
        metrics.slack_call(api_method)
        return response


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
