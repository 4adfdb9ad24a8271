"""The regions map: one circle per region (county, city or province) at the mean position of its points,
sized by how many points it has and coloured by the most urgent state colour among them, with a popup of
its counts and a link into its points. For the command centre above a few hundred points, where a dot per
point is a smear; built from the regional summary (plain data), like every map here."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import folium

from .assets import VENDOR_URL
from .common import COLOUR_HEX, COLOUR_URGENCY, DEFAULT_TZ, base_map, bounds_of, esc, state_legend
from .labels import labels_for
from .safe import Popup, Tooltip

MIN_RADIUS, MAX_RADIUS = 8, 30


def region_colour(colours: Mapping[str, int]) -> str:
    """The most urgent colour any of a region's points shows (grey when it has none)."""
    present = [c for c, n in colours.items() if n]
    return max(present, key=lambda c: COLOUR_URGENCY.get(c, 0), default="grey")


def _radius(points: int, most: int) -> float:
    # By area: a region with four times the points has twice the radius.
    return MIN_RADIUS + (MAX_RADIUS - MIN_RADIUS) * math.sqrt(points / most) if most else MIN_RADIUS


def build_region_map(regions: Sequence[Mapping], *, lang: str = "zh", labels: Mapping[str, str] | None = None,
                     tiles="none", tiles_key: str | None = None, tiles_attr: str | None = None,
                     vendor_url: str = VENDOR_URL, base_layer: Mapping | None = None,
                     tz: str = DEFAULT_TZ) -> folium.Map:
    """The regions of a summary (``opsserver.status.summary``'s ``regions``, each with an optional ``url``
    to open its points) as circles: size by ``points``, colour ``region_colour(colours)``; tooltip the
    region's name and counts, popup the same with the link. ``tz`` is accepted for a common signature."""
    words = labels_for(lang, labels)
    placed = [r for r in regions if r.get("centre")]
    latlons = [(r["centre"][1], r["centre"][0]) for r in placed]
    for r in placed:
        if r.get("bbox"):
            latlons += [(r["bbox"][1], r["bbox"][0]), (r["bbox"][3], r["bbox"][2])]
    m = base_map(bounds_of(latlons), tiles, words=words, lang=lang, title=words["title_regions"],
                 base_layer=base_layer, tiles_key=tiles_key, tiles_attr=tiles_attr, vendor_url=vendor_url)
    group = folium.FeatureGroup(name=words["regions"], overlay=True).add_to(m)
    most = max((r["points"] for r in placed), default=0)
    for r in placed:
        name = r.get("region") or words["region_unnamed"]
        within = " · ".join(esc(r[k]) for k in ("province", "city") if r.get(k) and r.get(k) != r.get("region"))
        alerts = r.get("alerts") or {}
        counts = (f"{r['points']} {esc(words['region_points'])}, {r.get('flagged', 0)} {esc(words['region_flagged'])}"
                  f", {alerts.get('total', 0)} {esc(words['region_alerts'])}"
                  + (f" ({alerts['critical']} {esc(words['region_critical'])})" if alerts.get("critical") else ""))
        title = f"<b>{esc(name)}</b>" + (f" <small>{within}</small>" if within else "")
        popup = f"{title}<br>{counts}"
        if r.get("url"):
            popup += f'<br><a href="{esc(r["url"])}" target="_top">{esc(words["region_open"])}</a>'
        colour = region_colour(r.get("colours") or {})
        folium.CircleMarker(location=(r["centre"][1], r["centre"][0]), radius=_radius(r["points"], most),
                            color="#222", weight=1.5, fill=True, fill_color=COLOUR_HEX[colour], fill_opacity=0.8,
                            tooltip=Tooltip(f"{esc(name)}: {counts}"), popup=Popup(popup)).add_to(group)
    state_legend(words).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m
