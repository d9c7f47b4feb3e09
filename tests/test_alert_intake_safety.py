"""Alert intake that neither loses incidents nor floods the workspace (issue 12, part 3).

Through the real HTTP endpoint: one bad alert of a batch does not fail the others, batches of
any size are taken, every documented delivery of every source is answered 2xx, a storm of new
alerts opens a bounded number of incidents, Sentry's signature and per-source tokens are
checked, and a still-firing redelivery updates its timeline entry instead of adding one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app import wiring
from app.clock import ManualClock
from app.config.settings import (
    ALERT_SOURCES_ELSEWHERE,
    ALERT_TOKEN_SOURCES,
    ConfigError,
    load_settings,
)
from app.context import BotContext
from app.domain.policy import ALERT_SOURCES
from app.sandbox.fakeslack import FakeSlack
from app.services import alerts as alert_service
from app.store.models import AlertLink, Incident, TimelineEntry
from tests.conftest import ROOT, serve_bot
from tests.test_alerts import (
    TOKEN,
    Post,
    alertmanager,
    am_alert,
    entries,
    incidents,
    poster,
    resolving_policy,
    sentry_event_alert,
    sentry_issue,
    sentry_metric_alert,
    uptimerobot,
)

ESCALATION = str(ROOT / "tests" / "policies" / "escalation.yml")
PAYLOADS = Path(__file__).resolve().parents[2] / "shared" / "alert-payloads"
SECRET = "sentry-client-secret-0123456789abcdef"
SENTRY_TOKEN = "sentry-only-token-0123456789abcdef"

pytestmark = pytest.mark.settings(alert_webhook_token=TOKEN)


@pytest_asyncio.fixture
async def post(server: str) -> AsyncIterator[Post]:
    async with poster(server) as send:
        yield send


# ------------------------------------------------------------------------------ helpers


def published(name: str, **values: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A monitoring tool's own example body from ../shared/alert-payloads/, and its headers."""
    path = PAYLOADS / f"{name}.json"
    if not path.is_file():
        pytest.skip(
            f"alert reference data is absent: {path} not found (the published alert bodies are "
            "expected in ../shared/alert-payloads/ beside the project)"
        )
    wrapper = json.loads(path.read_text())
    text = json.dumps(wrapper["body"])
    for key, value in {"FINGERPRINT": "0f1e2d3c4b5a6978", "REASON": "new", **values}.items():
        text = text.replace("${" + key + "}", value)
    assert "${" not in text, f"{name}: unfilled placeholder"
    headers = {k.lower(): v for k, v in wrapper.get("headers", {}).items()}
    return json.loads(text), headers


def batch(alerts: list[dict[str, Any]], *, group: str | None = "checkout") -> dict[str, Any]:
    """An Alertmanager webhook; group=None is a receiver without grouping (no groupKey)."""
    body = alertmanager(*alerts, group=group or "x")
    if group is None:
        del body["groupKey"]
    return body


def critical(n: int, **kw: Any) -> dict[str, Any]:
    """Alert n of a set of different alerts (severity critical unless told)."""
    return am_alert(
        **{"fingerprint": f"{n:016x}", "name": f"Disk{n}", "summary": f"disk {n} full", **kw}
    )


async def links(bot: BotContext) -> list[AlertLink]:
    async with bot.sessions() as session:
        return list((await session.execute(select(AlertLink).order_by(AlertLink.id))).scalars())


async def kinds(bot: BotContext, incident: Incident, kind: str) -> list[TimelineEntry]:
    return [e for e in await entries(bot, incident) if e.kind == kind]


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ------------------------------------------------------------------------------ one bad alert


@pytest.mark.policy(ESCALATION)
@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ({**critical(2), "status": "pending"}, "alerts[1].status must be firing or resolved"),
        (critical(2, summary="\u200b\u200b", name=""), "alerts[1] has no visible title"),
    ],
)
async def test_a_bad_alert_in_a_batch_gets_its_error_and_the_good_one_is_set_up_at_once(
    post: Post, bot: BotContext, fake_slack: FakeSlack, bad: dict[str, Any], error: str
) -> None:
    response = await post("alertmanager", batch([critical(1), bad]))

    assert response.status_code == 207
    good, failed = response.json()["results"]
    assert good["action"] == "declared"
    assert failed["action"] == "failed" and error in failed["error"]
    await bot.tasks.drain()  # no clock moved: nothing waits for a lease
    [incident] = await incidents(bot)
    assert incident.setup_complete and incident.channel_id
    assert len(await kinds(bot, incident, "paged")) == 1
    assert [link.fingerprint for link in await links(bot)] == [f"{1:016x}"]


