"""The probes' tables (issue 17): each probe's state (claimed by one worker at a time, so
replicas run a probe once per interval), its results (kept 8 days, for the daily report's
latencies and failures), and the daily reports posted (keyed by the local date, claimed before
posting, so replicas post one)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import Base

__all__ = ["Base", "DailyReportRecord", "ProbeResult", "ProbeState"]


class ProbeState(Base):
    """One probe's schedule, claim and latest result. The claim (`claimed_by` until
    `claimed_until`) is taken with one atomic UPDATE; a worker that dies holding it loses it
    when `claimed_until` passes."""

    __tablename__ = "probe_states"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(nullable=False)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column()
    failures: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # A firing alert went to the intake and no resolved one since.
    alerting: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    last_ok: Mapped[bool | None] = mapped_column(Boolean)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_latency_ms: Mapped[float | None] = mapped_column(Float)
    last_checked_at: Mapped[datetime | None] = mapped_column()
    cert_expires_at: Mapped[datetime | None] = mapped_column()


class ProbeResult(Base):
    """One check's outcome."""

    __tablename__ = "probe_results"
    __table_args__ = (Index("ix_probe_results_name_time", "name", "checked_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    checked_at: Mapped[datetime] = mapped_column(nullable=False)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[str] = mapped_column(Text, default="", nullable=False)


class DailyReportRecord(Base):
    """A day's report: inserted before posting (the claim), `posted_at` when Slack answered,
    deleted again when Slack failed so a later pass tries again."""

    __tablename__ = "daily_reports"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    claimed_by: Mapped[str] = mapped_column(String(64), nullable=False)
    claimed_at: Mapped[datetime] = mapped_column(nullable=False)
    posted_at: Mapped[datetime | None] = mapped_column()
    ts: Mapped[str | None] = mapped_column(String(32))
