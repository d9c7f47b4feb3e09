"""Runbooks: what to check and do for a kind of incident, posted in its channel as a checklist.

A runbook is keyed by its incident type (offered in the declare modal and named in alert
rules and `/incident runbook <type>`). Reading the files (the bundled ones or `RUNBOOKS_DIR`)
is app.config.runbooks; these are the models and the rules a runbook must follow.

    title: Service downtime
    symptoms: [502/503 errors, ...]
    investigation:
      - Check the dashboards                     # a step is text ...
      - {step: Check logs, run: vercel logs}     # ... or text plus a command shown as code
    resolution: [...]
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from app.domain.policy import PathError, PolicyError

__all__ = ["Runbook", "RunbookError", "RunbookFile", "Runbooks", "Step"]

TITLE_MAX = 75  # a static_select option in the declare modal
STEP_TEXT_MAX = 1000
STEPS_MAX = 40  # Slack allows 50 blocks in a message; headers and symptoms take the rest


class RunbookError(PolicyError):
    """A runbook file or directory problem, phrased like policy errors (file, line, key)."""


class Step(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    step: str
    run: str | None = None

    @field_validator("step")
    @classmethod
    def _check_step(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a step needs text")
        if len(value) > STEP_TEXT_MAX:
            raise ValueError(f"step is {len(value)} characters; keep it to {STEP_TEXT_MAX}")
        return value

    @field_validator("run")
    @classmethod
    def _check_run(cls, value: str | None) -> str | None:
        if value is not None and len(value) > STEP_TEXT_MAX:
            raise ValueError(f"command is {len(value)} characters; keep it to {STEP_TEXT_MAX}")
        return value.strip("\n") if value else None


def _as_step(value: Any) -> Any:
    return {"step": value} if isinstance(value, str) else value


class RunbookFile(BaseModel):
    """What a runbook file holds (its key is the file's name)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str
    symptoms: tuple[str, ...] = ()
    investigation: tuple[Step, ...] = ()
    resolution: tuple[Step, ...] = ()

    @field_validator("investigation", "resolution", mode="before")
    @classmethod
    def _steps(cls, value: Any) -> Any:
        return [_as_step(item) for item in value] if isinstance(value, list) else value

    @field_validator("title")
    @classmethod
    def _check_title(cls, value: str) -> str:
        value = value.strip()
        if not value or len(value) > TITLE_MAX:
            raise ValueError(f"title must be 1 to {TITLE_MAX} characters (a Slack option label)")
        return value

    @model_validator(mode="after")
    def _check_steps(self) -> RunbookFile:
        count = len(self.investigation) + len(self.resolution)
        if count == 0:
            raise PathError(("investigation",), "a runbook needs investigation or resolution steps")
        if count > STEPS_MAX:
            longer = (
                "investigation" if len(self.investigation) > len(self.resolution) else "resolution"
            )
            raise PathError(
                (longer,),
                f"{count} steps; at most {STEPS_MAX} fit in one Slack message, split the runbook",
            )
        return self


@dataclass(frozen=True)
class Runbook:
    key: str
    title: str
    symptoms: tuple[str, ...]
    investigation: tuple[Step, ...]
    resolution: tuple[Step, ...]

    @property
    def steps(self) -> tuple[Step, ...]:
        """Every checklist step, investigation first; a step's index is its place here."""
        return self.investigation + self.resolution


class Runbooks:
    """The runbooks in force, by incident type."""

    def __init__(self, runbooks: list[Runbook], source: str) -> None:
        self._by_key = {runbook.key: runbook for runbook in runbooks}
        self.source = source

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __iter__(self) -> Iterator[Runbook]:
        return iter(sorted(self._by_key.values(), key=lambda r: r.title.lower()))

    def __len__(self) -> int:
        return len(self._by_key)

    def get(self, key: str | None) -> Runbook | None:
        return self._by_key.get(key) if key else None

    @property
    def keys(self) -> list[str]:
        return [runbook.key for runbook in self]

    def choices(self) -> list[tuple[str, str]]:
        """(type, title) pairs for the declare modal, by title."""
        return [(runbook.key, runbook.title) for runbook in self]
