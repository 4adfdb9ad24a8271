"""No-fire zones through the API: recorded, changed and deactivated (never deleted) with their audit events;
bad geometry and bad imports refused naming the feature and writing nothing; clearance refused and a report
flagged `no_fire_zone`; a point's zones, its conflicts and their alert, updated at once by an edit."""

import json

import pytest
from geographiclib.geodesic import Geodesic

from .helpers.problems import assert_problem
from .helpers.world import POSITIONS

G = Geodesic.WGS84
LAT, LON = POSITIONS["LH01"]  # LH01: sector 300° → 40° (across north), range 7 km


def toward(azimuth: float, distance: float) -> list[float]:
    d = G.Direct(LAT, LON, azimuth, distance)
    return [d["lon2"], d["lat2"]]


def school(azimuth: float = 10.0, distance: float = 3000.0, **extra) -> dict:
    return {"name": "示范小学", "kind": "school", "geometry": {"type": "Point", "coordinates": toward(azimuth, distance)},
            **extra}


def square(azimuth: float, distance: float, half_deg: float = 0.002) -> dict:
    lon, lat = toward(azimuth, distance)
    ring = [[lon - half_deg, lat - half_deg], [lon + half_deg, lat - half_deg], [lon + half_deg, lat + half_deg],
            [lon - half_deg, lat + half_deg], [lon - half_deg, lat - half_deg]]
    return {"type": "Polygon", "coordinates": [ring]}


def create(w, body: dict, who: str = "admin"):
    return w.client.post("/api/v1/zones", json=body, headers=w.headers(who))


def audit_actions(w) -> list[str]:
    resp = w.client.get("/api/v1/audit/events", query_string={"limit": 1000}, headers=w.headers("auditor"))
    return [e["action"] for e in resp.json["items"]]


def test_a_zone_is_recorded_changed_and_deactivated_with_its_audit_events(world):
    resp = create(world, school())
    assert resp.status_code == 201, resp.json
    zone = resp.json
    assert zone["buffer_m"] == 200 and zone["active"] is True and zone["label"] == "学校"
    resp = world.client.patch(f"/api/v1/zones/{zone['id']}", json={"buffer_m": 500, "active": False},
                              headers=world.headers("admin"))
    assert resp.status_code == 200 and resp.json["active"] is False and resp.json["buffer_m"] == 500
    got = world.client.get(f"/api/v1/zones/{zone['id']}", headers=world.headers("crew1"))
    assert got.status_code == 200 and got.json["active"] is False  # kept on record
    listed = world.client.get("/api/v1/zones", query_string={"active": "false"}, headers=world.headers("commander"))
    assert [z["id"] for z in listed.json["items"]] == [zone["id"]]
    assert audit_actions(world).count("zone.create") == 1 and audit_actions(world).count("zone.update") == 1
    assert world.client.delete(f"/api/v1/zones/{zone['id']}", headers=world.headers("admin")).status_code == 405
    assert_problem(world.client.get("/api/v1/zones/999", headers=world.headers("admin")), 404)
    for huge in (2**31, 1795553706673):  # past PostgreSQL's integer: still a 404, not a 500
        assert_problem(world.client.get(f"/api/v1/zones/{huge}", headers=world.headers("admin")), 404)
        assert_problem(world.client.patch(f"/api/v1/zones/{huge}", json={}, headers=world.headers("admin")), 404)


@pytest.mark.parametrize("geometry, says", [
    ({"type": "Polygon", "coordinates": [[[114.0, 33.5], [114.01, 33.5], [114.01, 33.51], [114.0, 33.51]]]},
     "not closed"),
    ({"type": "Polygon", "coordinates": [[[114.0, 33.5], [114.01, 33.51], [114.01, 33.5], [114.0, 33.51],
                                          [114.0, 33.5]]]}, "cross itself"),
    ({"type": "Point", "coordinates": [114.0, 95.0]}, "outside WGS-84"),
    ({"type": "Point", "coordinates": [True, 33.5]}, "in numbers"),
])
def test_bad_geometry_is_refused_naming_the_problem_and_writes_nothing(world, rows, geometry, says):
    before = rows()
    resp = world.client.post("/api/v1/zones", data=json.dumps({"name": "x", "kind": "school", "geometry": geometry}),
                             content_type="application/json", headers=world.headers("admin"))
    body = assert_problem(resp, 422, "geometry")
    assert says in json.dumps(body, ensure_ascii=False)
    assert rows() == before


