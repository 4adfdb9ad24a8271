"""The regional summary (`GET /api/v1/status/summary?by=county|city|province`) and the points' regions.

The summary's counts are checked against the map's own data: the features of `/api/v1/status.geojson` (state,
flags, alerts, position) and the active alerts of `/api/v1/alerts`, grouped by each point's region as
`/api/v1/points` serves it. The points' `province` and `city` are checked through the API and the admin form.
"""

import pytest

from opsserver.operations.state import COLOURS
from opsserver.status.summary import STATES

from .helpers.pages import csrf_token, sign_in
from .helpers.problems import assert_problem
from .helpers.world import point_data

HENAN, HEBEI = "河南省", "河北省"
ROLES = ["crew1", "commander", "auditor", "admin"]


# --- helpers -------------------------------------------------------------------------------------

def patch(w, code: str, **fields) -> dict:
    resp = w.client.patch(f"/api/v1/points/{code}", json=fields, headers=w.headers("admin"))
    assert resp.status_code == 200, resp.json
    return resp.json


def add_point(w, code: str, **fields) -> dict:
    resp = w.post("admin", "/api/v1/points", point_data(code, **fields))
    assert resp.status_code == 201, resp.json
    return resp.json


def summary(w, by: str | None = "county", who: str = "commander") -> dict:
    resp = w.get(who, "/api/v1/status/summary" + (f"?by={by}" if by else ""))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.json


def national(w):
    """Four points in two provinces (and one in none): LH01 漯河 (Henan) done, with a flagged report (a
    critical alert); LH02 郑州 (Henan) ordered and understaffed (a warning); LH03 石家庄 (Hebei) idle; LH04 in
    the Yancheng county of no city or province, idle."""
    patch(w, "LH01", province=HENAN, city="漯河市")
    patch(w, "LH02", province=HENAN, city="郑州市", county="中原区")
    add_point(w, "LH03", province=HEBEI, city="石家庄市", county="长安区", latitude=38.04, longitude=114.51)
    add_point(w, "LH04", latitude=33.40, longitude=113.90)  # county Yancheng, no city, no province
    w.activate()
    for key in ("ann", "bo", "cai"):
        w.arrive(key)
    assert w.report(azimuth=200.0).status_code == 201  # no airspace, outside the sector: critical


def expected(w, by: str) -> dict:
    """The summary computed from the map's features, the active alerts and the points' regions."""
    features = w.get("commander", "/api/v1/status.geojson").json["features"]
    alerts = w.get("commander", "/api/v1/alerts").json["items"]
    points = {p["code"]: p for p in w.get("commander", "/api/v1/points?limit=100").json["items"]}
    enclosing = {"province": (), "city": ("province",), "county": ("province", "city")}[by]
    regions: dict[tuple, dict] = {}
    for f in features:
        props = f["properties"]
        point = points[props["code"]]
        key = (*(point[k] for k in enclosing), point[by])
        r = regions.setdefault(key, {"points": [], "states": dict.fromkeys(STATES, 0), "flagged": 0,
                                     "alerts": {"total": 0, "critical": 0, "warning": 0, "info": 0}})
        r["points"].append(f["geometry"]["coordinates"])
        r["states"][props["state"]] += 1
        r["flagged"] += bool(props["flags"] or props["alerts"])
        for a in alerts:
            if a["point_code"] == props["code"]:
                r["alerts"]["total"] += 1
                r["alerts"][a["severity"]] += 1
    return regions


def by_key(body: dict) -> dict:
    enclosing = {"province": (), "city": ("province",), "county": ("province", "city")}[body["by"]]
    return {(*(r[k] for k in enclosing), r["region"]): r for r in body["regions"]}


# --- the counts are the map's -------------------------------------------------------------------

