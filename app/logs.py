"""Logging set-up: plain text or one JSON object per line, never a secret.

Lines written while working on an incident carry its id (`incident`), whichever module writes
them, including slack-sdk's own: `incident_context()` marks the work, and asyncio copies the
mark into every task started inside it.
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
) -> logging.Handler:
    """Send every log line to stderr (or `stream`), masking `secrets`; returns the handler."""
    register_secrets(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(IncidentFilter())
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic announces each of its plugins at INFO; only the migrations themselves matter.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    return handler
