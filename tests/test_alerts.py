"""Alerts (`GET /api/v1/alerts`): one test per alert type of the SPEC, each also checked absent in the
opposite case, and every alert named by its point with a message a person can act on.

Times that decide an alert (10 minutes before a window ends, 60 minutes after it ended) are reached with
time-machine; distances are computed with geopy.
"""

import re
import uuid
from datetime import date, datetime, timedelta

import pytest
import time_machine
from geopy.distance import geodesic

from opsserver.database.utc import now_utc

LH01 = (33.58, 114.02)
ALERT_KEYS = {"id", "type", "severity", "point_code", "since", "message"}


# --- helpers -------------------------------------------------------------------------------------

def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def alerts(w, who: str = "commander") -> list[dict]:
    resp = w.get(who, "/api/v1/alerts")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    items = resp.json["items"]
    for a in items:
        assert_well_formed(a)
    return items


def of(items: list[dict], type_: str, point: str | None = None) -> list[dict]:
    return [a for a in items if a["type"] == type_ and (point is None or a["point_code"] == point)]


def only(items: list[dict]) -> dict:
    """The one alert expected, with every alert in the failure message when there is not exactly one."""
    assert len(items) == 1, items
    return items[0]


def assert_well_formed(alert: dict):
    """Every field present; `since` an aware time; the message names the point and reads as prose."""
    assert ALERT_KEYS <= set(alert), alert
    assert alert["severity"] in ("critical", "warning", "info")
    assert parse(alert["since"]).tzinfo is not None
    message = alert["message"]
    assert isinstance(message, str) and len(message) > 15
    assert "None" not in message and "{" not in message
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d{3,}", message), message  # no raw microsecond timestamps


def assert_names_point(alert: dict, point: str):
    assert alert["point_code"] == point
    assert point in alert["message"], alert["message"]


def approve_window(w, start, end, point="LH01", reference="ATC-0042"):
    req = w.request_window(point)
    assert req.status_code == 201, req.json
    resp = w.approve(req.json["id"], start, end, reference=reference)
    assert resp.status_code == 200, resp.json
    return req.json["id"]


def checkin(w, who: str, *, metres: float = 40.0, recorded_at=None, device_time=None, point="LH01",
            crew_key: str | None = None):
    """A check-in posted by `who` (a crew account for itself, or the commander for `crew_key`)."""
    p = geodesic(meters=metres).destination(LH01, 200)
    body = {"id": str(uuid.uuid4()), "point_code": point, "kind": "arrive", "latitude": p.latitude,
            "longitude": p.longitude, "accuracy_m": 6.0, "recorded_at": (recorded_at or now_utc()).isoformat()}
    if crew_key:
        body["crew_id"] = w.crew[crew_key]
    headers = {"X-Device-Time": device_time.isoformat()} if device_time else {}
    resp = w.post(who, "/api/v1/checkins", body, **headers)
    assert resp.status_code == 201, resp.json
    return resp.json


# --- the endpoint --------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["crew1", "commander", "auditor", "admin"])
def test_every_role_reads_alerts(ops_world, who):
    """Every role gets `{items: [...]}`; with no active round and nothing flagged there are none."""
    resp = ops_world.get(who, "/api/v1/alerts")
    assert resp.status_code == 200
    assert resp.json["items"] == []


def test_alerts_need_a_token(ops_world):
    """Without a bearer token the alerts are 401."""
    assert ops_world.client.get("/api/v1/alerts").status_code == 401


def test_alerts_are_most_severe_first(ops_world):
    """A critical flagged report comes before the warnings."""
    w = ops_world
    w.activate()
    assert w.report(azimuth=200.0).status_code == 201
    items = alerts(w)
    order = {"critical": 0, "warning": 1, "info": 2}
    assert [order[a["severity"]] for a in items] == sorted(order[a["severity"]] for a in items)
    assert items[0]["type"] == "flagged_report"


# --- understaffed --------------------------------------------------------------------------------

