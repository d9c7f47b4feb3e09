"""The Linear tracker over real HTTP against FakeLinear, which validates every operation against
Linear's published schema (trimmed) and answers in Linear's shapes."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from markdown_it import MarkdownIt

from app.clock import ManualClock
from app.config.tracker_settings import TrackerSettings
from app.domain.tickets import Ticket, TicketDraft, TicketText
from app.sandbox.trackers.linear import FakeLinear
from app.trackers import linear_graphql as gql
from app.trackers.base import Tracker, TrackerError
from app.trackers.linear import LinearTracker, read_webhook

KEY = "lin_api_0123456789abcdef"
SECRET = "lin_wh_signing_secret"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def fake(clock: ManualClock) -> AsyncIterator[FakeLinear]:
    server = FakeLinear(api_key=KEY, clock=clock.now)
    server.seed_team("ENG", "Engineering")
    server.seed_user("Grace Hopper", "grace@example.com")
    await server.start()
    yield server
    await server.stop()
    assert server.violations == []


@pytest.fixture
async def tracker(fake: FakeLinear, clock: ManualClock) -> AsyncIterator[LinearTracker]:
    client = LinearTracker(KEY, fake.api_url, clock=clock)
    yield client
    await client.aclose()


def draft(marker: str = "INC-20261201-001", **changes: object) -> TicketDraft:
    values: dict[str, object] = {
        "marker": marker,
        "title": "Checkout is down",
        "body": TicketText(("Payments fail for every card.",)),
        "project": "ENG",
        "created_after": START - timedelta(minutes=1),
    }
    values.update(changes)
    return TicketDraft(**values)  # type: ignore[arg-type]


# --- setup and identity ------------------------------------------------------------------------


async def test_verify_names_the_keys_user_and_the_team(tracker: LinearTracker) -> None:
    assert await tracker.verify("ENG") == "Ada on Linear (team ENG)"
    assert await tracker.verify(None) == "Ada on Linear"


async def test_verify_refuses_a_team_key_linear_does_not_have(tracker: LinearTracker) -> None:
    with pytest.raises(TrackerError) as refused:
        await tracker.verify("OPS")
    assert not refused.value.transient and "OPS" in refused.value.message


async def test_the_api_key_is_sent_bare_and_a_wrong_one_is_refused_for_good(
    fake: FakeLinear, clock: ManualClock
) -> None:
    right = LinearTracker(KEY, fake.api_url, clock=clock)
    await right.verify(None)
    await right.aclose()
    assert fake.calls[0].authorization == KEY
    for wrong in ("lin_api_revoked", f"Bearer {KEY}"):
        client = LinearTracker(wrong, fake.api_url, clock=clock)
        with pytest.raises(TrackerError) as refused:
            await client.verify("ENG")
        await client.aclose()
        assert refused.value.status == 401 and not refused.value.transient
        assert "LINEAR_API_KEY" in refused.value.message


def test_from_settings_builds_a_tracker_only_with_a_key() -> None:
    assert LinearTracker.from_settings(TrackerSettings(linear_api_key=None)) is None
    built = LinearTracker.from_settings(TrackerSettings(linear_api_key=KEY))
    assert built is not None and (built.name, built.title) == ("linear", "Linear")
    protocol: Tracker = built  # the Tracker protocol, checked by mypy too
    assert protocol.name == "linear"


# --- create and find ---------------------------------------------------------------------------


async def test_create_opens_the_issue_in_the_team_with_priority_labels_assignee_and_due_date(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    fake.seed_label("Incident")  # a workspace label, matched without regard to case
    ticket = await tracker.create(
        draft(
            labels=("incident",),
            team="payments",
            priority="urgent",
            assignee_email="GRACE@example.com",
            due=date(2026, 12, 8),
        )
    )
    issue = fake.issue("ENG-1")
    assert ticket == Ticket(key="ENG-1", url=issue.url, remote_id=issue.id, closed=False)
    assert (issue.title, issue.priority, issue.dueDate) == ("Checkout is down", 1, "2026-12-08")
    assert issue.assignee is not None and issue.assignee.email == "grace@example.com"
    assert sorted(label.name for label in issue.label_list) == ["Incident", "payments"]
    created = next(label for label in fake.labels if label.name == "payments")
    assert created.team is not None and created.team.key == "ENG"
    assert issue.description is not None
    assert issue.description.splitlines()[-1] == "incident-bot: INC-20261201-001"


async def test_an_assignee_linear_does_not_know_is_named_in_the_description(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    await tracker.create(draft(assignee_email="nobody@example.com"))
    issue = fake.issue("ENG-1")
    assert issue.assignee is None
    assert issue.description is not None and "Owner: nobody\\@example\\.com" in issue.description


async def test_labels_linear_refuses_to_create_are_left_off(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    fake.seed_label("incident", team="ENG")
    fake.workspace.labels_locked = True
    await tracker.create(draft(labels=("incident", "sev1")))
    assert [label.name for label in fake.issue("ENG-1").label_list] == ["incident"]


@pytest.mark.parametrize(
    ("name", "number"),
    [("urgent", 1), ("High", 2), ("medium", 3), ("low", 4), ("none", 0), ("3", 3)],
)
async def test_priority_names_and_numbers_become_linears_numbers(
    fake: FakeLinear, tracker: LinearTracker, name: str, number: int
) -> None:
    await tracker.create(draft(priority=name))
    assert fake.issue("ENG-1").priority == number


async def test_a_priority_linear_does_not_have_is_refused_before_anything_is_created(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    for name in ("P1", "7"):
        with pytest.raises(TrackerError) as refused:
            await tracker.create(draft(priority=name))
        assert not refused.value.transient
    assert fake.issues == [] and fake.calls_to("IssueCreate") == []


async def test_find_matches_the_marker_exactly(fake: FakeLinear, tracker: LinearTracker) -> None:
    item = await tracker.create(draft("INC-20261201-001-A7", title="Rotate keys"))
    assert await tracker.find(draft("INC-20261201-001")) is None
    incident = await tracker.create(draft("INC-20261201-001"))
    assert await tracker.find(draft("INC-20261201-001")) == incident
    assert await tracker.find(draft("INC-20261201-001-A7")) == item


async def test_find_ignores_a_marker_that_is_not_the_last_line(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    ticket = await tracker.create(draft("INC-20261201-002"))
    fake.issue(ticket.key).description = "incident-bot: INC-20261201-002\n\nEdited by a person."
    assert await tracker.find(draft("INC-20261201-002")) is None


async def test_find_looks_only_at_issues_created_after_the_draft(
    fake: FakeLinear, tracker: LinearTracker, clock: ManualClock
) -> None:
    await tracker.create(draft())
    assert await tracker.find(draft(created_after=START + timedelta(seconds=1))) is None
    assert await tracker.find(draft(created_after=START)) is not None


async def test_a_create_answered_500_after_the_work_is_found_by_find(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    for lost in ({"status": 500}, {"drop": True}):
        marker = f"INC-20261201-00{len(fake.issues) + 1}"
        fake.fail_after_success(operation="IssueCreate", **lost)  # type: ignore[arg-type]
        with pytest.raises(TrackerError) as failed:
            await tracker.create(draft(marker))
        assert failed.value.transient and failed.value.maybe_done
        found = await tracker.find(draft(marker))
        assert found is not None and fake.issue(found.remote_id).description is not None
    assert len(fake.issues) == 2


async def test_peoples_words_are_stored_inert(fake: FakeLinear, tracker: LinearTracker) -> None:
    words = (
        "# Not a heading @ada **bold** _em_ `code` <script>alert(1)</script>",
        "[click](https://evil.example) ![img](x.png) https://linear.app/acme/profiles/ada",
        "- not a list\n1. nor this\n> nor a quote | a | table |\n    not code &amp; ENG-12 :fire:",
    )
    await tracker.create(
        draft(body=TicketText(words, links=(("Slack channel", "https://acme.slack.com/x"),)))
    )
    stored = fake.issue("ENG-1").description
    assert stored is not None
    tokens = MarkdownIt("commonmark").parse(stored)
    blocks = {t.type for t in tokens}
    assert blocks == {"paragraph_open", "paragraph_close", "inline"}
    inline = [child for t in tokens if t.type == "inline" for child in t.children or []]
    links = [t.attrGet("href") for t in inline if t.type == "link_open"]
    assert links == ["https://acme.slack.com/x"]  # the bot's own link, and no other markup
    assert {t.type for t in inline} <= {
        "text",
        "text_special",
        "hardbreak",
        "link_open",
        "link_close",
    }
    rendered = MarkdownIt("commonmark").render(stored)
    assert "<script>" not in rendered and "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    first_paragraph = stored.split("\n\n")[0]
    shown = "".join(
        t.content for t in MarkdownIt("commonmark").parseInline(first_paragraph)[0].children or []
    )
    assert shown == words[0]
    people = "\n\n".join(stored.split("\n\n")[: len(words)])
    assert not re.search(r"[!-/:-@\[-`{-~]", re.sub(r"\\[\s\S]", "", people))  # all escaped


# --- fetch, priority, close, reopen, comment ---------------------------------------------------


async def test_fetch_reads_closed_from_the_state_type(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    ticket = await tracker.create(draft())
    for state, closed in (
        ("In Progress", False),
        ("Canceled", True),
        ("Done", True),
        ("Todo", False),
    ):
        fake.move(ticket.key, state)
        assert (await tracker.fetch(ticket)).closed is closed


async def test_set_priority_updates_the_issue_and_none_leaves_it(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    ticket = await tracker.create(draft(priority="low"))
    await tracker.set_priority(ticket, "high")
    await tracker.set_priority(ticket, "high")
    assert fake.issue(ticket.key).priority == 2
    await tracker.set_priority(ticket, None)
    assert len(fake.calls_to("IssueUpdate")) == 2


async def test_close_comments_then_moves_to_the_first_completed_state_once(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    fake.seed_team(
        "OPS",
        states=(("Backlog", "backlog"), ("Shipped", "completed"), ("Verified", "completed")),
    )
    ticket = await tracker.create(draft(project="OPS"))
    await tracker.close(ticket, TicketText(("Resolved by **rollback**",)))
    await tracker.close(ticket, TicketText(("Closed again",)))
    assert fake.issue(ticket.key).state.name == "Shipped"
    assert fake.comments_on(ticket.key) == ["Resolved by \\*\\*rollback\\*\\*", "Closed again"]
    assert len(fake.calls_to("IssueUpdate")) == 1
    assert (await tracker.fetch(ticket)).closed


async def test_reopen_moves_to_unstarted_else_backlog_and_an_open_issue_is_only_commented(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    fake.seed_team("SRE", states=(("Icebox", "backlog"), ("Done", "completed")))
    eng = await tracker.create(draft())
    sre = await tracker.create(draft("INC-20261201-009", project="SRE"))
    await tracker.reopen(eng, TicketText(("Still open",)))
    assert fake.issue(eng.key).state.name == "Backlog" and fake.calls_to("IssueUpdate") == []
    for ticket, reopened_in in ((eng, "Todo"), (sre, "Icebox")):
        await tracker.close(ticket, TicketText(("Fixed",)))
        await tracker.reopen(ticket, TicketText(("It came back",)))
        assert fake.issue(ticket.key).state.name == reopened_in
    assert fake.comments_on(sre.key) == ["Fixed", "It came back"]


async def test_a_comment_is_escaped_markdown_with_the_bots_links(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    ticket = await tracker.create(draft())
    await tracker.comment(
        ticket, TicketText(("cc @grace <b>now</b>",), links=(("Timeline", "https://x.test/t"),))
    )
    assert fake.comments_on(ticket.key) == [
        "cc \\@grace \\<b\\>now\\<\\/b\\>\n\n[Timeline](<https://x.test/t>)"
    ]


# --- failures ----------------------------------------------------------------------------------


async def test_a_5xx_is_transient_and_maybe_done_only_for_a_mutation(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    ticket = await tracker.create(draft())
    fake.fail_next(status=503, operation="Issue")
    with pytest.raises(TrackerError) as read:
        await tracker.fetch(ticket)
    fake.fail_next(status=502, operation="CommentCreate")
    with pytest.raises(TrackerError) as wrote:
        await tracker.comment(ticket, TicketText(("hello",)))
    assert (read.value.transient, read.value.maybe_done, read.value.status) == (True, False, 503)
    assert (wrote.value.transient, wrote.value.maybe_done) == (True, True)
    assert fake.comments_on(ticket.key) == []


async def test_a_dropped_connection_is_maybe_done_only_for_a_mutation(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    ticket = await tracker.create(draft())
    fake.drop_next(operation="Issue")
    with pytest.raises(TrackerError) as read:
        await tracker.fetch(ticket)
    fake.drop_next(operation="IssueUpdate")
    with pytest.raises(TrackerError) as wrote:
        await tracker.set_priority(ticket, "urgent")
    assert read.value.transient and not read.value.maybe_done
    assert wrote.value.transient and wrote.value.maybe_done


async def test_linears_rate_limit_is_transient_with_the_wait_its_reset_header_gives(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    fake.rate_limit_next(retry_after=42)
    with pytest.raises(TrackerError) as requests:
        await tracker.verify("ENG")
    fake.rate_limit_next(retry_after=90, budget="complexity")
    with pytest.raises(TrackerError) as complexity:
        await tracker.verify("ENG")
    fake.fail_next(status=429, retry_after=7)  # a proxy in front of Linear
    with pytest.raises(TrackerError) as proxy:
        await tracker.verify("ENG")
    assert requests.value.status == 400 and requests.value.transient
    assert requests.value.retry_after == pytest.approx(42, abs=0.01)
    assert complexity.value.retry_after == pytest.approx(90, abs=0.01)
    assert (proxy.value.transient, proxy.value.retry_after) == (True, 7)
    assert not any(e.value.maybe_done for e in (requests, complexity, proxy))


async def test_linear_down_is_transient_until_it_comes_back(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    fake.go_down()
    with pytest.raises(TrackerError) as down:
        await tracker.create(draft())
    fake.come_back()
    assert down.value.transient and fake.issues == []
    assert (await tracker.create(draft())).key == "ENG-1"


async def test_an_unreachable_linear_is_transient_and_not_done(clock: ManualClock) -> None:
    client = LinearTracker(KEY, "http://127.0.0.1:9/graphql", clock=clock)
    with pytest.raises(TrackerError) as failed:
        await client.create(draft())
    await client.aclose()
    assert failed.value.transient and not failed.value.maybe_done


async def test_an_unknown_team_is_refused_for_good(tracker: LinearTracker) -> None:
    with pytest.raises(TrackerError) as refused:
        await tracker.create(draft(project="NOPE"))
    assert not refused.value.transient and "NOPE" in refused.value.message


async def test_the_fake_refuses_what_linear_refuses_and_the_client_reads_it_as_for_good(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    """Straight through the client's request function, with operations the bot never sends."""
    team = fake.teams[0].id
    refusals = {
        "INVALID_INPUT": (
            gql.ISSUE_CREATE,
            {"input": {"teamId": team, "title": "x", "priority": 7}},
        ),
        "INPUT_ERROR": (gql.ISSUE, {"id": "5f0c0000-0000-4000-8000-000000000000"}),
        "GRAPHQL_VALIDATION_FAILED": ("query Nope { viewer { id nickname } }", {}),
    }
    odd_requests = {
        "an unknown argument": "query A { viewer(first: 1) { id } }",
        "a missing required argument": "query B { issue { id } }",
        "a wrong argument type": 'query C { teams(first: "ten") { nodes { id } } }',
        "an unknown input field": (
            'mutation D { issueCreate(input: {teamId: "x", estimate: 3}) { success } }'
        ),
        "a variable of the wrong type": "query E($id: Int!) { issue(id: $id) { id } }",
    }
    async with httpx.AsyncClient(headers={"Authorization": KEY}) as raw:
        for code, (document, variables) in refusals.items():
            with pytest.raises(TrackerError) as refused:
                await gql.request(raw, fake.api_url, document, variables, mutation=True, now=START)
            assert not refused.value.transient and not refused.value.maybe_done
            assert fake.calls[-1].body["errors"][0]["extensions"]["code"] == code
        for why, document in odd_requests.items():
            answer = await raw.post(fake.api_url, json={"query": document})
            assert answer.status_code == 400, why
            assert (
                answer.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
            ), why
    assert fake.issues == []


