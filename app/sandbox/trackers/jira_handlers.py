"""The fake Jira's endpoints: each takes the site and the request, and answers (status, body)
or raises `JiraError` with Jira's error body ({"errorMessages": [...], "errors": {field: ...}}).

Strict where Jira is strict: unknown project, issue type, priority, component or user; a
description or comment in the other flavour's format (Cloud v3 takes only ADF, Server v2 only
strings); labels with spaces; summaries over 255 characters or with newlines; fields that are
not on the create screen; transitions the issue's status does not offer. The searches and the
route table are in jira_routes.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .jira_docs import NOT_STRING, Read, adf_problem, adf_read, wiki_read
from .jira_state import Comment, Issue, JiraState, User

CREATE_FIELDS = {
    "project",
    "summary",
    "issuetype",
    "labels",
    "description",
    "priority",
    "components",
    "duedate",
    "assignee",
}
EDIT_FIELDS = {"summary", "priority", "labels"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class JiraError(Exception):
    def __init__(
        self, status: int, messages: list[str] | None = None, errors: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status}: {messages} {errors}")
        self.status = status
        self.body = {"errorMessages": messages or [], "errors": errors or {}}


@dataclass
class Call:
    """One request the fake received, and what it answered."""

    method: str
    route: str  # e.g. "POST /issue/{key}/transitions"; "" when no route matched
    path: str
    query: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    status: int = 0
    response: Any = None


Handler = Callable[[JiraState, Call], tuple[int, Any]]


def _issue(state: JiraState, call: Call) -> Issue:
    issue = state.issues.get(call.params["key"])
    if issue is None:
        message = (
            "Issue does not exist or you do not have permission to see it."
            if state.flavour == "cloud"
            else "Issue Does Not Exist"
        )
        raise JiraError(404, [message])
    return issue


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise JiraError(400, ["Can not deserialize instance of the request out of its body"])
    return body


def _read_text(state: JiraState, value: Any) -> tuple[str | None, Read]:
    """(why Jira refuses `value` as rich text, or None; what a person would read)."""
    if state.flavour == "cloud":
        problem = adf_problem(value)
        return problem, Read() if problem else adf_read(value)
    if not isinstance(value, str):
        return NOT_STRING, Read()
    return None, wiki_read(value)


# --- identity, projects, people -------------------------------------------------------------


def myself(state: JiraState, call: Call) -> tuple[int, Any]:
    return 200, state.user_json(state.bot)


def get_project(state: JiraState, call: Call) -> tuple[int, Any]:
    project = state.projects.get(call.params["key"])
    if project is None:
        raise JiraError(404, [f"No project could be found with key '{call.params['key']}'."])
    return 200, {
        "self": f"{state.api}/project/{project.id}",
        "id": project.id,
        "key": project.key,
        "name": project.name,
        "projectTypeKey": "software",
        "issueTypes": [{"name": name, "subtask": False} for name in project.issue_types],
        "components": [{"name": name} for name in project.components],
    }


def _matches(user: User, text: str) -> bool:
    """Jira's user search: a prefix of the e-mail (shown or not), the name or a name's word."""
    words = [user.email, user.name, user.display_name, *user.display_name.split()]
    return any(word.casefold().startswith(text.casefold()) for word in words)


def user_search(state: JiraState, call: Call) -> tuple[int, Any]:
    key = "query" if state.flavour == "cloud" else "username"
    text = call.query.get(key)
    if not text:
        if state.flavour == "cloud":
            raise JiraError(400, ["The query parameter 'query' is required"])
        raise JiraError(400, ["The username query parameter was not provided"])
    found = [state.user_json(u) for u in state.users if _matches(u, text)]
    return 200, found


# --- issues ---------------------------------------------------------------------------------


def _named(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return value["name"]
    return None


def _check_summary(value: Any, errors: dict[str, str]) -> None:
    if value is None or value == "":
        errors["summary"] = "You must specify a summary of the issue."
    elif not isinstance(value, str):
        errors["summary"] = NOT_STRING
    elif len(value) > 255:
        errors["summary"] = "Summary must be less than 255 characters."
    elif "\n" in value or "\r" in value:
        errors["summary"] = "The summary is invalid because it contains newline characters."


def _check_labels(value: Any, errors: dict[str, str]) -> None:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        errors["labels"] = "Operation value must be an array of strings"
        return
    for name in value:
        if any(ch.isspace() for ch in name):
            errors["labels"] = f"The label '{name}' contains spaces which is invalid."
        elif len(name) > 255:
            errors["labels"] = f"The label '{name}' exceeds maximum length of 255 characters."


def _check_named(
    fields: dict[str, Any], name: str, allowed: list[str], errors: dict[str, str], what: str
) -> None:
    if name not in fields:
        return
    value = _named(fields[name])
    if value is None or value not in allowed:
        errors[name] = f"{what} name '{value}' is not valid"


def _check_components(value: Any, allowed: list[str], errors: dict[str, str]) -> list[str]:
    if not isinstance(value, list):
        errors["components"] = "Operation value must be an array"
        return []
    names = [_named(c) for c in value]
    bad = next((n for n in names if n is None or n not in allowed), "")
    if bad != "":
        errors["components"] = f"Component name '{bad}' is not valid"
    return [n for n in names if n]


def _check_assignee(state: JiraState, value: Any, errors: dict[str, str]) -> str | None:
    user = state.user_by_ref(value) if isinstance(value, dict) else None
    if user is None:
        if state.flavour == "cloud":
            errors["assignee"] = "Specify a valid value for assignee"
        else:
            errors["assignee"] = f"User '{_named(value)}' does not exist."
        return None
    return user.account_id if state.flavour == "cloud" else user.name


def create_issue(state: JiraState, call: Call) -> tuple[int, Any]:
    fields = _object(_object(call.body).get("fields"))
    errors = {
        name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
        for name in fields
        if name not in CREATE_FIELDS
    }
    ref = fields.get("project") or {}
    project = state.projects.get(ref.get("key", "")) if isinstance(ref, dict) else None
    if project is None:
        valid = "Specify a valid project ID or key" if state.flavour == "cloud" else None
        raise JiraError(400, errors={"project": valid or "project is required", **errors})
    issue_type = _named(fields.get("issuetype"))
    if issue_type is None:
        errors["issuetype"] = "Specify an issue type"
    elif issue_type not in project.issue_types:
        errors["issuetype"] = "Specify a valid issue type"
    _check_summary(fields.get("summary"), errors)
    _check_labels(fields.get("labels", []), errors)
    _check_named(fields, "priority", project.priorities, errors, "Priority")
    components = _check_components(fields.get("components", []), project.components, errors)
    due = fields.get("duedate")
    if due is not None and not (isinstance(due, str) and _DATE.fullmatch(due)):
        errors["duedate"] = f"Error parsing date string: {due}"
    assignee = _check_assignee(state, fields["assignee"], errors) if "assignee" in fields else None
    problem, read = None, Read()
    if "description" in fields:
        problem, read = _read_text(state, fields["description"])
    if problem:
        errors["description"] = problem
    if errors:
        raise JiraError(400, errors=errors)
    key = state.new_key(project.key)
    issue = Issue(
        id=state.new_id(),
        key=key,
        project=project.key,
        summary=fields["summary"],
        issue_type=str(issue_type),
        status=state.statuses[0].name,
        labels=list(fields.get("labels", [])),
        description=fields.get("description"),
        description_read=read,
        priority=_named(fields.get("priority")),
        components=components,
        duedate=due,
        assignee=assignee,
    )
    state.issues[key] = issue
    return 201, {"id": issue.id, "key": key, "self": f"{state.api}/issue/{issue.id}"}


def get_issue(state: JiraState, call: Call) -> tuple[int, Any]:
    issue = _issue(state, call)
    wanted = call.query.get("fields")
    fields = [f.strip() for f in wanted.split(",") if f.strip()] if wanted else None
    return 200, state.issue_json(issue, fields)


def edit_issue(state: JiraState, call: Call) -> tuple[int, Any]:
    issue = _issue(state, call)
    fields = _object(_object(call.body).get("fields", {}))
    errors = {
        name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
        for name in fields
        if name not in EDIT_FIELDS
    }
    project = state.projects[issue.project]
    _check_named(fields, "priority", project.priorities, errors, "Priority")
    if "summary" in fields:
        _check_summary(fields["summary"], errors)
    if "labels" in fields:
        _check_labels(fields["labels"], errors)
    if errors:
        raise JiraError(400, errors=errors)
    if "priority" in fields:
        issue.priority = _named(fields["priority"])
    issue.summary = fields.get("summary", issue.summary)
    issue.labels = list(fields.get("labels", issue.labels))
    return 204, None


# --- comments and transitions ---------------------------------------------------------------


def list_comments(state: JiraState, call: Call) -> tuple[int, Any]:
    issue = _issue(state, call)
    order = call.query.get("orderBy")
    if order not in (None, "created", "+created", "-created"):
        raise JiraError(400, [f"The orderBy value '{order}' is not valid"])
    try:
        start = int(call.query.get("startAt", "0"))
        limit = int(call.query.get("maxResults", "100"))
    except ValueError:
        raise JiraError(400, ["startAt and maxResults must be integers"]) from None
    comments = list(reversed(issue.comments)) if order == "-created" else list(issue.comments)
    page = comments[start : start + limit]
    return 200, {
        "startAt": start,
        "maxResults": limit,
        "total": len(comments),
        "comments": [state.comment_json(c) for c in page],
    }


def add_comment(state: JiraState, call: Call) -> tuple[int, Any]:
    issue = _issue(state, call)
    body = _object(call.body).get("body")
    if body in (None, ""):
        raise JiraError(400, errors={"comment": "Comment body can not be empty!"})
    problem, read = _read_text(state, body)
    if problem:
        raise JiraError(400, errors={"comment": "Comment body is not valid!"})
    comment = Comment(state.new_id(), body, read, "bot", state.timestamp())
    issue.comments.append(comment)
    return 201, state.comment_json(comment)


def list_transitions(state: JiraState, call: Call) -> tuple[int, Any]:
    issue = _issue(state, call)
    offered = [state.transition_json(t) for t in state.available(issue)]
    return 200, {"expand": "transitions", "transitions": offered}


def do_transition(state: JiraState, call: Call) -> tuple[int, Any]:
    issue = _issue(state, call)
    ref = _object(call.body).get("transition")
    wanted = str(ref.get("id")) if isinstance(ref, dict) and ref.get("id") else None
    if wanted is None:
        raise JiraError(400, ["Missing 'transition' identifier"])
    transition = next((t for t in state.available(issue) if t.id == wanted), None)
    if transition is None:
        raise JiraError(400, [f"Transition id '{wanted}' is not valid for this issue."])
    state.move(issue, transition.to)
    return 204, None
