"""The incident-response policy: severities, impacts and the escalation path.

The written plan is encoded as data (``app/default_policy.yml``) rather than
code so a team can adapt it without forking the bot. Everything is validated up
front, and every problem is reported with the file, line and key path, because
a policy mistake should fail at start-up, not halfway through a P0.

A user policy file is a complete policy, not a patch: each top-level section it
defines (``severities``, ``impacts``, ``escalation``, ...) replaces the default
section wholesale. Sections it leaves out (or sets to null) come from the
bundled default, so a file containing only ``escalation:`` is valid.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from app.domain.durations import HINT, parse_duration

__all__ = [
    "ALERT_SOURCES",
    "AlertPolicy",
    "AlertRule",
    "DEFAULT_POLICY_FILE",
    "EscalationLevel",
    "EscalationPolicy",
    "Impact",
    "Policy",
    "PolicyError",
    "SLACK_CHECKBOX_OPTIONS_MAX",
    "SLACK_OPTION_LABEL_MAX",
    "Severity",
    "load_policy",
]

DEFAULT_POLICY_FILE = "default_policy.yml"
SLACK_OPTION_LABEL_MAX = 75  # plain_text option labels in Slack checkboxes/selects
SLACK_CHECKBOX_OPTIONS_MAX = 10  # options per checkboxes element; the modal groups by severity

_SEVERITY_KEY = re.compile(r"P(\d+)")
_LEVEL_KEY = re.compile(r"L(\d+)")
_IMPACT_KEY = re.compile(r"[a-z][a-z0-9_]*")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_HANDLE = re.compile(r"@[a-z0-9][a-z0-9._-]*", re.IGNORECASE)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_EMOJI = re.compile(r"[a-z0-9_+'-]+")
_TYPE_KEY = re.compile(r"[a-z][a-z0-9_]*")

# Where alerts may come from (POST /webhooks/alerts/{source}); "*" in a rule means any of them.
ALERT_SOURCES = ("alertmanager", "sentry", "uptimerobot", "generic")


class PolicyError(Exception):
    """Any problem loading or validating a policy.

    ``str(error)`` is ready to show to an operator: one line per problem, the
    first formatted as ``<file> line <n>: <key.path>: <message>``. The first
    problem's parts are also available as attributes.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key_path: str | None = None,
        problems: Iterable[str] = (),
    ) -> None:
        self.file = file
        self.line = line
        self.key_path = key_path
        self.problems: list[str] = list(problems) or [message]
        super().__init__("\n".join(self.problems))


class _PathError(ValueError):
    """A validation error that knows which sub-key is at fault.

    Pydantic reports model-level errors at the model's own location; carrying a
    relative path lets the loader point at the offending line instead.
    """

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


# Public name for other configuration files validated with `load_yaml_model`.
PathError = _PathError


# --- field types --------------------------------------------------------------


def _to_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise ValueError(f"duration must be greater than zero, got {value}")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if value <= 0:
            raise ValueError(f"invalid duration {value!r}: must be greater than zero {HINT}")
        return timedelta(seconds=value)
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError(f"invalid duration {value!r} {HINT}")


def _to_optional_duration(value: Any) -> timedelta | None:
    return None if value is None else _to_duration(value)


def _seconds(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds())


def _none_as_empty(value: Any) -> Any:
    """``notify:`` with nothing after it is YAML null; treat it as an empty list."""
    return () if value is None else value


