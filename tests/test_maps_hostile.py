"""Text typed by people on every map (names, county, ATC references, notes): shown as text, never run.

Unit level (pure maps, no app): with hostile text in every free-text field the built pages keep the
element structure they have with harmless text, every executable script still parses, none carries the
hostile text except inside script-safe JSON, and the text reaches the page intact (no template
evaluated it). In Debian's Chromium, against a real server whose data was typed through the API: the
dashboard, the status map, the round map, the replay, the HTML round report and the archive file each
draw their markers, raise no error, run nothing (``window.__pwned`` stays undefined, no dialog), and
every popup and tooltip shows the text exactly as it was typed.
"""

import html
import json
import os
import re
import shutil
import subprocess
import uuid
from datetime import date, timedelta
from html.parser import HTMLParser

import folium
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from maps import build_replay_map, build_round_map, build_status_map
from maps.safe import OPSMAP_JS, UnsafeContentError
from opsserver.database.utc import now_utc

from .helpers.world import OpsWorld
from .helpers import live

# One kind of attack or more in each field; each fits the field's length limit in the API.
HOSTILE = {
    "point_name": "O`Brien ${window.__pwned=1} \\` {{7*7}} {% raw %}",
    "county": '<img src=x onerror="window.__pwned=1"> It\'s "Ridge"',
    "crew_name": "</script><script>window.__pwned=1</script> O`Brien ${alert(1)}",
    "reference": "ATC-`${window.__pwned=1}` ');window.__pwned=1;('",
    "round_name": '");window.__pwned=1;("<img src=x onerror=window.__pwned=1> {{ 7*7 }}',
    "reason": "`+(window.__pwned=1)+`</script><!--<script>",
    "notes": "</script><script>window.__pwned=1</script>${alert(1)}",
}
# Written raw into a script, each of these would run or break it (JSON escapes them all).
RAW_IN_SCRIPT = [re.compile(p) for p in (r"`Brien", r"\$\{(window|alert)", r"(?<!\\)['\"]\);window",
                                         r"`\+\(window", r"<img", r"</script", r"onerror=")]
WAIT_MS = 15000


# --- the maps built from plain data ---------------------------------------------------------------

def _status_data(h: dict) -> tuple[dict, list[dict]]:
    window = {"request_id": 7, "start": "2025-07-01T12:00:00+00:00", "end": "2025-07-01T13:40:00+00:00",
              "reference": h["reference"], "ends_in_s": 720}
    props = {"code": "LH01", "name": h["point_name"], "county": h["county"], "equipment": "rocket",
             "launchers": 2, "sector_start_deg": 30, "sector_end_deg": 120, "max_range_km": 8, "state": "cleared",
             "colour": "purple", "crew_on_site": 1, "min_crew": 3, "crew": [{"crew_id": 1, "name": h["crew_name"]}],
             "stock": {"RKT-AGI": 20}, "round": {"id": 3, "name": h["round_name"]}, "open_window": window,
             "last_checkin": {"crew_id": 1, "kind": "arrive", "recorded_at": "2025-07-01T11:02:00+00:00",
                              "within_geofence": False},
             "flags": [{"code": "understaffed", "reason": h["reason"]}],
             "alerts": [{"type": "understaffed", "severity": "critical"}]}
    other = dict(props, code="LH02", state="idle", colour="grey", open_window=None, flags=[], alerts=[])
    features = [{"type": "Feature", "id": p["code"], "properties": p,
                 "geometry": {"type": "Point", "coordinates": [114.0 + i / 10, 33.6]}}
                for i, p in enumerate((props, other))]
    crews = [{"crew_id": i, "name": h["crew_name"], "point_code": "LH01", "latitude": 33.61,
              "longitude": 114.0 + i / 10, "recorded_at": "2025-07-01T11:02:00+00:00", "within_geofence": i == 1}
             for i in (1, 2)]
    return {"type": "FeatureCollection", "features": features}, crews


