"""Operating points, crew members and shifts: validation, defaults, certificates, overlaps, filters, pages."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from .helpers.problems import assert_problem
from .helpers.world import point_data

SHANGHAI = ZoneInfo("Asia/Shanghai")


def walk(world, path, who="admin", limit=1, **params):
    """Every item of a list endpoint, page by page; also checks the `{items, next_cursor}` shape."""
    items, cursor = [], None
    while True:
        query = dict(params, limit=limit, **({"cursor": cursor} if cursor else {}))
        resp = world.client.get(path, query_string=query, headers=world.headers(who))
        assert resp.status_code == 200, resp.json
        assert set(resp.json) == {"items", "next_cursor"}
        assert len(resp.json["items"]) <= limit
        items += resp.json["items"]
        cursor = resp.json["next_cursor"]
        if not cursor:
            return items


def audit_events(world, **params):
    """Audit events matching the filters, read as the auditor."""
    return walk(world, "/api/v1/audit/events", who="auditor", limit=1000, **params)


def post_point(world, data, who="admin"):
    return world.client.post("/api/v1/points", json=data, headers=world.headers(who))


def post_shift(world, crew_id, starts_at, ends_at, point_code="LH02", who="commander", **extra):
    body = {"point_code": point_code, "crew_id": crew_id, "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(), **extra}
    return world.client.post("/api/v1/shifts", json=body, headers=world.headers(who))


def fixture_shift_times(world):
    """Start and end of the fixture's shifts (all four share them)."""
    items = walk(world, "/api/v1/shifts", crew_id=world.crew["ann"])
    assert len(items) == 1
    return datetime.fromisoformat(items[0]["starts_at"]), datetime.fromisoformat(items[0]["ends_at"])


# --- points ---------------------------------------------------------------------------------------

def test_create_point_echoes_every_field(world):
    """A new point answers 201 with every field as sent, plus its sector width."""
    data = point_data("LH09", min_crew=5, geofence_m=750.0, active=True, launchers=3)
    resp = post_point(world, data)
    assert resp.status_code == 201, resp.json
    for key, value in data.items():
        assert resp.json[key] == value, key
    assert resp.json["sector_width_deg"] == 100.0
    fetched = world.client.get("/api/v1/points/LH09", headers=world.headers("crew1"))
    assert fetched.status_code == 200
    for key, value in data.items():
        assert fetched.json[key] == value, key


@pytest.mark.parametrize("equipment,min_crew", [("rocket", 3), ("gun", 4)])
def test_point_defaults(world, equipment, min_crew):
    """Without them, min_crew defaults to 3 (rocket) or 4 (gun) and the geofence to 500 m."""
    data = point_data("LH10", equipment=equipment)
    data.pop("geofence_m")
    resp = post_point(world, data)
    assert resp.status_code == 201, resp.json
    assert resp.json["min_crew"] == min_crew
    assert resp.json["geofence_m"] == 500
    assert resp.json["active"] is True


def test_point_creation_is_audited(world):
    """Creating a point writes a `point.create` event by the admin."""
    post_point(world, point_data("LH11"))
    events = audit_events(world, action="point.create", entity_id="LH11")
    assert len(events) == 1 and events[0]["actor"] == "admin"


def test_duplicate_point_code_is_409(world, rows):
    """A code in use is a 409 problem and nothing is written."""
    before = rows()
    assert_problem(post_point(world, point_data("LH01", name="Another")), 409)
    assert rows() == before
    assert world.client.get("/api/v1/points/LH01", headers=world.headers("admin")).json["name"] == "Test point LH01"


def test_point_validation_names_every_bad_field(world, rows):
    """One request with seven bad fields answers one error entry per field, and nothing is written."""
    data = point_data("bad code", latitude=91, longitude=-181, equipment="cannon", sector_start_deg=361,
                      sector_end_deg=-1)
    data.pop("name")
    before = rows()
    body = assert_problem(post_point(world, data), 422, location="json",
                          fields=["code", "latitude", "longitude", "equipment", "sector_start_deg", "sector_end_deg",
                                  "name"])
    assert body["type"] != "about:blank"
    assert rows() == before


