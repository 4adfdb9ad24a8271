"""The crew page shows a no-fire zone conflict before the crew sends (issue 17): a 360×640 phone in Debian's
Chromium against a real server, and the page's check against the server's rule under Node.

An administrator puts a school in LH01's safe sector and a highway across north of it (POST /api/v1/zones);
the phone, signed in, keeps its point's zones (GET /api/v1/points/LH01/zones). An azimuth toward a zone names
it, its kind and the blocked azimuths, in the reader's language, and says the report will be flagged; an
azimuth clear of every zone shows nothing; a hostile name is shown as text; the clearance answer names the
no_fire_zone reason; the report is still recorded, and comes back flagged. With no signal the reloaded page
still warns from what it kept. Node runs the page's check (crew-forms.js) on cases rules/zones.py made: the
page names exactly the zones whose buffer the server finds the firing line comes within.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from geopy.distance import geodesic

import rules
from rules import zones as zone_rules

from .helpers import crewphone, live as harness
from .helpers.crewphone import fill_report, go, record_status, shot, sign_in, wait_queue_empty, wait_until

ROOT = Path(__file__).resolve().parent.parent
NODE_TEST = ROOT / "tests" / "js" / "crew-zones.test.js"

browser = harness.browser
live = crewphone.live
phone = crewphone.phone

HOSTILE = '<img src=x onerror="window.__pwned=1">问十小学"&\''
TOWARD, NORTH_A, NORTH_B = 260.0, 358.0, 2.0   # the school lies at 260° from LH01; the highway crosses north
CANDIDATES_AWAY = (230.0, 215.0, 300.0, 310.0, 205.0)   # inside LH01's sector (200° → 320°)


def along(lat: float, lon: float, metres: float, bearing: float) -> list[float]:
    """A GeoJSON position `metres` from (lat, lon) along `bearing`."""
    dest = geodesic(meters=metres).destination((lat, lon), bearing)
    return [dest.longitude, dest.latitude]


def blocking(items: list[dict], azimuth: float) -> set[int]:
    """The server's answer read with the server's predicate: the zones whose blocked azimuths hold `azimuth`."""
    return {i["zone_id"] for i in items if any(rules.in_sector(azimuth, a, b) for a, b in i["blocked"])}


def point_zones(live, lang: str = "zh-CN") -> list[dict]:
    resp = live.client.get("/api/v1/points/LH01/zones",
                           headers={**live.headers("crew-lh01"), "Accept-Language": lang})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.json["items"]


@pytest.fixture
def zoned(live):
    """The demo served (see crewphone.live) with a school in LH01's sector, 3 km away at 260°, and a highway
    1.7 km north of it (outside the sector), both with a 200 m buffer; answers (live, school id, highway id)."""
    crewphone.sign_in_admin(live)
    p = live.point()
    lat, lon = p["latitude"], p["longitude"]
    school = live.api("post", "/api/v1/zones", who="admin", body={
        "name": HOSTILE, "kind": "school", "buffer_m": 200,
        "geometry": {"type": "Point", "coordinates": along(lat, lon, 3000, TOWARD)}})
    highway = live.api("post", "/api/v1/zones", who="admin", body={
        "name": "京港澳高速", "kind": "highway", "buffer_m": 200,
        "geometry": {"type": "LineString",
                     "coordinates": [along(lat, lon, 2000, 330), along(lat, lon, 2000, 30)]}})
    return live, school["id"], highway["id"]


def warning_lines(page) -> dict[str, str]:
    """The warning's lines by zone id."""
    return dict(page.eval_on_selector_all("#rp-zone-warning li[data-zone-id]",
                                          "els => els.map(e => [e.dataset.zoneId, e.textContent])"))


def shown_ids(page) -> set[int]:
    raw = page.get_attribute("#rp-zone-warning", "data-zones") or ""
    return {int(x) for x in raw.split(",") if x}


def zones_kept(page) -> None:
    wait_until(page, "(JSON.parse(localStorage.getItem('crew.zones') || 'null') || {}).point_code === 'LH01'")