def test_a_bad_kind_or_buffer_is_refused(world, rows):
    before = rows()
    assert_problem(create(world, school(kind="castle")), 422, "kind")
    assert_problem(create(world, school(buffer_m=-1)), 422, "buffer_m")
    assert_problem(create(world, school(), who="commander"), 403)
    assert rows() == before


def collection(*features) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def feature(props: dict, geometry: dict, fid=None) -> dict:
    out = {"type": "Feature", "properties": props, "geometry": geometry}
    if fid is not None:
        out["id"] = fid
    return out


BOW_TIE = {"type": "Polygon", "coordinates": [[[114.0, 33.5], [114.01, 33.51], [114.01, 33.5], [114.0, 33.51],
                                               [114.0, 33.5]]]}


def test_an_import_stores_the_good_features_and_names_the_bad_one(world):
    good1 = feature({"name": "示范镇", "kind": "town", "buffer_m": 300, "osm_id": 42}, square(200, 4000), "a")
    bad = feature({"name": "坏的", "kind": "school"}, BOW_TIE, "b")
    good2 = feature({"name": "示范铁路", "kind": "railway"},
                    {"type": "LineString", "coordinates": [toward(90, 5000), toward(180, 5000)]}, "c")
    resp = world.client.post("/api/v1/zones/import", json=collection(good1, bad, good2), headers=world.headers("admin"))
    assert resp.status_code == 200, resp.json
    items = resp.json["items"]
    assert [i["status"] for i in items] == [201, 422, 201] and resp.json["stored"] == 2 and resp.json["refused"] == 1
    assert items[1]["feature_id"] == "b" and items[1]["zone"] is None
    assert items[1]["problem"]["errors"][0]["field"] == "features[1].geometry"
    assert "坏的" in items[1]["problem"]["detail"]
    names = [z["name"] for z in world.client.get("/api/v1/zones", headers=world.headers("admin")).json["items"]]
    assert names == ["示范镇", "示范铁路"]


def test_an_all_or_nothing_import_with_a_bad_feature_stores_nothing(world, rows):
    before = rows()
    good = feature({"name": "示范镇", "kind": "town"}, square(200, 4000))
    bad = feature({"kind": "school"}, {"type": "Point", "coordinates": [114.0, 33.5]})  # no name
    resp = world.client.post("/api/v1/zones/import?all_or_nothing=true", json=collection(good, bad, "junk"),
                             headers=world.headers("admin"))
    body = assert_problem(resp, 422, "features[1].properties.name")
    assert any(e["field"] == "features[2]" for e in body["errors"])
    assert rows() == before


def test_an_import_that_is_not_a_feature_collection_is_refused(world, rows):
    before = rows()
    assert_problem(world.client.post("/api/v1/zones/import", json={"type": "Feature"}, headers=world.headers("admin")),
                   422, "type")
    assert_problem(world.client.post("/api/v1/zones/import", json={"type": "FeatureCollection", "features": {}},
                                     headers=world.headers("admin")), 422, "features")
    assert rows() == before


