"""JiraTracker against the fake Jira over real HTTP, as Jira Cloud (REST v3, ADF, Basic auth
with an API token) and as Jira Server/Data Center (REST v2, wiki markup, a PAT)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from app.config.tracker_settings import TrackerSettings
from app.domain.tickets import Ticket, TicketDraft, TicketText
from app.sandbox.trackers.jira import FakeJira, Transition
from app.trackers.base import TrackerError
from app.trackers.jira import JiraTracker, read_webhook

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
MARKER = "INC-20261201-001"
SECRET = "jira-webhook-secret"
CHANNEL = "https://acme.slack.com/archives/C0INCIDENT"
# Words that are markup somewhere: wiki emphasis, macros, links, mentions, images, tables,
# lists, headings, emoticons, entities, backslashes, Slack's and GitHub's pings.
EVIL = (
    "*bold* _em_ -strike- +ins+ ^sup^ ~sub~ ??cite?? {noformat}x{noformat} {{mono}} "
    "{code:java}y{code} [link|http://x] [~admin] [^file.txt] !image.png! |cell| @here #12 "
    "<script>alert(1)</script> C:\\temp\\\\new &#42; &amp; R&D :) ;-) (x) (on) (!) ---"
    "\nh1. not a heading\n# not a list\nbq. not a quote"
)


def fake_for(flavour: str) -> FakeJira:
    fake = FakeJira(flavour)
    fake.seed_project(
        "OPS",
        issue_types=["Task", "Incident"],
        priorities=["Highest", "High", "Medium", "Low"],
        components=["payments"],
        name="Operations",
    )
    fake.seed_user("ada@example.com", display_name="Ada Lovelace")
    return fake


def tracker_for(fake: FakeJira, *, token: str | None = None) -> JiraTracker:
    if fake.flavour == "cloud":
        return JiraTracker(fake.base_url, email=fake.email, api_token=token or fake.token)
    return JiraTracker(fake.base_url, pat=token or fake.pat)


def draft(**changes: Any) -> TicketDraft:
    base = TicketDraft(
        marker=MARKER,
        title="P1: checkout fails",
        body=TicketText(("Card payments fail for everyone.",), (("Slack channel", CHANNEL),)),
        project="OPS",
        created_after=NOW,
        issue_type="Incident",
        labels=("incident",),
        priority="High",
        team="payments",
        due=date(2026, 12, 8),
    )
    return replace(base, **changes)


def says(text: str) -> TicketText:
    return TicketText((text,))


@pytest_asyncio.fixture(loop_scope="session", params=["cloud", "server"])
async def jira(request: pytest.FixtureRequest) -> AsyncIterator[FakeJira]:
    fake = fake_for(request.param)
    await fake.start()
    yield fake
    await fake.stop()
    assert fake.violations == []


@pytest_asyncio.fixture(loop_scope="session")
async def tracker(jira: FakeJira) -> AsyncIterator[JiraTracker]:
    client = tracker_for(jira)
    yield client
    await client.aclose()


async def failure(call: Any) -> TrackerError:
    with pytest.raises(TrackerError) as caught:
        await call
    return caught.value


# --- the calls ------------------------------------------------------------------------------


async def test_create_opens_an_issue_with_the_drafts_fields_and_its_marker_as_a_label(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    ticket = await tracker.create(draft(labels=("incident", "needs review")))

    assert (ticket.key, ticket.remote_id) == ("OPS-1", "OPS-1")
    assert ticket.url == f"{jira.base_url}/browse/OPS-1"
    issue = jira.issues["OPS-1"]
    assert issue.summary == "P1: checkout fails"
    assert issue.issue_type == "Incident"
    assert issue.labels == ["incident", "needs-review", MARKER]  # no spaces in Jira labels
    assert (issue.priority, issue.components, issue.duedate) == ("High", ["payments"], "2026-12-08")
    assert issue.description_text == "Card payments fail for everyone.\n\nSlack channel"
    assert issue.description_read.links == [("Slack channel", CHANNEL)]


async def test_create_without_an_issue_type_opens_a_task_and_truncates_a_long_title(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    await tracker.create(draft(issue_type=None, title="Checkout\nfails " + "x" * 300))

    issue = jira.issues["OPS-1"]
    assert issue.issue_type == "Task"
    assert len(issue.summary) <= 255 and "\n" not in issue.summary
    assert issue.summary.startswith("Checkout fails xxx")


async def test_find_returns_the_ticket_with_exactly_the_marker(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    assert await tracker.find(draft()) is None
    await tracker.create(draft(marker=f"{MARKER}-A7"))  # an action item of the same incident
    assert await tracker.find(draft()) is None
    created = await tracker.create(draft())

    found = await tracker.find(draft())

    assert found == replace(created, closed=False)
    search = "POST /search/jql" if jira.flavour == "cloud" else "POST /search"
    assert 'labels = "INC-20261201-001"' in jira.requests_to(search)[-1].body["jql"]


async def test_fetch_says_closed_once_the_status_is_in_the_done_category(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    ticket = await tracker.create(draft())
    assert (await tracker.fetch(ticket)).closed is False

    jira.set_status(ticket.key, "Done")

    assert (await tracker.fetch(ticket)).closed is True


async def test_set_priority_edits_the_issue_and_none_leaves_it(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    ticket = await tracker.create(draft())

    await tracker.set_priority(ticket, "Highest")
    await tracker.set_priority(ticket, None)

    assert jira.issues[ticket.key].priority == "Highest"
    assert len(jira.requests_to("PUT /issue/{key}")) == 1


async def test_close_comments_then_transitions_to_done(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    ticket = await tracker.create(draft())

    await tracker.close(ticket, says("Resolved in Slack."))

    issue = jira.issues[ticket.key]
    assert issue.status == "Done"
    assert [c.read.plain for c in issue.comments] == ["Resolved in Slack."]


async def test_close_of_an_issue_already_done_only_comments(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    ticket = await tracker.create(draft())
    jira.set_status(ticket.key, "Done")

    await tracker.close(ticket, says("Resolved in Slack."))

    assert jira.attempts_to("POST /issue/{key}/transitions") == []
    assert len(jira.issues[ticket.key].comments) == 1


async def test_reopen_moves_a_done_issue_back_to_to_do(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    ticket = await tracker.create(draft())
    await tracker.close(ticket, says("Resolved."))

    await tracker.reopen(ticket, says("Reopened in Slack."))
    await tracker.reopen(ticket, says("Reopened in Slack."))  # idempotent

    issue = jira.issues[ticket.key]
    assert issue.history == [("To Do", "Done"), ("Done", "To Do")]
    assert [c.read.plain for c in issue.comments] == ["Resolved.", "Reopened in Slack."]


async def test_reopen_goes_to_a_status_in_progress_when_no_to_do_is_offered(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    jira.transitions = [
        Transition("31", "Done", "Done", ("To Do", "In Progress")),
        Transition("51", "Back to work", "In Progress", ("Done",)),
    ]
    ticket = await tracker.create(draft())
    await tracker.close(ticket, says("Resolved."))

    await tracker.reopen(ticket, says("Reopened."))

    assert jira.issues[ticket.key].status == "In Progress"


async def test_a_workflow_without_a_way_to_done_is_a_refusal_naming_the_statuses(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    jira.transitions = [Transition("11", "Start Progress", "In Progress", ("To Do",))]
    ticket = await tracker.create(draft())

    error = await failure(tracker.close(ticket, says("Resolved.")))

    assert error.transient is False
    assert "In Progress" in error.message and "To Do" in error.message
    assert jira.issues[ticket.key].comments == []  # nothing said when it cannot be done


async def test_comment_adds_one_comment(jira: FakeJira, tracker: JiraTracker) -> None:
    ticket = await tracker.create(draft())

    await tracker.comment(ticket, TicketText(("Severity raised to P0.",)))

    assert [c.read.plain for c in jira.issues[ticket.key].comments] == ["Severity raised to P0."]


async def test_verify_names_the_account_the_site_and_the_project(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    host = jira.base_url.removeprefix("http://")

    assert await tracker.verify(None) == f"Incident Bot on {host}"
    assert await tracker.verify("OPS") == f"Incident Bot on {host}, project OPS (Operations)"
    missing = await failure(tracker.verify("NOPE"))
    assert (missing.transient, missing.status) == (False, 404)
    assert "No project could be found with key 'NOPE'" in missing.message


async def test_the_assignee_is_found_by_e_mail(jira: FakeJira, tracker: JiraTracker) -> None:
    ada = jira.state.users[0]

    await tracker.create(draft(assignee_email="ADA@example.com"))
    await tracker.create(draft(marker="INC-2", assignee_email="nobody@example.com"))

    expected = ada.account_id if jira.flavour == "cloud" else ada.name
    assert jira.issues["OPS-1"].assignee == expected
    assert jira.issues["OPS-2"].assignee is None  # an unknown address: left unassigned


async def test_on_cloud_a_single_match_with_a_hidden_address_is_the_assignee() -> None:
    fake = FakeJira("cloud")
    fake.seed_project("OPS")
    grace = fake.seed_user("grace@example.com", email_visible=False)
    await fake.start()
    tracker = tracker_for(fake)
    try:
        await tracker.create(draft(issue_type="Task", team=None, assignee_email=grace.email))
    finally:
        await tracker.aclose()
        await fake.stop()

    assert fake.issues["OPS-1"].assignee == grace.account_id


# --- people's words -------------------------------------------------------------------------


async def test_peoples_words_stay_plain_text_in_summary_description_and_comments(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    body = TicketText(
        (EVIL, "line one\nline two"),
        (("Slack | channel]", CHANNEL), ("Runbook", "javascript:alert(1)")),
    )
    ticket = await tracker.create(draft(title=EVIL, body=body))
    await tracker.comment(ticket, TicketText((EVIL,)))

    issue = jira.issues[ticket.key]
    flat = " ".join(EVIL.split())  # one line, cut at Jira's 255 characters
    assert issue.summary == flat[:254] + "…"
    read = issue.description_read
    assert read.markup == []
    assert read.plain == (
        f"{EVIL}\n\nline one\nline two\n\nSlack | channel]\n\nRunbook: javascript:alert(1)"
    )
    assert read.links == [("Slack | channel]", CHANNEL)]  # the bot's link, and only it
    comment = issue.comments[0].read
    assert (comment.plain, comment.markup, comment.links) == (EVIL, [], [])


# --- what the fake refuses, as Jira does -----------------------------------------------------


async def raw(fake: FakeJira, method: str, path: str, body: Any = None) -> httpx.Response:
    version = 3 if fake.flavour == "cloud" else 2
    auth: Any = (fake.email, fake.token) if fake.flavour == "cloud" else None
    headers = {} if auth else {"Authorization": f"Bearer {fake.pat}"}
    async with httpx.AsyncClient(base_url=fake.base_url, auth=auth, headers=headers) as client:
        return await client.request(method, f"/rest/api/{version}{path}", json=body)


def fields(fake: FakeJira, **changes: Any) -> dict[str, Any]:
    adf = {"type": "doc", "version": 1, "content": []}
    base = {
        "project": {"key": "OPS"},
        "summary": "ok",
        "issuetype": {"name": "Task"},
        "description": adf if fake.flavour == "cloud" else "plain",
    }
    return {"fields": {**base, **changes}}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"project": {"key": "NOPE"}}, "project"),
        ({"issuetype": {"name": "Epic"}}, "issuetype"),
        ({"priority": {"name": "Urgent"}}, "priority"),
        ({"components": [{"name": "web"}]}, "components"),
        ({"labels": ["two words"]}, "labels"),
        ({"summary": "x" * 256}, "summary"),
        ({"summary": "two\nlines"}, "summary"),
        ({"duedate": "next week"}, "duedate"),
        ({"customfield_10001": "x"}, "customfield_10001"),
    ],
)
async def test_the_fake_refuses_what_jira_refuses_on_create(
    jira: FakeJira, changes: dict[str, Any], field: str
) -> None:
    answer = await raw(jira, "POST", "/issue", fields(jira, **changes))

    assert answer.status_code == 400
    assert field in answer.json()["errors"]
    assert jira.issues == {}


async def test_the_fake_takes_only_its_flavours_text_format(jira: FakeJira) -> None:
    wrong: Any = "plain" if jira.flavour == "cloud" else {"type": "doc", "version": 1}

    answer = await raw(jira, "POST", "/issue", fields(jira, description=wrong))

    expected = "Atlassian Document" if jira.flavour == "cloud" else "must be a string"
    assert answer.status_code == 400
    assert expected in answer.json()["errors"]["description"]


async def test_a_refused_create_is_a_refusal_with_jiras_reason(tracker: JiraTracker) -> None:
    error = await failure(tracker.create(draft(priority="Urgent")))

    assert (error.transient, error.maybe_done, error.status) == (False, False, 400)
    assert "priority: Priority name 'Urgent' is not valid" in error.message


# --- failures -------------------------------------------------------------------------------


async def test_a_5xx_is_transient_and_maybe_done_for_a_write(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    jira.fail_next(502, route="POST /issue")

    error = await failure(tracker.create(draft()))

    assert (error.transient, error.maybe_done, error.status) == (True, True, 502)


async def test_a_create_done_but_answered_500_is_found_before_it_is_redone(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    jira.fail_after_success(500, route="POST /issue")
    error = await failure(tracker.create(draft()))
    assert error.maybe_done is True

    found = await tracker.find(draft())

    assert found is not None and found.key == "OPS-1"
    assert len(jira.issues) == 1


async def test_a_dropped_connection_after_the_work_is_maybe_done(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    jira.fail_after_success(drop=True, route="POST /issue")

    error = await failure(tracker.create(draft()))

    assert (error.transient, error.maybe_done) == (True, True)
    assert list(jira.issues) == ["OPS-1"]


async def test_a_429_is_transient_with_retry_after_and_not_done(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    jira.rate_limit_next(retry_after=7)

    error = await failure(tracker.create(draft()))

    assert (error.transient, error.retry_after, error.maybe_done) == (True, 7.0, False)
    assert jira.issues == {}


async def test_bad_credentials_are_a_refusal_that_names_the_setting(jira: FakeJira) -> None:
    tracker = tracker_for(jira, token="wrong")
    try:
        error = await failure(tracker.verify("OPS"))
    finally:
        await tracker.aclose()

    assert (error.transient, error.status) == (False, 401)
    setting = "JIRA_API_TOKEN" if jira.flavour == "cloud" else "JIRA_PAT"
    assert setting in error.message


async def test_connection_refused_is_transient_and_not_done(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    await jira.go_down()
    error = await failure(tracker.create(draft()))
    await jira.come_up()

    assert (error.transient, error.maybe_done) == (True, False)
    assert (await tracker.create(draft())).key == "OPS-1"


async def test_a_site_answering_503_while_down_is_transient(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    ticket = await tracker.create(draft())
    await jira.go_down(503)

    error = await failure(tracker.fetch(ticket))
    await jira.come_up()

    assert (error.transient, error.maybe_done, error.status) == (True, False, 503)


async def test_an_unknown_issue_is_a_refusal(tracker: JiraTracker) -> None:
    error = await failure(tracker.fetch(Ticket("OPS-999", "", "OPS-999")))

    assert (error.transient, error.status) == (False, 404)


@pytest.mark.parametrize("lost", ["POST /issue/{key}/transitions", "POST /issue/{key}/comment"])
async def test_a_close_done_but_answered_500_and_retried_is_not_doubled(
    jira: FakeJira, tracker: JiraTracker, lost: str
) -> None:
    ticket = await tracker.create(draft())
    jira.fail_after_success(500, route=lost)
    error = await failure(tracker.close(ticket, says("Resolved in Slack.")))
    assert error.maybe_done is True

    await tracker.close(ticket, says("Resolved in Slack."))

    issue = jira.issues[ticket.key]
    assert issue.history == [("To Do", "Done")]
    assert [c.read.plain for c in issue.comments] == ["Resolved in Slack."]


# --- webhooks and settings ------------------------------------------------------------------


async def test_read_webhook_takes_the_fakes_signed_delivery(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    ticket = await tracker.create(draft())
    jira.set_status(ticket.key, "Done")
    headers, body = jira.webhook_for(ticket.key, SECRET, at=NOW)

    tickets = read_webhook(headers, body, SECRET, NOW)

    assert tickets == [replace(ticket, closed=True)]
    assert tickets[0].url == ticket.url


async def test_read_webhook_refuses_a_tampered_or_unsigned_delivery(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    ticket = await tracker.create(draft())
    headers, body = jira.webhook_for(ticket.key, SECRET, at=NOW)
    tampered = body.replace(b'"To Do"', b'"Done"')
    unsigned = {k: v for k, v in headers.items() if k != "X-Hub-Signature"}

    with pytest.raises(ValueError, match="does not match"):
        read_webhook(headers, tampered, SECRET, NOW)
    with pytest.raises(ValueError, match="does not match"):
        read_webhook(headers, body, "another secret", NOW)
    with pytest.raises(ValueError, match="no X-Hub-Signature"):
        read_webhook(unsigned, body, SECRET, NOW)
    with pytest.raises(ValueError, match="JIRA_WEBHOOK_SECRET"):
        read_webhook(headers, body, None, NOW)


async def test_read_webhook_ignores_other_events_and_replays(
    jira: FakeJira, tracker: JiraTracker
) -> None:
    ticket = await tracker.create(draft())
    other = jira.webhook_for(ticket.key, SECRET, event="comment_created", at=NOW)
    old = jira.webhook_for(ticket.key, SECRET, at=NOW - timedelta(days=2))

    assert read_webhook(*other, SECRET, NOW) == []
    assert read_webhook(*old, SECRET, NOW) == []


def settings(**values: str) -> TrackerSettings:
    return TrackerSettings(
        jira_url=values.get("jira_url"),
        jira_email=values.get("jira_email"),
        jira_api_token=values.get("jira_api_token"),
        jira_pat=values.get("jira_pat"),
    )


async def test_from_settings_picks_the_flavour_and_a_pat_wins() -> None:
    url = "https://acme.atlassian.net"
    cloud = JiraTracker.from_settings(
        settings(jira_url=url, jira_email="bot@acme.com", jira_api_token="t")
    )
    server = JiraTracker.from_settings(
        settings(jira_url=url, jira_email="bot@acme.com", jira_api_token="t", jira_pat="p")
    )

    assert cloud is not None and cloud.flavour == "cloud"
    assert server is not None and server.flavour == "server"
    assert JiraTracker.from_settings(settings(jira_url=url, jira_email="bot@acme.com")) is None
    assert JiraTracker.from_settings(settings(jira_pat="p")) is None
    await cloud.aclose()
    await server.aclose()