@harness.needs_chromium
def test_an_azimuth_toward_a_zone_is_warned_before_sending(phone, zoned):
    live, school_id, highway_id = zoned
    page = phone
    items = point_zones(live)
    by_id = {i["zone_id"]: i for i in items}
    assert blocking(items, TOWARD) >= {school_id} and highway_id not in blocking(items, TOWARD)
    assert highway_id in blocking(items, NORTH_A) and highway_id in blocking(items, NORTH_B)
    away = next(a for a in CANDIDATES_AWAY if not blocking(items, a))

    sign_in(page, live)
    zones_kept(page)
    go(page, "report")
    fill_report(page, azimuth=str(TOWARD), elevation="60", fired="2")
    page.wait_for_selector("#rp-zone-warning:not([hidden])")
    assert page.get_attribute("#rp-sector-state", "data-inside") == "true"
    assert shown_ids(page) == blocking(items, TOWARD)
    line = warning_lines(page)[str(school_id)]
    # 禁射区：学校“<name>”（方位 256.2°–263.8° 禁射）: the name as typed, the server's label
    m = re.fullmatch(r"禁射区：(.+)“(.+)”（方位 ([\d.]+)°–([\d.]+)° 禁射）",
                     line, re.S)
    assert m, line
    assert m.group(1) == by_id[school_id]["label"] == "学校"
    assert m.group(2) == HOSTILE
    (interval,) = [b for b in by_id[school_id]["blocked"] if rules.in_sector(TOWARD, *b)]
    assert [float(m.group(3)), float(m.group(4))] == pytest.approx(interval, abs=0.05)
    assert "会被标记" in page.text_content("#rp-zone-warning")
    # the hostile name stayed text: no element made of it, no script run
    assert page.locator("#rp-zone-warning img").count() == 0
    assert page.evaluate("window.__pwned") is None

    # the server's clearance says so too, with the page's label for the reason
    reason = page.wait_for_selector('#clearance-answer[data-cleared="false"] li[data-code="no_fire_zone"]')
    assert reason.text_content().startswith("射线进入禁射区缓冲范围")
    shot(page, "30-report-no-fire-zone")

    # clear of every zone: no warning, and the clearance names none
    page.fill("#rp-azimuth", str(away))
    page.wait_for_selector("#rp-zone-warning", state="hidden")
    assert shown_ids(page) == set() and warning_lines(page) == {}
    wait_until(page, "document.querySelector('#clearance-answer .cleared') !== null && "
                     "!document.querySelector('#clearance-answer li[data-code=\"no_fire_zone\"]')")

    # the highway's blocked azimuths cross north: both sides of it are warned
    for az in (NORTH_A, NORTH_B):
        page.fill("#rp-azimuth", str(az))
        page.wait_for_selector("#rp-zone-warning:not([hidden])")
        assert shown_ids(page) == blocking(items, az) and highway_id in shown_ids(page)
        assert "高速" in warning_lines(page)[str(highway_id)]
    assert any(a > b for a, b in by_id[highway_id]["blocked"])  # an interval from west of north to east of it

    # still recorded toward the school: a field fact is stored and flagged, never refused
    page.fill("#rp-azimuth", str(TOWARD))
    page.wait_for_selector("#rp-zone-warning:not([hidden])")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector("#report-message:not([hidden])")
    assert page.is_hidden("#rp-zone-warning")  # the form is empty again
    go(page, "queue")
    wait_queue_empty(page)
    (report,) = live.api("get", f"/api/v1/rounds/{live.round_id}/reports")["items"]
    assert record_status(page, report["id"]) == "flagged"
    assert "no_fire_zone" in {f["code"] for f in report["flags"]}
    flagged = page.locator(f'#queue-list li[data-id="{report["id"]}"] li[data-code="no_fire_zone"]')
    assert flagged.count() == 1 and flagged.text_content().startswith("射线进入禁射区缓冲范围")
    shot(page, "31-records-no-fire-zone")


@harness.needs_chromium
def test_the_warning_shows_with_no_signal_in_english(phone, zoned):
    """The zones the page kept warn on a page the service worker served with no signal, in English."""
    live, school_id, _ = zoned
    page = phone
    label = {i["zone_id"]: i["label"] for i in point_zones(live, "en")}[school_id]
    sign_in(page, live, lang="en")
    wait_until(page, "navigator.serviceWorker.controller !== null")
    zones_kept(page)
    page.context.set_offline(True)
    page.wait_for_selector("#net.off")
    page.reload()
    page.wait_for_selector("#screen-home:not([hidden])")
    go(page, "report")
    page.fill("#rp-azimuth", str(TOWARD))
    page.wait_for_selector("#rp-zone-warning:not([hidden])")
    line = warning_lines(page)[str(school_id)]
    assert re.fullmatch(rf"No-fire zone: {re.escape(label)} “{re.escape(HOSTILE)}” \(azimuth [\d.]+°–[\d.]+° "
                        r"blocked\)", line), line
    assert "it will be flagged" in page.text_content("#rp-zone-warning")
    page.fill("#rp-azimuth", "")
    page.wait_for_selector("#rp-zone-warning", state="hidden")
    page.context.set_offline(False)


