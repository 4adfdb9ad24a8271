"""Check-in throughput and latency against a bare Flask hello-world, all under gunicorn in one run.

    .venv/bin/python bench/checkin_bench.py [--duration 15] [--connections 32] [--workers 2]

Uses wrk (Debian package `wrk`) on 127.0.0.1. The app runs on a fresh SQLite file with
synchronous=FULL (durable commits) and the Luohe demo loaded; every request is a new check-in with
its own UUID and Idempotency-Key from one of the 18 crew accounts. The same requests then go to a
bare endpoint that only validates the body and inserts one row through the ORM (bench/bare_insert.py),
the reference the issue sizes its target by. Prints a table and writes bench/results/checkin.json.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PY = sys.executable


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answers, if not to a GET here
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not come up")


def gunicorn(app: str, port: int, env: dict, workers: int) -> subprocess.Popen:
    return subprocess.Popen(
        [PY, "-m", "gunicorn", "-c", str(BENCH / "gunicorn_bench.conf.py"), "--bind", f"127.0.0.1:{port}", app],
        cwd=ROOT, env={**env, "BENCH_WORKERS": str(workers)}, start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


def parse_wrk(out: str) -> dict:
    """req/s, requests, errors (non-2xx/3xx and socket errors) and latency percentiles (ms) from wrk's output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    lat = dict(re.findall(r"(p50|p90|p99|max)=([\d.]+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return {"rps": rps, "requests": total, "errors": errors, **{k: float(v) for k, v in lat.items()}}


def run_wrk(url: str, script: Path, args: list[str], duration: int, connections: int) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url, *args]
    return parse_wrk(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)


def prepare(db_path: Path, env: dict) -> Path:
    """Migrate, seed the demo, and log in the 18 crew accounts; write wrk's target list."""
    flask = [PY, "-m", "flask", "--app", "wsgi", "ops"]
    subprocess.run([*flask, "init-db"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*flask, "seed-demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    sys.path.insert(0, str(ROOT))
    os.environ.update(env)
    from opsserver import create_app

    app = create_app()
    client = app.test_client()
    lines = []
    for n in range(1, 19):
        token = client.post("/api/v1/auth/token", json={"username": f"crew-lh{n:02d}",
                                                        "password": "crew-demo-pass"}).json["access_token"]
        point = client.get(f"/api/v1/points/LH{n:02d}", headers={"Authorization": f"Bearer {token}"}).json
        lines.append(f"{token} {point['code']} {point['latitude']} {point['longitude']}")
    targets = db_path.parent / "targets.txt"
    targets.write_text("\n".join(lines) + "\n")
    return targets


def check_store(env: dict, created: int) -> dict:
    """Afterwards: rows stored and the audit chain verified."""
    code = ("from opsserver import create_app; from opsserver.extensions import db; "
            "from opsserver.audit.services import verify_chain; from sqlalchemy import text; import json\n"
            "app = create_app()\nwith app.app_context():\n"
            "    n = db.session.execute(text('select count(*) from checkins')).scalar()\n"
            "    print(json.dumps({'checkins': n, 'chain': verify_chain()}))")
    out = subprocess.run([PY, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers for both servers")
    opts = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix="ops-bench-"))
    db_path = tmp / "bench.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}", "OPS_SQLITE_SYNCHRONOUS": "FULL",
           "SECRET_KEY": "bench", "PYTHONPATH": str(ROOT),
           "OPS_REQUEST_LOG": "0"}  # no request log, as the baseline has no access log
    targets = prepare(db_path, env)
    env["BENCH_BARE_DATABASE_URL"] = os.environ["BENCH_BARE_DATABASE_URL"] = f"sqlite:///{tmp / 'bare.sqlite3'}"
    from bench import bare_insert

    bare_insert.create_table()

    hello = gunicorn("bench.hello:app", 18081, env, opts.workers)
    app = gunicorn("wsgi:app", 18082, env, opts.workers)
    bare = gunicorn("bench.bare_insert:app", 18083, env, opts.workers)
    try:
        wait_for("http://127.0.0.1:18081/hello")
        wait_for("http://127.0.0.1:18082/api/openapi.json")
        wait_for("http://127.0.0.1:18083/api/v1/checkins")
        run_wrk("http://127.0.0.1:18081/hello", BENCH / "latency.lua", [], 3, opts.connections)  # warm-up
        base = run_wrk("http://127.0.0.1:18081/hello", BENCH / "latency.lua", [], opts.duration, opts.connections)
        stop(hello)
        checkin = run_wrk("http://127.0.0.1:18082", BENCH / "checkin.lua", [str(targets)], opts.duration,
                          opts.connections)
        stop(app)
        insert = run_wrk("http://127.0.0.1:18083", BENCH / "checkin.lua", [str(targets)], opts.duration,
                         opts.connections)
    finally:
        for proc in (hello, app, bare):
            if proc.poll() is None:
                stop(proc)
    stored = check_store(env, checkin["requests"])
    result = {"connections": opts.connections, "workers": opts.workers, "duration_s": opts.duration,
              "hello": base, "checkin": checkin, "bare_insert": insert,
              "ratio": round(checkin["rps"] / base["rps"], 3),
              "bare_insert_ratio": round(insert["rps"] / base["rps"], 3), "stored": stored}
    print(f"\n{'endpoint':<30}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, r in (("hello-world (baseline)", base), ("POST /api/v1/checkins", checkin),
                    ("bare ORM insert (reference)", insert)):
        print(f"{name:<30}{r['rps']:>10.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['errors']:>8}")
    print(f"\nratio check-in / hello-world = {result['ratio']:.3f} (target ≥ 0.20); "
          f"check-in p99 = {checkin['p99']:.1f} ms (target < 60 ms) at {opts.connections} connections")
    print(f"ratio bare ORM insert / hello-world = {result['bare_insert_ratio']:.3f}; "
          f"check-in / bare insert = {checkin['rps'] / insert['rps']:.2f}")
    print(f"stored check-ins: {stored['checkins']} (wrk counted {checkin['requests']} requests); "
          f"audit chain ok: {stored['chain']['ok']} ({stored['chain']['count']} events)")
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    (out / "checkin.json").write_text(json.dumps(result, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
