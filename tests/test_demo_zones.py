"""The Luohe demo's invented no-fire zones: seeded through the zone services and marked demo data; exactly the
two sectors that reach one conflict (LH02's school, LH15's airfield), and the drill's mid-sector firing at
LH02 is flagged `no_fire_zone`, its reason naming the school, in the reader's language."""

from collections import Counter

import time_machine

from opsserver.database.utc import now_utc
from opsserver.demo.seed import load_data

from .test_drill import SHANGHAI

SCHOOL = "示范数据：空冢郭小学"
AIRFIELD = "示范数据：虚构通用机场净空区"
CODES = [f"LH{n:02d}" for n in range(1, 19)]


def _headers(client, who: str = "auditor", lang: str | None = None) -> dict:
    token = client.post("/api/v1/auth/token", json={"username": who,
                                                    "password": f"{who}-demo-pass"}).json["access_token"]
    return {"Authorization": f"Bearer {token}", **({"Accept-Language": lang} if lang else {})}


def test_the_demo_zones_are_seeded_as_demo_data(runner, client):
    """seed-demo stores the file's zones: every kind the demo shows, polygons, points and lines, each marked
    `source: demo` and named as demo data; the airfield's clearance zone has a 1 km buffer."""
    data = load_data()
    assert runner.invoke(args=["ops", "seed-demo"]).exit_code == 0
    zones = client.get("/api/v1/zones?limit=100", headers=_headers(client)).json["items"]
    assert len(zones) == len(data["zones"]) >= 10
    assert {z["name"] for z in zones} == {f["properties"]["name"] for f in data["zones"]}
    assert all(z["source"] == "demo" and z["active"] and z["name"].startswith("示范数据：") for z in zones)
    assert all("DEMO" in z["notes"] for z in zones)
    kinds = Counter(z["kind"] for z in zones)
    assert {"school", "town", "village", "hospital", "oil_depot", "airport", "highway", "railway"} <= set(kinds)
    assert kinds["school"] >= 2
    assert {"Polygon", "Point", "LineString"} <= {z["geometry"]["type"] for z in zones}
    by_name = {z["name"]: z for z in zones}
    assert by_name[AIRFIELD]["kind"] == "airport" and by_name[AIRFIELD]["buffer_m"] == 1000
    assert all(z["buffer_m"] == 200 for z in zones if z["kind"] in ("school", "highway", "railway"))


def test_exactly_two_sectors_reach_a_demo_zone(runner, client):
    """LH02's sector holds the school and LH15's reaches the airfield's clearance zone; every other point is
    clear, though most have a zone in range outside their sector (listed, not a conflict)."""
    assert runner.invoke(args=["ops", "seed-demo"]).exit_code == 0
    h = _headers(client)
    listed = {code: client.get(f"/api/v1/points/{code}/zones", headers=h).json["items"] for code in CODES}
    conflicts = {code: [i["name"] for i in items if i["conflict"]] for code, items in listed.items()}
    assert {code for code, names in conflicts.items() if names} == {"LH02", "LH15"}
    assert conflicts["LH02"] == [SCHOOL] and conflicts["LH15"] == [AIRFIELD]
    school = next(i for i in listed["LH02"] if i["name"] == SCHOOL)
    assert school["in_sector"] and school["kind"] == "school" and 2500 < school["distance_m"] < 3500
    assert 150 <= school["bearing_deg"] <= 300  # inside LH02's sector, 150° → 300°
    clear_but_near = [code for code, items in listed.items() if items and not conflicts[code]]
    assert len(clear_but_near) >= 8
    assert all(not i["in_sector"] for code in clear_but_near for i in listed[code])
    alerts = client.get("/api/v1/alerts", headers=h).json["items"]
    assert sorted(a["point_code"] for a in alerts if a["type"] == "zone_conflict") == ["LH02", "LH15"]


def test_the_drill_fires_across_the_school(app, runner, client):
    """The drill's firing at LH02, along the middle of its sector, passes within the school's buffer: that
    report (and only that one) carries `no_fire_zone`, its reason naming the school and its kind, in Chinese
    by default and in English when asked; clearance at that azimuth says no for the same reason."""
    local = now_utc().astimezone(SHANGHAI).replace(hour=10, minute=0, second=0, microsecond=0)
    with time_machine.travel(local, tick=True):
        assert runner.invoke(args=["ops", "seed-demo"]).exit_code == 0
        result = runner.invoke(args=["ops", "drill"])
        assert result.exit_code == 0, result.output
        h = _headers(client)
        reports = client.get("/api/v1/rounds/1/reports", headers=h).json["items"]
        flagged = [r for r in reports if "no_fire_zone" in {f["code"] for f in r["flags"]}]
        assert [r["point_code"] for r in flagged] == ["LH02"]
        flag = next(f for f in flagged[0]["flags"] if f["code"] == "no_fire_zone")
        assert SCHOOL in flag["reason"] and "学校" in flag["reason"] and flag["label"] == "禁射区"
        english = client.get("/api/v1/rounds/1/reports", headers=_headers(client, lang="en")).json["items"]
        flag_en = next(f for r in english if r["id"] == flagged[0]["id"] for f in r["flags"]
                       if f["code"] == "no_fire_zone")
        assert SCHOOL in flag_en["reason"] and "school" in flag_en["reason"] and "buffer" in flag_en["reason"]
        assert any(not r["flags"] for r in reports)  # LH01 still fires clean
        answer = client.get(f"/api/v1/points/LH02/clearance?azimuth={flagged[0]['azimuth_deg']}", headers=h).json
        assert answer["cleared"] is False
        reason = next(r for r in answer["reasons"] if r["code"] == "no_fire_zone")
        assert SCHOOL in reason["reason"]
        lh01 = client.get("/api/v1/points/LH01/clearance?azimuth=260", headers=h).json
        assert "no_fire_zone" not in {r["code"] for r in lh01["reasons"]}
