"""Clearance and firing-report latency with 0, 1,000 and 10,000 active no-fire zones, all in one run.

    .venv/bin/python bench/zones_bench.py [--requests 300] [--reports 150] [--sizes 0,1000,10000] [--profile]

An SQLite file with the Luohe demo (its demo zones deactivated: none active), an active round ordering LH01,
a window open there, LH01's crew on site and ample stock, so clearance at LH01 250° answers `cleared: true`.
Copies of it get SYNTHETIC zones (benchmark data only) through the zone services (`create_zone` one by one
up to 1,000, `import_zones` in batches of 500 beyond; both rates printed), spread over a province-sized area
(Henan, lon 110.3–116.6, lat 31.4–36.4): 60 % polygons of 20–60 vertices a few hundred metres to a few km
across, 25 % points, 15 % highways and railways of 3–60 km, and six within LH01's range; none within its
buffer of the benchmarked firing line, so every size answers alike. One gunicorn server (one sync worker) per
size, all up at once, the requests one at a time to each in turn (a new order each time), so a drift of the
machine's speed weighs on every size alike. Prints p50/p95 of `GET /api/v1/points/LH01/clearance?azimuth=250`
and `POST /api/v1/rounds/{id}/reports`, what each size adds to the same request with no zones (this run) and
the ratio, and the zone check alone in-process (zones.services.firing_line_flag); writes
bench/results/zones.json (--profile: cProfile of clearances with the largest set, zones_profile.txt).
Target (issue 17): 10,000 zones add under 5 ms to a clearance at p50.
"""

import argparse
import cProfile
import http.client
import io
import json
import math
import os
import pstats
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from shapely.geometry import shape as to_shape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from rules import zones as zone_rules  # noqa: E402
PY = sys.executable
POINT, AZIMUTH = "LH01", 250.0
LH01 = (33.5541, 113.8623)  # luohe.json
HENAN = (110.3, 116.6, 31.4, 36.4)  # west, east, south, north
SECRET = "testing"  # tests.helpers.servers starts gunicorn with this SECRET_KEY; the build signs with it too
POLYGON_KINDS = ["village"] * 5 + ["town", "school"] * 2 + ["hospital", "oil_depot", "power_facility", "heritage_site"]
POINT_KINDS = ["village", "school", "hospital", "power_facility", "heritage_site"]


# -- the SYNTHETIC zones ----------------------------------------------------------------------------------------