def test_a_50_mb_import_is_refused_whole(world, rows):
    before = rows()
    one = feature({"name": "n", "kind": "village"}, square(200, 4000))
    blob = json.dumps(collection(*[one] * 1000))
    body = (blob[:-2] + ("," + json.dumps(one)) * (50 * 1024 * 1024 // len(json.dumps(one))) + "]}").encode()
    assert len(body) > 50 * 1024 * 1024
    resp = world.client.post("/api/v1/zones/import", data=body, content_type="application/json",
                             headers=world.headers("admin"))
    assert_problem(resp, 413)
    assert rows() == before


def test_clearance_toward_a_zone_is_refused_naming_it_and_a_report_is_flagged(ops_world):
    w = ops_world
    w.ready_to_fire()
    assert create(w, school(10.0, 3000.0)).status_code == 201
    toward_it = w.client.get("/api/v1/points/LH01/clearance", query_string={"azimuth": 10},
                             headers=w.headers("crew1", **{"Accept-Language": "en"})).json
    assert toward_it["cleared"] is False
    reason = next(r for r in toward_it["reasons"] if r["code"] == "no_fire_zone")
    assert "示范小学" in reason["reason"] and "school" in reason["reason"] and "0 m" in reason["reason"]
    away = w.client.get("/api/v1/points/LH01/clearance", query_string={"azimuth": 20}, headers=w.headers("crew1")).json
    assert away["cleared"] is True, away
    zh = w.client.get("/api/v1/points/LH01/clearance", query_string={"azimuth": 10}, headers=w.headers("crew1")).json
    assert "学校" in next(r["reason"] for r in zh["reasons"] if r["code"] == "no_fire_zone")
    flagged = w.report(azimuth=10.0)
    assert flagged.status_code == 201, flagged.json  # a field fact is stored, flagged
    assert [f["code"] for f in flagged.json["flags"]] == ["no_fire_zone"]
    assert w.report(azimuth=20.0).json["flags"] == []


def test_a_deactivated_zone_is_not_checked(ops_world):
    w = ops_world
    w.ready_to_fire()
    zone = create(w, school(10.0, 3000.0)).json
    w.client.patch(f"/api/v1/zones/{zone['id']}", json={"active": False}, headers=w.headers("admin"))
    assert w.client.get("/api/v1/points/LH01/clearance", query_string={"azimuth": 10},
                        headers=w.headers("crew1")).json["cleared"] is True
    assert w.client.get("/api/v1/points/LH01/zones", headers=w.headers("crew1")).json["items"] == []


def test_a_points_zones_and_its_conflict_alert_follow_every_edit(world):
    inside = create(world, school(10.0, 3000.0)).json  # in LH01's sector (300° → 40°)
    outside = create(world, {**school(180.0, 2000.0), "name": "示范医院", "kind": "hospital"}).json
    far = create(world, {**school(180.0, 9000.0), "name": "远处"}).json  # beyond the 7 km range
    items = world.client.get("/api/v1/points/LH01/zones", headers=world.headers("crew1")).json["items"]
    assert [i["zone_id"] for i in items] == [outside["id"], inside["id"]]
    by_id = {i["zone_id"]: i for i in items}
    assert by_id[inside["id"]]["conflict"] and by_id[inside["id"]]["in_sector"]
    assert by_id[inside["id"]]["bearing_deg"] == pytest.approx(10.0, abs=0.1)
    assert by_id[inside["id"]]["distance_m"] == pytest.approx(3000.0, abs=0.1)
    assert not by_id[outside["id"]]["conflict"] and far["id"] not in by_id

    def conflict_alerts():
        alerts = world.client.get("/api/v1/alerts", headers=world.headers("commander")).json["items"]
        return [a for a in alerts if a["type"] == "zone_conflict"]

    assert [a["id"] for a in conflict_alerts()] == [f"zone_conflict:point_zone:LH01:{inside['id']}"]
    assert "示范小学" in conflict_alerts()[0]["message"]
    # the point's sector turned away from the school: the conflict goes at once
    world.client.patch("/api/v1/points/LH01", json={"sector_start_deg": 90, "sector_end_deg": 200},
                       headers=world.headers("admin"))
    assert conflict_alerts()[0]["id"] == f"zone_conflict:point_zone:LH01:{outside['id']}"
    world.client.patch(f"/api/v1/zones/{outside['id']}", json={"active": False}, headers=world.headers("admin"))
    assert conflict_alerts() == []
    assert world.client.get("/api/v1/points/NOPE/zones", headers=world.headers("crew1")).status_code == 404


def test_hostile_zone_names_are_data(world):
    name = "<script>alert(1)</script>=HYPERLINK(\"x\")"
    zone = create(world, school(name=name)).json
    assert zone["name"] == name
    page = world.client.get("/api/v1/zones", headers=world.headers("admin"))
    assert page.json["items"][0]["name"] == name and page.mimetype == "application/json"


def test_an_import_larger_than_other_bodies_is_stored(world):
    """A 3 MB zone file is over the app-wide 1 MB body limit but within the import's own (16 MB): it is stored."""
    import math
    lon0, lat0 = toward(180, 4000)
    ring = [[lon0 + 0.01 * math.cos(2 * math.pi * i / 19_000), lat0 + 0.01 * math.sin(2 * math.pi * i / 19_000)]
            for i in range(19_000)]
    ring.append(ring[0])
    features = [feature({"name": f"示范村{i}", "kind": "village"}, {"type": "Polygon", "coordinates": [ring]})
                for i in range(5)]
    body = json.dumps(collection(*features)).encode()
    assert 3 * 1024 * 1024 < len(body) < 16 * 1024 * 1024
    resp = world.client.post("/api/v1/zones/import", data=body, content_type="application/json",
                             headers=world.headers("admin"))
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert resp.json["stored"] == 5
