"""Tickets as people see them in Slack and in the documents: the pinned summary links the
incident's ticket (and says it is being opened while the tracker is away), each action item's
line links its own, `/incident ticket` opens one on demand and answers with its link, and the
incident log and post-mortem carry the links.

The real app runs against the fake Slack; the tracker is `RecordingTracker` below, a test
double of the `Tracker` protocol only (the real trackers are tested over HTTP against their
fakes in their own tests), so what the Slack side shows can be checked against what the
tracker was asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.clock import ManualClock
from app.context import BotContext
from app.domain.documents import ActionItem, IncidentRecord, TicketLink, render_incident_log
from app.domain.tickets import Ticket, TicketDraft, TicketText
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from app.services.documents import record_by_public_id, render
from app.services.engine import run_due_steps
from app.store.models import TicketRecord
from app.trackers import TrackerError
from app.ui import tickets as texts
from tests.running import command, declare, join, resolve, summary_text

JIRA = "tests/policies/tickets_jira.yml"
JIRA_ITEMS = "tests/policies/tickets_jira_items.yml"
GITHUB = "tests/policies/tickets_github.yml"
BROWSE = "https://acme.atlassian.net/browse/"


@dataclass
class RecordingTracker:
    """A tracker that keeps its tickets in memory and records every call; `down` makes every
    call fail for now (as a tracker outage does), `refuse` makes verify fail for good."""

    name: str = "jira"
    title: str = "Jira"
    calls: list[tuple[str, str]] = field(default_factory=list)
    tickets: dict[str, Ticket] = field(default_factory=dict)
    down: bool = False
    refuse: str | None = None

    def _call(self, method: str, about: str) -> None:
        self.calls.append((method, about))
        if self.down:
            raise TrackerError("Jira answered 503", transient=True, status=503)

    def created(self) -> list[str]:
        return [about for method, about in self.calls if method == "create"]

    async def verify(self, project: str | None) -> str:
        self._call("verify", project or "")
        if self.refuse:
            raise TrackerError(self.refuse, transient=False, status=401)
        where = f", project {project}" if project else ""
        return f"Incident Bot on acme.atlassian.net{where}"

    async def find(self, draft: TicketDraft) -> Ticket | None:
        self._call("find", draft.marker)
        return self.tickets.get(draft.marker)

    async def create(self, draft: TicketDraft) -> Ticket:
        self._call("create", draft.marker)
        key = f"{draft.project}-{len(self.tickets) + 1}"
        ticket = Ticket(key=key, url=BROWSE + key, remote_id=key)
        self.tickets[draft.marker] = ticket
        return ticket

    async def fetch(self, ticket: Ticket) -> Ticket:
        self._call("fetch", ticket.key)
        return ticket

    async def set_priority(self, ticket: Ticket, priority: str | None) -> None:
        self._call("set_priority", ticket.key)

    async def close(self, ticket: Ticket, comment: TicketText) -> None:
        self._call("close", ticket.key)

    async def reopen(self, ticket: Ticket, comment: TicketText) -> None:
        self._call("reopen", ticket.key)

    async def comment(self, ticket: Ticket, comment: TicketText) -> None:
        self._call("comment", ticket.key)

    async def aclose(self) -> None:
        pass


@pytest.fixture
def tracker(bot: BotContext) -> RecordingTracker:
    """The bot's Jira (the test settings configure no tracker)."""
    jira = RecordingTracker()
    bot.trackers = {"jira": jira}
    return jira


async def tickets_of(bot: BotContext, incident_id: int) -> list[TicketRecord]:
    async with bot.sessions() as session:
        stmt = select(TicketRecord).where(TicketRecord.incident_id == incident_id)
        return list((await session.execute(stmt.order_by(TicketRecord.id))).scalars())


async def run_steps(bot: BotContext, clock: ManualClock) -> None:
    """What the scheduler does next: the steps now due (the ticket step among them)."""
    clock.advance(timedelta(seconds=1))
    await run_due_steps(bot)
    await bot.tasks.drain()


def link(key: str) -> str:
    return f"<{BROWSE}{key}|{key}>"


# ------------------------------------------------------------------------- pinned summary


