"""`incident-bot check`'s lines about the web features of issue 18: the dashboard, the public
status page, the Atlassian Statuspage sync and the plan's own review. One line each, saying what
is on and what to set to turn the rest on; never a secret (a token, a key, a client secret).

What fails the check: the Statuspage sync refusing or unreachable (exit 1, like a tracker), and a
policy service whose `statuspage_component` is not on the page (exit 2: a setting to fix, or
every sync of a post naming that service is refused). A half-set Sign in with Slack, cookies
that are not Secure and a status page without services are warnings: the bot serves anyway.

The Statuspage lines come from two read-only calls, GET /pages/{page_id} (the page's name) and
GET /pages/{page_id}/components, through the client the `statuspage` step uses.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta

from app.channels.statuspage import RemoteComponent, StatuspageClient, StatuspageError
from app.cli.common import EXIT_CONFIG, EXIT_FAILED
from app.cli.database import MigrationState
from app.cli.trackers import Line, exit_code
from app.config.settings import Settings
from app.domain.periods import Period, quarter_of
from app.domain.policy import Policy
from app.domain.policy.reporting import PlanReview, StatusService

SIGN_IN = "SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and PUBLIC_URL"
CALLBACK = "/dashboard/auth/callback"  # app.dashboard.auth.CALLBACK_PATH (cli does not load it)
SHOWN = 6  # names listed on one line, at most


def _names(items: Sequence[str]) -> str:
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return ", ".join(items[:SHOWN]) + more


def _at(settings: Settings, path: str) -> str:
    return f"{settings.public_url.rstrip('/')}{path}" if settings.public_url else path


# --- the dashboard -------------------------------------------------------------------------------


def dashboard_lines(settings: Settings) -> list[Line]:
    lines: list[Line] = []
    if settings.sign_in_with_slack:
        also = "; DASHBOARD_TOKEN signs in too" if settings.dashboard_token else ""
        lines.append(
            Line(
                f"dashboard: Sign in with Slack at {_at(settings, '/dashboard')} (Redirect URL "
                f"{_at(settings, CALLBACK)} under OAuth & Permissions), sessions of "
                f"{settings.dashboard_session_hours:g} h{also}"
            )
        )
    elif settings.dashboard_token:
        lines.append(
            Line(
                f"dashboard: static token only (DASHBOARD_TOKEN) at {_at(settings, '/dashboard')}"
                f": set {SIGN_IN} for Sign in with Slack"
            )
        )
    else:
        lines.append(
            Line(
                "dashboard: off: set DASHBOARD_TOKEN (a static token, for a first setup) or "
                f"{SIGN_IN} (Sign in with Slack) to serve /dashboard"
            )
        )
    if (settings.slack_client_id or settings.slack_client_secret) and not (
        settings.sign_in_with_slack
    ):
        wanted = {
            "SLACK_CLIENT_ID": settings.slack_client_id,
            "SLACK_CLIENT_SECRET": settings.slack_client_secret,
            "PUBLIC_URL": settings.public_url,
        }
        given = [name for name, value in wanted.items() if value]
        missing = [name for name, value in wanted.items() if not value]
        lines.append(
            Line(
                f"dashboard: Sign in with Slack is off: {' and '.join(given)} "
                f"{'is' if len(given) == 1 else 'are'} set but not {' or '.join(missing)}",
                warning=True,
            )
        )
    if settings.dashboard_enabled and not (settings.public_url or "").startswith("https://"):
        where = (
            f"PUBLIC_URL is {settings.public_url}" if settings.public_url else "PUBLIC_URL unset"
        )
        lines.append(
            Line(
                f"dashboard: {where}, not https: its sign-in cookies are not Secure (a browser "
                "sends them over plain http too): serve the bot over https and set PUBLIC_URL so",
                warning=True,
            )
        )
    return lines


# --- the status page -----------------------------------------------------------------------------


def status_page_lines(settings: Settings, policy: Policy) -> list[Line]:
    services = [service.key for service in policy.services]
    count = f"{len(services)} service{'' if len(services) == 1 else 's'}"
    if not settings.status_page:
        listed = f"the policy's {count}" if services else "the services listed in the policy"
        return [
            Line(
                f"status page: off: set STATUS_PAGE=true to serve {listed} at /status (and "
                "publish to it with /incident statuspage)"
            )
        ]
    if not services:
        return [
            Line(
                f"status page: on at {_at(settings, '/status')}, but the policy lists no "
                "services: add them under services: in the policy (POLICY_FILE); until then "
                "the page shows only the overall state and the posts",
                warning=True,
            )
        ]
    return [
        Line(
            f"status page: on at {_at(settings, '/status')} (and /status.json), {count}: "
            f"{_names(services)}"
        )
    ]


# --- the Atlassian Statuspage sync -----------------------------------------------------------


def _refusal(exc: StatuspageError, page_id: str) -> str:
    if exc.status in (401, 403):
        return (
            f"Statuspage refused the API key ({exc.status}): set STATUSPAGE_API_KEY to a key "
            "of the page's organization (your profile, API info)"
        )
    if exc.status == 404:
        return f"Statuspage has no page {page_id} for this key (404): check STATUSPAGE_PAGE_ID"
    return f"{exc.message}: check STATUSPAGE_API_URL"


def component_lines(
    page: str, services: Sequence[StatusService], components: Sequence[RemoteComponent]
) -> list[Line]:
    """Whether every service's `statuspage_component` is a component of the page."""
    on_page = {component.id: component for component in components}
    mapped = [s for s in services if s.statuspage_component]
    unmapped = [s.key for s in services if not s.statuspage_component]
    absent = [s for s in mapped if s.statuspage_component not in on_page]
    lines: list[Line] = []
    if not services:
        lines.append(
            Line(
                f"statuspage sync: {page}, {len(components)} components; the policy lists no "
                "services, so incidents are copied without component states"
            )
        )
    elif absent:
        wrong = [f"{s.key} ({s.statuspage_component})" for s in absent]
        choices = [f"{c.name} ({c.id})" for c in components if not c.group]
        lines.append(
            Line(
                f"statuspage sync: {page} has no component {_names(wrong)}: set their "
                "services[].statuspage_component in the policy to one of the page's: "
                f"{_names(choices) or 'none yet (add them under Components)'}",
                EXIT_CONFIG,
            )
        )
    elif mapped:
        pairs = [f"{s.key}: {on_page[str(s.statuspage_component)].name}" for s in mapped]
        which = (
            "every service's component is on it"
            if not unmapped
            else f"the components of {len(mapped)} of {len(services)} services are on it"
        )
        lines.append(Line(f"statuspage sync: {page}: {which} ({_names(pairs)})"))
    if services and unmapped:
        lines.append(
            Line(
                f"statuspage sync: {_names(unmapped)} without statuspage_component: their "
                "posts reach Statuspage with no component state (set services[]."
                "statuspage_component in the policy to a component id of the page)",
                warning=True,
            )
        )
    return lines


