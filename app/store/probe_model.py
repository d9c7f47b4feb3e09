"""The probes' tables (issue 17): filled in by the probes work."""

from __future__ import annotations

from app.store.base import Base

__all__ = ["Base"]
