"""A public announcement (作业公告) of ground operations and the points it names.

A draft is edited freely; publishing freezes it: its notice texts and the points as they were then are stored,
so what the public was told stays what it was told, and a new announcement supersedes it (never an edit).
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..database.utc import now_utc, UTCDateTime
from ..extensions import db

STATUSES = ("draft", "published", "superseded")


class Announcement(db.Model):
    """The notice's fields, its lifecycle (draft → published → superseded) and, once published, its frozen text."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    purpose: Mapped[str] = mapped_column(Text)
    issuer: Mapped[str] = mapped_column(String(200))
    contact_unit: Mapped[str] = mapped_column(String(200))
    contact_person: Mapped[str] = mapped_column(String(80))
    contact_phone: Mapped[str] = mapped_column(String(40))
    safety_radius_km: Mapped[float] = mapped_column(Float)
    notes: Mapped[str | None] = mapped_column(Text)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("announcements.id"))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    published_by: Mapped[str | None] = mapped_column(String(120))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Frozen at publication: the points as the notice named them (JSON list of plain dicts) and the two texts.
    published_points: Mapped[str | None] = mapped_column(Text)
    text_zh: Mapped[str | None] = mapped_column(Text)
    text_en: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("period_end > period_start", name="ck_announcements_period"),
        CheckConstraint("safety_radius_km > 0", name="ck_announcements_radius"),
        CheckConstraint("status IN ('draft', 'published', 'superseded')", name="ck_announcements_status"),
        Index("ix_announcements_cover", "status", "period_start", "period_end"),
    )


class AnnouncementPoint(db.Model):
    """A point an announcement names (in the order the notice lists them)."""

    __tablename__ = "announcement_points"

    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id"), primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("points.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)

    # the coverage query starts from the round's points
    __table_args__ = (Index("ix_announcement_points_point", "point_id", "announcement_id"),)
