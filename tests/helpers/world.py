"""The worlds the API tests run in, built through the services and the API, and the request bodies they send.

`make_world`: two points (LH01 rocket, LH02 gun), six crew members, an account of every role, shifts now, and a
published announcement naming both points from 30 days ago to 30 days ahead (so a round there may be activated).
`make_ops_world`: that, plus an ammunition catalogue, opening stock and one planned round.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from geopy.distance import geodesic

from opsserver.accounts.services import create_account
from opsserver.database.utc import now_utc
from opsserver.registry.services import create_crew, create_point, create_shift

USERNAMES = ("admin", "commander", "auditor", "crew1", "crew2")  # their passwords: "password-" + username
ROLE_USERS = {"crew": "crew1", "commander": "commander", "auditor": "auditor", "admin": "admin"}  # one per role
POSITIONS = {"LH01": (33.58, 114.02), "LH02": (33.70, 114.10)}


def point_data(code="LH01", **overrides) -> dict:
    """A valid rocket point near Luohe's centre, with a sector crossing north."""
    data = {"code": code, "name": f"Test point {code}", "county": "Yancheng", "latitude": 33.58,
            "longitude": 114.02, "elevation_m": 60.0, "equipment": "rocket", "launchers": 2,
            "sector_start_deg": 300.0, "sector_end_deg": 40.0, "max_range_km": 7.0, "max_height_m": 7000.0,
            "geofence_m": 500.0}
    data.update(overrides)
    return data


def checkin_body(point: str = "LH01") -> dict:
    """A new arrival at LH01, inside its geofence, now."""
    return {"id": str(uuid.uuid4()), "point_code": point, "kind": "arrive", "latitude": 33.5801,
            "longitude": 114.0201, "accuracy_m": 6.0, "recorded_at": now_utc().isoformat()}


def report_body(fired: int = 1, point: str = "LH01") -> dict:
    """A new report firing `fired` rockets at LH01 now (inside the active round; flags do not matter)."""
    started = now_utc()
    return {"id": str(uuid.uuid4()), "point_code": point, "started_at": started.isoformat(),
            "ended_at": (started + timedelta(seconds=30)).isoformat(), "azimuth_deg": 10.0, "elevation_deg": 55.0,
            "ammo": [{"type": "RKT-AGI", "fired": fired, "duds": 0}]}


def announcement_body(points=("LH01", "LH02"), start=None, end=None, **overrides) -> dict:
    """A new announcement of `points` from `start` to `end` (default: 30 days either side of now)."""
    now = now_utc()
    body = {"period_start": (start or now - timedelta(days=30)).isoformat(),
            "period_end": (end or now + timedelta(days=30)).isoformat(), "point_codes": list(points),
            "purpose": "增雨抗旱", "issuer": "漯河市人工影响天气领导小组办公室", "contact_unit": "漯河市气象局",
            "contact_person": "王建国", "contact_phone": "0395-3121234", "safety_radius_km": 8.0}
    body.update(overrides)
    return body


def publish_announcement(client, token: str, body: dict) -> dict:
    """Draft and publish an announcement through the API as the commander whose token this is; the published one."""
    headers = {"Authorization": f"Bearer {token}"}
    resp = client.post("/api/v1/announcements", json=body, headers=headers)
    assert resp.status_code == 201, resp.json
    resp = client.post(f"/api/v1/announcements/{resp.json['id']}/publish", headers=headers)
    assert resp.status_code == 200, resp.json
    return resp.json


def parse(value: str) -> datetime:
    """An ISO time from an answer."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def login(client, username: str) -> str:
    """A fresh bearer token for one of the world's accounts."""
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": "password-" + username})
    assert resp.status_code == 200, resp.json
    return resp.json["access_token"]


@dataclass
class World:
    """A small deployment made through the services: points, crew, accounts of every role, shifts now."""

    client: object
    tokens: dict = field(default_factory=dict)
    crew: dict = field(default_factory=dict)
    points: dict = field(default_factory=dict)

    def headers(self, who: str, **extra) -> dict:
        """Request headers with `who`'s bearer token (and any `extra` ones)."""
        return {"Authorization": f"Bearer {self.tokens[who]}", **extra}


def make_world(app, client) -> World:
    """Build the small world in the app's database and log every account in."""
    today = date.today()
    with app.app_context():
        p1 = create_point("test", point_data("LH01"))
        p2 = create_point("test", point_data("LH02", equipment="gun", latitude=33.70, longitude=114.10,
                                             sector_start_deg=90.0, sector_end_deg=180.0))
        crew = {}
        for key, days, home in [("ann", 400, "LH01"), ("bo", 400, "LH01"), ("cai", 400, "LH01"),
                                ("dong", 400, "LH02"), ("soon", 10, "LH01"), ("expired", -5, "LH01")]:
            member = create_crew("test", {"name": key.title(), "phone": "13900000000",
                                          "certificate_no": f"CERT-{key}",
                                          "certificate_expires": today + timedelta(days=days),
                                          "home_point": home})
            crew[key] = member.id
        for username, role, crew_key in [("admin", "admin", None), ("commander", "commander", None),
                                         ("auditor", "auditor", None), ("crew1", "crew", "ann"),
                                         ("crew2", "crew", "dong")]:
            create_account("test", username, "password-" + username, role,
                           crew[crew_key] if crew_key else None)
        start = now_utc() - timedelta(hours=2)
        for key in ("ann", "bo", "cai"):
            create_shift("test", "LH01", crew[key], start, start + timedelta(hours=12), "operator")
        create_shift("test", "LH02", crew["dong"], start, start + timedelta(hours=12), "leader")
        points = {"LH01": p1.id, "LH02": p2.id}
    tokens = {username: login(client, username) for username in USERNAMES}
    publish_announcement(client, tokens["commander"], announcement_body())
    return World(client=client, crew=crew, points=points, tokens=tokens)


