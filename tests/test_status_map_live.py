"""The live status map in Chromium applies the delta feed in place: its polls ask `?since=` the version the
page was built at, a changed point is updated, a deactivated one taken off the map, with no reload and no
script error."""

from .helpers import live

FEATURE = """([code]) => {
  const key = Object.keys(window).find((k) => k.startsWith("realtime_"));
  const f = window[key].getFeature(code);
  return f ? f.properties.name : null;
}"""


@live.needs_chromium
def test_the_live_map_applies_deltas_in_place(app, ops_world):
    asked = []
    with live.serving(app) as base, live.chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(25000)
        errors = live.script_errors(page)
        page.on("request", lambda r: asked.append(r.url) if "status.geojson" in r.url else None)
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "commander")
        page.fill("input[name=password]", "password-commander")
        page.locator("form button[type=submit]").first.click()
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/maps/status")
        page.wait_for_function(FEATURE, arg=["LH02"])
        admin = ops_world.headers("admin")
        resp = ops_world.client.patch("/api/v1/points/LH01", json={"name": "改名 <i>x</i>"}, headers=admin)
        assert resp.status_code == 200, resp.json
        page.wait_for_function(f"(a) => ({FEATURE})(a) === '改名 <i>x</i>'", arg=["LH01"])
        resp = ops_world.client.patch("/api/v1/points/LH02", json={"active": False}, headers=admin)
        assert resp.status_code == 200, resp.json
        page.wait_for_function(f"(a) => ({FEATURE})(a) === null", arg=["LH02"])
        assert page.evaluate(FEATURE, ["LH01"]) == "改名 <i>x</i>"  # the rest stays
    assert asked and all("since=" in url for url in asked), asked
    assert not errors, errors
