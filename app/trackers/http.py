"""The HTTP part every tracker shares: one httpx client per tracker, and every failure turned
into a `TrackerError` that says whether to retry, when, and whether it may have been done."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from app.trackers.base import TrackerError

log = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "incident-bot (+https://github.com/incident-bot)"


def make_client(base_url: str, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/"),
        headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
        timeout=TIMEOUT,
    )


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the tracker asked to wait: Retry-After, or GitHub's x-ratelimit-reset."""
    value = response.headers.get("retry-after")
    if value is not None:
        try:
            return max(float(value), 0.0)
        except ValueError:
            return None
    return None


async def send(
    client: httpx.AsyncClient, tracker: str, method: str, path: str, **kwargs: Any
) -> httpx.Response:
    """One request; a 2xx answer is returned, anything else raises `TrackerError`.

    Transient: a connection that failed (nothing was done), a timeout or a 5xx (maybe done,
    unless the request reads), a 429 (not done). Everything else is a refusal for good.
    """
    reads = method.upper() == "GET"
    try:
        response = await client.request(method, path, **kwargs)
    except httpx.ConnectError as exc:
        raise TrackerError(f"{tracker} unreachable: {exc}", transient=True) from exc
    except httpx.TimeoutException as exc:
        raise TrackerError(
            f"{tracker} did not answer in time", transient=True, maybe_done=not reads
        ) from exc
    except httpx.TransportError as exc:
        raise TrackerError(
            f"{tracker} connection failed: {type(exc).__name__}",
            transient=True,
            maybe_done=not reads,
        ) from exc
    if response.is_success:
        return response
    status = response.status_code
    detail = _detail(response)
    if status == 429:
        raise TrackerError(
            f"{tracker} rate limit (429){detail}",
            transient=True,
            retry_after=retry_after(response),
            status=status,
        )
    if status >= 500:
        raise TrackerError(
            f"{tracker} answered {status}{detail}",
            transient=True,
            maybe_done=not reads,
            status=status,
        )
    raise TrackerError(f"{tracker} refused ({status}){detail}", transient=False, status=status)


def _detail(response: httpx.Response) -> str:
    """A short reason from the body (JSON `message`/`errorMessages`/`errors`), if any."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    parts: list[str] = []
    if isinstance(body.get("message"), str):
        parts.append(body["message"])
    for message in body.get("errorMessages") or []:
        parts.append(str(message))
    errors = body.get("errors")
    if isinstance(errors, dict):
        parts += [f"{key}: {value}" for key, value in errors.items()]
    elif isinstance(errors, list):
        for error in errors:
            if isinstance(error, dict) and error.get("message"):
                parts.append(str(error["message"]))
    text = "; ".join(parts)[:300]
    return f": {text}" if text else ""
