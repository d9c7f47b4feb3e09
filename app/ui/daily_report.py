"""The daily report (`daily_report:` in the policy): each probe's state and its last 24 hours,
the open incidents, the overdue action items, and what failed since the last report.

Every configured or alert-made word (probe details, incident titles, item texts) is escaped;
a private incident shows its id and severity only, never its title or its items' texts. Each
part is one section, its lines cut to fit Slack's 3000 characters ("…and N more"), so the
message stays within Block Kit's limits however much happened overnight.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from slack_sdk.models.blocks import Block, HeaderBlock, PlainTextObject

from app.domain.durations import format_duration
from app.ui.common import SECTION_MAX, Message, escape, section

__all__ = ["FailureLine", "IncidentLine", "ItemLine", "ProbeLine", "daily_report"]


@dataclass(frozen=True)
class ProbeLine:
    name: str
    kind: str
    ok: bool | None  # None: not checked yet
    detail: str
    p50_ms: float | None
    p95_ms: float | None
    checks: int
    failures: int
    tls_days_left: int | None = None


@dataclass(frozen=True)
class IncidentLine:
    public_id: str
    severity: str
    title: str
    private: bool
    started_at: datetime
    status: str


@dataclass(frozen=True)
class ItemLine:
    public_id: str
    text: str
    owner_id: str | None
    due_on: date
    private: bool


@dataclass(frozen=True)
class FailureLine:
    name: str
    count: int
    first_at: datetime
    last_at: datetime
    detail: str


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} ms"


def _probe(line: ProbeLine) -> str:
    mark = {True: ":large_green_circle:", False: ":red_circle:", None: ":white_circle:"}[line.ok]
    text = f"{mark} *{escape(line.name)}* ({line.kind}): {escape(line.detail)}"
    text += f" · p50 {_ms(line.p50_ms)}, p95 {_ms(line.p95_ms)}"
    text += f" · {line.failures} of {line.checks} checks failed in 24 h"
    if line.tls_days_left is not None:
        text += f" · certificate: {line.tls_days_left} days left"
    return text


def _age(started_at: datetime, now: datetime) -> str:
    minutes = max(0, int((now - started_at).total_seconds() // 60))
    return format_duration(timedelta(minutes=max(minutes, 1)))


def _incident(line: IncidentLine, now: datetime) -> str:
    title = "(private)" if line.private else escape(line.title)
    age = _age(line.started_at, now)
    return f"• *{line.severity}* `{line.public_id}` {title} · {line.status} · open {age}"


def _item(line: ItemLine) -> str:
    text = "(private incident)" if line.private else escape(line.text)
    owner = f"<@{line.owner_id}>" if line.owner_id else "nobody"
    return f"• `{line.public_id}` {text} · {owner} · due {line.due_on.isoformat()}"


def _failure(line: FailureLine) -> str:
    span = f"{line.first_at:%H:%M}–{line.last_at:%H:%M} UTC"
    return f"• *{escape(line.name)}* failed {line.count}× ({span}), last: {escape(line.detail)}"


def _part(title: str, lines: Sequence[str], empty: str) -> str:
    """A titled list, cut to fit one section."""
    if not lines:
        return f"*{title}*\n{empty}"
    text = f"*{title}*"
    for index, line in enumerate(lines):
        more = f"\n…and {len(lines) - index} more"
        if len(text) + 1 + len(line) + len(more) + 20 > SECTION_MAX:
            return text + more
        text += "\n" + line
    return text


def daily_report(
    day: date,
    now: datetime,
    probes: Sequence[ProbeLine],
    incidents: Sequence[IncidentLine],
    items: Sequence[ItemLine],
    failures: Sequence[FailureLine],
) -> Message:
    parts = [
        _part("Probes", [_probe(line) for line in probes], "No probes configured."),
        _part(
            f"Open incidents ({len(incidents)})",
            [_incident(line, now) for line in incidents],
            "None.",
        ),
        _part(f"Overdue action items ({len(items)})", [_item(line) for line in items], "None."),
        _part(
            "Failed since the last report",
            [_failure(line) for line in failures],
            "Nothing failed.",
        ),
    ]
    failing = sum(1 for line in probes if line.ok is False)
    summary = (
        f"Daily report {day.isoformat()}: {failing} of {len(probes)} probes failing, "
        f"{len(incidents)} open incidents, {len(items)} overdue action items"
    )
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=f"Daily report · {day.isoformat()}"))
    ]
    blocks += [section(part) for part in parts]
    return Message(text=summary, blocks=blocks)
