"""Check-in throughput and latency against a bare Flask hello-world, all under gunicorn in one run.

    .venv/bin/python bench/checkin_bench.py [--duration 15] [--connections 32] [--workers 2] [--port 18081]
                                            [--rounds 1]

Uses wrk (Debian package `wrk`) on 127.0.0.1. The app runs on a fresh SQLite file with
synchronous=FULL (durable commits) and the Luohe demo loaded; every request is a new check-in with
its own UUID and Idempotency-Key from one of the 18 crew accounts. The same requests then go to a
bare endpoint that only validates the body and inserts one row through the ORM (bench/bare_insert.py),
the reference the issue sizes its target by. With --rounds N the check-in and the bare insert take
turns, N segments each, so that a machine whose load drifts weighs on both alike (the figures are then
the segments' means, p50 and p99 their medians). Each row also gives the server's CPU time per request,
steadier than req/s on a shared machine. Prints a table and writes bench/results/checkin.json.
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


def cpu_seconds(proc: subprocess.Popen) -> float:
    """User and system CPU time the server's workers have used so far (Linux /proc)."""
    total = 0
    for pid in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def parse_wrk(out: str) -> dict:
    """req/s, requests, errors (non-2xx/3xx and socket errors) and latency percentiles (ms) from wrk's output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    lat = dict(re.findall(r"(p50|p90|p99|max)=([\d.]+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    return {"rps": rps, "requests": total, "errors": errors, **{k: float(v) for k, v in lat.items()}}


def run_wrk(url: str, script: Path, args: list[str], duration: int, connections: int,
            server: subprocess.Popen) -> dict:
    """wrk's figures, and the server's CPU time per request (steadier than req/s on a busy machine)."""
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script), url, *args]
    cpu = cpu_seconds(server)
    result = parse_wrk(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    return {**result, "cpu_ms": round((cpu_seconds(server) - cpu) * 1000 / max(result["requests"], 1), 3)}


def combine(segments: list[dict]) -> dict:
    """One row from several wrk segments of the same endpoint."""
    if len(segments) == 1:
        return segments[0]
    column = {key: [s[key] for s in segments] for key in segments[0]}
    return {"rps": round(sum(column["rps"]) / len(segments), 2), "requests": sum(column["requests"]),
            "errors": sum(column["errors"]), "max": max(column["max"]),
            **{key: sorted(column[key])[len(segments) // 2] for key in ("p50", "p90", "p99")},
            "cpu_ms": round(sum(column["cpu_ms"]) / len(segments), 3), "segments": segments}


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
    parser.add_argument("--port", type=int, default=18081, help="the first of the three servers' ports")
    parser.add_argument("--rounds", type=int, default=1, help="check-in and bare insert segments, taking turns")
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

    hello_url, app_url, bare_url = (f"http://127.0.0.1:{opts.port + n}" for n in range(3))
    hello = gunicorn("bench.hello:app", opts.port, env, opts.workers)
    app = gunicorn("wsgi:app", opts.port + 1, env, opts.workers)
    bare = gunicorn("bench.bare_insert:app", opts.port + 2, env, opts.workers)
    try:
        wait_for(f"{hello_url}/hello")
        wait_for(f"{app_url}/api/openapi.json")
        wait_for(f"{bare_url}/api/v1/checkins")
        run_wrk(f"{hello_url}/hello", BENCH / "latency.lua", [], 3, opts.connections, hello)  # warm-up
        base = run_wrk(f"{hello_url}/hello", BENCH / "latency.lua", [], opts.duration, opts.connections, hello)
        stop(hello)
        checkins, inserts = [], []
        for n in range(opts.rounds):
            checkins.append(run_wrk(app_url, BENCH / "checkin.lua", [str(targets)], opts.duration,
                                    opts.connections, app))
            if n == opts.rounds - 1:
                stop(app)  # its background threads stay out of the last segment, as with one round
            inserts.append(run_wrk(bare_url, BENCH / "checkin.lua", [str(targets)], opts.duration,
                                   opts.connections, bare))
        checkin, insert = combine(checkins), combine(inserts)
    finally:
        for proc in (hello, app, bare):
            if proc.poll() is None:
                stop(proc)
    stored = check_store(env, checkin["requests"])
    result = {"connections": opts.connections, "workers": opts.workers, "duration_s": opts.duration,
              "rounds": opts.rounds,
              "hello": base, "checkin": checkin, "bare_insert": insert,
              "ratio": round(checkin["rps"] / base["rps"], 3),
              "bare_insert_ratio": round(insert["rps"] / base["rps"], 3), "stored": stored}
    print(f"\n{'endpoint':<30}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'CPU ms/req':>12}")
    for name, r in (("hello-world (baseline)", base), ("POST /api/v1/checkins", checkin),
                    ("bare ORM insert (reference)", insert)):
        print(f"{name:<30}{r['rps']:>10.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['errors']:>8}{r['cpu_ms']:>12.3f}")
    print(f"\nratio check-in / hello-world = {result['ratio']:.3f} (target ≥ 0.20); "
          f"check-in p99 = {checkin['p99']:.1f} ms (target < 60 ms) at {opts.connections} connections")
    print(f"ratio bare ORM insert / hello-world = {result['bare_insert_ratio']:.3f}; "
          f"check-in / bare insert = {checkin['rps'] / insert['rps']:.2f} (target ≥ 0.9); "
          f"server CPU per request, bare insert / check-in = {insert['cpu_ms'] / checkin['cpu_ms']:.2f}")
    print(f"stored check-ins: {stored['checkins']} (wrk counted {checkin['requests']} requests); "
          f"audit chain ok: {stored['chain']['ok']} ({stored['chain']['count']} events)")
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    (out / "checkin.json").write_text(json.dumps(result, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
