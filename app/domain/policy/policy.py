"""The whole policy: its sections, the checks across them, lookups and snapshots."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import ValidationError, field_validator, model_validator

from app.domain.policy.errors import PathError, translate
from app.domain.policy.fields import (
    EMOJI,
    SEVERITY_KEY,
    SLACK_CHECKBOX_OPTIONS_MAX,
    USER_ID,
    Duration,
    Model,
    Strings,
)
from app.domain.policy.models import (
    AlertPolicy,
    EscalationLevel,
    EscalationPolicy,
    Impact,
    Severity,
)
from app.domain.policy.oncall import OnCallPolicy, WorkingHours
from app.domain.policy.probes import DailyReportPolicy, Probe, rule_for_probe
from app.domain.policy.reporting import DEFAULT_PHASES, Phase, PlanReview, StatusService
from app.domain.policy.tickets import TicketPolicy, check_severity_keys

__all__ = ["Policy"]


class Policy(Model):
    """The whole policy. Build it with ``app.config.policy_loader.load_policy`` (a file) or
    :meth:`from_snapshot` (what an incident stored)."""

    severities: dict[str, Severity]
    impacts: tuple[Impact, ...] = ()
    escalation: EscalationPolicy
    responders: Strings = ()
    timeline_emoji: Strings = ("pushpin",)
    review_within: Duration = timedelta(hours=48)
    alerts: AlertPolicy = AlertPolicy()
    tickets: TicketPolicy = TicketPolicy()
    oncall: OnCallPolicy = OnCallPolicy()
    working_hours: WorkingHours | None = None
    probes: tuple[Probe, ...] = ()
    daily_report: DailyReportPolicy | None = None
    phases: tuple[Phase, ...] = DEFAULT_PHASES
    services: tuple[StatusService, ...] = ()
    plan_review: PlanReview | None = None

    @field_validator("severities", mode="before")
    @classmethod
    def _key_severities(cls, value: Any) -> Any:
        """Require P0..Pn (n >= 3), most severe first, and stamp each with its key."""
        if not isinstance(value, Mapping):
            return value  # let pydantic report the type error
        keys = list(value)
        for key in keys:
            if not (isinstance(key, str) and SEVERITY_KEY.fullmatch(key)):
                raise PathError((str(key),), f"severity keys must be P0, P1, P2, ...; got {key!r}")
        expected = [f"P{n}" for n in range(max(len(keys), 4))]
        if sorted(keys, key=lambda k: int(k[1:])) != expected:
            raise ValueError(
                f"keys must be exactly {', '.join(expected)} (at least P0-P3, no gaps); "
                f"got {', '.join(keys)}"
            )
        if keys != expected:
            raise ValueError(
                f"must be listed most severe first ({', '.join(expected)}); got {', '.join(keys)}"
            )
        stamped: dict[str, Any] = {}
        for key, severity in value.items():
            if isinstance(severity, Mapping):
                if severity.get("key", key) != key:
                    raise PathError((key, "key"), f"key {severity['key']!r} does not match {key!r}")
                severity = {**severity, "key": key}
            stamped[key] = severity
        return stamped

    @field_validator("responders")
    @classmethod
    def _check_responders(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for index, entry in enumerate(value):
            if not USER_ID.fullmatch(entry):
                raise PathError((index,), f"{entry!r} is not a Slack user id (U…/W…)")
        return value

    @field_validator("timeline_emoji")
    @classmethod
    def _check_emoji(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        names = []
        for index, entry in enumerate(value):
            name = entry.strip().strip(":")  # accept ":pushpin:" as written in Slack
            if not EMOJI.fullmatch(name):
                raise PathError((index,), f"{entry!r} is not a Slack emoji name (e.g. pushpin)")
            names.append(name)
        return tuple(names)

    @model_validator(mode="after")
    def _check_references(self) -> Policy:
        """Cross-section checks, in this order: escalation targets, impacts, alert rules,
        tickets."""
        self._check_escalation_targets()
        self._check_impacts()
        self._check_alert_rules()
        self._check_schedules()
        self._check_probes()
        self._check_reporting()
        unknown = check_severity_keys(self.tickets, self.severities)
        if unknown is not None:
            raise PathError(
                ("tickets", "severities", unknown),
                f"unknown severity {unknown!r} (known: {', '.join(self.severity_keys)})",
            )
        return self

    def _check_escalation_targets(self) -> None:
        known_levels = self.escalation.keys
        for key, severity in self.severities.items():
            if severity.escalate_to not in known_levels:
                raise PathError(
                    ("severities", key, "escalate_to"),
                    f"unknown escalation level {severity.escalate_to!r} "
                    f"(known: {', '.join(known_levels)})",
                )
        most_severe = self.severity_keys[0]
        for key in self.severity_keys[1:]:
            for level in self.levels_for(key):
                if level.critical_only:
                    raise PathError(
                        ("severities", key, "escalate_to"),
                        f"{level.key} ({level.name}) is critical_only: only {most_severe} "
                        f"may escalate to it, but {key} escalates to "
                        f"{self.severities[key].escalate_to}",
                    )

    def _check_impacts(self) -> None:
        seen: set[str] = set()
        per_severity: dict[str, int] = {}
        for index, impact in enumerate(self.impacts):
            per_severity[impact.severity] = per_severity.get(impact.severity, 0) + 1
            if per_severity[impact.severity] > SLACK_CHECKBOX_OPTIONS_MAX:
                raise PathError(
                    ("impacts", index),
                    f"more than {SLACK_CHECKBOX_OPTIONS_MAX} impacts for {impact.severity}; "
                    "Slack allows at most that many checkboxes per group",
                )
            if impact.key in seen:
                raise PathError(("impacts", index, "key"), f"duplicate impact key {impact.key!r}")
            seen.add(impact.key)
            if impact.severity not in self.severities:
                raise PathError(
                    ("impacts", index, "severity"),
                    f"unknown severity {impact.severity!r} "
                    f"(known: {', '.join(self.severity_keys)})",
                )

    def _check_schedules(self) -> None:
        for index, level in enumerate(self.escalation.levels):
            for key in level.schedules:
                if key not in self.oncall.schedules:
                    raise PathError(
                        ("escalation", "levels", index, "notify"),
                        f"schedule:{key} names no schedule under oncall.schedules "
                        f"(known: {', '.join(self.oncall.schedules) or 'none'})",
                    )

    def _check_alert_rules(self) -> None:
        for index, rule in enumerate(self.alerts.rules):
            if rule.severity is not None and rule.severity not in self.severities:
                raise PathError(
                    ("alerts", "rules", index, "severity"),
                    f"unknown severity {rule.severity!r} (known: {', '.join(self.severity_keys)})",
                )

    def _check_probes(self) -> None:
        """Each probe's severity exists and names are unique; then each probe's own rule goes
        before the written ones (once: a snapshot read again already has them)."""
        names: set[str] = set()
        for index, probe in enumerate(self.probes):
            if probe.name in names:
                raise PathError(("probes", index, "name"), f"duplicate probe {probe.name!r}")
            names.add(probe.name)
            if probe.severity not in self.severities:
                raise PathError(
                    ("probes", index, "severity"),
                    f"unknown severity {probe.severity!r} (known: {', '.join(self.severity_keys)})",
                )
        derived = tuple(rule_for_probe(probe) for probe in self.probes)
        written = tuple(rule for rule in self.alerts.rules if rule not in derived)
        if derived:
            alerts = self.alerts.model_copy(update={"rules": derived + written})
            object.__setattr__(self, "alerts", alerts)  # frozen: set once, while validating

    def _check_reporting(self) -> None:
        """Phase and service keys are unique; a service's impacts are the policy's."""
        sections: tuple[tuple[str, tuple[str, ...]], ...] = (
            ("phases", tuple(phase.key for phase in self.phases)),
            ("services", tuple(service.key for service in self.services)),
        )
        for section, keys in sections:
            for index, key in enumerate(keys):
                if key in keys[:index]:
                    raise PathError((section, index, "key"), f"duplicate key {key!r}")
        known = {impact.key for impact in self.impacts}
        for index, service in enumerate(self.services):
            for position, impact in enumerate(service.impacts):
                if impact not in known:
                    raise PathError(
                        ("services", index, "impacts", position),
                        f"unknown impact {impact!r} (known: {', '.join(sorted(known))})",
                    )

    # --- lookups -------------------------------------------------------------

    @property
    def severity_keys(self) -> tuple[str, ...]:
        """Severity keys, most severe first."""
        return tuple(self.severities)

    @property
    def most_severe(self) -> str:
        return self.severity_keys[0]

    def severity(self, key: str) -> Severity:
        try:
            return self.severities[key]
        except KeyError:
            raise KeyError(
                f"unknown severity {key!r} (known: {', '.join(self.severity_keys)})"
            ) from None

    def rank(self, key: str) -> int:
        """0 for the most severe; lower means more urgent, so ``min`` picks the worst."""
        self.severity(key)
        return self.severity_keys.index(key)

    def level(self, key: str) -> EscalationLevel:
        return self.escalation.level(key)

    def levels_for(self, severity_key: str) -> list[EscalationLevel]:
        """The levels an incident of this severity may page, L1 up to ``escalate_to``."""
        top = self.severity(severity_key).escalate_to
        keys = self.escalation.keys
        return list(self.escalation.levels[: keys.index(top) + 1])

    def has_impact(self, key: str) -> bool:
        """Whether ``key`` is a known impact (modals may carry keys from an older policy)."""
        return any(impact.key == key for impact in self.impacts)

    def impact(self, key: str) -> Impact:
        for impact in self.impacts:
            if impact.key == key:
                return impact
        raise KeyError(f"unknown impact {key!r}")

    # --- snapshots -----------------------------------------------------------

    def to_snapshot(self) -> dict[str, Any]:
        """A JSON-serialisable copy (durations in seconds) to store on an incident.

        Incidents keep the policy they were declared under, so editing the file
        later does not change deadlines of incidents already running.
        """
        return self.model_dump(mode="json")

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> Policy:
        """Rebuild a policy from :meth:`to_snapshot` output.

        Severities are re-sorted first because JSON stores (e.g. PostgreSQL
        ``jsonb``) do not preserve object key order.
        """
        data = dict(data)
        severities = data.get("severities")
        if isinstance(severities, Mapping) and all(
            isinstance(k, str) and SEVERITY_KEY.fullmatch(k) for k in severities
        ):
            data["severities"] = dict(sorted(severities.items(), key=lambda kv: int(kv[0][1:])))
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise translate(exc, {}, "policy snapshot") from exc
