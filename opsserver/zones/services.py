"""Business operations on no-fire zones (each write one transaction with its audit event) and the checks that
read them: the zones near a firing line, a point's zones in range and its conflicts, the zones as map data.

The geometry and the rules are rules/zones.py; here the zones are found (by the bounds their buffer reaches,
an indexed SQL comparison, so a check among 10,000 zones reads only the few near it) and kept parsed.
"""

import json
from collections import OrderedDict
from datetime import datetime

import marshmallow as ma
import shapely
from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

import rules
from rules import zones as zone_rules
from ..audit import services as audit
from ..database.writelock import begin_write
from ..errors import ProblemError, flatten_messages, problem_dict
from ..extensions import db
from ..fields import MAX_ID
from ..reasons import code_label
from ..registry.models import Point
from .models import NoFireZone
from .schemas import ZoneCreateSchema

MAX_IMPORT_FEATURES = 5000
_FIELDS = ("name", "kind", "buffer_m", "active", "notes", "source")
_parsed: "OrderedDict[tuple, zone_rules.Zone]" = OrderedDict()  # (db, id, updated_at, content) → parsed
_PARSED_MAX = 20_000
_outlines: dict[tuple[str, int, datetime], dict] = {}


def _canonical(geometry: dict) -> str:
    return json.dumps({"type": geometry["type"], "coordinates": geometry["coordinates"]}, separators=(",", ":"))


def _set_reach(zone: NoFireZone) -> None:
    zone.reach_west, zone.reach_south, zone.reach_east, zone.reach_north = zone_rules.reach_bounds(
        zone_rules.zone_shape(json.loads(zone.geometry)), zone.buffer_m)


def _payload(zone: NoFireZone) -> dict:
    return {"name": zone.name, "kind": zone.kind, "geometry": json.loads(zone.geometry), "buffer_m": zone.buffer_m,
            "active": zone.active, "notes": zone.notes, "source": zone.source}


def _add(actor: str, data: dict) -> NoFireZone:
    zone = NoFireZone(**{k: data[k] for k in _FIELDS}, geometry=_canonical(data["geometry"]))
    _set_reach(zone)
    db.session.add(zone)
    db.session.flush()
    audit.append(actor, "zone.create", "zone", str(zone.id), _payload(zone))
    return zone


def create_zone(actor: str, data: dict) -> NoFireZone:
    """Record a no-fire zone (`data` as ZoneCreateSchema loads it: checked already)."""
    begin_write(db.session)
    zone = _add(actor, data)
    db.session.commit()
    return zone


def zone_by_id(zone_id: int) -> NoFireZone:
    """The zone with this id, or 404."""
    zone = db.session.get(NoFireZone, zone_id) if 0 < zone_id <= MAX_ID else None  # PostgreSQL's integer
    if zone is None:
        raise ProblemError(404, f"No no-fire zone with id {zone_id}.", type_="not-found")
    return zone


def update_zone(actor: str, zone_id: int, changes: dict) -> NoFireZone:
    """Change a zone's fields (`active: false` deactivates it; a zone is never deleted); the audit event records
    each old and new value."""
    begin_write(db.session)
    zone = zone_by_id(zone_id)
    diff = {}
    for key, value in changes.items():
        old = json.loads(zone.geometry) if key == "geometry" else getattr(zone, key)
        new = json.loads(_canonical(value)) if key == "geometry" else value
        if old != new:
            diff[key] = [old, new]
            setattr(zone, key, _canonical(value) if key == "geometry" else value)
    if diff:
        _set_reach(zone)
        audit.append(actor, "zone.update", "zone", str(zone.id), diff)
    db.session.commit()
    return zone


def _feature_data(index: int, feature) -> tuple[dict | None, dict | None]:
    """A feature's zone fields (its properties and geometry), or the problem naming it."""
    where = f"features[{index}]"
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        errors = [{"field": where, "location": "json", "detail": "not a GeoJSON Feature"}]
    else:
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            props = {"properties": props}
        try:
            return ZoneCreateSchema(unknown=ma.EXCLUDE).load({**props, "geometry": feature.get("geometry")}), None
        except ma.ValidationError as exc:
            errors = [{**e, "field": f"{where}.{'geometry' if e['field'] == 'geometry' else 'properties.' + e['field']}"}
                      for e in flatten_messages(exc.messages, "json")]
    name = feature.get("properties", {}).get("name") if isinstance(feature, dict) and isinstance(
        feature.get("properties"), dict) else None
    label = f"{where}" + (f" (“{name}”)" if isinstance(name, str) else "")
    return None, problem_dict(422, f"{label} was not stored: " + "; ".join(
        f"{e['field']}: {e['detail']}" for e in errors), type_="validation-error", errors=errors)


