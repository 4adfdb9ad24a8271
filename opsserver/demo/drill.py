"""The drill: one demo round played against the current database through the same services as the API.

It plays the last night that has fully passed, as it would have happened: the commander orders the
round at 20:00 local, crews arrive over the next hour (one point short-handed, one phone outside the
geofence), one point declines and one is stood down, points ask for airspace one after another through
the evening and air traffic control answers within minutes (most approved, one rejected, two late
requests never answered), the firings run from about 21:30 to 01:00 and include some that break rules
(outside the sector, over height, short of stock, past a terminated window, and LH02's along the middle of
its sector, whose firing line passes within the buffer of the demo school lying there: a no-fire zone), and
`--close` closes the round at 04:40, before dawn.

The command centre's orders: readiness level 3 to every point at activation, a fire order to three points once
their window opens (LH04's for one round fewer than it fires: `off_order`), a cease to LH09 when its window is
terminated. The phones acknowledge each within a minute, except LH10's, acknowledged offline six minutes after
the order and synced nine minutes after that, and LH16's, which never answers (an `order_unacknowledged`
alert while the round is active).

Its texts are Chinese, like the rest of the Luohe demo, and say they are a demonstration (演示).
Each step runs at its time of that night (database.utc.played_at), so every record and audit event
carries the time it would have had; all of them lie before now, so nothing is in the future and no
report is late or implausible. The night's shifts are planned first, like a dispatcher's afternoon.
"""

import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from geopy.distance import geodesic
from sqlalchemy import select

import rules
from ..accounts.auth import Principal
from ..accounts.models import Account
from ..ammo.services import stock
from ..checkins.services import submit_checkin, sync
from ..clock import zone_name
from ..database.utc import now_utc, played_at
from ..errors import ProblemError
from ..extensions import db
from ..operations.airspace import decide, submit_airspace_request, terminate
from ..operations.orders import acknowledge, issue_order
from ..operations.reports import submit_report
from ..operations.rounds import activate_round, close_round, create_round, decline_point, get_round, stand_down_point
from ..operations.state import points_in_rounds
from ..registry.models import CrewMember, Point, Shift
from ..registry.services import create_shift
from .seed import tonight

ORDERED_AT = time(20)  # local: the commander orders the round in the evening
NIGHT = timedelta(hours=8, minutes=45)  # from the order to the last step (the close at 04:40, before dawn)
CLOSE_AFTER = timedelta(hours=8, minutes=40)


def _principal(account: Account) -> Principal:
    return Principal(account.id, account.username, account.role, account.crew_id)


def _position(point: Point, metres: float, rng: random.Random) -> tuple[float, float]:
    p = geodesic(meters=metres).destination((point.latitude, point.longitude), rng.uniform(0, 360))
    return p.latitude, p.longitude


def _mid_sector(point: Point) -> float:
    return (point.sector_start_deg + rules.sector_width(point.sector_start_deg, point.sector_end_deg) / 2) % 360


def _rounds(point: Point) -> int:
    """What a point fires in a salvo: two rockets, or twelve shells."""
    return 2 if point.equipment == "rocket" else 12


def night_start(now: datetime, tz_name: str) -> datetime:
    """20:00 local of the latest night that has fully passed by `now` (its last step before now)."""
    tz = ZoneInfo(tz_name)
    day = now.astimezone(tz).date()
    for back in range(3):
        start = datetime.combine(day - timedelta(days=back), ORDERED_AT, tzinfo=tz)
        if start + NIGHT <= now:
            return start.astimezone(UTC)
    raise AssertionError("a night ends within two days")  # pragma: no cover


class _Night:
    """The steps of the night, played in the order of their times, each at its time."""

    def __init__(self) -> None:
        self.steps: list[tuple[datetime, int, Callable[[], None]]] = []

    def at(self, when: datetime, step: Callable[[], None]) -> None:
        self.steps.append((when, len(self.steps), step))

    def play(self) -> None:
        for when, _, step in sorted(self.steps, key=lambda s: (s[0], s[1])):
            with played_at(when):
                step()


def _plan_shifts(boss: Principal, crews: dict[int, list[CrewMember]], points: list[Point], start: datetime) -> None:
    """The night's shifts (18:00–06:00 local), for everyone the demo has not planned already."""
    shift_start, shift_end = tonight(start)
    for p in points:
        for n, m in enumerate(crews[p.id]):
            covered = db.session.execute(select(Shift.id).where(
                Shift.crew_id == m.id, Shift.point_id == p.id,
                rules.on_shift_sql(Shift.starts_at, Shift.ends_at, start),
                rules.on_shift_sql(Shift.starts_at, Shift.ends_at, start + NIGHT)).limit(1)).first()
            if covered:
                continue
            try:
                create_shift(boss.username, p.code, m.id, shift_start, shift_end, "leader" if n == 0 else "operator")
            except ProblemError:  # another shift of theirs overlaps: they work the night without a plan (flagged)
                db.session.rollback()


