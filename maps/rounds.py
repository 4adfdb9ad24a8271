"""Maps of one operation round: what was fired where (round map) and the night on a time slider (replay).

Both take the same ``round_data`` dict: ``{"round": {...}, "points": [...], "reports": [...],
"airspace": [...]}`` (see ``build_round_map``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import folium

from .assets import VENDOR_URL
from .common import (COLOUR_HEX, DEFAULT_TZ, Legend, base_map, bounds_of, colour_hex, esc, format_time,
                     state_legend)
from .geometry import destination, sector_polygon
from .labels import labels_for
from .safe import Popup, TimedGeoJson, Tooltip
from .zones import add_zones, zones_near

ARROW_MAX_KM = 5.0
ARROW_HEAD_DEG = 25.0  # each barb this far either side of the shaft
ARROW_HEAD_FRACTION = 0.2  # barb length as a share of the arrow
# The round map's own colours stand apart from every SPEC state colour in its legend (tests measure it):
# the navy and orange they replace read as the states' blue and red.
FIRING_COLOUR = "#009b9f"
FLAGGED_COLOUR = COLOUR_HEX["purple"]  # SPEC: purple marks any active flag (the legend's one purple entry)
AMMO_COLOUR = "#7f4f24"

# The command centre's orders and the crews' acknowledgements in colours of their own (none a state's colour).
ORDER_COLOUR = "#0b7a75"
ACK_COLOUR = "#7f4f24"
EVENT_COLOURS = {"checkin": COLOUR_HEX["blue"], "airspace": COLOUR_HEX["amber"], "decision": COLOUR_HEX["green"],
                 "report": COLOUR_HEX["red"], "order": ORDER_COLOUR, "ack": ACK_COLOUR}
OTHER_EVENT_COLOUR = COLOUR_HEX["grey"]


def _located_points(round_data: Mapping) -> dict[str, dict]:
    return {p["code"]: p for p in round_data.get("points") or []
            if p.get("code") and p.get("latitude") is not None and p.get("longitude") is not None}


def arrow_lines(lat: float, lon: float, azimuth_deg: float, length_km: float) -> list[list[tuple[float, float]]]:
    """An arrow as three lines: the shaft from the point along ``azimuth_deg``, and the two barbs of its head."""
    tip = destination(lat, lon, azimuth_deg, length_km)
    barb = length_km * ARROW_HEAD_FRACTION
    back = (azimuth_deg + 180.0) % 360.0
    left = destination(tip[0], tip[1], (back - ARROW_HEAD_DEG) % 360.0, barb)
    right = destination(tip[0], tip[1], (back + ARROW_HEAD_DEG) % 360.0, barb)
    return [[(lat, lon), tip], [left, tip, right]]


def fired_text(fired: Iterable[tuple[str, int, int]], words: Mapping[str, str]) -> str:
    """Ammunition fired, ``(type, fired, duds)`` each: ``RKT-AGI: 9 fired (1 duds)``; the one wording of
    every popup that shows it (a report, a point, a point's total)."""
    return ", ".join(f"{esc(t)}: {esc(n)} {esc(words['fired'])}" + (f" ({esc(d)} {esc(words['duds'])})" if d else "")
                     for t, n, d in fired) or esc(words["none"])


def _totals(fired: Mapping[str, list[int]]) -> list[tuple[str, int, int]]:
    return [(t, n, d) for t, (n, d) in sorted(fired.items())]


def _flags_html(flags: Sequence[Mapping], words: Mapping[str, str]) -> str:
    if not flags:
        return ""
    items = "".join(f"<li><b>{esc(f.get('label') or f.get('code'))}</b>: {esc(f.get('reason'))}</li>" for f in flags)
    return (f'<div style="color:{FLAGGED_COLOUR}"><b>{esc(words["flags"])}</b>'
            f'<ul style="margin:0;padding-left:1.1em">{items}</ul></div>')


def report_popup_html(report: Mapping, point: Mapping, words: Mapping[str, str], tz: str = DEFAULT_TZ) -> str:
    """One firing: point, times, azimuth, ammunition, and every flag with its reason."""
    ammo = [(a.get("type"), a.get("fired", 0), a.get("duds")) for a in report.get("ammo") or []]
    return (f"<b>{esc(words['report'])} {esc(report.get('id'))}</b><br>"
            f"{esc(point.get('code'))} {esc(point.get('name'))}<br>"
            f"{esc(words['started'])}: {format_time(report.get('started_at'), tz)}<br>"
            f"{esc(words['ended_at'])}: {format_time(report.get('ended_at'), tz)}<br>"
            f"{esc(words['azimuth'])}: {float(report.get('azimuth_deg')):g}&deg;<br>"
            f"{fired_text(ammo, words)}"
            f"{_flags_html(report.get('flags') or [], words)}")


def _airspace_html(requests: Sequence[Mapping], words: Mapping[str, str], tz: str) -> str:
    if not requests:
        return f"<i>{esc(words['no_airspace'])}</i>"
    items = []
    for a in sorted(requests, key=lambda a: str(a.get("window_start") or "")):
        status = a.get("status")
        text = (f"<b>{esc(words.get(f'airspace_{status}', status))}</b> {esc(words['requested_window'])} "
                f"{format_time(a.get('window_start'), tz)} &ndash; {format_time(a.get('window_end'), tz, False)}")
        if a.get("approved_start") or a.get("approved_end"):
            text += (f"; {esc(words['approved_window'])} {format_time(a.get('approved_start'), tz)} &ndash; "
                     f"{format_time(a.get('approved_end'), tz, False)}")
        if a.get("effective_end") and a.get("effective_end") != a.get("approved_end"):
            text += f"; {esc(words['effective_end'])} {format_time(a.get('effective_end'), tz, False)}"
        if a.get("reference"):
            text += f"; {esc(words['reference'])} {esc(a['reference'])}"
        if a.get("reason"):
            text += f"; {esc(words['reason'])}: {esc(words.get('rejection_' + str(a['reason']), a['reason']))}"
        items.append(f"<li>{text}</li>")
    return f'<ul style="margin:0;padding-left:1.1em">{"".join(items)}</ul>'


def round_point_popup_html(point: Mapping, airspace: Sequence[Mapping], fired: Mapping[str, list[int]],
                           words: Mapping[str, str], tz: str = DEFAULT_TZ) -> str:
    """A point in the round: its state, the airspace windows it asked for, and what it fired."""
    state = point.get("state") or "idle"
    return (f"<b>{esc(point.get('code'))} {esc(point.get('name'))}</b><br>"
            f"{esc(words['state'])}: {esc(words.get('state_' + state, state))}<br>"
            f"{esc(words['ammo_fired'])}: {fired_text(_totals(fired), words)}<br>"
            f"<b>{esc(words['airspace'])}</b>{_airspace_html(airspace, words, tz)}")


def _title(words: Mapping[str, str], key: str, round_data: Mapping) -> str:
    name = (round_data.get("round") or {}).get("name")
    return f"{words[key]} · {name}" if name else words[key]


def _sector_extent(points: Mapping[str, Mapping]) -> list[tuple[float, float]]:
    """Every point and its safe sector's vertices: what the view must hold."""
    out = []
    for p in points.values():
        out.append((p["latitude"], p["longitude"]))
        start, end, radius = p.get("sector_start_deg"), p.get("sector_end_deg"), p.get("max_range_km")
        if start is not None and end is not None and radius:
            out += sector_polygon(p["latitude"], p["longitude"], start, end, radius)
    return out


def _code_label(code: str) -> Tooltip:
    """The point's code, always shown beside its dot."""
    return Tooltip(esc(code), permanent=True, sticky=False, direction="right", offset=[7, 0], class_name="ops-code")


def build_round_map(round_data: Mapping, tiles="none", *, lang: str = "zh", labels: Mapping[str, str] | None = None,
                    tz: str = DEFAULT_TZ, tiles_key: str | None = None, tiles_attr: str | None = None,
                    vendor_url: str = VENDOR_URL, base_layer: Mapping | None = None,
                    zones: Sequence[Mapping] | None = None) -> folium.Map:
    """What a round did: each firing as an arrow along its azimuth, flagged ones in purple.

    ``round_data``: ``round`` ``{id, name, ...}``; ``points`` ``[{code, name, latitude, longitude,
    sector_start_deg, sector_end_deg, max_range_km, state, colour}]``; ``reports`` ``[{id, point_code,
    started_at, ended_at, azimuth_deg, ammo: [{type, fired, duds}], flags: [{code, reason}]}]``;
    ``airspace`` ``[{id, point_code, status, window_start, window_end, approved_start, approved_end,
    effective_end, reference, reason}]``.

    Layers: the points in their state colour (popup: airspace windows and ammunition fired), their
    safe sectors, one arrow per firing (``min(max_range_km, 5)`` km long; popup with times,
    ammunition and flag reasons), and the ammunition fired per point as circles sized by the total;
    each point labelled with its code, the view fitted to the points, their sectors and the arrows.

    ``base_layer``, ``tiles``: as ``build_status_map``; ``zones``: as there, those within the points' ranges drawn.
    """
    words = labels_for(lang, labels)
    points = _located_points(round_data)
    reports = [r for r in round_data.get("reports") or []
               if r.get("point_code") in points and r.get("azimuth_deg") is not None]
    airspace: dict[str, list] = defaultdict(list)
    for a in round_data.get("airspace") or []:
        airspace[a.get("point_code")].append(a)
    fired: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for r in reports:
        for a in r.get("ammo") or []:
            entry = fired[r["point_code"]][a.get("type")]
            entry[0] += int(a.get("fired") or 0)
            entry[1] += int(a.get("duds") or 0)

    arrows = []
    for r in reports:
        p = points[r["point_code"]]
        length = min(float(p.get("max_range_km") or ARROW_MAX_KM), ARROW_MAX_KM)
        arrows.append((r, p, arrow_lines(p["latitude"], p["longitude"], float(r["azimuth_deg"]), length)))
    latlons = _sector_extent(points) + [lines[0][1] for _, _, lines in arrows]  # and the arrow tips
    m = base_map(bounds_of(latlons), tiles, words=words, lang=lang, title=_title(words, "title_round", round_data),
                 base_layer=base_layer, tiles_key=tiles_key,
                 tiles_attr=tiles_attr, vendor_url=vendor_url)

    sectors = folium.FeatureGroup(name=words["sectors"], overlay=True).add_to(m)
    add_zones(m, zones_near(zones, points.values()), words)
    ammo_layer = folium.FeatureGroup(name=words["ammo_fired"], overlay=True).add_to(m)
    firings = folium.FeatureGroup(name=words["firings"], overlay=True).add_to(m)
    point_layer = folium.FeatureGroup(name=words["points"], overlay=True).add_to(m)

    for code, p in points.items():
        lat, lon = p["latitude"], p["longitude"]
        colour = colour_hex(p.get("colour"))
        start, end, radius = p.get("sector_start_deg"), p.get("sector_end_deg"), p.get("max_range_km")
        if start is not None and end is not None and radius:
            folium.Polygon(sector_polygon(lat, lon, start, end, radius), color=colour, weight=1, fill=True,
                           fill_color=colour, fill_opacity=0.1).add_to(sectors)
        totals = fired.get(code, {})
        total = sum(n for n, _ in totals.values())
        if total:
            # Area, not radius, grows with the count, so 40 rounds do not look 4× bigger than 10 rounds.
            folium.CircleMarker(
                [lat, lon], radius=6 + 3 * math.sqrt(total), color=AMMO_COLOUR, weight=1, fill=True,
                fill_color=AMMO_COLOUR, fill_opacity=0.35,
                tooltip=Tooltip(f"{esc(code)} {esc(words['total_fired'])}: {total}"),
                popup=Popup(f"<b>{esc(code)} {esc(p.get('name'))}</b><br>{esc(words['total_fired'])}: "
                            f"<b>{total}</b><br>{fired_text(_totals(totals), words)}", max_width=300),
            ).add_to(ammo_layer)
        folium.CircleMarker(
            [lat, lon], radius=7, color="#222", weight=1.5, fill=True, fill_color=colour, fill_opacity=0.9,
            tooltip=_code_label(code),
            popup=Popup(round_point_popup_html(p, airspace.get(code, []), totals, words, tz), max_width=380),
        ).add_to(point_layer)

    for r, p, lines in arrows:
        flagged = bool(r.get("flags"))
        folium.PolyLine(
            lines, color=FLAGGED_COLOUR if flagged else FIRING_COLOUR, weight=4 if flagged else 3, opacity=0.9,
            dash_array="8 5" if flagged else None,
            tooltip=Tooltip(f"{esc(p['code'])} {float(r['azimuth_deg']):g}°" + (" ⚠" if flagged else "")),
            popup=Popup(report_popup_html(r, p, words, tz), max_width=360),
        ).add_to(firings)

    # One purple entry: a flagged firing's arrow is purple for the same reason a flagged point is.
    states = [(words["colour_purple_round"] if c == FLAGGED_COLOUR else label, c)
              for label, c in state_legend(words).entries]
    Legend(words["legend"], states + [(words["firings"], FIRING_COLOUR), (words["ammo_fired"], AMMO_COLOUR)]).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def replay_features(round_data: Mapping, events: Sequence[Mapping], words: Mapping[str, str],
                    tz: str = DEFAULT_TZ) -> list[dict]:
    """One timed GeoJSON point per event (``properties.time``), placed at its position or its point's."""
    points = _located_points(round_data)
    features = []
    for e in sorted(events, key=lambda e: str(e.get("at") or "")):
        lat, lon = e.get("latitude"), e.get("longitude")
        if lat is None or lon is None:
            p = points.get(e.get("point_code"))
            if p is None or not e.get("at"):
                continue  # nowhere to draw it
            lat, lon = p["latitude"], p["longitude"]
        kind = str(e.get("type") or "other")
        colour = FLAGGED_COLOUR if e.get("flagged") else EVENT_COLOURS.get(kind, OTHER_EVENT_COLOUR)
        label = words.get(f"event_{kind}", kind)
        popup = (f"<b>{esc(format_time(e.get('at'), tz))}</b><br>{esc(e.get('point_code'))} &middot; {esc(label)}"
                 + (f"<br>{esc(e.get('label'))}" if e.get("label") else ""))
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
            "properties": {
                "time": str(e["at"]), "type": kind, "point_code": e.get("point_code"), "popup": popup,
                "tooltip": f"{esc(e.get('point_code'))} {esc(label)}",
                "icon": "circle",
                "iconstyle": {"radius": 9 if kind == "report" else 7, "color": "#222", "weight": 1,
                              "fillColor": colour, "fillOpacity": 0.9},
            },
        })
    return features


