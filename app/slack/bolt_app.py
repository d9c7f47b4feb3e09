"""The Bolt app: request verification and every listener, registered here explicitly, so what
the bot answers to reads in one place. Nothing is registered, and nothing touches the network,
when a module is imported."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from app.context import BotContext
from app.slack import (
    contacts,
    declare,
    escalation,
    followup,
    forms,
    lifecycle,
    oncall,
    people,
    reports,
    runbooks,
    severity,
    statuspage,
    tickets,
    timeline,
    updates,
)
from app.slack.buttons import pressed
from app.slack.commands import Registry, Subcommand, dispatch
from app.ui.declare import DECLARE_CALLBACK, IMPACT_BLOCK_PREFIX
from app.ui.escalation import ACK_ACTION, SNOOZE_ACTION
from app.ui.followup import ACTION_ITEM_DONE_ACTION, REVIEW_HELD_ACTION
from app.ui.modals import RESOLVE_CALLBACK, SEVERITY_CALLBACK, STATUS_CALLBACK
from app.ui.runbooks import RUNBOOK_ACTION
from app.ui.statuspage import CANCEL_ACTION, PUBLISH_ACTION
from app.ui.summary import CHANGE_SEVERITY_ACTION, CHANGE_STATUS_ACTION, RESOLVE_ACTION

log = logging.getLogger(__name__)

# Matches every id (Bolt searches the pattern in the string): for the listeners of last resort.
ANY_ID = re.compile("")


def subcommands() -> Registry:
    """`/incident`'s subcommands, in the order of the plan's procedure (detection, response,
    investigation, mitigation, recovery, post-incident, then the rest), as help lists them."""
    return Registry(
        [
            Subcommand(
                "declare",
                "declare [title]",
                "Declare an incident (opens a form).",
                declare.declare_command,
            ),
            Subcommand(
                "ack",
                "ack [INC-id]",
                "Acknowledge the page: stops the escalation.",
                escalation.ack_command,
            ),
            Subcommand(
                "lead",
                "lead @user",
                "Name the incident lead; they are invited to the channel.",
                people.lead_command,
            ),
            Subcommand(
                "severity",
                "severity P0..P3 [reason]",
                "Change the severity; the escalation follows it.",
                severity.severity_command,
            ),
            Subcommand(
                "status",
                "status investigating|mitigating|resolved",
                "Move the incident along Investigating → Mitigating → Resolved.",
                lifecycle.status_command,
            ),
            Subcommand(
                "note",
                "note <text>",
                "Add a note to the incident's timeline.",
                timeline.note_command,
            ),
            Subcommand(
                "update",
                "update <text>",
                "Post a status update here (and in the incidents channel for public incidents).",
                updates.update_command,
            ),
            Subcommand(
                "timeline",
                "timeline [page]",
                "Show the incident's timeline (only you see it).",
                timeline.timeline_command,
            ),
            Subcommand(
                "runbook",
                "runbook [type]",
                "Post a runbook as a checklist in this incident channel; without a type, list "
                "them.",
                runbooks.runbook_command,
            ),
            Subcommand(
                "ticket",
                "ticket [INC-id]",
                "Open the incident's ticket in the team's tracker (Jira, GitHub or Linear), or "
                "show its link.",
                tickets.ticket_command,
            ),
            Subcommand(
                "oncall",
                "oncall [override @user from … until … [schedule] | overrides | remove <id>]",
                "Who is on call now and next, for every schedule; or put someone on call.",
                oncall.oncall_command,
            ),
            Subcommand(
                "contact",
                "contact [add email|sms|voice <address> | remove <address>]",
                "How you are paged beyond Slack: list, add or remove e-mail and phone numbers.",
                contacts.contact_command,
            ),
            Subcommand(
                "resolve",
                "resolve",
                "Resolve the incident (opens the incident log form).",
                lifecycle.resolve_command,
            ),
            Subcommand(
                "action",
                "action <text> [@owner] [due YYYY-MM-DD]",
                "Add an action item; it shows on the summary and in the post-mortem.",
                followup.action_command,
            ),
            Subcommand(
                "postmortem",
                "postmortem",
                "Render the post-mortem draft from the timeline and upload it.",
                followup.postmortem_command,
            ),
            Subcommand(
                "reopen",
                "reopen [reason]",
                "Reopen a resolved incident (back to Investigating).",
                lifecycle.reopen_command,
            ),
            Subcommand(
                "list", "list", "List open incidents, most severe first.", updates.list_command
            ),
            Subcommand(
                "statuspage",
                "statuspage [services state phase] message",
                "Preview an update for the public status page, then publish it.",
                statuspage.statuspage_command,
            ),
            Subcommand(
                "report",
                "report [quarter]",
                "The report against the plan for a quarter (2026Q3; default: the last), as a file.",
                reports.report_command,
            ),
            Subcommand(
                "retry-setup",
                "retry-setup [INC-id]",
                "Finish an incident's Slack setup after a failure.",
                declare.retry_setup_command,
            ),
        ]
    )


def build_bolt_app(bot: BotContext) -> AsyncApp:
    app = AsyncApp(
        client=bot.slack,
        signing_secret=bot.settings.slack_signing_secret,
        logger=logging.getLogger("app.slack.bolt"),
        # Listeners ack first and do slow work afterwards.
        process_before_response=False,
        # No assistant features (say_stream, set_status ...): without this, Bolt also reads
        # assistant-thread fields of every event and fails on odd ones.
        attaching_conversation_kwargs_enabled=False,
    )
    register_listeners(app, bot)
    register_last_resorts(app)
    return app


def register_listeners(app: AsyncApp, bot: BotContext) -> None:
    """Every command, button, form and event the bot handles. A listener is a module-level
    function whose first arguments (the bot, and what follows it here) are bound now; Bolt
    passes the rest (ack, body, respond, request) by name."""

    def on(handler: Callable[..., Any], *bound: Any) -> Callable[..., Any]:
        return functools.partial(handler, bot, *bound)

    app.command("/incident")(on(dispatch, subcommands()))

    # Declaring.
    impacts: dict[str, str | re.Pattern] = {
        "block_id": re.compile(f"^{IMPACT_BLOCK_PREFIX}"),
        "action_id": "value",
    }
    app.action(impacts)(on(declare.impacts_changed))
    app.view(DECLARE_CALLBACK)(on(declare.declare_submitted))

    # Buttons: each acks, then does its work (buttons.pressed).
    app.action(ACK_ACTION)(on(pressed, escalation.ACKNOWLEDGE))
    app.action(re.compile(f"^{SNOOZE_ACTION}_"))(on(pressed, escalation.SNOOZE))
    app.action(CHANGE_STATUS_ACTION)(on(pressed, forms.opens(lifecycle.status_form)))
    app.action(RESOLVE_ACTION)(on(pressed, forms.opens(lifecycle.resolve_form)))
    app.action(CHANGE_SEVERITY_ACTION)(on(pressed, forms.opens(severity.severity_form)))
    app.action(ACTION_ITEM_DONE_ACTION)(on(pressed, followup.DONE))
    app.action(REVIEW_HELD_ACTION)(on(pressed, followup.REVIEW_HELD))
    app.action(RUNBOOK_ACTION)(on(pressed, runbooks.TICK))
    app.action(PUBLISH_ACTION)(on(pressed, statuspage.PUBLISH))
    app.action(CANCEL_ACTION)(on(pressed, statuspage.CANCEL))

    # The forms those buttons open, submitted.
    app.view(STATUS_CALLBACK)(on(lifecycle.status_submitted))
    app.view(RESOLVE_CALLBACK)(on(lifecycle.resolve_submitted))
    app.view(SEVERITY_CALLBACK)(on(severity.severity_submitted))

    # The timeline's events.
    watch = timeline.Watch.of(bot)
    app.event("reaction_added")(on(timeline.reaction_added, watch))
    app.event("reaction_removed")(on(timeline.reaction_removed, watch))
    app.event("message")(on(timeline.message_changed, watch))

    # The App Home tab: who is on call.
    app.event("app_home_opened")(on(oncall.home_opened))


def register_last_resorts(app: AsyncApp) -> None:
    """Listeners for what Slack may send that no listener above handles. Bolt answers 404 to a
    request no listener matches; Slack shows the person an error, retries events, and counts
    non-200 answers towards disabling the app's event subscriptions. Registered last, because
    Bolt runs the first listener that matches."""

    @app.view_closed(ANY_ID)
    async def modal_closed(ack: AsyncAck) -> None:
        # A modal cancelled or closed with its X (Slack sends it for views opened with
        # notify_on_close): nothing was saved, so there is nothing to undo.
        await ack()

    @app.action({"action_id": ANY_ID})
    async def unknown_action(ack: AsyncAck, body: dict[str, Any]) -> None:
        # A click on an element no listener handles, e.g. a button of a message posted by an
        # older version of the bot: acknowledged, so the person sees no error, and logged.
        await ack()
        action = body["actions"][0]
        log.info(
            "no listener for action %r (block %r); ignored",
            action["action_id"][:64],
            str(action.get("block_id"))[:64],
        )

    @app.event(ANY_ID)
    async def other_event(body: dict[str, Any]) -> None:
        # An event the manifest does not subscribe to (a subscription added by hand in Slack's
        # app settings): Bolt has already acknowledged it.
        log.debug("ignored event %r", body["event"]["type"][:64])
