"""The append-only, hash-chained audit log."""

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..database.utc import now_utc, UTCDateTime
from ..extensions import db


class AuditEvent(db.Model):
    """One change of state. `seq` is gapless; `hash` covers the event and `prev_hash`."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(80))
    # The canonical JSON text itself, so the hash never depends on how a database re-encodes JSON.
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (
        Index("ix_audit_events_entity", "entity", "entity_id", "seq"),
        Index("ix_audit_events_action_at", "action", "at"),
        Index("ix_audit_events_at", "at"),
    )


class AuditCheckpoint(db.Model):
    """A signed statement that the chain held `length` events, the last with `head_hash`, at `at` (Ed25519 over
    the canonical encoding in signing.py). Append-only, like the log; copied to a plain file after commit."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    length: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"))
    head_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))

    # AUTOINCREMENT on SQLite: ids of deleted rows are never handed out again, so the file's copy, which
    # follows the ids, cannot skip a checkpoint made after rows were deleted behind the app's back.
    __table_args__ = (Index("ix_audit_checkpoints_length", "length", "id"), {"sqlite_autoincrement": True})
