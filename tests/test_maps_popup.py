"""One popup per point: every way the status map draws a point shows the same popup, in Chromium.

The static map, the live map (first from the data it was built from, then after a poll of the full
feed) and both at scale are opened in Debian's Chromium from the built page alone (no app: the page,
its /vendor files and the feed are answered by Playwright routes) with the clock fixed, and each
point's popup is compared as the browser shows it. Two builders (one in Python, one in the page's
JavaScript) drift apart, and this fails.
"""

import json
from datetime import datetime, timezone
from urllib.parse import urlsplit

from maps import build_status_map
from maps.assets import NODE_MODULES

from .helpers import live
from .test_maps import status_fixture

ORIGIN = "http://maps.test"
FEED = ORIGIN + "/feed"
NOW = datetime(2025, 7, 1, 13, 28, tzinfo=timezone.utc)  # the fixture's window ends 12 minutes later
WAIT_MS = 15000

browser = live.browser

# Each point marker's popup as shown (opened, read, closed), keyed by its position.
POPUPS = """() => {
  const out = {};
  for (const k of Object.keys(window).filter(k => /^map_[0-9a-f]+$/.test(k))) {
    const m = window[k];
    if (!(m instanceof L.Map)) continue;
    m.eachLayer(l => {
      if (!(l instanceof L.CircleMarker) || !l.getPopup || !l.getPopup()) return;
      l.openPopup();
      const ll = l.getLatLng();
      out[ll.lat.toFixed(6) + "," + ll.lng.toFixed(6)] =
        l.getPopup().getElement().querySelector(".leaflet-popup-content").innerHTML;
      l.closePopup();
    });
  }
  return out;
}"""
POINTS_DRAWN = """(n) => typeof L !== "undefined" &&
  Object.keys(window).filter(k => /^map_[0-9a-f]+$/.test(k) && window[k] instanceof L.Map)
    .some(k => { let c = 0; window[k].eachLayer(l => { if (l instanceof L.CircleMarker) c++; }); return c >= n; })"""
# Every point's marker holds a feature from the polled feed (max_height_m is in the feed, not the page).
UPDATED = """(n) => {
  let c = 0;
  for (const k of Object.keys(window).filter(k => /^map_[0-9a-f]+$/.test(k) && window[k] instanceof L.Map)) {
    window[k].eachLayer(l => { if (l.feature && l.feature.properties && "max_height_m" in l.feature.properties) c++; });
  }
  return c >= n;
}"""


def _answer(route, page_html: str, feed: dict | None) -> None:
    """The page, its /vendor files from node_modules, and the feed (one version: one ETag)."""
    path = urlsplit(route.request.url).path
    if path == "/map":
        route.fulfill(status=200, content_type="text/html", body=page_html)
    elif path == "/feed" and feed is not None:
        route.fulfill(status=200, content_type="application/geo+json", body=json.dumps(feed),
                      headers={"ETag": 'W/"1"'})
    elif path.startswith("/vendor/") and (NODE_MODULES / path[len("/vendor/"):]).is_file():
        route.fulfill(status=200, path=str(NODE_MODULES / path[len("/vendor/"):]))
    else:
        route.fulfill(status=404, body="")


def _open(browser, page_html: str, feed: dict | None = None) -> dict[str, str]:
    """The popups of the map ``page_html``, once drawn (and, given ``feed``, once a poll answered it)."""
    context = browser.new_context()
    page = context.new_page()
    errors = live.script_errors(page)
    try:
        page.clock.set_fixed_time(NOW)
        page.route(ORIGIN + "/**", lambda route: _answer(route, page_html, feed))
        page.goto(ORIGIN + "/map", wait_until="load")
        n = len(feed["features"]) if feed else 1
        page.wait_for_function(POINTS_DRAWN, arg=n, timeout=WAIT_MS)
        if feed is not None:
            page.wait_for_function(UPDATED, arg=n, timeout=WAIT_MS)
        popups = page.evaluate(POPUPS)
        assert errors == [], errors
        return popups
    finally:
        context.close()


def test_a_point_shows_one_popup_however_the_map_draws_it(browser):
    """Static, live (before and after a poll of the full feed), and at scale: the same popup, point by point."""
    fc = status_fixture()
    n = len(fc["features"])
    options = {"tiles": None, "lang": "en"}
    static = _open(browser, build_status_map(fc, **options).get_root().render())
    assert len(static) == n
    lh04 = static["33.450000,113.900000"]
    assert "Wuyang Ridge" in lh04 and "12 min" in lh04 and "below minimum" in lh04, lh04
    pages = {
        "live, as built": (build_status_map(fc, realtime_url=FEED, interval_ms=60_000, **options), None),
        "live, after a poll": (build_status_map(fc, realtime_url=FEED, interval_ms=200, **options), fc),
        "at scale": (build_status_map(fc, scale_threshold=1, cluster=False, **options), None),
        "at scale, after a poll": (build_status_map(fc, realtime_url=FEED, interval_ms=200, scale_threshold=1,
                                                    cluster=False, **options), fc),
    }
    for name, (m, feed) in pages.items():
        shown = _open(browser, m.get_root().render(), feed)
        assert shown.keys() == static.keys(), name
        for where, text in static.items():
            assert shown[where] == text, (name, where, shown[where], text)


# Leaflet Realtime counts its polls and keeps only the answer to the latest one.
POLLED = """(n) => Object.keys(window).some(k => /^realtime_[0-9a-f]+$/.test(k) && window[k]._requestCount >= n)"""


def test_a_feed_slower_than_the_poll_still_lands(browser):
    """Polls that overtook a slow answer made Leaflet Realtime drop it, and the ETag kept from it then made
    every later answer "unchanged": the markers never updated. One request at a time, answered to the latest poll."""
    fc = status_fixture()
    n = len(fc["features"])
    page_html = build_status_map(fc, tiles=None, lang="en", realtime_url=FEED, interval_ms=100).get_root().render()
    held = []

    def answer(route):
        if urlsplit(route.request.url).path == "/feed" and not released:
            held.append(route)  # answered below, after later polls have started
        else:
            _answer(route, page_html, fc)

    released = False
    context = browser.new_context()
    page = context.new_page()
    errors = live.script_errors(page)
    try:
        page.route(ORIGIN + "/**", answer)
        page.goto(ORIGIN + "/map", wait_until="load")
        page.wait_for_function(POINTS_DRAWN, arg=n, timeout=WAIT_MS)
        page.wait_for_function(POLLED, arg=5, timeout=WAIT_MS)
        released = True
        for route in held:
            _answer(route, page_html, fc)
        page.wait_for_function(UPDATED, arg=n, timeout=WAIT_MS)
        assert errors == [], errors
    finally:
        context.close()


def test_a_chinese_popup_names_alerts_in_words(browser):
    """The status popup's alerts in the reader's language: the type's name and its severity, never the API's
    codes (`understaffed (critical)` in a Chinese popup)."""
    shown = _open(browser, build_status_map(status_fixture(), tiles=None, lang="zh").get_root().render())
    with_alert = [text for text in shown.values() if "告警" in text]
    assert with_alert, shown
    for text in with_alert:
        row = text.split("告警", 1)[1]  # the alerts' row (the fixture's flags are labelled by the server)
        assert "人员不足" in row and "严重" in row, row
        assert "understaffed" not in row and "critical" not in row, row