@pytest.mark.parametrize("by", ["county", "city", "province"])
def test_summary_counts_are_the_maps(ops_world, by):
    """Per region: the points of the feed in it, their states, the flagged ones and their active alerts by
    severity; the totals are the same over every point, and each region's box holds its points."""
    w = ops_world
    national(w)
    body = summary(w, by)
    assert body["by"] == by and body["generated_at"]
    want = expected(w, by)
    got = by_key(body)
    assert set(got) == set(want)
    for key, r in got.items():
        assert r["points"] == len(want[key]["points"]), key
        assert r["states"] == want[key]["states"], key
        assert r["flagged"] == want[key]["flagged"], key
        assert r["alerts"] == want[key]["alerts"], key
        lons, lats = zip(*want[key]["points"])
        assert r["bbox"] == [min(lons), min(lats), max(lons), max(lats)]
        assert r["bbox"][0] <= r["centre"][0] <= r["bbox"][2] and r["bbox"][1] <= r["centre"][1] <= r["bbox"][3]
    totals = body["totals"]
    assert totals["points"] == 4 == sum(r["points"] for r in body["regions"])
    for state in STATES:
        assert totals["states"][state] == sum(r["states"][state] for r in body["regions"])
    assert totals["alerts"] == {k: sum(r["alerts"][k] for r in body["regions"]) for k in totals["alerts"]}
    assert totals["flagged"] == sum(r["flagged"] for r in body["regions"])
    # what this world holds: LH01 done (it reported) with a critical alert, LH02 ordered, LH03 and LH04 idle
    assert totals["states"]["done"] == 1 and totals["states"]["ordered"] == 1 and totals["states"]["idle"] == 2
    assert totals["alerts"]["critical"] >= 1
    # the region with the critical alert (LH01's) comes first
    assert body["regions"][0]["alerts"]["critical"] >= 1
    assert body["regions"][0]["region"] == {"county": "Yancheng", "city": "漯河市", "province": HENAN}[by]


def test_every_state_is_counted_even_at_zero(ops_world):
    """Each region names every state of the SPEC (and idle), so a screen needs no default."""
    assert set(STATES) == set(COLOURS)
    body = summary(ops_world, "province")
    for r in [*body["regions"], body["totals"]]:
        assert set(r["states"]) == set(STATES)
    assert body["totals"]["states"]["idle"] == 2 and body["totals"]["points"] == 2


def test_by_province_and_city_group_and_name_the_enclosing_regions(ops_world):
    w = ops_world
    national(w)
    provinces = by_key(summary(w, "province"))
    assert {k: r["points"] for k, r in provinces.items()} == {(HENAN,): 2, (HEBEI,): 1, (None,): 1}
    assert provinces[(HENAN,)]["province"] == HENAN and provinces[(HENAN,)]["city"] is None
    cities = by_key(summary(w, "city"))
    assert {k: r["points"] for k, r in cities.items()} == {
        (HENAN, "漯河市"): 1, (HENAN, "郑州市"): 1, (HEBEI, "石家庄市"): 1, (None, None): 1}
    counties = by_key(summary(w, "county"))
    # LH01 and LH04 share the county name Yancheng but not the city: two regions
    assert set(counties) == {(HENAN, "漯河市", "Yancheng"), (HENAN, "郑州市", "中原区"),
                             (HEBEI, "石家庄市", "长安区"), (None, None, "Yancheng")}
    assert counties[(HENAN, "郑州市", "中原区")]["alerts"]["warning"] >= 1  # LH02 below its minimum crew


def test_a_point_without_a_province_lands_in_the_null_region(ops_world):
    """LH04 has no province (nor city): it is counted in the region `null`, last among equals."""
    w = ops_world
    national(w)
    body = summary(w, "province")
    null = [r for r in body["regions"] if r["region"] is None]
    assert len(null) == 1 and null[0]["points"] == 1 and null[0]["states"]["idle"] == 1
    assert null[0]["bbox"] == [113.90, 33.40, 113.90, 33.40] and null[0]["centre"] == [113.90, 33.40]
    assert body["regions"][-1]["region"] is None


