"""FakeLinear's resolvers: one method per field of Query and Mutation, refusing what Linear
refuses with its error shapes: an id naming nothing is "Entity not found" (code INPUT_ERROR), a
value out of range an "Argument Validation Error" (code INVALID_INPUT), a missing permission
FORBIDDEN."""

from __future__ import annotations

from typing import Any

from .linear_query import LinearError, connection, invalid, not_found
from .linear_state import Comment, Issue, IssueLabel, Team, User, Workspace


class Root:
    """The root value of every operation: one method per field of Query and Mutation."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace

    # queries
    def viewer(self, info: Any) -> User:
        return self.ws.viewer

    def teams(self, info: Any, **args: Any) -> dict[str, Any]:
        return connection(self.ws.teams, args, "Team")

    def team(self, info: Any, id: str) -> Team:
        found = next((t for t in self.ws.teams if id in (t.id, t.key)), None)
        if found is None:
            raise not_found("Team")
        return found

    def users(self, info: Any, **args: Any) -> dict[str, Any]:
        users = (
            self.ws.users if args.get("includeDisabled") else [u for u in self.ws.users if u.active]
        )
        return connection(users, args, "User")

    def issueLabels(self, info: Any, **args: Any) -> dict[str, Any]:
        return connection(self.ws.labels, args, "IssueLabel")

    def workflowStates(self, info: Any, **args: Any) -> dict[str, Any]:
        return connection([s for t in self.ws.teams for s in t.workflow], args, "WorkflowState")

    def issues(self, info: Any, **args: Any) -> dict[str, Any]:
        return connection(self.ws.issues, args, "Issue")

    def issue(self, info: Any, id: str) -> Issue:
        return self.ws.find_issue(id)

    # mutations
    def issueCreate(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        ws = self.ws
        team = next((t for t in ws.teams if t.id == input["teamId"]), None)
        if team is None:
            raise not_found("Team")
        values = ws.check_fields(team, {"title": input.get("title"), **input})
        # Linear opens an API-created issue in the team's default state: its first backlog
        # state, else its first unstarted one (triage is for issues from integrations).
        ordered = sorted(team.workflow, key=lambda s: (s.type != "backlog", s.position))
        default_state = next(s for s in ordered if s.type in ("backlog", "unstarted"))
        issue = Issue(
            team=team,
            number=1 + sum(1 for i in ws.issues if i.team is team),
            title=values["title"],
            description=values.get("description"),
            priority=values.get("priority", 0),
            state=values.get("state", default_state),
            createdAt=ws.now_iso(),
            assignee=values.get("assignee"),
            dueDate=values.get("dueDate"),
            label_list=values.get("label_list", []),
        )
        ws.issues.append(issue)
        return {"success": True, "issue": issue, "lastSyncId": ws.next_sync()}

    def issueUpdate(self, info: Any, id: str, input: dict[str, Any]) -> dict[str, Any]:
        issue = self.ws.find_issue(id)
        for name, value in self.ws.check_fields(issue.team, input).items():
            setattr(issue, name, value)
        return {"success": True, "issue": issue, "lastSyncId": self.ws.next_sync()}

    def commentCreate(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:
        if not input.get("issueId"):
            raise invalid("A comment needs a parent: issueId (or another parent) must be given.")
        issue = self.ws.find_issue(input["issueId"])
        body = input.get("body")
        if not body or not body.strip():
            raise invalid("body or bodyData must be provided")
        comment = Comment(issue=issue, body=body, createdAt=self.ws.now_iso(), user=self.ws.viewer)
        self.ws.comments.append(comment)
        return {"success": True, "comment": comment, "lastSyncId": self.ws.next_sync()}

    def issueLabelCreate(self, info: Any, input: dict[str, Any], **_: Any) -> dict[str, Any]:
        if self.ws.labels_locked:
            raise LinearError(
                "Forbidden", "FORBIDDEN", "forbidden", "Only admins can create labels.", 403
            )
        name = input["name"].strip()
        if not name:
            raise invalid("name should not be empty")
        team = None
        if input.get("teamId") is not None:
            team = next((t for t in self.ws.teams if t.id == input["teamId"]), None)
            if team is None:
                raise not_found("Team")
        clash = [
            x for x in self.ws.labels if x.name.lower() == name.lower() and x.team in (None, team)
        ]
        if clash:
            raise invalid(f"A label named {name!r} already exists.")
        label = IssueLabel(name=name, team=team)
        self.ws.labels.append(label)
        return {"success": True, "issueLabel": label, "lastSyncId": self.ws.next_sync()}
