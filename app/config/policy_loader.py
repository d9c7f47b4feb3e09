"""Reading the policy file: YAML with the line of every key, merged over the bundled default.

A user policy file is a complete policy, not a patch: each top-level section it
defines (``severities``, ``impacts``, ``escalation``, ...) replaces the default
section wholesale. Sections it leaves out (or sets to null) come from the
bundled default (``app/default_policy.yml``), so a file containing only ``escalation:`` is
valid. The models and their rules are ``app.domain.policy``; this module adds what a file
needs: YAML syntax errors, duplicate keys and line numbers in every message.
"""

from __future__ import annotations

import copy
import functools
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from app.domain.policy import Policy, PolicyError
from app.domain.policy.errors import format_path, translate

__all__ = ["DEFAULT_POLICY_FILE", "load_policy", "load_yaml_model"]

DEFAULT_POLICY_FILE = "default_policy.yml"

_M = TypeVar("_M", bound=BaseModel)


class _Document:
    """Parsed YAML plus the line of every key path, for error messages."""

    def __init__(self, name: str, data: dict[str, Any], lines: dict[tuple[Any, ...], int]):
        self.name = name
        self.data = data
        self.lines = lines

    def line_for(self, path: tuple[Any, ...]) -> int | None:
        """Line of the deepest known prefix of ``path`` (pydantic locs can go deeper)."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None


def _parse(text: str, name: str, what: str = "") -> _Document:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name} line {mark.line + 1}" if mark else name
        problem = exc.problem or exc.context or "syntax error"
        hint = ""
        if "'@'" in problem:
            hint = ' (quote values that start with @, e.g. "@sre-oncall")'
        raise PolicyError(
            f"{where}: invalid YAML: {problem}{hint}",
            file=name,
            line=mark.line + 1 if mark else None,
        ) from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"{name}: invalid YAML: {exc}", file=name) from exc
    finally:
        loader.dispose()

    if node is None or data is None:
        return _Document(name, {}, {})
    if not isinstance(data, dict):
        raise PolicyError(
            f"{name} line 1: "
            + (what or "the policy must be a mapping of sections (severities, impacts, ...)"),
            file=name,
            line=1,
        )
    lines: dict[tuple[Any, ...], int] = {}
    _index_lines(node, (), lines, name)
    return _Document(name, data, lines)


def _index_lines(
    node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int], name: str
) -> None:
    """Record the 1-based line of every key path; reject duplicate keys.

    PyYAML silently keeps the last duplicate, which would hide a half-edited
    section, so duplicates are an error here.
    """
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            child = (*path, key)
            line = key_node.start_mark.line + 1
            if key in seen:
                key_path = format_path(child)
                raise PolicyError(
                    f"{name} line {line}: {key_path}: duplicate key",
                    file=name,
                    line=line,
                    key_path=key_path,
                )
            seen.add(key)
            lines[child] = line
            _index_lines(value_node, child, lines, name)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, index)
            lines[child] = item.start_mark.line + 1
            _index_lines(item, child, lines, name)


def load_yaml_model(text: str, name: str, model: type[_M], *, what: str) -> _M:
    """Validate a YAML document as ``model``, reporting problems like the policy does.

    Other configuration files (runbooks) use this so that every file the bot reads fails the
    same way: ``<file> line <n>: <key.path>: <message>``. ``what`` says what the top level
    must be, for files that are not a mapping.
    """
    document = _parse(text, name, what)
    try:
        return model.model_validate(document.data)
    except ValidationError as exc:
        raise translate(exc, {str(key): document for key in document.data}, name) from exc


@functools.lru_cache(maxsize=1)
def _default_document() -> _Document:
    text = resources.files("app").joinpath(DEFAULT_POLICY_FILE).read_text(encoding="utf-8")
    return _parse(text, DEFAULT_POLICY_FILE)


def load_policy(path: str | Path | None = None) -> Policy:
    """Load and validate a policy file, or the bundled default when ``path`` is None.

    Top-level sections missing from the file fall back to the default; sections
    present replace the default ones entirely. Raises :class:`PolicyError`.
    """
    default = _default_document()
    if path is None:
        document = default
    else:
        name = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PolicyError(f"{name}: policy file not found", file=name) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"{name}: cannot read policy file: {exc}", file=name) from exc
        document = _parse(text, name)

    merged: dict[str, Any] = {}
    sources: dict[str, _Document] = {}
    for section, value in default.data.items():
        merged[section] = copy.deepcopy(value)
        sources[section] = default
    for section, value in document.data.items():
        if value is None and section in default.data:
            continue  # "escalation:" with nothing under it means "use the default"
        merged[section] = value
        sources[str(section)] = document
    try:
        return Policy.model_validate(merged)
    except ValidationError as exc:
        raise translate(exc, sources, document.name) from exc