def _round_data(h: dict) -> tuple[dict, list[dict]]:
    points = [{"code": "LH01", "name": h["point_name"], "latitude": 33.6, "longitude": 114.0, "sector_start_deg": 300,
               "sector_end_deg": 40, "max_range_km": 8, "state": "done", "colour": "purple"},
              {"code": "LH02", "name": h["county"], "latitude": 33.55, "longitude": 114.05, "sector_start_deg": 90,
               "sector_end_deg": 180, "max_range_km": 3, "state": "rejected", "colour": "grey"}]
    reports = [{"id": "r-1", "point_code": "LH01", "started_at": "2025-07-01T12:10:00+00:00",
                "ended_at": "2025-07-01T12:14:00+00:00", "azimuth_deg": 350,
                "ammo": [{"type": "RKT-AGI", "fired": 4, "duds": 1}],
                "flags": [{"code": "outside_sector", "reason": h["reason"]}], "notes": h["notes"]}]
    airspace = [{"id": 11, "point_code": "LH01", "status": "approved", "window_start": "2025-07-01T12:00:00+00:00",
                 "window_end": "2025-07-01T13:00:00+00:00", "approved_start": "2025-07-01T12:05:00+00:00",
                 "approved_end": "2025-07-01T12:50:00+00:00", "effective_end": "2025-07-01T12:40:00+00:00",
                 "reference": h["reference"], "reason": None},
                {"id": 12, "point_code": "LH02", "status": "rejected", "window_start": "2025-07-01T12:00:00+00:00",
                 "window_end": "2025-07-01T12:30:00+00:00", "reference": None, "reason": h["reason"]}]
    events = [{"at": "2025-07-01T11:02:00+00:00", "type": "checkin", "point_code": "LH01", "latitude": 33.601,
               "longitude": 114.001, "label": h["crew_name"]},
              {"at": "2025-07-01T11:58:00+00:00", "type": "decision", "point_code": "LH01",
               "label": "approved " + h["reference"]},
              {"at": "2025-07-01T12:10:00+00:00", "type": "report", "point_code": "LH01", "label": h["notes"],
               "flagged": True}]
    return {"round": {"id": 3, "name": h["round_name"]}, "points": points, "reports": reports,
            "airspace": airspace}, events


def _build(kind: str, h: dict):
    if kind in ("round", "replay"):
        data, events = _round_data(h)
        if kind == "round":
            return build_round_map(data, tiles=None, lang="en")
        return build_replay_map(data, events, tiles=None, lang="en")
    fc, crews = _status_data(h)
    options = {"static": {}, "live": {"realtime_url": "/feed"}, "scale": {"scale_threshold": 1},
               "scale-live": {"scale_threshold": 1, "realtime_url": "/feed"}}[kind]
    return build_status_map(fc, crews, tiles=None, lang="en", **options)


# Which hostile fields each map carries as data (the rest it does not show).
SHOWN = {
    "static": {"point_name", "county", "crew_name", "reference", "round_name", "reason"},
    "live": {"point_name", "county", "crew_name", "reference", "round_name", "reason"},
    "scale": {"point_name", "county", "crew_name", "reference", "round_name", "reason"},
    "scale-live": {"point_name", "county", "crew_name", "reference", "round_name", "reason"},
    "round": {"point_name", "county", "reference", "reason"},
    "replay": {"point_name", "county", "crew_name", "reference", "notes"},
}


class _Page(HTMLParser):
    """The page as a browser's parser splits it: its start tags in order, and each script element."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.scripts: list[tuple[str | None, str]] = []
        self._script_type = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag if tag != "script" else f"script[{a.get('type') or ''}]")
        if tag == "script" and "src" not in a:
            self._script_type = a.get("type") or ""
            self.scripts.append((self._script_type, ""))

    def handle_data(self, data):
        if self._script_type is not None and self.lasttag == "script":
            kind, text = self.scripts[-1]
            self.scripts[-1] = (kind, text + data)

    def handle_endtag(self, tag):
        if tag == "script":
            self._script_type = None

    def executable(self) -> list[str]:
        return [text for kind, text in self.scripts if kind in ("", "text/javascript")]

    def data_strings(self) -> list[str]:
        """Every string held as JSON data in the page's JSON elements."""
        values = [json.loads(text) for kind, text in self.scripts if kind == "application/json"]
        out: list[str] = []

        def walk(v):
            if isinstance(v, str):
                out.append(v)
            elif isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)

        walk(values)
        return out


