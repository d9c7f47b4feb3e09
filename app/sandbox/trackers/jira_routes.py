"""The fake Jira's searches (Cloud's POST /rest/api/3/search/jql, Server's POST
/rest/api/2/search, Cloud's removed /search answering 410), the table of its routes, and
GET /browse/{KEY}: the one page for people, so a ticket link the bot posts opens something."""

from __future__ import annotations

import html
import re
from typing import Any

from .jira_docs import Read, parse_jql
from .jira_handlers import (
    Call,
    Handler,
    JiraError,
    _object,
    add_comment,
    create_issue,
    do_transition,
    edit_issue,
    get_issue,
    get_project,
    list_comments,
    list_transitions,
    myself,
    user_search,
)
from .jira_state import Issue, JiraState

CLOUD_SEARCH_KEYS = {
    "jql",
    "nextPageToken",
    "maxResults",
    "fields",
    "expand",
    "properties",
    "fieldsByKeys",
    "failFast",
    "reconcileIssues",
}
SERVER_SEARCH_KEYS = {"jql", "startAt", "maxResults", "fields", "expand", "validateQuery"}
INVALID_PAYLOAD = "Invalid request payload. Refer to the REST API documentation and try again."
REMOVED_SEARCH = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at "
    "https://developer.atlassian.com/changelog/#CHANGE-2046"
)


# --- search ---------------------------------------------------------------------------------


def _matching(state: JiraState, jql: str) -> list[Issue]:
    try:
        clauses = parse_jql(jql)
    except ValueError as exc:
        raise JiraError(400, [str(exc)]) from None
    found = list(state.issues.values())
    for name, value in clauses:
        if name == "project":
            if not any(p.casefold() == value.casefold() for p in state.projects):
                raise JiraError(
                    400, [f"The value '{value}' does not exist for the field 'project'."]
                )
            found = [i for i in found if i.project.casefold() == value.casefold()]
        else:
            found = [i for i in found if value.casefold() in (x.casefold() for x in i.labels)]
    return found


def search(state: JiraState, call: Call) -> tuple[int, Any]:
    body = _object(call.body)
    cloud = state.flavour == "cloud"
    if set(body) - (CLOUD_SEARCH_KEYS if cloud else SERVER_SEARCH_KEYS):
        raise JiraError(400, [INVALID_PAYLOAD])
    jql = body.get("jql")
    if not isinstance(jql, str) or not jql.strip():
        raise JiraError(400, ["Unbounded JQL queries are not allowed here."])
    found = _matching(state, jql)
    limit = int(body.get("maxResults", 50))
    fields = body.get("fields")
    if cloud and fields is None:
        fields = ["id"]  # /search/jql returns ids only unless fields are named
    issues = [state.issue_json(i, fields) for i in found[:limit]]
    if cloud:
        if fields == ["id"]:
            issues = [{"id": i["id"]} for i in issues]
        return 200, {"issues": issues, "isLast": len(found) <= limit}
    return 200, {
        "expand": "names,schema",
        "startAt": 0,
        "maxResults": limit,
        "total": len(found),
        "issues": issues,
    }


def removed_search(state: JiraState, call: Call) -> tuple[int, Any]:
    raise JiraError(410, [REMOVED_SEARCH])


