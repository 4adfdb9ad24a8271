"""The national scale run on PostgreSQL: two app servers, the SYNTHETIC national data set, one table.

    .venv/bin/python bench/scale_bench.py [--audit-events 10000000] [--duration 20] [--database-url URL]

Without --database-url it starts a throwaway PostgreSQL server from Debian's packages (.ci/postgres.sh,
port 55439). Then: `ops seed-synthetic` (10,000 points, 50,000 crew, 60 past rounds, an active round
ordering every point, and filler events so the audit chain is --audit-events long); two gunicorn app
servers (gunicorn.conf.py, 2 sync workers each) on two ports; two wrk processes, 16 connections each,
one per server, posting new check-ins from 64 SYNTHETIC crew accounts; then `GET /api/v1/status.geojson`
(10,000 points, built every request) and `GET /api/v1/audit/events` for the last page of the chain.
Then the delta feed (#19): a third app server (1 sync worker, the per-version memo on, a day-long time
bucket so the version moves only with writes) and --delta-steps steps of 10 check-ins through the API,
each followed by the polls of the new version: a delta (`?since=` the screen's last version) and the full
feed, the first of them paying the build, the others memo hits; each delta applied to its screen's copy
must equal the full feed (bench/national_bench.py's FeedProbe; a difference fails the run).
Prints a table and writes bench/results/scale.json. Needs wrk (apt-get install wrk).
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from checkin_bench import parse_wrk  # bench/ is this script's own folder, first on sys.path
from national_bench import Client, FeedProbe, RequestLog, start_server

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PY = sys.executable
PORTS = (18101, 18102)


def run(cmd: list[str], env: dict) -> str:
    return subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout


def start_postgres() -> str:
    url = run(["bash", str(ROOT / ".ci" / "postgres.sh"), "55439", "/tmp/ops-pg-scale"], dict(os.environ))
    admin = url.strip().splitlines()[-1]
    psql = ["psql", admin.replace("postgresql+psycopg", "postgresql"), "-qc"]
    subprocess.run([*psql, "DROP DATABASE IF EXISTS ops_scale"], check=True, capture_output=True)
    subprocess.run([*psql, "CREATE DATABASE ops_scale"], check=True, capture_output=True)
    return admin.rsplit("/", 1)[0] + "/ops_scale"


def wait_ready(base: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{base} did not become ready")


def timed(url: str, token: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
        t = time.perf_counter()
        with urllib.request.urlopen(req, timeout=120) as resp:
            resp.read()
            assert resp.status == 200
        out.append((time.perf_counter() - t) * 1000)
    return out


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: start one)")
    parser.add_argument("--audit-events", type=int, default=10_000_000)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--delta-steps", type=int, default=12, help="steps of 10 check-ins for the delta feed")
    parser.add_argument("--skip-load", action="store_true",
                        help="measure again on a database this script loaded before (with --database-url)")
    opts = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    url = opts.database_url or start_postgres()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "PYTHONPATH": str(ROOT), "OPS_REQUEST_LOG": "0",
           "OPS_RATELIMIT_ENABLED": "0", "OPS_STATUS_MEMO": "0"}
    tmp = Path(tempfile.mkdtemp(prefix="ops-scale-"))
    if not opts.skip_load:
        # A fresh chain gets its own checkpoint file: the instance folder's, named after the database URL, holds
        # the checkpoints of the chain an earlier run loaded at this URL, which this one would contradict.
        env["OPS_AUDIT_CHECKPOINT_FILE"] = str(tmp / "audit-checkpoints.jsonl")
    flask = [PY, "-m", "flask", "--app", "wsgi", "ops"]
    t = time.monotonic()
    if not opts.skip_load:
        run([*flask, "init-db"], env)
        print(run([*flask, "seed-synthetic", "--active-round", "--audit-events", str(opts.audit_events)],
                  env).strip())
        run([*flask, "create-user", "bench-auditor", "--role", "auditor"],
            {**env, "OPS_PASSWORD": "bench-auditor-pass"})
    load_s = time.monotonic() - t

    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from opsserver import create_app

    app = create_app()
    client = app.test_client()
    targets, crew = [], []
    for n in range(64):
        token = client.post("/api/v1/auth/token", json={"username": f"syn-crew-{n:05d}",
                                                        "password": "synthetic-pass"}).json["access_token"]
        point = client.get(f"/api/v1/points/SYN{n:05d}", headers={"Authorization": f"Bearer {token}"}).json
        targets.append(f"{token} {point['code']} {point['latitude']} {point['longitude']}")
        crew.append((token, point["code"], point["latitude"], point["longitude"]))
    halves = []
    for i in range(2):
        path = tmp / f"targets-{i}.txt"
        path.write_text("\n".join(targets[i::2]) + "\n")
        halves.append(path)
    auditor = client.post("/api/v1/auth/token", json={"username": "bench-auditor",
                                                      "password": "bench-auditor-pass"}).json["access_token"]
    commander = client.post("/api/v1/auth/token", json={"username": "syn-commander-00",
                                                        "password": "synthetic-pass"}).json["access_token"]

    servers = [subprocess.Popen([PY, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"], cwd=ROOT,
                                env={**env, "OPS_BIND": f"127.0.0.1:{port}", "OPS_WORKERS": "2",
                                     "OPS_LOG_LEVEL": "warning"}, start_new_session=True) for port in PORTS]
    try:
        bases = [f"http://127.0.0.1:{port}" for port in PORTS]
        for base in bases:
            wait_ready(base)
        per = opts.connections // 2
        wrks = [subprocess.Popen(["wrk", "-t1", f"-c{per}", f"-d{opts.duration}s", "--latency", "-s",
                                  str(BENCH / "checkin.lua"), base, str(path)], stdout=subprocess.PIPE, text=True)
                for base, path in zip(bases, halves)]
        runs = [parse_wrk(w.communicate()[0]) for w in wrks]
        rps = sum(r["rps"] for r in runs)
        p99 = max(r["p99"] for r in runs)  # the worse server's: a conservative p99 of the two
        p50 = statistics.mean(r["p50"] for r in runs)
        errors = sum(r["errors"] for r in runs)
        status = timed(bases[0] + "/api/v1/status.geojson", commander, 20)
        with app.app_context():
            from sqlalchemy import text

            from opsserver.extensions import db

            last = db.session.execute(text("SELECT max(seq) FROM audit_events")).scalar()
            checkins = db.session.execute(text("SELECT count(*) FROM checkins")).scalar()
        audit_tail = timed(f"{bases[1]}/api/v1/audit/events?after_seq={last - 100}&limit=100", auditor, 50)
        audit_filtered = timed(f"{bases[1]}/api/v1/audit/events?entity=synthetic&after_seq={last - 100}&limit=100",
                               auditor, 50)
    finally:
        for s in servers:
            os.killpg(s.pid, signal.SIGTERM)
            s.wait(timeout=30)
    # The delta feed: its own server, memo on (the default), so one build per version serves every screen.
    delta_log = tmp / "delta-server.log"
    delta_server = start_server(url, PORTS[1] + 1, 1, delta_log, OPS_STATUS_BUCKET_S=86400, OPS_STATUS_MEMO=1)
    try:
        probe = FeedProbe(Client(PORTS[1] + 1), RequestLog(delta_log), commander)
        probe.poll()  # this process's first build: the base of its history
        delta = probe.rate(crew, 10, opts.delta_steps)
    finally:
        os.killpg(delta_server.pid, signal.SIGTERM)
        delta_server.wait(timeout=30)
    verified = subprocess.run([*flask, "verify-audit"], cwd=ROOT, env=env, capture_output=True, text=True)
    verify = (verified.stdout.strip() or verified.stderr.strip().splitlines()[-1]) + (
        "" if verified.returncode == 0 else f" (exit {verified.returncode})")
    result = {
        "audit_events": last, "load_s": round(load_s), "connections": opts.connections, "duration_s": opts.duration,
        "checkin": {"rps": rps, "p50_ms": round(p50, 2), "p99_ms": p99, "errors": errors, "stored": checkins},
        "status_geojson_10000": {"p50_ms": round(pct(status, 50), 1), "p99_ms": round(pct(status, 99), 1)},
        "audit_last_page": {"p50_ms": round(pct(audit_tail, 50), 2), "p99_ms": round(pct(audit_tail, 99), 2)},
        "audit_last_page_filtered": {"p50_ms": round(pct(audit_filtered, 50), 2),
                                     "p99_ms": round(pct(audit_filtered, 99), 2)},
        "verify": verify.split(",")[0],
        "delta_feed_10_changed": delta, "delta_failures": probe.failures,
    }
    loaded = "loaded before" if opts.skip_load else f"loaded in {load_s:.0f} s"
    print(f"\nPostgreSQL, SYNTHETIC national set, audit chain of {last:,} events ({loaded})")
    print(f"{'measure':<44}{'value':>12}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}")
    print(f"{'check-ins, 2 servers × 2 workers, req/s':<44}{rps:>12.0f}{p50:>10.1f}{p99:>10.1f}{errors:>8}")
    print(f"{'status.geojson, 10,000 points':<44}{'':>12}{pct(status, 50):>10.1f}{pct(status, 99):>10.1f}")
    print(f"{'audit events, last page of 100':<44}{'':>12}{pct(audit_tail, 50):>10.2f}{pct(audit_tail, 99):>10.2f}")
    print(f"{'audit events, last page, entity filter':<44}{'':>12}{pct(audit_filtered, 50):>10.2f}"
          f"{pct(audit_filtered, 99):>10.2f}")
    print(f"check-ins stored: {checkins}; verify-audit: {result['verify']}")
    print(f"\ndelta feed, 10 points changed per step, {opts.delta_steps} steps (1 sync worker, memo on):")
    print(f"{'answer':<44}{'KB wire':>9}{'KB body':>9}{'server p50':>11}{'p95':>8}{'trip p50':>10}{'p95':>8}")
    names = {"delta_memo": "delta (memo hit)", "full_memo": "full (memo hit)",
             "delta_first": "delta, first poll (pays the build)", "full_first": "full, first poll (pays the build)",
             "lagging": "delta over 3 steps (memo hit)"}
    for kind, name in names.items():
        if kind in delta:
            x = delta[kind]
            print(f"{name:<44}{x['wire_p50'] / 1000:>9.1f}{x['body_p50'] / 1000:>9.1f}{x['server_p50']:>11.2f}"
                  f"{x['server_p95']:>8.2f}{x['client_p50']:>10.2f}{x['client_p95']:>8.2f}")
    d, f = delta["delta_memo"], delta["full_memo"]
    print(f"delta / full: bytes on the wire {d['wire_p50'] / f['wire_p50']:.4f}, server time "
          f"{d['server_p50'] / f['server_p50']:.3f}; correctness: "
          + ("every delta applied equalled the full feed" if not probe.failures else
             f"{len(probe.failures)} FAILURES: " + "; ".join(probe.failures[:5])))
    print("targets: no errors at 32 connections; the audit page under 50 ms; a delta poll with 10 points changed "
          "under 20 KB and 20 ms at p50")
    (BENCH / "results").mkdir(exist_ok=True)
    (BENCH / "results" / "scale.json").write_text(json.dumps(result, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)
    if probe.failures or verified.returncode:
        sys.exit(1)


if __name__ == "__main__":
    main()
