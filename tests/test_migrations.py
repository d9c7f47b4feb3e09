"""The migrations build exactly the schema the models describe, and 0005 goes down and up."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app.store.migrate import downgrade, upgrade
from app.store.models import Base


def _diff(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models_and_0005_downgrades_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "schema.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    assert _diff(f"sqlite:///{path}") == []

    downgrade(url, "0001")
    engine = create_engine(f"sqlite:///{path}")
    try:
        inspector = inspect(engine)
        assert "action_items" not in inspector.get_table_names()
        assert "resolution" not in {c["name"] for c in inspector.get_columns("incidents")}
    finally:
        engine.dispose()

    upgrade(url)
    assert _diff(f"sqlite:///{path}") == []