def test_an_acknowledged_alert_leaves_the_summary(ops_world):
    """The alerts counted are the active ones: acknowledging the critical one takes it out."""
    w = ops_world
    national(w)
    before = by_key(summary(w, "province"))[(HENAN,)]["alerts"]
    critical = [a for a in w.get("commander", "/api/v1/alerts").json["items"] if a["severity"] == "critical"]
    for a in critical:
        assert w.post("commander", f"/api/v1/alerts/{a['id']}/ack", {"note": "seen"}).status_code == 200
    after = by_key(summary(w, "province"))[(HENAN,)]["alerts"]
    assert after["critical"] == before["critical"] - len(critical) == 0
    assert after["total"] == before["total"] - len(critical)
    want = expected(w, "province")[(HENAN,)]
    assert after == want["alerts"]


def test_by_defaults_to_county(ops_world):
    assert summary(ops_world, None)["by"] == "county"


@pytest.mark.parametrize("by", ["country", "township", "", "County"])
def test_an_unknown_level_is_refused_naming_by(ops_world, by):
    resp = ops_world.get("commander", f"/api/v1/status/summary?by={by}")
    assert_problem(resp, 422, "by", location="query")


@pytest.mark.parametrize("who", ROLES)
def test_every_role_reads_the_summary(ops_world, who):
    body = summary(ops_world, "county", who)
    assert body["totals"]["points"] == 2


def test_the_summary_needs_a_token(ops_world):
    assert ops_world.client.get("/api/v1/status/summary").status_code == 401


# --- the points' regions -------------------------------------------------------------------------

def test_a_point_carries_its_province_and_city(ops_world):
    w = ops_world
    made = add_point(w, "LH05", province=HENAN, city="漯河市")
    assert (made["province"], made["city"]) == (HENAN, "漯河市")
    one = w.get("crew1", "/api/v1/points/LH05").json
    assert (one["province"], one["city"]) == (HENAN, "漯河市")
    changed = patch(w, "LH05", city="郑州市")
    assert (changed["province"], changed["city"]) == (HENAN, "郑州市")
    cleared = patch(w, "LH05", province=None, city=None)
    assert (cleared["province"], cleared["city"]) == (None, None)
    plain = w.get("crew1", "/api/v1/points/LH01").json
    assert plain["province"] is None and plain["city"] is None  # optional: a point made without them


@pytest.mark.parametrize("field", ["province", "city"])
def test_a_region_name_too_long_or_with_a_control_character_is_refused(ops_world, rows, field):
    w = ops_world
    before = rows()
    resp = w.post("admin", "/api/v1/points", point_data("LH06", **{field: "省" * 81}))
    assert_problem(resp, 422, field)
    resp = w.client.patch("/api/v1/points/LH01", json={field: "河南\x00"}, headers=w.headers("admin"))
    assert_problem(resp, 422, field)
    resp = w.client.patch("/api/v1/points/LH01", json={field: "省" * 81}, headers=w.headers("admin"))
    assert_problem(resp, 422, field)
    assert rows() == before


def test_points_filter_by_province_city_and_county(ops_world):
    w = ops_world
    national(w)

    def codes(query: str) -> list[str]:
        resp = w.get("auditor", f"/api/v1/points?{query}")
        assert resp.status_code == 200, resp.json
        return [p["code"] for p in resp.json["items"]]

    assert codes(f"province={HENAN}") == ["LH01", "LH02"]
    assert codes(f"province={HEBEI}") == ["LH03"]
    assert codes("city=郑州市") == ["LH02"]
    assert codes("county=Yancheng") == ["LH01", "LH04"]
    assert codes(f"province={HENAN}&county=Yancheng") == ["LH01"]
    assert codes("city=开封市") == []


