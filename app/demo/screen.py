"""What the demo page shows one person: their channels and DMs, one conversation, their modal.

Everything is read from the fake Slack as it holds it now (messages with their blocks, pins,
reactions, threads, files, views) plus what only that person's client knows (ephemerals,
their open modal). The page renders this JSON; it never sees another person's modal.
"""

from __future__ import annotations

from typing import Any

from app.demo.client import DemoClient
from app.demo.workspace import Workspace
from app.sandbox.fakeslack.state import BOT_NAME, BOT_USER_ID


def screen(client: DemoClient, workspace: Workspace, user: str, channel: str) -> dict[str, Any]:
    """The JSON the page polls: `channel` is the conversation open on screen ("" for none)."""
    fake = client.fake
    rooms = conversations(client, user)
    if channel not in {room["id"] for room in rooms}:
        channel = workspace.general
    return {
        "me": user,
        "bot": BOT_USER_ID,
        "people": [{"id": p.id, "name": p.name, "title": p.title} for p in workspace.people],
        "names": {uid: u.name for uid, u in fake.users.items()},
        "channel_names": {c.id: c.name for c in fake.channels.values() if not c.is_im},
        "conversations": rooms,
        "channel": channel,
        "messages": history(client, user, channel),
        "pins": list(fake.pins.get(channel, [])),
        "modal": modal(client, user),
    }


def conversations(client: DemoClient, user: str) -> list[dict[str, Any]]:
    """Channels first (public ones even when not joined, like the channel browser), then the
    person's DM with the bot."""
    out = []
    for room in client.fake.channels.values():
        member = user in room.members
        if room.is_im:
            if room.im_user == user:
                kind, name = "dm", BOT_NAME
            else:
                continue
        elif room.is_private and not member:
            continue
        else:
            kind, name = ("private" if room.is_private else "channel"), room.name
        out.append(
            {
                "id": room.id,
                "name": name,
                "kind": kind,
                "member": member,
                "archived": room.archived,
                "topic": room.topic,
                "count": len(client.fake.messages.get(room.id, [])),
            }
        )
    order = {"channel": 0, "private": 0, "dm": 1}
    return sorted(out, key=lambda r: (order[r["kind"]], r["name"] != "general", r["name"]))


def history(client: DemoClient, user: str, channel: str) -> list[dict[str, Any]]:
    """The conversation, oldest first: messages with their thread replies folded under them,
    and this person's ephemerals in time order."""
    fake = client.fake
    stored = fake.messages.get(channel, [])
    replies: dict[str, list[dict[str, Any]]] = {}
    top: list[dict[str, Any]] = []
    for message in stored:
        shown = _message(client, user, channel, message)
        if fake.state.is_reply(message) and message.get("subtype") != "thread_broadcast":
            replies.setdefault(message["thread_ts"], []).append(shown)
        else:
            top.append(shown)
    for shown in top:
        shown["replies"] = replies.get(shown["ts"], [])
    for note in client.shown(user, channel):
        top.append(
            {
                "ts": note.ts,
                "user": BOT_USER_ID,
                "text": note.text,
                "blocks": note.blocks,
                "ephemeral": True,
                "replies": [],
                "reactions": [],
                "files": [],
            }
        )
    return sorted(top, key=lambda m: float(m["ts"]))


def _message(
    client: DemoClient, user: str, channel: str, message: dict[str, Any]
) -> dict[str, Any]:
    rendered = client.fake.state.render(channel, message)
    return {
        "ts": message["ts"],
        "user": message.get("user", ""),
        "text": message.get("text", ""),
        "blocks": message.get("blocks") or [],
        "attachments": message.get("attachments") or [],
        "files": [
            {"id": f.get("id"), "title": f.get("title"), "name": f.get("name")}
            for f in message.get("files") or []
        ],
        "reactions": [
            {"name": r["name"], "count": r["count"], "mine": user in r["users"]}
            for r in rendered.get("reactions", [])
        ],
        "pinned": message["ts"] in client.fake.pins.get(channel, []),
        "edited": "edited" in message,
        "thread_ts": message.get("thread_ts") or "",
        "reply_count": message.get("reply_count", 0),
        "ephemeral": False,
    }


def modal(client: DemoClient, user: str) -> dict[str, Any] | None:
    view = client.modal(user)
    if view is None:
        return None
    keys = ("id", "hash", "title", "submit", "close", "blocks", "callback_id")
    return {key: view.get(key) for key in keys}


def file_content(client: DemoClient, file_id: str) -> tuple[str, bytes] | None:
    """(file name, bytes) of a file the bot uploaded."""
    for shared in client.fake.files:
        if shared.get("id") == file_id:
            return str(shared.get("filename") or file_id), bytes(shared.get("content") or b"")
    return None
