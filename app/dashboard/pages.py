"""The dashboard's pages, read-only, each behind the door (`auth.guard`):

    GET /dashboard                         the open incidents with their clocks
    GET /dashboard/report?period=2026Q3    the report against the plan, with its charts
    GET /dashboard/incidents/{public_id}   one incident: facts, timeline, documents
    GET /dashboard/static/dashboard.css    the stylesheet (the only other file a page loads)

What a page shows comes from `app.services.dashboard`, which leaves out every incident the
viewer may not see; a page only words it, escaping every value (`html.esc`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.context import BotContext
from app.dashboard import auth, report_page
from app.dashboard.html import (
    esc,
    layout,
    link,
    page_response,
    severity_badge,
    status_badge,
    table,
)
from app.domain.formatting import format_time
from app.services import dashboard as views
from app.services.dashboard import Clock, IncidentPage, OpenIncident

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"dashboard.css": "text/css; charset=utf-8"}
REFRESH_SECONDS = 60


def routes(bot: BotContext) -> list[BaseRoute]:
    """/dashboard, /dashboard/report, /dashboard/incidents/{public_id}, the stylesheet."""
    pages = _Pages(bot)
    return [
        Route("/dashboard", auth.guard(bot, pages.board), methods=["GET"]),
        Route("/dashboard/report", auth.guard(bot, pages.report), methods=["GET"]),
        Route("/dashboard/incidents/{public_id}", auth.guard(bot, pages.incident), methods=["GET"]),
        Route("/dashboard/static/{name}", pages.asset, methods=["GET"]),
    ]


def viewer_name(request: Request) -> str:
    viewer = getattr(request.state, "viewer", None)
    return viewer.name if viewer is not None else ""


def viewer_id(request: Request) -> str | None:
    viewer = getattr(request.state, "viewer", None)
    return viewer.user_id if viewer is not None else None


def clock(value: Clock) -> str:
    return f'<span class="clock clock-{esc(value.state)}">{esc(value.text)}</span>'


def _private_badge(private: bool) -> str:
    return ' <span class="tag">private</span>' if private else ""


class _Pages:
    def __init__(self, bot: BotContext) -> None:
        self.bot = bot

    async def board(self, request: Request) -> Response:
        board = await views.board(self.bot, viewer_id(request))
        tz = self.bot.settings.tz
        count = len(board.incidents)
        heading = (
            '<div class="heading"><h1>Open incidents</h1>'
            f'<p class="count" data-count="{count}">{count} open</p>'
            f"{_severity_counts(board.incidents)}</div>"
            f'<p class="muted lede">As of {esc(format_time(board.now, tz))} · this page '
            f"refreshes every {REFRESH_SECONDS} seconds.</p>"
        )
        if not board.incidents:
            body = heading + '<p class="empty-state">No open incidents. All quiet.</p>'
        else:
            rows = [_board_row(incident) for incident in board.incidents]
            body = heading + table(
                ["Incident", "Severity", "Status", "Lead", "Open for", "Response", "Updates"],
                rows,
                caption="Open incidents, most severe first",
                css="board",
                labelled=True,
            )
        document = layout(
            "Open incidents",
            body,
            active="board",
            viewer=viewer_name(request),
            refresh_seconds=REFRESH_SECONDS,
        )
        return page_response(document)

    async def report(self, request: Request) -> Response:
        asked = request.query_params.get("period")
        try:
            period, report = await views.report(self.bot, asked)
        except ValueError as exc:
            body = report_page.period_form(asked or "") + (
                f'<p class="error" role="alert">{esc(exc)}</p>'
            )
            return page_response(
                layout("Report", body, active="report", viewer=viewer_name(request)), 400
            )
        body = report_page.render(period, report, self.bot.settings.tz)
        document = layout(
            f"Report {period.label}", body, active="report", viewer=viewer_name(request)
        )
        return page_response(document)

    async def incident(self, request: Request) -> Response:
        public_id = request.path_params["public_id"]
        page = await views.incident_page(self.bot, viewer_id(request), public_id.upper())
        if page is None:
            body = (
                "<h1>Not found</h1><p>There is no incident "
                f"<strong>{esc(public_id)}</strong> you can see.</p>"
                '<p><a href="/dashboard">Back to the open incidents</a></p>'
            )
            return page_response(
                layout("Not found", body, viewer=viewer_name(request)), status_code=404
            )
        body = _incident_body(page, self.bot)
        document = layout(
            f"{page.public_id} {page.title}", body, active="", viewer=viewer_name(request)
        )
        return page_response(document)

    async def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        if not self.bot.settings.dashboard_enabled or name not in ASSETS:
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(
            (STATIC / name).read_bytes(),
            media_type=ASSETS[name],
            headers={"cache-control": "public, max-age=300", "x-content-type-options": "nosniff"},
        )


def _severity_counts(incidents: tuple[OpenIncident, ...]) -> str:
    """`1 P0 · 2 P1`, most severe first."""
    counts: dict[tuple[int, str], int] = {}
    for incident in incidents:
        key = (incident.rank, incident.severity)
        counts[key] = counts.get(key, 0) + 1
    return (
        '<p class="by-severity">'
        + "".join(
            f'<span class="pair">{n} {severity_badge(severity, rank)}</span>'
            for (rank, severity), n in sorted(counts.items())
        )
        + "</p>"
    )


def _board_row(incident: OpenIncident) -> list[str]:
    target = f"/dashboard/incidents/{esc(incident.public_id)}"
    return [
        f'<a class="incident-link" href="{target}"><span class="title">{esc(incident.title)}'
        f'</span><span class="id">{esc(incident.public_id)}</span></a>'
        + _private_badge(incident.private),
        severity_badge(incident.severity, incident.rank, incident.severity_name),
        status_badge(incident.status),
        esc(incident.lead) if incident.lead else '<span class="muted">no lead</span>',
        f'<span class="clock">{esc(incident.open_for)}</span>',
        clock(incident.response),
        clock(incident.update),
    ]


def _when(value: datetime | None, bot: BotContext) -> str:
    return esc(format_time(value, bot.settings.tz)) if value else '<span class="muted">—</span>'


def _fact(term: str, value: str) -> str:
    return f"<div><dt>{esc(term)}</dt><dd>{value}</dd></div>"


def _incident_body(page: IncidentPage, bot: BotContext) -> str:
    acknowledged = _when(page.acknowledged_at, bot)
    if page.acknowledged_by:
        acknowledged += f" by {esc(page.acknowledged_by)}"
    channel = link(page.channel.url, page.channel.label) if page.channel is not None else ""
    tickets = " · ".join(link(ticket.url, ticket.label) for ticket in page.tickets)
    none = '<span class="muted">—</span>'
    facts = [
        _fact("Status", status_badge(page.status)),
        _fact("Severity", f"{severity_badge(page.severity, page.rank)} {esc(page.severity_name)}"),
        _fact("Declared", _when(page.started_at, bot)),
        _fact("Acknowledged", acknowledged),
        _fact("Resolved", _when(page.resolved_at, bot)),
        _fact("Duration" if not page.is_open else "Open for", esc(page.duration)),
        _fact("Response target", clock(page.response)),
        _fact("Updates", clock(page.update)),
        _fact("Lead", esc(page.lead) if page.lead else none),
        _fact("Reporter", esc(page.reporter) if page.reporter else none),
        _fact("Type", esc(page.incident_type) if page.incident_type else none),
        _fact("Impacts", esc(", ".join(page.impacts)) if page.impacts else none),
        _fact("Slack channel", channel or none),
        _fact("Tickets", tickets or none),
    ]
    description = (
        f'<section><h2>Description</h2><p class="text">{esc(page.description)}</p></section>'
        if page.description
        else ""
    )
    tz = bot.settings.tz
    entries = "".join(
        f'<li class="entry kind-{esc(e.kind)}"><time datetime="{esc(e.when.isoformat())}">'
        f'{esc(format_time(e.when, tz))}</time><span class="kind">'
        f"{esc(e.kind.replace('_', ' ').capitalize())}</span>"
        + (f'<span class="actor">{esc(e.actor)}</span>' if e.actor else "")
        + f'<span class="text">{esc(e.text)}</span></li>'
        for e in page.timeline
    )
    timeline = (
        f'<section><h2>Timeline <span class="muted">({len(page.timeline)} entries, '
        f'{esc(tz.key)})</span></h2><ol class="timeline">{entries}</ol></section>'
    )
    documents = (
        "<section><h2>Documents</h2><details open><summary>Incident log</summary>"
        f'<pre class="document" id="incident-log">{esc(page.incident_log)}</pre></details>'
        "<details><summary>Post-mortem draft</summary>"
        f'<pre class="document" id="postmortem">{esc(page.postmortem)}</pre></details>'
        "</section>"
    )
    return (
        f'<p class="crumbs"><a href="/dashboard">Open incidents</a> / {esc(page.public_id)}</p>'
        f'<div class="heading"><h1>{severity_badge(page.severity, page.rank)} '
        f'<span class="id">{esc(page.public_id)}</span> {esc(page.title)}'
        f"{_private_badge(page.private)}</h1></div>"
        f'<dl class="facts">{"".join(facts)}</dl>{description}{timeline}{documents}'
    )
