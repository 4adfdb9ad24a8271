"""Check-ins: a phone saying "I arrived at / left point X", as received."""

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database.utc import now_utc, UTCDateTime
from ..extensions import db

KINDS = ("arrive", "depart")


class Checkin(db.Model):
    """A stored check-in with what the server computed on receipt (distance, geofence, shift, clock)."""

    __tablename__ = "checkins"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the phone's UUID
    point_id: Mapped[int] = mapped_column(ForeignKey("points.id"))
    crew_id: Mapped[int] = mapped_column(ForeignKey("crew_members.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(10))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    distance_m: Mapped[float] = mapped_column(Float)
    geofence_m: Mapped[float] = mapped_column(Float)  # the radius in force when it was judged
    within_geofence: Mapped[bool] = mapped_column(Boolean)
    on_shift: Mapped[bool] = mapped_column(Boolean)
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id"))
    clock_offset_s: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        Index("ix_checkins_point_time", "point_id", "recorded_at"),
        Index("ix_checkins_crew_time", "crew_id", "recorded_at"),
        Index("ix_checkins_received", "received_at"),
    )