async def _statuspage(settings: Settings, policy: Policy) -> list[Line]:
    assert settings.statuspage_api_key is not None and settings.statuspage_page_id is not None
    page_id = settings.statuspage_page_id
    client = StatuspageClient(settings.statuspage_api_url, settings.statuspage_api_key, page_id)
    try:
        async with client:
            page = await client.page()
            components = await client.components()
    except StatuspageError as exc:
        return [Line(f"statuspage sync: {_refusal(exc, page_id)}", EXIT_FAILED)]
    return component_lines(f'page "{page.name}" ({page.id})', policy.services, components)


def statuspage_lines(settings: Settings, policy: Policy) -> list[Line]:
    if not settings.statuspage_sync:
        wanted = {
            "STATUSPAGE_API_KEY": settings.statuspage_api_key,
            "STATUSPAGE_PAGE_ID": settings.statuspage_page_id,
        }
        given = [name for name, value in wanted.items() if value]
        if given:
            [set_one] = given
            [unset] = [name for name in wanted if name not in given]
            return [Line(f"statuspage sync: off: {set_one} is set but not {unset}", warning=True)]
        return [
            Line(
                "statuspage sync: off: set STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID to copy "
                "the status posts to Atlassian Statuspage"
            )
        ]
    lines = asyncio.run(_statuspage(settings, policy))
    if not settings.status_page:
        lines.append(
            Line(
                "statuspage sync: configured, but STATUS_PAGE is off: nothing is published, "
                "so nothing is copied",
                warning=True,
            )
        )
    return lines