@dataclass
class OpsWorld(World):
    """The small world plus an ammunition catalogue, opening stock and one planned round of LH01 and LH02."""

    round_id: int = 0

    def post(self, who: str, url: str, body=None, **headers):
        """POST a JSON body (default {}) as `who`."""
        return self.client.post(url, json=body if body is not None else {}, headers=self.headers(who, **headers))

    def get(self, who: str, url: str, **headers):
        """GET as `who`."""
        return self.client.get(url, headers=self.headers(who, **headers))

    def arrive(self, crew_key: str, point: str = "LH01", *, metres: float = 50.0, at=None, kind: str = "arrive"):
        """Check a crew member in (recorded by the commander), `metres` from the point."""
        p = geodesic(meters=metres).destination(POSITIONS[point], 90)
        body = {"id": str(uuid.uuid4()), "point_code": point, "kind": kind, "latitude": p.latitude,
                "longitude": p.longitude, "accuracy_m": 5.0, "recorded_at": (at or now_utc()).isoformat(),
                "crew_id": self.crew[crew_key]}
        resp = self.post("commander", "/api/v1/checkins", body)
        assert resp.status_code == 201, resp.json
        return resp.json

    def activate(self, round_id: int | None = None):
        """Activate the round (the world's own by default), asserting it worked."""
        resp = self.post("commander", f"/api/v1/rounds/{round_id or self.round_id}/activate")
        assert resp.status_code == 200, resp.json
        return resp.json

    def request_window(self, point: str = "LH01", who: str = "commander", minutes: int = 30, start=None,
                       round_id: int | None = None):
        """Ask for an airspace window at `point` from `start` (default now); the answer, whatever it is."""
        body = {"point_code": point, "window_start": (start or now_utc()).isoformat(), "duration_min": minutes}
        return self.post(who, f"/api/v1/rounds/{round_id or self.round_id}/airspace", body)

    def approve(self, request_id: str, start, end, reference: str = "ATC-TEST-1"):
        """Record air traffic control's approval of a request for start..end; the answer."""
        return self.post("commander", f"/api/v1/airspace/{request_id}/decision",
                         {"decision": "approved", "approved_start": start.isoformat(),
                          "approved_end": end.isoformat(), "reference": reference})

    def ready_to_fire(self):
        """Activate the round, man LH01 (Ann, Bo, Cai) and approve a window there over the next hour."""
        self.activate()
        for key in ("ann", "bo", "cai"):
            self.arrive(key)
        now = now_utc()
        req = self.request_window("LH01", minutes=60, start=now - timedelta(minutes=1))
        assert req.status_code == 201, req.json
        resp = self.approve(req.json["id"], now - timedelta(minutes=1), now + timedelta(hours=1))
        assert resp.status_code == 200, resp.json

    def report(self, who: str = "crew1", *, point: str = "LH01", started=None, ended=None, azimuth: float = 10.0,
               ammo=None, round_id: int | None = None, **extra):
        """Report a firing (default: two rockets at LH01 now, azimuth 10°) as `who`; the answer."""
        started = started or now_utc()
        body = {"id": str(uuid.uuid4()), "point_code": point, "started_at": started.isoformat(),
                "ended_at": (ended or started).isoformat(), "azimuth_deg": azimuth, "elevation_deg": 55.0,
                "ammo": ammo or [{"type": "RKT-AGI", "fired": 2, "duds": 0}], **extra}
        return self.post(who, f"/api/v1/rounds/{round_id or self.round_id}/reports", body)


def make_ops_world(world: World) -> OpsWorld:
    """`world` plus RKT-AGI (1.2 g) and SHELL-37 (0.5 g), 20 rockets at LH01 and 100 shells at LH02, and a
    planned round (not yet active) ordering LH01 and LH02, all made through the API."""
    w = OpsWorld(client=world.client, tokens=world.tokens, crew=world.crew, points=world.points)
    for code, name, grams in [("RKT-AGI", "AgI rocket", 1.2), ("SHELL-37", "37 mm shell", 0.5)]:
        resp = w.post("admin", "/api/v1/ammo/types", {"code": code, "name": name, "agent": "AgI",
                                                      "agent_g_per_unit": grams, "placeholder": True})
        assert resp.status_code == 201, resp.json
    for point, code, qty in [("LH01", "RKT-AGI", 20), ("LH02", "SHELL-37", 100)]:
        resp = w.post("commander", "/api/v1/ammo/movements", {"point_code": point, "ammo_type": code,
                                                               "quantity": qty, "kind": "receipt",
                                                               "reference": "opening stock"})
        assert resp.status_code == 201, resp.json
    start = now_utc()
    resp = w.post("commander", "/api/v1/rounds", {"name": "Test round", "purpose": "rain_enhancement",
                                                   "planned_start": start.isoformat(),
                                                   "planned_end": (start + timedelta(hours=3)).isoformat(),
                                                   "point_codes": ["LH01", "LH02"]})
    assert resp.status_code == 201, resp.json
    w.round_id = resp.json["id"]
    return w