@pytest.mark.policy(ESCALATION)
async def test_an_alert_that_fails_while_saved_leaves_nothing_and_the_others_still_open(
    post: Post, bot: BotContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = alert_service.declare_with_result

    async def broken_for_one(ctx: BotContext, request: Any, **kw: Any) -> Any:
        if "Disk1" in request.title:
            raise RuntimeError("a bug met by this alert only")
        return await real(ctx, request, **kw)

    monkeypatch.setattr(alert_service, "declare_with_result", broken_for_one)
    response = await post("alertmanager", batch([critical(1), critical(2)], group=None))

    assert response.status_code == 207
    failed, good = response.json()["results"]
    assert failed["action"] == "failed" and "RuntimeError" in failed["error"]
    assert "a bug" not in failed["error"]  # details stay in the log
    assert good["action"] == "declared"
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert incident.title.startswith("Disk2") and incident.setup_complete
    assert len(await kinds(bot, incident, "paged")) == 1
    assert [link.fingerprint for link in await links(bot)] == [f"{2:016x}"]


@pytest.mark.policy(ESCALATION)
async def test_a_database_outage_mid_batch_is_503_and_what_was_saved_is_complete(
    post: Post, bot: BotContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = alert_service.store.open_link

    async def down_for_the_second(session: Any, source: str, fingerprint: str) -> Any:
        if fingerprint == f"{2:016x}":
            raise OperationalError("SELECT 1", {}, ConnectionError("server closed"))
        return await real(session, source, fingerprint)

    monkeypatch.setattr(alert_service.store, "open_link", down_for_the_second)
    response = await post("alertmanager", batch([critical(1), critical(2), critical(3)]))

    assert response.status_code == 503
    assert "retry later" in response.json()["error"]
    assert [r["action"] for r in response.json()["results"]] == ["declared"]
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert incident.setup_complete and len(await kinds(bot, incident, "paged")) == 1

    # Alertmanager retries the whole batch: the saved alert is found, the others join.
    monkeypatch.setattr(alert_service.store, "open_link", real)
    retry = await post("alertmanager", batch([critical(1), critical(2), critical(3)]))
    assert retry.status_code == 200
    assert [r["action"] for r in retry.json()["results"]] == ["updated"] * 3
    await bot.tasks.drain()
    assert len(await incidents(bot)) == 1 and len(await links(bot)) == 3


# ------------------------------------------------------------------------------ any size


async def test_250_alerts_of_one_group_are_all_accepted_into_one_incident(
    post: Post, bot: BotContext, fake_slack: FakeSlack
) -> None:
    response = await post("alertmanager", batch([critical(n) for n in range(250)]))

    assert response.status_code == 200
    actions = [r["action"] for r in response.json()["results"]]
    assert actions == ["declared"] + ["updated"] * 249
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert len(await links(bot)) == 250
    assert len(await kinds(bot, incident, "alert")) == 250
    # One message per chunk of 100 alerts, not one per alert.
    joined = [
        m["text"]
        for m in fake_slack.messages[incident.channel_id]
        if "alertmanager alert updates" in m["text"]
    ]
    assert [int(text.split()[1]) for text in joined] == [99, 100, 50]
    assert all(len(text.splitlines()) <= alert_service.LISTED_MAX + 2 for text in joined)


# ------------------------------------------------------------------------------ every delivery


SENTRY_DELIVERIES = [
    ("issue", "created"),
    ("issue", "resolved"),
    ("issue", "assigned"),
    ("issue", "archived"),
    ("issue", "unresolved"),
    ("issue", "ignored"),
    ("event_alert", "triggered"),
    ("metric_alert", "critical"),
    ("metric_alert", "warning"),
    ("metric_alert", "resolved"),
    ("installation", "created"),
    ("installation", "deleted"),
    ("comment", "created"),
    ("comment", "updated"),
    ("comment", "deleted"),
    ("error", "created"),
]


def sentry_body(resource: str, action: str) -> dict[str, Any]:
    if resource == "issue":
        return sentry_issue(action)
    if resource == "event_alert":
        return sentry_event_alert()
    if resource == "metric_alert":
        return sentry_metric_alert(action)
    data = {
        "installation": {"installation": {"uuid": "7a485448", "status": "installed"}},
        "comment": {"comment": "Looking into it", "issue_id": 1117540176, "comment_id": 1},
        "error": {"error": {"event_id": "a3f1c9", "title": "ReferenceError", "level": "error"}},
    }[resource]
    return {"action": action, "actor": {"type": "user", "id": 1}, "data": data}


@pytest.mark.parametrize(("resource", "action"), SENTRY_DELIVERIES)
async def test_every_documented_sentry_action_is_answered_2xx(
    post: Post, bot: BotContext, resource: str, action: str
) -> None:
    response = await post(
        "sentry", sentry_body(resource, action), headers={"sentry-hook-resource": resource}
    )
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert result["action"] in {"declared", "updated", "resolved", "ignored"}
    if result["action"] == "ignored":
        assert result["reason"]
    await bot.tasks.drain()


async def test_a_sentry_issue_assignment_is_ignored_with_the_reason(
    post: Post, bot: BotContext
) -> None:
    response = await post(
        "sentry", sentry_issue("assigned"), headers={"sentry-hook-resource": "issue"}
    )
    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "fingerprint": "issue:1117540176",
            "action": "ignored",
            "reason": "a Sentry issue being assigned changes no alert the bot tracks",
        }
    ]
    future = await post(
        "sentry", sentry_issue("escalated_again"), headers={"sentry-hook-resource": "issue"}
    )
    assert future.status_code == 200
    assert "'escalated_again' is not one the bot acts on" in future.json()["results"][0]["reason"]
    assert await incidents(bot) == []


