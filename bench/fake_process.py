"""The fake Slack in a process of its own, so that its work does not slow down the benchmark's
load generator (which would be charged to the bot). A small control server beside it mints
trigger ids and seeds channels and messages.

    python -m bench.fake_process LATENCY   # prints "<api base url> <control url>" when ready
"""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web

from app.sandbox.fakeslack import FakeSlack
from bench.common import TOKEN, USERS


async def main(latency: float) -> None:
    fake = FakeSlack(token=TOKEN, latency=latency)
    fake.trigger_ttl = 3600  # triggers are minted ahead of the requests that use them
    for user in USERS:
        fake.add_user(user, name=user.lower(), email=f"{user.lower()}@example.com")
    await fake.start()

    async def triggers(request: web.Request) -> web.Response:
        count = int(request.query.get("n", "1"))
        return web.json_response([fake.new_trigger_id() for _ in range(count)])

    async def channel(request: web.Request) -> web.Response:
        body = await request.json()
        channel_id = fake.add_channel(body["name"], members=body.get("members", []))
        ts = [
            fake.add_message(channel_id, f"message {n}", user="UOTHER")
            for n in range(int(body.get("messages", 0)))
        ]
        return web.json_response({"channel": channel_id, "messages": ts})

    app = web.Application()
    app.router.add_get("/triggers", triggers)
    app.router.add_post("/channel", channel)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(fake.base_url, f"http://127.0.0.1:{port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 0.05))
