"""Operation rounds, the points ordered in them, airspace requests and firing reports."""

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..database.utc import now_utc, UTCDateTime
from ..extensions import db

PURPOSES = ("rain_enhancement", "hail_suppression", "other")
ORDER_KINDS = ("readiness", "fire", "cease")
READINESS_LEVELS = (3, 2, 1)  # 3: prepare, 2: stand by at the launcher, 1: ready to fire
REJECTION_REASONS = ("airspace_busy", "civil_flight", "military_flight", "other")


class Round(db.Model):
    """An ordered operation for one weather opportunity. Its lifecycle is the two timestamps."""

    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    purpose: Mapped[str] = mapped_column(String(30))
    planned_start: Mapped[datetime] = mapped_column(UTCDateTime)
    planned_end: Mapped[datetime] = mapped_column(UTCDateTime)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The commander's reason for activating points no published announcement covers (None: all covered).
    without_announcement_reason: Mapped[str | None] = mapped_column(Text)


class RoundPoint(db.Model):
    """A point ordered to take part in a round, with the two answers that take it out."""

    __tablename__ = "round_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    point_id: Mapped[int] = mapped_column(ForeignKey("points.id"))
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declined_reason: Mapped[str | None] = mapped_column(Text)
    stood_down_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stood_down_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("round_id", "point_id", name="uq_round_points"),
                      Index("ix_round_points_point", "point_id"))


class AirspaceRequest(db.Model):
    """A point's request for a firing window, and air traffic control's answer as recorded."""

    __tablename__ = "airspace_requests"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the phone's UUID, or the server's
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    point_id: Mapped[int] = mapped_column(ForeignKey("points.id"))
    requested_by: Mapped[str] = mapped_column(String(120))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    max_height_m: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    decision: Mapped[str | None] = mapped_column(String(10))  # approved / rejected
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    approved_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_max_height_m: Mapped[float | None] = mapped_column(Float)
    reference: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(String(30))
    reason_detail: Mapped[str | None] = mapped_column(Text)
    terminated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    terminated_by: Mapped[str | None] = mapped_column(String(120))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(String(120))

    __table_args__ = (Index("ix_airspace_round_point", "round_id", "point_id"),)


class FiringReport(db.Model):
    """What a point fired, as reported; its flags are computed once, on receipt, and kept."""

    __tablename__ = "firing_reports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the phone's UUID
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    point_id: Mapped[int] = mapped_column(ForeignKey("points.id"))
    crew_id: Mapped[int | None] = mapped_column(ForeignKey("crew_members.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    azimuth_deg: Mapped[float] = mapped_column(Float)
    elevation_deg: Mapped[float] = mapped_column(Float)
    height_m: Mapped[float | None] = mapped_column(Float)
    range_km: Mapped[float | None] = mapped_column(Float)
    cloud_type: Mapped[str | None] = mapped_column(String(40))
    weather_before: Mapped[str | None] = mapped_column(Text)
    weather_after: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    flags: Mapped[str] = mapped_column(Text)  # JSON list of {code, reason}: the facts as judged on receipt

    __table_args__ = (Index("ix_reports_round_point", "round_id", "point_id"),
                      Index("ix_reports_point_time", "point_id", "started_at"))


class ReportAmmo(db.Model):
    """Per ammunition type, how many a report fired and how many were duds."""

    __tablename__ = "report_ammo"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("firing_reports.id"), index=True)
    ammo_type_id: Mapped[int] = mapped_column(ForeignKey("ammo_types.id"))
    fired: Mapped[int] = mapped_column(Integer)
    duds: Mapped[int] = mapped_column(Integer)


class Order(db.Model):
    """The command centre's instruction to one point in a round, and the crew's acknowledgement of it.

    `acknowledged_at` is the phone's time of the acknowledgement (it may arrive hours later through the
    queue); `ack_received_at` is when the server got it."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    point_id: Mapped[int] = mapped_column(ForeignKey("points.id"))
    kind: Mapped[str] = mapped_column(String(10))  # readiness / fire / cease
    readiness_level: Mapped[int | None] = mapped_column(Integer)
    azimuth_deg: Mapped[float | None] = mapped_column(Float)
    elevation_deg: Mapped[float | None] = mapped_column(Float)
    rounds: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    issued_by: Mapped[str] = mapped_column(String(120))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    ack_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_orders_round_point", "round_id", "point_id", "issued_at"),)
