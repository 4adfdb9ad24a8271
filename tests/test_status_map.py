"""The status map as the app serves it: the feed carries the minimum-crew verdict (the rules package's),
and the live map's popups, built in the browser from the feed, show it and follow it as crews arrive.
"""

import pytest

import rules
from maps.labels import labels_for

from .helpers import live

BELOW = labels_for("zh")["below_minimum"]  # the pages are Chinese unless the session chose English
WAIT_MS = 20000  # the map polls every 5 s


def feed(w) -> dict:
    resp = w.get("commander", "/api/v1/status.geojson")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return {f["id"]: f["properties"] for f in resp.json["features"]}


def test_the_feed_says_which_points_are_below_their_minimum_crew(ops_world):
    """`below_min_crew` is rules.understaffed of the certified crew on site and the point's minimum."""
    w = ops_world
    w.activate()
    for key in ("ann", "bo"):
        w.arrive(key)
    props = feed(w)
    assert (props["LH01"]["crew_on_site"], props["LH01"]["min_crew"], props["LH01"]["below_min_crew"]) == (2, 3, True)
    assert (props["LH02"]["crew_on_site"], props["LH02"]["below_min_crew"]) == (0, True)
    w.arrive("cai")
    props = feed(w)
    assert (props["LH01"]["crew_on_site"], props["LH01"]["below_min_crew"]) == (3, False)
    for p in props.values():
        assert p["below_min_crew"] is rules.understaffed(p["crew_on_site"], p["min_crew"])
    status = w.get("commander", "/api/v1/status").json
    assert {p["code"]: p["below_min_crew"] for p in status["points"]} == {"LH01": False, "LH02": True}


browser = live.browser

POPUP_OF = """(code) => {
  for (const k of Object.keys(window).filter(k => /^map_[0-9a-f]+$/.test(k) && window[k] instanceof L.Map)) {
    let text = null;
    window[k].eachLayer(l => {
      if (text === null && l.feature && l.feature.id === code && l.getPopup && l.getPopup()) {
        l.openPopup();
        text = l.getPopup().getElement().textContent;
        l.closePopup();
      }
    });
    if (text !== null) return text;
  }
  return null;
}"""


@pytest.fixture
def served(app, ops_world):
    app.config["OPS_MAP_TILES"] = "none"
    with live.serving(app) as url:
        yield url


def test_the_live_map_shows_the_verdict_and_follows_the_feed(browser, served, ops_world):
    """LH01 short of crew says so in its popup; once a third crew member arrives, the next poll clears it."""
    w = ops_world
    w.activate()
    for key in ("ann", "bo"):
        w.arrive(key)
    context = browser.new_context(extra_http_headers=w.headers("commander"))
    page = context.new_page()
    errors = live.script_errors(page)
    try:
        page.goto(served + "/maps/status", wait_until="load")
        page.wait_for_function("(code) => (" + POPUP_OF + ")(code) !== null", arg="LH01", timeout=WAIT_MS)
        lh01 = page.evaluate(POPUP_OF, "LH01")
        assert BELOW in lh01 and "2 / 3" in lh01, lh01
        assert BELOW in page.evaluate(POPUP_OF, "LH02")
        w.arrive("cai")
        page.wait_for_function("([code, below]) => !(" + POPUP_OF + ")(code).includes(below)", arg=["LH01", BELOW],
                               timeout=WAIT_MS)
        assert "3 / 3" in page.evaluate(POPUP_OF, "LH01")
        assert errors == [], errors
    finally:
        context.close()
