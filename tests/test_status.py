"""The live status feed (`GET /api/v1/status`, `GET /api/v1/status.geojson`): one Feature per active point with
its state, colour, crew, stock, round, window, last check-in, flags and alerts; ETag and 304; and a number of
SQL statements that does not grow with the number of points.

Expected values come from what each test sets up (who arrived, which window was approved, what was fired).
"""

import uuid
from datetime import date, datetime, timedelta

import pytest
import time_machine
from geopy.distance import geodesic
from sqlalchemy import event

from opsserver import create_app
from opsserver.database.utc import now_utc
from opsserver.extensions import db

from .helpers.database import fresh_database
from .helpers.world import announcement_body, point_data, publish_announcement

PROPERTIES = {"code", "name", "state", "colour", "crew_on_site", "min_crew", "stock", "round", "open_window",
              "last_checkin", "flags", "alerts"}


# --- helpers -------------------------------------------------------------------------------------

def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def geojson(w, who: str = "commander") -> dict:
    resp = w.get(who, "/api/v1/status.geojson")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.json


def features(w, who: str = "commander") -> dict:
    """Feature properties by point code."""
    return {f["properties"]["code"]: f["properties"] for f in geojson(w, who)["features"]}


def add_point(w, code: str, **overrides):
    resp = w.post("admin", "/api/v1/points", point_data(code, latitude=33.40, longitude=113.90, **overrides))
    assert resp.status_code == 201, resp.json
    return resp.json


def open_window(w, start_offset=timedelta(minutes=-1), length=timedelta(minutes=40), point="LH01"):
    """Request and approve a window for `point`; answers the approved (start, end)."""
    now = now_utc()
    req = w.request_window(point)
    assert req.status_code == 201, req.json
    start, end = now + start_offset, now + start_offset + length
    resp = w.approve(req.json["id"], start, end)
    assert resp.status_code == 200, resp.json
    return start, end


def man(w, point="LH01", crew=("ann", "bo", "cai")):
    for key in crew:
        w.arrive(key, point)


# --- shape -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["crew1", "commander", "auditor", "admin"])
def test_feature_collection_for_every_role(ops_world, who):
    """A FeatureCollection with one Point Feature per active point, [lon, lat], and every property named."""
    resp = ops_world.get(who, "/api/v1/status.geojson")
    assert resp.status_code == 200
    assert resp.mimetype == "application/geo+json"
    body = resp.json
    assert body["type"] == "FeatureCollection"
    assert [f["type"] for f in body["features"]] == ["Feature", "Feature"]
    geometry = {f["properties"]["code"]: f["geometry"] for f in body["features"]}
    assert geometry == {"LH01": {"type": "Point", "coordinates": [114.02, 33.58]},
                        "LH02": {"type": "Point", "coordinates": [114.10, 33.70]}}
    for f in body["features"]:
        assert PROPERTIES <= set(f["properties"])


def test_status_needs_a_token(ops_world):
    """Both forms of the feed are 401 without a bearer token."""
    for url in ("/api/v1/status", "/api/v1/status.geojson"):
        assert ops_world.client.get(url).status_code == 401


def test_inactive_points_are_left_out(ops_world):
    """A point made inactive has no Feature; a new active one does."""
    add_point(ops_world, "LH03")
    add_point(ops_world, "LH04")
    resp = ops_world.client.patch("/api/v1/points/LH04", json={"active": False}, headers=ops_world.headers("admin"))
    assert resp.status_code == 200, resp.json
    assert sorted(features(ops_world)) == ["LH01", "LH02", "LH03"]


def test_points_without_an_active_round_are_idle_and_grey(ops_world):
    """Before the round is activated every point is idle, grey, with its stock and minimum crew."""
    props = features(ops_world)
    for code, stock, min_crew in [("LH01", {"RKT-AGI": 20}, 3), ("LH02", {"SHELL-37": 100}, 4)]:
        p = props[code]
        assert (p["state"], p["colour"], p["round"], p["open_window"]) == ("idle", "grey", None, None)
        assert p["stock"] == stock and p["min_crew"] == min_crew and p["crew_on_site"] == 0
        assert p["flags"] == [] and p["alerts"] == [] and p["last_checkin"] is None


