"""The printable safe-sector map (安全射界图) of one operating point: on one A4 page, the point's safe sector
and range ring with the no-fire zones in range and their buffers drawn, the table of those zones (kind,
bearing, distance, in the sector, conflict, the azimuths each blocks) and the list of conflicts.

The zones and their conflicts are the zones package's (`point_zones`, measured by `rules.zones`), never
measured here; the map is `maps.zones.build_safe_sector_map`, in a srcdoc frame like the round report's.
"""

from flask import Blueprint, current_app, render_template, url_for
from flask_babel import gettext as _

from maps.zones import build_safe_sector_map

from ..database.utc import now_utc
from ..i18n import current_lang
from ..registry.basemap import base_layer_for
from ..registry.services import point_by_code
from ..serving.security import allow_inline_scripts
from ..zones.services import point_zones
from .assets import versioned_vendor_url
from .auth import PAGE_ROLES, page_roles_required
from .data import map_zones

bp = Blueprint("safe_sector", __name__, template_folder="templates")


def _number(value: float) -> str:
    """A bearing or azimuth as people write it: 45, 312.5."""
    return f"{float(value):g}"


def blocked_text(blocked: list) -> str:
    """The azimuths a zone blocks, `120°–135°; 300°–310°` (clockwise), or every azimuth."""
    if any(float(b) - float(a) >= 360 for a, b in blocked):
        return _("every azimuth")
    return "; ".join(f"{_number(round(a, 1))}°–{_number(round(b, 1))}°" for a, b in blocked) or "—"


def _rows(items: list[dict]) -> list[dict]:
    return [{**i, "bearing": "—" if i["bearing_deg"] is None else _number(i["bearing_deg"]),
             "distance": f"{float(i['distance_m']):,.0f}", "blocked_text": blocked_text(i.get("blocked") or [])}
            for i in items]


def safe_sector_page_url(code: str) -> str:
    """The page's address for a point (a template global, so pages link to it only where it is served)."""
    return url_for("safe_sector.page", code=code)


bp.add_app_template_global(safe_sector_page_url, "safe_sector_page_url")


@bp.get("/maps/points/<code>/safe-sector")
@page_roles_required(*PAGE_ROLES)
def page(code: str):
    """The point's safe-sector map for printing (A4), in the reader's language."""
    point = point_by_code(code, status=404)
    items = point_zones(point)
    near = {i["zone_id"] for i in items}
    zones = [z for z in map_zones() if z["properties"]["id"] in near]
    cfg = current_app.config
    plain = {"code": point.code, "name": point.name, "latitude": point.latitude, "longitude": point.longitude,
             "sector_start_deg": point.sector_start_deg, "sector_end_deg": point.sector_end_deg,
             "max_range_km": point.max_range_km}
    m = build_safe_sector_map(plain, zones, items, tiles=cfg["OPS_MAP_TILES"], tiles_key=cfg.get("OPS_MAP_TILES_KEY"),
                              vendor_url=versioned_vendor_url(), lang=current_lang(), tz=cfg["OPS_TIMEZONE"],
                              base_layer=base_layer_for(cfg["OPS_MAP_REGION"]))
    allow_inline_scripts()  # the map's code in its srcdoc frame
    rows = _rows(items)
    return render_template("safe_sector.html", point=point, rows=rows, conflicts=[r for r in rows if r["conflict"]],
                           map_html=m.get_root().render(), printed_at=now_utc(), number=_number,
                           back=[(url_for("web.index"), _("Dashboard")), (url_for("rounds.index"), _("Rounds"))])