@pytest.mark.parametrize(("alert_type", "friendly"), [("0", "Paused"), ("9", "Started"), ("", "")])
async def test_uptimerobot_alert_types_the_bot_does_not_use_are_ignored_not_refused(
    post: Post, bot: BotContext, alert_type: str, friendly: str
) -> None:
    body = uptimerobot(alert_type, alertTypeFriendlyName=friendly)
    response = await post("uptimerobot", body)
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert result["action"] == "ignored" and "1 down, 2 up, 3 SSL expiry" in result["reason"]
    assert await incidents(bot) == []


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("alertmanager", "alertmanager_firing"),
        ("alertmanager", "alertmanager_resolved"),
        ("sentry", "sentry_issue_alert"),
        ("sentry", "sentry_issue_created"),
        ("sentry", "sentry_issue_assigned"),
        ("sentry", "sentry_issue_resolved"),
        ("sentry", "sentry_metric_alert_critical"),
        ("sentry", "sentry_metric_alert_resolved"),
        ("uptimerobot", "uptimerobot_down"),
        ("uptimerobot", "uptimerobot_up"),
        ("uptimerobot", "uptimerobot_ssl"),
        ("generic", "generic_readme"),
    ],
)
async def test_every_published_example_of_each_source_is_answered_2xx(
    post: Post, bot: BotContext, source: str, name: str
) -> None:
    body, headers = published(name)
    response = await post(source, body, headers=headers)
    assert response.status_code == 200, response.text
    assert all(r["action"] != "failed" for r in response.json()["results"])
    await bot.tasks.drain()


# ------------------------------------------------------------------------------ alert storms


@pytest.mark.policy(ESCALATION)
@pytest.mark.settings(alert_webhook_token=TOKEN, alert_storm_limit=5)
async def test_40_ungrouped_criticals_open_the_limit_of_incidents_plus_one_storm_incident(
    post: Post, bot: BotContext, fake_slack: FakeSlack
) -> None:
    response = await post("alertmanager", batch([critical(n) for n in range(40)], group=None))

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["action"] for r in results] == ["declared"] * 6 + ["updated"] * 34
    assert all("alert storm" in r["reason"] for r in results[5:])
    await bot.tasks.drain()
    found = await incidents(bot)
    assert len(found) == 6
    storm = found[-1]
    assert storm.title == "Alert storm from alertmanager" and storm.severity == "P0"
    assert {r["incident"] for r in results[5:]} == {storm.public_id}
    pages = [page for incident in found for page in await kinds(bot, incident, "paged")]
    assert len(pages) == 6  # one L1 page per incident: not 40, let alone 80
    assert len(fake_slack.calls_to("conversations.create")) == 6
    listed = await kinds(bot, storm, "alert")
    assert len(listed) == 35 and all(e.text.startswith("Alert storm, ") for e in listed)
    # One message for the batch, naming the first alerts and counting the rest.
    texts = [m["text"] for m in fake_slack.messages[storm.channel_id]]
    [said] = [t for t in texts if t.startswith(":rotating_light: *Alert storm*")]
    assert said.startswith(":rotating_light: *Alert storm*: 35 alertmanager alerts attached")
    assert said.count("\n• ") == alert_service.LISTED_MAX and said.endswith(
        "15 more, every one in the timeline"
    )
    # The other incidents' channels got nothing about the storm.
    assert not any(
        "Alert storm" in m["text"] for i in found[:5] for m in fake_slack.messages[i.channel_id]
    )


