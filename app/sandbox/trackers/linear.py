"""FakeLinear: an aiohttp server answering Linear's GraphQL API (POST /graphql), only stricter.

Queries are parsed and validated by graphql-core against a trimmed copy of Linear's published
schema (linear_schema.py), so an unknown field, argument or input field, a wrong type or a
missing required argument is refused as GraphQL refuses it. Then, in Linear's shapes:

- a wrong or missing `Authorization` (a personal API key is sent bare, not as "Bearer ...")
  is HTTP 401, code AUTHENTICATION_ERROR;
- a parse, validation or variable error is HTTP 400, code GRAPHQL_VALIDATION_FAILED;
- an id naming nothing (an unknown team, issue, label, state) is "Entity not found" and a value
  out of range (priority 7, an empty title) an "Argument Validation Error", HTTP 200 with
  `data: null` (resolver errors; the client must read `errors`, not the status);
- a rate limit is HTTP 400, code RATELIMITED, with X-RateLimit-Requests-* (reset in epoch ms),
  or X-RateLimit-Complexity-* for the complexity budget.

Fault injection (each optionally limited to one operation name): `fail_next` (a 5xx page, or a
proxy's 429 with Retry-After), `rate_limit_next`, `drop_next` (connection closed, nothing done),
`fail_after_success` (the work is done, then a 5xx or a dropped connection), `go_down`/`come_back`
(every request answers 503 meanwhile). `violations` lists what the client did that Linear would
not accept silently, or that the fake cannot honour; tests assert it stays empty.

Beside it: linear_schema (the schema), linear_query (Linear's refusals, filters, pages),
linear_state (the workspace), linear_resolvers, linear_faults, linear_webhooks (signed
deliveries, `webhook_for`).
"""

from __future__ import annotations

import json
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from graphql import ExecutionResult, GraphQLError, build_schema, execute, parse, validate
from graphql.language import OperationDefinitionNode

from .linear_faults import Fault, LinearFaults
from .linear_query import LinearError, Unsupported
from .linear_resolvers import Root
from .linear_schema import SDL
from .linear_state import DEFAULT_STATES, Issue, IssueLabel, Team, User, WorkflowState, Workspace
from .linear_webhooks import issue_delivery

SCHEMA = build_schema(SDL)
REQUESTS_LIMIT = 2500
COMPLEXITY_LIMIT = 3_000_000
AUTH_ERROR = {
    "message": "Authentication required, not authenticated",
    "extensions": {
        "type": "authentication error",
        "code": "AUTHENTICATION_ERROR",
        "statusCode": 401,
        "userError": True,
        "userPresentableMessage": "You need to authenticate to access this operation.",
    },
}


@dataclass
class Call:
    """One request as the fake saw it."""

    operation: str | None
    variables: dict[str, Any]
    query: str
    authorization: str | None
    status: int = 0
    body: dict[str, Any] = field(default_factory=dict)