def test_the_admin_form_edits_province_and_city(app, ops_world):
    client = app.test_client()
    assert sign_in(client, "admin", "password-admin").status_code == 302
    page = client.get("/admin/points/LH01").get_data(as_text=True)
    assert 'name="province"' in page and 'name="city"' in page and "省份" in page and "地市" in page
    form = {"name": "Test point LH01", "county": "Yancheng", "township": "", "city": "漯河市", "province": HENAN,
            "latitude": "33.58", "longitude": "114.02", "elevation_m": "60", "equipment": "rocket",
            "launchers": "2", "sector_start_deg": "300", "sector_end_deg": "40", "max_range_km": "7",
            "max_height_m": "7000", "geofence_m": "500", "min_crew": "3", "active": "y"}
    resp = client.post("/admin/points/LH01", data={**form, "csrf_token": csrf_token(client, "/admin/points/LH01")})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    point = ops_world.get("admin", "/api/v1/points/LH01").json
    assert (point["province"], point["city"]) == (HENAN, "漯河市")
    form.update(city="", province="")  # blank clears them, like the township
    resp = client.post("/admin/points/LH01", data={**form, "csrf_token": csrf_token(client, "/admin/points/LH01")})
    assert resp.status_code == 302
    point = ops_world.get("admin", "/api/v1/points/LH01").json
    assert (point["province"], point["city"]) == (None, None)


# --- the demo and the synthetic national set -----------------------------------------------------

def test_the_demo_points_lie_in_luohe_henan(app, runner, client):
    assert runner.invoke(args=["ops", "seed-demo"]).exit_code == 0
    token = client.post("/api/v1/auth/token", json={"username": "auditor", "password": "auditor-demo-pass"}).json
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    points = client.get("/api/v1/points?limit=100", headers=headers).json["items"]
    assert len(points) == 18 and {(p["province"], p["city"]) for p in points} == {(HENAN, "漯河市")}
    body = client.get("/api/v1/status/summary?by=city", headers=headers).json
    assert [(r["province"], r["region"], r["points"]) for r in body["regions"]] == [(HENAN, "漯河市", 18)]
    counties = client.get("/api/v1/status/summary?by=county", headers=headers).json["regions"]
    assert {r["region"] for r in counties} == {"Yuanhui", "Yancheng", "Shaoling", "Wuyang", "Linying"}


def test_synthetic_points_cluster_in_provinces_cities_and_counties(app, runner, client):
    """20 provinces × 3 cities × 4 counties, each point near its county's centre."""
    from opsserver.demo.synthetic import COUNTIES, PROVINCES, REGIONS, region_of

    assert len(PROVINCES) == 20 and all(len(cities) == 3 for cities in REGIONS.values()) and len(COUNTIES) == 4
    assert runner.invoke(args=["ops", "seed-synthetic", "--points", "240", "--crew", "240", "--rounds", "1",
                               "--reports-per-round", "1"]).exit_code == 0
    token = client.post("/api/v1/auth/token", json={"username": "syn-commander-00",
                                                   "password": "synthetic-pass"}).json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    points = []
    url = "/api/v1/points?limit=100"
    while url:
        page = client.get(url, headers=headers).json
        points += page["items"]
        url = page["next_cursor"] and f"/api/v1/points?limit=100&cursor={page['next_cursor']}"
    assert len(points) == 240
    assert len({p["province"] for p in points}) == 20
    assert len({(p["province"], p["city"]) for p in points}) == 60
    assert len({(p["province"], p["city"], p["county"]) for p in points}) == 240
    for p in points:
        province, city, county, lat, lon = region_of(int(p["code"][3:]))
        assert (p["province"], p["city"], p["county"]) == (province, city, county)
        assert abs(p["latitude"] - lat) < 0.5 and abs(p["longitude"] - lon) < 0.5
    body = client.get("/api/v1/status/summary?by=province", headers=headers).json
    assert {r["region"] for r in body["regions"]} == set(PROVINCES)
    assert all(r["points"] == 12 for r in body["regions"])
