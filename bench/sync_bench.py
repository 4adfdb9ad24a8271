"""The phone's night queue: one `/sync` of 500 firing reports and one of 500 check-ins, against 500 single
check-ins sent one by one (`POST /api/v1/checkins`), all against one gunicorn server in one run.

    .venv/bin/python bench/sync_bench.py [--items 500] [--workers 2] [--no-front]

The app runs as it is served: the nginx front (deploy/nginx/proxy.conf) before gunicorn.conf.py's sync
workers and their 30 s worker timeout (`--no-front`: gunicorn alone), on a fresh SQLite file with
synchronous=FULL (durable commits) and the Luohe demo loaded. Before the timed part: an
active round ordering every point, an approved airspace window at LH01 and LH02 over the queue's times,
and the points' crew checked in, so each report is judged against a real firing context. Then, each
timed from the client: the single check-ins (a new connection each, as a phone sends them), one sync of
check-ins, one sync of reports (crew-lh01 at LH01; LH01 holds 48 rockets, so the later reports are
flagged `insufficient_stock`), and two phones (LH01, LH02) each syncing that many reports at once.
Every item must answer 201; afterwards the rows are counted and the audit chain verified. Prints a
table and writes bench/results/sync.json.
"""

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.servers import app_server, served  # noqa: E402

PY = sys.executable
SERVER = {"host": "127.0.0.1", "port": 0}  # set once the server is up


def request(method: str, path: str, body=None, token: str | None = None) -> tuple[int, dict]:
    """One request on a new connection (the sync workers close it after each answer anyway)."""
    conn = http.client.HTTPConnection(SERVER["host"], SERVER["port"], timeout=120)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={
            **({"Content-Type": "application/json"} if data is not None else {}),
            **({"Authorization": f"Bearer {token}"} if token else {})})
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, (json.loads(raw) if raw else {})
    finally:
        conn.close()


def ok(status: int, body: dict, *expected: int) -> dict:
    if status not in (expected or (200, 201)):
        raise RuntimeError(f"unexpected answer {status}: {body}")
    return body


def token(username: str, password: str) -> str:
    return ok(*request("POST", "/api/v1/auth/token", {"username": username, "password": password}))["access_token"]


def checkin(point: dict, at: datetime, **extra) -> dict:
    return {"id": str(uuid.uuid4()), "point_code": point["code"], "kind": "arrive", "latitude": point["latitude"],
            "longitude": point["longitude"], "accuracy_m": 8.0, "recorded_at": at.isoformat(), **extra}


def report(round_id: int, code: str, at: datetime) -> dict:
    return {"type": "report", "round_id": round_id, "id": str(uuid.uuid4()), "point_code": code,
            "started_at": at.isoformat(), "ended_at": (at + timedelta(seconds=20)).isoformat(),
            "azimuth_deg": 250.0, "elevation_deg": 55.0, "height_m": 4000.0, "range_km": 5.0,
            "ammo": [{"type": "RKT-AGI", "fired": 1, "duds": 0}], "cloud_type": "Ns",
            "weather_before": "light rain", "notes": "queued overnight"}


def setup(points: list[str]) -> dict:
    """An active round of every point, windows at `points`, their crew on site; the tokens used."""
    commander = token("commander", "commander-demo-pass")
    all_points = ok(*request("GET", "/api/v1/points?limit=100", token=commander))["items"]
    by_code = {p["code"]: p for p in all_points}
    now = datetime.now(UTC)
    rnd = ok(*request("POST", "/api/v1/rounds", {
        "name": "Sync bench", "purpose": "rain_enhancement", "planned_start": now.isoformat(),
        "planned_end": (now + timedelta(hours=6)).isoformat(), "point_codes": sorted(by_code)}, commander))
    ok(*request("POST", f"/api/v1/rounds/{rnd['id']}/activate", {}, commander))
    crew = ok(*request("GET", "/api/v1/crew?limit=100", token=commander))["items"]
    for code in points:
        req = ok(*request("POST", f"/api/v1/rounds/{rnd['id']}/airspace", {
            "point_code": code, "window_start": now.isoformat(), "duration_min": 300}, commander))
        ok(*request("POST", f"/api/v1/airspace/{req['id']}/decision", {
            "decision": "approved", "approved_start": (now - timedelta(minutes=1)).isoformat(),
            "approved_end": (now + timedelta(hours=5)).isoformat(), "reference": "ATC-BENCH"}, commander))
        for member in (m for m in crew if m["home_point"] == code):
            ok(*request("POST", "/api/v1/checkins", checkin(by_code[code], now, crew_id=member["id"]), commander))
    return {"round_id": rnd["id"], "points": by_code, "start": now + timedelta(seconds=1),
            "phones": {code: token(f"crew-{code.lower()}", "crew-demo-pass") for code in points}}