def import_zones(actor: str, collection, all_or_nothing: bool = False) -> dict:
    """Store each feature of a GeoJSON FeatureCollection as a zone: one result per feature, a bad feature refused
    whole and named (its index, its own id, its name) while the good ones are stored; `all_or_nothing`: store
    none unless every one is good (else 422 naming each bad one). One transaction."""
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection" or not isinstance(
            collection.get("features"), list):
        raise ProblemError(422, "The body must be a GeoJSON FeatureCollection with a `features` array.",
                           type_="validation-error",
                           errors=[{"field": "features", "location": "json", "detail": "a FeatureCollection"}])
    features = collection["features"]
    if len(features) > MAX_IMPORT_FEATURES:
        raise ProblemError(422, f"{len(features)} features; an import takes at most {MAX_IMPORT_FEATURES}.",
                           type_="validation-error", errors=[{"field": "features", "location": "json",
                                                              "detail": f"at most {MAX_IMPORT_FEATURES}"}])
    checked = [_feature_data(i, f) for i, f in enumerate(features)]
    bad = [(i, problem) for i, (_, problem) in enumerate(checked) if problem]
    if all_or_nothing and bad:
        raise ProblemError(422, f"{len(bad)} of {len(features)} features are bad; nothing was stored: "
                           + " | ".join(p["detail"] for _, p in bad[:20]), type_="validation-error",
                           errors=[e for _, p in bad for e in p["errors"]])
    begin_write(db.session)
    items = []
    for i, (data, problem) in enumerate(checked):
        fid = features[i].get("id") if isinstance(features[i], dict) else None
        if problem:
            items.append({"index": i, "feature_id": fid, "status": 422, "zone": None, "problem": problem})
        else:
            items.append({"index": i, "feature_id": fid, "status": 201, "zone": _add(actor, data), "problem": None})
    db.session.commit()
    for item in items:
        if item["zone"] is not None:
            item["zone"] = zone_view(item["zone"])
    return {"items": items, "stored": len(features) - len(bad), "refused": len(bad)}


def zone_view(zone: NoFireZone) -> dict:
    """A zone as served: its fields, its geometry as GeoJSON and its kind in the reader's language."""
    return {"id": zone.id, "name": zone.name, "kind": zone.kind, "label": code_label(zone.kind),
            "geometry": json.loads(zone.geometry), "buffer_m": zone.buffer_m, "active": zone.active,
            "notes": zone.notes, "source": zone.source, "created_at": zone.created_at, "updated_at": zone.updated_at}


# -- the checks ----------------------------------------------------------------------------------------------------

_CANDIDATE_COLUMNS = (NoFireZone.id, NoFireZone.updated_at, NoFireZone.name, NoFireZone.kind, NoFireZone.geometry,
                      NoFireZone.buffer_m)


def _meets(bounds: tuple[float, float, float, float]):
    return and_(NoFireZone.active.is_(True), zone_rules.bounds_meet_sql(
        NoFireZone.reach_west, NoFireZone.reach_south, NoFireZone.reach_east, NoFireZone.reach_north, bounds))


def _database() -> str:
    """Which database the rows came from (the caches' keys name it: a test, or a second app, has its own)."""
    return db.engine.url.render_as_string(hide_password=True)


def _rule_zone(row, database: str) -> zone_rules.Zone:
    """A zone row as the rules take it, parsed once per version of the row (kept for the next check)."""
    # keyed by the row's content too: an edit under a clock that did not move (frozen, stepped back) is seen
    key = (database, row.id, row.updated_at, row.geometry, row.buffer_m, row.name, row.kind)
    found = _parsed.get(key)
    if found is None:
        found = _parsed[key] = zone_rules.Zone(row.id, row.name, row.kind,
                                               zone_rules.zone_shape(json.loads(row.geometry)), row.buffer_m)
        if len(_parsed) > _PARSED_MAX:
            _parsed.popitem(last=False)
    return found


def zones_near(bounds: tuple[float, float, float, float], conn: Connection | None = None) -> list[zone_rules.Zone]:
    """The active zones whose buffer reaches into these bounds (west, south, east, north), as the rules take them."""
    stmt = select(*_CANDIDATE_COLUMNS).where(_meets(bounds)).order_by(NoFireZone.id)
    rows = (conn or db.session).execute(stmt).all()
    database = _database()
    return [_rule_zone(row, database) for row in rows]


def firing_line_flag(lat: float, lon: float, azimuth_deg: float, range_km: float,
                     conn: Connection | None = None) -> rules.Flag | None:
    """`no_fire_zone` when the firing line from the point along the azimuth to its maximum range comes within an
    active zone's buffer (the clearance, the reports and the crew page's data all ask here)."""
    range_m = range_km * 1000.0
    near = zones_near(zone_rules.firing_line_bounds(lat, lon, azimuth_deg, range_m), conn)
    return zone_rules.no_fire_zone_flag(azimuth_deg, zone_rules.firing_line_hits(lat, lon, azimuth_deg, range_m, near))


