"""A commander's acknowledgement of an alert: who, when, a note, and the condition as it stood then."""

from datetime import datetime

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..database.utc import now_utc, UTCDateTime
from ..extensions import db


class AlertAck(db.Model):
    """One acknowledgement of the alert `alert_id` (its stable id: kind, entity, entity id).

    `severity`, `measure` and `alert_since` are the alert as the commander saw it: the alert comes back
    when it is more severe, its measure worse, or it started again (a later `since`)."""

    __tablename__ = "alert_acks"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    point_code: Mapped[str | None] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))
    measure: Mapped[float | None] = mapped_column(Float)
    alert_since: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    acknowledged_by: Mapped[str] = mapped_column(String(120))
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    seq: Mapped[int | None] = mapped_column(Integer)  # the audit event that records it

    __table_args__ = (Index("ix_alert_acks_alert", "alert_id", "acknowledged_at"),)
