"""Policy errors, and pydantic's validation errors phrased for an operator.

Every file the bot reads (the policy, runbooks) and every policy snapshot it rebuilds fails the
same way: one line per problem, ``<file> line <n>: <key.path>: <message>``. Turning pydantic's
errors into those lines needs no YAML: whoever parsed the file passes what it knows about lines
as :class:`LineSource` objects (the config loader's documents); a snapshot has none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

__all__ = ["LineSource", "PathError", "PolicyError", "format_path", "translate"]


class PolicyError(Exception):
    """Any problem loading or validating a policy.

    ``str(error)`` is ready to show to an operator: one line per problem, the
    first formatted as ``<file> line <n>: <key.path>: <message>``. The first
    problem's parts are also available as attributes.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key_path: str | None = None,
        problems: Iterable[str] = (),
    ) -> None:
        self.file = file
        self.line = line
        self.key_path = key_path
        self.problems: list[str] = list(problems) or [message]
        super().__init__("\n".join(self.problems))


class PathError(ValueError):
    """A validation error that knows which sub-key is at fault.

    Pydantic reports model-level errors at the model's own location; carrying a
    relative path lets the loader point at the offending line instead.
    """

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


class LineSource(Protocol):
    """A parsed file that knows the line of each key path (see app.config.policy_loader)."""

    @property
    def name(self) -> str: ...

    def line_for(self, path: tuple[Any, ...]) -> int | None: ...


def format_path(path: Iterable[Any]) -> str:
    """``("levels", 0, "key")`` -> ``levels[0].key``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, Exception):
        return str(cause)
    if kind == "missing":
        return "missing required key"
    if kind == "extra_forbidden":
        return f"unknown key {error['loc'][-1]!r}"
    shown = repr(error.get("input"))
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{error['msg'][:1].lower()}{error['msg'][1:]} (got {shown})"


def translate(exc: ValidationError, sources: Mapping[str, LineSource], name: str) -> PolicyError:
    """Turn pydantic errors into ``file line N: key.path: message`` lines.

    ``sources`` maps each top-level section to the document it came from, so a
    problem in a section inherited from the default is attributed honestly.
    """
    problems: list[str] = []
    first: dict[str, Any] = {}
    for error in exc.errors():
        loc = tuple(part for part in error["loc"] if not str(part).startswith("["))
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, PathError):
            loc = (*loc, *cause.path)
        key_path = format_path(loc) or "(top level)"
        message = _describe(error)
        source = sources.get(str(loc[0])) if loc else None
        line = source.line_for(loc) if source else None
        if source is not None and source.name != name:
            # The section came from the bundled default; the user's file caused the clash.
            where = name
            section = loc[0]
            at = f" line {line}" if line else ""
            message += (
                f" [the '{section}' section comes from the bundled {source.name}{at}; "
                f"add a '{section}:' section to {Path(name).name} to change it]"
            )
            line = None
        else:
            where = f"{name} line {line}" if line else name
        problems.append(f"{where}: {key_path}: {message}")
        if not first:
            first = {"line": line, "key_path": key_path}
    return PolicyError(problems[0], file=name, problems=problems, **first)
