"""Streamed exports of the audit log (CSV, JSON lines, GeoJSON) with a manifest, and their offline check.

Exports read the chain in keyset batches and write line by line, so memory stays flat however long
the log. Every line carries the event's sequence number and hash; the manifest names the count, the
first and last sequence numbers, the chain's head hash when the export was made and the SHA-256 of
the file. `verify_jsonl` needs no database: it recomputes each event's hash and the links between
consecutive events, and tells whether the sequence numbers are complete for the exported range.
"""

import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import and_, or_, select

from ..extensions import db
from . import csvsafe
from .models import AuditEvent
from .services import canonical_json, event_dict, event_hash, format_time

FORMATS = {"jsonl": "application/jsonl", "csv": "text/csv", "geojson": "application/geo+json"}
CSV_COLUMNS = ["seq", "at", "actor", "action", "entity", "entity_id", "payload", "prev_hash", "hash"]


def _filters(round_id: int | None, point_code: str | None, since: datetime | None, until: datetime | None):
    t = AuditEvent.__table__.c
    conditions = []
    if since is not None:
        conditions.append(t.at >= since)
    if until is not None:
        conditions.append(t.at < until)
    if point_code is not None:
        # Payloads are canonical JSON (sorted keys, no spaces), so a point is named exactly like this;
        # autoescape makes % and _ in the code plain characters, not LIKE wildcards.
        conditions.append(or_(t.payload.contains(f'"point_code":{canonical_json(point_code)}', autoescape=True),
                              and_(t.entity == "point", t.entity_id == point_code)))
    if round_id is not None:
        from ..operations.models import AirspaceRequest, FiringReport

        conditions.append(or_(
            and_(t.entity == "round", t.entity_id == str(round_id)),
            and_(t.entity == "airspace_request", t.entity_id.in_(
                select(AirspaceRequest.id).where(AirspaceRequest.round_id == round_id))),
            and_(t.entity == "firing_report", t.entity_id.in_(
                select(FiringReport.id).where(FiringReport.round_id == round_id)))))
    return conditions


def iter_export(round_id=None, point_code=None, since=None, until=None, batch: int = 2000,
                decode: bool = True) -> Iterator[dict]:
    """The selected events in chain order, as exported dicts, fetched in keyset batches.

    `decode=False` keeps each payload as its stored canonical JSON text (for CSV, which writes it so).
    """
    t = AuditEvent.__table__.c
    conditions = _filters(round_id, point_code, since, until)
    last = 0
    while True:
        rows = db.session.connection().execute(
            select(AuditEvent.__table__).where(t.seq > last, *conditions).order_by(t.seq).limit(batch)).all()
        if not rows:
            return
        for row in rows:
            yield event_dict(row) if decode else {**row._mapping, "at": format_time(row.at)}
        last = rows[-1].seq


def _point_locations() -> dict[str, list[float]]:
    from ..registry.models import Point

    return {code: [lon, lat] for code, lat, lon in db.session.execute(
        select(Point.code, Point.latitude, Point.longitude))}


def render(events: Iterable[dict], fmt: str) -> Iterator[str]:
    """The export's text, piece by piece."""
    if fmt == "jsonl":
        for ev in events:
            yield canonical_json(ev) + "\n"
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csvsafe.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for ev in events:
            payload = ev["payload"] if isinstance(ev["payload"], str) else canonical_json(ev["payload"])
            writer.writerow([ev["seq"], ev["at"], ev["actor"], ev["action"], ev["entity"], ev["entity_id"],
                             payload, ev["prev_hash"], ev["hash"]])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()
    elif fmt == "geojson":
        places = _point_locations()
        yield '{"type":"FeatureCollection","features":['
        first = True
        for ev in events:
            p = ev["payload"]
            if isinstance(p.get("latitude"), (int, float)) and isinstance(p.get("longitude"), (int, float)):
                geometry = {"type": "Point", "coordinates": [p["longitude"], p["latitude"]]}
            elif p.get("point_code") in places or (ev["entity"] == "point" and ev["entity_id"] in places):
                where = places.get(p.get("point_code")) or places.get(ev["entity_id"])
                geometry = {"type": "Point", "coordinates": where}
            else:
                geometry = None
            feature = {"type": "Feature", "id": ev["seq"], "geometry": geometry, "properties": ev}
            yield ("" if first else ",\n") + canonical_json(feature)
            first = False
        yield "]}\n"
    else:
        raise ValueError(fmt)


