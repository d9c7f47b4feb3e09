"""The demo's web page and the small JSON API it polls and posts to.

GET /               the page (static/index.html, app.js, style.css: no build step, no CDN)
GET /api/state      what one person sees (?user=U…&channel=C…), see app.demo.screen
POST /api/<action>  command, message, react, click, change, submit, dismiss: one person's act,
                    sent to the bot as Slack would send it (app.demo.client)
GET /files/<id>     a file the bot uploaded (the post-mortem draft)

The page is served on 127.0.0.1 only: it lets anyone who reaches it act as anyone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from app.demo.client import DemoClient, Outcome, Refused
from app.demo.screen import file_content, screen
from app.demo.workspace import Workspace

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
log = logging.getLogger(__name__)

Act = Callable[[DemoClient, dict[str, Any]], Awaitable[Outcome]]


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise Refused(f"{key} is missing")
    return value


# One entry per thing a person can do on the page; each reads the fields the page sends.
ACTS: dict[str, Act] = {
    "command": lambda c, b: c.command(_text(b, "user"), _text(b, "channel"), _text(b, "text")),
    "message": lambda c, b: c.message(
        _text(b, "user"), _text(b, "channel"), _text(b, "text"), str(b.get("thread_ts") or "")
    ),
    "react": lambda c, b: c.react(
        _text(b, "user"), _text(b, "channel"), _text(b, "ts"), _text(b, "emoji")
    ),
    "click": lambda c, b: c.click(
        _text(b, "user"),
        _text(b, "channel"),
        _text(b, "ts"),
        _text(b, "action_id"),
        _text(b, "block_id"),
        b.get("selected"),
    ),
    "change": lambda c, b: c.change(
        _text(b, "user"),
        _text(b, "view_id"),
        _text(b, "block_id"),
        _text(b, "action_id"),
        dict(b.get("answers") or {}),
    ),
    "submit": lambda c, b: c.submit(
        _text(b, "user"), _text(b, "view_id"), dict(b.get("answers") or {})
    ),
    "dismiss": lambda c, b: c.dismiss(_text(b, "user"), _text(b, "view_id")),
}


CLIENT = web.AppKey("client", DemoClient)
WORKSPACE = web.AppKey("workspace", Workspace)
LINKS = web.AppKey("links", dict)


def create_page_app(
    client: DemoClient, workspace: Workspace, links: dict[str, str] | None = None
) -> web.Application:
    """The page; `links` are the bot's own pages (dashboard, status) its sidebar opens."""
    app = web.Application(client_max_size=1024 * 1024)
    app[CLIENT] = client
    app[WORKSPACE] = workspace
    app[LINKS] = dict(links or {})
    app.router.add_get("/", _index)
    app.router.add_get("/static/{name}", _asset)
    app.router.add_get("/api/state", _state)
    app.router.add_post("/api/{action}", _act)
    app.router.add_get("/files/{file_id}", _download)
    app.router.add_get("/open/{page}", _open)
    return app


async def _open(request: web.Request) -> web.StreamResponse:
    """The sidebar's links to the bot's own pages, which run on the bot's port."""
    target = request.app[LINKS].get(request.match_info["page"])
    if target is None:
        raise web.HTTPNotFound(text="no such page in this demo")
    raise web.HTTPFound(target)


async def _index(_request: web.Request) -> web.StreamResponse:
    return _static("index.html")


async def _asset(request: web.Request) -> web.StreamResponse:
    return _static(request.match_info["name"])


async def _state(request: web.Request) -> web.StreamResponse:
    client, workspace = request.app[CLIENT], request.app[WORKSPACE]
    user = request.query.get("user") or workspace.people[0].id
    if user not in client.fake.users:
        user = workspace.people[0].id
    channel = request.query.get("channel", "")
    return web.json_response(screen(client, workspace, user, channel))


async def _act(request: web.Request) -> web.StreamResponse:
    name = request.match_info["action"]
    if name not in ACTS:
        raise web.HTTPNotFound()
    try:
        body = await request.json()
        if not isinstance(body, dict):
            raise Refused("expected a JSON object")
        outcome = await ACTS[name](request.app[CLIENT], body)
    except (Refused, ValueError) as exc:
        return web.json_response({"ok": False, "error": str(exc)}, status=400)
    except Exception as exc:  # noqa: BLE001 - the page shows it; the demo keeps running
        log.exception("demo: %s failed", name)
        return web.json_response({"ok": False, "error": repr(exc)}, status=500)
    return web.json_response({"ok": True, "errors": outcome.errors, "note": outcome.note})


async def _download(request: web.Request) -> web.StreamResponse:
    found = file_content(request.app[CLIENT], request.match_info["file_id"])
    if found is None:
        raise web.HTTPNotFound()
    name, content = found
    return web.Response(
        body=content,
        content_type="text/plain",
        charset="utf-8",
        headers={"Content-Disposition": f"inline; filename={json.dumps(name)}"},
    )


def _static(name: str) -> web.StreamResponse:
    path = STATIC / name
    if path.parent != STATIC or path.suffix not in TYPES or not path.is_file():
        raise web.HTTPNotFound()
    return web.Response(
        body=path.read_bytes(),
        content_type=TYPES[path.suffix],
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )
