"""Atlassian Statuspage's REST API v1 (https://developer.statuspage.io), over httpx: the few
calls that copy the bot's status posts there, and the mapping of every failure.

httpx, not a Statuspage library: no asyncio one is kept up. The ones on PyPI (statuspageio,
last released in 2016, and its forks xandr-statuspageio and vukomir-statuspageio, whose README
says its tests "need to be written") are synchronous (requests), so every call would need a
thread, and they hand back the HTTP error as it is. The bot's durable `statuspage` step
retries, with its backoff and Retry-After, and knows when a retry needs a look first; this
module never retries, and says of every failure whether it is worth retrying.

The calls, relative to STATUSPAGE_API_URL (https://api.statuspage.io/v1), each with the header
`Authorization: OAuth <api key>`:

- POST  /pages/{page_id}/incidents                 `{"incident": {...}}` -> the incident
- PATCH /pages/{page_id}/incidents/{incident_id}   `{"incident": {...}}` -> the incident (a
  `body` adds an incident update, `components` sets the components' statuses)
- GET   /pages/{page_id}/incidents/{incident_id}   -> the incident
- GET   /pages/{page_id}/incidents/unresolved      `page`, `per_page` (at most 100) -> a list
- GET   /pages/{page_id}/incidents                 `q` (searched in names and updates),
  `limit`, `page` -> a list, newest first
- GET   /pages/{page_id}                           -> the page (`incident-bot check`)
- GET   /pages/{page_id}/components                `page`, `per_page` -> a list (`check`)

Answers told apart:

- 2xx: done;
- 420 or 429 (1 request a second per key, on a 60-second window): try again later, after
  Retry-After when it is given;
- 408, 5xx, a timeout, a connection lost after the request went out: try again later, and
  Statuspage may have done the work (`maybe_done`): look before doing it again;
- a connection refused: try again later, nothing was done;
- 401, 403, 404, 422 and any other 4xx: a refusal; the same request would be refused again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import httpx

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "incident-bot (+https://github.com/incident-bot)"
INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
COMPONENT_STATUSES = ("operational", "degraded_performance", "partial_outage", "major_outage")
IMPACTS = ("none", "minor", "major", "critical")
NAME_MAX = 255  # Statuspage's limit on an incident's name
BODY_MAX = 25000  # and on an update's body
PER_PAGE = 100  # the most one list answer holds
MAX_PAGES = 10  # unresolved incidents looked through, at most (1000 of them)


class StatuspageError(Exception):
    """Statuspage did not do what was asked.

    `transient`: worth trying again later. `maybe_done`: it may have done it anyway (a 5xx or a
    timeout after the request went out). `retry_after`: seconds it asked to wait (429).
    """

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        maybe_done: bool = False,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.maybe_done = maybe_done
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class Update:
    """One incident update, as Statuspage lists them (newest first)."""

    id: str
    status: str
    body: str


@dataclass(frozen=True)
class RemoteIncident:
    """A Statuspage incident: what the bot reads of it."""

    id: str
    name: str
    status: str
    shortlink: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    updates: tuple[Update, ...] = ()
    components: Mapping[str, str] = field(default_factory=dict)  # component id -> status

    @property
    def latest(self) -> Update | None:
        return self.updates[0] if self.updates else None


@dataclass(frozen=True)
class RemotePage:
    """A Statuspage page: what `incident-bot check` reads of it."""

    id: str
    name: str
    url: str | None = None


@dataclass(frozen=True)
class RemoteComponent:
    """One component of a page (a group of components is one too, with `group` true)."""

    id: str
    name: str
    status: str
    group: bool = False


def clip(text: str, limit: int) -> str:
    """At most `limit` characters; an ellipsis says it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class StatuspageClient:
    """One page's incidents, for one step's calls: `async with StatuspageClient(...) as sp`."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        page_id: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base = f"{api_url.rstrip('/')}/pages/{page_id}"
        self._client = httpx.AsyncClient(
            timeout=TIMEOUT,
            headers={
                "Authorization": f"OAuth {api_key}",
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
            },
            transport=transport,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._client.aclose()

    async def create_incident(self, fields: Mapping[str, Any]) -> RemoteIncident:
        body = await self._call("POST", "/incidents", json={"incident": dict(fields)})
        return _incident(body)

    async def update_incident(self, incident_id: str, fields: Mapping[str, Any]) -> RemoteIncident:
        path = f"/incidents/{incident_id}"
        return _incident(await self._call("PATCH", path, json={"incident": dict(fields)}))

    async def get_incident(self, incident_id: str) -> RemoteIncident:
        return _incident(await self._call("GET", f"/incidents/{incident_id}"))

    async def unresolved(self) -> list[RemoteIncident]:
        """Every unresolved incident of the page (up to MAX_PAGES answers of PER_PAGE)."""
        found: list[RemoteIncident] = []
        for page in range(1, MAX_PAGES + 1):
            params = {"page": page, "per_page": PER_PAGE}
            batch = _incidents(await self._call("GET", "/incidents/unresolved", params=params))
            found += batch
            if len(batch) < PER_PAGE:
                break
        return found

    async def search(self, text: str) -> list[RemoteIncident]:
        """The newest incidents whose name or updates hold `text` (resolved ones too)."""
        params = {"q": text, "limit": PER_PAGE, "page": 1}
        return _incidents(await self._call("GET", "/incidents", params=params))

    async def page(self) -> RemotePage:
        """The page itself (read-only: proves the key and the page id)."""
        body = await self._call("GET", "")
        if not isinstance(body, dict) or not body.get("id"):
            raise StatuspageError("Statuspage answered without a page", transient=True)
        return RemotePage(str(body["id"]), str(body.get("name") or ""), body.get("url"))

    async def components(self) -> list[RemoteComponent]:
        """Every component of the page (up to MAX_PAGES answers of PER_PAGE), groups too."""
        found: list[RemoteComponent] = []
        for page in range(1, MAX_PAGES + 1):
            params = {"page": page, "per_page": PER_PAGE}
            body = await self._call("GET", "/components", params=params)
            if not isinstance(body, list):
                raise StatuspageError(
                    "Statuspage answered a list call without a list", transient=True
                )
            found += [
                RemoteComponent(
                    str(c["id"]),
                    str(c.get("name") or ""),
                    str(c.get("status") or ""),
                    bool(c.get("group")),
                )
                for c in body
                if isinstance(c, dict) and c.get("id")
            ]
            if len(body) < PER_PAGE:
                break
        return found

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        url = self._base + path
        try:
            response = await self._client.request(method, url, json=json, params=params)
        except httpx.ConnectError as exc:
            raise StatuspageError(f"Statuspage unreachable: {exc}", transient=True) from exc
        except httpx.TimeoutException as exc:
            raise StatuspageError(
                "Statuspage did not answer in time", transient=True, maybe_done=method != "GET"
            ) from exc
        except httpx.TransportError as exc:
            raise StatuspageError(
                f"Statuspage connection failed: {type(exc).__name__}",
                transient=True,
                maybe_done=method != "GET",
            ) from exc
        return _answer(response, method)


def _answer(response: httpx.Response, method: str) -> Any:
    status = response.status_code
    if 200 <= status < 300:
        try:
            return response.json()
        except ValueError as exc:
            raise StatuspageError(
                f"Statuspage answered {status} without JSON",
                transient=True,
                maybe_done=method != "GET",
                status=status,
            ) from exc
    reason = _reason(response)
    if status in (420, 429):
        raise StatuspageError(
            f"Statuspage rate limit ({status}){reason}",
            transient=True,
            status=status,
            retry_after=_retry_after(response),
        )
    if status == 408 or status >= 500:
        raise StatuspageError(
            f"Statuspage answered {status}{reason}",
            transient=True,
            maybe_done=method != "GET",
            status=status,
            retry_after=_retry_after(response),
        )
    what = {401: "the API key", 403: "the API key's rights", 404: "the page or incident"}
    hint = f" (check {what[status]})" if status in what else ""
    raise StatuspageError(
        f"Statuspage refused it ({status}){reason}{hint}", transient=False, status=status
    )


def _reason(response: httpx.Response) -> str:
    """Statuspage's own words: `{"message": ...}` (its ErrorEntity) or `{"error": ...}`."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    said = body.get("message") or body.get("error")
    if isinstance(said, list):
        said = "; ".join(str(part) for part in said)
    return f": {str(said)[:300]}" if said else ""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return None if value is None else max(float(value), 0.0)
    except ValueError:
        return None


