"""Twilio's REST API (2010-04-01): send an SMS, place a call, and list what was sent, over httpx;
and the X-Twilio-Signature that Twilio puts on its requests to the bot.

Why httpx and not the `twilio` package: the package is 22 MB of generated resources (755 files
in 9.11) for the four requests used here, and pulls in `requests`, `aiohttp-retry` and PyJWT;
its asyncio client (`AsyncTwilioHttpClient`) is aiohttp with aiohttp-retry as a hard
dependency. (It does not retry by itself, as first thought: only when given `max_retries`.)
Our failures must say what the durable step needs (`TwilioError`: transient? maybe done? wait
how long?), the same way the trackers' httpx clients do; with the package, a read timeout, a
refused connection and a dropped answer surface as bare aiohttp exceptions to be told apart
again. The signature check is fifteen lines (`signature`, checked against the example in
Twilio's security documentation by the tests).

No retries here: the caller is a durable step that retries with a backoff, and looks before it
sends again after an answer that may have been lost (`maybe_done`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

__all__ = [
    "TwilioClient",
    "TwilioError",
    "created_at",
    "signature",
    "signature_matches",
]

API_VERSION = "2010-04-01"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "incident-bot (+https://github.com/incident-bot)"
PAGE_SIZE = 50
MAX_PAGES = 3  # a look after a lost answer reads at most 150 of a number's latest messages
RING_SECONDS = 30  # how long a page call rings before Twilio gives up (Twilio's default: 60)


class TwilioError(Exception):
    """A refused or failed request. `transient`: trying later may work; `maybe_done`: Twilio may
    have acted before the answer was lost (look before sending again); `code`: Twilio's error
    code (21211: not a valid phone number)."""

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        maybe_done: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
        code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.maybe_done = maybe_done
        self.retry_after = retry_after
        self.status = status
        self.code = code

    @property
    def short(self) -> str:
        """The refusal in a few words, for a recipient's error."""
        return f"twilio {self.code or self.status or 'error'}: {self}"


