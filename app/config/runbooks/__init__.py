"""Reading runbooks: the bundled YAML files in this folder, or a team's `RUNBOOKS_DIR`.

The plan's eight common incidents ship as YAML files here; `RUNBOOKS_DIR` replaces them with a
team's own directory. A file's name (without `.yml`/`.yaml`) is the incident type offered in
the declare modal and named in alert rules and `/incident runbook <type>`. What a file may
hold is app.domain.runbooks.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from app.config.policy_loader import load_yaml_model
from app.domain.policy import PolicyError
from app.domain.runbooks import Runbook, RunbookError, RunbookFile, Runbooks

__all__ = ["load_runbooks", "parse_runbook"]

_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
SUFFIXES = (".yml", ".yaml")


def parse_runbook(key: str, text: str, name: str) -> Runbook:
    if not _KEY.fullmatch(key):
        raise RunbookError(
            f"{name}: the file name must be a snake_case incident type (e.g. "
            "service_downtime.yml), at most 40 characters",
            file=name,
        )
    try:
        data = load_yaml_model(
            text, name, RunbookFile, what="a runbook must be a mapping (title, symptoms, ...)"
        )
    except RunbookError:
        raise
    except PolicyError as exc:
        raise RunbookError(
            str(exc), file=name, line=exc.line, key_path=exc.key_path, problems=exc.problems
        ) from exc
    return Runbook(key, data.title, data.symptoms, data.investigation, data.resolution)


def load_runbooks(directory: Path | None = None) -> Runbooks:
    """The bundled runbooks, or every `*.yml`/`*.yaml` file in `directory` instead.

    Raises RunbookError naming the file, line and key of the first problem.
    """
    found: list[Runbook] = []
    if directory is None:
        bundled = resources.files(__name__)
        for entry in sorted(bundled.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(SUFFIXES):
                key = entry.name.rsplit(".", 1)[0]
                found.append(parse_runbook(key, entry.read_text(encoding="utf-8"), entry.name))
        return Runbooks(found, "built-in")
    if not directory.is_dir():
        raise RunbookError(f"{directory}: runbooks directory not found", file=str(directory))
    for path in sorted(directory.iterdir()):
        if path.suffix in SUFFIXES and path.is_file():
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise RunbookError(f"{path}: cannot read runbook: {exc}", file=str(path)) from exc
            found.append(parse_runbook(path.stem, text, str(path)))
    if not found:
        raise RunbookError(
            f"{directory}: no runbook files (*.yml) found; unset RUNBOOKS_DIR to use the "
            "built-in ones",
            file=str(directory),
        )
    keys = [runbook.key for runbook in found]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise RunbookError(
            f"{directory}: incident type {duplicates[0]!r} is defined twice (.yml and .yaml)",
            file=str(directory),
        )
    return Runbooks(found, str(directory))
