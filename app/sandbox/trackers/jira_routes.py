"""The fake Jira's searches (Cloud's POST /rest/api/3/search/jql, Server's POST
/rest/api/2/search, Cloud's removed /search answering 410) and the table of its routes."""

from __future__ import annotations

import re
from typing import Any

from .jira_docs import parse_jql
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
