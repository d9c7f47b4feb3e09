"""The parts of a policy: severities, impacts, the escalation path and alert rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator, field_validator, model_validator

from app.domain.policy.errors import PathError
from app.domain.policy.fields import (
    ALERT_SOURCES,
    EMAIL,
    HANDLE,
    IMPACT_KEY,
    SLACK_OPTION_LABEL_MAX,
    TYPE_KEY,
    USER_ID,
    Duration,
    Model,
    OptionalDuration,
    Strings,
)
from app.domain.policy.oncall import CHANNELS, SCHEDULE_KEY, OutsideHours

__all__ = [
    "AlertPolicy",
    "AlertRule",
    "EscalationLevel",
    "EscalationPolicy",
    "Impact",
    "Severity",
]


class Severity(Model):
    """One severity level of the plan (P0 is the most severe)."""

    key: str = ""  # filled in from the mapping key by Policy
    name: str
    label: str = ""
    response_target: Duration
    examples: Strings = ()
    actions: Strings = ()
    escalate_to: str
    update_every: OptionalDuration = None
    # Outside `working_hours` (when the policy has them): page now, page at the next start of
    # working hours (the plan's "same day" / "next business day"), or page nobody.
    outside_hours: OutsideHours = "page"
    # Whether declaring opens an incident channel (False: a ticket and the announcement only).
    channel: bool = True

    @property
    def title(self) -> str:
        """``"P0 - Critical (Immediate Response)"``, the plan's own heading."""
        text = f"{self.key} - {self.name}"
        return f"{text} ({self.label})" if self.label else text


