"""The drill: one demo round played against the current database through the same services as the API.

Crews arrive at every point (one point short-handed, one phone outside the geofence), points ask for
airspace, the commander approves most windows and rejects one, one point declines and one is stood
down, and the firings include some that break rules: outside the sector, over height, short of
stock, past a terminated window. Time is compressed to a few seconds.
"""

import random
import time
import uuid
from datetime import timedelta

from geopy.distance import geodesic
from sqlalchemy import select

import rules
from ..accounts.auth import Principal
from ..accounts.models import Account
from ..ammo.services import stock
from ..checkins.services import submit_checkin
from ..clock import zone_name
from ..database.utc import now_utc
from ..extensions import db
from ..operations.airspace import decide, submit_airspace_request, terminate
from ..operations.reports import submit_report
from ..operations.rounds import activate_round, close_round, create_round, decline_point, get_round, stand_down_point
from ..operations.state import points_in_rounds
from ..registry.models import CrewMember, Point


def _principal(account: Account) -> Principal:
    return Principal(account.id, account.username, account.role, account.crew_id)


def _position(point: Point, metres: float, rng: random.Random) -> tuple[float, float]:
    p = geodesic(meters=metres).destination((point.latitude, point.longitude), rng.uniform(0, 360))
    return p.latitude, p.longitude


def _mid_sector(point: Point) -> float:
    return (point.sector_start_deg + rules.sector_width(point.sector_start_deg, point.sector_end_deg) / 2) % 360


def run_drill(*, close: bool = False, seed: int = 7) -> dict:
    """Play the drill; answers the round's id and each point's final state."""
    rng = random.Random(seed)
    accounts = list(db.session.execute(select(Account).where(Account.active.is_(True))).scalars())
    commander = next((a for a in accounts if a.role == "commander"), None)
    if commander is None:
        raise RuntimeError("the drill needs a commander account (load the demo with `ops seed-demo`)")
    boss = _principal(commander)
    crew_accounts = {a.crew_id: _principal(a) for a in accounts if a.role == "crew"}
    points = list(db.session.execute(select(Point).where(Point.active.is_(True)).order_by(Point.code)).scalars())
    if len(points) < 12:
        raise RuntimeError("the drill needs at least 12 active points")
    now = now_utc()
    tz = zone_name()
    crews = {p.id: [m for m in db.session.execute(select(CrewMember).where(
        CrewMember.home_point_id == p.id, CrewMember.active.is_(True)).order_by(CrewMember.id)).scalars()
        if rules.certificate_valid_at(m.certificate_expires, now, tz)] for p in points}

    r = create_round(boss.username, {
        "name": f"Drill {rules.local_time(now, tz)[:16]}", "purpose": "rain_enhancement", "planned_start": now,
        "planned_end": now + timedelta(hours=3), "point_codes": [p.code for p in points],
        "notes": "DEMO drill played by `ops drill`"})
    activate_round(boss.username, r.id)

    short_handed, far_phone, declines, stood_down = points[2], points[5], points[-2], points[-1]
    for p in points:
        members = crews[p.id][:-1] if p is short_handed else crews[p.id]
        for n, m in enumerate(members):
            metres = 800 if (p is far_phone and n == 0) else rng.uniform(20, 250)
            lat, lon = _position(p, metres, rng)
            body = {"id": str(uuid.uuid4()), "point_code": p.code, "kind": "arrive", "latitude": lat,
                    "longitude": lon, "accuracy_m": round(rng.uniform(4, 25), 1), "recorded_at": now_utc().isoformat()}
            who = crew_accounts.get(m.id)
            if who is None:
                body["crew_id"] = m.id
            submit_checkin(who or boss, body, None, now_utc())
    crew_of = {p.id: next((crew_accounts[m.id] for m in crews[p.id] if m.id in crew_accounts), None) for p in points}
    decline_point(crew_of[declines.id] or boss, r.id, declines.code, "DEMO: launcher fault")
    stand_down_point(boss.username, r.id, stood_down.code, "DEMO: released by the commander")

    requesting = points[:14]
    rejected, pending = points[4], points[12:14]
    windows = {}
    for i, p in enumerate(requesting):
        data = {"id": uuid.uuid4(), "point_code": p.code, "window_start": now_utc(), "window_end": None,
                "duration_min": 40, "max_height_m": p.max_height_m}
        _, req, _ = submit_airspace_request(boss, r.id, {"drill": i}, None, data)
        if p in pending:
            continue
        if p is rejected:
            decide(boss.username, req["id"], {"decision": "rejected", "reason": "civil_flight",
                                                 "reason_detail": "DEMO: scheduled flight crossing"})
            continue
        start = now_utc()
        windows[p.code] = decide(boss.username, req["id"], {
            "decision": "approved", "approved_start": start - timedelta(seconds=1),
            "approved_end": start + timedelta(minutes=40), "reference": f"ATC-DEMO-{i + 1:03d}"})

    firing = [points[i] for i in (0, 1, 2, 3, 5, 6, 7, 8)]
    terminated = points[8]
    fire_start = now_utc()
    time.sleep(1.0)
    terminate(boss.username, windows[terminated.code]["id"])
    time.sleep(0.5)
    fire_end = now_utc()
    reports = []
    for p in firing:
        rocket = p.equipment == "rocket"
        fired = 2 if rocket else 12
        if p is points[7]:  # more than the ledger holds: the report is flagged and the stock goes negative
            fired = max(0, stock([p.id]).get(p.id, {}).get("RKT-AGI" if rocket else "SHELL-37", 0)) + 6
        data = {"id": uuid.uuid4(), "point_code": p.code, "crew_id": None, "started_at": fire_start,
                "ended_at": fire_end, "azimuth_deg": _mid_sector(p), "elevation_deg": 55.0,
                "height_m": p.max_height_m + 500 if p is points[3] else p.max_height_m - 1000, "range_km": None,
                "ammo": [{"type": "RKT-AGI" if rocket else "SHELL-37", "fired": fired, "duds": 1 if fired > 10 else 0}],
                "cloud_type": "Ns", "weather_before": "DEMO: overcast, light rain",
                "weather_after": "DEMO: moderate rain",
                "notes": "DEMO drill"}
        if p is points[6]:
            data["azimuth_deg"] = (p.sector_end_deg + 25) % 360
        who = crew_of[p.id] or boss
        if who is boss:
            data["crew_id"] = crews[p.id][0].id
        _, body, _ = submit_report(who, r.id, {"drill": str(data["id"])}, None, data)
        reports.append(body)
    if close:
        close_round(boss.username, r.id)
    states = points_in_rounds([get_round(r.id)])[r.id]
    return {"round_id": r.id, "states": {pr.point.code: pr.state for pr in states},
            "flagged_reports": sum(1 for b in reports if b["flags"]), "reports": len(reports)}
