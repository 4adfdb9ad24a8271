"""A SYNTHETIC national data set for load and scale tests: points, crew, accounts, a season of rounds.

Everything it makes is named SYNTHETIC (codes `SYN…`, names "SYNTHETIC …", placeholder ammunition), so
it can never be taken for real operations; only the regions its points lie in are real provinces and cities
(with invented counties), so the national and provincial views have something to group. Rows go in by bulk
insert, not through the services (50,000 crew one by one would take an hour); the audit log records the load
itself as one event per table, and optional filler events make the chain as long as a national season's
(`audit_events`), each hashed into the chain like any other.
"""

import json
import random
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import insert, select

from ..accounts.models import Account
from ..accounts.services import _hasher
from ..ammo.models import AmmoType, LedgerEntry
from ..audit import services as audit
from ..audit.models import AuditEvent
from ..database.utc import now_utc
from ..database.writelock import begin_write
from ..extensions import db
from ..operations.models import AirspaceRequest, FiringReport, ReportAmmo, Round, RoundPoint
from ..registry.models import CrewMember, Point, Shift

ACTOR = "seed-synthetic"
PASSWORD = "synthetic-pass"  # every synthetic account's; hashed once
BATCH = 5000
# The regions the points lie in: 20 real provinces, three real cities each (their centres, [lat, lon], roughly),
# four counties a city named after it (invented: 城关区, 新区, 东县, 西县) around its centre. Points cluster
# around their county's centre, spread over the provinces first (point n: province n % 20, then city, county).
REGIONS = {
    "河南省": [("郑州市", 34.75, 113.62), ("洛阳市", 34.62, 112.45), ("南阳市", 33.00, 112.53)],
    "河北省": [("石家庄市", 38.04, 114.51), ("保定市", 38.87, 115.46), ("邯郸市", 36.61, 114.49)],
    "山东省": [("济南市", 36.65, 117.12), ("潍坊市", 36.71, 119.16), ("临沂市", 35.10, 118.36)],
    "山西省": [("太原市", 37.87, 112.55), ("大同市", 40.08, 113.30), ("运城市", 35.03, 111.01)],
    "陕西省": [("西安市", 34.34, 108.94), ("宝鸡市", 34.36, 107.24), ("榆林市", 38.29, 109.73)],
    "甘肃省": [("兰州市", 36.06, 103.83), ("天水市", 34.58, 105.72), ("张掖市", 38.93, 100.45)],
    "新疆维吾尔自治区": [("乌鲁木齐市", 43.83, 87.62), ("克拉玛依市", 45.58, 84.89), ("哈密市", 42.82, 93.51)],
    "内蒙古自治区": [("呼和浩特市", 40.84, 111.75), ("包头市", 40.66, 109.84), ("赤峰市", 42.26, 118.89)],
    "吉林省": [("长春市", 43.82, 125.32), ("吉林市", 43.84, 126.55), ("四平市", 43.17, 124.35)],
    "黑龙江省": [("哈尔滨市", 45.80, 126.53), ("齐齐哈尔市", 47.35, 123.92), ("牡丹江市", 44.55, 129.63)],
    "辽宁省": [("沈阳市", 41.80, 123.43), ("大连市", 38.91, 121.61), ("锦州市", 41.10, 121.13)],
    "安徽省": [("合肥市", 31.82, 117.23), ("阜阳市", 32.89, 115.81), ("安庆市", 30.54, 117.06)],
    "江苏省": [("南京市", 32.06, 118.80), ("徐州市", 34.26, 117.18), ("盐城市", 33.35, 120.16)],
    "湖北省": [("武汉市", 30.59, 114.31), ("襄阳市", 32.01, 112.12), ("宜昌市", 30.69, 111.29)],
    "湖南省": [("长沙市", 28.23, 112.94), ("衡阳市", 26.89, 112.57), ("常德市", 29.03, 111.70)],
    "四川省": [("成都市", 30.57, 104.07), ("绵阳市", 31.47, 104.68), ("南充市", 30.84, 106.11)],
    "云南省": [("昆明市", 25.04, 102.71), ("曲靖市", 25.49, 103.80), ("玉溪市", 24.35, 102.54)],
    "贵州省": [("贵阳市", 26.65, 106.63), ("遵义市", 27.73, 106.93), ("毕节市", 27.30, 105.29)],
    "青海省": [("西宁市", 36.62, 101.78), ("海东市", 36.50, 102.10), ("格尔木市", 36.40, 94.90)],
    "宁夏回族自治区": [("银川市", 38.49, 106.23), ("石嘴山市", 39.02, 106.38), ("吴忠市", 37.99, 106.20)],
}
PROVINCES = list(REGIONS)
# Each county: its name after the city's, and its centre's offset from the city's ([lat, lon] degrees).
COUNTIES = [("城关区", 0.0, 0.0), ("新区", 0.12, 0.30), ("东县", -0.15, 0.45), ("西县", 0.10, -0.40)]
SPREAD_DEG = 0.06  # a point's distance from its county's centre (standard deviation, each axis)