def test_understaffed_point_in_an_active_round(ops_world):
    """LH01 with 2 of 3 certified crew in an active round is understaffed; a third arrival clears it."""
    w = ops_world
    assert of(alerts(w), "understaffed") == []  # planned, not active: nobody is expected yet
    activated = parse(w.activate()["activated_at"])
    w.arrive("ann")
    w.arrive("bo")
    w.arrive("expired")  # present but uncertified: does not count
    lh01 = only(of(alerts(w), "understaffed", "LH01"))
    assert_names_point(lh01, "LH01")
    assert "2" in lh01["message"] and "3" in lh01["message"]
    assert lh01["severity"] == "warning"
    assert parse(lh01["since"]) == activated
    lh02 = only(of(alerts(w), "understaffed", "LH02"))
    assert "0" in lh02["message"] and "4" in lh02["message"]
    w.arrive("cai")
    items = alerts(w)
    assert of(items, "understaffed", "LH01") == []
    assert len(of(items, "understaffed", "LH02")) == 1


def test_no_understaffed_alert_once_the_round_is_closed(ops_world):
    """A closed round orders nobody: its empty points raise no understaffed alert."""
    w = ops_world
    w.activate()
    assert len(of(alerts(w), "understaffed")) == 2
    assert w.post("commander", f"/api/v1/rounds/{w.round_id}/close").status_code == 200
    assert of(alerts(w), "understaffed") == []


def test_stood_down_point_is_not_understaffed(ops_world):
    """A point the commander released from the round is not expected to be manned."""
    w = ops_world
    w.activate()
    resp = w.post("commander", f"/api/v1/rounds/{w.round_id}/points/LH02/stand-down", {"reason": "no cloud"})
    assert resp.status_code in (200, 201), resp.json
    items = alerts(w)
    assert of(items, "understaffed", "LH02") == []
    assert len(of(items, "understaffed", "LH01")) == 1


# --- check-in outside the geofence -------------------------------------------------------------------

def test_checkin_outside_geofence(ops_world):
    """Ann's latest check-in 800 m from LH01 (geofence 500 m) is an alert naming her and the distance."""
    w = ops_world
    checkin(w, "crew1", metres=800)
    checkin(w, "commander", metres=100, crew_key="bo")
    a = only(of(alerts(w), "checkin_outside_geofence"))
    assert_names_point(a, "LH01")
    assert "Ann" in a["message"] and "800" in a["message"] and "500" in a["message"]
    assert a["severity"] == "warning"


def test_checkin_back_inside_clears_the_geofence_alert(ops_world):
    """When Ann's next check-in is 30 m from LH01 the alert goes away (only the latest check-in counts)."""
    w = ops_world
    checkin(w, "crew1", metres=800, recorded_at=now_utc() - timedelta(minutes=5))
    assert len(of(alerts(w), "checkin_outside_geofence")) == 1
    checkin(w, "crew1", metres=30)
    assert of(alerts(w), "checkin_outside_geofence") == []


def test_checkin_just_inside_the_geofence_is_no_alert(ops_world):
    """490 m from a 500 m geofence is inside: no alert."""
    w = ops_world
    checkin(w, "crew1", metres=490)
    assert of(alerts(w), "checkin_outside_geofence") == []


# --- flagged report ------------------------------------------------------------------------------

def test_flagged_report_is_an_alert(ops_world):
    """A report fired without airspace and outside the sector is a critical alert giving the reasons."""
    w = ops_world
    w.activate()
    for key in ("ann", "bo", "cai"):
        w.arrive(key)
    resp = w.report(azimuth=200.0)
    assert resp.status_code == 201, resp.json
    assert {"no_airspace", "outside_sector"} <= {f["code"] for f in resp.json["flags"]}
    a = only(of(alerts(w), "flagged_report"))
    assert_names_point(a, "LH01")
    assert a["severity"] == "critical"
    # the reasons in the reader's language (Chinese by default), each of them, with its values
    assert "没有已批准的空域窗口" in a["message"] and "200" in a["message"]
    english = w.client.get("/api/v1/alerts", headers=w.headers("commander", **{"Accept-Language": "en"})).json
    assert "no approved airspace window" in only(of(english["items"], "flagged_report"))["message"]
    assert resp.json["id"] in a["id"] or resp.json["id"][:8] in a["message"]


def test_clean_report_is_no_alert(ops_world):
    """A report inside an approved window, in the sector, fully crewed and stocked raises no alert."""
    w = ops_world
    w.activate()
    for key in ("ann", "bo", "cai"):
        w.arrive(key)
    now = now_utc()
    approve_window(w, now - timedelta(minutes=1), now + timedelta(minutes=30))
    resp = w.report(started=now_utc(), azimuth=10.0)
    assert resp.status_code == 201, resp.json
    assert resp.json["flags"] == []
    items = alerts(w)
    assert of(items, "flagged_report") == []
    assert [a for a in items if a["point_code"] == "LH01"] == []


