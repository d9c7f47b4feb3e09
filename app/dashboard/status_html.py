"""The public status page as HTML (and its stylesheet, served from the bot itself: no CDN).

Every value goes through `html.escape`; a message keeps its line breaks through CSS
(`white-space: pre-line`), never through markup built from it. No script: the page refreshes
itself every REFRESH seconds with a meta refresh.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from app.domain.policy.reporting import SERVICE_STATES
from app.services.status_board import Board, PublicIncident, PublicUpdate, ServiceState

REFRESH = 60
STYLESHEET = "/status/style.css"


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _state_class(state: str) -> str:
    return f"state-{state}" if state in SERVICE_STATES else "state-unknown"


def _time(when: datetime, tz: ZoneInfo) -> str:
    local = when.astimezone(tz)
    shown = local.strftime("%d %b %Y, %H:%M ") + (local.tzname() or "")
    return f'<time datetime="{_e(when.isoformat())}">{_e(shown)}</time>'


def _update(update: PublicUpdate, tz: ZoneInfo) -> str:
    return (
        '<li class="update">'
        f'<p class="phase">{_e(update.phase_label)}</p>'
        f'<p class="message">{_e(update.message)}</p>'
        f'<p class="when">{_time(update.at, tz)}</p>'
        "</li>"
    )


def _incident(incident: PublicIncident, tz: ZoneInfo, *, past: bool) -> str:
    span = ""
    if past:
        ended = incident.ended_at or incident.latest.at
        span = f'<p class="span">{_time(incident.began_at, tz)} – {_time(ended, tz)}</p>'
    updates = "".join(_update(u, tz) for u in incident.updates)
    return (
        f'<article class="incident {_state_class(incident.state)}" id="incident-{incident.ref}">'
        f"<h3>{_e(incident.name)}</h3>{span}"
        f'<ol class="updates">{updates}</ol>'
        "</article>"
    )


def _service(service: ServiceState) -> str:
    description = (
        f'<span class="description">{_e(service.description)}</span>' if service.description else ""
    )
    return (
        f'<li class="service {_state_class(service.state)}" data-service="{_e(service.key)}">'
        f'<span class="what"><span class="name">{_e(service.name)}</span>{description}</span>'
        f'<span class="state"><span class="dot" aria-hidden="true"></span>'
        f"{_e(service.label)}</span></li>"
    )


def render(board: Board, tz: ZoneInfo) -> str:
    """The whole page."""
    active = "".join(_incident(i, tz, past=False) for i in board.active)
    history = "".join(_incident(i, tz, past=True) for i in board.history) or (
        f'<p class="quiet">No incidents in the last {board.history_days} days.</p>'
    )
    services = "".join(_service(s) for s in board.services)
    sections = []
    if active:
        sections.append(
            '<section class="active" aria-labelledby="active-title">'
            '<h2 id="active-title">Current incidents</h2>'
            f"{active}</section>"
        )
    if services:
        sections.append(
            '<section class="services" aria-labelledby="services-title">'
            f'<h2 id="services-title">Services</h2><ul>{services}</ul></section>'
        )
    sections.append(
        '<section class="history" aria-labelledby="history-title">'
        f'<h2 id="history-title">Past incidents <span class="quiet">(last {board.history_days} '
        f"days)</span></h2>{history}</section>"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="refresh" content="{REFRESH}">'
        '<meta name="robots" content="noarchive">'
        f"<title>Status · {_e(board.banner)}</title>"
        f'<link rel="stylesheet" href="{STYLESHEET}"></head><body><main>'
        '<header class="top"><h1>Service status</h1>'
        f'<p class="updated">Updated {_time(board.now, tz)} · refreshes every minute</p>'
        "</header>"
        f'<section class="banner {_state_class(board.state)}" role="status">'
        f'<span class="dot" aria-hidden="true"></span><h2>{_e(board.banner)}</h2></section>'
        + "".join(sections)
        + '<footer><a href="/status.json">status.json</a></footer></main></body></html>'
    )


CSS = """
:root {
  --ink: #1d2433; --muted: #5b6475; --line: #e3e6ec; --paper: #ffffff; --ground: #f6f7f9;
  --ok: #1f7a4d; --ok-bg: #e8f5ee; --degraded: #8a5a00; --degraded-bg: #fff6e0;
  --partial: #a4410e; --partial-bg: #fdeee4; --major: #b42318; --major-bg: #fdecea;
}
* { box-sizing: border-box; }
html { background: var(--ground); }
body {
  margin: 0; color: var(--ink); line-height: 1.5;
  font: 16px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue",
    Arial, sans-serif;
}
main { max-width: 760px; margin: 0 auto; padding: 32px 20px 48px; }
h1 { font-size: 1.6rem; margin: 0; letter-spacing: -0.01em; }
h2 { font-size: 1.15rem; margin: 0 0 12px; }
h3 { font-size: 1.05rem; margin: 0 0 8px; }
.top { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between;
  gap: 8px; margin-bottom: 20px; }
