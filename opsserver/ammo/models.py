"""The ammunition catalogue and the append-only ledger; stock is the sum of the ledger."""

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..database.utc import now_utc, UTCDateTime
from ..extensions import db

MOVEMENT_KINDS = ("receipt", "transfer", "return", "recovered_dud", "adjustment")
# Ledger entry kinds: a transfer writes transfer_out and transfer_in; a firing report writes consumption.
ENTRY_KINDS = ("receipt", "transfer_out", "transfer_in", "return", "recovered_dud", "adjustment", "consumption")


class AmmoType(db.Model):
    """A type of ammunition: AgI rocket, 37 mm shell, …"""

    __tablename__ = "ammo_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    agent: Mapped[str] = mapped_column(String(40))
    agent_g_per_unit: Mapped[float] = mapped_column(Float)
    placeholder: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)


class LedgerEntry(db.Model):
    """One signed change of a point's stock of one type. Never updated or deleted."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    movement_id: Mapped[str] = mapped_column(String(36), index=True)  # groups a transfer's two entries
    point_id: Mapped[int] = mapped_column(ForeignKey("points.id"))
    ammo_type_id: Mapped[int] = mapped_column(ForeignKey("ammo_types.id"))
    kind: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int] = mapped_column(Integer)  # signed: + into the point's stock, - out of it
    report_id: Mapped[str | None] = mapped_column(ForeignKey("firing_reports.id"), unique=False)
    reference: Mapped[str | None] = mapped_column(String(120))
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)

    __table_args__ = (
        Index("ix_ledger_point_type", "point_id", "ammo_type_id"),
        Index("ix_ledger_report", "report_id"),
    )