def _items(point: Point, near: list[zone_rules.Zone]) -> list[dict]:
    """The point's zones in range among `near` (language-free: the label is added as served)."""
    items = zone_rules.zones_in_range(point.latitude, point.longitude, point.sector_start_deg, point.sector_end_deg,
                                      point.max_range_km * 1000.0, near)
    return [{"zone_id": i["zone"].id, "name": i["zone"].name, "kind": i["zone"].kind,
             "buffer_m": i["zone"].buffer_m, "distance_m": i["distance_m"], "bearing_deg": i["bearing_deg"],
             "in_sector": i["in_sector"], "conflict": i["conflict"], "blocked": i["blocked"]} for i in items]


def _labelled(items: list[dict]) -> list[dict]:
    return [{**item, "label": code_label(item["kind"])} for item in items]


def point_zones(point: Point) -> list[dict]:
    """The zones whose buffer reaches within the point's maximum range, nearest first, with bearing, distance,
    whether each lies in the safe sector, conflicts with it, and the azimuths it blocks (`label`: the kind in the
    reader's language)."""
    near = zones_near(zone_rules.search_bounds(point.latitude, point.longitude, point.max_range_km * 1000.0))
    return _labelled(_items(point, near))


_conflicts: dict[tuple, dict[str, list[dict]]] = {}


def _standing_version() -> tuple:
    """What the conflicts depend on, in one query each: the zones' and the points' rows (counts, latest change)."""
    zones = db.session.execute(select(func.count(NoFireZone.id), func.max(NoFireZone.updated_at))).one()
    points = db.session.execute(select(func.count(Point.id), func.max(Point.updated_at))).one()
    return (_database(), *zones, *points)


def point_conflicts() -> dict[str, list[dict]]:
    """Each active point's conflicting zones (only the conflicts, each with `since`: the later change of the point
    or the zone), by point code. Derived from the standing data and kept per version of it, so the alerts, asked
    on every status read, measure again only after a zone or point changed (the key changes with any such write,
    so the change shows at once). A fixed number of queries for any number of points: the active zones are read
    once and indexed by the bounds their buffer reaches (shapely's STRtree)."""
    key = _standing_version()
    found = _conflicts.get(key)
    if found is None:
        database = _database()
        rows = db.session.execute(select(*_CANDIDATE_COLUMNS, NoFireZone.reach_west, NoFireZone.reach_south,
                                         NoFireZone.reach_east, NoFireZone.reach_north)
                                  .where(NoFireZone.active.is_(True)).order_by(NoFireZone.id)).all()
        zones = [_rule_zone(row, database) for row in rows]
        changed = {row.id: row.updated_at for row in rows}
        tree = shapely.STRtree([shapely.box(*row[-4:]) for row in rows])
        found = {}
        points = db.session.execute(select(Point).where(Point.active.is_(True)).order_by(Point.code)).scalars() \
            if zones else ()  # no zone, no conflict: the points are not read
        for point in points:
            range_m = point.max_range_km * 1000.0
            near = [zones[i] for i in sorted(tree.query(shapely.box(*zone_rules.search_bounds(
                point.latitude, point.longitude, range_m))))]
            conflicts = [item for item in _items(point, near) if item["conflict"]]
            if conflicts:
                found[point.code] = [{**c, "since": max(point.updated_at, changed[c["zone_id"]])} for c in conflicts]
        _conflicts.clear()
        _conflicts[key] = found
    return {code: _labelled(items) for code, items in found.items()}


def zone_features(active_only: bool = True) -> list[dict]:
    """The zones as GeoJSON Features for the maps: geometry, and in `properties` the name, kind, its label in the
    reader's language, the buffer and its outline (`buffer`, a GeoJSON geometry)."""
    stmt = select(NoFireZone).order_by(NoFireZone.id)
    if active_only:
        stmt = stmt.where(NoFireZone.active.is_(True))
    features = []
    for zone in db.session.execute(stmt).scalars():
        key = (_database(), zone.id, zone.updated_at)
        if key not in _outlines:
            if len(_outlines) > _PARSED_MAX:
                _outlines.clear()
            rule_zone = zone_rules.Zone(zone.id, zone.name, zone.kind, zone_rules.zone_shape(json.loads(zone.geometry)),
                                        zone.buffer_m)
            _outlines[key] = json.loads(shapely.to_geojson(shapely.set_precision(
                zone_rules.buffer_outline(rule_zone), 1e-6)))
        features.append({"type": "Feature", "id": zone.id, "geometry": json.loads(zone.geometry), "properties": {
            "id": zone.id, "name": zone.name, "kind": zone.kind, "label": code_label(zone.kind),
            "buffer_m": zone.buffer_m, "active": zone.active, "source": zone.source, "buffer": _outlines[key]}})
    return features