@pytest.mark.parametrize("field,value", [
    ("latitude", -90.5), ("longitude", 180.01), ("sector_start_deg", -0.1), ("sector_end_deg", 360.5),
    ("max_range_km", 0), ("max_height_m", -1), ("geofence_m", 0), ("min_crew", 0), ("launchers", -1),
    ("equipment", "Rocket"), ("code", "lh01"), ("name", ""), ("latitude", None),
])
def test_point_field_out_of_range(world, rows, field, value):
    """A single bad field is a 422 naming that field only."""
    data = point_data("LH12")
    data[field] = value
    before = rows()
    assert_problem(post_point(world, data), 422, fields=[field], location="json")
    assert rows() == before


@pytest.mark.parametrize("field", ["code", "name", "county", "latitude", "longitude", "equipment",
                                   "sector_start_deg", "sector_end_deg", "max_range_km", "max_height_m"])
def test_point_required_fields(world, field):
    """Each required field, when missing, is named."""
    data = point_data("LH13")
    data.pop(field)
    assert_problem(post_point(world, data), 422, fields=[field], location="json")


@pytest.mark.parametrize("start,end,width", [(300, 40, 100), (0, 360, 360), (90, 180, 90), (350, 10, 20),
                                             (10, 350, 340)])
def test_sector_width(world, start, end, width):
    """Sectors are clockwise; one across north (300 → 40) is 100° wide."""
    resp = post_point(world, point_data("LH14", sector_start_deg=start, sector_end_deg=end))
    assert resp.status_code == 201, resp.json
    assert resp.json["sector_width_deg"] == width


@pytest.mark.parametrize("azimuth", [0, 120, 360])
def test_sector_of_no_width_is_refused(world, rows, azimuth):
    """A sector whose start equals its end is refused, naming a sector field."""
    before = rows()
    body = assert_problem(post_point(world, point_data("LH15", sector_start_deg=azimuth, sector_end_deg=azimuth)),
                          422)
    assert body["errors"] and {e["field"] for e in body["errors"]} <= {"sector_start_deg", "sector_end_deg"}
    assert rows() == before


def test_get_point_and_unknown_point(world):
    """A point is served by code to every role; an unknown code is a 404 problem."""
    resp = world.client.get("/api/v1/points/LH02", headers=world.headers("crew2"))
    assert resp.status_code == 200
    assert resp.json["code"] == "LH02" and resp.json["equipment"] == "gun" and resp.json["min_crew"] == 4
    assert_problem(world.client.get("/api/v1/points/LH99", headers=world.headers("crew2")), 404)


def test_patch_point_changes_fields_and_audits_old_and_new(world):
    """PATCH changes only the fields sent and writes a `point.update` event with old and new values."""
    resp = world.client.patch("/api/v1/points/LH01", headers=world.headers("admin"),
                              json={"name": "Renamed point", "geofence_m": 800, "min_crew": 4})
    assert resp.status_code == 200, resp.json
    assert resp.json["name"] == "Renamed point" and resp.json["geofence_m"] == 800 and resp.json["min_crew"] == 4
    fetched = world.client.get("/api/v1/points/LH01", headers=world.headers("admin")).json
    assert fetched["name"] == "Renamed point" and fetched["geofence_m"] == 800
    assert fetched["latitude"] == 33.58 and fetched["sector_start_deg"] == 300  # untouched
    events = audit_events(world, action="point.update", entity_id="LH01")
    assert len(events) == 1
    assert events[0]["actor"] == "admin"
    payload = events[0]["payload"]
    assert payload["name"] == ["Test point LH01", "Renamed point"]
    assert payload["geofence_m"] == [500, 800]
    assert payload["min_crew"] == [3, 4]
    assert "latitude" not in payload


def test_patch_sector_across_north(world):
    """A PATCH may move the sector across north; its width follows."""
    resp = world.client.patch("/api/v1/points/LH02", headers=world.headers("admin"),
                              json={"sector_start_deg": 330, "sector_end_deg": 30})
    assert resp.status_code == 200
    assert resp.json["sector_width_deg"] == 60


def test_patch_unknown_point_is_404(world, rows):
    """PATCH of an unknown code is a 404 problem and nothing is written."""
    before = rows()
    assert_problem(world.client.patch("/api/v1/points/LH99", headers=world.headers("admin"), json={"name": "x"}), 404)
    assert rows() == before


@pytest.mark.parametrize("changes", [{"sector_start_deg": 40}, {"sector_end_deg": 300},
                                     {"sector_start_deg": 10, "sector_end_deg": 10}])
