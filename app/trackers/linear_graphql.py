"""One GraphQL request to Linear, and every way it fails turned into a `TrackerError`.

`app.trackers.http.send` does not fit GraphQL, so this module posts through the shared client
(`make_client`) itself and keeps `send`'s rules for the transport:

- every operation is a POST, so whether a lost answer may have done something is the caller's
  to say (`mutation`), not the HTTP method's;
- Linear's refusals come as a JSON `errors` list whose `extensions` say what happened, with
  HTTP 200, 400 or 401 depending on the refusal, so the kind is read from the body:

  RATELIMITED (HTTP 400)     transient; `retry_after` from Retry-After, else from the reset
                             header (epoch ms) of the budget that ran out: requests or complexity
  AUTHENTICATION_ERROR (401),
  FORBIDDEN, invalid input,
  GraphQL validation         for good (a wrong key, a missing permission, a bad query or value)
  internal error, lock timeout  transient (an internal error may have done a mutation)
  5xx, a timeout, a dropped connection   transient; maybe done for a mutation, never for a query
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from app.trackers.base import TrackerError

TRACKER = "Linear"
# Error types (extensions.type, as Linear's SDK names them) that a later try may get past.
_TRANSIENT_TYPES = {"ratelimited", "internal error", "lock timeout", "network error"}
_BUDGETS = ("Requests", "Complexity", "Endpoint-Requests")


async def request(
    client: httpx.AsyncClient,
    url: str,
    document: str,
    variables: dict[str, Any],
    *,
    mutation: bool,
    now: datetime,
) -> dict[str, Any]:
    """Run one operation at `url` (the endpoint exactly: httpx would add a slash to a base
    URL); its `data`, or a `TrackerError` saying whether to try again."""
    try:
        response = await client.post(url, json={"query": document, "variables": variables})
    except httpx.ConnectError as exc:
        raise TrackerError(f"{TRACKER} unreachable: {exc}", transient=True) from exc
    except httpx.TimeoutException as exc:
        raise TrackerError(
            f"{TRACKER} did not answer in time", transient=True, maybe_done=mutation
        ) from exc
    except httpx.TransportError as exc:
        raise TrackerError(
            f"{TRACKER} connection failed: {type(exc).__name__}",
            transient=True,
            maybe_done=mutation,
        ) from exc
    status = response.status_code
    if status >= 500:
        raise TrackerError(
            f"{TRACKER} answered {status}", transient=True, maybe_done=mutation, status=status
        )
    body = _json(response)
    errors = body.get("errors") if body is not None else None
    if isinstance(errors, list) and errors:
        raise _refusal(errors, response, mutation, now)
    if status == 429:  # a proxy's rate limit: Linear's own comes as RATELIMITED
        raise TrackerError(
            f"{TRACKER} rate limit (429)",
            transient=True,
            retry_after=retry_after(response, now),
            status=status,
        )
    data = body.get("data") if body is not None else None
    if not response.is_success or not isinstance(data, dict):
        raise TrackerError(
            f"{TRACKER} gave an answer the bot cannot read (HTTP {status})",
            transient=False,
            status=status,
        )
    return data


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _refusal(
    errors: list[Any], response: httpx.Response, mutation: bool, now: datetime
) -> TrackerError:
    first: dict[str, Any] = errors[0] if isinstance(errors[0], dict) else {}
    found = first.get("extensions")
    extensions: dict[str, Any] = found if isinstance(found, dict) else {}
    code = str(extensions.get("code") or "")
    kind = str(extensions.get("type") or "").lower()
    words = extensions.get("userPresentableMessage") or first.get("message") or "no reason given"
    status = response.status_code
    if code == "RATELIMITED" or kind == "ratelimited":
        return TrackerError(
            f"{TRACKER} rate limit: {words}",
            transient=True,
            retry_after=retry_after(response, now),
            status=status,
        )
    if code == "AUTHENTICATION_ERROR" or kind == "authentication error":
        return TrackerError(
            f"{TRACKER} refused the API key (LINEAR_API_KEY): {words}",
            transient=False,
            status=status,
        )
    if kind in _TRANSIENT_TYPES:
        return TrackerError(
            f"{TRACKER} failed ({kind}): {words}",
            transient=True,
            maybe_done=mutation and kind == "internal error",
            status=status,
        )
    label = code or kind or f"HTTP {status}"
    return TrackerError(f"{TRACKER} refused ({label}): {words}", transient=False, status=status)


def retry_after(response: httpx.Response, now: datetime) -> float | None:
    """Seconds to wait: Retry-After, else the latest reset (UTC epoch milliseconds) among the
    budgets Linear says are spent (remaining 0), else None."""
    value = response.headers.get("retry-after")
    if value is not None:
        try:
            return max(float(value), 0.0)
        except ValueError:
            pass
    waits = []
    for budget in _BUDGETS:
        remaining = response.headers.get(f"x-ratelimit-{budget.lower()}-remaining")
        reset = response.headers.get(f"x-ratelimit-{budget.lower()}-reset")
        if remaining is None or reset is None:
            continue
        try:
            if float(remaining) > 0:
                continue
            waits.append(max(float(reset) / 1000.0 - now.timestamp(), 0.0))
        except ValueError:
            continue
    return max(waits) if waits else None


# --- the operations the bot sends (FakeLinear serves exactly these) --------------------------

VIEWER = "query Viewer { viewer { id name } }"
VIEWER_AND_TEAM = """
query ViewerAndTeam($key: String!) {
  viewer { id name }
  teams(filter: {key: {eq: $key}}, first: 1) { nodes { id key name } }
}"""
TEAM = """
query Team($key: String!) {
  teams(filter: {key: {eq: $key}}, first: 1) { nodes { id key name } }
}"""
LABELS = """
query Labels($filter: IssueLabelFilter!) {
  issueLabels(filter: $filter, first: 250) { nodes { id name team { id } } }
}"""
LABEL_CREATE = """
mutation LabelCreate($input: IssueLabelCreateInput!) {
  issueLabelCreate(input: $input) { success issueLabel { id name } }
}"""
USER_BY_EMAIL = """
query UserByEmail($email: String!) {
  users(filter: {email: {eqIgnoreCase: $email}}, first: 1) { nodes { id name } }
}"""
ISSUE_FIELDS = "id identifier url state { type }"
ISSUE_CREATE = f"""
mutation IssueCreate($input: IssueCreateInput!) {{
  issueCreate(input: $input) {{ success issue {{ {ISSUE_FIELDS} }} }}
}}"""
FIND_ISSUES = f"""
query FindIssues($filter: IssueFilter!) {{
  issues(filter: $filter, first: 50, orderBy: createdAt) {{
    nodes {{ {ISSUE_FIELDS} description createdAt }}
  }}
}}"""
ISSUE = f"""
query Issue($id: String!) {{
  issue(id: $id) {{ {ISSUE_FIELDS} }}
}}"""
ISSUE_AND_STATES = f"""
query IssueAndStates($id: String!) {{
  issue(id: $id) {{
    {ISSUE_FIELDS}
    team {{ id states(first: 100) {{ nodes {{ id name type position }} }} }}
  }}
}}"""
ISSUE_UPDATE = """
mutation IssueUpdate($id: String!, $input: IssueUpdateInput!) {
  issueUpdate(id: $id, input: $input) { success }
}"""
COMMENT_CREATE = """
mutation CommentCreate($input: CommentCreateInput!) {
  commentCreate(input: $input) { success comment { id } }
}"""
