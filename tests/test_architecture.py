"""The shape of the code: no import cycles, no module too long to read, and what runs when is
registered by app/wiring.py rather than by which modules happen to be imported.

The layers themselves are checked by `lint-imports` (pyproject.toml).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400


def test_no_module_of_the_app_imports_itself_back() -> None:
    # Imports under `if TYPE_CHECKING:` count too: a cycle of annotations is still a cycle.
    graph = grimp.build_graph("app", exclude_type_checking_imports=False, cache_dir=None)
    cycles = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if graph.chain_exists(importer=imported, imported=module):
                back = graph.find_shortest_chain(importer=imported, imported=module) or ()
                cycles.add(" -> ".join((module, *back)))
    assert sorted(cycles) == []


def test_no_module_of_the_app_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / "app").rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


REGISTRATIONS = """
import importlib, json, pkgutil
import app
from app.services import engine, events

for module in pkgutil.walk_packages(app.__path__, "app."):
    if not module.name.endswith("__main__"):  # that one runs the command line
        importlib.import_module(module.name)
imported = {
    "kinds": sorted(engine.registered_kinds()),
    "subscribers": sum(len(events.subscribers_of(e)) for e in (
        events.StatusUpdated, events.SeverityChanged, events.Resolved, events.Reopened,
        events.ActionItemAdded,
    )),
}
from app import wiring
wiring.register()
wiring.register()
print(json.dumps({
    "imported": imported,
    "kinds": sorted(engine.registered_kinds()),
    "resolved": [s.__name__ for s in events.subscribers_of(events.Resolved)],
    "reopened": [s.__name__ for s in events.subscribers_of(events.Reopened)],
}))
"""


def test_step_kinds_and_event_subscribers_are_registered_by_wiring_alone() -> None:
    # A fresh interpreter: this one has built bots (and so registered everything) already.
    done = subprocess.run(
        [sys.executable, "-c", REGISTRATIONS], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["imported"] == {"kinds": [], "subscribers": 0}
    assert found["kinds"] == [
        "action_item_reminder",
        "invite",
        "page",
        "page_backup",
        "page_copy",
        "page_email",
        "page_sms",
        "page_voice",
        "pagerduty_event",
        "postmortem_upload",
        "review_reminder",
        "setup",
        "statuspage",
        "target_warning",
        "ticket",
        "ticket_poll",
        "update_reminder",
    ]
    # In the order they run; registering twice (a second bot in one process) adds nothing.
    # The review reminder is planned with the resolution itself (services.resolve_steps).
    assert found["resolved"] == ["_stop_escalation", "_refresh_status_page"]
    assert found["reopened"] == [
        "_cancel_review_reminders",
        "_refresh_status_page",
        "_resume_update_reminders",
    ]
