"""Severity decisions for a declared incident. Pure functions, no I/O.

Kept apart from Slack handlers so the rules of the plan ("the worst impact
decides", "a breach is private") are testable without a workspace.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from app.domain.policy import Impact, Policy

__all__ = ["choose_severity", "private_by_default", "response_deadline", "suggest_severity"]


def _known_impacts(impact_keys: Iterable[str], policy: Policy) -> list[Impact]:
    """Impacts the policy knows; unknown keys (e.g. from a modal built under an
    older policy) are ignored rather than failing the declaration."""
    by_key = {impact.key: impact for impact in policy.impacts}
    return [by_key[key] for key in impact_keys if key in by_key]


def suggest_severity(impact_keys: Iterable[str], policy: Policy) -> str | None:
    """The most severe severity implied by any ticked impact, or None if none ticked."""
    ranks = [policy.rank(impact.severity) for impact in _known_impacts(impact_keys, policy)]
    return policy.severity_keys[min(ranks)] if ranks else None


def choose_severity(explicit: str | None, impact_keys: Iterable[str], policy: Policy) -> str | None:
    """The reporter's explicit choice wins (they may know better); else the suggestion.

    An explicit key the policy does not know raises ``ValueError`` so the caller
    can show it as a modal error instead of opening an incident with a bogus
    severity. An empty string counts as no choice.
    """
    if explicit is not None and explicit.strip():
        key = explicit.strip()
        if key not in policy.severities:
            raise ValueError(f"unknown severity {key!r} (known: {', '.join(policy.severity_keys)})")
        return key
    return suggest_severity(impact_keys, policy)


def private_by_default(impact_keys: Iterable[str], policy: Policy) -> bool:
    """True when any ticked impact is sensitive (e.g. a data breach)."""
    return any(impact.private for impact in _known_impacts(impact_keys, policy))


def response_deadline(started_at: datetime, severity_key: str, policy: Policy) -> datetime:
    """When the plan's response target for this severity runs out.

    Keeps ``started_at``'s timezone; pass an aware UTC datetime.
    """
    return started_at + policy.severity(severity_key).response_target