# --- the page's check against the server's rule ---------------------------------------------------------

LAT, LON, RANGE_M = 33.5541, 113.8623, 7000.0   # LH01, 7 km
SECTOR = (200.0, 320.0)
EDGE_MARGIN_DEG = 0.05   # blocked edges are kept to 3 decimals and drawn with chords: no verdict that close


def _zone(zid: int, kind: str, geometry: dict, buffer_m: float = 200.0) -> zone_rules.Zone:
    assert zone_rules.geometry_problems(geometry) == []
    return zone_rules.Zone(zid, f"zone {zid}", kind, zone_rules.zone_shape(geometry), buffer_m)


def _scene(name: str, zones: list[zone_rules.Zone]) -> dict:
    """The server's items for LH01 (as GET /points/LH01/zones has them) and, for azimuths every half degree,
    the zones whose buffer the firing line comes within (rules.zones.firing_line_hits)."""
    found = zone_rules.zones_in_range(LAT, LON, *SECTOR, RANGE_M, zones)
    items = [{"zone_id": i["zone"].id, "name": i["zone"].name, "kind": i["zone"].kind, "blocked": i["blocked"]}
             for i in found]
    edges = [e for i in items for b in i["blocked"] for e in b]
    cases = []
    for az in [x / 2 for x in range(0, 721)]:
        if any(abs((az - e + 180) % 360 - 180) < EDGE_MARGIN_DEG for e in edges):
            continue
        hits = zone_rules.firing_line_hits(LAT, LON, az, RANGE_M, zones)
        cases.append({"azimuth": az, "zones": sorted(h.zone.id for h in hits)})
    return {"name": name, "items": items, "cases": cases}


def test_the_page_names_the_zones_the_server_would_flag(tmp_path):
    p = lambda metres, bearing: along(LAT, LON, metres, bearing)  # noqa: E731
    zones = [
        _zone(1, "school", {"type": "Point", "coordinates": p(3000, 260)}),
        _zone(2, "village", {"type": "Polygon", "coordinates": [[p(5000, 295), p(5000, 305), p(5600, 305),
                                                                 p(5600, 295), p(5000, 295)]]}),
        _zone(3, "highway", {"type": "LineString", "coordinates": [p(2000, 330), p(2000, 30)]}),
        _zone(4, "school", {"type": "Point", "coordinates": p(4000, 263)}, 300.0),   # overlaps zone 1's
        _zone(5, "hospital", {"type": "Point", "coordinates": p(9000, 100)}),        # beyond the range
    ]
    inside = _zone(6, "power_facility", {"type": "Point", "coordinates": p(150, 90)})   # the point is in its buffer
    scenes = [_scene("around LH01", zones), _scene("in a buffer", [*zones, inside])]
    first = scenes[0]
    assert 5 not in {i["zone_id"] for i in first["items"]}
    assert any(a > b for i in first["items"] if i["zone_id"] == 3 for a, b in i["blocked"])   # across north
    named = [len(c["zones"]) for c in first["cases"]]
    assert 0 in named and 1 in named and 2 in named   # clear, one zone, two at once
    assert all(6 in c["zones"] for c in scenes[1]["cases"])   # every firing line starts inside its buffer
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps({"scenes": scenes}), encoding="utf-8")

    node = shutil.which("node") or "/usr/bin/node"
    out = subprocess.run([node, "--test", "--test-reporter=tap", str(NODE_TEST)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env={**os.environ, "CREW_ZONE_CASES": str(cases)})
    assert out.returncode == 0, out.stdout + out.stderr
    total = sum(len(s["cases"]) for s in scenes)
    assert f"# pass {total}" in out.stdout and "# fail 0" in out.stdout, out.stdout[-2000:]
