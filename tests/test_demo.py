"""`incident-bot demo` without a browser: its page API, as the page uses it, against the real
bot and the fake Slack running in this process (app.demo.run.running_demo)."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio

from app.config.policy_loader import load_policy
from app.demo.page import STATIC
from app.demo.run import Demo, running_demo
from app.demo.workspace import seed
from app.sandbox.fakeslack import FakeSlack
from tests.conftest import ROOT


@pytest_asyncio.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    async with running_demo(port=0, data=tmp_path) as running:
        yield running


async def state(http: httpx.AsyncClient, user: str, channel: str = "") -> dict[str, Any]:
    response = await http.get("api/state", params={"user": user, "channel": channel})
    assert response.status_code == 200
    return dict(response.json())


async def act(http: httpx.AsyncClient, action: str, **body: Any) -> httpx.Response:
    return await http.post(f"api/{action}", json=body)


async def opened_modal(http: httpx.AsyncClient, user: str) -> dict[str, Any]:
    """The modal on `user`'s screen, once the bot has opened it (views.open follows the ack)."""
    for _ in range(200):
        modal = (await state(http, user))["modal"]
        if modal is not None:
            return dict(modal)
        await demo_tick()
    raise AssertionError(f"no modal opened for {user}")


async def demo_tick() -> None:
    await asyncio.sleep(0.02)


async def test_a_modal_opens_for_the_person_who_typed_the_command_and_nobody_else(
    demo: Demo,
) -> None:
    general = demo.workspace.general
    async with httpx.AsyncClient(base_url=demo.url) as http:
        answer = await act(http, "command", user="UREPORTER", channel=general, text="/incident")
        assert answer.json()["ok"], answer.text
        # `/incident` alone answers with help, shown to the reporter only.
        shown = (await state(http, "UREPORTER", general))["messages"]
        assert shown and all(m["ephemeral"] for m in shown)
        assert (await state(http, "UONCALL", general))["messages"] == []

        await act(http, "command", user="UREPORTER", channel=general, text="/incident declare")
        modal = await opened_modal(http, "UREPORTER")
        assert modal["callback_id"] == "declare_incident"
        assert (await state(http, "UONCALL"))["modal"] is None
        await act(http, "dismiss", user="UREPORTER", view_id=modal["id"])
        assert (await state(http, "UREPORTER"))["modal"] is None


async def test_a_declare_from_the_page_reaches_the_bot_signed_and_pages_the_on_call_by_dm(
    demo: Demo,
) -> None:
    async with httpx.AsyncClient(base_url=demo.url) as http:
        await act(
            http,
            "command",
            user="UREPORTER",
            channel=demo.workspace.general,
            text="/incident declare",
        )
        modal = await opened_modal(http, "UREPORTER")
        answers = {"title": "Search is slow", "severity": "P2"}
        answer = await act(http, "submit", user="UREPORTER", view_id=modal["id"], answers=answers)
        assert answer.json() == {"ok": True, "errors": {}, "note": ""}
        assert (await state(http, "UREPORTER"))["modal"] is None
        dm: dict[str, Any] | None = None
        for _ in range(300):
            rooms = (await state(http, "UONCALL"))["conversations"]
            dm = next((r for r in rooms if r["kind"] == "dm" and r["count"]), None)
            if dm is not None:
                break
            await demo_tick()
        assert dm is not None, "the on-call engineer was not paged by DM"
        page = (await state(http, "UONCALL", dm["id"]))["messages"][-1]
        buttons = [
            element["action_id"]
            for block in page["blocks"]
            for element in block.get("elements", [])
            if element.get("type") == "button"
        ]
        assert "escalation_ack" in buttons
        # Every request the page made reached the bot signed: none was refused.
        assert all(call.ok for call in demo.fake.calls if call.method == "views.open")
        assert demo.fake.violations == []


async def test_what_slack_would_not_let_a_person_do_is_refused_in_words(demo: Demo) -> None:
    general = demo.workspace.general
    async with httpx.AsyncClient(base_url=demo.url) as http:
        unknown = await act(http, "command", user="UREPORTER", channel=general, text="/deploy")
        assert unknown.status_code == 400
        assert "/deploy is not a valid command" in unknown.json()["error"]
        await act(http, "message", user="UREPORTER", channel=general, text="hello")
        said = (await state(http, "UREPORTER", general))["messages"][-1]
        # A person's message has no buttons: a click on it is what no client can send.
        click = await act(
            http,
            "click",
            user="UREPORTER",
            channel=general,
            ts=said["ts"],
            action_id="escalation_ack",
            block_id="x",
        )
        assert click.status_code == 400
        assert "only the bot's own messages" in click.json()["error"]


async def test_the_page_is_served_whole_from_the_package_with_nothing_from_the_network(
    demo: Demo,
) -> None:
    async with httpx.AsyncClient(base_url=demo.url) as http:
        page = await http.get("")
        assert page.status_code == 200
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
            assert (await http.get(asset.lstrip("/"))).status_code == 200
    for path in STATIC.iterdir():
        assert not re.search(r"(?:src|href)=\"https?://|@import|//cdn", path.read_text()), path


def test_a_policy_given_with_policy_gets_a_person_for_every_target_it_names() -> None:
    policy = load_policy(str(ROOT / "tests" / "policies" / "escalation_directory.yml"))
    fake = FakeSlack()
    workspace = seed(fake, policy)
    emails = {user.email for user in fake.users.values()}
    handles = {group.handle for group in fake.usergroups.values()}
    for level in policy.escalation.levels:
        for target in level.notify:
            assert (
                target in fake.users or target in emails or target.removeprefix("@") in handles
            ), target
    # Every person can be chosen on the page and reads #general.
    assert {p.id for p in workspace.people} <= fake.channels[workspace.general].members


def test_a_port_in_use_is_one_line_naming_the_fix_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "app", "demo", "--port", str(port), "--data", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"incident-bot: port {port} is in use: stop what listens there or pick another with --port"
    ]