def region_of(n: int) -> tuple[str, str, str, float, float]:
    """Point n's province, city, county and county centre (lat, lon): spread over the provinces first."""
    province = PROVINCES[n % len(PROVINCES)]
    city, lat, lon = REGIONS[province][(n // len(PROVINCES)) % 3]
    suffix, dlat, dlon = COUNTIES[(n // (len(PROVINCES) * 3)) % len(COUNTIES)]
    return province, city, city.removesuffix("市") + suffix, lat + dlat, lon + dlon


def _chunks(rows: list[dict], size: int = BATCH) -> Iterator[list[dict]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _bulk(model, rows: list[dict]) -> None:
    for chunk in _chunks(rows):
        db.session.execute(insert(model), chunk)


def _audit_load(table: str, count: int, **detail) -> None:
    """One audit event per table loaded, committed with the rows."""
    audit.append(ACTOR, "synthetic.load", "synthetic", table, {"table": table, "rows": count, **detail})


def load_synthetic(points: int = 10_000, crew: int = 50_000, rounds: int = 60, reports_per_round: int = 150,
                   seed: int = 7, at: datetime | None = None, active_round: bool = False) -> dict:
    """Bulk-load the data set (each table in its own transaction); answers what was made."""
    if db.session.execute(select(Point.id).where(Point.code.like("SYN%")).limit(1)).first():
        return {"loaded": False, "reason": "synthetic points are loaded already"}
    if (db.session.execute(select(Point.id).limit(1)).first()
            or db.session.execute(select(Account.id).limit(1)).first()):
        # Its accounts share a password printed here and written in this file: never beside real ones.
        return {"loaded": False, "reason": "seed-synthetic loads only into an empty database "
                                           "(it makes active accounts with a published password)"}
    rng = random.Random(seed)
    now = at or now_utc()
    counts: dict[str, int] = {}

    begin_write(db.session)
    point_rows = []
    for n in range(points):
        rocket = rng.random() < 0.6
        start = rng.choice([0, 30, 90, 180, 270, 300])
        province, city, county, lat, lon = region_of(n)
        point_rows.append({
            "code": f"SYN{n:05d}", "name": f"SYNTHETIC point {n}", "province": province, "city": city,
            "county": county, "latitude": round(lat + rng.gauss(0, SPREAD_DEG), 5),
            "longitude": round(lon + rng.gauss(0, SPREAD_DEG), 5),
            "elevation_m": round(rng.uniform(20, 2500), 1), "equipment": "rocket" if rocket else "gun",
            "launchers": rng.choice([1, 2, 3]), "sector_start_deg": start, "sector_end_deg": (start + 120) % 360,
            "max_range_km": 8.0 if rocket else 6.0, "max_height_m": 8000.0 if rocket else 6000.0,
            "geofence_m": 500.0, "min_crew": 3 if rocket else 4, "active": True, "created_at": now,
            "updated_at": now})
    _bulk(Point, point_rows)
    _audit_load("points", points)
    db.session.commit()
    point_ids = db.session.execute(select(Point.id).where(Point.code.like("SYN%")).order_by(Point.code)
                                   ).scalars().all()

    begin_write(db.session)
    today = now.date()
    crew_rows = [{"name": f"SYNTHETIC crew {n}", "phone": f"+86 000 {n:08d}", "certificate_no": f"SYN-C{n:06d}",
                  "certificate_expires": today + timedelta(days=rng.randint(-5, 700)),
                  "home_point_id": point_ids[n % len(point_ids)], "active": True, "created_at": now}
                 for n in range(crew)]
    _bulk(CrewMember, crew_rows)
    _audit_load("crew_members", crew)
    db.session.commit()
    crew_ids = db.session.execute(select(CrewMember.id).where(CrewMember.certificate_no.like("SYN-C%"))
                                  .order_by(CrewMember.certificate_no)).scalars().all()

    # One crew account per point (its first crew member, on shift now) and a commander per province.
    begin_write(db.session)
    hashed = _hasher().hash(PASSWORD)
    accounts = [{"username": f"syn-crew-{n:05d}", "password_hash": hashed, "role": "crew",
                 "crew_id": crew_ids[n], "active": True, "created_at": now} for n in range(min(points, crew))]
    accounts += [{"username": f"syn-commander-{n:02d}", "password_hash": hashed, "role": "commander",
                  "crew_id": None, "active": True, "created_at": now} for n in range(len(PROVINCES))]
    _bulk(Account, accounts)
    shifts = [{"point_id": point_ids[n], "crew_id": crew_ids[n], "starts_at": now - timedelta(hours=6),
               "ends_at": now + timedelta(hours=6), "position": "leader", "created_at": now}
              for n in range(min(points, crew))]
    _bulk(Shift, shifts)
    _audit_load("accounts", len(accounts), password="see opsserver/demo/synthetic.py")
    _audit_load("shifts", len(shifts))
    db.session.commit()
    reporter = db.session.execute(select(Account.id).where(Account.username == "syn-commander-00")).scalar()

    # Ammunition: a placeholder type and opening stock at every point.
    begin_write(db.session)
    type_id = db.session.execute(select(AmmoType.id).where(AmmoType.code == "SYN-RKT")).scalar()
    if type_id is None:
        type_id = db.session.execute(insert(AmmoType).returning(AmmoType.id), [{
            "code": "SYN-RKT", "name": "SYNTHETIC rocket", "agent": "AgI", "agent_g_per_unit": 1.0,
            "placeholder": True, "created_at": now}]).scalar()
    receipts = [{"movement_id": str(uuid.UUID(int=rng.getrandbits(128))), "point_id": pid, "ammo_type_id": type_id,
                 "kind": "receipt", "quantity": 400, "reference": "SYNTHETIC opening stock", "actor": ACTOR,
                 "created_at": now - timedelta(days=200)} for pid in point_ids]
    _bulk(LedgerEntry, receipts)
    _audit_load("ledger_entries", len(receipts), kind="receipt")
    db.session.commit()

    # A season: rounds every couple of days over the last months, each ordering a province's worth of
    # points, with approved windows and reports (and their consumption) at some of them.
    made = {"rounds": 0, "round_points": 0, "airspace_requests": 0, "firing_reports": 0}
    for r in range(rounds):
        begin_write(db.session)
        start = now - timedelta(days=2 * (rounds - r), hours=rng.randint(0, 12))
        round_id = db.session.execute(insert(Round).returning(Round.id), [{
            "name": f"SYNTHETIC round {r}", "purpose": rng.choice(["rain_enhancement", "hail_suppression"]),
            "planned_start": start, "planned_end": start + timedelta(hours=4), "created_by": ACTOR,
            "created_at": start - timedelta(hours=1), "activated_at": start,
            "closed_at": start + timedelta(hours=5)}]).scalar()
        ordered = rng.sample(point_ids, min(len(point_ids), max(reports_per_round * 2, 300)))
        _bulk(RoundPoint, [{"round_id": round_id, "point_id": pid, "ordered_at": start} for pid in ordered])
        requests, reports, ammo, consumption = [], [], [], []
        for pid in ordered[:reports_per_round]:
            w_start = start + timedelta(minutes=rng.randint(5, 60))
            w_end = w_start + timedelta(minutes=40)
            requests.append({"id": str(uuid.UUID(int=rng.getrandbits(128))), "round_id": round_id, "point_id": pid,
                             "requested_by": ACTOR, "window_start": w_start, "window_end": w_end,
                             "created_at": w_start - timedelta(minutes=10), "decision": "approved",
                             "decided_at": w_start - timedelta(minutes=5), "decided_by": ACTOR,
                             "approved_start": w_start, "approved_end": w_end, "reference": f"SYN-ATC-{r}-{pid}"})
            report_id = str(uuid.UUID(int=rng.getrandbits(128)))
            fired = rng.randint(1, 6)
            fire_at = w_start + timedelta(minutes=rng.randint(1, 30))
            reports.append({"id": report_id, "round_id": round_id, "point_id": pid, "crew_id": None,
                            "account_id": reporter, "started_at": fire_at, "ended_at": fire_at + timedelta(minutes=2),
                            "azimuth_deg": 45.0, "elevation_deg": 55.0, "received_at": fire_at + timedelta(minutes=3),
                            "flags": "[]", "notes": "SYNTHETIC"})
            ammo.append({"report_id": report_id, "ammo_type_id": type_id, "fired": fired, "duds": 0})
            consumption.append({"movement_id": str(uuid.UUID(int=rng.getrandbits(128))), "point_id": pid,
                                "ammo_type_id": type_id, "kind": "consumption", "quantity": -fired,
                                "report_id": report_id, "actor": ACTOR, "created_at": fire_at})
        _bulk(AirspaceRequest, requests)
        _bulk(FiringReport, reports)
        _bulk(ReportAmmo, ammo)
        _bulk(LedgerEntry, consumption)
        _audit_load("rounds", 1, round_id=round_id, ordered=len(ordered), reports=len(reports))
        db.session.commit()
        made["rounds"] += 1
        made["round_points"] += len(ordered)
        made["airspace_requests"] += len(requests)
        made["firing_reports"] += len(reports)
    if active_round:
        # Tonight: one active round ordering every point, as the live status feed sees a national night.
        begin_write(db.session)
        round_id = db.session.execute(insert(Round).returning(Round.id), [{
            "name": "SYNTHETIC round tonight", "purpose": "rain_enhancement", "planned_start": now,
            "planned_end": now + timedelta(hours=4), "created_by": ACTOR, "created_at": now - timedelta(hours=1),
            "activated_at": now - timedelta(minutes=10)}]).scalar()
        _bulk(RoundPoint, [{"round_id": round_id, "point_id": pid, "ordered_at": now} for pid in point_ids])
        _audit_load("rounds", 1, round_id=round_id, ordered=len(point_ids), active=True)
        db.session.commit()
        made["rounds"] += 1
        made["round_points"] += len(point_ids)
    counts.update(points=points, crew_members=crew, accounts=len(accounts), shifts=len(shifts), **made)
    return {"loaded": True, **counts, "password": PASSWORD}


def add_filler_events(count: int, batch: int = 50_000) -> int:
    """Append `count` SYNTHETIC audit events to the chain, properly hashed, in batches (one transaction
    each, under the chain's lock); on PostgreSQL through COPY. Answers the last sequence number."""
    table = AuditEvent.__table__
    columns = ["seq", "at", "actor", "action", "entity", "entity_id", "payload", "prev_hash", "hash"]
    done, last = 0, 0
    while done < count:
        n = min(batch, count - done)
        session = db.session
        begin_write(session)
        conn = session.connection()
        postgres = conn.dialect.name == "postgresql"
        audit.lock_chain(conn)
        head = conn.execute(select(table.c.seq, table.c.hash).order_by(table.c.seq.desc()).limit(1)).first()
        seq, prev = (head[0], head[1]) if head else (0, audit.GENESIS_HASH)
        at = now_utc()
        rows = []
        for i in range(n):
            seq += 1
            payload = json.dumps({"n": done + i}, separators=(",", ":"))
            event = {"seq": seq, "at": at, "actor": ACTOR, "action": "synthetic.filler", "entity": "synthetic",
                     "entity_id": str(seq), "payload": payload, "prev_hash": prev}
            prev = event["hash"] = audit.event_hash(**event)
            rows.append(event)
        if postgres:
            with conn.connection.dbapi_connection.cursor() as cur:
                with cur.copy(f"COPY audit_events ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([row[c] for c in columns])
        else:
            conn.execute(insert(table), rows)
        session.commit()
        done += n
        last = seq
    return last