KEY = r"(?P<key>[^/]+)"
# (method, path after /rest/api/<version>, route name, handler, flavours it exists in)
ROUTES: list[tuple[str, re.Pattern[str], str, Handler, tuple[str, ...]]] = [
    ("GET", re.compile(r"/myself"), "GET /myself", myself, ("cloud", "server")),
    ("GET", re.compile(rf"/project/{KEY}"), "GET /project/{key}", get_project, ("cloud", "server")),
    ("GET", re.compile(r"/user/search"), "GET /user/search", user_search, ("cloud", "server")),
    ("POST", re.compile(r"/issue"), "POST /issue", create_issue, ("cloud", "server")),
    ("GET", re.compile(rf"/issue/{KEY}"), "GET /issue/{key}", get_issue, ("cloud", "server")),
    ("PUT", re.compile(rf"/issue/{KEY}"), "PUT /issue/{key}", edit_issue, ("cloud", "server")),
    (
        "GET",
        re.compile(rf"/issue/{KEY}/comment"),
        "GET /issue/{key}/comment",
        list_comments,
        ("cloud", "server"),
    ),
    (
        "POST",
        re.compile(rf"/issue/{KEY}/comment"),
        "POST /issue/{key}/comment",
        add_comment,
        ("cloud", "server"),
    ),
    (
        "GET",
        re.compile(rf"/issue/{KEY}/transitions"),
        "GET /issue/{key}/transitions",
        list_transitions,
        ("cloud", "server"),
    ),
    (
        "POST",
        re.compile(rf"/issue/{KEY}/transitions"),
        "POST /issue/{key}/transitions",
        do_transition,
        ("cloud", "server"),
    ),
    ("POST", re.compile(r"/search/jql"), "POST /search/jql", search, ("cloud",)),
    ("POST", re.compile(r"/search"), "POST /search", search, ("server",)),
    ("POST", re.compile(r"/search"), "POST /search", removed_search, ("cloud",)),
    ("GET", re.compile(r"/search"), "GET /search", removed_search, ("cloud",)),
]


def route(flavour: str, method: str, tail: str) -> tuple[str, Handler, dict[str, str]] | None:
    for verb, pattern, name, handler, flavours in ROUTES:
        match = pattern.fullmatch(tail)
        if verb == method and match and flavour in flavours:
            return name, handler, match.groupdict()
    return None


# --- the issue's page -------------------------------------------------------------------

BROWSE = re.compile(r"/browse/(?P<key>[A-Z][A-Z0-9_]*-[1-9][0-9]*)")


def is_browse(method: str, path: str) -> bool:
    """GET /browse/...: a person's browser, not the client, so no API rules apply to it."""
    return method == "GET" and path.startswith("/browse/")


def browse_page(state: JiraState, path: str) -> tuple[int, str]:
    """(status, HTML) of the issue at `path`, read-only. Everything shown is escaped: the
    summary, labels and the text people wrote are words here, never markup, and a link is an
    anchor only when its address is http(s)."""
    match = BROWSE.fullmatch(path)
    issue = state.issues.get(match["key"]) if match else None
    if issue is None:
        return 404, _page("Issue not found", "<p>Issue does not exist.</p>")
    assignee = next((u for u in state.users if issue.assignee in (u.account_id, u.name)), None)
    facts = [
        ("Status", issue.status),
        ("Priority", issue.priority or "None"),
        ("Type", issue.issue_type),
        ("Labels", " ".join(issue.labels) or "None"),
        ("Components", " ".join(issue.components) or "None"),
        ("Assignee", assignee.display_name if assignee else "Unassigned"),
    ]
    rows = "".join(f"<dt>{_e(name)}</dt><dd>{_e(value)}</dd>" for name, value in facts)
    comments = "".join(
        f"<li><p>{_e(state.bot.display_name if c.author == 'bot' else c.author)}, "
        f"{_e(c.created)}</p>{_read(c.read)}</li>"
        for c in issue.comments
    )
    body = (
        f"<h1>{_e(issue.key)}: {_e(issue.summary)}</h1><dl>{rows}</dl>"
        f"<h2>Description</h2>{_read(issue.description_read)}"
        f"<h2>Comments</h2><ol>{comments}</ol>"
    )
    return 200, _page(f"[{issue.key}] {issue.summary}", body)


def _read(read: Read) -> str:
    links = "".join(f"<li>{_anchor(label, url)}</li>" for label, url in read.links)
    return f"<pre>{_e(read.plain)}</pre>" + (f"<ul>{links}</ul>" if links else "")


def _anchor(label: str, url: str) -> str:
    if not url.startswith(("http://", "https://")):
        return _e(label or url)
    return f'<a href="{_e(url)}">{_e(label or url)}</a>'


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}'
        f"</title></head><body>{body}</body></html>"
    )
