"""Streamed exports of the audit log (CSV, JSON lines, GeoJSON) with a signed manifest, and their offline check.

Exports read the chain in keyset batches and write line by line, so memory stays flat however long
the log. Every line carries the event's sequence number and hash. An export is cut at a sequence
number (`upto_seq`, by default the head when it starts): events up to it never change, so the export
and its manifest, asked for separately with the same `upto_seq`, describe the same bytes whatever is
written in between. The manifest names the format, filters, cut, count, first and last sequence numbers
and the SHA-256 of the file; it carries a checkpoint signed at the cut and is signed itself (Ed25519).
`verify_jsonl` needs no database, only the manifest and the server's public key: it recomputes each
event's hash and the links between consecutive events, checks both signatures and the file's digest,
and for an unfiltered export that the file runs from the first event to the signed head.
"""

import hashlib
import io
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from flask import Response, current_app
from sqlalchemy import Select, and_, or_, select

from ..canonical import canonical_json, format_time
from ..extensions import db
from . import checkpoints, csvsafe, signing
from .chain import GENESIS_HASH, event_hash, head
from .models import AuditEvent
from .services import event_dict

FORMATS = {"jsonl": "application/jsonl", "csv": "text/csv", "geojson": "application/geo+json"}
FILE_SUFFIXES = {"jsonl": "jsonl", "csv": "csv", "geojson": "json"}
UPTO_HEADER = "Audit-Upto-Seq"  # the export's cut: its manifest is asked for with this upto_seq
CSV_COLUMNS = ["seq", "at", "actor", "action", "entity", "entity_id", "payload", "prev_hash", "hash"]

# What belongs to a round and where a point is are known by the features above the audit log, which
# tell it when the app is made (create_app), so that the log imports none of them.
_ROUND_ENTITIES: dict[str, Callable[[int], Select]] = {}
_point_places: list[Callable[[], dict[str, list[float]]]] = []


def register_round_entity(entity: str, ids_in_round: Callable[[int], Select]) -> None:
    """Let a feature say which of its records (audit entity `entity`) belong to a round: `ids_in_round(round_id)`
    selects their ids, for the export's round filter."""
    _ROUND_ENTITIES[entity] = ids_in_round


def register_point_places(places: Callable[[], dict[str, list[float]]]) -> None:
    """Let the registry say where each point is (code -> [longitude, latitude]), for the GeoJSON export."""
    _point_places[:] = [places]


def _filters(round_id: int | None, point_code: str | None, since: datetime | None, until: datetime | None,
             upto_seq: int | None):
    t = AuditEvent.__table__.c
    conditions = [] if upto_seq is None else [t.seq <= upto_seq]
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
        if not _ROUND_ENTITIES:  # an export filtered by round must never quietly leave a round's records out
            raise RuntimeError("no feature registered its round entities (create_app does)")
        conditions.append(or_(
            and_(t.entity == "round", t.entity_id == str(round_id)),
            *(and_(t.entity == entity, t.entity_id.in_(ids_in_round(round_id)))
              for entity, ids_in_round in _ROUND_ENTITIES.items())))
    return conditions


def selected(round_id=None, point_code=None, since=None, until=None) -> Select:
    """The events an export with these filters holds, as a selection (for a page that lists them newest first)."""
    return select(AuditEvent.__table__).where(*_filters(round_id, point_code, since, until, None))


def iter_export(round_id=None, point_code=None, since=None, until=None, upto_seq: int | None = None,
                batch: int = 2000, decode: bool = True) -> Iterator[dict]:
    """The selected events up to `upto_seq` (None: all) in chain order, as exported dicts, fetched in keyset
    batches.

    `decode=False` keeps each payload as its stored canonical JSON text (for CSV, which writes it so).
    """
    t = AuditEvent.__table__.c
    conditions = _filters(round_id, point_code, since, until, upto_seq)
    last = 0
    while True:
        rows = db.session.connection().execute(
            select(AuditEvent.__table__).where(t.seq > last, *conditions).order_by(t.seq).limit(batch)).all()
        if not rows:
            return
        for row in rows:
            yield event_dict(row) if decode else {**row._mapping, "at": format_time(row.at)}
        last = rows[-1].seq


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
        if not _point_places:
            raise RuntimeError("the registry did not register its point places (create_app does)")
        places = _point_places[0]()
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


def chain_length() -> int:
    """The chain's last sequence number now: the cut of an export asked for without `upto_seq`."""
    return head(db.session.connection())[0]


