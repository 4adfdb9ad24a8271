"""The regional summary (`GET /api/v1/status/summary?by=county|city|province`): points per state and
active alerts per region, from the same feed and alerts as the map, so its counts are the map's."""

import marshmallow as ma

from ..alerts.services import active_alerts
from ..fields import QuerySchema, Text
from .feed import current_build, current_features, geojson_body

LEVELS = ("county", "city", "province")
# Every state of a point in a round (SPEC, States), and `idle` for a point in no active round.
STATES = ("idle", "ordered", "manned", "requested", "cleared", "firing", "done", "declined", "stood_down",
          "rejected")
SEVERITIES = ("critical", "warning", "info")
# The regions enclosing each level (a county is named within its city and province: names repeat).
ENCLOSING = {"province": (), "city": ("province",), "county": ("province", "city")}


class SummaryQuerySchema(QuerySchema):
    by = Text(load_default="county", validate=ma.validate.OneOf(LEVELS), metadata={
        "description": "the level to count by: county, city or province"})


class CountsSchema(ma.Schema):
    points = ma.fields.Integer()
    states = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), metadata={
        "description": "points per state: " + ", ".join(STATES)})
    colours = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), metadata={
        "description": "points per map colour"})
    flagged = ma.fields.Integer(metadata={"description": "points with a flag or an alert (purple on the map)"})
    alerts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), metadata={
        "description": "active alerts of its points: total and per severity"})
    bbox = ma.fields.List(ma.fields.Float(), allow_none=True, metadata={"description": "[min lon, min lat, max "
                                                                                        "lon, max lat]"})
    centre = ma.fields.List(ma.fields.Float(), allow_none=True, metadata={"description": "[lon, lat], the mean"})


class RegionSchema(CountsSchema):
    region = ma.fields.String(allow_none=True, metadata={"description": "its name; null for points without one"})
    province = ma.fields.String(allow_none=True)
    city = ma.fields.String(allow_none=True)


class SummarySchema(ma.Schema):
    by = ma.fields.String()
    generated_at = ma.fields.String()
    regions = ma.fields.List(ma.fields.Nested(RegionSchema))
    totals = ma.fields.Nested(CountsSchema)


def _counts() -> dict:
    return {"points": 0, "states": dict.fromkeys(STATES, 0), "colours": {}, "flagged": 0,
            "alerts": {"total": 0, **dict.fromkeys(SEVERITIES, 0)}, "_lons": [], "_lats": []}


def _add(counts: dict, props: dict, lon: float, lat: float, alerts: list[dict]) -> None:
    counts["points"] += 1
    counts["states"][props["state"]] = counts["states"].get(props["state"], 0) + 1
    counts["colours"][props["colour"]] = counts["colours"].get(props["colour"], 0) + 1
    counts["flagged"] += bool(props.get("flags") or props.get("alerts") or alerts)
    for a in alerts:
        counts["alerts"]["total"] += 1
        counts["alerts"][a["severity"]] = counts["alerts"].get(a["severity"], 0) + 1
    counts["_lons"].append(lon)
    counts["_lats"].append(lat)


def _finish(counts: dict) -> dict:
    """The counts with the bounding box and centre (mean position) of their points in place of the positions."""
    lons, lats = counts.pop("_lons"), counts.pop("_lats")
    if not lons:
        return {**counts, "bbox": None, "centre": None}
    return {**counts, "bbox": [min(lons), min(lats), max(lons), max(lats)],
            "centre": [round(sum(lons) / len(lons), 6), round(sum(lats) / len(lats), 6)]}


def _regions_of(features: list[dict]) -> dict[str, dict]:
    """Each point's county, city and province by code, as the feed carries them."""
    return {f["properties"]["code"]: {k: f["properties"].get(k) for k in LEVELS} for f in features}


def active_of(made) -> list[dict]:
    """A build's alerts less those acknowledged, once per build (an acknowledgement makes a new version)."""
    return made.derive("active", lambda: active_alerts(None, made.alerts))


def current_summary(by: str) -> dict:
    """`summarize` of the feed's current version by `by`, from the build every screen shares (feed.py)."""
    made, _ = current_build(geojson_body, "application/geo+json")
    return made.derive(("summary", by, ()), lambda: summarize(by, current_features(made), active_of(made),
                                                              made.generated_at))


def summarize(by: str, features: list[dict], alerts: list[dict], generated_at: str) -> dict:
    """The regional summary of these feed features and these active (not acknowledged) alerts.

    Every count is what the map shows: a region's points are the feed's (active) points in it, its states their
    states, its `flagged` the points with a flag or an alert (purple on the map), and its alerts the active
    alerts of those points by severity. Alerts of no active point are in no region and not in the totals.

    A region is named within its enclosing regions (`province`, `city` where known, else null; a province's
    `province` is its own name), since county names repeat across the country. Points that lack the region's
    field (no city, say) go into a region whose `region` is null (one per enclosing region). Each region has
    the bounding box of its points ([min lon, min lat, max lon, max lat]) and their mean position as `centre`.
    Regions are sorted by most critical alerts, then name (unnamed last); `totals` are the same counts over
    every point.
    """
    alerts_by_code: dict[str, list[dict]] = {}
    for a in alerts:
        if a.get("point_code"):
            alerts_by_code.setdefault(a["point_code"], []).append(a)
    regions_of = _regions_of(features)
    regions: dict[tuple, dict] = {}
    totals = _counts()
    for f in features:
        props = f["properties"]
        lon, lat = f["geometry"]["coordinates"][:2]
        place = regions_of[props["code"]]
        key = (*(place[k] for k in ENCLOSING[by]), place[by] or None)
        if key not in regions:
            names = dict(zip((*ENCLOSING[by], by), key))
            regions[key] = {"region": key[-1], "province": names.get("province"), "city": names.get("city"),
                            **_counts()}
        point_alerts = alerts_by_code.get(props["code"], [])
        _add(regions[key], props, lon, lat, point_alerts)
        _add(totals, props, lon, lat, point_alerts)
    ordered = sorted(regions.values(), key=lambda r: (
        -r["alerts"]["critical"], r["region"] is None, r["region"] or "",
        *((r[k] is None, r[k] or "") for k in ENCLOSING[by])))
    return {"by": by, "generated_at": generated_at, "regions": [_finish(r) for r in ordered],
            "totals": _finish(totals)}
