"""How FakeLinear reads a query: Linear's refusals (`LinearError`), filters and pages.

Filters are matched generically: every key graphql-core let through exists in Linear's schema
(the fake validates first), a nested filter applies to the entity the attribute holds, and a
comparator the fake does not implement is reported (`Unsupported`), never silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any


class LinearError(Exception):
    """A refusal in Linear's shape: `errors[].extensions` carries code, type and the message
    meant for people."""

    def __init__(self, message: str, code: str, kind: str, presentable: str, status: int) -> None:
        super().__init__(message)
        self.extensions = {
            "type": kind,
            "code": code,
            "statusCode": status,
            "userError": True,
            "userPresentableMessage": presentable,
        }


class Unsupported(Exception):
    """The client used something Linear has but the fake does not implement."""


def not_found(entity: str) -> LinearError:
    return LinearError(
        f"Entity not found: {entity}",
        "INPUT_ERROR",
        "invalid input",
        f"Could not find referenced {entity}.",
        400,
    )


def invalid(presentable: str) -> LinearError:
    return LinearError(
        "Argument Validation Error", "INVALID_INPUT", "invalid input", presentable, 400
    )


_STRING_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "neq": lambda a, b: a != b,
    "in": lambda a, b: a in b,
    "nin": lambda a, b: a not in b,
    "contains": lambda a, b: a is not None and b in a,
    "containsIgnoreCase": lambda a, b: a is not None and b.lower() in a.lower(),
    "startsWith": lambda a, b: a is not None and a.startswith(b),
    "endsWith": lambda a, b: a is not None and a.endswith(b),
    "eqIgnoreCase": lambda a, b: a is not None and a.lower() == b.lower(),
    "gt": lambda a, b: a is not None and a > b,
    "gte": lambda a, b: a is not None and a >= b,
    "lt": lambda a, b: a is not None and a < b,
    "lte": lambda a, b: a is not None and a <= b,
}
_DATE_FIELDS = {"createdAt"}


def _instant(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{value!r} is not an ISO 8601 date and time the fake understands") from None


def _compare(value: Any, comparator: dict[str, Any], name: str) -> bool:
    for op, expected in comparator.items():
        if op == "null":
            if (value is None) != expected:
                return False
            continue
        test = _STRING_OPS.get(op)
        if test is None:
            raise Unsupported(f"the fake does not implement comparator {op!r} on {name!r}")
        if name in _DATE_FIELDS:
            value_cmp: Any = _instant(value)
            expected = _instant(expected)
        else:
            value_cmp = value
        if not test(value_cmp, expected):
            return False
    return True


def matches(obj: Any, where: dict[str, Any] | None) -> bool:
    """Whether `obj` passes a Linear filter (`and`/`or`, nested entity filters, comparators)."""
    for key, condition in (where or {}).items():
        if key == "and":
            if not all(matches(obj, part) for part in condition):
                return False
        elif key == "or":
            if not any(matches(obj, part) for part in condition):
                return False
        elif key == "null":
            if (obj is None) != condition:
                return False
        elif obj is None:
            return False
        elif not hasattr(obj, key):
            raise Unsupported(f"the fake cannot filter {type(obj).__name__} by {key!r}")
        else:
            value = getattr(obj, key)
            if isinstance(value, (str, int, float, bool)) or (
                value is None and set(condition) <= {*_STRING_OPS, "null"}
            ):
                if not _compare(value, condition, key):
                    return False
            elif not matches(value, condition):
                return False
    return True


def connection(items: list[Any], args: dict[str, Any], type_name: str) -> dict[str, Any]:
    """A page of `items` as Linear answers: `nodes` and `pageInfo` (first/after, up to 250)."""
    for name in ("last", "before"):
        if args.get(name) is not None:
            raise Unsupported(f"the fake does not paginate backwards ({name})")
    first = args.get("first")
    if first is not None and not 0 < first <= 250:
        raise invalid("first must be a positive number no larger than 250.")
    found = [item for item in items if matches(item, args.get("filter"))]
    if args.get("orderBy") == "createdAt":
        found.sort(key=lambda item: getattr(item, "createdAt", ""), reverse=True)
    after = args.get("after")
    if after is not None:
        ids = [item.id for item in found]
        found = found[ids.index(after) + 1 :] if after in ids else []
    size = first or 50
    page = found[:size]
    return {
        "nodes": page,
        "pageInfo": {
            "hasNextPage": len(found) > size,
            "hasPreviousPage": after is not None,
            "startCursor": page[0].id if page else None,
            "endCursor": page[-1].id if page else None,
        },
    }
