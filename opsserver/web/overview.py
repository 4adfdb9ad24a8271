"""What the dashboard shows at any scale, from the status feed's shared build (status/feed.py): above
OPS_DASHBOARD_REGIONS_ABOVE points it opens on regions (their counts, a table and a map), and drills into
a region's points; a search by code or name, filters by state and flag, and pages of
OPS_DASHBOARD_PAGE_SIZE rows.

The page (`/`) and its polling (`/dashboard/live`) take the same query and build the same view."""

import marshmallow as ma
from flask import abort, current_app, url_for

from ..database.utc import now_utc
from ..alerts.schemas import KINDS
from ..fields import Count, QuerySchema, Text
from ..status import delta
from ..status.feed import REGION_FILTERS, current_build, current_features, geojson_body
from ..status.summary import LEVELS, STATES, active_of, summarize

V = ma.validate


class DashboardQuerySchema(QuerySchema):
    view = Text(load_default=None, validate=V.OneOf(["regions", "points"]))
    by = Text(load_default=None, validate=V.OneOf(LEVELS))
    province = Text(load_default=None, validate=V.Length(max=80))
    city = Text(load_default=None, validate=V.Length(max=80))
    county = Text(load_default=None, validate=V.Length(max=80))
    q = Text(load_default=None, validate=V.Length(max=80))
    state = Text(load_default=None, validate=V.OneOf(STATES))
    flag = Text(load_default=None, validate=V.Length(max=40))  # "any", or a flag's or an alert's code
    page = Count(load_default=1, validate=V.Range(min=1, max=100000))


def known_args(schema: type[ma.Schema], args) -> dict:
    """The page's arguments that `schema` knows and that are not blank (others, such as `lang`, are the
    layout's)."""
    fields = schema().fields
    return {k: v for k, v in args.items() if k in fields and v != ""}


def page_query(schema: type[ma.Schema], args) -> dict:
    """A page's query by the schema of its filters (the API's where it has one); a bad value is a bad request."""
    try:
        return schema().load(known_args(schema, args))
    except ma.ValidationError:
        abort(400)


def dashboard_query(args) -> dict:
    """The dashboard's query from the page's arguments."""
    return page_query(DashboardQuerySchema, args)


def _next_level(query: dict, provinces: int, cities: int) -> str:
    """The level to count by: the one below the region drilled into; at the top, the widest that divides."""
    if query.get("city"):
        return "county"
    if query.get("province"):
        return "city" if cities > 1 else "county"
    return "province" if provinces > 1 else "city" if cities > 1 else "county"


def _matches_point(f: dict, query: dict) -> bool:
    p = f["properties"]
    if query.get("q"):
        needle = query["q"].casefold()
        if needle not in p["code"].casefold() and needle not in (p.get("name") or "").casefold():
            return False
    if query.get("state") and p["state"] != query["state"]:
        return False
    flag = query.get("flag")
    if flag == "any":
        return bool(p.get("flags") or p.get("alerts"))
    if flag:
        return flag in {x["code"] for x in p.get("flags") or []} | {a["type"] for a in p.get("alerts") or []}
    return True


def region_link(query: dict, region: dict, by: str) -> str | None:
    """The dashboard of a region's points (or of its own regions, a level down); None for an unnamed one."""
    if region.get("region") is None:
        return None
    place = {k: v for k, v in query.items() if k in REGION_FILTERS and v}
    place.update({k: region[k] for k in ("province", "city") if region.get(k)})
    place[by] = region["region"]
    return url_for("web.index", **place)


def region_summary(made, by: str, place: dict, codes: list[str], alerts: list[dict]) -> dict:
    """The summary of the points `codes` (the region `place`) by `by`, once per build."""
    return made.derive(("summary", by, tuple(sorted(place.items()))),
                       lambda: summarize(by, current_features(made, codes), alerts, made.generated_at))


def _levels(made, codes: list[str]) -> tuple[int, int]:
    return len({made.regions[c][0] for c in codes}), len({made.regions[c][:2] for c in codes})


def warm(made) -> None:
    """What the dashboard's first screen needs from a new build, made by the pre-builder ahead of it."""
    codes = list(made.parts)
    region_summary(made, _next_level({}, *_levels(made, codes)), {}, codes, active_of(made))


def dashboard_view(query: dict) -> dict:
    """The view of `query`: the feed's version and time, the region drilled into, its regions (counts, links)
    or its page of points, and its active alerts."""
    made, _ = current_build(geojson_body, "application/geo+json", warm=warm)
    place = {k: query[k] for k in REGION_FILTERS if query.get(k)}
    codes = delta.codes_in(made, place)
    inside = set(codes)
    alerts = [a for a in active_of(made) if not place or a.get("point_code") in inside]
    searching = any(query.get(k) for k in ("q", "state", "flag"))
    view = query.get("view") or (
        "regions" if len(codes) > current_app.config["OPS_DASHBOARD_REGIONS_ABOVE"] and not searching else "points")
    args = {k: v for k, v in query.items() if v not in (None, "") and k not in ("page", "view")}
    out = {"version": delta.version_text(made.version), "generated_at": made.generated_at, "place": place,
           "view": view, "total": len(codes), "alerts": alerts, "query": query, "page_args": args,
           "regions_above": current_app.config["OPS_DASHBOARD_REGIONS_ABOVE"], "alert_kinds": KINDS}
    if view == "regions":
        by = query.get("by") or _next_level(query, *_levels(made, codes))
        summary = region_summary(made, by, place, codes, alerts)
        regions = [{**r, "url": region_link(query, r, by)} for r in summary["regions"]]
        out.update(by=by, summary={**summary, "regions": regions})
    else:
        kept = [f for f in current_features(made, codes) if _matches_point(f, query)]
        size = current_app.config["OPS_DASHBOARD_PAGE_SIZE"]
        pages = max(1, -(-len(kept) // size))
        page = min(query["page"], pages)
        out.update(matched=len(kept), page=page, pages=pages,
                   live_url=url_for("dashboard.live", view="points", page=page, **args),
                   # `at`: an order's wait is told at the render, to the second the rule names (the
                   # feed's own instant is up to a time bucket earlier).
                   feed={"features": kept[(page - 1) * size:page * size], "generated_at": made.generated_at,
                         "at": now_utc().isoformat()})
    return out