def test_patch_making_sector_empty_is_refused(world, rows, changes):
    """A PATCH that leaves start == end (against the stored other edge too) is refused; nothing changes."""
    before = rows()
    body = assert_problem(world.client.patch("/api/v1/points/LH01", headers=world.headers("admin"), json=changes),
                          422)
    assert body["errors"] and {e["field"] for e in body["errors"]} <= {"sector_start_deg", "sector_end_deg"}
    assert rows() == before
    point = world.client.get("/api/v1/points/LH01", headers=world.headers("admin")).json
    assert (point["sector_start_deg"], point["sector_end_deg"]) == (300, 40)


def test_patch_validation_names_fields_and_writes_nothing(world, rows):
    """A PATCH with bad values is a 422 naming each and changes nothing."""
    before = rows()
    resp = world.client.patch("/api/v1/points/LH01", headers=world.headers("admin"),
                              json={"latitude": 95, "equipment": "cannon", "name": "Should not stick"})
    assert_problem(resp, 422, fields=["latitude", "equipment"], location="json")
    assert rows() == before
    assert world.client.get("/api/v1/points/LH01", headers=world.headers("admin")).json["name"] == "Test point LH01"


def test_patch_with_no_change_writes_no_event(world, rows):
    """A PATCH that sets the values already stored writes no audit event."""
    before = rows()
    resp = world.client.patch("/api/v1/points/LH01", headers=world.headers("admin"), json={"name": "Test point LH01"})
    assert resp.status_code == 200
    assert rows() == before


def test_list_points_filters(world):
    """The point list filters by equipment, county and active."""
    post_point(world, point_data("LH03", county="Wuyang County"))
    world.client.patch("/api/v1/points/LH02", headers=world.headers("admin"), json={"active": False})

    def codes(**params):
        return [p["code"] for p in walk(world, "/api/v1/points", who="crew1", limit=100, **params)]

    assert codes() == ["LH01", "LH02", "LH03"]
    assert codes(equipment="gun") == ["LH02"]
    assert codes(equipment="rocket") == ["LH01", "LH03"]
    assert codes(county="Wuyang County") == ["LH03"]
    assert codes(county="Nowhere") == []
    assert codes(active="false") == ["LH02"]
    assert codes(active="true") == ["LH01", "LH03"]


def test_list_points_pages_once_through_every_point(world):
    """With limit=1 the cursor walks every point exactly once, then next_cursor is null."""
    for code in ("LH03", "LH04", "LH05"):
        assert post_point(world, point_data(code)).status_code == 201
    items = walk(world, "/api/v1/points", who="auditor", limit=1)
    assert [p["code"] for p in items] == ["LH01", "LH02", "LH03", "LH04", "LH05"]


def test_list_points_rejects_a_bad_query(world):
    """A bad filter value or cursor is a problem naming the query parameter."""
    resp = world.client.get("/api/v1/points?equipment=cannon", headers=world.headers("admin"))
    body = assert_problem(resp, 422)
    assert [(e["field"], e["location"]) for e in body["errors"]] == [("equipment", "query")]
    resp = world.client.get("/api/v1/points?cursor=garbage", headers=world.headers("admin"))
    body = assert_problem(resp, 400)
    assert [e["field"] for e in body["errors"]] == ["cursor"]
    resp = world.client.get("/api/v1/points?limit=0", headers=world.headers("admin"))
    assert_problem(resp, 422)


# --- crew -----------------------------------------------------------------------------------------

def crew_body(**overrides):
    today = datetime.now(SHANGHAI).date()
    body = {"name": "Lin Feng", "phone": "+86 139 0000 1234", "certificate_no": "CERT-lin",
            "certificate_expires": (today + timedelta(days=200)).isoformat(), "home_point": "LH02"}
    body.update(overrides)
    return body


def test_create_crew_member(world):
    """A commander registers a crew member; the answer carries the status of the certificate."""
    body = crew_body()
    resp = world.client.post("/api/v1/crew", json=body, headers=world.headers("commander"))
    assert resp.status_code == 201, resp.json
    for key, value in body.items():
        assert resp.json[key] == value, key
    assert isinstance(resp.json["id"], int)
    assert resp.json["certificate_status"] == "valid"
    events = audit_events(world, action="crew.create", entity_id=str(resp.json["id"]))
    assert len(events) == 1 and events[0]["actor"] == "commander"


