"""Deployment files: Dockerfile, docker-compose.yml, .env.example, and the packaged migrations.

There is no Docker engine where these tests run, so the files are checked for the structure
that `docker build` and `docker compose config` rely on, and against the bot's own settings.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

from app.config.settings import Settings, load_settings
from app.store.migrate import CANDIDATES, find_migrations
from app.store.models import Base

ROOT = Path(__file__).resolve().parents[1]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    logical = re.sub(r"\\\n\s*", " ", text)
    result = []
    for line in logical.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, args = line.partition(" ")
            result.append((instruction.upper(), args.strip()))
    return result


def test_dockerfile_is_multi_stage_slim_and_runs_as_non_root() -> None:
    steps = dockerfile_instructions()
    bases = [args for kind, args in steps if kind == "FROM"]
    assert len(bases) == 2 and all(b.startswith("python:3.11-slim") for b in bases)
    assert bases[0].endswith(" AS build")
    runtime = steps[[i for i, (kind, _) in enumerate(steps) if kind == "FROM"][1] :]
    [user] = [args for kind, args in runtime if kind == "USER"]
    assert user.split(":")[0] not in ("root", "0")
    assert ("COPY", "--from=build /opt/venv /opt/venv") in runtime
    # The package is installed (not run from a source tree), migrations included.
    copied = [args for kind, args in steps if kind == "COPY"]
    assert "migrations ./migrations" in copied and "app ./app" in copied
    assert any("pip install ." in args for kind, args in steps if kind == "RUN")


def test_dockerfile_healthcheck_probes_health_without_curl_and_serves() -> None:
    steps = dockerfile_instructions()
    [health] = [args for kind, args in steps if kind == "HEALTHCHECK"]
    options, _, command = health.partition("CMD ")
    assert "--interval=" in options and "--timeout=" in options
    probe = json.loads(command)
    assert probe[:2] == ["python", "-c"]
    assert "/health" in probe[2] and "urllib.request" in probe[2]
    compile(probe[2], "HEALTHCHECK", "exec")  # the probe is valid Python
    [cmd] = [args for kind, args in steps if kind == "CMD"]
    assert json.loads(cmd) == ["incident-bot", "serve"]
    assert ("EXPOSE", "3000") in steps


def test_compose_runs_the_bot_after_a_healthy_postgres_with_a_named_volume() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"bot", "db"}
    db, bot = services["db"], services["bot"]

    assert db["image"] == "postgres:16"
    volume, _, mount = db["volumes"][0].partition(":")
    assert mount == "/var/lib/postgresql/data" and volume in compose["volumes"]
    test = db["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL" and "pg_isready" in test[1]

    assert bot["build"] == "."
    assert bot["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert bot["env_file"] == ".env"
    assert bot["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert "@db:5432/" in bot["environment"]["DATABASE_URL"]
    assert bot["ports"] == ["${BOT_PORT:-3000}:3000"]
    # Compose interpolation: every ${VAR} used is documented in .env.example.
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    used = set(re.findall(r"\$\{([A-Z_]+)", (ROOT / "docker-compose.yml").read_text()))
    assert used <= documented, used - documented


def test_env_example_names_every_setting_and_loads_as_is() -> None:
    text = (ROOT / ".env.example").read_text()
    named = set(re.findall(r"^#?\s*([A-Z_]+)=", text, re.M))
    settings = {name.upper() for name in Settings.model_fields}
    assert settings <= named, settings - named
    loaded = load_settings(_env_file=str(ROOT / ".env.example"))
    assert loaded.slack_app_token is None and loaded.policy_file is None
    assert loaded.alert_webhook_token is None and loaded.runbooks_dir is None


def test_readme_configuration_table_lists_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in Settings.model_fields:
        if name in ("host", "port"):
            assert "`HOST` / `PORT`" in readme
            continue
        assert f"| `{name.upper()}` |" in readme, name


def test_migrations_are_found_in_a_checkout_and_in_an_installed_package(tmp_path: Path) -> None:
    assert find_migrations() == ROOT / "migrations"
    packaged = tmp_path / "site-packages" / "app" / "_migrations"
    (packaged / "versions").mkdir(parents=True)
    (packaged / "env.py").write_text("")
    assert find_migrations((packaged, tmp_path / "missing")) == packaged
    with pytest.raises(RuntimeError, match="migrations folder not found"):
        find_migrations((tmp_path / "missing",))
    assert CANDIDATES[0].name == "_migrations"  # an installed copy wins over a stray folder


def test_the_wheel_ships_migrations_and_runbooks() -> None:
    setup = (ROOT / "setup.py").read_text()
    assert '"app._migrations": "migrations"' in setup
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"app._migrations" = ["*.mako", "versions/*.py"]' in pyproject
    assert '"app.config.runbooks" = ["*.yml"]' in pyproject


async def test_migrations_build_exactly_the_models(database_url: str) -> None:
    """The migrated test database has every table and column the models declare."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_async_engine(database_url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:

            def diff(sync_conn):  # type: ignore[no-untyped-def]
                context = MigrationContext.configure(
                    sync_conn, opts={"compare_type": False, "render_as_batch": True}
                )
                return compare_metadata(context, Base.metadata)

            changes = await conn.run_sync(diff)
    finally:
        await engine.dispose()
    assert changes == [], changes
