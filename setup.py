"""Packaging beyond what pyproject.toml can say: ship migrations/ inside the wheel.

The Alembic scripts live at the repository root (where `alembic` and contributors expect them)
and are installed as the `app._migrations` package, which app/store/migrate.py falls back to
when the repository's folder is not there (a wheel, a Docker image).
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["app", "app.*"]), "app._migrations"],
    package_dir={"app._migrations": "migrations"},
)