Duration = Annotated[
    timedelta, BeforeValidator(_to_duration), PlainSerializer(_seconds, when_used="json")
]
OptionalDuration = Annotated[
    timedelta | None,
    BeforeValidator(_to_optional_duration),
    PlainSerializer(_seconds, when_used="json"),
]
Strings = Annotated[tuple[str, ...], BeforeValidator(_none_as_empty)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


_M = TypeVar("_M", bound=BaseModel)


# --- models -------------------------------------------------------------------


class Severity(_Model):
    """One severity level of the plan (P0 is the most severe)."""

    key: str = ""  # filled in from the mapping key by Policy
    name: str
    label: str = ""
    response_target: Duration
    examples: Strings = ()
    actions: Strings = ()
    escalate_to: str
    update_every: OptionalDuration = None

    @property
    def title(self) -> str:
        """``"P0 - Critical (Immediate Response)"``, the plan's own heading."""
        text = f"{self.key} - {self.name}"
        return f"{text} ({self.label})" if self.label else text


class Impact(_Model):
    """A checklist entry in the declare modal; ticking it implies a severity."""

    key: str
    label: str
    severity: str
    private: bool = False

    @field_validator("key")
    @classmethod
    def _check_key(cls, value: str) -> str:
        if not _IMPACT_KEY.fullmatch(value):
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


class EscalationLevel(_Model):
    """A rung of the escalation path and who gets paged there."""

    key: str
    name: str
    window: OptionalDuration = None  # time to acknowledge before the next level
    notify: Strings = ()
    critical_only: bool = False

    @field_validator("notify")
    @classmethod
    def _check_notify(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        checked = []
        for index, entry in enumerate(value):
            entry = entry.strip()
            if _HANDLE.fullmatch(entry):
                entry = entry.lower()  # Slack stores usergroup handles in lower case
            elif not (_USER_ID.fullmatch(entry) or _EMAIL.fullmatch(entry)):
                raise _PathError(
                    (index,),
                    f"{entry!r} is not a Slack user id (U…/W…), an @usergroup handle "
                    "or an email address",
                )
            checked.append(entry)
        return tuple(checked)


class EscalationPolicy(_Model):
    """The ordered escalation path, L1 first."""

    levels: tuple[EscalationLevel, ...]

    @model_validator(mode="after")
    def _check_levels(self) -> EscalationPolicy:
        if not self.levels:
            raise _PathError(("levels",), "at least one escalation level (L1) is required")
        for index, level in enumerate(self.levels):
            expected = f"L{index + 1}"
            if level.key != expected:
                raise _PathError(
                    ("levels", index, "key"),
                    f"levels must be keyed L1, L2, ... in order; expected {expected!r}, "
                    f"got {level.key!r}",
                )
            if level.window is None and index < len(self.levels) - 1:
                raise _PathError(
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
                raise _PathError(
                    (str(key),), f"match values must be text or a list of text, got {item!r}"
                )
            checked.append(str(item).lower())
        normalised[key] = tuple(checked)
    return normalised


class AlertRule(_Model):
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
        if value is not None and not _TYPE_KEY.fullmatch(value):
            raise ValueError(f"incident type {value!r} must be snake_case, e.g. service_downtime")
        return value

    @model_validator(mode="after")
    def _check_decision(self) -> AlertRule:
        if self.declare and self.severity is None:
            raise _PathError(
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


class AlertPolicy(_Model):
    """How monitoring alerts become incidents (``alerts:`` in the policy file)."""

    # Resolve an incident when every alert attached to it has resolved.
    resolve: bool = False
    rules: tuple[AlertRule, ...] = ()

    def rule_for(self, source: str, labels: Mapping[str, str]) -> AlertRule | None:
        """The first rule that fits, or None (the alert is acknowledged and ignored)."""
        return next((rule for rule in self.rules if rule.matches(source, labels)), None)


class Policy(_Model):
    """The whole policy. Build it with :func:`load_policy` or :meth:`from_snapshot`."""

    severities: dict[str, Severity]
    impacts: tuple[Impact, ...] = ()
    escalation: EscalationPolicy
    responders: Strings = ()
    timeline_emoji: Strings = ("pushpin",)
    review_within: Duration = timedelta(hours=48)
    alerts: AlertPolicy = AlertPolicy()

    @field_validator("severities", mode="before")
    @classmethod
    def _key_severities(cls, value: Any) -> Any:
        """Require P0..Pn (n >= 3), most severe first, and stamp each with its key."""
        if not isinstance(value, Mapping):
            return value  # let pydantic report the type error
        keys = list(value)
        for key in keys:
            if not (isinstance(key, str) and _SEVERITY_KEY.fullmatch(key)):
                raise _PathError((str(key),), f"severity keys must be P0, P1, P2, ...; got {key!r}")
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
                    raise _PathError(
                        (key, "key"), f"key {severity['key']!r} does not match {key!r}"
                    )
                severity = {**severity, "key": key}
            stamped[key] = severity
        return stamped

    @field_validator("responders")
    @classmethod
    def _check_responders(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for index, entry in enumerate(value):
            if not _USER_ID.fullmatch(entry):
                raise _PathError((index,), f"{entry!r} is not a Slack user id (U…/W…)")
        return value

    @field_validator("timeline_emoji")
    @classmethod
    def _check_emoji(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        names = []
        for index, entry in enumerate(value):
            name = entry.strip().strip(":")  # accept ":pushpin:" as written in Slack
            if not _EMOJI.fullmatch(name):
                raise _PathError((index,), f"{entry!r} is not a Slack emoji name (e.g. pushpin)")
            names.append(name)
        return tuple(names)

    @model_validator(mode="after")
    def _check_references(self) -> Policy:
        known_levels = self.escalation.keys
        for key, severity in self.severities.items():
            if severity.escalate_to not in known_levels:
                raise _PathError(
                    ("severities", key, "escalate_to"),
                    f"unknown escalation level {severity.escalate_to!r} "
                    f"(known: {', '.join(known_levels)})",
                )
        most_severe = self.severity_keys[0]
        for key in self.severity_keys[1:]:
            for level in self.levels_for(key):
                if level.critical_only:
                    raise _PathError(
                        ("severities", key, "escalate_to"),
                        f"{level.key} ({level.name}) is critical_only: only {most_severe} "
                        f"may escalate to it, but {key} escalates to "
                        f"{self.severities[key].escalate_to}",
                    )
        seen: set[str] = set()
        per_severity: dict[str, int] = {}
        for index, impact in enumerate(self.impacts):
            per_severity[impact.severity] = per_severity.get(impact.severity, 0) + 1
            if per_severity[impact.severity] > SLACK_CHECKBOX_OPTIONS_MAX:
                raise _PathError(
                    ("impacts", index),
                    f"more than {SLACK_CHECKBOX_OPTIONS_MAX} impacts for {impact.severity}; "
                    "Slack allows at most that many checkboxes per group",
                )
            if impact.key in seen:
                raise _PathError(("impacts", index, "key"), f"duplicate impact key {impact.key!r}")
            seen.add(impact.key)
            if impact.severity not in self.severities:
                raise _PathError(
                    ("impacts", index, "severity"),
                    f"unknown severity {impact.severity!r} "
                    f"(known: {', '.join(self.severity_keys)})",
                )
        for index, rule in enumerate(self.alerts.rules):
            if rule.severity is not None and rule.severity not in self.severities:
                raise _PathError(
                    ("alerts", "rules", index, "severity"),
                    f"unknown severity {rule.severity!r} (known: {', '.join(self.severity_keys)})",
                )
        return self

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
            isinstance(k, str) and _SEVERITY_KEY.fullmatch(k) for k in severities
        ):
            data["severities"] = dict(sorted(severities.items(), key=lambda kv: int(kv[0][1:])))
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _translate(exc, {}, "policy snapshot") from exc


# --- loading ------------------------------------------------------------------


class _Document:
    """Parsed YAML plus the line of every key path, for error messages."""

    def __init__(self, name: str, data: dict[str, Any], lines: dict[tuple[Any, ...], int]):
        self.name = name
        self.data = data
        self.lines = lines

    def line_for(self, path: tuple[Any, ...]) -> int | None:
        """Line of the deepest known prefix of ``path`` (pydantic locs can go deeper)."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


def _parse(text: str, name: str, what: str = "") -> _Document:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name} line {mark.line + 1}" if mark else name
        problem = exc.problem or exc.context or "syntax error"
        hint = ""
        if "'@'" in problem:
            hint = ' (quote values that start with @, e.g. "@sre-oncall")'
        raise PolicyError(
            f"{where}: invalid YAML: {problem}{hint}",
            file=name,
            line=mark.line + 1 if mark else None,
        ) from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"{name}: invalid YAML: {exc}", file=name) from exc
    finally:
        loader.dispose()

    if data is None:
        return _Document(name, {}, {})
    if not isinstance(data, dict):
        raise PolicyError(
            f"{name} line 1: "
            + (what or "the policy must be a mapping of sections (severities, impacts, ...)"),
            file=name,
            line=1,
        )
    lines: dict[tuple[Any, ...], int] = {}
    _index_lines(node, (), lines, name)
    return _Document(name, data, lines)


def _index_lines(
    node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int], name: str
) -> None:
    """Record the 1-based line of every key path; reject duplicate keys.

    PyYAML silently keeps the last duplicate, which would hide a half-edited
    section, so duplicates are an error here.
    """
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            child = (*path, key)
            line = key_node.start_mark.line + 1
            if key in seen:
                key_path = _format_path(child)
                raise PolicyError(
                    f"{name} line {line}: {key_path}: duplicate key",
                    file=name,
                    line=line,
                    key_path=key_path,
                )
            seen.add(key)
            lines[child] = line
            _index_lines(value_node, child, lines, name)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1
            _index_lines(item, child, lines, name)


def _format_path(path: Iterable[Any]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, Exception):
        return str(cause)
    if kind == "missing":
        return "missing required key"
    if kind == "extra_forbidden":
        return f"unknown key {error['loc'][-1]!r}"
    shown = repr(error.get("input"))
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{error['msg'][:1].lower()}{error['msg'][1:]} (got {shown})"


def _translate(exc: ValidationError, sources: Mapping[str, _Document], name: str) -> PolicyError:
    """Turn pydantic errors into ``file line N: key.path: message`` lines.

    ``sources`` maps each top-level section to the document it came from, so a
    problem in a section inherited from the default is attributed honestly.
    """
    problems: list[str] = []
    first: dict[str, Any] = {}
    for error in exc.errors():
        loc = tuple(part for part in error["loc"] if not str(part).startswith("["))
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, _PathError):
            loc = (*loc, *cause.path)
        key_path = _format_path(loc) or "(top level)"
        message = _describe(error)
        source = sources.get(str(loc[0])) if loc else None
        line = source.line_for(loc) if source else None
        if source is not None and source.name != name:
            # The section came from the bundled default; the user's file caused the clash.
            where = name
            section = loc[0]
            at = f" line {line}" if line else ""
            message += (
                f" [the '{section}' section comes from the bundled {source.name}{at}; "
                f"add a '{section}:' section to {Path(name).name} to change it]"
            )
            line = None
        else:
            where = f"{name} line {line}" if line else name
        problems.append(f"{where}: {key_path}: {message}")
        if not first:
            first = {"line": line, "key_path": key_path}
    return PolicyError(problems[0], file=name, problems=problems, **first)


def load_yaml_model(text: str, name: str, model: type[_M], *, what: str) -> _M:
    """Validate a YAML document as ``model``, reporting problems like the policy does.

    Other configuration files (runbooks) use this so that every file the bot reads fails the
    same way: ``<file> line <n>: <key.path>: <message>``. ``what`` says what the top level
    must be, for files that are not a mapping.
    """
    document = _parse(text, name, what)
    try:
        return model.model_validate(document.data)
    except ValidationError as exc:
        raise _translate(exc, {str(key): document for key in document.data}, name) from exc


@functools.lru_cache(maxsize=1)
def _default_document() -> _Document:
    text = resources.files("app").joinpath(DEFAULT_POLICY_FILE).read_text(encoding="utf-8")
    return _parse(text, DEFAULT_POLICY_FILE)


def load_policy(path: str | Path | None = None) -> Policy:
    """Load and validate a policy file, or the bundled default when ``path`` is None.

    Top-level sections missing from the file fall back to the default; sections
    present replace the default ones entirely. Raises :class:`PolicyError`.
    """
    default = _default_document()
    if path is None:
        document = default
    else:
        name = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PolicyError(f"{name}: policy file not found", file=name) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"{name}: cannot read policy file: {exc}", file=name) from exc
        document = _parse(text, name)

    merged: dict[str, Any] = {}
    sources: dict[str, _Document] = {}
    for section, value in default.data.items():
        merged[section] = copy.deepcopy(value)
        sources[section] = default
    for section, value in document.data.items():
        if value is None and section in default.data:
            continue  # "escalation:" with nothing under it means "use the default"
        merged[section] = value
        sources[str(section)] = document
    try:
        return Policy.model_validate(merged)
    except ValidationError as exc:
        raise _translate(exc, sources, document.name) from exc