@pytest.mark.skipif(
    not os.environ.get("LINEAR_SCHEMA_FILE"),
    reason="set LINEAR_SCHEMA_FILE to Linear's packages/sdk/src/schema.graphql to compare",
)
def test_the_fakes_schema_is_a_subset_of_linears_published_schema() -> None:
    from graphql import build_schema

    from app.sandbox.trackers.linear_schema import SDL

    real = build_schema(Path(os.environ["LINEAR_SCHEMA_FILE"]).read_text())
    mine = build_schema(SDL)
    problems = []
    for name, kind in mine.type_map.items():
        theirs = real.type_map.get(name)
        if name.startswith("__") or theirs is None:
            problems += [] if name.startswith("__") else [f"{name} is not Linear's"]
            continue
        for field_name, item in getattr(kind, "fields", {}).items():
            other = theirs.fields.get(field_name)  # type: ignore[union-attr]
            if other is None or str(other.type) != str(item.type):
                problems.append(f"{name}.{field_name}")
                continue
            for arg, value in getattr(item, "args", {}).items():
                if arg not in other.args or str(other.args[arg].type) != str(value.type):
                    problems.append(f"{name}.{field_name}({arg})")
    assert problems == []


# --- webhooks ----------------------------------------------------------------------------------


async def test_read_webhook_takes_linears_signed_delivery(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    ticket = await tracker.create(draft())
    fake.move(ticket.key, "Done")
    headers, body = fake.webhook_for(ticket.remote_id, "update", SECRET, START)
    assert read_webhook(headers, body, SECRET, START + timedelta(seconds=30)) == [
        Ticket(key="ENG-1", url=ticket.url, remote_id=ticket.remote_id, closed=True)
    ]
    headers, body = fake.webhook_for(ticket.remote_id, "create", SECRET, START, with_state=False)
    [unknown] = read_webhook(headers, body, SECRET, START)
    assert unknown.extra["state"] == "unknown" and not unknown.closed


async def test_read_webhook_refuses_tampered_stale_unsigned_or_unverifiable_deliveries(
    fake: FakeLinear, tracker: LinearTracker
) -> None:
    ticket = await tracker.create(draft())
    headers, body = fake.webhook_for(ticket.remote_id, "update", SECRET, START)
    unsigned = {k: v for k, v in headers.items() if k != "Linear-Signature"}
    tampered = body.replace(b'"update"', b'"remove"')
    for bad_headers, bad_body, secret, now in (
        (headers, tampered, SECRET, START),
        (headers, body, "another secret", START),
        (unsigned, body, SECRET, START),
        (headers, body, SECRET, START + timedelta(seconds=61)),
        (headers, body, SECRET, START - timedelta(seconds=61)),
        (headers, body, None, START),
    ):
        with pytest.raises(ValueError):
            read_webhook(bad_headers, bad_body, secret, now)


def test_read_webhook_ignores_deliveries_about_other_things() -> None:
    body = json.dumps(
        {
            "action": "create",
            "type": "Comment",
            "data": {"id": "c1"},
            "webhookTimestamp": int(START.timestamp() * 1000),
        }
    ).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert read_webhook({"linear-signature": signature}, body, SECRET, START) == []
