"""The incident-response policy: severities, impacts and the escalation path.

The written plan is encoded as data (``app/default_policy.yml``) rather than
code so a team can adapt it without forking the bot. Everything is validated up
front, and every problem is reported with the file, line and key path, because
a policy mistake should fail at start-up, not halfway through a P0.

These are the models and their rules, with no file I/O; reading a policy file (YAML, the
bundled default, line numbers) is ``app.config.policy_loader``.

    fields.py   field types (durations, lists), key patterns, Slack limits, alert sources
    models.py   Severity, Impact, EscalationLevel, EscalationPolicy, AlertRule, AlertPolicy
    policy.py   Policy: the checks across sections, lookups, snapshots
    errors.py   PolicyError, PathError, pydantic errors phrased as ``file line N: key: ...``
"""

from app.domain.policy.errors import PathError, PolicyError
from app.domain.policy.fields import (
    ALERT_SOURCES,
    SLACK_CHECKBOX_OPTIONS_MAX,
    SLACK_OPTION_LABEL_MAX,
    Duration,
    OptionalDuration,
    Strings,
)
from app.domain.policy.models import (
    AlertPolicy,
    AlertRule,
    EscalationLevel,
    EscalationPolicy,
    Impact,
    Severity,
)
from app.domain.policy.policy import Policy

__all__ = [
    "ALERT_SOURCES",
    "AlertPolicy",
    "AlertRule",
    "Duration",
    "EscalationLevel",
    "EscalationPolicy",
    "Impact",
    "OptionalDuration",
    "PathError",
    "Policy",
    "PolicyError",
    "SLACK_CHECKBOX_OPTIONS_MAX",
    "SLACK_OPTION_LABEL_MAX",
    "Severity",
    "Strings",
]