def build_replay_map(round_data: Mapping, events: Sequence[Mapping], tiles="none", *, lang: str = "zh",
                     labels: Mapping[str, str] | None = None, tz: str = DEFAULT_TZ, tiles_key: str | None = None,
                     tiles_attr: str | None = None, vendor_url: str = VENDOR_URL, base_layer: Mapping | None = None,
                     zones: Sequence[Mapping] | None = None) -> folium.Map:
    """The round's events on a time slider, so an auditor can watch the night unfold.

    ``events``: ``[{at, type ("checkin"/"airspace"/"decision"/"report"/"order"/"ack"/...), point_code,
    latitude, longitude, label, flagged?}]``; an event without a position is drawn at its point. The points and
    their sectors stay on the map (each point labelled with its code); each event appears at its time
    and stays, coloured by type. ``base_layer``, ``tiles``: as ``build_status_map``; ``zones``: as
    ``build_round_map``.
    """
    words = labels_for(lang, labels)
    points = _located_points(round_data)
    features = replay_features(round_data, events, words, tz)
    latlons = _sector_extent(points)
    latlons += [(f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0]) for f in features]
    m = base_map(bounds_of(latlons), tiles, words=words, lang=lang, title=_title(words, "title_replay", round_data),
                 base_layer=base_layer, tiles_key=tiles_key,
                 tiles_attr=tiles_attr, vendor_url=vendor_url)

    sectors = folium.FeatureGroup(name=words["sectors"], overlay=True).add_to(m)
    add_zones(m, zones_near(zones, points.values()), words)
    point_layer = folium.FeatureGroup(name=words["points"], overlay=True).add_to(m)
    for code, p in points.items():
        lat, lon = p["latitude"], p["longitude"]
        start, end, radius = p.get("sector_start_deg"), p.get("sector_end_deg"), p.get("max_range_km")
        if start is not None and end is not None and radius:
            folium.Polygon(sector_polygon(lat, lon, start, end, radius), color="#666", weight=1, fill=True,
                           fill_color="#999", fill_opacity=0.08).add_to(sectors)
        folium.CircleMarker([lat, lon], radius=5, color="#222", weight=1, fill=True, fill_color="#fff",
                            fill_opacity=1, tooltip=_code_label(code),
                            popup=Popup(f"<b>{esc(code)}</b> {esc(p.get('name'))}", max_width=300)).add_to(point_layer)

    TimedGeoJson(
        {"type": "FeatureCollection", "features": features},
        period="PT1M", duration=None, add_last_point=False, auto_play=False, loop=False,
        transition_time=300, time_slider_drag_update=True, tz=tz,
    ).add_to(m)
    Legend(words["legend_events"],
           [(words[f"event_{k}"], c) for k, c in EVENT_COLOURS.items()]
           + [(words["event_other"], OTHER_EVENT_COLOUR), (words["flags"], FLAGGED_COLOUR)]).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m
