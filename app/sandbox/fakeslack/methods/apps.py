"""apps.connections.open: the Socket Mode websocket URL (served by FakeSlack at /link/)."""

from __future__ import annotations

from typing import Any

from ..registry import Args, api
from ..state import SlackState


@api("apps.connections.open")
def connections_open(state: SlackState, args: Args) -> dict[str, Any]:
    ticket = state.new_id("ticket-")
    return {"url": state.base_url.replace("http://", "ws://", 1) + f"/link/?ticket={ticket}"}