.updated, .quiet, .when, .span, .description { color: var(--muted); font-size: 0.875rem; }
.quiet { font-weight: normal; }
section { margin: 0 0 28px; }
.banner { display: flex; align-items: center; gap: 12px; padding: 18px 20px;
  border-radius: 10px; border: 1px solid var(--line); background: var(--paper); }
.banner h2 { margin: 0; font-size: 1.25rem; }
.dot { display: inline-block; width: 12px; height: 12px; border-radius: 50%;
  background: var(--ok); flex: none; }
.banner .dot { width: 16px; height: 16px; }
.state-operational.banner { background: var(--ok-bg); border-color: #bfe3cf; }
.state-degraded_performance.banner { background: var(--degraded-bg); border-color: #f1dc9f; }
.state-partial_outage.banner { background: var(--partial-bg); border-color: #f3c7aa; }
.state-major_outage.banner { background: var(--major-bg); border-color: #f2bdb8; }
.state-operational .dot { background: var(--ok); }
.state-degraded_performance .dot { background: #d39e00; }
.state-partial_outage .dot { background: #e0661b; }
.state-major_outage .dot { background: var(--major); }
.services ul { list-style: none; margin: 0; padding: 0; background: var(--paper);
  border: 1px solid var(--line); border-radius: 10px; }
.service { display: flex; align-items: center; justify-content: space-between; gap: 16px;
  padding: 14px 18px; border-top: 1px solid var(--line); }
.service:first-child { border-top: 0; }
.what { display: flex; flex-direction: column; min-width: 0; }
.name { font-weight: 600; }
.service .state { display: inline-flex; align-items: center; gap: 8px; font-size: 0.9rem;
  white-space: nowrap; font-weight: 600; }
.service.state-operational .state { color: var(--ok); }
.service.state-degraded_performance .state { color: var(--degraded); }
.service.state-partial_outage .state { color: var(--partial); }
.service.state-major_outage .state { color: var(--major); }
.incident { background: var(--paper); border: 1px solid var(--line); border-radius: 10px;
  padding: 16px 18px; margin-bottom: 12px; border-left: 4px solid var(--ok); }
.incident.state-degraded_performance { border-left-color: #d39e00; }
.incident.state-partial_outage { border-left-color: #e0661b; }
.incident.state-major_outage { border-left-color: var(--major); }
.history .incident { border-left-color: #c5cad3; }
.updates { list-style: none; margin: 0; padding: 0; }
.update { padding: 10px 0; border-top: 1px solid var(--line); }
.update:first-child { border-top: 0; padding-top: 0; }
.update p { margin: 0; }
.phase { font-weight: 600; }
.message { white-space: pre-line; overflow-wrap: anywhere; }
.span { margin: -4px 0 8px; }
footer { color: var(--muted); font-size: 0.8rem; text-align: center; }
footer a { color: var(--muted); }
@media (max-width: 520px) {
  main { padding: 20px 14px 36px; }
  .service { align-items: flex-start; flex-direction: column; gap: 4px; }
}
"""
