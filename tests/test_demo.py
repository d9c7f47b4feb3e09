"""`incident-bot demo` without a browser: its page API, as the page uses it, against the real
bot and the fake Slack running in this process (app.demo.run.running_demo)."""

from __future__ import annotations

import asyncio
import html
import json
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import select

from app.config.policy_loader import load_policy
from app.demo.page import STATIC
from app.demo.run import Demo, running_demo
from app.demo.workspace import seed
from app.sandbox.fakeslack import FakeSlack
from app.store.models import ScheduledStep
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


async def until(what: str, ready: Callable[[], Any], seconds: float = 60.0) -> Any:
    """What `ready` returns once it is truthy: the bot's scheduler works on its own (a loaded
    CI machine may take a while; nothing here measures how long)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        found = ready()
        if found:
            return found
        await demo_tick()
    raise AssertionError(f"never happened: {what}")


async def declare_in_demo(demo: Demo, http: httpx.AsyncClient, title: str, severity: str) -> str:
    """The reporter declares from #general; the incident channel's id, once it exists."""
    general = demo.workspace.general
    await act(http, "command", user="UREPORTER", channel=general, text="/incident declare")
    modal = await opened_modal(http, "UREPORTER")
    answers = {"title": title, "severity": severity}
    answer = await act(http, "submit", user="UREPORTER", view_id=modal["id"], answers=answers)
    assert answer.json()["ok"], answer.text
    room = await until(
        "the incident channel",
        lambda: next(
            (c for c in demo.fake.channels.values() if c.name.startswith("incident-")), None
        ),
    )
    return str(room.id)


def pinned_summary(demo: Demo, channel: str) -> str:
    pins = demo.fake.pins.get(channel) or []
    message = demo.fake.state.find_message(channel, pins[0]) if pins else None
    return json.dumps(message["blocks"], ensure_ascii=False) if message else ""


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


async def test_a_p1_declared_in_the_demo_opens_one_jira_ticket_linked_and_closed_on_resolve(
    demo: Demo,
) -> None:
    title = 'Checkout <b>fails</b> & "retries"'
    async with httpx.AsyncClient(base_url=demo.url) as http:
        channel = await declare_in_demo(demo, http, title, "P1")
        [issue] = await until("a ticket in Jira", lambda: list(demo.jira.issues.values()))
        assert issue.project == "DEMO" and issue.priority == "High" and title in issue.summary
        url = f"{demo.jira.base_url}/browse/{issue.key}"
        # Linked on the pinned summary (as mrkdwn `<url|KEY>`, which the page renders as a
        # link) and as the channel's bookmark.
        await until(
            "the ticket on the summary",
            lambda: f"<{url}|{issue.key}>" in pinned_summary(demo, channel),
        )
        bookmarks = await until("the bookmark", lambda: demo.fake.bookmarks.get(channel))
        assert [b["link"] for b in bookmarks] == [url]
        # The link opens the issue's page, the title in it as words, not markup.
        async with httpx.AsyncClient() as browser:
            page = await browser.get(url)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert html.escape(title) in page.text and "<b>fails</b>" not in page.text

        await act(http, "command", user="UREPORTER", channel=channel, text="/incident resolve")
        modal = await opened_modal(http, "UREPORTER")
        answers = {"resolution": "Rolled back <i>4812</i>", "data_loss": "no"}
        answer = await act(http, "submit", user="UREPORTER", view_id=modal["id"], answers=answers)
        assert answer.json()["errors"] == {}, answer.text
        await until(
            "the ticket closed with the resolution",
            lambda: issue.status == "Done" and any("4812" in c.read.plain for c in issue.comments),
        )
        async with httpx.AsyncClient() as browser:
            page = await browser.get(url)
        # The resolution is the bot's comment on the page: shown as the words typed.
        assert "Rolled back &lt;i&gt;4812&lt;/i&gt;" in page.text and "<i>" not in page.text
    assert len(demo.jira.issues) == 1 and len(demo.jira.requests_to("POST /issue")) == 1
    assert demo.jira.violations == [] and demo.fake.violations == []


async def test_an_action_item_in_the_demo_becomes_a_jira_ticket_assigned_to_its_owner(
    demo: Demo,
) -> None:
    async with httpx.AsyncClient(base_url=demo.url) as http:
        channel = await declare_in_demo(demo, http, "Search is slow", "P3")
        line = "/incident action Add a canary for search <@UONCALL>"
        added = await act(http, "command", user="UREPORTER", channel=channel, text=line)
        assert added.json()["ok"], added.text
        items = await until(
            "the action item's ticket",
            lambda: [i for i in demo.jira.issues.values() if "action-item" in i.labels],
        )
    [item] = items
    # The demo's people are Jira's users too, found by their Slack e-mail.
    [omar] = [u for u in demo.jira.state.users if u.email == "omar@example.com"]
    assert item.assignee == omar.account_id and "Add a canary for search" in item.summary
    assert demo.jira.violations == []


