"""A no-fire zone as stored: its GeoJSON geometry, kind, buffer, and the bounds its buffer reaches."""

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Float, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..database.utc import now_utc, UTCDateTime
from ..extensions import db


class NoFireZone(db.Model):
    """An area no firing line may come within `buffer_m` of; deactivated, never deleted."""

    __tablename__ = "no_fire_zones"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    geometry: Mapped[str] = mapped_column(Text)  # a GeoJSON geometry in WGS-84, as checked on the way in
    buffer_m: Mapped[float] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(40))  # "demo" for the demo's invented zones
    # What the buffer reaches, in degrees (rules.zones.reach_bounds): derived from the row's own geometry
    # and buffer on every write, so a check reads only the zones whose bounds meet its search box.
    reach_west: Mapped[float] = mapped_column(Float)
    reach_south: Mapped[float] = mapped_column(Float)
    reach_east: Mapped[float] = mapped_column(Float)
    reach_north: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    __table_args__ = (
        CheckConstraint("buffer_m >= 0", name="ck_no_fire_zones_buffer"),
        Index("ix_no_fire_zones_reach", "active", "reach_south", "reach_north", "reach_west", "reach_east"),
    )
