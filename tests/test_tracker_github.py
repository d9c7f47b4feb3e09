"""GitHub Issues over real HTTP against the fake GitHub (app/sandbox/trackers/github.py): issues
opened, found again by their marker, re-prioritised, closed and reopened; people's words kept
inert; every failure GitHub answers turned into the right TrackerError; App auth; webhooks."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from app.clock import ManualClock
from app.config.tracker_settings import TrackerSettings
from app.domain.tickets import Ticket, TicketDraft, TicketText
from app.sandbox.trackers.github import FakeGitHub
from app.trackers.base import TrackerError
from app.trackers.github import GitHubTracker, read_webhook
from app.trackers.github_auth import TokenAuth

TOKEN = "ghp_test_token"
REPO = "acme/api"
SECRET = "webhook-secret"


@pytest_asyncio.fixture
async def github(clock: ManualClock) -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub(token=TOKEN, login="incident-bot", now=clock.now)
    fake.seed_user("octocat", email="octocat@example.com")
    fake.seed_user("outsider", email="outsider@example.com")
    fake.seed_repo(REPO, collaborators=["octocat"])
    await fake.start()
    yield fake
    await fake.stop()
    assert fake.violations == []


@pytest_asyncio.fixture
async def tracker(github: FakeGitHub, clock: ManualClock) -> AsyncIterator[GitHubTracker]:
    client = GitHubTracker(TokenAuth(TOKEN), api_url=github.base_url, clock=clock)
    yield client
    await client.aclose()


def draft(clock: ManualClock, marker: str = "INC-20261201-001", **fields: object) -> TicketDraft:
    values: dict[str, object] = {
        "marker": marker,
        "title": "P1: payments are failing",
        "body": TicketText(("Checkout returns 500s.",), (("Slack channel", "https://x/C1"),)),
        "project": REPO,
        "created_after": clock.now() - timedelta(seconds=1),
        "labels": ("incident",),
        "priority": "priority: high",
        "team": "team-payments",
    }
    values.update(fields)
    return TicketDraft(**values)  # type: ignore[arg-type]


# --- create, find, fetch ---------------------------------------------------------------------


async def test_create_opens_an_issue_keyed_owner_repo_number_with_labels_and_marker(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    ticket = await tracker.create(draft(clock))

    assert (ticket.key, ticket.remote_id) == ("acme/api#1", "acme/api#1")
    assert ticket.url == "https://github.com/acme/api/issues/1"
    issue = github.issue(REPO, 1)
    assert issue.user.login == "incident-bot"
    assert issue.label_names == ["incident", "priority: high", "team-payments"]
    assert issue.body is not None
    assert issue.body.splitlines()[-1] == "<!-- incident-bot:marker=INC-20261201-001 -->"
    assert "[Slack channel](https://x/C1)" in issue.body


async def test_create_makes_labels_the_repository_does_not_have_yet(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    await tracker.create(draft(clock, labels=("incident", "sev-new")))

    assert {"incident", "sev-new", "priority: high", "team-payments"} <= set(
        github.repo(REPO).labels
    )


async def test_create_assigns_the_one_user_whose_email_matches(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    await tracker.create(draft(clock, assignee_email="octocat@example.com"))

    issue = github.issue(REPO, 1)
    assert [user.login for user in issue.assignees] == ["octocat"]
    assert "Owner:" not in (issue.body or "")


async def test_an_owner_github_cannot_assign_and_the_due_date_go_in_the_body(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    # "outsider" exists but is no collaborator: assigning would be a 422, so it is not tried.
    await tracker.create(draft(clock, assignee_email="outsider@example.com", due=date(2026, 12, 5)))
    await tracker.create(draft(clock, "INC-2", assignee_email="nobody@example.com"))

    first, second = github.issues(REPO)
    assert first.assignees == [] and second.assignees == []
    assert "Owner: outsider@\u200dexample\\.com" in (first.body or "")
    assert "Due: 2026-12-05" in (first.body or "")
    assert "Owner: nobody@\u200dexample\\.com" in (second.body or "")
    assert github.calls_to("issues/create")[0].body.get("assignees") is None


async def test_a_long_title_is_cut_to_githubs_256_characters(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    await tracker.create(draft(clock, title="x" * 400))

    title = github.issue(REPO, 1).title
    assert len(title) == 256 and title.endswith("…")


async def test_find_matches_the_marker_line_exactly(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    item = await tracker.create(draft(clock, "INC-20261201-001-A7"))
    incident = await tracker.create(draft(clock, "INC-20261201-001"))

    assert await tracker.find(draft(clock, "INC-20261201-001")) == incident
    assert await tracker.find(draft(clock, "INC-20261201-001-A7")) == item
    assert await tracker.find(draft(clock, "INC-20261201-001-A")) is None


async def test_find_skips_pull_requests_and_issues_opened_by_others(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    marker_line = "text\n<!-- incident-bot:marker=INC-9 -->"
    github.seed_issue(REPO, "a pull request", marker_line, pull_request=True)
    github.seed_issue(REPO, "someone's copy", marker_line, user="octocat")

    assert await tracker.find(draft(clock, "INC-9")) is None
    # The fake lists the bot's pull request with its issues, as GitHub does.
    listed = github.calls_to("issues/list-for-repo")[0]
    assert listed.query["creator"] == "incident-bot" and listed.query["state"] == "all"


async def test_find_sees_a_closed_issue_and_a_body_edited_in_the_browser(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    github.seed_issue(REPO, "t", "edited\r\n<!-- incident-bot:marker=INC-5 -->\r\n", state="closed")

    found = await tracker.find(draft(clock, "INC-5"))

    assert found is not None and found.closed and found.key == "acme/api#1"


async def test_find_asks_only_for_issues_updated_since_the_draft(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    github.seed_issue(REPO, "old", "<!-- incident-bot:marker=INC-5 -->")
    clock.advance(timedelta(hours=2))

    assert await tracker.find(draft(clock, "INC-5")) is None


async def test_find_follows_the_link_header_to_the_next_page(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    wanted = github.seed_issue(REPO, "t", "<!-- incident-bot:marker=INC-7 -->")
    for n in range(120):
        github.seed_issue(REPO, f"other {n}", f"<!-- incident-bot:marker=INC-X{n} -->")

    found = await tracker.find(draft(clock, "INC-7"))

    assert found is not None and found.key == f"acme/api#{wanted.number}"
    assert len(github.calls_to("issues/list-for-repo")) == 2


async def test_fetch_reports_whether_the_issue_is_closed(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    ticket = await tracker.create(draft(clock))
    assert (await tracker.fetch(ticket)).closed is False

    github.issue(REPO, 1).state = "closed"

    assert (await tracker.fetch(ticket)).closed is True


# --- priority, close, reopen, comment -------------------------------------------------------


async def test_set_priority_replaces_the_old_priority_label_and_keeps_the_others(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    ticket = await tracker.create(draft(clock))

    await tracker.set_priority(ticket, "priority: critical")
    writes = len(github.calls_to("issues/remove-label") + github.calls_to("issues/add-labels"))
    await tracker.set_priority(ticket, "priority: critical")

    labels = github.issue(REPO, 1).label_names
    assert sorted(labels) == ["incident", "priority: critical", "team-payments"]
    assert writes == 2
    again = len(github.calls_to("issues/remove-label") + github.calls_to("issues/add-labels"))
    assert again == writes  # idempotent: nothing left to change


async def test_set_priority_replaces_a_policy_label_of_the_same_form(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    ticket = await tracker.create(draft(clock, priority="P2", labels=("incident", "v2")))

    await tracker.set_priority(ticket, "P1")
    await tracker.set_priority(ticket, None)

    assert sorted(github.issue(REPO, 1).label_names) == ["P1", "incident", "team-payments", "v2"]


async def test_close_comments_then_closes_as_completed_and_twice_only_comments(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    ticket = await tracker.create(draft(clock))

    await tracker.close(ticket, TicketText(("Resolved.",)))
    await tracker.close(ticket, TicketText(("Resolved again.",)))

    issue = github.issue(REPO, 1)
    assert (issue.state, issue.state_reason) == ("closed", "completed")
    assert [c.body for c in issue.comments] == ["Resolved\\.", "Resolved again\\."]
    assert len(github.calls_to("issues/update")) == 1


async def test_close_leaves_a_humans_not_planned_alone(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    ticket = await tracker.create(draft(clock))
    issue = github.issue(REPO, 1)
    issue.state, issue.state_reason = "closed", "not_planned"

    await tracker.close(ticket, TicketText(("Resolved.",)))

    assert issue.state_reason == "not_planned" and len(issue.comments) == 1


async def test_reopen_comments_then_reopens(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    ticket = await tracker.create(draft(clock))
    await tracker.close(ticket, TicketText(("Resolved.",)))

    await tracker.reopen(ticket, TicketText(("Reopened: errors are back.",)))
    await tracker.reopen(ticket, TicketText(("Still open.",)))

    issue = github.issue(REPO, 1)
    assert (issue.state, issue.state_reason) == ("open", "reopened")
    assert len(issue.comments) == 3 and len(github.calls_to("issues/update")) == 2


async def test_comment_adds_one_comment_and_an_empty_text_adds_none(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    ticket = await tracker.create(draft(clock))

    await tracker.comment(ticket, TicketText(("Status: mitigated",)))
    await tracker.comment(ticket, TicketText())

    assert [c.body for c in github.issue(REPO, 1).comments] == ["Status\\: mitigated"]


# --- verify ----------------------------------------------------------------------------------


async def test_verify_names_the_bot_and_the_repository(
    github: FakeGitHub, tracker: GitHubTracker
) -> None:
    assert await tracker.verify(REPO) == "incident-bot on acme/api"
    assert await tracker.verify(None) == "incident-bot on 127.0.0.1"


async def test_verify_says_labels_are_dropped_without_push_access(
    github: FakeGitHub, tracker: GitHubTracker
) -> None:
    github.seed_repo("acme/web", bot_can_push=False)

    assert "no push access" in await tracker.verify("acme/web")


@pytest.mark.parametrize(
    ("seed", "status"),
    [({"has_issues": False}, None), ({"accessible": False}, 404)],
    ids=["issues-turned-off", "repository-out-of-reach"],
)
async def test_verify_refuses_a_repository_the_bot_cannot_use(
    github: FakeGitHub, tracker: GitHubTracker, seed: dict[str, Any], status: int | None
) -> None:
    github.seed_repo("acme/old", **seed)

    with pytest.raises(TrackerError) as caught:
        await tracker.verify("acme/old")

    assert caught.value.transient is False and caught.value.status == status


# --- escaping --------------------------------------------------------------------------------

HOSTILE = (
    "# Heading *bold* _em_ `code` ~~gone~~ [link](https://evil.example) ![img](x.png)",
    "@here @octocat @acme/oncall see #1 and acme/api#1 and GH-1, mail me@x.org",
    "<script>alert(1)</script> &amp; <b>x</b> | a | b |\n    indented code\n> quote\n- item"
    "\n1. one",
    "$x^2$ :smile: \\*not bold\\* ---",
)


async def test_peoples_words_arrive_inert(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    markdown_it = pytest.importorskip("markdown_it")
    links = (("Runbook (v2)", "https://wiki.example/run book(2)"), ("bad", "javascript:alert(1)"))
    await tracker.create(
        draft(clock, title="@octocat #1 <b>down</b>", body=TicketText(HOSTILE, links))
    )

    issue = github.issue(REPO, 1)
    body = issue.body or ""
    for live in ("@here", "@octocat", "@acme", "#1", "GH-1", "me@x"):  # would ping or link
        assert live not in body and live not in issue.title
    assert "\\<script\\>" in body  # shown as typed; GitHub shows titles as plain text
    rendered = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(body)
    tags = set(re.findall(r"<([a-z0-9]+)", rendered))
    assert tags <= {"p", "br", "ul", "li", "a"}  # no heading, emphasis, code, quote, HTML
    assert re.findall(r'<a href="([^"]+)"', rendered) == ["https://wiki.example/run%20book%282%29"]
    text = html.unescape(re.sub(r"<[^>]+>", " ", rendered)).replace("\u200d", "")
    for paragraph in HOSTILE:
        for line in paragraph.split("\n"):
            assert line.strip() in text
    assert "javascript:alert(1)" in text  # shown as text, not a link


# --- failures --------------------------------------------------------------------------------


async def test_a_5xx_on_create_may_have_been_done_and_on_a_read_not(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    github.fail_next("issues/create", status=502)
    with pytest.raises(TrackerError) as on_create:
        await tracker.create(draft(clock))
    github.fail_next("issues/list-for-repo", status=503)
    with pytest.raises(TrackerError) as on_find:
        await tracker.find(draft(clock))

    assert (on_create.value.transient, on_create.value.maybe_done) == (True, True)
    assert (on_find.value.transient, on_find.value.maybe_done) == (True, False)
    assert github.issues(REPO) == []
    assert len(github.calls_to("issues/create")) == 1  # no retry inside: the step retries


@pytest.mark.parametrize("status", [403, 429])
async def test_the_primary_rate_limit_says_to_wait_until_the_reset(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock, status: int
) -> None:
    await tracker.verify(REPO)  # the login is known; the window is open
    reset = github.exhaust_rate_limit("core", status=status)
    clock.advance(timedelta(minutes=10))

    with pytest.raises(TrackerError) as caught:
        await tracker.create(draft(clock))

    assert caught.value.transient is True and caught.value.status == status
    assert caught.value.retry_after == pytest.approx(reset - clock.now().timestamp())
    clock.set(clock.now() + timedelta(hours=1))  # past the reset: calls are welcome again
    assert (await tracker.create(draft(clock))).key == "acme/api#1"


@pytest.mark.parametrize("status", [403, 429])
async def test_a_secondary_rate_limit_says_to_wait_its_retry_after(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock, status: int
) -> None:
    github.secondary_rate_limit_next("issues/create", retry_after=90, status=status)

    with pytest.raises(TrackerError) as caught:
        await tracker.create(draft(clock))

    assert (caught.value.transient, caught.value.retry_after) == (True, 90.0)
    assert caught.value.maybe_done is False
    clock.advance(timedelta(seconds=90))
    await tracker.create(draft(clock))


async def test_a_429_with_retry_after_is_transient(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    github.rate_limit_next("issues/create", retry_after=7)

    with pytest.raises(TrackerError) as caught:
        await tracker.create(draft(clock))

    assert (caught.value.transient, caught.value.retry_after) == (True, 7.0)
    clock.advance(timedelta(seconds=7))


async def test_bad_credentials_and_a_missing_permission_are_refusals_for_good(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    wrong = GitHubTracker(TokenAuth("ghp_wrong"), api_url=github.base_url, clock=clock)
    with pytest.raises(TrackerError) as unauthorized:
        await wrong.verify(REPO)
    await wrong.aclose()
    github.issues_permission = "read"
    with pytest.raises(TrackerError) as forbidden:
        await tracker.create(draft(clock))

    assert (unauthorized.value.status, unauthorized.value.transient) == (401, False)
    assert "Bad credentials" in unauthorized.value.message
    assert (forbidden.value.status, forbidden.value.transient) == (403, False)


async def test_issues_turned_off_is_a_refusal_for_good(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    github.seed_repo("acme/docs", has_issues=False)

    with pytest.raises(TrackerError) as caught:
        await tracker.create(draft(clock, project="acme/docs"))

    assert (caught.value.status, caught.value.transient) == (410, False)


async def test_a_dropped_connection_is_transient_and_maybe_done_only_for_writes(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    ticket = await tracker.create(draft(clock))
    github.drop_next("issues/create-comment")
    with pytest.raises(TrackerError) as on_comment:
        await tracker.comment(ticket, TicketText(("x",)))
    github.drop_next("issues/get")
    with pytest.raises(TrackerError) as on_fetch:
        await tracker.fetch(ticket)

    assert (on_comment.value.transient, on_comment.value.maybe_done) == (True, True)
    assert (on_fetch.value.transient, on_fetch.value.maybe_done) == (True, False)


async def test_github_down_is_transient_until_it_is_back(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    github.go_down(seconds=60)
    with pytest.raises(TrackerError) as caught:
        await tracker.verify(REPO)
    clock.advance(timedelta(seconds=61))

    assert caught.value.transient is True and caught.value.status == 503
    assert await tracker.verify(REPO) == "incident-bot on acme/api"


@pytest.mark.parametrize("drop", [False, True], ids=["answered-500", "connection-dropped"])
async def test_a_create_whose_answer_was_lost_is_found_so_no_second_issue_opens(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock, drop: bool
) -> None:
    github.fail_after_success("issues/create", drop=drop)
    with pytest.raises(TrackerError) as caught:
        await tracker.create(draft(clock))
    assert caught.value.maybe_done is True

    found = await tracker.find(draft(clock))

    assert found is not None and found.key == "acme/api#1"
    assert len(github.issues(REPO)) == 1


async def test_the_fake_refuses_what_github_refuses(github: FakeGitHub) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "User-Agent": "test"}
    async with httpx.AsyncClient(base_url=github.base_url, headers=headers) as client:
        untitled = await client.post(f"/repos/{REPO}/issues", json={"body": "x"})
        too_long = await client.post(f"/repos/{REPO}/issues", json={"title": "x" * 257})
        outsider = await client.post(
            f"/repos/{REPO}/issues", json={"title": "t", "assignees": ["outsider"]}
        )
        bad_state = await client.get(f"/repos/{REPO}/issues", params={"state": "shut"})
        anonymous = await client.get("/user", headers={"Authorization": ""})

    assert untitled.status_code == 422 and "title" in untitled.json()["message"]
    assert too_long.json()["errors"][0]["field"] == "title"
    assert outsider.json()["errors"] == [
        {"value": "outsider", "resource": "Issue", "field": "assignees", "code": "invalid"}
    ]
    assert bad_state.status_code == 422 and anonymous.status_code == 401
    assert anonymous.json()["message"] == "Requires authentication"
    assert github.issues(REPO) == []
    assert github.violations == ['issues/create: Invalid request.\n\n"title" wasn\'t supplied.']
    github.violations.clear()


# --- GitHub App ------------------------------------------------------------------------------


def app_keys() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


@pytest_asyncio.fixture
async def app_github(
    clock: ManualClock, tmp_path: Path
) -> AsyncIterator[tuple[FakeGitHub, GitHubTracker]]:
    pytest.importorskip("jwt")
    private, public = app_keys()
    fake = FakeGitHub(
        token="", now=clock.now, app_id="123", app_public_key=public, installation_id="456"
    )
    fake.seed_repo(REPO)
    await fake.start()
    key_file = tmp_path / "app.pem"
    key_file.write_text(private)
    settings = TrackerSettings(
        github_app_id="123",
        github_app_private_key_file=key_file,
        github_app_installation_id="456",
        github_api_url=fake.base_url,
        github_token=None,
    )
    client = GitHubTracker.from_settings(settings, clock=clock)
    assert client is not None
    yield fake, client
    await client.aclose()
    await fake.stop()
    assert fake.violations == []


async def test_an_app_opens_issues_as_its_bot_with_one_installation_token_an_hour(
    app_github: tuple[FakeGitHub, GitHubTracker], clock: ManualClock
) -> None:
    fake, client = app_github

    first = await client.create(draft(clock))
    await client.comment(first, TicketText(("one",)))
    clock.advance(timedelta(minutes=56))  # within 5 minutes of the hour: a fresh token
    await client.comment(first, TicketText(("two",)))

    assert fake.issue(REPO, 1).user.login == "incident-bot[bot]"
    assert len(fake.calls_to("apps/create-installation-access-token")) == 2
    assert await client.find(draft(clock)) == Ticket("acme/api#1", first.url, "acme/api#1")


async def test_an_app_verifies_as_its_bot(app_github: tuple[FakeGitHub, GitHubTracker]) -> None:
    _, client = app_github

    assert await client.verify(REPO) == "incident-bot[bot] on acme/api"
    assert await client.verify(None) == "incident-bot[bot] on 1 repository of 127.0.0.1"


async def test_a_revoked_installation_token_is_a_transient_401_then_replaced(
    app_github: tuple[FakeGitHub, GitHubTracker], clock: ManualClock
) -> None:
    fake, client = app_github
    ticket = await client.create(draft(clock))
    fake.world.tokens.clear()  # revoked on GitHub's side

    with pytest.raises(TrackerError) as caught:
        await client.fetch(ticket)

    assert (caught.value.status, caught.value.transient) == (401, True)
    assert (await client.fetch(ticket)).key == ticket.key


def test_from_settings_is_none_without_credentials_and_a_token_tracker_with_one() -> None:
    assert GitHubTracker.from_settings(TrackerSettings(github_token=None)) is None
    tracker = GitHubTracker.from_settings(TrackerSettings(github_token="ghp_x"))
    assert tracker is not None and tracker.name == "github" and tracker.title == "GitHub"


# --- webhooks --------------------------------------------------------------------------------


async def test_read_webhook_takes_a_signed_issues_delivery(
    github: FakeGitHub, tracker: GitHubTracker, clock: ManualClock
) -> None:
    ticket = await tracker.create(draft(clock))
    await tracker.close(ticket, TicketText(("done",)))
    headers, body = github.webhook_for(github.issue(REPO, 1), "closed", SECRET)

    tickets = read_webhook(headers, body, SECRET, clock.now())

    assert [(t.key, t.remote_id, t.url, t.closed) for t in tickets] == [
        ("acme/api#1", "acme/api#1", ticket.url, True)
    ]
    assert read_webhook(*github.ping_webhook(SECRET), SECRET, clock.now()) == []


async def test_read_webhook_refuses_a_tampered_unsigned_or_unverifiable_delivery(
    github: FakeGitHub, clock: ManualClock
) -> None:
    issue = github.seed_issue(REPO, "t")
    headers, body = github.webhook_for(issue, "reopened", SECRET)
    unsigned = {k: v for k, v in headers.items() if k != "X-Hub-Signature-256"}

    refused: list[tuple[dict[str, str], bytes, str | None]] = [
        (headers, body.replace(b'"open"', b'"closed"'), SECRET),
        (headers, body, "another-secret"),
        (unsigned, body, SECRET),
        (headers, body, None),
    ]
    for sent_headers, sent_body, secret in refused:
        with pytest.raises(ValueError):
            read_webhook(sent_headers, sent_body, secret, clock.now())
