"""One tracker for every tracker whose credentials are set (`build_trackers`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from app.config.tracker_settings import TrackerSettings
from app.domain.tickets import Ticket
from app.trackers.base import Tracker


def build_trackers(
    settings: TrackerSettings, priority_labels: Iterable[str] = ()
) -> dict[str, Tracker]:
    """The configured trackers by name; making them opens no connection. A tracker's module
    is imported only when its credentials are set. `priority_labels`: every priority the
    policy names, which GitHub (where a priority is a label) replaces when it changes."""
    found: dict[str, Tracker] = {}
    if settings.jira_configured:
        from app.trackers.jira import JiraTracker

        found["jira"] = _made(JiraTracker.from_settings(settings))
    if settings.github_configured:
        from app.trackers.github import GitHubTracker

        labels = tuple(priority_labels)
        found["github"] = _made(GitHubTracker.from_settings(settings, priority_labels=labels))
    if settings.linear_configured:
        from app.trackers.linear import LinearTracker

        found["linear"] = _made(LinearTracker.from_settings(settings))
    return found


def _made(tracker: Tracker | None) -> Tracker:
    assert tracker is not None, "configured, so made"
    return tracker


WebhookReader = Callable[[Mapping[str, str], bytes, str | None, datetime], list[Ticket]]


def webhook_reader(provider: str) -> WebhookReader:
    """The function that verifies and reads `provider`'s webhook deliveries (ValueError when
    the signature is wrong)."""
    if provider == "jira":
        from app.trackers.jira import read_webhook as jira

        return jira
    if provider == "github":
        from app.trackers.github import read_webhook as github

        return github
    if provider == "linear":
        from app.trackers.linear import read_webhook as linear

        return linear
    raise KeyError(provider)