def manifest(fmt: str, filters: dict, upto_seq: int, checkpoint: dict | None = None) -> dict:
    """The signed manifest of the export of `filters` cut at `upto_seq`: count, sequence range, SHA-256 of
    its bytes, and a checkpoint signed at the cut (`checkpoint` when given, else signed now; may raise
    checkpoints.ChainContradictsCheckpoint)."""
    digest = hashlib.sha256()
    count, first, last = 0, None, None

    def counted():
        nonlocal count, first, last
        for ev in iter_export(**filters, upto_seq=upto_seq, decode=fmt != "csv"):
            count += 1
            first = ev["seq"] if first is None else first
            last = ev["seq"]
            yield ev

    for piece in render(counted(), fmt):
        digest.update(piece.encode())
    cp = checkpoint if checkpoint is not None else checkpoints.sign_at(upto_seq)
    cp = {k: cp[k] for k in ("length", "head_hash", "at", "key_id", "signature")}
    doc = {"type": signing.MANIFEST_TYPE, "format": fmt,
           "filters": {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items()},
           "upto_seq": upto_seq, "count": count, "first_seq": first, "last_seq": last,
           "chain_head_seq": cp["length"], "chain_head_hash": cp["head_hash"], "sha256": digest.hexdigest(),
           "checkpoint": cp}
    return signing.sign_document(checkpoints.private_key(), doc)


def _walk(lines: Iterable[str], digest) -> dict:
    """Each line's hash and the links between consecutive events; the first line that breaks, or a summary."""
    previous, first_event = None, None
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
        first_event = ev if first_event is None else first_event
        first = ev["seq"] if first is None else first
        last = ev["seq"]
        previous = ev
        count += 1
    return {"ok": True, "count": count, "first_seq": first, "last_seq": last, "missing_in_range": gaps,
            "first_gap_line": first_gap_line, "_first": first_event, "_last": previous}


def _against_manifest(result: dict, doc: dict, digest: str) -> list[str]:
    problems = []
    cp = doc["checkpoint"]
    count, first, last = result["count"], result["first_seq"], result["last_seq"]
    if doc.get("sha256") != digest:
        problems.append("the file's SHA-256 differs from the manifest's")
    if doc.get("count") != count:
        problems.append(f"the manifest counts {doc.get('count')} events, the file has {count}")
    if (doc.get("first_seq"), doc.get("last_seq")) != (first, last):
        problems.append("the sequence range differs from the manifest's")
    if last is not None and last > cp["length"]:
        problems.append("the file holds events after the signed cut")
    if not doc.get("filters"):
        # An unfiltered export holds the whole chain up to the signed checkpoint, from its first event.
        if result["missing_in_range"]:
            problems.append(f"{result['missing_in_range']} events of the range are missing")
        if count != cp["length"]:
            problems.append(f"the signed checkpoint covers {cp['length']} events, the file has {count}")
        if count and (first != 1 or result["_first"]["prev_hash"] != GENESIS_HASH):
            problems.append("the file does not start at the chain's first event")
        if count and (last != cp["length"] or result["_last"]["hash"] != cp["head_hash"]):
            problems.append("the file does not end at the signed head")
    return problems


def verify_jsonl(lines: Iterable[str], manifest_doc: dict | None = None, public_key=None) -> dict:
    """Check an exported JSONL file without the database, against its signed manifest and the server's
    public key (both needed: without them a cut or re-chained file cannot be told from a genuine one);
    name the first line that breaks."""
    if manifest_doc is None or public_key is None:
        return {"ok": False, "reason": "offline verification needs the export's manifest and the server's "
                                       "public key (ops audit-public-key)"}
    if not signing.verify_document(public_key, manifest_doc):
        return {"ok": False, "reason": "the manifest's signature does not verify with this public key: it was "
                                       "changed, or made by another server"}
    if manifest_doc.get("type") != signing.MANIFEST_TYPE or manifest_doc.get("format") != "jsonl":
        return {"ok": False, "reason": "not the manifest of a JSON lines export"}
    if not signing.verify_checkpoint(public_key, manifest_doc.get("checkpoint") or {}):
        return {"ok": False, "reason": "the manifest's checkpoint is not signed by this public key"}
    digest = hashlib.sha256()
    result = _walk(lines, digest)
    if not result["ok"]:
        return result
    problems = _against_manifest(result, manifest_doc, digest.hexdigest())
    result = {k: v for k, v in result.items() if not k.startswith("_")}
    if problems:
        return {**result, "ok": False, "complete": False, "reason": "; ".join(problems)}
    # Signed, and the file the manifest describes: complete, filtered or not.
    return {**result, "complete": True, "checkpoint": manifest_doc["checkpoint"]}


def export_answer(filters: dict, fmt: str, upto: int) -> Response:
    """The export up to the cut `upto`, streamed as an attachment: the API's and the audit page's one answer."""
    app = current_app._get_current_object()

    def stream():
        # A generator outlives the view: it runs in its own app context with its own session.
        with app.app_context():
            yield from render(iter_export(**filters, upto_seq=upto, decode=fmt != "csv"), fmt)

    name = f"audit-{fmt}.{FILE_SUFFIXES[fmt]}"
    return Response(stream(), mimetype=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"', UPTO_HEADER: str(upto)})
