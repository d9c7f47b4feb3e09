"""The on-call tables: overrides of the schedules, people's contact methods, and the hand-offs
already announced."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import Base


class OnCallOverride(Base):
    """`/incident oncall override @user from … until …`: `user_id` is on call for `schedule`
    instead of the rotation; the latest made wins where two overlap. Removed ones are kept
    (`removed_at`), as the audit trail."""

    __tablename__ = "oncall_overrides"
    __table_args__ = (Index("ix_oncall_overrides_schedule", "schedule", "ends_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule: Mapped[str] = mapped_column(String(64), nullable=False)
    user_id: Mapped[str] = mapped_column(String(32), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(nullable=False)
    ends_at: Mapped[datetime] = mapped_column(nullable=False)
    created_by: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
    removed_at: Mapped[datetime | None] = mapped_column()
    removed_by: Mapped[str | None] = mapped_column(String(32))


class ContactMethod(Base):
    """How a person is paged beyond Slack (`/incident contact`): an e-mail address, or a
    phone number for SMS or voice (E.164)."""

    __tablename__ = "contact_methods"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "address", name="uq_contact_methods"),
        Index("ix_contact_methods_address", "kind", "address"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(32), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # email | sms | voice
    address: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)


class Handoff(Base):
    """A hand-off announced (or being announced) to the person coming on call: the row is
    inserted before the DM is sent, so two replicas announce it once."""

    __tablename__ = "oncall_handoffs"

    schedule: Mapped[str] = mapped_column(String(64), primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), nullable=False)
    claimed_at: Mapped[datetime] = mapped_column(nullable=False)
    announced_at: Mapped[datetime | None] = mapped_column()
