"""`incident-bot check` tells a newcomer the state of the web features, one line each, with what
to set to turn the rest on and never a secret: the dashboard (off, static token only, Sign in
with Slack; a half-set sign-in and cookies that are not Secure warned), the status page (its
services), the Atlassian Statuspage sync (its page's name and whether every service's component
is on it, by read-only calls to the fake Statuspage; a wrong key or page id one line) and the
plan review (its owner, the next reminder, and whether the last quarter's was sent)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from app.cli.check_web import review_times
from app.clock import ManualClock
from app.context import BotContext
from app.domain.policy.reporting import PlanReview
from app.sandbox.fakeslack import FakeSlack
from app.sandbox.statuspage import FakeStatuspage
from app.services.plan_review import send_plan_review
from tests.test_cli import run_cli
from tests.test_cli_check import POLICIES, slack_env

STATUS_POLICY = str(POLICIES / "status_page.yml")
SYNC_POLICY = str(POLICIES / "statuspage.yml")  # api and payments have components, email none
REVIEW_POLICY = POLICIES / "plan_review.yml"
CLIENT_SECRET = "client-secret-0f9e8d7c6b5a"
DASHBOARD_TOKEN = "dashboard-token-0123456789abcdef"
HTTPS = "https://bot.example.com"
OFF = {
    "SLACK_CLIENT_ID": "",
    "SLACK_CLIENT_SECRET": "",
    "DASHBOARD_TOKEN": "",
    "PUBLIC_URL": "",
    "STATUS_PAGE": "false",
    "STATUSPAGE_API_KEY": "",
    "STATUSPAGE_PAGE_ID": "",
}


async def check(tmp_path: Path, fake: FakeSlack, **env: str) -> tuple[int, list[str], list[str]]:
    code, out, err = await run_cli(tmp_path, "check", **slack_env(fake, **{**OFF, **env}))
    assert "Traceback" not in err
    return code, out.splitlines(), err.splitlines()


def about(lines: list[str], feature: str) -> list[str]:
    return [line for line in lines if line.removeprefix("warning: ").startswith(f"{feature}:")]


# ------------------------------------------------------------------------------- dashboard


async def test_check_says_the_dashboard_is_off_and_which_settings_turn_it_on(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    code, out, err = await check(tmp_path, fake_slack)
    assert code == 0, err
    assert about(out, "dashboard") == [
        "dashboard: off: set DASHBOARD_TOKEN (a static token, for a first setup) or "
        "SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and PUBLIC_URL (Sign in with Slack) to serve "
        "/dashboard"
    ]


async def test_check_says_the_dashboard_opens_with_the_static_token_only_and_never_prints_it(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    code, out, err = await check(
        tmp_path, fake_slack, DASHBOARD_TOKEN=DASHBOARD_TOKEN, PUBLIC_URL=HTTPS
    )
    assert code == 0, err
    assert about(out, "dashboard") == [
        f"dashboard: static token only (DASHBOARD_TOKEN) at {HTTPS}/dashboard: set "
        "SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and PUBLIC_URL for Sign in with Slack"
    ]
    assert DASHBOARD_TOKEN not in "\n".join(out + err)


async def test_check_says_sign_in_with_slack_is_ready_with_its_redirect_url(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    code, out, err = await check(
        tmp_path,
        fake_slack,
        SLACK_CLIENT_ID="1234.5678",
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
        PUBLIC_URL=HTTPS,
    )
    assert code == 0, err
    assert about(out, "dashboard") == [
        f"dashboard: Sign in with Slack at {HTTPS}/dashboard (Redirect URL "
        f"{HTTPS}/dashboard/auth/callback under OAuth & Permissions), sessions of 12 h"
    ]
    assert CLIENT_SECRET not in "\n".join(out + err)


@pytest.mark.parametrize(
    ("env", "said"),
    [
        (
            {"SLACK_CLIENT_ID": "1234.5678"},
            "SLACK_CLIENT_ID is set but not SLACK_CLIENT_SECRET or PUBLIC_URL",
        ),
        (
            {"SLACK_CLIENT_ID": "1234.5678", "PUBLIC_URL": HTTPS},
            "SLACK_CLIENT_ID and PUBLIC_URL are set but not SLACK_CLIENT_SECRET",
        ),
        (
            {"SLACK_CLIENT_ID": "1234.5678", "SLACK_CLIENT_SECRET": CLIENT_SECRET},
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set but not PUBLIC_URL",
        ),
    ],
    ids=["no secret nor address", "no secret", "no address"],
)
async def test_check_warns_which_half_of_sign_in_with_slack_is_missing(
    tmp_path: Path, fake_slack: FakeSlack, env: dict[str, str], said: str
) -> None:
    code, out, err = await check(tmp_path, fake_slack, **env)
    assert code == 0, err
    assert f"warning: dashboard: Sign in with Slack is off: {said}" in out
    assert about(out, "dashboard")[0].startswith("dashboard: off: ")
    assert CLIENT_SECRET not in "\n".join(out + err)


async def test_check_warns_that_cookies_are_not_secure_when_public_url_is_not_https(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    code, out, err = await check(
        tmp_path, fake_slack, DASHBOARD_TOKEN=DASHBOARD_TOKEN, PUBLIC_URL="http://bot.example.com"
    )
    assert code == 0, err
    [warning] = [line for line in about(out, "dashboard") if line.startswith("warning:")]
    assert warning.startswith(
        "warning: dashboard: PUBLIC_URL is http://bot.example.com, not https: its sign-in "
        "cookies are not Secure"
    )
    # Served over https, no warning.
    code, out, err = await check(
        tmp_path, fake_slack, DASHBOARD_TOKEN=DASHBOARD_TOKEN, PUBLIC_URL=HTTPS
    )
    assert not [line for line in about(out, "dashboard") if line.startswith("warning:")]


# ------------------------------------------------------------------------------- status page


async def test_check_says_the_status_page_is_off_with_the_policys_services_count(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    code, out, err = await check(tmp_path, fake_slack, POLICY_FILE=STATUS_POLICY)
    assert code == 0, err
    assert about(out, "status page") == [
        "status page: off: set STATUS_PAGE=true to serve the policy's 3 services at /status "
        "(and publish to it with /incident statuspage)"
    ]


async def test_check_lists_the_status_pages_services_when_it_is_on(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    code, out, err = await check(
        tmp_path, fake_slack, POLICY_FILE=STATUS_POLICY, STATUS_PAGE="true", PUBLIC_URL=HTTPS
    )
    assert code == 0, err
    assert about(out, "status page") == [
        f"status page: on at {HTTPS}/status (and /status.json), 3 services: api, payments, email"
    ]


async def test_check_warns_about_a_status_page_on_without_services(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    code, out, err = await check(tmp_path, fake_slack, STATUS_PAGE="true")  # default policy
    assert code == 0, err
    [line] = about(out, "status page")
    assert line.startswith(
        "warning: status page: on at /status, but the policy lists no services: add them under "
        "services: in the policy"
    )


# ------------------------------------------------------------------------ Statuspage sync


@pytest.fixture
async def statuspage() -> AsyncIterator[FakeStatuspage]:
    fake = FakeStatuspage(name="Acme Status")
    fake.add_component("API", "8kbf7d35c070")
    fake.add_component("Payments", "vtnh60py4yd7")
    await fake.start()
    yield fake
    await fake.stop()
    assert fake.violations == []
    assert {call.method for call in fake.requests} <= {"GET"}  # check changes nothing


def sync_env(fake: FakeStatuspage, **extra: str) -> dict[str, str]:
    return {
        "POLICY_FILE": SYNC_POLICY,
        "STATUS_PAGE": "true",
        "STATUSPAGE_API_URL": fake.base_url,
        "STATUSPAGE_API_KEY": fake.api_key,
        "STATUSPAGE_PAGE_ID": fake.page_id,
        **extra,
    }


async def test_check_says_the_statuspage_sync_is_off_and_what_turns_it_on(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    code, out, err = await check(tmp_path, fake_slack)
    assert code == 0, err
    assert about(out, "statuspage sync") == [
        "statuspage sync: off: set STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID to copy the "
        "status posts to Atlassian Statuspage"
    ]
    code, out, err = await check(tmp_path, fake_slack, STATUSPAGE_PAGE_ID="pg0kx3m2qv7d")
    assert code == 0, err
    assert about(out, "statuspage sync") == [
        "warning: statuspage sync: off: STATUSPAGE_PAGE_ID is set but not STATUSPAGE_API_KEY"
    ]


async def test_check_names_the_statuspage_page_and_finds_every_services_component(
    tmp_path: Path, fake_slack: FakeSlack, statuspage: FakeStatuspage
) -> None:
    code, out, err = await check(tmp_path, fake_slack, **sync_env(statuspage))
    assert code == 0, err
    assert about(out, "statuspage sync") == [
        f'statuspage sync: page "Acme Status" ({statuspage.page_id}): the components of 2 of 3 '
        "services are on it (api: API, payments: Payments)",
        "warning: statuspage sync: email without statuspage_component: their posts reach "
        "Statuspage with no component state (set services[].statuspage_component in the "
        "policy to a component id of the page)",
    ]
    assert [call.route for call in statuspage.requests] == [
        "GET /pages/{page_id}",
        "GET /components",
    ]
    assert statuspage.api_key not in "\n".join(out + err)


async def test_check_fails_naming_a_services_component_missing_from_the_page(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    fake = FakeStatuspage(name="Acme Status")
    fake.add_component("API", "8kbf7d35c070")
    fake.add_component("Web", "w3b000000001")
    await fake.start()
    try:
        code, out, err = await check(tmp_path, fake_slack, **sync_env(fake))
    finally:
        await fake.stop()
    assert code == 2
    assert (
        f'statuspage sync: page "Acme Status" ({fake.page_id}) has no component payments '
        "(vtnh60py4yd7): set their services[].statuspage_component in the policy to one of the "
        "page's: API (8kbf7d35c070), Web (w3b000000001)"
    ) in err
    assert fake.violations == []


@pytest.mark.parametrize(
    ("wrong", "said"),
    [
        (
            {"STATUSPAGE_API_KEY": "revoked-key"},
            "statuspage sync: Statuspage refused the API key (401): set STATUSPAGE_API_KEY to a "
            "key of the page's organization (your profile, API info)",
        ),
        (
            {"STATUSPAGE_PAGE_ID": "nosuchpage01"},
            "statuspage sync: Statuspage has no page nosuchpage01 for this key (404): check "
            "STATUSPAGE_PAGE_ID",
        ),
    ],
    ids=["wrong key", "wrong page id"],
)
async def test_a_wrong_statuspage_key_or_page_id_fails_check_with_one_line(
    tmp_path: Path,
    fake_slack: FakeSlack,
    statuspage: FakeStatuspage,
    wrong: dict[str, str],
    said: str,
) -> None:
    code, out, err = await check(tmp_path, fake_slack, **sync_env(statuspage, **wrong))
    assert code == 1
    assert about(err, "statuspage sync") == [said]
    assert about(out, "statuspage sync") == []
    assert "revoked-key" not in "\n".join(out + err)


async def test_check_warns_that_the_sync_copies_nothing_while_the_status_page_is_off(
    tmp_path: Path, fake_slack: FakeSlack, statuspage: FakeStatuspage
) -> None:
    code, out, err = await check(tmp_path, fake_slack, **sync_env(statuspage, STATUS_PAGE="false"))
    assert code == 0, err
    assert (
        "warning: statuspage sync: configured, but STATUS_PAGE is off: nothing is published, so "
        "nothing is copied"
    ) in out


# ------------------------------------------------------------------------------- plan review


def test_the_next_review_is_on_the_next_quarters_first_day_at_its_time() -> None:
    config = PlanReview(owner="UCTO", at=time(9, 0), time_zone="Europe/Paris")
    paris = config.tz
    before = datetime(2027, 4, 1, 8, 59, tzinfo=paris)  # the first day, before 09:00
    upcoming, due, overdue = review_times(config, before)
    assert (upcoming.label, due, overdue) == (
        "2027Q1",
        datetime(2027, 4, 1, 9, 0, tzinfo=paris),
        None,
    )
    after = datetime(2027, 4, 1, 9, 0, tzinfo=paris)
    upcoming, due, overdue = review_times(config, after)
    assert upcoming.label == "2027Q2" and due == datetime(2027, 7, 1, 9, 0, tzinfo=paris)
    assert overdue is not None and overdue.label == "2027Q1"  # due since 09:00: sent or not
    late_in_year = datetime(2027, 12, 31, 23, 30, tzinfo=paris)
    upcoming, due, _ = review_times(config, late_in_year)
    assert upcoming.label == "2027Q4" and due == datetime(2028, 1, 1, 9, 0, tzinfo=paris)


async def test_check_says_the_plan_review_is_off_without_plan_review_in_the_policy(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    code, out, err = await check(tmp_path, fake_slack)
    assert code == 0, err
    assert about(out, "plan review") == [
        "plan review: off: set plan_review.owner (a Slack user id) in the policy to remind its "
        "owner every quarter, with the quarter's report attached"
    ]


def review_line(config: PlanReview, now: datetime, tail: str) -> str:
    upcoming, due, overdue = review_times(config, now)
    assert overdue is not None
    return (
        f"plan review: quarterly to UCTO; next on {due:%Y-%m-%d %H:%M %Z}, with "
        f"{upcoming.label}'s report ({overdue.label}'s {tail})"
    )


async def test_check_gives_the_plan_reviews_owner_next_time_and_last_quarters_state(
    tmp_path: Path,
    fake_slack: FakeSlack,
    bot: BotContext,
    clock: ManualClock,
    database_url: str,
) -> None:
    policy = tmp_path / "policy.yml"  # the review at midnight: last quarter's is always due
    policy.write_text(REVIEW_POLICY.read_text().replace('at: "09:00"', 'at: "00:00"'))
    config = PlanReview(owner="UCTO", at=time(0, 0), time_zone="Europe/Paris")
    env = {"POLICY_FILE": str(policy), "DATABASE_URL": database_url}
    code, out, err = await check(tmp_path, fake_slack, **env)
    assert code == 0, err
    [line] = about(out, "plan review")
    assert line == review_line(
        config, datetime.now(UTC), "is due: `serve` sends it on its first pass"
    )

    clock.set(datetime.now(UTC))
    bot.policy = bot.policy.model_copy(update={"plan_review": config})
    assert await send_plan_review(bot, clock.now(), "w1") is True
    code, out, err = await check(tmp_path, fake_slack, **env)
    assert code == 0, err
    [line] = about(out, "plan review")
    sent = f"{clock.now().astimezone(config.tz):%Y-%m-%d %H:%M %Z}"
    assert line == review_line(config, datetime.now(UTC), f"was sent {sent}")
