"""GitHub's webhook deliveries: which issues changed, from a signed `issues` event.

GitHub signs the raw body with the webhook's secret: `X-Hub-Signature-256: sha256=<hex HMAC>`.
A delivery is believed only if that signature matches (compared in constant time); without a
configured secret nothing is believed, since anyone could post a "closed" event otherwise.
GitHub's signatures carry no timestamp, so `now` is unused here (Linear's and Jira's are
checked against it); a replayed delivery only repeats a state the API would report anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.domain.tickets import Ticket

__all__ = ["read_webhook", "ticket_from_issue"]

# Actions after which the issue no longer is where its key says, or is gone: the poll (a 404 or
# 410 on fetch) tells the caller, not a webhook that would report it "open".
_IGNORED_ACTIONS = frozenset({"deleted", "transferred"})


def read_webhook(
    headers: Mapping[str, str], body: bytes, secret: str | None, now: datetime
) -> list[Ticket]:
    """The issues a delivery reports (none for `ping` or other events).

    Raises ValueError for a missing secret, a missing or wrong signature, or a body that is
    not an `issues` payload.
    """
    del now  # see the module docstring
    if not secret:
        raise ValueError("GITHUB_WEBHOOK_SECRET is not set: deliveries cannot be verified")
    lowered = {key.lower(): value for key, value in headers.items()}
    signature = lowered.get("x-hub-signature-256", "")
    if not signature.startswith("sha256="):
        raise ValueError("X-Hub-Signature-256 missing")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature[len("sha256=") :].strip().lower(), expected):
        raise ValueError("X-Hub-Signature-256 does not match the body")
    event = lowered.get("x-github-event", "")
    if event != "issues":
        return []  # ping (sent when the webhook is made) and events the bot did not ask for
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise ValueError("the delivery's body is not JSON") from exc
    if not isinstance(payload, dict) or payload.get("action") in _IGNORED_ACTIONS:
        return []
    issue, repository = payload.get("issue"), payload.get("repository")
    if not isinstance(issue, dict) or not isinstance(repository, dict):
        raise ValueError("an issues delivery without issue or repository")
    return [ticket_from_issue(issue, str(repository.get("full_name", "")))]


def ticket_from_issue(issue: Mapping[str, Any], full_name: str) -> Ticket:
    """A Ticket from GitHub's issue object; `full_name` is "owner/repo"."""
    try:
        number = int(issue["number"])
        state = str(issue["state"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError("an issue without number or state") from exc
    if "/" not in full_name:
        raise ValueError(f"not a repository's full name: {full_name!r}")
    key = f"{full_name}#{number}"
    extra = {"title": str(issue.get("title") or "")}
    return Ticket(
        key=key,
        url=str(issue.get("html_url") or ""),
        remote_id=key,
        closed=state == "closed",
        extra=extra,
    )