# --- window ending -------------------------------------------------------------------------------

def test_window_ending_within_ten_minutes(ops_world):
    """An approved open window with 9 minutes left is an alert naming LH01 and ATC's reference; 11 is not."""
    w = ops_world
    w.activate()
    now = now_utc()
    end = now + timedelta(minutes=25)
    approve_window(w, now - timedelta(minutes=5), end, reference="ATC-END-9")
    with time_machine.travel(end - timedelta(minutes=11), tick=False):
        assert of(alerts(w), "window_ending") == []
    with time_machine.travel(end - timedelta(minutes=9), tick=False):
        a = only(of(alerts(w), "window_ending"))
    assert_names_point(a, "LH01")
    assert "ATC-END-9" in a["message"] and "9 分钟" in a["message"]  # Chinese: no Accept-Language
    with time_machine.travel(end + timedelta(minutes=1), tick=False):
        assert of(alerts(w), "window_ending") == []  # closed: no longer "ending"


def test_terminated_window_is_not_ending(ops_world):
    """A window stopped early is over: no window_ending alert even though its planned end is near."""
    w = ops_world
    w.activate()
    now = now_utc()
    end = now + timedelta(minutes=8)
    request_id = approve_window(w, now - timedelta(minutes=5), end)
    assert len(of(alerts(w), "window_ending")) == 1
    assert w.post("commander", f"/api/v1/airspace/{request_id}/terminate").status_code == 200
    assert of(alerts(w), "window_ending") == []


# --- window unreported ---------------------------------------------------------------------------

def test_window_unreported_after_sixty_minutes(ops_world):
    """No report 61 minutes after LH01's window ended is an alert; at 59 minutes it is not yet."""
    w = ops_world
    w.activate()
    now = now_utc()
    end = now + timedelta(minutes=5)
    approve_window(w, now - timedelta(minutes=5), end, reference="ATC-SILENT")
    with time_machine.travel(end + timedelta(minutes=59), tick=False):
        assert of(alerts(w), "window_unreported") == []
    with time_machine.travel(end + timedelta(minutes=61), tick=False):
        a = only(of(alerts(w), "window_unreported"))
    assert_names_point(a, "LH01")
    assert "ATC-SILENT" in a["message"]


def test_reported_window_is_not_unreported(ops_world):
    """A report from LH01 inside its window keeps the alert away, 61 minutes on and later."""
    w = ops_world
    w.activate()
    now = now_utc()
    end = now + timedelta(minutes=5)
    approve_window(w, now - timedelta(minutes=5), end)
    assert w.report(started=now_utc()).status_code == 201
    for after in (61, 180):
        with time_machine.travel(end + timedelta(minutes=after), tick=False):
            assert of(alerts(w), "window_unreported") == []


def test_report_from_another_point_does_not_count(ops_world):
    """LH02's report says nothing about LH01's window: LH01's window is still unreported."""
    w = ops_world
    w.activate()
    now = now_utc()
    end = now + timedelta(minutes=5)
    approve_window(w, now - timedelta(minutes=5), end)
    resp = w.report("commander", point="LH02", started=now_utc(), azimuth=120.0, crew_id=w.crew["dong"],
                    ammo=[{"type": "SHELL-37", "fired": 3, "duds": 0}])
    assert resp.status_code == 201, resp.json
    with time_machine.travel(end + timedelta(minutes=61), tick=False):
        items = alerts(w)
    assert [a["point_code"] for a in of(items, "window_unreported")] == ["LH01"]


# --- certificate expiring ----------------------------------------------------------------------------

def test_certificate_expiring_for_someone_on_shift(ops_world):
    """Soon (certificate expires in 10 days) on a shift covering now: a warning naming Soon, LH01, the date."""
    w = ops_world
    assert of(alerts(w), "certificate_expiring") == []  # Soon has no shift yet
    now = now_utc()
    resp = w.post("commander", "/api/v1/shifts", {"point_code": "LH01", "crew_id": w.crew["soon"],
                                                   "starts_at": (now - timedelta(minutes=30)).isoformat(),
                                                   "ends_at": (now + timedelta(hours=6)).isoformat()})
    assert resp.status_code == 201, resp.json
    a = only(of(alerts(w), "certificate_expiring"))
    assert_names_point(a, "LH01")
    assert a["severity"] == "warning"
    expires = (date.today() + timedelta(days=10)).isoformat()
    assert "Soon" in a["message"] and expires in a["message"] and "CERT-soon" in a["message"]