def manifest(events: Iterable[dict], fmt: str, filters: dict) -> dict:
    """Count, sequence range, the chain head at export time and the SHA-256 of the export's bytes."""
    digest = hashlib.sha256()
    count, first, last = 0, None, None

    def counted():
        nonlocal count, first, last
        for ev in events:
            count += 1
            first = ev["seq"] if first is None else first
            last = ev["seq"]
            yield ev

    for piece in render(counted(), fmt):
        digest.update(piece.encode())
    head = db.session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc())
                              .limit(1)).first()
    return {"format": fmt, "filters": filters, "count": count, "first_seq": first, "last_seq": last,
            "chain_head_seq": head.seq if head else 0, "chain_head_hash": head.hash if head else None,
            "sha256": digest.hexdigest()}


def verify_jsonl(lines: Iterable[str], manifest_doc: dict | None = None) -> dict:
    """Check an exported JSONL file without the database; name the first line that breaks."""
    digest = hashlib.sha256()
    previous = None
    count, gaps, first, last, first_gap_line = 0, 0, None, None, None
    for number, line in enumerate(lines, start=1):
        digest.update(line.encode())
        try:
            ev = json.loads(line)
            at = datetime.fromisoformat(ev["at"].replace("Z", "+00:00"))
            recomputed = event_hash(ev["seq"], at, ev["actor"], ev["action"], ev["entity"], ev["entity_id"],
                                    canonical_json(ev["payload"]), ev["prev_hash"])
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            return {"ok": False, "line": number, "reason": f"not an exported event: {err}"}
        if recomputed != ev["hash"]:
            return {"ok": False, "line": number, "seq": ev["seq"], "reason": "hash does not match the event"}
        if previous is not None:
            if ev["seq"] <= previous["seq"]:
                return {"ok": False, "line": number, "seq": ev["seq"], "reason": "sequence goes backwards"}
            if ev["seq"] == previous["seq"] + 1 and ev["prev_hash"] != previous["hash"]:
                return {"ok": False, "line": number, "seq": ev["seq"],
                        "reason": "prev_hash does not match the previous event's hash"}
            if ev["seq"] != previous["seq"] + 1 and first_gap_line is None:
                first_gap_line = number
            gaps += ev["seq"] - previous["seq"] - 1
        first = ev["seq"] if first is None else first
        last = ev["seq"]
        previous = ev
        count += 1
    result = {"ok": True, "count": count, "first_seq": first, "last_seq": last, "missing_in_range": gaps,
              "first_gap_line": first_gap_line, "complete": gaps == 0}
    if manifest_doc is not None:
        problems = []
        if manifest_doc.get("sha256") != digest.hexdigest():
            problems.append("the file's SHA-256 differs from the manifest's")
        if manifest_doc.get("count") != count:
            problems.append(f"the manifest counts {manifest_doc.get('count')} events, the file has {count}")
        if (manifest_doc.get("first_seq"), manifest_doc.get("last_seq")) != (first, last):
            problems.append("the sequence range differs from the manifest's")
        # An unfiltered export of a range must hold every event in it; a filtered one only its own.
        if not manifest_doc.get("filters") and gaps:
            problems.append(f"{gaps} events of the range are missing")
        if problems:
            return {**result, "ok": False, "reason": "; ".join(problems)}
        # A filtered export is complete when it is the file the manifest describes.
        result["complete"] = True
    return result