def _offset(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    """(lon, lat) metres east and north of a place (a local flat approximation: for made-up shapes only)."""
    return (lon + east_m / (111_320 * math.cos(math.radians(lat))), lat + north_m / 110_574)


def _toward(lat: float, lon: float, bearing: float, metres: float) -> tuple[float, float]:
    a = math.radians(bearing)
    return _offset(lat, lon, metres * math.sin(a), metres * math.cos(a))


def _polygon(rng: random.Random, lat: float, lon: float, radius_m: float, vertices: int) -> dict:
    """A star-shaped (so never self-crossing) irregular ring, longer one way than the other."""
    stretch, turn = rng.uniform(0.5, 1.0), rng.uniform(0, math.pi)
    ring = []
    for i in range(vertices):
        t = 2 * math.pi * i / vertices
        r = radius_m * rng.uniform(0.75, 1.15)
        x, y = r * math.cos(t), r * stretch * math.sin(t)
        ring.append(_offset(lat, lon, x * math.cos(turn) - y * math.sin(turn), x * math.sin(turn) + y * math.cos(turn)))
    ring = [[round(x, 6), round(y, 6)] for x, y in ring]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def _line(rng: random.Random, lat: float, lon: float, length_m: float) -> dict:
    """A winding road or railway: a vertex every 0.5–3 km, turning by at most 20° at each."""
    heading, step = rng.uniform(0, 360), rng.uniform(500, 3000)
    coords, here = [], (lon, lat)
    for _ in range(max(2, round(length_m / step) + 1)):
        coords.append([round(here[0], 6), round(here[1], 6)])
        heading += rng.uniform(-20, 20)
        here = _toward(here[1], here[0], heading, step)
    return {"type": "LineString", "coordinates": coords}


def _zone(rng: random.Random, n: int, lat: float, lon: float, shape: str) -> dict:
    if shape == "polygon":
        kind = "airport" if rng.random() < 0.002 else rng.choice(POLYGON_KINDS)
        radius = {"town": (800, 3000), "airport": (1500, 3000), "village": (200, 700)}.get(kind, (100, 400))
        geometry = _polygon(rng, lat, lon, math.exp(rng.uniform(*map(math.log, radius))), rng.randint(20, 60))
        buffer_m = 1000 if kind == "airport" else 500 if kind == "oil_depot" else 200
    elif shape == "point":
        kind, buffer_m = rng.choice(POINT_KINDS), rng.choice([200, 200, 300, 500])
        geometry = {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}
    else:
        kind, buffer_m = rng.choice(["highway", "highway", "railway"]), 200
        geometry = _line(rng, lat, lon, rng.uniform(3_000, 60_000))
    return {"name": f"SYNTHETIC {kind} {n}", "kind": kind, "geometry": geometry, "buffer_m": buffer_m,
            "notes": "SYNTHETIC benchmark data", "source": None}


def synthetic_zones(count: int, seed: int = 17) -> list[dict]:
    """`count` zones; the first six near LH01 (none within its buffer of the firing line at 250°)."""
    rng = random.Random(seed)
    near = [(60, 1500, "polygon"), (150, 3000, "point"), (20, 5000, "polygon"), (300, 4000, "point"),
            (215, 6000, "polygon"), (90, 2000, "line")]
    zones = []
    for n, (bearing, metres, shape) in enumerate(near):
        lon, lat = _toward(*LH01, bearing, metres)
        zones.append(z := _zone(rng, n, lat, lon, shape))
        if shape == "line":  # a road 2 km east of the point, running north–south past it
            ends = (_toward(lat, lon, 180, 8000), (lon, lat), _toward(lat, lon, 0, 8000))
            z["kind"], z["geometry"] = "highway", {"type": "LineString", "coordinates": [list(e) for e in ends]}
        elif shape == "polygon":
            z["geometry"] = _polygon(rng, lat, lon, 300, 32)
    west, east, south, north = HENAN
    while len(zones) < count:
        roll = rng.random()
        shape = "polygon" if roll < 0.60 else "point" if roll < 0.85 else "line"
        z = _zone(rng, len(zones), rng.uniform(south, north), rng.uniform(west, east), shape)
        if not _blocks_lh01(z):  # one that happens to lie across the benchmarked firing line is drawn again
            zones.append(z)
    return zones[:count]


def _blocks_lh01(z: dict) -> bool:
    rule_zone = zone_rules.Zone(0, z["name"], z["kind"], to_shape(z["geometry"]), z["buffer_m"])
    return bool(zone_rules.firing_line_hits(*LH01, AZIMUTH, 7000.0, [rule_zone]))


# -- building the data sets (each in a child process, so each app and engine starts clean) ----------------------

def _app(db_path: Path):
    os.environ.update({"DATABASE_URL": f"sqlite:///{db_path}", "SECRET_KEY": SECRET, "PYTHONPATH": str(ROOT)})
    from opsserver import create_app
    return create_app()


def build_base(db_path: Path) -> dict:
    """The demo, its zones deactivated; an active round at LH01 with an open window, crew on site, stock."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}", "SECRET_KEY": SECRET, "PYTHONPATH": str(ROOT)}
    subprocess.run([PY, "-m", "flask", "--app", "wsgi", "ops", "init-db", "--demo"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    app = _app(db_path)
    from sqlalchemy import select

    from opsserver.ammo.services import record_movement
    from opsserver.extensions import db
    from opsserver.zones.models import NoFireZone
    from opsserver.zones.services import update_zone

    with app.app_context():
        for zone_id in db.session.execute(select(NoFireZone.id).where(NoFireZone.active.is_(True))).scalars().all():
            update_zone("bench", zone_id, {"active": False})
        record_movement("bench", {"point_code": POINT, "ammo_type": "RKT-AGI", "quantity": 100_000,
                                  "kind": "receipt", "reference": "BENCH stock"})
        client = app.test_client()
        boss = {"Authorization": "Bearer " + client.post("/api/v1/auth/token", json={
            "username": "commander", "password": "commander-demo-pass"}).json["access_token"]}

        def ok(resp):
            assert resp.status_code in (200, 201), (resp.status_code, resp.get_data(as_text=True))
            return resp.json

        now = datetime.now(UTC)
        rnd = ok(client.post("/api/v1/rounds", headers=boss, json={
            "name": "BENCH zones", "purpose": "rain_enhancement", "planned_start": now.isoformat(),
            "planned_end": (now + timedelta(hours=8)).isoformat(), "point_codes": [POINT]}))
        ok(client.post(f"/api/v1/rounds/{rnd['id']}/activate", headers=boss, json={}))
        req = ok(client.post(f"/api/v1/rounds/{rnd['id']}/airspace", headers=boss, json={
            "point_code": POINT, "window_start": now.isoformat(), "duration_min": 480}))
        ok(client.post(f"/api/v1/airspace/{req['id']}/decision", headers=boss, json={
            "decision": "approved", "approved_start": (now - timedelta(minutes=1)).isoformat(),
            "approved_end": (now + timedelta(hours=8)).isoformat(), "reference": "ATC-BENCH"}))
        point = ok(client.get(f"/api/v1/points/{POINT}", headers=boss))
        for member in ok(client.get("/api/v1/crew?limit=200", headers=boss))["items"]:
            if member["home_point"] == POINT:
                ok(client.post("/api/v1/checkins", headers=boss, json={
                    "id": str(uuid.uuid4()), "point_code": POINT, "crew_id": member["id"], "kind": "arrive",
                    "latitude": point["latitude"], "longitude": point["longitude"], "accuracy_m": 8.0,
                    "recorded_at": now.isoformat()}))
        db.engine.dispose()
    return {"round_id": rnd["id"]}


def add_zones(db_path: Path, start: int, count: int, method: str) -> dict:
    """Zones start…count−1 of the synthetic set through the services; answers the time taken per zone."""
    app = _app(db_path)
    from opsserver.extensions import db
    from opsserver.zones.schemas import ZoneCreateSchema
    from opsserver.zones.services import create_zone, import_zones

    zones = synthetic_zones(count)[start:]
    t = time.perf_counter()
    with app.app_context():
        if method == "create":
            schema = ZoneCreateSchema()
            for z in zones:  # as POST /api/v1/zones does: checked by the schema, then stored
                create_zone("bench", schema.load(z))
        else:
            for i in range(0, len(zones), 500):
                answer = import_zones("bench", {"type": "FeatureCollection", "features": [
                    {"type": "Feature", "geometry": z["geometry"],
                     "properties": {k: v for k, v in z.items() if k != "geometry"}} for z in zones[i:i + 500]]})
                bad = [item["problem"] for item in answer["items"] if item["status"] != 201]
                assert not bad, bad[:3]
        db.engine.dispose()
    seconds = time.perf_counter() - t
    return {"method": method, "zones": len(zones), "seconds": round(seconds, 2), "ms_per_zone": round(
        seconds * 1000 / max(len(zones), 1), 2)}


def copy_db(src: Path, dst: Path) -> None:
    """A consistent copy of an SQLite file (its WAL included)."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def child(*args: str) -> dict:
    """This file run with `args` in a fresh process; what it printed last, as JSON."""
    done = subprocess.run([PY, __file__, *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(args[:1])} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- timing --------------------------------------------------------------------------------------------------

def call(base: str, method: str, path: str, token: str, body: dict | None = None) -> tuple[float, int, dict]:
    """One request on a new connection (the sync worker closes it after each answer): ms, status, body."""
    conn = http.client.HTTPConnection(urlsplit(base).hostname, urlsplit(base).port, timeout=120)
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}", **({"Content-Type": "application/json"} if data else {})}
    t = time.perf_counter()
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    raw, ms = resp.read(), (time.perf_counter() - t) * 1000
    conn.close()
    return ms, resp.status, json.loads(raw) if raw else {}


def report_body(n: int) -> dict:
    now = datetime.now(UTC)
    return {"id": str(uuid.uuid4()), "point_code": POINT, "started_at": (now - timedelta(seconds=3)).isoformat(),
            "ended_at": (now - timedelta(seconds=1)).isoformat(), "azimuth_deg": AZIMUTH, "elevation_deg": 55.0,
            "height_m": 4000.0, "range_km": None, "ammo": [{"type": "RKT-AGI", "fired": 1, "duds": 0}],
            "cloud_type": "Ns", "weather_before": "BENCH", "notes": f"BENCH report {n}"}


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def measure(servers: dict[int, str], round_id: int, requests: int, reports: int) -> dict:
    """Clearances, then reports, one at a time to the servers in turn (the first few to each warm it up and are
    not counted); every size must answer alike. Answers the times (ms) per size and what they answered."""
    rng = random.Random(1)
    tokens = {size: call(base, "POST", "/api/v1/auth/token", "", {"username": "crew-lh01", "password":
                                                                  "crew-demo-pass"})[2]["access_token"]
              for size, base in servers.items()}
    times, seen = {size: {"clearance": [], "report": []} for size in servers}, {size: set() for size in servers}
    for what, count, warm in (("clearance", requests, 20), ("report", reports, 5)):
        for n in range(count + warm):
            for size in rng.sample(sorted(servers), len(servers)):
                if what == "clearance":
                    ms, status, body = call(servers[size], "GET", f"/api/v1/points/{POINT}/clearance?azimuth="
                                            f"{AZIMUTH:g}", tokens[size])
                    seen[size].add(f"cleared={body.get('cleared')} reasons={[r['code'] for r in body['reasons']]}")
                else:
                    ms, status, body = call(servers[size], "POST", f"/api/v1/rounds/{round_id}/reports", tokens[size],
                                            report_body(n))
                    seen[size].add(f"report flags={[f['code'] for f in body['flags']]}")
                assert status in (200, 201), body
                if n >= warm:
                    times[size][what].append(ms)
    assert len({json.dumps(sorted(v)) for v in seen.values()}) == 1, seen  # every size judged alike
    return {"answers": sorted(seen[min(servers)]), "times": times}


def alone(db_path: Path, calls: int = 500, profiled: bool = False) -> dict:
    """The zone check by itself in this process (no HTTP, no other rule): p50/p95 of
    zones.services.firing_line_flag at LH01 250° and p50 of its candidate query (zones_near), the candidates
    it finds; `profiled`: also cProfile of clearances through the test client (the text)."""
    app = _app(db_path)
    from opsserver.zones import services as zones

    def timed(f) -> list[float]:
        out = []
        for _ in range(calls):
            t = time.perf_counter()
            f()
            out.append((time.perf_counter() - t) * 1000)
        return out

    with app.app_context():
        box = zone_rules.firing_line_bounds(*LH01, AZIMUTH, 7000.0)
        timed(lambda: zones.firing_line_flag(*LH01, AZIMUTH, 7.0))  # warm: each zone parsed once, then kept
        flag, near = timed(lambda: zones.firing_line_flag(*LH01, AZIMUTH, 7.0)), timed(lambda: zones.zones_near(box))
        found = {"flag_p50_ms": round(pct(flag, 50), 3), "flag_p95_ms": round(pct(flag, 95), 3),
                 "near_p50_ms": round(pct(near, 50), 3), "candidates": len(zones.zones_near(box))}
    if profiled:
        client = app.test_client()
        token = client.post("/api/v1/auth/token", json={"username": "crew-lh01",
                                                        "password": "crew-demo-pass"}).json["access_token"]
        path, headers = f"/api/v1/points/{POINT}/clearance?azimuth={AZIMUTH:g}", {"Authorization": f"Bearer {token}"}
        for _ in range(20):
            client.get(path, headers=headers)
        prof, out = cProfile.Profile(), io.StringIO()
        prof.enable()
        for _ in range(200):
            assert client.get(path, headers=headers).status_code == 200
        prof.disable()
        out.write(f"200 clearances at {POINT}, azimuth {AZIMUTH:g}\n")
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(40).sort_stats("tottime").print_stats(25)
        found["profile"] = out.getvalue()
    return found


def table(rows: list[dict], columns: list[tuple[str, str, str]]) -> None:
    print("\n".join("".join(f"{head:>12}" for head, _, _ in columns) if r is None else "".join(
        f"{r[key]:>12{fmt}}" for _, key, fmt in columns) for r in [None, *rows]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="clearances per size")
    parser.add_argument("--reports", type=int, default=150, help="firing reports per size")
    parser.add_argument("--sizes", default="0,1000,10000")
    parser.add_argument("--profile", action="store_true", help="also cProfile clearances with the largest set")
    opts = parser.parse_args()
    sizes = sorted({0, *(int(s) for s in opts.sizes.split(","))})  # 0: the baseline, no active zone
    from tests.helpers.servers import app_server

    tmp = Path(tempfile.mkdtemp(prefix="ops-zones-bench-"))
    dbs = {size: tmp / f"zones-{size}.sqlite3" for size in sizes}
    base = child("--base", str(dbs[0]))
    inserts, previous = [], 0
    for size in sizes[1:]:
        copy_db(dbs[previous], dbs[size])
        # one by one through create_zone up to 1,000, then import_zones in batches of 500
        if previous < 1000:
            inserts.append(child("--add", str(dbs[size]), str(previous), str(min(size, 1000)), "create"))
        if size > 1000:
            inserts.append(child("--add", str(dbs[size]), str(max(previous, 1000)), str(size), "import"))
        previous = size
    with ExitStack() as stack:
        servers = {size: stack.enter_context(app_server(f"sqlite:///{dbs[size]}", 1))[0] for size in sizes}
        result = measure(servers, base["round_id"], opts.requests, opts.reports)
    checks = {size: child("--alone", str(dbs[size]), str(opts.profile and size == sizes[-1])) for size in sizes}
    profile = checks[sizes[-1]].pop("profile", None)
    rows = [{"zones": size, **checks[size], **{f"{what}_p{q}_ms": round(pct(result["times"][size][what], q), 2)
                                               for what in ("clearance", "report") for q in (50, 95)}}
            for size in sizes]
    zero = rows[0]
    for row in rows:
        for what in ("clearance", "report"):
            row[f"{what}_added_p50_ms"] = round(row[f"{what}_p50_ms"] - zero[f"{what}_p50_ms"], 2)
            row[f"{what}_ratio_p50"] = round(row[f"{what}_p50_ms"] / zero[f"{what}_p50_ms"], 3)
    print(f"\nat every size: {'; '.join(result['answers'])} ({POINT}, {AZIMUTH:g}°); {opts.requests} clearances "
          f"and {opts.reports} reports per size, the sizes taking turns\n")
    table(rows, [("zones", "zones", ""), ("clear p50", "clearance_p50_ms", ".2f"), ("p95", "clearance_p95_ms", ".2f"),
                 ("+p50", "clearance_added_p50_ms", ".2f"), ("ratio", "clearance_ratio_p50", ".2f"),
                 ("report p50", "report_p50_ms", ".2f"), ("p95", "report_p95_ms", ".2f"),
                 ("+p50", "report_added_p50_ms", ".2f"), ("ratio", "report_ratio_p50", ".2f")])
    print("ms; +p50: what the zones add to the same request with none (this run); ratio: p50 over that with none")
    print(f"\nthe zone check alone, in-process (zones.services.firing_line_flag at {POINT} {AZIMUTH:g}°):")
    table(rows, [("zones", "zones", ""), ("check p50", "flag_p50_ms", ".3f"), ("p95", "flag_p95_ms", ".3f"),
                 ("query p50", "near_p50_ms", ".3f"), ("candidates", "candidates", "")])
    for ins in inserts:
        print(f"inserted {ins['zones']} zones by {ins['method']}: {ins['seconds']} s, {ins['ms_per_zone']} ms a zone")
    added = rows[-1]["clearance_added_p50_ms"]
    print(f"target: {rows[-1]['zones']:,} zones add under 5 ms to a clearance at p50: {added:.2f} ms, "
          f"{'met' if added < 5 else 'MISSED'}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "zones.json").write_text(json.dumps({"rows": rows, "inserts": inserts, "answers": result["answers"],
                                                "requests": opts.requests, "reports": opts.reports}, indent=2))
    if profile:
        (out / "zones_profile.txt").write_text(profile)
        print("\nprofile: bench/results/zones_profile.txt\n" + "\n".join(profile.splitlines()[:60]))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--base":
        print(json.dumps(build_base(Path(sys.argv[2]))))
    elif len(sys.argv) == 6 and sys.argv[1] == "--add":
        print(json.dumps(add_zones(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])))
    elif len(sys.argv) == 4 and sys.argv[1] == "--alone":
        print(json.dumps(alone(Path(sys.argv[2]), profiled=sys.argv[3] == "True")))
    else:
        main()