def test_point_outside_the_active_round_stays_idle(ops_world):
    """LH03 is not ordered in the active round: idle and grey, while LH01 of the round is not idle."""
    add_point(ops_world, "LH03")
    ops_world.activate()
    props = features(ops_world)
    assert (props["LH03"]["state"], props["LH03"]["colour"], props["LH03"]["round"]) == ("idle", "grey", None)
    assert props["LH01"]["state"] == "ordered"
    assert props["LH01"]["round"] == {"id": ops_world.round_id, "name": "Test round"}


# --- states and colours ------------------------------------------------------------------------------

def test_three_certified_arrivals_man_the_point(ops_world):
    """ann, bo and cai arrive at LH01 in an active round: manned, blue, 3 on site, last check-in is cai's."""
    w = ops_world
    w.activate()
    man(w)
    props = features(w)
    p = props["LH01"]
    assert (p["state"], p["colour"], p["crew_on_site"]) == ("manned", "blue", 3)
    assert sorted(c["name"] for c in p["crew"]) == ["Ann", "Bo", "Cai"]
    assert p["alerts"] == [] and p["flags"] == []
    assert p["last_checkin"]["crew_id"] == w.crew["cai"] and p["last_checkin"]["kind"] == "arrive"
    assert p["last_checkin"]["within_geofence"] is True
    # LH02 is ordered with nobody there: below its minimum crew of 4, an alert, so purple.
    assert (props["LH02"]["state"], props["LH02"]["crew_on_site"]) == ("ordered", 0)
    assert props["LH02"]["colour"] == "purple"
    assert [a["type"] for a in props["LH02"]["alerts"]] == ["understaffed"]


def test_only_certified_crew_inside_the_geofence_count(ops_world):
    """An expired certificate or an arrival 900 m away does not count; a departure takes one off."""
    w = ops_world
    w.activate()
    man(w, crew=("ann", "bo"))
    w.arrive("cai", metres=900)
    w.arrive("expired")
    p = features(w)["LH01"]
    assert (p["state"], p["crew_on_site"], p["colour"]) == ("ordered", 2, "purple")
    assert {a["type"] for a in p["alerts"]} == {"understaffed", "checkin_outside_geofence"}
    w.arrive("cai", metres=20)
    p = features(w)["LH01"]
    assert (p["state"], p["crew_on_site"], p["colour"]) == ("manned", 3, "blue")
    w.arrive("bo", kind="depart")
    p = features(w)["LH01"]
    assert (p["state"], p["crew_on_site"]) == ("ordered", 2)


def test_request_then_approval_makes_the_point_cleared(ops_world):
    """Asking for airspace turns LH01 amber; an approved open window turns it green with that window's end."""
    w = ops_world
    w.activate()
    man(w)
    now = now_utc()
    req = w.request_window("LH01")
    assert req.status_code == 201, req.json
    p = features(w)["LH01"]
    assert (p["state"], p["colour"], p["open_window"]) == ("requested", "amber", None)
    start, end = now - timedelta(minutes=2), now + timedelta(minutes=37)
    assert w.approve(req.json["id"], start, end, reference="ATC-7788").status_code == 200
    p = features(w)["LH01"]
    assert (p["state"], p["colour"]) == ("cleared", "green")
    assert parse(p["open_window"]["end"]) == end
    assert parse(p["open_window"]["start"]) == start
    assert p["open_window"]["reference"] == "ATC-7788"
    assert features(w)["LH02"]["open_window"] is None


def test_approved_window_not_yet_open_is_still_requested(ops_world):
    """A window approved to open in ten minutes leaves the point amber with no open window."""
    w = ops_world
    w.activate()
    man(w)
    open_window(w, start_offset=timedelta(minutes=10))
    p = features(w)["LH01"]
    assert (p["state"], p["colour"], p["open_window"]) == ("requested", "amber", None)


