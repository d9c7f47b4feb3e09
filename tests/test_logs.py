"""Log lines: one per Slack request with kind and latency, the incident id on every line about
an incident, and never a secret, even at DEBUG with slack-sdk logging each request."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from app.context import BotContext
from app.logs import configure, incident_context
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.sender import SlackSender
from tests.conftest import SIGNING_SECRET, TOKEN
from tests.test_declare import open_modal, submit


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("fmt", ["json", "text"])
async def test_a_full_declare_at_debug_logs_no_token_or_signing_secret(
    fmt: str, slack: SlackSender, fake_slack: FakeSlack, bot: BotContext
) -> None:
    out = io.StringIO()
    # With Slack's request and response bodies (LOG_SLACK_BODIES=true): the most there is.
    configure("DEBUG", fmt, secrets=bot.settings.secrets, stream=out, slack_bodies=True)
    view = await open_modal(slack, fake_slack, bot, "declare Payments down")
    await submit(slack, bot, view, title="Payments down", severity="P0")
    logged = out.getvalue()

    assert "Sending a request" in logged  # slack-sdk's debug lines were captured
    assert TOKEN not in logged
    assert SIGNING_SECRET not in logged
    assert "xoxb-" not in logged
    if fmt == "text":
        assert "[INC-20261128-001]" in logged  # lines about the incident name it
        return
    lines = [json.loads(line) for line in logged.splitlines()]
    requests = [line for line in lines if line["logger"] == "app.slack.requests"]
    assert [line["kind"] for line in requests] == ["command", "view_submission"]
    assert all(line["status"] == 200 and line["latency_ms"] >= 0 for line in requests)
    setup_calls = [
        line
        for line in lines
        if line["logger"] == "app.slack.client" and "conversations.create" in line["message"]
    ]
    assert setup_calls and all(line["incident"] == "INC-20261128-001" for line in setup_calls)


@pytest.mark.usefixtures("restore_logging")
def test_configured_secrets_and_token_shapes_are_masked_in_both_formats() -> None:
    for fmt in ("json", "text"):
        out = io.StringIO()
        configure("INFO", fmt, secrets=["s3cr3t-signing", "a-webhook-token-123"], stream=out)
        log = logging.getLogger("app.test")
        log.info("secret=%s token=%s", "s3cr3t-signing", "xoxb-123-abc")
        log.warning("webhook a-webhook-token-123 and app token xapp-1-A-2-zz")
        try:
            raise RuntimeError("failed with s3cr3t-signing")
        except RuntimeError:
            log.exception("boom")
        text = out.getvalue()
        for secret in ("s3cr3t-signing", "xoxb-123-abc", "a-webhook-token-123", "xapp-1-A-2-zz"):
            assert secret not in text, (fmt, text)
        assert text.count("[redacted]") >= 5


@pytest.mark.usefixtures("restore_logging")
async def test_incident_context_reaches_lines_of_any_module_and_tasks_started_inside() -> None:
    import asyncio

    out = io.StringIO()
    configure("INFO", "json", stream=out)

    async def elsewhere() -> None:
        logging.getLogger("slack_sdk.web").info("a library line")

    with incident_context("INC-20261128-007"):
        await asyncio.create_task(elsewhere())
    logging.getLogger("app").info("after")
    first, after = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["incident"] == "INC-20261128-007"
    assert "incident" not in after
