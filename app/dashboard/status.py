"""The public status page: GET /status (HTML), /status.json (the same, as data) and its
stylesheet. No sign-in; 404 unless STATUS_PAGE is true.

Computed from the store on each request (app.services.status_board), so a post published on
any replica shows on the next load; `Cache-Control: max-age` lets a proxy in front absorb a
crowd during an outage. Headers forbid framing, inline script and other origins.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from app.context import BotContext
from app.dashboard import status_html
from app.services import status_board
from app.services.status_board import Board, PublicIncident

CACHE_SECONDS = 10
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'none'; object-src 'none'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def _headers(seconds: int = CACHE_SECONDS) -> dict[str, str]:
    return {**SECURITY_HEADERS, "Cache-Control": f"public, max-age={seconds}"}


def _not_found() -> Response:
    return PlainTextResponse("Not Found", status_code=404, headers=SECURITY_HEADERS)


def routes(bot: BotContext) -> list[BaseRoute]:
    """/status, /status.json, /status/style.css (404 unless STATUS_PAGE is true)."""

    async def page(request: Request) -> Response:
        if not bot.settings.status_page:
            return _not_found()
        board = await status_board.board(bot)
        html = status_html.render(board, bot.settings.tz)
        return Response(html, media_type="text/html; charset=utf-8", headers=_headers())

    async def data(request: Request) -> Response:
        if not bot.settings.status_page:
            return _not_found()
        board = await status_board.board(bot)
        headers = {**_headers(), "Access-Control-Allow-Origin": "*"}
        return SafeJSONResponse(as_json(board), headers=headers)

    async def style(request: Request) -> Response:
        if not bot.settings.status_page:
            return _not_found()
        return Response(
            status_html.CSS, media_type="text/css; charset=utf-8", headers=_headers(3600)
        )

    return [
        Route("/status", page, methods=["GET", "HEAD"]),
        Route("/status.json", data, methods=["GET", "HEAD"]),
        Route(status_html.STYLESHEET, style, methods=["GET", "HEAD"]),
    ]


class SafeJSONResponse(JSONResponse):
    """JSON with `<`, `>`, `&` and the line separators U+2028/U+2029 written as `\\u` escapes:
    the same data for any JSON reader, but never markup (or a script's end) to a browser or
    an HTML page that inlines it."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        for char, escaped in _JSON_ESCAPES:
            text = text.replace(char, escaped)
        return text.encode("utf-8")


_JSON_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def as_json(board: Board) -> dict[str, Any]:
    """The page as data (Statuspage's vocabulary: indicator, component states, phases)."""
    return {
        "status": {"indicator": board.state, "description": board.banner},
        "updated_at": board.now.isoformat(),
        "services": [
            {"key": s.key, "name": s.name, "description": s.description, "state": s.state}
            for s in board.services
        ],
        "incidents": [_incident(i) for i in board.active],
        "history": [_incident(i) for i in board.history],
    }


def _incident(incident: PublicIncident) -> dict[str, Any]:
    return {
        "id": incident.ref,
        "name": incident.name,
        "state": incident.state,
        "services": incident.services,
        "began_at": incident.began_at.isoformat(),
        "ended_at": incident.ended_at.isoformat() if incident.ended_at else None,
        "updates": [
            {"phase": u.phase, "state": u.state, "message": u.message, "at": u.at.isoformat()}
            for u in incident.updates
        ],
    }