class FakeLinear(LinearFaults):
    """A strict stand-in for https://api.linear.app/graphql; see the module docstring."""

    def __init__(
        self,
        api_key: str = "lin_api_test",
        *,
        viewer: tuple[str, str] = ("Ada", "ada@example.com"),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.api_key = api_key
        self.clock = clock or (lambda: datetime.now(UTC))
        self.workspace = Workspace(User(name=viewer[0], email=viewer[1]), self.clock)
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self._faults: deque[Fault] = deque()
        self._down = False
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("POST", "/graphql", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeLinear.start() has not been awaited")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """What LINEAR_API_URL is set to."""
        return f"{self.base_url}/graphql"

    # --- state ---------------------------------------------------------------------------------

    viewer = property(lambda self: self.workspace.viewer)
    teams = property(lambda self: self.workspace.teams)
    users = property(lambda self: self.workspace.users)
    labels = property(lambda self: self.workspace.labels)
    issues = property(lambda self: self.workspace.issues)
    comments = property(lambda self: self.workspace.comments)

    def seed_team(
        self,
        key: str,
        name: str | None = None,
        states: tuple[tuple[str, str], ...] = DEFAULT_STATES,
    ) -> Team:
        team = Team(key=key, name=name or key.title(), workspace=self.workspace)
        team.workflow = [
            WorkflowState(name=n, type=t, position=float(i), team=team)
            for i, (n, t) in enumerate(states)
        ]
        self.workspace.teams.append(team)
        return team

    def seed_user(self, name: str, email: str, *, active: bool = True) -> User:
        user = User(name=name, email=email, active=active)
        self.workspace.users.append(user)
        return user

    def seed_label(self, name: str, team: str | None = None) -> IssueLabel:
        label = IssueLabel(name=name, team=self.workspace.team_by_key(team) if team else None)
        self.workspace.labels.append(label)
        return label

    def issue(self, ref: str) -> Issue:
        """An issue by id or identifier ("ENG-1")."""
        return self.workspace.find_issue(ref)

    def move(self, ref: str, state_name: str) -> None:
        """A person moving the issue to another state in Linear's app."""
        issue = self.issue(ref)
        issue.state = next(s for s in issue.team.workflow if s.name == state_name)

    def comments_on(self, ref: str) -> list[str]:
        issue = self.issue(ref)
        return [c.body for c in self.workspace.comments if c.issue is issue]

    def calls_to(self, operation: str) -> list[Call]:
        return [c for c in self.calls if c.operation == operation]

    def webhook_for(
        self,
        issue_id: str,
        action: str,
        secret: str,
        now: datetime,
        *,
        updated_from: dict[str, Any] | None = None,
        with_state: bool = True,
    ) -> tuple[dict[str, str], bytes]:
        """A signed "Issue" data-change delivery as Linear sends it: (headers, raw body)."""
        return issue_delivery(
            self.issue(issue_id), self.viewer, action, secret, now, updated_from, with_state
        )

    # --- request handling ------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        call = Call(
            operation=None,
            variables={},
            query="",
            authorization=request.headers.get("Authorization"),
        )
        self.calls.append(call)
        if self._down:
            return _page(call, 503, "Service Unavailable")
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            self.violations.append("a request without a JSON body holding a query string")
            return self._json(call, {"errors": [_gql_error("Must provide query string.")]}, 400)
        if not request.content_type.startswith("application/json"):
            self.violations.append(f"Content-Type {request.content_type!r}, not application/json")
        call.query = body["query"]
        call.variables = body.get("variables") or {}
        call.operation = body.get("operationName") or _operation_name(call.query)
        fault = self._take_fault(call.operation, ("drop", "server"))
        if fault is not None and fault.kind == "drop":
            return _drop(call, request)
        if fault is not None:
            headers = {"Retry-After": str(int(fault.retry_after))} if fault.status == 429 else None
            return _page(call, fault.status, "Server Error", headers)
        if call.authorization != self.api_key:
            return self._json(call, {"errors": [AUTH_ERROR]}, 401)
        limited = self._take_fault(call.operation, ("ratelimit",))
        if limited is not None:
            return self._rate_limited(call, limited)
        status, answer = self._run(call, body.get("operationName"))
        after = self._take_fault(call.operation, ("after",))
        if after is not None and status == 200:
            call.body = answer
            return _drop(call, request) if after.drop else _page(call, after.status, "Server Error")
        return self._json(call, answer, status, self._limits())

    def _run(self, call: Call, operation_name: str | None) -> tuple[int, dict[str, Any]]:
        try:
            document = parse(call.query)
        except GraphQLError as exc:
            return 400, {"errors": [_gql_error(exc.message, "GRAPHQL_PARSE_FAILED")]}
        problems = validate(SCHEMA, document)
        if problems:
            return 400, {"errors": [_gql_error(p.message) for p in problems]}
        result = execute(
            SCHEMA,
            document,
            root_value=Root(self.workspace),
            variable_values=call.variables,
            operation_name=operation_name,
        )
        assert isinstance(result, ExecutionResult), "the fake's resolvers are synchronous"
        errors = list(result.errors or [])
        data = result.data
        if not errors:
            return 200, {"data": data}
        if data is None and all(e.path is None for e in errors):  # variables did not coerce
            return 400, {"errors": [_gql_error(e.message) for e in errors]}
        return self._execution_errors(call, errors, data)

    def _execution_errors(
        self, call: Call, errors: list[GraphQLError], data: Any
    ) -> tuple[int, dict[str, Any]]:
        shaped = []
        for error in errors:
            original = error.original_error
            if isinstance(original, LinearError):
                shaped.append(
                    {
                        "message": error.message,
                        "path": error.path,
                        "extensions": original.extensions,
                    }
                )
            elif isinstance(original, Unsupported):
                self.violations.append(f"{call.operation}: {original}")
                shaped.append(_gql_error(f"FakeLinear: {original}"))
            else:
                trace = "".join(traceback.format_exception(original)) if original else error.message
                self.violations.append(f"{call.operation} crashed the fake:\n{trace}")
                return 500, {
                    "errors": [_gql_error("FakeLinear crashed; see fake.violations", "INTERNAL")]
                }
        return 200, {"data": data, "errors": shaped}

    def _rate_limited(self, call: Call, fault: Fault) -> web.Response:
        reset = str(int((self.clock().timestamp() + fault.retry_after) * 1000))
        headers = self._limits()
        if fault.budget == "complexity":
            headers.update(
                {"X-RateLimit-Complexity-Remaining": "0", "X-RateLimit-Complexity-Reset": reset}
            )
            message = "Rate limit exceeded: the query complexity budget is spent."
        else:
            headers.update(
                {"X-RateLimit-Requests-Remaining": "0", "X-RateLimit-Requests-Reset": reset}
            )
            message = (
                f"Rate limit exceeded. Only {REQUESTS_LIMIT} requests are allowed per 1 hour and "
                f"you have made {REQUESTS_LIMIT} requests in the last hour."
            )
        error = {
            "message": message,
            "extensions": {
                "type": "ratelimited",
                "code": "RATELIMITED",
                "statusCode": 429,
                "userError": True,
                "userPresentableMessage": "Rate limit exceeded. Please try again later.",
            },
        }
        return self._json(call, {"errors": [error]}, 400, headers)

    def _limits(self) -> dict[str, str]:
        """Linear's budget headers, on every authenticated answer."""
        hour = str(int((self.clock().timestamp() + 3600) * 1000))
        used = len(self.calls)
        return {
            "X-RateLimit-Requests-Limit": str(REQUESTS_LIMIT),
            "X-RateLimit-Requests-Remaining": str(max(REQUESTS_LIMIT - used, 1)),
            "X-RateLimit-Requests-Reset": hour,
            "X-Complexity": "5",
            "X-RateLimit-Complexity-Limit": str(COMPLEXITY_LIMIT),
            "X-RateLimit-Complexity-Remaining": str(COMPLEXITY_LIMIT - 5 * used),
            "X-RateLimit-Complexity-Reset": hour,
        }

    @staticmethod
    def _json(
        call: Call, body: dict[str, Any], status: int, headers: dict[str, str] | None = None
    ) -> web.Response:
        call.status, call.body = status, body
        return web.json_response(body, status=status, headers=headers)


def _gql_error(message: str, code: str = "GRAPHQL_VALIDATION_FAILED") -> dict[str, Any]:
    return {
        "message": message,
        "extensions": {"type": "graphql error", "code": code, "statusCode": 400, "userError": True},
    }


def _operation_name(query: str) -> str | None:
    try:
        document = parse(query)
    except GraphQLError:
        return None
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and definition.name is not None:
            return definition.name.value
    return None


def _page(
    call: Call, status: int, text: str, headers: dict[str, str] | None = None
) -> web.Response:
    call.status = status
    return web.Response(
        status=status,
        text=f"<html><body>{text}</body></html>",
        content_type="text/html",
        headers=headers,
    )


def _drop(call: Call, request: web.Request) -> web.Response:
    call.status = -1
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=204)