@pytest.mark.policy(JIRA)
async def test_a_declared_p1_gets_its_ticket_linked_on_the_pinned_summary(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    tracker: RecordingTracker,
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P1")
    assert tracker.created() == []  # the declaration only planned the ticket step

    await run_steps(bot, clock)

    assert tracker.created() == [incident.public_id]
    shown = summary_text(fake_slack, incident)
    assert f"*Ticket*\\n{link('OPS-1')} (Jira)" in shown


@pytest.mark.policy(JIRA)
async def test_while_the_tracker_is_down_the_summary_says_the_ticket_is_being_opened(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    tracker: RecordingTracker,
) -> None:
    tracker.down = True
    incident = await declare(slack, fake_slack, bot, severity="P2")
    await run_steps(bot, clock)
    await command(slack, bot, "status mitigating", channel=incident.channel_id)  # a refresh

    assert "*Ticket*\\nopening in Jira…" in summary_text(fake_slack, incident)

    tracker.down = False
    clock.advance(timedelta(minutes=5))
    await run_steps(bot, clock)
    shown = summary_text(fake_slack, incident)
    assert f"*Ticket*\\n{link('OPS-1')} (Jira)" in shown and "opening in" not in shown


@pytest.mark.policy(JIRA)
async def test_a_ticket_the_tracker_refused_leaves_no_ticket_field(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    tracker: RecordingTracker,
) -> None:
    async def refused(draft: TicketDraft) -> Ticket:
        raise TrackerError("project OPS does not exist", transient=False, status=404)

    tracker.create = refused  # type: ignore[method-assign]
    incident = await declare(slack, fake_slack, bot, severity="P1")
    await run_steps(bot, clock)
    await command(slack, bot, "status mitigating", channel=incident.channel_id)

    [record] = await tickets_of(bot, incident.id)
    assert record.key is None and record.error == "project OPS does not exist"
    assert "*Ticket*" not in summary_text(fake_slack, incident)


@pytest.mark.policy(JIRA_ITEMS)
async def test_an_action_items_line_on_the_summary_links_its_own_ticket(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    tracker: RecordingTracker,
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P1")
    await run_steps(bot, clock)
    await command(slack, bot, "action Rotate the keys", channel=incident.channel_id)
    await command(slack, bot, "action Add a canary", channel=incident.channel_id)
    await run_steps(bot, clock)

    own, first, second = await tickets_of(bot, incident.id)
    assert own.action_item_id is None and first.action_item_id and second.action_item_id
    # Each once (two passes run at once, each taking the ticket the other does not hold).
    assert sorted(tracker.created()) == sorted([own.marker, first.marker, second.marker])
    shown = summary_text(fake_slack, incident)
    # Which of the two passes reaches the tracker first is up to the scheduler: read the keys.
    assert own.key == "OPS-1" and {first.key, second.key} == {"OPS-2", "OPS-3"}
    assert f"*Ticket*\\n{link('OPS-1')} (Jira)" in shown
    assert f"1. Rotate the keys · no owner · {link(str(first.key))}" in shown
    assert f"2. Add a canary · no owner · {link(str(second.key))}" in shown


# ------------------------------------------------------------------------ /incident ticket


@pytest.mark.policy(JIRA)
async def test_incident_ticket_on_a_p0_opens_one_and_answers_with_its_link(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    tracker: RecordingTracker,
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P0")
    await run_steps(bot, clock)
    assert tracker.created() == []  # the policy opens none for P0 on its own

    answer = await command(slack, bot, "ticket", channel=incident.channel_id)

    assert answer == ""  # acked at once; the answer waits for Jira
    told = fake_slack.responses[-1]
    assert told["response_type"] == "ephemeral"
    assert told["text"] == f"{incident.public_id}'s ticket: {link('OPS-1')} (Jira)."
    assert tracker.created() == [incident.public_id]
    assert f"*Ticket*\\n{link('OPS-1')} (Jira)" in summary_text(fake_slack, incident)

    await command(slack, bot, "ticket", channel=incident.channel_id)  # asked again
    assert fake_slack.responses[-1]["text"] == told["text"]
    assert tracker.created() == [incident.public_id]  # not opened twice


@pytest.mark.policy(JIRA)
async def test_incident_ticket_with_an_id_works_from_elsewhere_for_someone_in_the_channel(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    tracker: RecordingTracker,
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P0")
    join(fake_slack, incident, "ULEAD")
    typed = f"ticket {incident.public_id}"
    outsider = await command(slack, bot, typed, channel="CGENERAL", user="UOTHER")
    assert f"no incident {incident.public_id} that you can act on" in outsider
    assert tracker.created() == []

    await command(slack, bot, typed, channel="CGENERAL", user="ULEAD")

    assert fake_slack.responses[-1]["text"].endswith(f"{link('OPS-1')} (Jira).")
    assert tracker.created() == [incident.public_id]


async def test_incident_ticket_without_a_tracker_in_the_policy_says_how_to_name_one(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P1")
    await command(slack, bot, "ticket", channel=incident.channel_id)
    assert fake_slack.responses[-1]["text"] == texts.no_tracker_text()
    assert await tickets_of(bot, incident.id) == []


@pytest.mark.policy(GITHUB)
async def test_incident_ticket_with_the_trackers_credentials_unset_says_so(
    slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P0")
    await command(slack, bot, "ticket", channel=incident.channel_id)
    assert fake_slack.responses[-1]["text"] == texts.not_configured_text("github")


async def test_help_lists_incident_ticket(slack: SlackSender, bot: BotContext) -> None:
    answer = await command(slack, bot, "help", channel="CGENERAL")
    assert "• `/incident ticket [INC-id]`: Open the incident's ticket" in answer


async def test_incident_ticket_outside_an_incident_channel_says_where_it_works(
    slack: SlackSender, bot: BotContext
) -> None:
    answer = await command(slack, bot, "ticket", channel="CGENERAL")
    assert "`/incident ticket INC-…`" in answer and "not an incident channel" in answer


# ------------------------------------------------------------------------------ documents


@pytest.mark.policy(JIRA_ITEMS)
async def test_the_incident_log_and_the_post_mortem_link_the_tickets(
    slack: SlackSender,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    tracker: RecordingTracker,
) -> None:
    incident = await declare(slack, fake_slack, bot, severity="P1")
    await run_steps(bot, clock)
    await command(slack, bot, "action Rotate the keys", channel=incident.channel_id)
    await run_steps(bot, clock)
    [item_key] = [r.key for r in await tickets_of(bot, incident.id) if r.action_item_id]
    assert item_key == "OPS-2"

    clock.advance(timedelta(minutes=30))
    await resolve(slack, fake_slack, bot, incident)

    [upload] = [f for f in fake_slack.files if f["channel_id"] == incident.channel_id]
    postmortem = upload["content"].decode()
    header = postmortem.split("## Executive Summary")[0]
    assert f"**Ticket**: [OPS-1]({BROWSE}OPS-1) (Jira)" in header
    assert f"- [ ] Rotate the keys - Owner - Due date - [{item_key}]({BROWSE}{item_key})" in (
        postmortem
    )
    record = await record_by_public_id(bot.sessions, incident.public_id)
    assert record is not None
    log = render(record, "log", bot.settings.tz)
    assert f"**Ticket**: [OPS-1]({BROWSE}OPS-1) (Jira)" in log.split("## Impact")[0]
    assert f"- [ ] Rotate the keys - Owner - Due date - [{item_key}]({BROWSE}{item_key})" in log
    assert record.tickets == (
        TicketLink("OPS-1", f"{BROWSE}OPS-1", "Jira"),
        TicketLink(item_key, f"{BROWSE}{item_key}", "Jira", item=1),
    )


def test_a_tickets_key_cannot_add_markup_and_an_odd_url_is_not_linked() -> None:
    record = IncidentRecord(
        public_id="INC-20261201-001",
        title="Payments are down",
        severity="P1",
        status="investigating",
        started_at=ManualClock().now(),
        action_items=(ActionItem("Rotate the keys"), ActionItem("Add a canary")),
        tickets=(
            TicketLink("OPS-1](https://evil.example) <b>*x*", "https://j.example/OPS-1", "Jira"),
            TicketLink("OPS-2", "javascript:alert(1)", "Jira", item=1),
            TicketLink("OPS-3", "https://j.example/a(b)c", "Jira", item=2),
        ),
    )
    log = render_incident_log(record, ZoneInfo("UTC"))
    assert (
        "**Ticket**: [OPS-1\\](https://evil.example) &lt;b&gt;\\*x\\*](https://j.example/OPS-1)"
        " (Jira)"
    ) in log
    assert "- [ ] Rotate the keys - Owner - Due date - OPS-2\n" in log  # not a link
    assert "- [ ] Add a canary - Owner - Due date - [OPS-3](https://j.example/a%28b%29c)" in log
    assert "javascript" not in log and "<b>" not in log