def run_drill(*, close: bool = False, seed: int = 7) -> dict:
    """Play the drill; answers the round's id, the night it played, and each point's state now."""
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
    tz = zone_name()
    t0 = night_start(now_utc(), tz)

    def minutes(m: float) -> datetime:
        return t0 + timedelta(minutes=m)

    crews = {p.id: [m for m in db.session.execute(select(CrewMember).where(
        CrewMember.home_point_id == p.id, CrewMember.active.is_(True)).order_by(CrewMember.id)).scalars()
        if rules.certificate_valid_at(m.certificate_expires, t0 + NIGHT, tz)] for p in points}
    crew_of = {p.id: next((crew_accounts[m.id] for m in crews[p.id] if m.id in crew_accounts), None) for p in points}
    with played_at(t0 - timedelta(hours=2, minutes=30)):
        _plan_shifts(boss, crews, points, t0)

    night = _Night()
    made: dict = {}

    def order_round() -> None:
        made["round"] = create_round(boss.username, {
            "name": f"演练 {rules.local_time(t0, tz)[:16]}", "purpose": "rain_enhancement",
            "planned_start": minutes(30), "planned_end": minutes(510), "point_codes": [p.code for p in points],
            "notes": "演示数据：由 ops drill 生成（DEMO）"}).id

    night.at(t0, order_round)
    night.at(minutes(5), lambda: activate_round(boss.username, made["round"]))

    def give(key: str, p: Point, body: dict) -> None:  # an order from the command centre
        made[key] = issue_order(boss.username, made["round"], {"point_code": p.code, **body})["id"]

    def ack(key: str, p: Point) -> None:  # the point's phone acknowledges it at once
        if crew_of[p.id] is not None:
            acknowledge(crew_of[p.id], made[key], {}, None)

    def queued_ack(key: str, p: Point, phone_time: datetime) -> None:  # acknowledged offline, synced later
        item = {"type": "order_ack", "id": str(uuid.uuid4()), "order_id": made[key],
                "acknowledged_at": phone_time.isoformat()}
        (answer,) = sync(crew_of[p.id], [item], None)
        if answer["status"] != 200:
            raise RuntimeError(f"the drill's queued acknowledgement was refused: {answer}")

    late_ack, never_ack = points[9], points[15]
    for i, p in enumerate(points):
        night.at(minutes(5), lambda p=p: give(f"ready:{p.code}", p, {"kind": "readiness", "readiness_level": 3}))
        if p is late_ack:
            night.at(minutes(20), lambda p=p: queued_ack(f"ready:{p.code}", p, minutes(11)))
        elif p is not never_ack:
            night.at(minutes(5 + (15 + 2 * i) / 60), lambda p=p: ack(f"ready:{p.code}", p))

    short_handed, far_phone, declines, stood_down = points[2], points[5], points[-2], points[-1]
    for p in points:
        members = crews[p.id][:-1] if p is short_handed else crews[p.id]
        leaves_at = rng.uniform(12, 60)  # the crew sets off together; each phone checks in on arrival
        for n, m in enumerate(members):
            metres = 800 if (p is far_phone and n == 0) else rng.uniform(20, 250)
            lat, lon = _position(p, metres, rng)
            accuracy, lag = round(rng.uniform(4, 25), 1), rng.uniform(5, 40)

            def arrive(p=p, m=m, lat=lat, lon=lon, accuracy=accuracy, lag=lag) -> None:
                at = now_utc()
                body = {"id": str(uuid.uuid4()), "point_code": p.code, "kind": "arrive", "latitude": lat,
                        "longitude": lon, "accuracy_m": accuracy,
                        "recorded_at": (at - timedelta(seconds=lag)).isoformat()}
                who = crew_accounts.get(m.id)
                if who is None:
                    body["crew_id"] = m.id
                submit_checkin(who or boss, body, None, at)

            night.at(minutes(leaves_at + rng.uniform(0, 8)), arrive)
    night.at(minutes(40), lambda: decline_point(crew_of[declines.id] or boss, made["round"], declines.code,
                                                "演示：发射架故障"))
    night.at(minutes(100), lambda: stand_down_point(boss.username, made["round"], stood_down.code,
                                                    "演示：指挥员解除"))

    requesting = points[:14]
    rejected, pending = points[4], points[12:14]
    firing = [points[i] for i in (0, 1, 2, 3, 5, 6, 7, 8)]
    terminated = points[8]
    # Fire orders only where the clearance says yes when they are given (LH06, short of crew, gets none).
    fire_ordered, off_order = (points[0], points[3], points[8]), points[3]
    windows: dict[str, dict] = {}
    reports: list[dict] = []
    for i, p in enumerate(requesting):
        # Clouds pass from one point to the next through the evening; the last two ask too late to be answered.
        asked = 485 + 10 * (i - 12) if p in pending else 80 + 24 * i + rng.uniform(0, 7)
        decided = asked + rng.uniform(5, 18)

        def ask(i=i, p=p, asked=asked) -> None:
            data = {"id": uuid.uuid4(), "point_code": p.code, "window_start": minutes(asked + 10), "window_end": None,
                    "duration_min": 40, "max_height_m": p.max_height_m}
            made[p.code] = submit_airspace_request(boss, made["round"], {"drill": i}, None, data)[1]["id"]

        night.at(minutes(asked), ask)
        if p in pending:
            continue
        if p is rejected:
            night.at(minutes(decided), lambda p=p: decide(boss.username, made[p.code], {
                "decision": "rejected", "reason": "civil_flight", "reason_detail": "演示：航班过境"}))
            continue

        opens = max(decided, asked + 10)  # the window asked for, or from the answer when that comes later

        def approve(i=i, p=p, opens=opens) -> None:
            windows[p.code] = decide(boss.username, made[p.code], {
                "decision": "approved", "approved_start": minutes(opens), "approved_end": minutes(opens + 40),
                "reference": f"ATC-DEMO-{i + 1:03d}"})

        night.at(minutes(decided), approve)
        if p not in firing:
            continue  # the cloud had moved on: the window closes unused
        start = opens + rng.uniform(4, 15)
        end = start + (8 if p is terminated else rng.uniform(3, 12))
        if p in fire_ordered:  # once the window is open; LH04's crew then fires one round more than ordered
            fire = {"kind": "fire", "azimuth_deg": _mid_sector(p), "elevation_deg": 55.0,
                    "rounds": _rounds(p) - (1 if p is off_order else 0)}
            night.at(minutes(opens + 1), lambda p=p, fire=fire: give(f"fire:{p.code}", p, fire))
            night.at(minutes(opens + 1.5), lambda p=p: ack(f"fire:{p.code}", p))
        if p is terminated:  # "stop firing now" two minutes in; the crew's last salvo is past it
            night.at(minutes(start + 2), lambda p=p: terminate(boss.username, windows[p.code]["id"]))
            night.at(minutes(start + 2), lambda p=p: give(f"cease:{p.code}", p, {"kind": "cease"}))
            night.at(minutes(start + 2.5), lambda p=p: ack(f"cease:{p.code}", p))

        def report(p=p, start=start, end=end) -> None:
            code = "RKT-AGI" if p.equipment == "rocket" else "SHELL-37"
            fired = _rounds(p)
            if p is points[7]:  # more than the ledger holds: the report is flagged and the stock goes negative
                fired = max(0, stock([p.id]).get(p.id, {}).get(code, 0)) + 6
            data = {"id": uuid.uuid4(), "point_code": p.code, "crew_id": None, "started_at": minutes(start),
                    # mid-sector: at LH02 (points[1]) that line passes the demo school (flagged no_fire_zone)
                    "ended_at": minutes(end), "azimuth_deg": _mid_sector(p), "elevation_deg": 55.0,
                    "height_m": p.max_height_m + 500 if p is points[3] else p.max_height_m - 1000, "range_km": None,
                    "ammo": [{"type": code, "fired": fired, "duds": 1 if fired > 10 else 0}],
                    "cloud_type": "Ns", "weather_before": "演示：阴，小雨",
                    "weather_after": "演示：中雨", "notes": "演示演练"}
            if p is points[6]:
                data["azimuth_deg"] = (p.sector_end_deg + 25) % 360
            who = crew_of[p.id] or boss
            if who is boss:
                data["crew_id"] = crews[p.id][0].id
            reports.append(submit_report(who, made["round"], {"drill": str(data["id"])}, None, data)[1])

        night.at(minutes(end + rng.uniform(2, 10)), report)  # sent from the phone once the salvo is over
    if close:
        night.at(t0 + CLOSE_AFTER, lambda: close_round(boss.username, made["round"]))
    night.play()

    states = points_in_rounds([get_round(made["round"])])[made["round"]]
    return {"round_id": made["round"], "night": (t0, max(s[0] for s in night.steps)),
            "states": {pr.point.code: pr.state for pr in states},
            "flagged_reports": sum(1 for b in reports if b["flags"]), "reports": len(reports)}