@pytest.mark.settings(alert_webhook_token=TOKEN, alert_storm_limit=5)
async def test_the_storm_limit_is_counted_in_the_database_across_replicas_and_per_minute(
    post: Post, server: str, bot: BotContext, clock: ManualClock
) -> None:
    other = wiring.build(bot.settings, bot.policy, clock)  # a second replica, same database
    try:
        async with serve_bot(other) as other_url, httpx.AsyncClient(timeout=10) as http:

            async def down(base: str, n: int) -> dict[str, Any]:
                body = {"fingerprint": f"svc-{n}", "title": f"Service {n} down", "severity": "P1"}
                auth = {"authorization": f"Bearer {TOKEN}"}
                response = await http.post(
                    f"{base}/webhooks/alerts/generic", json=body, headers=auth
                )
                assert response.status_code == 200
                return response.json()["results"][0]

            answers = [await down(server if n < 3 else other_url, n) for n in range(7)]
            assert [a["action"] for a in answers] == ["declared"] * 6 + ["updated"]
            assert "reason" not in answers[4]
            assert "alert storm" in answers[5]["reason"] and "alert storm" in answers[6]["reason"]
            # Another source has a count of its own.
            sentry = await post(
                "sentry",
                sentry_metric_alert("critical"),
                headers={"sentry-hook-resource": "metric_alert"},
            )
            assert "reason" not in sentry.json()["results"][0]

            clock.advance(61)  # a minute later the rate is back under the limit
            later = await down(other_url, 7)
            assert later["action"] == "declared" and "reason" not in later
            await other.tasks.drain()
    finally:
        await other.tasks.drain()
        await other.engine.dispose()
    await bot.tasks.drain()
    titles = [i.title for i in await incidents(bot)]
    assert titles.count("Alert storm from generic") == 1 and len(titles) == 8


@pytest.mark.settings(alert_webhook_token=TOKEN, alert_storm_limit=2)
async def test_a_more_severe_alert_joining_a_storm_raises_the_storm_incident(
    post: Post, bot: BotContext
) -> None:
    warnings = [critical(n, severity="warning") for n in range(3)]
    await post("alertmanager", batch(warnings, group=None))
    await bot.tasks.drain()
    storm = (await incidents(bot))[-1]
    assert (storm.title, storm.severity) == ("Alert storm from alertmanager", "P2")

    await post("alertmanager", batch([critical(9)], group=None))
    await bot.tasks.drain()
    storm = (await incidents(bot))[-1]
    assert storm.severity == "P0" and len(await incidents(bot)) == 3
    assert [e.text for e in await kinds(bot, storm, "severity_changed")] == [
        "Severity raised from P2 to P0: a P0 alert joined the alert storm"
    ]


@pytest.mark.settings(alert_webhook_token=TOKEN, alert_storm_limit=1)
async def test_storm_alerts_are_redelivered_and_resolved_like_any_other(
    post: Post, bot: BotContext, tmp_path: Path
) -> None:
    bot.policy = resolving_policy(tmp_path)
    await post("alertmanager", batch([critical(1), critical(2), critical(3)], group=None))
    again = await post("alertmanager", batch([critical(2)], group=None))
    assert again.json()["results"][0]["action"] == "updated"
    storm = (await incidents(bot))[-1]
    assert len(await kinds(bot, storm, "alert")) == 2  # the redelivery updated its entry
    resolved = [critical(n, status="resolved") for n in (2, 3)]
    done = await post("alertmanager", batch(resolved, group=None))
    assert [r["action"] for r in done.json()["results"]] == ["updated", "resolved"]
    await bot.tasks.drain()


# ------------------------------------------------------------------------------ Sentry signature