class TwilioClient:
    """One account's Messages and Calls; use as `async with TwilioClient(...) as client`."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        api_url: str = "https://api.twilio.com",
        *,
        timeout: httpx.Timeout = TIMEOUT,
    ) -> None:
        self.account_sid = account_sid
        self._http = httpx.AsyncClient(
            base_url=api_url.rstrip("/"),
            auth=httpx.BasicAuth(account_sid, auth_token),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            timeout=timeout,
        )

    async def __aenter__(self) -> TwilioClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def _path(self, resource: str) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/{resource}.json"

    async def send_sms(self, to: str, from_: str, body: str) -> dict[str, Any]:
        """Create a Message; Twilio's answer (its `sid`, `status` "queued" or "accepted")."""
        data = {"To": to, "From": from_, "Body": body}
        return await self._json("POST", self._path("Messages"), data=data)

    async def messages(
        self, to: str, from_: str, sent_since: date | None = None
    ) -> list[dict[str, Any]]:
        """Messages To `to` from `from_`, most recent first; with `sent_since`, only those whose
        `date_sent` is on or after that day (UTC): a message still queued has none yet."""
        params = {"To": to, "From": from_, "PageSize": str(PAGE_SIZE)}
        if sent_since is not None:
            params["DateSent>"] = sent_since.isoformat()  # sent as DateSent%3E=YYYY-MM-DD
        return await self._list(self._path("Messages"), "messages", params)

    async def call(self, to: str, from_: str, url: str) -> dict[str, Any]:
        """Create a Call that, once answered, fetches its TwiML from `url` by POST."""
        data = {
            "To": to,
            "From": from_,
            "Url": url,
            "Method": "POST",
            "Timeout": str(RING_SECONDS),
        }
        return await self._json("POST", self._path("Calls"), data=data)

    async def calls(
        self, to: str, from_: str, started_since: date | None = None
    ) -> list[dict[str, Any]]:
        """Calls To `to` from `from_`, most recent first; with `started_since`, only those that
        started on or after that day (UTC): a call still queued has not started."""
        params = {"To": to, "From": from_, "PageSize": str(PAGE_SIZE)}
        if started_since is not None:
            params["StartTime>"] = started_since.isoformat()
        return await self._list(self._path("Calls"), "calls", params)

    async def _list(self, path: str, key: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        page: dict[str, Any] = await self._json("GET", path, params=dict(params))
        for _ in range(MAX_PAGES):
            found += [item for item in page.get(key) or [] if isinstance(item, dict)]
            following = page.get("next_page_uri")
            if not isinstance(following, str) or not following:
                break
            page = await self._json("GET", following)
        return found

    async def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await _send(self._http, method, path, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise TwilioError(
                f"Twilio answered {response.status_code} without a JSON object",
                transient=True,
                maybe_done=method != "GET",
                status=response.status_code,
            )
        return body


async def _send(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request; a 2xx answer is returned, anything else raises `TwilioError`.

    Transient: a connection that failed (nothing was done), a timeout or a 5xx (maybe done,
    unless the request reads), a 429 (not done: Twilio says such requests are never processed).
    Every other 4xx is a refusal for good (a bad number, bad credentials).
    """
    reads = method == "GET"
    try:
        response = await client.request(method, path, **kwargs)
    except httpx.ConnectError as exc:
        raise TwilioError(f"Twilio unreachable: {exc}", transient=True) from exc
    except httpx.TimeoutException as exc:
        raise TwilioError(
            "Twilio did not answer in time", transient=True, maybe_done=not reads
        ) from exc
    except httpx.TransportError as exc:
        raise TwilioError(
            f"Twilio connection failed: {type(exc).__name__}", transient=True, maybe_done=not reads
        ) from exc
    if response.is_success:
        return response
    status = response.status_code
    code, message = _error(response)
    if status == 429:
        raise TwilioError(
            f"Twilio rate limit (429): {message}",
            transient=True,
            retry_after=_retry_after(response),
            status=status,
            code=code,
        )
    if status >= 500:
        raise TwilioError(
            f"Twilio answered {status}: {message}",
            transient=True,
            maybe_done=not reads,
            status=status,
            code=code,
        )
    raise TwilioError(message, transient=False, status=status, code=code)


def _error(response: httpx.Response) -> tuple[int | None, str]:
    """Twilio's error body: {"code", "message", "more_info", "status"}."""
    try:
        body = response.json()
    except ValueError:
        return None, f"HTTP {response.status_code}"
    if not isinstance(body, dict):
        return None, f"HTTP {response.status_code}"
    code = body.get("code")
    message = body.get("message")
    return (
        code if isinstance(code, int) else None,
        message[:200] if isinstance(message, str) and message else f"HTTP {response.status_code}",
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


def created_at(resource: Mapping[str, Any]) -> datetime | None:
    """A Message's or Call's `date_created` (RFC 2822, UTC), if it can be read."""
    value = resource.get("date_created")
    if not isinstance(value, str):
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


# --- the signature on Twilio's requests ----------------------------------------------------------


def signature(auth_token: str, url: str, params: Mapping[str, Iterable[str]]) -> str:
    """X-Twilio-Signature: base64 of HMAC-SHA1, keyed with the auth token, of the full URL Twilio
    requested followed by each POST parameter's name and value, sorted by name (then value)."""
    text = url + "".join(
        name + value for name in sorted(params) for value in sorted(set(params[name]))
    )
    digest = hmac.new(auth_token.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_matches(
    auth_token: str, url: str, params: Mapping[str, Iterable[str]], given: str
) -> bool:
    """Whether `given` signs this request. As Twilio's own validators do, the URL is tried with
    and without its default port (Twilio has signed both forms)."""
    if not given:
        return False
    return any(
        hmac.compare_digest(signature(auth_token, candidate, params).encode(), given.encode())
        for candidate in _port_forms(url)
    )


def _port_forms(url: str) -> list[str]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname or ""
    bare = urlunsplit(parts._replace(netloc=_netloc(parts.username, parts.password, host, None)))
    ported = urlunsplit(
        parts._replace(netloc=_netloc(parts.username, parts.password, host, parts.port or default))
    )
    return list(dict.fromkeys([url, bare, ported]))


def _netloc(user: str | None, password: str | None, host: str, port: int | None) -> str:
    auth = f"{user}:{password}@" if user and password else (f"{user}@" if user else "")
    return f"{auth}{host}" + (f":{port}" if port is not None else "")