def timed_sync(tok: str, items: list[dict]) -> tuple[float, list[int]]:
    t = time.perf_counter()
    body = ok(*request("POST", "/api/v1/sync", {"items": items}, tok), 200)
    return time.perf_counter() - t, [r["status"] for r in body["items"]]


def check_store(env: dict) -> dict:
    code = ("from opsserver import create_app; from opsserver.extensions import db; "
            "from opsserver.audit.services import verify_chain; from sqlalchemy import text; import json\n"
            "app = create_app()\nwith app.app_context():\n"
            "    q = lambda t: db.session.execute(text(f'select count(*) from {t}')).scalar()\n"
            "    print(json.dumps({'checkins': q('checkins'), 'reports': q('firing_reports'), "
            "'chain_ok': verify_chain()['ok']}))")
    return json.loads(subprocess.run([PY, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True,
                                     text=True).stdout)


def run(n: int) -> dict:
    """The timed runs against the server in SERVER."""
    ctx = setup(["LH01", "LH02"])
    phone, lh01 = ctx["phones"]["LH01"], ctx["points"]["LH01"]
    at = [ctx["start"] + timedelta(seconds=i) for i in range(n)]
    t = time.perf_counter()
    for i in range(n):
        ok(*request("POST", "/api/v1/checkins", checkin(lh01, at[i]), phone), 201)
    singles = time.perf_counter() - t
    checkins_s, statuses = timed_sync(phone, [{"type": "checkin", **checkin(lh01, x + timedelta(seconds=0.5))}
                                              for x in at])
    assert statuses == [201] * n, statuses
    reports_s, statuses = timed_sync(phone, [report(ctx["round_id"], "LH01", x) for x in at])
    assert statuses == [201] * n, statuses
    # Two phones drain their queues at once (one per worker).
    later = [x + timedelta(seconds=n) for x in at]
    both: dict[str, tuple] = {}
    threads = [threading.Thread(target=lambda c=code: both.__setitem__(c, timed_sync(
        ctx["phones"][c], [report(ctx["round_id"], c, x) for x in later])))
        for code in ("LH01", "LH02")]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all(s == [201] * n for _, s in both.values()), both
    return {"single_checkins_s": round(singles, 3), "sync_checkins_s": round(checkins_s, 3),
            "sync_reports_s": round(reports_s, 3),
            "two_phones_reports_s": {c: round(both[c][0], 3) for c in sorted(both)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=500, help="items per queue (the API takes at most 500)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-front", action="store_true", help="gunicorn alone, without the nginx front")
    opts = parser.parse_args()
    n = opts.items
    tmp = Path(tempfile.mkdtemp(prefix="ops-sync-bench-"))
    db_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": db_url, "OPS_SQLITE_SYNCHRONOUS": "FULL", "SECRET_KEY": "bench",
           "PYTHONPATH": str(ROOT)}
    flask = [PY, "-m", "flask", "--app", "wsgi", "ops"]
    subprocess.run([*flask, "init-db"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*flask, "seed-demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    server = (app_server(db_url, opts.workers, OPS_SQLITE_SYNCHRONOUS="FULL") if opts.no_front
              else served(db_url, opts.workers, OPS_SQLITE_SYNCHRONOUS="FULL"))
    with server as up:
        url = urlsplit(up[0] if opts.no_front else up.base)
        SERVER.update(host=url.hostname, port=url.port)
        times = run(n)
    stored = check_store(env)
    result = {"items": n, "workers": opts.workers, "front": not opts.no_front, **times,
              "ratio_reports_to_singles": round(times["sync_reports_s"] / times["single_checkins_s"], 3),
              "stored": stored}
    print(f"\n{'run (' + ('gunicorn alone' if opts.no_front else 'nginx front, gunicorn') + ')':<46}"
          f"{'seconds':>9}{'ms/item':>9}")
    rows = [(f"{n} single POST /api/v1/checkins", times["single_checkins_s"]),
            (f"/sync of {n} check-ins", times["sync_checkins_s"]), (f"/sync of {n} reports", times["sync_reports_s"]),
            *((f"/sync of {n} reports, two phones at once: {c}", s) for c, s in times["two_phones_reports_s"].items())]
    for name, secs in rows:
        print(f"{name:<46}{secs:>9.2f}{secs / n * 1000:>9.2f}")
    print(f"\nratio sync of {n} reports / {n} single check-ins = {result['ratio_reports_to_singles']:.2f} "
          f"(target < 1); sync of {n} reports = {times['sync_reports_s']:.2f} s (target < 3 s)")
    print(f"stored: {stored['checkins']} check-ins, {stored['reports']} reports; audit chain ok: {stored['chain_ok']}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "sync.json").write_text(json.dumps(result, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
