"""The migration chain builds exactly the schema the models describe, and every migration goes
down and up again cleanly (on SQLite, in a scratch file; PostgreSQL runs the chain at session
start of every test run)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app.store.migrate import downgrade, upgrade
from app.store.models import Base


def _diff(path: Path) -> list:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()


def _tables(path: Path) -> set[str]:
    engine = create_engine(f"sqlite:///{path}")
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    path = tmp_path / "schema.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    assert _diff(path) == []


def test_the_whole_chain_downgrades_to_nothing_and_upgrades_again(tmp_path: Path) -> None:
    path = tmp_path / "chain.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    downgrade(url, "base")
    assert _tables(path) <= {"alembic_version"}
    upgrade(url)
    assert _diff(path) == []
