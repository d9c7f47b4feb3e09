"""Apply Alembic migrations from code, for `incident-bot serve` and `incident-bot migrate`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

_PACKAGE = Path(__file__).resolve().parents[1]
# An installed wheel ships them inside the package as app/_migrations (see setup.py); a source
# checkout keeps them at the repository root.
CANDIDATES = (_PACKAGE / "_migrations", _PACKAGE.parent / "migrations")


def find_migrations(candidates: tuple[Path, ...] = CANDIDATES) -> Path:
    for path in candidates:
        if (path / "env.py").is_file() and (path / "versions").is_dir():
            return path
    searched = ", ".join(str(path) for path in candidates)
    raise RuntimeError(f"migrations folder not found (looked in {searched})")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(find_migrations()))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to `revision`. Must not be called from a running event loop."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)
