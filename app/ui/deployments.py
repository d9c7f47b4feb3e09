"""The "Deployed in the last 2 hours" message of a new incident's channel: the first thing a
responder asks is what changed. Every word from Vercel or GitHub is escaped; links only when
they are plain http(s)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block

from app.domain.formatting import short_time
from app.domain.text import link
from app.ui.common import Message, escape, section

if TYPE_CHECKING:
    from app.store.deployment_model import Deployment

__all__ = ["deployment_line", "recent_deployments"]

HEADING = "Deployed in the last 2 hours"


def deployment_line(deployment: Deployment, tz: ZoneInfo) -> str:
    """`• 09:05 UTC <https://…|checkout> production `main` abc1234: succeeded`."""
    parts = [link(deployment.url, deployment.project)]
    if deployment.environment:
        parts.append(escape(deployment.environment))
    if deployment.ref:
        ref = deployment.ref.replace("`", "'")
        parts.append(f"`{escape(ref)}`")
    if deployment.sha:
        parts.append(escape(deployment.sha[:7]))
    when = short_time(deployment.created_at, tz)
    return f"• {when} {' '.join(parts)}: {escape(deployment.state)}"


def recent_deployments(deployments: Sequence[Deployment], tz: ZoneInfo) -> Message:
    lines = [deployment_line(d, tz) for d in deployments]
    text = f"*{HEADING}*\n" + "\n".join(lines)
    blocks: list[Block] = [section(text)]
    return Message(text=f"{HEADING}: {len(lines)}", blocks=blocks)