@pytest.mark.settings(alert_webhook_token=TOKEN, sentry_client_secret=SECRET)
@pytest.mark.parametrize(
    "signature",
    [None, "", "0" * 64, sign(b"another body"), sign(b"x", "another secret"), "not hex"],
    ids=["unsigned", "empty", "zeros", "another body", "another secret", "not hex"],
)
async def test_with_a_client_secret_an_unsigned_or_wrongly_signed_sentry_body_is_401(
    post: Post, bot: BotContext, fake_slack: FakeSlack, signature: str | None
) -> None:
    content = json.dumps(sentry_event_alert()).encode()
    headers = {"content-type": "application/json", "sentry-hook-resource": "event_alert"}
    if signature is not None:
        headers["sentry-hook-signature"] = signature
    response = await post("sentry", content=content, headers=headers)  # the right token
    assert response.status_code == 401
    assert "Sentry-Hook-Signature" in response.json()["error"]
    assert await incidents(bot) == []


@pytest.mark.settings(alert_webhook_token=TOKEN, sentry_client_secret=SECRET)
async def test_with_a_client_secret_a_correctly_signed_sentry_body_is_accepted(
    post: Post, bot: BotContext
) -> None:
    content = json.dumps(sentry_event_alert()).encode()
    headers = {
        "content-type": "application/json",
        "sentry-hook-resource": "event_alert",
        "sentry-hook-signature": sign(content),
    }
    response = await post("sentry", content=content, headers=headers)
    assert response.status_code == 200
    assert response.json()["results"][0]["action"] == "declared"
    # The token is still checked: a signed body with a wrong token is refused.
    assert (
        await post("sentry", content=content, headers=headers, token="x" * 20)
    ).status_code == 401
    # Other sources are not signed.
    assert (await post("generic", {"fingerprint": "g", "title": "t"})).status_code == 200
    await bot.tasks.drain()


@pytest.mark.settings(alert_webhook_token=None, sentry_client_secret=SECRET)
async def test_sentry_with_only_a_client_secret_needs_no_token_and_other_sources_stay_off(
    post: Post, bot: BotContext
) -> None:
    body, headers = published("sentry_issue_alert")
    content = json.dumps(body).encode()
    signed = {**headers, "sentry-hook-signature": sign(content)}
    response = await post("sentry", content=content, headers=signed, token=None)
    assert response.status_code == 200
    assert (await post("generic", {"fingerprint": "g", "title": "t"})).status_code == 404
    await bot.tasks.drain()


# ------------------------------------------------------------------------------ tokens


@pytest.mark.settings(alert_webhook_token=TOKEN, alert_webhook_token_sentry=SENTRY_TOKEN)
async def test_a_source_token_replaces_the_shared_token_for_that_source_only(
    post: Post, bot: BotContext
) -> None:
    headers = {"sentry-hook-resource": "issue"}
    assert (await post("sentry", sentry_issue("created"), headers=headers)).status_code == 401
    own = await post("sentry", sentry_issue("created"), headers=headers, token=SENTRY_TOKEN)
    assert own.status_code == 200
    in_query = await post(
        "sentry",
        sentry_issue("created"),
        headers=headers,
        token=None,
        params={"token": SENTRY_TOKEN},
    )
    assert in_query.status_code == 200
    other = await post("alertmanager", batch([critical(1)]), token=SENTRY_TOKEN)
    assert other.status_code == 401
    assert (await post("alertmanager", batch([critical(1)]))).status_code == 200
    await bot.tasks.drain()


@pytest.mark.settings(alert_webhook_token=None, alert_webhook_token_generic=SENTRY_TOKEN)
async def test_a_source_without_any_token_does_not_exist(post: Post, bot: BotContext) -> None:
    generic = await post("generic", {"fingerprint": "g", "title": "t"}, token=SENTRY_TOKEN)
    assert generic.status_code == 200
    assert (await post("alertmanager", batch([critical(1)]), token=SENTRY_TOKEN)).status_code == 404
    await bot.tasks.drain()