async def test_a_policy_without_tickets_runs_the_demo_and_opens_no_ticket(tmp_path: Path) -> None:
    policy = ROOT / "tests" / "policies" / "escalation_directory.yml"
    async with (
        running_demo(port=0, data=tmp_path, policy_file=policy) as demo,
        httpx.AsyncClient(base_url=demo.url) as http,
    ):
        channel = await declare_in_demo(demo, http, "Search is slow", "P1")
        await until("the summary pinned", lambda: pinned_summary(demo, channel))
        # The declaration plans a ticket step in its own transaction when the policy opens
        # one: committed with the channel's incident, so none now means none ever.
        async with demo.bot.sessions() as session:
            kinds = set((await session.execute(select(ScheduledStep.kind))).scalars())
        assert "setup" in kinds and "ticket" not in kinds
        assert "Ticket" not in pinned_summary(demo, channel)
        assert demo.jira.issues == {} and demo.jira.requests == []


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


async def test_the_demo_serves_its_dashboard_behind_sign_in_with_slack_and_its_status_page(
    demo: Demo,
) -> None:
    title = "Checkout <b>fails</b>"
    async with httpx.AsyncClient(base_url=demo.url) as http:
        await declare_in_demo(demo, http, title, "P1")
        # The sidebar's link leads to the bot's dashboard, which asks who you are first.
        opened = await http.get("open/dashboard", follow_redirects=True)
        assert opened.status_code == 200 and str(opened.url).startswith(demo.bot_url)
        assert "/dashboard/login" in str(opened.url) and "Sign in with Slack" in opened.text
        status = await http.get("open/status", follow_redirects=True)
        assert status.status_code == 200 and str(status.url) == f"{demo.bot_url}/status"
        for service in ("API", "Payments", "E-mail delivery", "Web app"):
            assert service in status.text
        assert (await http.get("open/nothing")).status_code == 404
    # Sign in with Slack, against the fake Slack's OpenID provider, as the reporter.
    async with httpx.AsyncClient(base_url=demo.bot_url) as browser:
        start = await browser.get("/dashboard/auth/slack", params={"next": "/dashboard"})
        assert start.status_code == 303
        demo.fake.openid.sign_in_as("UREPORTER")
        async with httpx.AsyncClient() as at_slack:
            back = await at_slack.get(start.headers["location"])
        assert back.status_code == 302
        landed = await browser.get(back.headers["location"], follow_redirects=True)
        assert landed.status_code == 200 and str(landed.url) == f"{demo.bot_url}/dashboard"
        assert html.escape(title) in landed.text and "<b>fails</b>" not in landed.text
    # The run's token opens it too.
    async with httpx.AsyncClient() as browser:
        board = await browser.get(demo.dashboard_url, follow_redirects=True)
        assert board.status_code == 200 and "token=" not in str(board.url)
        assert html.escape(title) in board.text


async def test_a_status_update_previewed_in_the_demo_is_published_with_its_button(
    demo: Demo,
) -> None:
    async with httpx.AsyncClient(base_url=demo.url) as http:
        channel = await declare_in_demo(demo, http, "Gateway 7 times out", "P1")
        line = "/incident statuspage [payments] Card payments fail; we are on it."
        answer = await act(http, "command", user="UREPORTER", channel=channel, text=line)
        assert answer.status_code == 200, answer.text

        def preview() -> Any:
            """The ephemeral answer with the Publish button (others may be shown beside it)."""
            return next(
                (
                    m
                    for m in demo.client.shown("UREPORTER", channel)
                    if "statuspage_publish" in json.dumps(m.blocks)
                ),
                None,
            )

        shown = await until("the preview", preview)
        [(block_id, button)] = [
            (block["block_id"], element)
            for block in shown.blocks
            for element in block.get("elements", [])
            if element.get("action_id") == "statuspage_publish"
        ]
        pressed = await act(
            http,
            "click",
            user="UREPORTER",
            channel=channel,
            ts=shown.ts,
            action_id=button["action_id"],
            block_id=block_id,
        )
        assert pressed.status_code == 200, pressed.text
        # The preview is replaced in place by what happened, as Slack's response_url does.
        await until(
            "the preview replaced",
            lambda: any(
                "Published" in m.text and m.ts == shown.ts
                for m in demo.client.shown("UREPORTER", channel)
            ),
        )
        async with httpx.AsyncClient() as visitor:
            page = await visitor.get(f"{demo.bot_url}/status")
        assert "Card payments fail; we are on it." in page.text, page.text
        assert "Gateway 7" not in page.text
    assert demo.fake.violations == []
