"""The migration chain goes down and up again cleanly (on SQLite, in a scratch file)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, inspect

from app.store.migrate import downgrade, upgrade


def columns(path: Path, table: str) -> set[str]:
    engine = create_engine(f"sqlite:///{path}")
    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def test_timeline_migration_adds_edit_and_deletion_times_and_can_be_undone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "migrate.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    assert {"edited_at", "deleted_at"} <= columns(path, "timeline_entries")
    downgrade(url, "0001")
    assert not {"edited_at", "deleted_at"} & columns(path, "timeline_entries")
    upgrade(url)
    assert {"edited_at", "deleted_at"} <= columns(path, "timeline_entries")