def test_alert_settings_are_checked_at_start_up() -> None:
    base = {"slack_bot_token": "xoxb-1", "slack_signing_secret": "s", "_env_file": None}
    with pytest.raises(ConfigError, match="ALERT_WEBHOOK_TOKEN_SENTRY is invalid"):
        load_settings(**base, alert_webhook_token_sentry="short")
    with pytest.raises(ConfigError, match="ALERT_STORM_LIMIT is invalid"):
        load_settings(**base, alert_storm_limit=-1)
    settings = load_settings(
        **base, alert_webhook_token=TOKEN, alert_webhook_token_uptimerobot=SENTRY_TOKEN,
        sentry_client_secret=SECRET,
    )  # fmt: skip
    assert settings.alert_token("uptimerobot") == SENTRY_TOKEN
    assert settings.alert_token("sentry") == TOKEN
    assert {TOKEN, SENTRY_TOKEN, SECRET} <= set(settings.secrets)  # never logged
    # Every source that comes through /webhooks/alerts can have its own token; the others
    # (probes, PagerDuty's and Vercel's signed webhooks) arrive through their own doors.
    assert set(ALERT_TOKEN_SOURCES) == set(ALERT_SOURCES) - set(ALERT_SOURCES_ELSEWHERE)
    assert not set(ALERT_TOKEN_SOURCES) & set(ALERT_SOURCES_ELSEWHERE)


# ------------------------------------------------------------------------------ redeliveries


async def test_five_deliveries_of_a_still_firing_alert_leave_one_entry_saying_5_deliveries(
    post: Post, bot: BotContext, fake_slack: FakeSlack, clock: ManualClock
) -> None:
    for _ in range(5):
        response = await post("alertmanager", batch([critical(1)]))
        assert response.status_code == 200
        clock.advance(60)  # Alertmanager's repeat_interval, shortened
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    [entry] = await kinds(bot, incident, "alert")
    assert entry.text.endswith("Disk1: disk 1 full (still firing, 5 deliveries)")
    assert entry.data["deliveries"] == 5
    [link] = await links(bot)
    assert (link.deliveries, link.received) == (5, 5)


async def test_a_refire_after_resolving_is_a_new_entry_counted_afresh(
    post: Post, bot: BotContext, fake_slack: FakeSlack
) -> None:
    for status in ("firing", "firing", "resolved", "resolved", "firing", "firing", "firing"):
        await post("alertmanager", batch([critical(1, status=status)]))
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    assert [e.text for e in await kinds(bot, incident, "alert")] == [
        "Declared from a alertmanager alert: Disk1: disk 1 full (still firing, 2 deliveries)",
        "Alert resolved: Disk1: disk 1 full",  # the repeated resolve added nothing
        "Alert firing again: Disk1: disk 1 full (still firing, 3 deliveries)",
    ]
    texts = [m["text"] for m in fake_slack.messages[incident.channel_id]]
    assert sum(bool(re.match(r":rotating_light: Alert firing again", t)) for t in texts) == 1


async def test_a_group_join_is_announced_once_and_its_redeliveries_are_quiet(
    post: Post, bot: BotContext, fake_slack: FakeSlack
) -> None:
    await post("alertmanager", batch([critical(1)]))
    await bot.tasks.drain()
    for _ in range(3):
        await post("alertmanager", batch([critical(1), critical(2)]))
    await bot.tasks.drain()
    [incident] = await incidents(bot)
    texts = [m["text"] for m in fake_slack.messages[incident.channel_id]]
    assert sum("Alert firing (same group)" in t for t in texts) == 1
    assert [e.data.get("deliveries") for e in await kinds(bot, incident, "alert")] == [4, 3]


async def test_json_nested_past_pythons_limit_is_a_400_not_a_500(
    post: Post, bot: BotContext
) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    response = await post("generic", content=deep, headers={"content-type": "application/json"})
    assert response.status_code == 400 and "nested too deeply" in response.text
    assert await incidents(bot) == []


async def test_an_alert_firing_again_during_its_incidents_setup_is_said_in_its_channel(
    post: Post, bot: BotContext, fake_slack: FakeSlack
) -> None:
    """The declaring request's setup is slow (Slack answers slowly); a later request's message
    about the same incident waits for that setup, rather than finding no channel yet."""
    fake_slack.latency = 0.2
    try:
        for status in ("firing", "resolved", "firing"):
            await post("alertmanager", batch([critical(1, status=status)]))
        await bot.tasks.drain()
    finally:
        fake_slack.latency = 0.0
    [incident] = await incidents(bot)
    texts = [m["text"] for m in fake_slack.messages[incident.channel_id]]
    assert sum(bool(re.match(r":rotating_light: Alert firing again", t)) for t in texts) == 1
