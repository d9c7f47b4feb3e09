"""Issue trackers: Jira (Cloud and Server/Data Center), GitHub Issues and Linear, each behind
`Tracker` (base.py). `build_trackers(settings)` makes one for every tracker whose credentials
are set; the policy's `tickets.provider` picks the one incidents use.

    base.py     the Tracker protocol and TrackerError
    http.py     the httpx client and the mapping of HTTP failures to TrackerError
    jira.py, github.py, linear.py   one module per tracker
"""

from __future__ import annotations

from app.trackers.base import Tracker, TrackerError

__all__ = ["Tracker", "TrackerError"]