MAP_KINDS = ["static", "live", "scale", "scale-live", "round", "replay"]


@pytest.mark.parametrize("kind", MAP_KINDS)
def test_hostile_text_reaches_the_page_only_as_data(kind):
    """The page has the structure it has with harmless text; no script carries the text raw; it arrives intact."""
    hostile = _build(kind, HOSTILE).get_root().render()
    harmless = _build(kind, {k: "plain text" for k in HOSTILE}).get_root().render()
    page = _Page(hostile)
    assert page.tags == _Page(harmless).tags  # no element was added, none closed early
    for text in page.executable():
        for pattern in RAW_IN_SCRIPT:
            assert not pattern.search(text), (pattern.pattern, text[max(0, pattern.search(text).start() - 200):][:400])
    strings = [html.unescape(s) for s in page.data_strings()]
    for name in SHOWN[kind]:
        assert any(HOSTILE[name] in s for s in strings), f"{name} did not reach the {kind} map intact"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: no JavaScript parser to check with")
@pytest.mark.parametrize("kind", MAP_KINDS)
def test_every_script_still_parses(kind, tmp_path):
    """One backtick in a name used to end folium's template literal and stop the whole map script."""
    page = _Page(_build(kind, HOSTILE).get_root().render())
    for i, text in enumerate(page.executable()):
        path = tmp_path / f"script{i}.js"
        path.write_text(text, encoding="utf-8")
        out = subprocess.run(["node", "--check", str(path)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr[-2000:]


@pytest.mark.parametrize("kind", MAP_KINDS)
def test_no_template_runs_on_the_server(kind):
    """folium parsed each element's script again as a Jinja template: a name could run Python on the server."""
    payload = "{{ lipsum.__globals__.os.getcwd() }}"
    text = dict(HOSTILE, point_name=payload, crew_name=payload, reference=payload)
    rendered = _build(kind, text).get_root().render()
    assert os.getcwd() not in rendered
    assert any(payload in html.unescape(s) for s in _Page(rendered).data_strings())


def test_a_folium_popup_or_tooltip_is_refused():
    """No builder can bring back folium's own popup or tooltip: rendering such a map fails loudly."""
    for extra in ({"popup": "x"}, {"tooltip": "x"}):
        m = _build("round", HOSTILE)
        folium.Marker([33.6, 114.0], **extra).add_to(m)
        with pytest.raises(UnsafeContentError):
            m.get_root().render()


# --- the same text typed through the API, in Chromium ----------------------------------------------

@pytest.fixture
def hostile_world(app, client, world) -> OpsWorld:
    """The small world with hostile text in LH01's name and county, a crew member's name, the round's
    name, LH01's ATC reference and a report's notes; LH01 manned, cleared and fired, LH02 rejected."""
    w = OpsWorld(client=client, tokens=world.tokens, crew=world.crew, points=world.points)

    def ok(resp, status=(200, 201)):
        assert resp.status_code in status, resp.get_data(as_text=True)
        return resp.json

    ok(w.client.patch("/api/v1/points/LH01", json={"name": HOSTILE["point_name"], "county": HOSTILE["county"]},
                      headers=w.headers("admin")))
    ok(w.post("admin", "/api/v1/ammo/types", {"code": "RKT-AGI", "name": "AgI rocket", "agent": "AgI",
                                              "agent_g_per_unit": 1.2, "placeholder": True}))
    ok(w.post("commander", "/api/v1/ammo/movements", {"point_code": "LH01", "ammo_type": "RKT-AGI", "quantity": 20,
                                                       "kind": "receipt", "reference": "opening stock"}))
    member = ok(w.post("commander", "/api/v1/crew", {
        "name": HOSTILE["crew_name"], "phone": "13900000001", "certificate_no": "CERT-evil",
        "certificate_expires": (date.today() + timedelta(days=400)).isoformat(), "home_point": "LH01"}))
    w.crew["evil"] = member["id"]
    now = now_utc()
    ok(w.post("commander", "/api/v1/shifts", {"point_code": "LH01", "crew_id": member["id"],
                                              "starts_at": (now - timedelta(hours=1)).isoformat(),
                                              "ends_at": (now + timedelta(hours=8)).isoformat(),
                                              "position": "operator"}))
    rnd = ok(w.post("commander", "/api/v1/rounds", {"name": HOSTILE["round_name"], "purpose": "rain_enhancement",
                                                    "planned_start": now.isoformat(),
                                                    "planned_end": (now + timedelta(hours=3)).isoformat(),
                                                    "point_codes": ["LH01", "LH02"]}))
    w.round_id = rnd["id"]
    w.activate()
    for key in ("evil", "ann", "bo"):
        w.arrive(key)
    req = ok(w.request_window("LH01", minutes=60, start=now - timedelta(minutes=1)))
    ok(w.approve(req["id"], now - timedelta(minutes=1), now + timedelta(hours=1), reference=HOSTILE["reference"]))
    rejected = ok(w.request_window("LH02", minutes=30, start=now))
    ok(w.post("commander", f"/api/v1/airspace/{rejected['id']}/decision",
              {"decision": "rejected", "reason": "civil_flight", "reason_detail": HOSTILE["reason"]}))
    ok(w.report("crew1", notes=HOSTILE["notes"]))
    return w


@pytest.fixture
def served(app, hostile_world):
    """The app over HTTP on a free port (no tile server: the maps must not reach the internet)."""
    app.config["OPS_MAP_TILES"] = "none"
    with live.serving(app) as url:
        yield url


browser = live.browser  # the project's Chromium fixture


# Opens every popup and tooltip of the frame's Leaflet maps (the replay at its last time, so that every
# event is drawn) and answers what each showed.
OPEN_ALL = """() => {
  const maps = Object.keys(window).filter(k => /^map_[0-9a-f]+$/.test(k) && window[k] instanceof L.Map)
                                  .map(k => window[k]);
  const texts = [];
  for (const m of maps) {
    m.eachLayer(l => {
      for (const [get, open, close] of [["getPopup", "openPopup", "closePopup"],
                                        ["getTooltip", "openTooltip", "closeTooltip"]]) {
        if (!l[get] || !l[get]()) continue;
        l[open]();
        const el = l[get]().getElement();
        texts.push(el ? el.textContent : "");
        l[close]();
      }
    });
  }
  return texts;
}"""
TO_LAST_TIME = """() => {
  for (const k of Object.keys(window).filter(k => /^map_[0-9a-f]+$/.test(k))) {
    const m = window[k];
    if (m instanceof L.Map && m.timeDimension) {
      const times = m.timeDimension.getAvailableTimes();
      m.timeDimension.setCurrentTime(times[times.length - 1]);
    }
  }
}"""
# Every timed feature of the page's data is on the map.
EVERY_EVENT_DRAWN = """() => {
  const timed = Object.values(OpsMap.data()).filter(v => v && v.type === "FeatureCollection")
                      .flatMap(v => v.features).filter(f => f.properties && f.properties.time).length;
  let drawn = 0;
  for (const k of Object.keys(window).filter(k => /^map_[0-9a-f]+$/.test(k))) {
    if (window[k] instanceof L.Map) {
      window[k].eachLayer(l => { if (l.feature && l.feature.properties && l.feature.properties.time) drawn++; });
    }
  }
  return timed > 0 && drawn === timed;
}"""
DRAWN = "() => typeof L !== 'undefined' && document.querySelectorAll('.leaflet-interactive').length > 0"


def _map_frames(page, frames: int):
    """The frames holding the page's Leaflet maps (the page itself, or each frame it embeds), once drawn."""
    if not frames:
        found = [page.main_frame]
    else:
        page.locator("iframe").nth(frames - 1).wait_for(state="attached", timeout=WAIT_MS)
        found = [page.locator("iframe").nth(i).element_handle().content_frame() for i in range(frames)]
    for frame in found:
        frame.locator(".leaflet-container").wait_for(state="attached", timeout=WAIT_MS)
        frame.wait_for_function(DRAWN, timeout=WAIT_MS)  # Leaflet drew the markers
    return found


def _check_page(browser, url: str, headers: dict, frames: int, replay: set[int], expected: set[str],
                on_page: set[str] = frozenset()):
    context = browser.new_context(extra_http_headers=headers)
    page = context.new_page()
    errors, dialogs = live.script_errors(page), []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        resp = page.goto(url, wait_until="load")
        assert resp is None or resp.status == 200
        texts = []
        try:
            found = _map_frames(page, frames)
        except PlaywrightTimeout as err:
            raise AssertionError(f"no map was drawn; page errors: {errors}") from err
        for i, frame in enumerate(found):
            if i in replay:
                frame.evaluate(TO_LAST_TIME)
                frame.wait_for_function(EVERY_EVENT_DRAWN, timeout=WAIT_MS)
            texts += frame.evaluate(OPEN_ALL)
        shown = "\n".join(texts)
        for name in expected:
            assert HOSTILE[name] in shown, (name, shown[:3000])
        body = page.inner_text("body")
        for name in on_page:
            assert HOSTILE[name] in body, (name, body[:3000])
        for frame in page.frames:
            assert frame.evaluate("() => typeof window.__pwned") == "undefined", frame.url
        assert dialogs == [] and errors == [], (dialogs, errors)
    finally:
        context.close()


# (path, frames holding a map (0: the page itself), which of them is a replay, text in popups, text on the page)
MAP_PAGES = [
    ("/", 1, set(), {"point_name", "reference", "crew_name"}, {"point_name"}),
    ("/maps/status", 0, set(), {"point_name", "reference", "crew_name"}, set()),
    ("/maps/rounds/{rid}", 0, set(), {"point_name", "reference"}, set()),
    ("/maps/rounds/{rid}/replay", 0, {0}, {"point_name", "reference"}, set()),
    ("/api/v1/rounds/{rid}/report?format=html", 1, set(), {"point_name", "reference"}, {"round_name", "reference"}),
]


@pytest.mark.parametrize("path, frames, replay, expected, on_page", MAP_PAGES)
def test_map_pages_show_hostile_text_and_run_none_of_it(browser, served, hostile_world, path, frames, replay,
                                                        expected, on_page):
    """Each page draws its map, raises no error, runs nothing, and its popups show the text as typed."""
    headers = {"Authorization": f"Bearer {hostile_world.tokens['commander']}"}
    _check_page(browser, served + path.format(rid=hostile_world.round_id), headers, frames, replay, expected,
                on_page)


def test_popup_content_is_rebuilt_from_text(browser):
    """Markup that reached a popup unescaped is shown as text or dropped; nothing in it loads or runs."""
    page = browser.new_page()
    try:
        page.set_content("<!doctype html><body></body>")
        page.add_script_tag(content=OPSMAP_JS)
        out = page.evaluate("""() => {
          const el = OpsMap.html(
            '<b style="color:red">ok</b><img src=x onerror="window.__pwned=1">' +
            '<script>window.__pwned=1</script><a href="javascript:window.__pwned=1">a</a>' +
            '<svg onload="window.__pwned=1"></svg><table><tr><td onclick="x()">t</td></tr></table>');
          document.body.appendChild(el);
          return {html: el.innerHTML, pwned: typeof window.__pwned};
        }""")
    finally:
        page.close()
    assert out["pwned"] == "undefined"
    assert out["html"] == ('<b style="color:red">ok</b>window.__pwned=1a'
                           '<table><tbody><tr><td>t</td></tr></tbody></table>'), out["html"]


def test_archive_file_shows_hostile_text_and_runs_none_of_it(browser, hostile_world, runner, tmp_path):
    """The archive file (map and replay inlined, opened with no server) likewise."""
    out = tmp_path / f"round-{uuid.uuid4().hex[:6]}.html"
    result = runner.invoke(args=["ops", "archive-round", str(hostile_world.round_id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    _check_page(browser, out.as_uri(), {}, 2, {1}, {"point_name", "reference"})