def test_create_crew_member_without_home_point(world):
    """The home point is optional."""
    body = crew_body()
    body.pop("home_point")
    resp = world.client.post("/api/v1/crew", json=body, headers=world.headers("admin"))
    assert resp.status_code == 201 and resp.json["home_point"] is None


def test_crew_unknown_home_point_is_422(world, rows):
    """An unknown home point is a 422 naming home_point; nothing is written."""
    before = rows()
    resp = world.client.post("/api/v1/crew", json=crew_body(home_point="LH99"), headers=world.headers("commander"))
    assert_problem(resp, 422, fields=["home_point"], location="json")
    assert rows() == before


@pytest.mark.parametrize("field,value", [("certificate_expires", "2026-02-30"), ("certificate_expires", "soon"),
                                         ("phone", "call me"), ("name", ""), ("certificate_no", None)])
def test_crew_validation_names_the_field(world, rows, field, value):
    """Each bad crew field is a 422 naming it; nothing is written."""
    before = rows()
    resp = world.client.post("/api/v1/crew", json=crew_body(**{field: value}), headers=world.headers("commander"))
    assert_problem(resp, 422, fields=[field], location="json")
    assert rows() == before


def test_duplicate_certificate_number_is_409(world, rows):
    """A certificate number registered already is a 409 problem."""
    before = rows()
    resp = world.client.post("/api/v1/crew", json=crew_body(certificate_no="CERT-ann"),
                             headers=world.headers("commander"))
    assert_problem(resp, 409)
    assert rows() == before


def test_certificate_status_valid_expiring_expired(world):
    """The list shows each certificate as valid, expiring (within 30 days) or expired."""
    by_id = {m["id"]: m for m in walk(world, "/api/v1/crew", who="commander", limit=100)}
    assert by_id[world.crew["ann"]]["certificate_status"] == "valid"
    assert by_id[world.crew["soon"]]["certificate_status"] == "expiring"
    assert by_id[world.crew["expired"]]["certificate_status"] == "expired"


@pytest.mark.parametrize("days,status", [(0, "expiring"), (-1, "expired"), (30, "expiring"), (31, "valid")])
def test_certificate_status_boundaries(world, days, status):
    """Valid through its expiry day (local), expiring within 30 days, expired from the day after."""
    expires = datetime.now(SHANGHAI).date() + timedelta(days=days)
    resp = world.client.post("/api/v1/crew", json=crew_body(certificate_expires=expires.isoformat()),
                             headers=world.headers("commander"))
    assert resp.status_code == 201
    assert resp.json["certificate_status"] == status


@pytest.mark.parametrize("status,names", [("valid", ["ann", "bo", "cai", "dong"]), ("expiring", ["soon"]),
                                          ("expired", ["expired"])])
def test_crew_filter_by_certificate_status(world, status, names):
    """`certificate_status=` lists only the crew in that state."""
    items = walk(world, "/api/v1/crew", who="admin", limit=100, certificate_status=status)
    assert sorted(m["id"] for m in items) == sorted(world.crew[n] for n in names)
    assert all(m["certificate_status"] == status for m in items)


def test_crew_filter_by_home_point_and_paging(world):
    """`home_point=` filters, and limit=2 pages through everyone once."""
    at_lh02 = walk(world, "/api/v1/crew", who="admin", limit=100, home_point="LH02")
    assert [m["id"] for m in at_lh02] == [world.crew["dong"]]
    everyone = walk(world, "/api/v1/crew", who="admin", limit=2)
    assert sorted(m["id"] for m in everyone) == sorted(world.crew.values())


# --- shifts ---------------------------------------------------------------------------------------