def test_firing_then_done(ops_world):
    """A clean report in progress is red; once it has ended the point is done and black."""
    w = ops_world
    w.activate()
    man(w)
    open_window(w)
    started = now_utc()
    resp = w.report(started=started, ended=started + timedelta(minutes=5),
                    ammo=[{"type": "RKT-AGI", "fired": 4, "duds": 1}])
    assert resp.status_code == 201, resp.json
    assert resp.json["flags"] == []
    p = features(w)["LH01"]
    assert (p["state"], p["colour"], p["flags"]) == ("firing", "red", [])
    assert p["stock"] == {"RKT-AGI": 16}
    with time_machine.travel(started + timedelta(minutes=10), tick=False):
        p = features(w)["LH01"]
    assert (p["state"], p["colour"]) == ("done", "black")


def test_flagged_report_turns_the_point_purple(ops_world):
    """A report outside the sector and without airspace shows its flags and makes LH01 purple."""
    w = ops_world
    w.activate()
    man(w)
    resp = w.report(azimuth=200.0, ammo=[{"type": "RKT-AGI", "fired": 1, "duds": 0}])
    assert resp.status_code == 201, resp.json
    p = features(w)["LH01"]
    assert p["colour"] == "purple"
    assert {"no_airspace", "outside_sector"} <= {f["code"] for f in p["flags"]}
    assert "flagged_report" in {a["type"] for a in p["alerts"]}
    assert p["stock"] == {"RKT-AGI": 19}


def test_status_json_agrees_with_geojson(ops_world):
    """`/status` lists the same points with the same live values, and latitude/longitude."""
    w = ops_world
    add_point(w, "LH03")
    w.activate()
    man(w)
    open_window(w)
    w.report(azimuth=200.0)
    with time_machine.travel(now_utc(), tick=False):
        collection = geojson(w)
        resp = w.get("auditor", "/api/v1/status")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    points = {p["code"]: p for p in resp.json["points"]}
    assert sorted(points) == ["LH01", "LH02", "LH03"]
    for f in collection["features"]:
        expected = f["properties"]
        served = points[expected["code"]]
        assert (served["longitude"], served["latitude"]) == tuple(f["geometry"]["coordinates"])
        for key in PROPERTIES:
            assert served[key] == expected[key], key
    assert points["LH01"]["colour"] == "purple" and points["LH03"]["state"] == "idle"


# --- ETag and 304 ------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/api/v1/status", "/api/v1/status.geojson"])
def test_unchanged_feed_answers_304(ops_world, url):
    """The same If-None-Match again is a 304 with no body and the same ETag; a list of tags works too."""
    w = ops_world
    with time_machine.travel(now_utc(), tick=False):
        first = w.get("crew1", url)
        assert first.status_code == 200
        etag = first.headers["ETag"]
        assert etag
        again = w.get("crew1", url, **{"If-None-Match": etag})
        assert again.status_code == 304
        assert again.data == b""
        assert again.headers["ETag"] == etag
        listed = w.get("crew1", url, **{"If-None-Match": f'W/"stale", {etag}'})
        assert listed.status_code == 304
        other = w.get("crew1", url, **{"If-None-Match": 'W/"not-the-version"'})
        assert other.status_code == 200 and other.json


@pytest.mark.parametrize("url", ["/api/v1/status", "/api/v1/status.geojson"])
def test_a_write_changes_the_etag(ops_world, url):
    """After a check-in the old ETag gets a 200 with the new state and a new ETag, which then gets 304."""
    w = ops_world
    with time_machine.travel(now_utc(), tick=False):
        etag = w.get("commander", url).headers["ETag"]
        assert w.get("commander", url, **{"If-None-Match": etag}).status_code == 304
        w.arrive("ann")
        resp = w.get("commander", url, **{"If-None-Match": etag})
        assert resp.status_code == 200
        assert resp.headers["ETag"] != etag
        body = resp.json
        lh01 = (next(p for p in body["points"] if p["code"] == "LH01") if "points" in body
                else next(f["properties"] for f in body["features"] if f["properties"]["code"] == "LH01"))
        assert lh01["last_checkin"]["crew_id"] == w.crew["ann"]
        assert w.get("commander", url, **{"If-None-Match": resp.headers["ETag"]}).status_code == 304