# --- the plan's review ---------------------------------------------------------------------------


def _due(config: PlanReview, day: datetime) -> datetime:
    return datetime.combine(day.astimezone(config.tz).date(), config.at, tzinfo=config.tz)


def review_times(config: PlanReview, now: datetime) -> tuple[Period, datetime, Period | None]:
    """The next reminder (the quarter it reviews, when it is due) and the quarter whose
    reminder is due already (None on a quarter's first day before `at`), as plan_review does."""
    current = quarter_of(now, config.tz)
    last = quarter_of(current.since - timedelta(days=1), config.tz)
    starts = _due(config, current.since)
    if now < starts:
        return last, starts, None
    return current, _due(config, current.until), last


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z")


def _sent(database_url: str, quarter: str) -> tuple[datetime | None, str | None] | None:
    """The plan_reviews row of `quarter`: (sent_at, error), or None when there is none."""
    from sqlalchemy.exc import SQLAlchemyError

    from app.store.db import make_engine, make_sessionmaker
    from app.store.models import PlanReviewSent

    async def read() -> tuple[datetime | None, str | None] | None:
        engine = make_engine(database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                row = await session.get(PlanReviewSent, quarter)
                return None if row is None else (row.sent_at, row.error)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(read())
    except (SQLAlchemyError, OSError):  # said by the database line already
        return None


def plan_review_lines(
    policy: Policy, now: datetime, database_url: str, state: MigrationState
) -> list[Line]:
    config = policy.plan_review
    if config is None:
        return [
            Line(
                "plan review: off: set plan_review.owner (a Slack user id) in the policy to "
                "remind its owner every quarter, with the quarter's report attached"
            )
        ]
    upcoming, due_at, overdue = review_times(config, now)
    text = (
        f"plan review: quarterly to {config.owner}; next on {_when(due_at)}, with "
        f"{upcoming.label}'s report"
    )
    if overdue is not None:
        row = _sent(database_url, overdue.label) if state.up_to_date else None
        if row is not None and row[0] is not None:
            text += f" ({overdue.label}'s was sent {_when(row[0].astimezone(config.tz))})"
        elif row is not None and row[1]:
            text += f" ({overdue.label}'s failed: {row[1]}; a later pass retries it)"
        else:
            text += f" ({overdue.label}'s is due: `serve` sends it on its first pass)"
    return [Line(text)]


# --- all of them -------------------------------------------------------------------------------


def web_lines(
    settings: Settings, policy: Policy, now: datetime, state: MigrationState
) -> list[Line]:
    return [
        *dashboard_lines(settings),
        *status_page_lines(settings, policy),
        *statuspage_lines(settings, policy),
        *plan_review_lines(policy, now, settings.database_url, state),
    ]


def check_web(settings: Settings, policy: Policy, now: datetime, state: MigrationState) -> int:
    """Print the web features' lines (failures on stderr); the exit code they call for."""
    lines = web_lines(settings, policy, now, state)
    for line in lines:
        if line.code:
            print(line.text, file=sys.stderr)
        else:
            print(f"warning: {line.text}" if line.warning else line.text)
    return exit_code(lines)