def test_valid_certificates_on_shift_are_no_alert(ops_world):
    """Ann, Bo, Cai and Dong (certificates valid for 400 days) are on shift now: no certificate alert."""
    w = ops_world
    shifts = w.get("commander", f"/api/v1/shifts?at={now_utc().isoformat().replace('+', '%2B')}").json["items"]
    assert len(shifts) == 4
    assert of(alerts(w), "certificate_expiring") == []


def test_expired_certificate_cannot_get_a_shift_so_never_alerts(ops_world, rows):
    """Shifts for Expired, or past Soon's expiry, are refused (plans), so no expired certificate alerts."""
    w = ops_world
    now = now_utc()
    before = rows()
    resp = w.post("commander", "/api/v1/shifts", {"point_code": "LH01", "crew_id": w.crew["expired"],
                                                   "starts_at": now.isoformat(),
                                                   "ends_at": (now + timedelta(hours=4)).isoformat()})
    assert resp.status_code == 422, resp.json
    assert "crew_id" in [e["field"] for e in resp.json["errors"]]
    resp = w.post("commander", "/api/v1/shifts", {"point_code": "LH01", "crew_id": w.crew["soon"],
                                                   "starts_at": (now + timedelta(days=9)).isoformat(),
                                                   "ends_at": (now + timedelta(days=12)).isoformat()})
    assert resp.status_code == 422, resp.json
    assert rows() == before
    checkin(w, "commander", crew_key="expired")  # a fact: stored, but it is not a shift
    items = alerts(w)
    assert of(items, "certificate_expiring") == []
    assert not any("Expired" in a["message"] for a in items)


# --- clock skew ----------------------------------------------------------------------------------

def test_phone_clock_fifteen_minutes_ahead(ops_world):
    """Ann's phone runs 15 minutes fast (its header and its own timestamps): an alert naming her and LH01."""
    w = ops_world
    phone_now = now_utc() + timedelta(minutes=15)
    checkin(w, "crew1", recorded_at=phone_now, device_time=phone_now)
    a = only(of(alerts(w), "clock_skew"))
    assert_names_point(a, "LH01")
    assert "Ann" in a["message"]
    assert a["severity"] == "warning"


def test_phone_clock_fifteen_minutes_behind(ops_world):
    """A phone 15 minutes slow is skewed too: an alert naming the point."""
    w = ops_world
    phone_now = now_utc() - timedelta(minutes=15)
    checkin(w, "crew1", recorded_at=phone_now, device_time=phone_now)
    a = only(of(alerts(w), "clock_skew"))
    assert_names_point(a, "LH01")
    assert "Ann" in a["message"]


def test_skewed_header_with_server_time_stamps(ops_world):
    """X-Device-Time 15 minutes ahead on a check-in stamped with the server's time is still a skewed clock."""
    w = ops_world
    checkin(w, "crew1", device_time=now_utc() + timedelta(minutes=15))
    a = only(of(alerts(w), "clock_skew"))
    assert_names_point(a, "LH01")


def test_small_clock_difference_is_no_alert(ops_world):
    """Five minutes off is within the 10-minute tolerance; a phone sending no time is not judged."""
    w = ops_world
    phone_now = now_utc() + timedelta(minutes=5)
    checkin(w, "crew1", recorded_at=phone_now - timedelta(minutes=6), device_time=phone_now)
    checkin(w, "commander", crew_key="bo")
    assert of(alerts(w), "clock_skew") == []


def test_corrected_clock_clears_the_alert(ops_world):
    """Once Ann's latest check-in comes from a correct clock, the skew alert is gone."""
    w = ops_world
    slow = now_utc() - timedelta(minutes=20)
    checkin(w, "crew1", recorded_at=slow, device_time=slow)
    assert len(of(alerts(w), "clock_skew")) == 1
    checkin(w, "crew1", device_time=now_utc())
    assert of(alerts(w), "clock_skew") == []