class Impact(Model):
    """A checklist entry in the declare modal; ticking it implies a severity."""

    key: str
    label: str
    severity: str
    private: bool = False

    @field_validator("key")
    @classmethod
    def _check_key(cls, value: str) -> str:
        if not IMPACT_KEY.fullmatch(value):
            raise ValueError(f"impact key {value!r} must be snake_case (e.g. payments_down)")
        return value

    @field_validator("label")
    @classmethod
    def _check_label(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("label must not be empty")
        if len(value) > SLACK_OPTION_LABEL_MAX:
            raise ValueError(
                f"label is {len(value)} characters; Slack allows at most "
                f"{SLACK_OPTION_LABEL_MAX} in a checkbox option"
            )
        return value


class EscalationLevel(Model):
    """A rung of the escalation path and who gets paged there."""

    key: str
    name: str
    window: OptionalDuration = None  # time to acknowledge before the next level
    notify: Strings = ()
    critical_only: bool = False
    # How this level's people are paged, beyond the Slack DM: e-mail, SMS and voice go to each
    # person's contact methods (`/incident contact`); pagerduty triggers the PagerDuty bridge.
    channels: Strings = ("slack",)
    # Addresses this level also pages by e-mail (the plan's on-call address).
    email: Strings = ()
    # Page the backup of every schedule this level names when nobody has acknowledged this
    # long after the level was paged (before the next level).
    backup_after: OptionalDuration = None

    @field_validator("channels")
    @classmethod
    def _check_channels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for index, entry in enumerate(value):
            if entry not in CHANNELS:
                raise PathError(
                    (index,), f"unknown channel {entry!r} (known: {', '.join(CHANNELS)})"
                )
        return tuple(dict.fromkeys(value))

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for index, entry in enumerate(value):
            if not EMAIL.fullmatch(entry):
                raise PathError((index,), f"{entry!r} is not an e-mail address")
        return value

    @property
    def schedules(self) -> tuple[str, ...]:
        """The keys of the schedules this level pages."""
        return tuple(e.removeprefix("schedule:") for e in self.notify if e.startswith("schedule:"))

    @field_validator("notify")
    @classmethod
    def _check_notify(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        checked = []
        for index, entry in enumerate(value):
            entry = entry.strip()
            if HANDLE.fullmatch(entry):
                entry = entry.lower()  # Slack stores usergroup handles in lower case
            elif entry.startswith("schedule:"):
                if not SCHEDULE_KEY.fullmatch(entry.removeprefix("schedule:")):
                    raise PathError((index,), f"{entry!r}: name a schedule, e.g. schedule:primary")
            elif not (USER_ID.fullmatch(entry) or EMAIL.fullmatch(entry)):
                raise PathError(
                    (index,),
                    f"{entry!r} is not a Slack user id (U…/W…), an @usergroup handle, "
                    "schedule:<name> or an email address",
                )
            checked.append(entry)
        return tuple(checked)


class EscalationPolicy(Model):
    """The ordered escalation path, L1 first."""

    levels: tuple[EscalationLevel, ...]

    @model_validator(mode="after")
    def _check_levels(self) -> EscalationPolicy:
        if not self.levels:
            raise PathError(("levels",), "at least one escalation level (L1) is required")
        for index, level in enumerate(self.levels):
            expected = f"L{index + 1}"
            if level.key != expected:
                raise PathError(
                    ("levels", index, "key"),
                    f"levels must be keyed L1, L2, ... in order; expected {expected!r}, "
                    f"got {level.key!r}",
                )
            if level.backup_after is not None and not level.schedules:
                raise PathError(
                    ("levels", index, "backup_after"),
                    f"backup_after on {level.key} pages its schedules' backups, but it names no "
                    "schedule:<key> in notify",
                )
            if (
                level.backup_after is not None
                and level.window is not None
                and level.backup_after >= level.window
            ):
                raise PathError(
                    ("levels", index, "backup_after"),
                    f"backup_after ({level.backup_after}) must be shorter than {level.key}'s "
                    f"window ({level.window}): the next level is paged at the window",
                )
            if level.window is None and index < len(self.levels) - 1:
                raise PathError(
                    ("levels", index, "window"),
                    f"window is required on {level.key} because {self.levels[index + 1].key} "
                    "follows it (only the last level may have no window)",
                )
        return self

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(level.key for level in self.levels)

    def level(self, key: str) -> EscalationLevel:
        for level in self.levels:
            if level.key == key:
                return level
        raise KeyError(f"unknown escalation level {key!r} (known: {', '.join(self.keys)})")


def _match_values(value: Any) -> Any:
    """``severity: critical`` and ``severity: [critical, page]`` both mean "one of these"."""
    if not isinstance(value, Mapping):
        return value
    normalised: dict[Any, Any] = {}
    for key, wanted in value.items():
        items = wanted if isinstance(wanted, list | tuple) else [wanted]
        checked = []
        for item in items:
            if isinstance(item, Mapping | list | tuple) or item is None:
                raise PathError(
                    (str(key),), f"match values must be text or a list of text, got {item!r}"
                )
            checked.append(str(item).lower())
        normalised[key] = tuple(checked)
    return normalised


class AlertRule(Model):
    """Maps an incoming alert to a decision: declare it (at which severity, which type) or not.

    Rules are tried in order and the first whose ``source`` and ``match`` fit wins. ``match``
    compares the alert's labels (see docs/policy.md for each source's labels), ignoring case.
    """

    source: str = "*"
    match: Annotated[dict[str, tuple[str, ...]], BeforeValidator(_match_values)] = {}
    severity: str | None = None
    declare: bool = True
    type: str | None = None

    @field_validator("source")
    @classmethod
    def _check_source(cls, value: str) -> str:
        if value != "*" and value not in ALERT_SOURCES:
            raise ValueError(
                f"unknown alert source {value!r} (known: {', '.join(ALERT_SOURCES)}, or *)"
            )
        return value

    @field_validator("type")
    @classmethod
    def _check_type(cls, value: str | None) -> str | None:
        if value is not None and not TYPE_KEY.fullmatch(value):
            raise ValueError(f"incident type {value!r} must be snake_case, e.g. service_downtime")
        return value

    @model_validator(mode="after")
    def _check_decision(self) -> AlertRule:
        if self.declare and self.severity is None:
            raise PathError(
                ("severity",), "a rule that declares needs a severity (or set declare: false)"
            )
        return self

    def matches(self, source: str, labels: Mapping[str, str]) -> bool:
        if self.source not in ("*", source):
            return False
        for key, wanted in self.match.items():
            value = labels.get(key)
            if value is None or str(value).lower() not in wanted:
                return False
        return True


class AlertPolicy(Model):
    """How monitoring alerts become incidents (``alerts:`` in the policy file)."""

    # Resolve an incident when every alert attached to it has resolved.
    resolve: bool = False
    rules: tuple[AlertRule, ...] = ()

    def rule_for(self, source: str, labels: Mapping[str, str]) -> AlertRule | None:
        """The first rule that fits, or None (the alert is acknowledged and ignored)."""
        return next((rule for rule in self.rules if rule.matches(source, labels)), None)
