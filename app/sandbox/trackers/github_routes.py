"""The fake GitHub's endpoints, one function per operation of github/rest-api-description
(its `operationId` in ROUTES), answering the published shapes and refusing what GitHub refuses.

Each handler takes the `World` (the fake's state) and the parsed request (`Ctx`) and returns an
`Answer` or raises `GitHubError`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from .github_state import Comment, Issue, User, iso
from .github_world import (
    BODY_LIMIT,
    TITLE_LIMIT,
    Answer,
    Ctx,
    GitHubError,
    Handler,
    Route,
    World,
    assignees,
    choice,
    invalid,
    links,
    object_body,
    optional_str,
    paging,
    shape,
    str_list,
    time_param,
    too_long,
)

__all__ = ["ROUTES"]


def get_authenticated(world: World, ctx: Ctx) -> Answer:
    if ctx.kind == "installation":
        raise GitHubError(403, "Resource not accessible by integration")
    return Answer(200, ctx.actor.private(world.api, world.now()))


def get_app(world: World, ctx: Ctx) -> Answer:
    owner = User("acme", 1, type="Organization").simple(world.api)
    when = iso(world.now())
    return Answer(
        200,
        {
            "id": int(world.app_id or 0),
            "slug": world.app_slug,
            "node_id": "A_00000001",
            "client_id": "Iv1.fake",
            "owner": owner,
            "name": world.app_slug,
            "description": "",
            "external_url": "https://example.com",
            "html_url": f"https://github.com/apps/{world.app_slug}",
            "created_at": when,
            "updated_at": when,
            "permissions": {"issues": world.issues_permission or "none", "metadata": "read"},
            "events": ["issues"],
        },
    )


def create_installation_token(world: World, ctx: Ctx) -> Answer:
    if ctx.groups[0] != world.installation_id:
        raise GitHubError(404, "Not Found")
    token = "ghs_" + secrets.token_hex(18)
    expires = world.now() + timedelta(hours=1)
    world.tokens[token] = expires
    permissions = {"issues": world.issues_permission or "none", "metadata": "read"}
    body = {
        "token": token,
        "expires_at": iso(expires),
        "permissions": permissions,
        "repository_selection": "selected",
    }
    return Answer(201, body)


def list_installation_repos(world: World, ctx: Ctx) -> Answer:
    repos = [r for r in world.repos.values() if r.installed and r.accessible]
    per_page, page = paging(ctx)
    chosen = repos[(page - 1) * per_page : page * per_page]
    body = {
        "total_count": len(repos),
        "repository_selection": "selected",
        "repositories": [r.json(world.api, world.pushes(r, ctx.actor)) for r in chosen],
    }
    return Answer(200, body, links(ctx.url, page, per_page, len(repos)))


def search_users(world: World, ctx: Ctx) -> Answer:
    q = ctx.query.get("q", "").strip()
    if not q:
        error = {"resource": "Search", "field": "q", "code": "missing"}
        raise GitHubError(422, "Validation Failed", [error])
    terms = [t for t in q.split() if ":" not in t or "@" in t]
    where = {t.split(":", 1)[1] for t in q.split() if t.startswith("in:")} or {"login", "email"}
    found = [
        user
        for user in world.users.values()
        if terms
        and all(
            ("email" in where and (user.email or "").casefold() == term.casefold())
            or ("login" in where and term.casefold() in user.login.casefold())
            for term in terms
        )
    ]
    items = [{**user.simple(world.api), "score": 1.0} for user in found]
    return Answer(200, {"total_count": len(items), "incomplete_results": False, "items": items})


def get_repo(world: World, ctx: Ctx) -> Answer:
    repo = world.repo(ctx)
    return Answer(200, repo.json(world.api, world.pushes(repo, ctx.actor)))


def check_assignee(world: World, ctx: Ctx) -> Answer:
    repo = world.issues_repo(ctx)
    if world.assignable(repo, ctx.groups[2]) is None:
        raise GitHubError(404, "Not Found")
    return Answer(204)


def list_issues(world: World, ctx: Ctx) -> Answer:
    repo = world.issues_repo(ctx)
    q = ctx.query
    state = choice(q, "state", ("open", "closed", "all"), "open")
    sort = choice(q, "sort", ("created", "updated", "comments"), "created")
    direction = choice(q, "direction", ("asc", "desc"), "desc")
    since = time_param(q["since"], "since") if "since" in q else None
    creator = q.get("creator")
    if creator is not None and creator.casefold() not in world.users:
        raise invalid("creator", creator)
    chosen = [
        issue
        for issue in repo.issues.values()
        if (state == "all" or issue.state == state)
        and (creator is None or issue.user.login.casefold() == creator.casefold())
        and (since is None or issue.updated_at >= since)
    ]
    keys: dict[str, Callable[[Issue], Any]] = {
        "created": lambda i: (i.created_at, i.number),
        "updated": lambda i: (i.updated_at, i.number),
        "comments": lambda i: (len(i.comments), i.number),
    }
    chosen.sort(key=keys[sort], reverse=direction == "desc")
    per_page, page = paging(ctx)
    shown = chosen[(page - 1) * per_page : page * per_page]
    return Answer(
        200, [i.json(world.api) for i in shown], links(ctx.url, page, per_page, len(chosen))
    )


def create_issue(world: World, ctx: Ctx) -> Answer:
    repo = world.issues_repo(ctx, write=True)
    body = object_body(ctx.body)
    if "title" not in body:
        raise shape('"title" wasn\'t supplied.')
    title = body["title"]
    if not isinstance(title, str | int) or isinstance(title, bool):
        raise shape(f"For 'properties/title', {title!r} is not a string or integer.")
    title = str(title)
    text = optional_str(body, "body")
    if not title.strip():
        raise GitHubError(
            422,
            "Validation Failed",
            [{"resource": "Issue", "code": "missing_field", "field": "title"}],
        )
    if len(title) > TITLE_LIMIT:
        raise too_long("title", TITLE_LIMIT)
    if text is not None and len(text) > BODY_LIMIT:
        raise too_long("body", BODY_LIMIT)
    push = world.pushes(repo, ctx.actor)
    labels = [world.label(repo, n, create=push) for n in str_list(body, "labels")]
    people = assignees(world, repo, str_list(body, "assignees"))
    now = world.now()
    issue = Issue(
        repo.full_name, repo.next_number, world.new_id(), title, text, ctx.actor, now, now
    )
    if push:  # without push access GitHub silently drops labels and assignees
        issue.labels = [label for label in labels if label is not None]
        issue.assignees = people
    repo.issues[issue.number] = issue
    repo.next_number += 1
    location = f"{world.api}/repos/{repo.full_name}/issues/{issue.number}"
    return Answer(201, issue.json(world.api), {"Location": location})


def get_issue(world: World, ctx: Ctx) -> Answer:
    return Answer(200, world.issue(ctx)[1].json(world.api))


def update_issue(world: World, ctx: Ctx) -> Answer:
    repo, issue = world.issue(ctx, write=True)
    body = object_body(ctx.body)
    state = body.get("state", issue.state)
    reason = body.get("state_reason")
    if state not in ("open", "closed"):
        raise invalid("state", state)
    if reason not in (None, "completed", "not_planned", "duplicate", "reopened"):
        raise invalid("state_reason", reason)
    if "title" in body:
        issue.title = str(body["title"])
    if "body" in body:
        issue.body = optional_str(body, "body")
    if "labels" in body and world.pushes(repo, ctx.actor):
        found = [world.label(repo, n, create=True) for n in str_list(body, "labels")]
        issue.labels = [label for label in found if label is not None]
    now = world.now()
    if state != issue.state:
        issue.state = state
        issue.closed_at = now if state == "closed" else None
        issue.state_reason = (reason or "completed") if state == "closed" else "reopened"
    issue.updated_at = now
    return Answer(200, issue.json(world.api))


def list_comments(world: World, ctx: Ctx) -> Answer:
    _, issue = world.issue(ctx)
    return Answer(200, [issue.comment_json(c, world.api) for c in issue.comments])


def create_comment(world: World, ctx: Ctx) -> Answer:
    _, issue = world.issue(ctx, write=True)
    text = optional_str(object_body(ctx.body), "body")
    if not text:
        error = {"resource": "IssueComment", "code": "missing_field", "field": "body"}
        raise GitHubError(422, "Validation Failed", [error])
    if len(text) > BODY_LIMIT:
        raise too_long("body", BODY_LIMIT, "IssueComment")
    comment = Comment(world.new_id(), text, ctx.actor, world.now())
    issue.comments.append(comment)
    issue.updated_at = comment.created_at
    return Answer(201, issue.comment_json(comment, world.api))


def add_labels(world: World, ctx: Ctx) -> Answer:
    repo, issue = world.issue(ctx, write=True)
    names = ctx.body if isinstance(ctx.body, list) else str_list(object_body(ctx.body), "labels")
    if not names:
        raise shape("For 'properties/labels', [] has fewer than 1 items.")
    for name in names:
        label = world.label(repo, name, create=True)
        if label is not None and label not in issue.labels:
            issue.labels.append(label)
    issue.updated_at = world.now()
    return Answer(200, [label.json(world.api, repo.full_name) for label in issue.labels])


def remove_label(world: World, ctx: Ctx) -> Answer:
    repo, issue = world.issue(ctx, write=True)
    name = ctx.groups[3].casefold()
    kept = [label for label in issue.labels if label.name.casefold() != name]
    if len(kept) == len(issue.labels):
        raise GitHubError(404, "Label does not exist")
    issue.labels, issue.updated_at = kept, world.now()
    return Answer(200, [label.json(world.api, repo.full_name) for label in kept])


def _route(method: str, path: str, operation: str, handler: Handler, **kw: str) -> Route:
    name, repo = r"([A-Za-z0-9_.-]+)", r"([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)"
    regex = path.replace("{repo}", repo).replace("{n}", r"([0-9]+)").replace("{name}", name)
    return Route(method, re.compile(f"^{regex}$"), operation, handler, **kw)


_LABEL = r"([^/]+)"
ROUTES: tuple[Route, ...] = (
    _route("GET", "/user", "users/get-authenticated", get_authenticated),
    _route("GET", "/app", "apps/get-authenticated", get_app, auth="jwt"),
    _route(
        "POST",
        "/app/installations/([0-9]+)/access_tokens",
        "apps/create-installation-access-token",
        create_installation_token,
        auth="jwt",
    ),
    _route(
        "GET",
        "/installation/repositories",
        "apps/list-repos-accessible-to-installation",
        list_installation_repos,
        auth="installation",
    ),
    _route("GET", "/search/users", "search/users", search_users, resource="search"),
    _route("GET", "/repos/{repo}", "repos/get", get_repo),
    _route(
        "GET", "/repos/{repo}/assignees/{name}", "issues/check-user-can-be-assigned", check_assignee
    ),
    _route("GET", "/repos/{repo}/issues", "issues/list-for-repo", list_issues),
    _route("POST", "/repos/{repo}/issues", "issues/create", create_issue),
    _route("GET", "/repos/{repo}/issues/{n}", "issues/get", get_issue),
    _route("PATCH", "/repos/{repo}/issues/{n}", "issues/update", update_issue),
    _route("GET", "/repos/{repo}/issues/{n}/comments", "issues/list-comments", list_comments),
    _route("POST", "/repos/{repo}/issues/{n}/comments", "issues/create-comment", create_comment),
    _route("POST", "/repos/{repo}/issues/{n}/labels", "issues/add-labels", add_labels),
    _route(
        "DELETE", "/repos/{repo}/issues/{n}/labels/" + _LABEL, "issues/remove-label", remove_label
    ),
)
