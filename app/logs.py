"""Logging set-up: plain text or one JSON object per line, never a secret.

Lines written while working on an incident carry its id (`incident`), whichever module writes
them, including slack-sdk's own: `incident_context()` marks the work, and asyncio copies the
mark into every task started inside it.

Nor, at DEBUG, incident text: slack-sdk and Bolt log every request and response body at DEBUG
(titles, notes, messages of private incidents' channels), and aiosqlite every statement with its
parameters. Those loggers (BODY_LOGGERS) stay at INFO, and a filter on the handler drops their
DEBUG lines, unless `slack_bodies` (LOG_SLACK_BODIES=true) is asked for while debugging. The
bot's own lines name incidents by id, never by title or text.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

# Slack tokens and anything that looks like one are masked wherever they appear in a line.
_SECRET = re.compile(r"xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+")
# Configured secrets (signing secret, webhook token, database password) masked verbatim.
_SECRET_VALUES: set[str] = set()
_MIN_SECRET = 6  # shorter values would mask ordinary words

# Structured fields copied from `extra=` into JSON lines (and appended to text lines).
FIELDS = ("incident", "kind", "status", "latency_ms", "source")

_incident: ContextVar[str | None] = ContextVar("incident", default=None)

# Loggers whose DEBUG lines carry what people wrote: Slack's libraries (their own loggers, and
# the ones the bot gives its web client, Bolt app and Socket Mode client in app.wiring,
# app.slack.bolt_app and app.server), and the SQLite driver (statements with their parameters).
BODY_LOGGERS = (
    "slack_sdk",
    "slack_bolt",
    "app.slack.client",
    "app.slack.bolt",
    "app.slack.socket_mode",
    "aiosqlite",
)


def register_secrets(values: Iterable[str | None]) -> None:
    for value in values:
        if value and len(value) >= _MIN_SECRET:
            _SECRET_VALUES.add(value)


def redact(text: str) -> str:
    text = _SECRET.sub("[redacted]", text)
    for value in _SECRET_VALUES:
        if value in text:
            text = text.replace(value, "[redacted]")
    return text


@contextlib.contextmanager
def incident_context(public_id: str) -> Iterator[None]:
    """Every line logged inside (and in tasks started inside) names this incident."""
    token = _incident.set(public_id)
    try:
        yield
    finally:
        _incident.reset(token)


class IncidentFilter(logging.Filter):
    """Stamps records with the incident being worked on, unless they name one already."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "incident", None) is None:
            record.incident = _incident.get()
        return True


class BodiesFilter(logging.Filter):
    """Drops the DEBUG lines of BODY_LOGGERS (and of their children, whatever level those were
    given): they carry whole request and response bodies, or statement parameters."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO or not _logs_bodies(record.name)


def _logs_bodies(name: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in BODY_LOGGERS)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            line["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(line)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        incident = getattr(record, "incident", None)
        if incident and incident not in record.getMessage():
            text += f" [{incident}]"
        return redact(text)


def configure(
    level: str = "INFO",
    fmt: str = "text",
    *,
    secrets: Iterable[str | None] = (),
    stream: TextIO | None = None,
    slack_bodies: bool = False,
) -> logging.Handler:
    """Send every log line to stderr (or `stream`), masking `secrets`; returns the handler.

    BODY_LOGGERS log at DEBUG only with `slack_bodies`: their DEBUG lines are bodies.
    """
    register_secrets(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(IncidentFilter())
    if not slack_bodies:
        handler.addFilter(BodiesFilter())
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Also saves slack-sdk building the lines: it formats a body when its logger's own level
    # is DEBUG or unset, whatever the handlers then do with it.
    capped = logging.NOTSET if slack_bodies else max(logging.INFO, root.level)
    for name in BODY_LOGGERS:
        logging.getLogger(name).setLevel(capped)
    # Alembic announces each of its plugins at INFO; only the migrations themselves matter.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # httpx logs every tracker request at INFO (its URL: a project, an issue key); the bot logs
    # what matters of each ticket itself. At DEBUG they say everything, as asked.
    quiet = logging.WARNING if root.level > logging.DEBUG else logging.NOTSET
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(quiet)
    return handler