def test_a_changed_point_shows_in_the_next_feed(ops_world):
    """A point's fixed properties are kept between builds; a change to the point must still show at once."""
    w = ops_world
    before = features(w)["LH01"]
    lh02 = features(w)["LH02"]
    resp = w.client.patch("/api/v1/points/LH01", json={"name": "Renamed point", "sector_start_deg": 10.0,
                                                       "latitude": 33.61}, headers=w.headers("admin"))
    assert resp.status_code == 200, resp.json
    after = next(f for f in geojson(w)["features"] if f["id"] == "LH01")
    assert before["name"] != "Renamed point" and before["sector_start_deg"] != 10.0
    assert after["properties"]["name"] == "Renamed point" and after["properties"]["sector_start_deg"] == 10.0
    assert after["geometry"]["coordinates"][1] == 33.61
    assert features(w)["LH02"] == lh02  # the unchanged point is served as before


def test_passing_time_changes_the_etag(ops_world):
    """A window closing changes the status with no write at all, so the old ETag must not get a 304."""
    w = ops_world
    w.activate()
    man(w)
    _, end = open_window(w, length=timedelta(minutes=20))
    resp = w.get("commander", "/api/v1/status.geojson")
    etag = resp.headers["ETag"]
    with time_machine.travel(end + timedelta(minutes=1), tick=False):
        later = w.get("commander", "/api/v1/status.geojson", **{"If-None-Match": etag})
        assert later.status_code == 200
    p = {f["properties"]["code"]: f["properties"] for f in later.json["features"]}["LH01"]
    assert p["state"] != "cleared" and p["open_window"] is None


# --- a fixed number of statements --------------------------------------------------------------------

@pytest.fixture
def second_db(template_db, tmp_path):
    """Another fresh, migrated database (the same template as `db_url`), for comparing two deployments."""
    with fresh_database(template_db, tmp_path / "second.sqlite3") as url:
        yield url


def _near(lat: float, lon: float, metres: float) -> tuple[float, float]:
    p = geodesic(meters=metres).destination((lat, lon), 45)
    return p.latitude, p.longitude


def build_deployment(app, n: int):
    """n points P0001… with stock each; P0001–P0006 ordered in an active round with check-ins (one outside the
    geofence, one from a skewed phone), an approved window, a clean report and a flagged one; a crew member
    with an expiring certificate on shift. Answers (test client, commander headers)."""
    from opsserver.accounts.services import create_account
    from opsserver.ammo.services import create_type, record_movement
    from opsserver.registry.services import create_crew, create_point, create_shift

    coords = {}
    with app.app_context():
        create_type("test", {"code": "RKT-AGI", "name": "AgI rocket", "agent": "AgI", "agent_g_per_unit": 1.2,
                             "placeholder": True})
        for i in range(1, n + 1):
            code = f"P{i:04d}"
            coords[code] = (32.5 + (i // 40) * 0.05, 113.5 + (i % 40) * 0.05)
            create_point("test", point_data(code, latitude=coords[code][0], longitude=coords[code][1]))
            record_movement("test", {"point_code": code, "ammo_type": "RKT-AGI", "quantity": 10 + i % 7,
                                     "kind": "receipt", "reference": None, "reason": None, "to_point_code": None})
        crew = []
        for k, days in enumerate([400, 400, 400, 400, 12]):
            member = create_crew("test", {"name": f"Crew {k}", "phone": "13900000000", "certificate_no": f"C-{k}",
                                          "certificate_expires": date.today() + timedelta(days=days),
                                          "home_point": "P0001"})
            crew.append(member.id)
        start = now_utc() - timedelta(hours=1)
        for k, point in enumerate(["P0001", "P0001", "P0001", "P0002", "P0003"]):
            create_shift("test", point, crew[k], start, start + timedelta(hours=10), "operator")
        create_account("test", "boss", "password-boss", "commander")
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "boss", "password": "password-boss"}).json
    headers = {"Authorization": f"Bearer {token['access_token']}"}

    def post(url, body, **extra):
        resp = client.post(url, json=body, headers={**headers, **extra})
        assert resp.status_code in (200, 201), resp.get_json()
        return resp.get_json()

    now = now_utc()
    rnd = post("/api/v1/rounds", {"name": "Bulk round", "purpose": "rain_enhancement",
                                  "planned_start": now.isoformat(),
                                  "planned_end": (now + timedelta(hours=3)).isoformat(),
                                  "point_codes": [f"P{i:04d}" for i in range(1, 7)]})
    publish_announcement(client, token["access_token"], announcement_body([f"P{i:04d}" for i in range(1, 7)]))
    post(f"/api/v1/rounds/{rnd['id']}/activate", {})
    for k, point, metres, skew in [(0, "P0001", 30, None), (1, "P0001", 60, None), (2, "P0001", 90, None),
                                   (3, "P0002", 900, None), (4, "P0003", 40, timedelta(minutes=15))]:
        lat, lon = _near(*coords[point], metres)
        extra = {"X-Device-Time": (now_utc() + skew).isoformat()} if skew else {}
        post("/api/v1/checkins", {"id": str(uuid.uuid4()), "point_code": point, "kind": "arrive", "latitude": lat,
                                  "longitude": lon, "accuracy_m": 5.0, "recorded_at": now_utc().isoformat(),
                                  "crew_id": crew[k]}, **extra)
    req = post(f"/api/v1/rounds/{rnd['id']}/airspace", {"point_code": "P0001", "window_start": now.isoformat(),
                                                        "duration_min": 30})
    post(f"/api/v1/airspace/{req['id']}/decision", {"decision": "approved", "approved_start": now.isoformat(),
                                                    "approved_end": (now + timedelta(minutes=30)).isoformat(),
                                                    "reference": "ATC-BULK"})
    for point, azimuth, k in [("P0001", 10.0, 0), ("P0002", 200.0, 3)]:
        fired_at = now_utc()
        post(f"/api/v1/rounds/{rnd['id']}/reports", {
            "id": str(uuid.uuid4()), "point_code": point, "crew_id": crew[k], "started_at": fired_at.isoformat(),
            "ended_at": fired_at.isoformat(), "azimuth_deg": azimuth, "elevation_deg": 50.0,
            "ammo": [{"type": "RKT-AGI", "fired": 2, "duds": 0}]})
    return client, headers