def test_create_shift(world):
    """A commander plans a shift; the answer echoes it and an audit event is written."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    resp = post_shift(world, world.crew["ann"], start, start + timedelta(hours=12), position="leader")
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["point_code"] == "LH02" and body["crew_id"] == world.crew["ann"] and body["position"] == "leader"
    assert datetime.fromisoformat(body["starts_at"]) == start
    assert datetime.fromisoformat(body["ends_at"]) == start + timedelta(hours=12)
    assert body["certificate_status"] == "valid"
    events = audit_events(world, action="shift.create", entity_id=str(body["id"]))
    assert len(events) == 1 and events[0]["actor"] == "commander"


def test_overnight_shift_in_local_time(world):
    """An overnight shift given in +08:00 is stored as the same instants."""
    day = datetime.now(SHANGHAI).date() + timedelta(days=2)
    start = datetime.combine(day, time(20, 0), tzinfo=SHANGHAI)
    resp = post_shift(world, world.crew["bo"], start, start + timedelta(hours=10))
    assert resp.status_code == 201, resp.json
    assert datetime.fromisoformat(resp.json["starts_at"]) == start
    assert resp.json["position"] == "operator"


@pytest.mark.parametrize("hours", [-1, 0])
def test_shift_must_end_after_it_starts(world, rows, hours):
    """An end before (or at) the start is a 422 naming ends_at; nothing is written."""
    start = datetime.now(UTC) + timedelta(days=1)
    before = rows()
    assert_problem(post_shift(world, world.crew["ann"], start, start + timedelta(hours=hours)), 422,
                   fields=["ends_at"], location="json")
    assert rows() == before


def test_shift_unknown_point_or_crew(world, rows):
    """An unknown point or crew member is a 422 naming the field."""
    start = datetime.now(UTC) + timedelta(days=1)
    before = rows()
    assert_problem(post_shift(world, world.crew["ann"], start, start + timedelta(hours=8), point_code="LH99"),
                   422, fields=["point_code"], location="json")
    assert_problem(post_shift(world, 999999, start, start + timedelta(hours=8)), 422,
                   fields=["crew_id"], location="json")
    assert rows() == before


def test_shift_needs_time_zones_and_a_known_position(world):
    """Naive times and unknown positions are refused, naming the field."""
    body = {"point_code": "LH02", "crew_id": world.crew["ann"], "starts_at": "2030-01-01T08:00:00",
            "ends_at": "2030-01-01T16:00:00+08:00", "position": "captain"}
    resp = world.client.post("/api/v1/shifts", json=body, headers=world.headers("commander"))
    assert_problem(resp, 422, fields=["starts_at", "position"], location="json")


def test_shift_for_expired_certificate_is_refused(world, rows):
    """A crew member whose certificate has expired cannot be planned; 422 names crew_id and says why."""
    start = datetime.now(UTC) + timedelta(hours=1)
    before = rows()
    body = assert_problem(post_shift(world, world.crew["expired"], start, start + timedelta(hours=8)), 422,
                          fields=["crew_id"], location="json")
    assert "certificate" in body["errors"][0]["detail"].lower()
    assert rows() == before


def test_shift_past_certificate_expiry_is_refused(world, rows):
    """A certificate expiring inside the shift (crew 'soon', shift ending in 11 days) is a 422 naming crew_id."""
    start = datetime.now(UTC) + timedelta(days=1)
    before = rows()
    body = assert_problem(post_shift(world, world.crew["soon"], start, datetime.now(UTC) + timedelta(days=11)),
                          422, fields=["crew_id"], location="json")
    assert "certificate" in body["errors"][0]["detail"].lower()
    assert rows() == before


def test_shift_within_certificate_is_fine(world):
    """Crew 'soon' can still work a shift well before the certificate expires."""
    start = datetime.now(UTC) + timedelta(days=1)
    assert post_shift(world, world.crew["soon"], start, start + timedelta(hours=12)).status_code == 201


def _crew_expiring(world, expires):
    resp = world.client.post("/api/v1/crew", headers=world.headers("commander"),
                             json=crew_body(certificate_expires=expires.isoformat()))
    assert resp.status_code == 201
    return resp.json["id"]


@pytest.mark.parametrize("label,start,end,ok", [
    ("ends 23:30 local on the expiry day", (0, time(8), SHANGHAI), (0, time(23, 30), SHANGHAI), True),
    ("ends 23:30 local, given in UTC", (0, time(0), UTC), (0, time(15, 30), UTC), True),
    ("ends at local midnight exactly", (0, time(16), SHANGHAI), (1, time(0), SHANGHAI), True),
    ("crosses local midnight", (0, time(20), SHANGHAI), (1, time(0, 30), SHANGHAI), False),
    ("same UTC day but after local midnight", (0, time(8), UTC), (0, time(17), UTC), False),
    ("starts the day after", (1, time(0), SHANGHAI), (1, time(8), SHANGHAI), False),
])
def test_certificate_valid_through_its_local_expiry_day(world, rows, label, start, end, ok):
    """A certificate covers its expiry date until midnight Asia/Shanghai, not UTC."""
    expiry = datetime.now(SHANGHAI).date() + timedelta(days=3)
    crew_id = _crew_expiring(world, expiry)
    starts_at = datetime.combine(expiry + timedelta(days=start[0]), start[1], tzinfo=start[2])
    ends_at = datetime.combine(expiry + timedelta(days=end[0]), end[1], tzinfo=end[2])
    before = rows()
    resp = post_shift(world, crew_id, starts_at, ends_at)
    if ok:
        assert resp.status_code == 201, resp.json
    else:
        body = assert_problem(resp, 422, fields=["crew_id"], location="json")
        assert "certificate" in body["errors"][0]["detail"].lower()
        assert rows() == before


OVERLAPS = {
    "starts inside": (timedelta(hours=1), timedelta(hours=1)),
    "ends inside": (timedelta(hours=-3), timedelta(hours=-11)),
    "inside": (timedelta(hours=1), timedelta(hours=-1)),
    "encloses": (timedelta(hours=-1), timedelta(hours=1)),
    "identical": (timedelta(0), timedelta(0)),
    "last second": (timedelta(hours=12) - timedelta(seconds=1), timedelta(hours=6)),
    "first second": (timedelta(hours=-6), timedelta(hours=-12) + timedelta(seconds=1)),
}


@pytest.mark.parametrize("point_code", ["LH01", "LH02"])
@pytest.mark.parametrize("shape", OVERLAPS)
def test_overlapping_shifts_are_409(world, rows, point_code, shape):
    """A shift overlapping another of the same person at any point in time, here or elsewhere, is a 409."""
    start, end = fixture_shift_times(world)
    start_shift, end_shift = OVERLAPS[shape]
    before = rows()
    resp = post_shift(world, world.crew["ann"], start + start_shift, end + end_shift, point_code=point_code)
    assert_problem(resp, 409)
    assert rows() == before


@pytest.mark.parametrize("side", ["after", "before"])
def test_back_to_back_shifts_are_fine(world, side):
    """A shift starting exactly when another ends (or ending exactly when it starts) is accepted."""
    start, end = fixture_shift_times(world)
    if side == "after":
        resp = post_shift(world, world.crew["ann"], end, end + timedelta(hours=8))
    else:
        resp = post_shift(world, world.crew["ann"], start - timedelta(hours=8), start)
    assert resp.status_code == 201, resp.json


def test_other_people_may_share_the_time(world):
    """Overlap is per person: another crew member may work the same hours at the same point."""
    start, end = fixture_shift_times(world)
    assert post_shift(world, world.crew["soon"], start, end, point_code="LH01").status_code == 201


def test_crew_and_admin_cannot_plan_shifts(world, rows):
    """Only a commander writes shifts: crew and admin get 403 and nothing is written."""
    start = datetime.now(UTC) + timedelta(days=1)
    before = rows()
    for who in ("crew1", "admin", "auditor"):
        assert_problem(post_shift(world, world.crew["ann"], start, start + timedelta(hours=8), who=who), 403)
    assert rows() == before


def test_shift_filters(world):
    """Shifts filter by point_code, crew_id and `at` (an instant inside the shift, end excluded)."""
    start, end = fixture_shift_times(world)
    later = end + timedelta(days=1)
    assert post_shift(world, world.crew["ann"], later, later + timedelta(hours=6)).status_code == 201

    def shifts(**params):
        return walk(world, "/api/v1/shifts", who="crew1", limit=100, **{k: (v.isoformat() if isinstance(v, datetime)
                                                                            else v) for k, v in params.items()})

    assert len(shifts()) == 5
    assert sorted((s["point_code"], s["crew_id"]) for s in shifts(point_code="LH02")) == sorted(
        [("LH02", world.crew["dong"]), ("LH02", world.crew["ann"])])
    assert [s["point_code"] for s in shifts(point_code="LH01", crew_id=world.crew["ann"])] == ["LH01"]
    assert len(shifts(crew_id=world.crew["ann"])) == 2
    assert len(shifts(at=datetime.now(UTC))) == 4
    assert len(shifts(at=start)) == 4
    assert len(shifts(at=end)) == 0
    assert [s["crew_id"] for s in shifts(at=later + timedelta(hours=1))] == [world.crew["ann"]]
    assert shifts(crew_id=world.crew["expired"]) == []


def test_shift_list_pages(world):
    """limit=1 walks every shift once."""
    items = walk(world, "/api/v1/shifts", who="auditor", limit=1)
    assert len(items) == 4 and len({s["id"] for s in items}) == 4
