"""The status page's preview in Slack (frame; issue 18)."""

from __future__ import annotations

PUBLISH_ACTION = "statuspage_publish"
CANCEL_ACTION = "statuspage_cancel"
