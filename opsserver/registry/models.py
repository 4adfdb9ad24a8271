"""The standing data: operating points, crew members and their shifts."""

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database.utc import now_utc, UTCDateTime
from ..extensions import db

# The regions a point lies in, widest first: the feed, the summary and the alerts filter by them.
REGION_FIELDS = ("province", "city", "county")
EQUIPMENT = ("rocket", "gun", "burner")
POSITIONS = ("leader", "operator")


class Point(db.Model):
    """An operating point with its safe firing sector, limits and geofence."""

    __tablename__ = "points"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    county: Mapped[str] = mapped_column(String(80))
    # The regions above the county, for the provincial and national views (status/summary?by=...).
    province: Mapped[str | None] = mapped_column(String(80))
    city: Mapped[str | None] = mapped_column(String(80))
    township: Mapped[str | None] = mapped_column(String(80))  # 乡镇: the announcement names it
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    elevation_m: Mapped[float | None] = mapped_column(Float)
    equipment: Mapped[str] = mapped_column(String(10))
    launchers: Mapped[int] = mapped_column(Integer, default=1)
    sector_start_deg: Mapped[float] = mapped_column(Float)
    sector_end_deg: Mapped[float] = mapped_column(Float)
    max_range_km: Mapped[float] = mapped_column(Float)
    max_height_m: Mapped[float] = mapped_column(Float)
    geofence_m: Mapped[float] = mapped_column(Float)
    min_crew: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="ck_points_latitude"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="ck_points_longitude"),
    )


class CrewMember(db.Model):
    """A certified person who can be on shift at a point."""

    __tablename__ = "crew_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    phone: Mapped[str] = mapped_column(String(32))
    certificate_no: Mapped[str] = mapped_column(String(40), unique=True)
    certificate_expires: Mapped[date] = mapped_column(Date)
    home_point_id: Mapped[int | None] = mapped_column(ForeignKey("points.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    home_point: Mapped["Point | None"] = relationship(lazy="joined")


class Shift(db.Model):
    """A crew member assigned to a point from a start to an end time."""

    __tablename__ = "shifts"

    id: Mapped[int] = mapped_column(primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("points.id"))
    crew_id: Mapped[int] = mapped_column(ForeignKey("crew_members.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    position: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    point: Mapped[Point] = relationship(lazy="joined")
    crew: Mapped[CrewMember] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ck_shifts_order"),
        Index("ix_shifts_crew_time", "crew_id", "starts_at", "ends_at"),
        Index("ix_shifts_point_time", "point_id", "starts_at", "ends_at"),
    )