def _incidents(body: Any) -> list[RemoteIncident]:
    if not isinstance(body, list):
        raise StatuspageError("Statuspage answered a list call without a list", transient=True)
    return [_incident(item) for item in body]


def _incident(body: Any) -> RemoteIncident:
    if not isinstance(body, dict) or not body.get("id"):
        raise StatuspageError(
            "Statuspage answered without an incident", transient=True, maybe_done=True
        )
    updates = tuple(
        Update(str(u.get("id") or ""), str(u.get("status") or ""), str(u.get("body") or ""))
        for u in body.get("incident_updates") or ()
        if isinstance(u, dict)
    )
    components = {
        str(c["id"]): str(c.get("status") or "")
        for c in body.get("components") or ()
        if isinstance(c, dict) and c.get("id")
    }
    metadata = body.get("metadata")
    return RemoteIncident(
        id=str(body["id"]),
        name=str(body.get("name") or ""),
        status=str(body.get("status") or ""),
        shortlink=body.get("shortlink"),
        metadata=metadata if isinstance(metadata, dict) else {},
        updates=updates,
        components=components,
    )


__all__ = [
    "BODY_MAX",
    "COMPONENT_STATUSES",
    "IMPACTS",
    "INCIDENT_STATUSES",
    "NAME_MAX",
    "RemoteComponent",
    "RemoteIncident",
    "RemotePage",
    "StatuspageClient",
    "StatuspageError",
    "Update",
    "clip",
]
