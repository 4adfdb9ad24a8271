"""Clearance and firing-report latency with 0, 1,000 and 10,000 active no-fire zones, all in one run.

    .venv/bin/python bench/zones_bench.py [--requests 300] [--reports 150] [--sizes 0,1000,10000]
                                         [--profile]

One SQLite file with the Luohe demo loaded (its demo zones deactivated, so none is active), an active round
ordering LH01, an approved window open at LH01, LH01's crew checked in and ample stock: clearance at LH01
answers `cleared: true` at 250°. That file is copied and SYNTHETIC zones (benchmark data only) are added
through the zone services (`create_zone` one by one for the first 1,000, `import_zones` in batches of 500
for the rest; both rates are printed): spread over a province-sized area (Henan, lon 110.3–116.6,
lat 31.4–36.4), 60 % polygons of 20–60 vertices from a few hundred metres to a few kilometres across
(schools, villages, towns, hospitals, depots, airports with a 1 km buffer), 25 % points and 15 % lines
(highways and railways of 3–60 km), and six within LH01's range, none within its buffer of the firing
line at 250°, so every size gives the same answer. One gunicorn server (one sync worker) per size, all
up at once; the requests go to the servers in turn (a new order each time), one at a time, so a drift of
the machine's speed weighs on every size alike. Prints p50 and p95 of `GET /api/v1/points/LH01/clearance
?azimuth=250` and of `POST /api/v1/rounds/{id}/reports` per size, what each adds to the same request
with no zones (measured in the same run) and the ratio; writes bench/results/zones.json. With --profile,
also cProfile of clearances in this process with the largest set (bench/results/zones_profile.txt).
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
POINT, AZIMUTH = "LH01", 250.0
LH01 = (33.5541, 113.8623)  # luohe.json
HENAN = (110.3, 116.6, 31.4, 36.4)  # west, east, south, north
SECRET = "testing"  # tests.helpers.servers starts gunicorn with this SECRET_KEY; the build signs with it too
POLYGON_KINDS = ["village"] * 5 + ["town"] * 2 + ["school"] * 2 + ["hospital", "oil_depot", "power_facility",
                                                                     "heritage_site"]
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
        kind = rng.choice(POLYGON_KINDS + ["airport"] if rng.random() < 0.01 else POLYGON_KINDS)
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
        z = _zone(rng, n, lat, lon, shape)
        if shape == "line":  # a road 2 km east of the point, running north–south past it
            z["geometry"] = {"type": "LineString", "coordinates": [
                [round(x, 6), round(y, 6)] for x, y in (_toward(lat, lon, 180, 8000), (lon, lat),
                                                         _toward(lat, lon, 0, 8000))]}
            z["kind"] = "highway"
        elif shape == "polygon":
            z["geometry"] = _polygon(rng, lat, lon, 300, 32)
        zones.append(z)
    west, east, south, north = HENAN
    for n in range(len(zones), count):
        roll = rng.random()
        shape = "polygon" if roll < 0.60 else "point" if roll < 0.85 else "line"
        zones.append(_zone(rng, n, rng.uniform(south, north), rng.uniform(west, east), shape))
    return zones[:count]


# -- building the data sets (each in a child process, so each app and engine starts clean) ----------------------

def _app(db_path: Path):
    os.environ.update({"DATABASE_URL": f"sqlite:///{db_path}", "SECRET_KEY": SECRET, "PYTHONPATH": str(ROOT)})
    from opsserver import create_app
    return create_app()


def build_base(db_path: Path) -> dict:
    """The demo, its zones deactivated; an active round at LH01 with an open window, crew on site, stock."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}", "SECRET_KEY": SECRET, "PYTHONPATH": str(ROOT)}
    flask = [PY, "-m", "flask", "--app", "wsgi", "ops"]
    subprocess.run([*flask, "init-db"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*flask, "seed-demo"], cwd=ROOT, env=env, check=True, capture_output=True)
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

        def ok(resp, *codes):
            assert resp.status_code in (codes or (200, 201)), (resp.status_code, resp.get_data(as_text=True))
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
    from opsserver.zones.services import create_zone, import_zones

    zones = synthetic_zones(count)[start:]
    t = time.perf_counter()
    with app.app_context():
        if method == "create":
            for z in zones:
                create_zone("bench", z)
        else:
            for i in range(0, len(zones), 500):
                answer = import_zones("bench", {"type": "FeatureCollection", "features": [
                    {"type": "Feature", "geometry": z["geometry"],
                     "properties": {k: v for k, v in z.items() if k != "geometry"}} for z in zones[i:i + 500]]})
                bad = [item for item in answer["items"] if "problem" in item]
                assert not bad, bad[:3]
        db.engine.dispose()
    seconds = time.perf_counter() - t
    return {"method": method, "zones": len(zones), "seconds": round(seconds, 2),
            "ms_per_zone": round(seconds * 1000 / max(len(zones), 1), 2)}


def copy_db(src: Path, dst: Path) -> None:
    """A consistent copy of an SQLite file (its WAL included)."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def child(*args: str) -> dict:
    out = subprocess.run([PY, __file__, *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# -- timing --------------------------------------------------------------------------------------------------

def call(base: str, method: str, path: str, token: str, body: dict | None = None) -> tuple[float, int, dict]:
    """One request on a new connection (the sync worker closes it after each answer): ms, status, body."""
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}", **({"Content-Type": "application/json"} if data else {})}
    t = time.perf_counter()
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    raw = resp.read()
    ms = (time.perf_counter() - t) * 1000
    conn.close()
    return ms, resp.status, json.loads(raw) if raw else {}


def report_body(n: int) -> dict:
    now = datetime.now(UTC)
    return {"id": str(uuid.uuid4()), "point_code": POINT, "started_at": (now - timedelta(seconds=40)).isoformat(),
            "ended_at": (now - timedelta(seconds=20)).isoformat(), "azimuth_deg": AZIMUTH, "elevation_deg": 55.0,
            "height_m": 4000.0, "range_km": None, "ammo": [{"type": "RKT-AGI", "fired": 1, "duds": 0}],
            "cloud_type": "Ns", "weather_before": "BENCH", "notes": f"BENCH report {n}"}


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def measure(servers: dict[int, str], round_id: int, requests: int, reports: int) -> dict:
    """Clearances, then reports, to the servers in turn; answers the timings per size."""
    rng = random.Random(1)
    tokens = {}
    for size, base in servers.items():
        _, status, body = call(base, "POST", "/api/v1/auth/token", "", {"username": "crew-lh01",
                                                                       "password": "crew-demo-pass"})
        assert status == 200, body
        tokens[size] = body["access_token"]
    clearance = f"/api/v1/points/{POINT}/clearance?azimuth={AZIMUTH:g}"
    times = {size: {"clearance": [], "report": [], "first_clearance_ms": None} for size in servers}
    answers = {}
    for n in range(requests + 20):  # the first 20 of each warm the worker up and are not counted
        for size in rng.sample(list(servers), len(servers)):
            ms, status, body = call(servers[size], "GET", clearance, tokens[size])
            assert status == 200, body
            if n == 0:
                times[size]["first_clearance_ms"] = round(ms, 2)
                answers[size] = (body["cleared"], sorted(r["code"] for r in body["reasons"]))
            elif n >= 20:
                times[size]["clearance"].append(ms)
    assert len({json.dumps(a) for a in answers.values()}) == 1, answers  # every size answers alike
    for n in range(reports + 5):
        for size in rng.sample(list(servers), len(servers)):
            ms, status, body = call(servers[size], "POST", f"/api/v1/rounds/{round_id}/reports", tokens[size],
                                    report_body(n))
            assert status == 201, body
            assert not body["flags"], body["flags"]  # every size judges the firing alike: clean
            if n >= 5:
                times[size]["report"].append(ms)
    return {"answer": answers[min(servers)], "times": times}


def profile(db_path: Path, calls: int = 200) -> str:
    """cProfile of clearances at LH01 in this process, on the largest data set."""
    app = _app(db_path)
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "crew-lh01",
                                                    "password": "crew-demo-pass"}).json["access_token"]
    path, headers = f"/api/v1/points/{POINT}/clearance?azimuth={AZIMUTH:g}", {"Authorization": f"Bearer {token}"}
    for _ in range(20):
        client.get(path, headers=headers)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        assert client.get(path, headers=headers).status_code == 200
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).sort_stats("cumulative")
    out.write(f"{calls} clearances at {POINT}, azimuth {AZIMUTH:g}\n")
    stats.print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="clearances per size")
    parser.add_argument("--reports", type=int, default=150, help="firing reports per size")
    parser.add_argument("--sizes", default="0,1000,10000")
    parser.add_argument("--profile", action="store_true", help="also cProfile clearances with the largest set")
    opts = parser.parse_args()
    sizes = sorted(int(s) for s in opts.sizes.split(","))
    if sizes[0] != 0:
        sizes.insert(0, 0)  # the baseline: no active zone
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
    rows = []
    for size in sizes:
        t = result["times"][size]
        rows.append({"zones": size, "first_clearance_ms": t["first_clearance_ms"],
                     **{f"{what}_{p}_ms": round(pct(t[what], q), 2)
                        for what in ("clearance", "report") for p, q in (("p50", 50), ("p95", 95))}})
    zero = rows[0]
    for row in rows:
        for what in ("clearance", "report"):
            row[f"{what}_added_p50_ms"] = round(row[f"{what}_p50_ms"] - zero[f"{what}_p50_ms"], 2)
            row[f"{what}_ratio_p50"] = round(row[f"{what}_p50_ms"] / zero[f"{what}_p50_ms"], 3)
    print(f"\nclearance at {POINT} {AZIMUTH:g}° answers cleared={result['answer'][0]} "
          f"reasons={result['answer'][1]} at every size; {opts.requests} clearances and {opts.reports} reports "
          f"per size, the sizes taking turns\n")
    print(f"{'zones':>7}{'clear p50':>11}{'p95':>8}{'+p50':>8}{'ratio':>7}{'report p50':>12}{'p95':>8}"
          f"{'+p50':>8}{'ratio':>7}{'first':>8}")
    for r in rows:
        print(f"{r['zones']:>7}{r['clearance_p50_ms']:>11.2f}{r['clearance_p95_ms']:>8.2f}"
              f"{r['clearance_added_p50_ms']:>8.2f}{r['clearance_ratio_p50']:>7.2f}{r['report_p50_ms']:>12.2f}"
              f"{r['report_p95_ms']:>8.2f}{r['report_added_p50_ms']:>8.2f}{r['report_ratio_p50']:>7.2f}"
              f"{r['first_clearance_ms']:>8.1f}")
    print("\nms; +p50: added to the same request with no zones (this run); first: the first clearance a new "
          "worker answers")
    for ins in inserts:
        print(f"inserted {ins['zones']} zones by {ins['method']}: {ins['seconds']} s, {ins['ms_per_zone']} ms a zone")
    largest = rows[-1]
    print(f"target: {largest['zones']:,} zones add under 5 ms to a clearance at p50: "
          f"{largest['clearance_added_p50_ms']:.2f} ms, {'met' if largest['clearance_added_p50_ms'] < 5 else 'MISSED'}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "zones.json").write_text(json.dumps({"rows": rows, "inserts": inserts, "answer": result["answer"],
                                                "requests": opts.requests, "reports": opts.reports}, indent=2))
    if opts.profile:
        text = child("--profile", str(dbs[sizes[-1]]))["text"]
        (out / "zones_profile.txt").write_text(text)
        print(f"\nprofile: bench/results/zones_profile.txt\n" + "\n".join(text.splitlines()[:60]))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--base":
        print(json.dumps(build_base(Path(sys.argv[2]))))
    elif len(sys.argv) == 6 and sys.argv[1] == "--add":
        print(json.dumps(add_zones(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])))
    elif len(sys.argv) == 3 and sys.argv[1] == "--profile":
        print(json.dumps({"text": profile(Path(sys.argv[2]))}))
    else:
        main()
