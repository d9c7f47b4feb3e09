"""Socket Mode: the websocket apps.connections.open points at, envelopes sent to the bot and
the acks it sends back."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from .state import SlackState


class SocketMode:
    """FakeSlack's Socket Mode side (a mixin: FakeSlack holds the sockets and the acks)."""

    state: SlackState
    sockets: list[web.WebSocketResponse]
    socket_acks: dict[str, dict[str, Any]]
    _ack_arrived: asyncio.Event

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        """The websocket apps.connections.open points at: hello, then envelopes and acks."""
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_json(
            {
                "type": "hello",
                "num_connections": len(self.sockets),
                "debug_info": {"host": "fakeslack", "approximate_connection_time": 3600},
                "connection_info": {"app_id": "A0001"},
            }
        )
        try:
            async for frame in socket:
                if frame.type != web.WSMsgType.TEXT:
                    continue
                message = json.loads(frame.data)
                if isinstance(message, dict) and "envelope_id" in message:
                    self.socket_acks[message["envelope_id"]] = message
                    self._ack_arrived.set()
        finally:
            self.sockets.remove(socket)
        return socket

    async def socket_send(self, kind: str, payload: dict[str, Any]) -> str:
        """Deliver a request over Socket Mode (`slash_commands`, `interactive`, `events_api`);
        returns its envelope id."""
        if not self.sockets:
            raise RuntimeError("no Socket Mode connection is open")
        envelope_id = self.state.new_id("env-")
        await self.sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return envelope_id

    async def socket_ack(self, envelope_id: str) -> dict[str, Any]:
        """Wait (at most 5 s, longer than Slack's 3 s deadline) for the bot's ack."""
        async with asyncio.timeout(5):
            while envelope_id not in self.socket_acks:
                self._ack_arrived.clear()
                await self._ack_arrived.wait()
        return self.socket_acks[envelope_id]