def count_statements(app, client, headers, url: str) -> tuple[int, dict]:
    """SQL statements SQLAlchemy sends while answering one GET of `url`.

    Called first after the deployment's last write, so the answer is built (not a memo of an earlier one)."""
    with app.app_context():
        engine = db.engine
    statements = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        resp = client.get(url, headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    assert resp.status_code == 200
    return len(statements), resp.get_json()


def test_statement_count_does_not_grow_with_points(app, second_db):
    """The status feed (and /status, /alerts) runs the same number of SQL statements for 18 and 500 points."""
    big_app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": second_db})
    try:
        small = build_deployment(app, 18)
        big = build_deployment(big_app, 500)
        for url in ("/api/v1/status.geojson", "/api/v1/status", "/api/v1/alerts"):
            n_small, body_small = count_statements(app, *small, url)
            n_big, body_big = count_statements(big_app, *big, url)
            assert n_small > 2, url  # the listener sees the feed's queries
            assert n_small == n_big, url
        # The feed really carries the per-point data of both deployments.
        for body, n in [(count_statements(app, *small, "/api/v1/status.geojson")[1], 18),
                        (count_statements(big_app, *big, "/api/v1/status.geojson")[1], 500)]:
            props = {f["properties"]["code"]: f["properties"] for f in body["features"]}
            assert len(props) == n
            assert (props["P0001"]["state"], props["P0001"]["crew_on_site"]) == ("done", 3)
            assert props["P0001"]["stock"] == {"RKT-AGI": 11 - 2}
            assert props[f"P{n:04d}"]["stock"] == {"RKT-AGI": 10 + n % 7}
            assert props[f"P{n:04d}"]["state"] == "idle"
            assert props["P0002"]["colour"] == "purple" and props["P0002"]["flags"]
            assert {"checkin_outside_geofence", "flagged_report"} <= {a["type"] for a in props["P0002"]["alerts"]}
            assert [a["type"] for a in props["P0004"]["alerts"]] == ["understaffed"]
            assert {"clock_skew", "certificate_expiring"} <= {a["type"] for a in props["P0003"]["alerts"]}
    finally:
        with big_app.app_context():
            db.engine.dispose()
