"""The drill plays a whole round through the services, over a night that has passed; the migrations match
the models."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import text

import maps.rounds
from maps.labels import labels_for

from opsserver.database.utc import now_utc
from opsserver.extensions import db
from opsserver.reports.facts import round_data, round_events

SHANGHAI = ZoneInfo("Asia/Shanghai")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def morning_after():
    """10:00 local today: the drill then plays last night, whatever the hour the test runs at."""
    local = now_utc().astimezone(SHANGHAI).replace(hour=10, minute=0, second=0, microsecond=0)
    return time_machine.travel(local, tick=True)


def test_drill_plays_a_round(app, runner, client):
    """After seed-demo and drill: every kind of state, flagged and clean reports, one consumption per line."""
    with morning_after():
        assert runner.invoke(args=["ops", "seed-demo"]).exit_code == 0
        result = runner.invoke(args=["ops", "drill"])
        assert result.exit_code == 0, result.output
        _check_the_drilled_round(client)


def _check_the_drilled_round(client):
    token = client.post("/api/v1/auth/token", json={"username": "auditor",
                                                    "password": "auditor-demo-pass"}).json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    detail = client.get("/api/v1/rounds/1", headers=headers).json
    states = {p["point_code"]: p["state"] for p in detail["points"]}
    assert detail["status"] == "active" and len(states) == 18
    # The morning after: windows used or closed unused, two requests still unanswered.
    assert {"done", "requested", "rejected", "manned", "declined", "stood_down"} <= set(states.values())
    reports = client.get("/api/v1/rounds/1/reports", headers=headers).json["items"]
    codes = {f["code"] for r in reports for f in r["flags"]}
    assert {"outside_sector", "over_height", "insufficient_stock", "outside_window", "understaffed",
            "no_fire_zone"} <= codes
    assert any(not r["flags"] for r in reports)
    consumption = client.get("/api/v1/ammo/ledger?round_id=1&limit=1000", headers=headers).json["items"]
    assert len(consumption) == sum(len(r["ammo"]) for r in reports)
    assert sum(-e["quantity"] for e in consumption) == sum(line["fired"] for r in reports for line in r["ammo"])
    assert client.get("/api/v1/audit/verify", headers=headers).json["ok"] is True
    alerts = client.get("/api/v1/alerts", headers=headers).json["items"]
    # Last night's check-in 800 m out is no live alert the morning after (alerts look 12 h back), but a fact.
    assert {"flagged_report", "certificate_expiring", "window_unreported"} <= {a["type"] for a in alerts}
    checkins = client.get("/api/v1/checkins?limit=200", headers=headers).json["items"]
    assert any(c["within_geofence"] is False for c in checkins)
    _check_the_drilled_orders(client, headers, reports, alerts)


def _check_the_drilled_orders(client, headers, reports, alerts):
    """Readiness 3 to every point at activation, fire orders inside windows, a cease where a window was
    terminated; the phones' acknowledgements (LH10's late through the queue, LH16's never: one alert); LH04
    fires one round more than ordered (off_order)."""
    detail = client.get("/api/v1/rounds/1", headers=headers).json
    orders = client.get("/api/v1/rounds/1/orders?limit=100", headers=headers).json["items"]
    kinds = [o["kind"] for o in orders]
    assert kinds.count("readiness") == 18 and kinds.count("fire") == 3 and kinds.count("cease") == 1
    activated = parse(detail["activated_at"])
    assert all(parse(o["issued_at"]) == activated for o in orders if o["kind"] == "readiness")
    assert [o["point_code"] for o in orders if o["acknowledged_at"] is None] == ["LH16"]
    delays = {o["point_code"]: o["ack_delay_s"] for o in orders if o["kind"] == "readiness"}
    assert all(d < 60 for code, d in delays.items() if code not in ("LH10", "LH16")) and delays["LH10"] == 360
    late = next(o for o in orders if o["point_code"] == "LH10")
    assert parse(late["ack_received_at"]) - parse(late["acknowledged_at"]) > timedelta(minutes=5)  # synced later
    (cease,) = [o for o in orders if o["kind"] == "cease"]
    windows = client.get("/api/v1/airspace?round_id=1&point_code=LH09", headers=headers).json["items"]
    assert any(w["terminated_at"] and parse(w["terminated_at"]) == parse(cease["issued_at"]) for w in windows)
    points = {p["point_code"]: p for p in detail["points"]}
    assert points["LH16"]["readiness_level"] == 3 and points["LH09"]["last_order"]["kind"] == "cease"
    assert [a["point_code"] for a in alerts if a["type"] == "order_unacknowledged"] == ["LH16"]
    assert [r["point_code"] for r in reports if "off_order" in {f["code"] for f in r["flags"]}] == ["LH04"]


def test_drill_can_close_its_round(app, runner, client):
    """`drill --close` leaves the round closed."""
    runner.invoke(args=["ops", "seed-demo"])
    result = runner.invoke(args=["ops", "drill", "--close"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.execute(text("SELECT closed_at IS NOT NULL FROM rounds")).scalar()
    token = client.post("/api/v1/auth/token", json={"username": "auditor",
                                                    "password": "auditor-demo-pass"}).json["access_token"]
    alerts = client.get("/api/v1/alerts", headers={"Authorization": f"Bearer {token}"}).json["items"]
    assert "order_unacknowledged" not in {a["type"] for a in alerts}  # LH16's order: an alert of active rounds only


def test_the_drill_spreads_over_a_night_that_has_passed(app, runner, client):
    """Ordered at 20:00 local, crews arriving over the next hour, airspace asked and answered through the
    evening, firings over hours, closed before dawn; every time before now, no report late or implausible,
    and the replay's events span the night (not two seconds)."""
    for hour in (3, 21):  # in the small hours, and just after 20:00: the night played is one that has ended
        assert runner.invoke(args=["ops", "seed-demo"]).exit_code == 0
        local = now_utc().astimezone(SHANGHAI).replace(hour=hour, minute=0, second=0, microsecond=0)
        with time_machine.travel(local, tick=True):
            result = runner.invoke(args=["ops", "drill", "--close"])
            assert result.exit_code == 0, result.output
            now = now_utc()
            token = client.post("/api/v1/auth/token", json={"username": "auditor",
                                                            "password": "auditor-demo-pass"}).json["access_token"]
            h = {"Authorization": f"Bearer {token}"}
            round_id = max(r["id"] for r in client.get("/api/v1/rounds", headers=h).json["items"])
            detail = client.get(f"/api/v1/rounds/{round_id}", headers=h).json
            ordered, closed = parse(detail["created_at"]), parse(detail["closed_at"])
            assert ordered.astimezone(SHANGHAI).hour == 20 and ordered.astimezone(SHANGHAI).minute == 0
            assert closed.astimezone(SHANGHAI).hour < 5 and closed - ordered > timedelta(hours=8)
            assert closed < now
            reports = client.get(f"/api/v1/rounds/{round_id}/reports", headers=h).json["items"]
            starts = sorted(parse(r["started_at"]) for r in reports)
            assert starts[-1] - starts[0] > timedelta(hours=2)
            for r in reports:
                assert ordered < parse(r["started_at"]) <= parse(r["ended_at"]) < parse(r["received_at"]) < closed
                assert not {"late_report", "implausible_time"} & {f["code"] for f in r["flags"]}
            checkins = client.get("/api/v1/checkins?limit=200", headers=h).json["items"]
            arrivals = sorted(parse(c["recorded_at"]) for c in checkins if ordered < parse(c["recorded_at"]) < closed)
            assert len(arrivals) > 40 and arrivals[0] - ordered > timedelta(minutes=10)
            assert timedelta(minutes=30) < arrivals[-1] - arrivals[0] < timedelta(hours=2)
            night = [c for c in checkins if ordered < parse(c["recorded_at"]) < closed]
            # on the night's shifts, sent as they were made (the phones' clocks right), one phone outside
            assert all(c["on_shift"] and abs(c["clock_offset_s"] or 0) < 60 for c in night)
            assert sum(c["within_geofence"] is False for c in night) == 1
            timeline = client.get(f"/api/v1/rounds/{round_id}/report", headers=h).json["timeline"]
            times = [parse(e["at"]) for e in timeline]
            assert max(times) <= now and max(times) - min(times) > timedelta(hours=8)
            # The replay's timed features (what its slider steps through) span the night too.
            with app.app_context():
                data = round_data(round_id)
                features = maps.rounds.replay_features(data, round_events(data), labels_for("zh"))
            stamps = sorted(parse(f["properties"]["time"]) for f in features)
            assert stamps[-1] - stamps[0] > timedelta(hours=6) and stamps[-1] < now


def test_migrations_match_the_models(app):
    """Alembic finds nothing to generate: the migrations create exactly the models' schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context():
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []
