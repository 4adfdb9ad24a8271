"""Latency of the live status feed for 18, 1,000 and 10,000 points, and of its 304 answer.

    .venv/bin/python bench/status_bench.py [--requests 40] [--sizes 18,1000,10000]

For each size: a fresh SQLite file with the Luohe demo (18 points) or SYNTHETIC points around it
(bulk-inserted, benchmark data only), one active round ordering every point, opening stock at every
point and check-ins at a tenth of them; then the app under gunicorn (one sync worker) on 127.0.0.1
answers GET /api/v1/status.geojson sequentially. Reports p50/p99 of the full answer built on every
request (OPS_STATUS_MEMO=0), of the 304 answer to If-None-Match, and p50 with the default per-version
memo; writes bench/results/status.json. Targets: 10,000 points under 300 ms
at p50; the 304 answer under 5 ms.
"""

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
PORT = 18083


def build(db_path: Path, size: int) -> tuple[str, float]:
    """Create the data set; answers a commander token."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}", "PYTHONPATH": str(ROOT)}
    flask = [PY, "-m", "flask", "--app", "wsgi", "ops"]
    subprocess.run([*flask, "init-db"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*flask, "seed-demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import insert, select

    from opsserver import create_app
    from opsserver.ammo.models import AmmoType, LedgerEntry
    from opsserver.checkins.models import Checkin
    from opsserver.database.utc import now_utc
    from opsserver.extensions import db
    from opsserver.operations.models import Round, RoundPoint
    from opsserver.registry.models import CrewMember, Point

    app = create_app()
    rng = random.Random(size)
    with app.app_context():
        now = now_utc()
        if size > 18:
            rows = []
            for n in range(size - 18):
                rocket = rng.random() < 0.6
                rows.append({"code": f"SYN{n:05d}", "name": f"SYNTHETIC point {n}", "county": "SYNTHETIC",
                             "latitude": 33.0 + rng.random() * 1.5, "longitude": 113.3 + rng.random() * 1.5,
                             "elevation_m": 60.0, "equipment": "rocket" if rocket else "gun", "launchers": 2,
                             "sector_start_deg": rng.choice([0, 90, 300]), "sector_end_deg": rng.choice([60, 200]),
                             "max_range_km": 7.0, "max_height_m": 7000.0, "geofence_m": 500.0,
                             "min_crew": 3 if rocket else 4, "active": True, "created_at": now, "updated_at": now})
            db.session.execute(insert(Point), rows)
        points = db.session.execute(select(Point.id, Point.latitude, Point.longitude)).all()
        types = dict(db.session.execute(select(AmmoType.code, AmmoType.id)).all())
        r = Round(name="BENCH round", purpose="rain_enhancement", planned_start=now,
                  planned_end=now + timedelta(hours=3), created_by="bench", activated_at=now - timedelta(minutes=5))
        db.session.add(r)
        db.session.flush()
        db.session.execute(insert(RoundPoint), [{"round_id": r.id, "point_id": p.id, "ordered_at": now}
                                                for p in points])
        db.session.execute(insert(LedgerEntry), [
            {"movement_id": str(uuid.uuid4()), "point_id": p.id, "ammo_type_id": types["RKT-AGI"], "kind": "receipt",
             "quantity": 20, "actor": "bench", "created_at": now} for p in points])
        crew = db.session.execute(select(CrewMember.id)).scalars().all()
        account_id = 1
        db.session.execute(insert(Checkin), [
            {"id": str(uuid.uuid4()), "point_id": p.id, "crew_id": crew[i % len(crew)], "account_id": account_id,
             "kind": "arrive", "latitude": p.latitude, "longitude": p.longitude, "accuracy_m": 10.0,
             "recorded_at": now - timedelta(minutes=1), "received_at": now - timedelta(minutes=1),
             "distance_m": 0.0, "geofence_m": 500.0, "within_geofence": True, "on_shift": False}
            for i, p in enumerate(points[::10])])
        db.session.commit()
        client = app.test_client()
        token = client.post("/api/v1/auth/token", json={"username": "commander",
                                                        "password": "commander-demo-pass"}).json["access_token"]
        db.engine.dispose()
    return token


def timed_get(path: str, headers: dict) -> tuple[float, int, dict, int]:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    t = time.perf_counter()
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    elapsed = (time.perf_counter() - t) * 1000
    conn.close()
    return elapsed, resp.status, dict(resp.getheaders()), len(body)


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--sizes", default="18,1000,10000")
    opts = parser.parse_args()
    results = []
    for size in [int(s) for s in opts.sizes.split(",")]:
        tmp = Path(tempfile.mkdtemp(prefix="ops-status-"))
        db_path = tmp / "status.sqlite3"
        # One data set per size, built in a child so each app and engine starts clean.
        token = subprocess.run([PY, __file__, "--build", str(db_path), str(size)], cwd=ROOT, check=True,
                               capture_output=True, text=True).stdout.strip().splitlines()[-1]
        cold, memo, not_modified, size_bytes = [], [], [], 0
        for memo_on in ("0", "1"):
            env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}", "PYTHONPATH": str(ROOT),
                   "OPS_STATUS_BUCKET_S": "3600", "OPS_STATUS_MEMO": memo_on, "OPS_REQUEST_LOG": "0"}
            server = subprocess.Popen([PY, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{PORT}", "--timeout",
                                       "120", "--log-level", "warning", "--no-control-socket", "wsgi:app"],
                                      cwd=ROOT, env=env, start_new_session=True)
            try:
                headers = {"Authorization": f"Bearer {token}"}
                for _ in range(100):
                    try:
                        timed_get("/api/v1/status.geojson", headers)
                        break
                    except OSError:
                        time.sleep(0.2)
                etag = None
                for _ in range(opts.requests):
                    ms, status, hdrs, size_bytes = timed_get("/api/v1/status.geojson", headers)
                    assert status == 200, status
                    (memo if memo_on == "1" else cold).append(ms)
                    etag = hdrs["ETag"]
                if memo_on == "0":
                    for _ in range(opts.requests * 5):
                        ms, status, _, _ = timed_get("/api/v1/status.geojson", {**headers, "If-None-Match": etag})
                        assert status == 304, status
                        not_modified.append(ms)
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
        results.append({"points": size, "bytes": size_bytes, "p50_ms": round(pct(cold, 50), 2),
                        "p99_ms": round(pct(cold, 99), 2), "p50_304_ms": round(pct(not_modified, 50), 2),
                        "p99_304_ms": round(pct(not_modified, 99), 2), "memo_p50_ms": round(pct(memo, 50), 2)})
    print(f"\n{'points':>8}{'bytes':>11}{'p50 ms':>10}{'p99 ms':>10}{'304 p50':>10}{'304 p99':>10}{'memo p50':>10}")
    for r in results:
        print(f"{r['points']:>8}{r['bytes']:>11}{r['p50_ms']:>10.1f}{r['p99_ms']:>10.1f}"
              f"{r['p50_304_ms']:>10.2f}{r['p99_304_ms']:>10.2f}{r['memo_p50_ms']:>10.1f}")
    print("\np50/p99: every request builds the feed (OPS_STATUS_MEMO=0); memo p50: the default, one build per "
          "version\ntargets: 10,000 points under 300 ms at p50; the 304 answer under 5 ms")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "status.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--build":
        print(build(Path(sys.argv[2]), int(sys.argv[3])))
    else:
        main()
