"""The floor of this stack: a bare Bolt AsyncApp behind Starlette and uvicorn whose listeners
only ack. Run as `python -m bench.floor_app PORT` by bench/ack_latency.py."""

from __future__ import annotations

import sys

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.common import SECRET, TOKEN


def build(api_url: str) -> Starlette:
    bolt = AsyncApp(client=AsyncWebClient(token=TOKEN, base_url=api_url), signing_secret=SECRET)

    @bolt.command("/incident")
    async def command(ack) -> None:  # type: ignore[no-untyped-def]
        await ack()

    @bolt.event("reaction_added")
    async def reaction(ack) -> None:  # type: ignore[no-untyped-def]
        await ack()

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[Route("/slack/events", events, methods=["POST"]), Route("/health", health)]
    )


if __name__ == "__main__":
    port, api_url = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(build(api_url), host="127.0.0.1", port=port, log_level="warning")
