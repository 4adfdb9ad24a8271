"""Fifty phones on a weak signal against the served configuration, and what they do to everyone else.

    .venv/bin/python bench/slow_clients.py [--slow 50] [--interval 0.5] [--samples 100]

Each slow client sends a login's headers, then its body one byte every `interval` seconds (the issue's
case: a body at one byte per half second). For each configuration, in the same run: the latency of
`GET /healthz` and of a healthy phone's check-in with no slow client, then again while all the slow
clients are connected; and how the slow requests ended. Configurations:

- `front`: the served one (deploy/nginx/proxy.conf in front of gunicorn's sync workers);
- `sync`: gunicorn's sync workers alone (what was served before);
- `gthread`: gunicorn alone with 2 workers × 16 threads, the worker model the front was measured against.

A request that does not answer within `--timeout` seconds counts as a timeout. Writes
bench/results/slow_clients.json.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.servers import app_server, http_json, served  # noqa: E402
from tests.helpers.slow import SlowClient, start_slow_clients  # noqa: E402

LH01 = (33.5541, 113.8623)  # the demo's LH01 (opsserver/demo/luohe.json)


def prepare(db_url: str) -> None:
    """Migrate and load the Luohe demo into a fresh SQLite file."""
    env = {**os.environ, "DATABASE_URL": db_url, "OPS_SQLITE_SYNCHRONOUS": "FULL", "SECRET_KEY": "bench"}
    for cmd in ("init-db", "seed-demo"):
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "ops", cmd], cwd=ROOT, env=env,
                       check=True, capture_output=True)


def timed(method: str, url: str, timeout: float, **kwargs) -> float | None:
    """Seconds one request took, or None when it failed or timed out."""
    t0 = time.perf_counter()
    try:
        status, _, _ = http_json(method, url, timeout=timeout, **kwargs)
    except OSError:
        return None
    return time.perf_counter() - t0 if 200 <= status < 300 else None  # a refusal is no answer to time


def measure(base: str, token: str, samples: int, timeout: float) -> dict:
    """Latency (ms) of /healthz and of a check-in, `samples` each, one after another."""
    out = {}
    for name in ("healthz", "checkin"):
        times, failed = [], 0
        for _ in range(samples):
            if name == "healthz":
                t = timed("GET", base + "/healthz", timeout)
            else:
                cid = str(uuid.uuid4())
                body = {"id": cid, "point_code": "LH01", "kind": "arrive", "latitude": LH01[0],
                        "longitude": LH01[1], "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
                t = timed("POST", base + "/api/v1/checkins", timeout, body=body, token=token,
                          **{"Idempotency-Key": f"bench-{cid}"})
            if t is None:
                failed += 1
                if failed >= 3 and not times:
                    break  # this configuration does not answer: three timeouts say it, no need for more
            else:
                times.append(t * 1000)
        q = statistics.quantiles(times, n=100) if len(times) >= 2 else times * 99 or [float("nan")] * 99
        out[name] = {"answered": len(times), "timeouts": failed,
                     "p50_ms": round(q[49], 1), "p99_ms": round(q[98], 1)}
    return out


@contextmanager
def configuration(name: str, db_url: str):
    """Yields (base URL, port) of the configuration under test."""
    if name == "front":
        with served(db_url) as s:
            yield s.base, s.port
    else:
        args = ("--worker-class", "gthread", "--threads", "16") if name == "gthread" else ()
        with app_server(db_url, args=args) as (base, _):
            yield base, int(base.rsplit(":", 1)[1])


def run(name: str, db_url: str, opts) -> dict:
    """Both phases of one configuration."""
    with configuration(name, db_url) as (base, port):
        status, login, _ = http_json("POST", base + "/api/v1/auth/token",
                                     {"username": "crew-lh01", "password": "crew-demo-pass"})
        token = login["access_token"]
        quiet = measure(base, token, opts.samples, opts.timeout)
        body = json.dumps({"username": "crew-lh02", "password": "crew-demo-pass"}).encode()
        slow = [SlowClient(port, "/api/v1/auth/token", body, interval=opts.interval) for _ in range(opts.slow)]
        start_slow_clients(slow)
        loaded = measure(base, token, opts.samples, opts.timeout)
        still_on = sum(c.is_alive() for c in slow)
        for c in slow:
            c.join(timeout=len(body) * opts.interval + 120)
        endings: dict[str, int] = {}
        for c in slow:
            key = str(c.status) if c.status else "no answer"
            endings[key] = endings.get(key, 0) + 1
    return {"quiet": quiet, "with_slow_clients": loaded, "slow_still_connected_after": still_on,
            "slow_endings": endings}


def fmt(ms: float, width: int) -> str:
    """A latency cell: milliseconds, or a dash when nothing answered."""
    return f"{'—':>{width + 2}}" if ms != ms else f"{ms:>{width}.1f}ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slow", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--configs", default="front,sync,gthread")
    opts = parser.parse_args()
    results = {}
    for name in opts.configs.split(","):
        tmp = Path(tempfile.mkdtemp(prefix="ops-slow-"))
        db_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
        prepare(db_url)
        results[name] = run(name, db_url, opts)
    print(f"\n{opts.slow} slow clients, one byte every {opts.interval} s; {opts.samples} samples a phase; "
          f"timeout {opts.timeout} s\n")
    print(f"{'config':<9}{'phase':<19}{'healthz p50':>12}{'p99':>9}{'check-in p50':>14}{'p99':>9}"
          f"{'timeouts':>10}  slow requests ended")
    for name, r in results.items():
        for phase in ("quiet", "with_slow_clients"):
            m = r[phase]
            h = (fmt(m["healthz"]["p50_ms"], 10), fmt(m["healthz"]["p99_ms"], 7),
                 fmt(m["checkin"]["p50_ms"], 12), fmt(m["checkin"]["p99_ms"], 7))
            print(f"{name:<9}{phase:<19}{h[0]}{h[1]}{h[2]}{h[3]}"
                  f"{m['healthz']['timeouts'] + m['checkin']['timeouts']:>10}"
                  f"  {r['slow_endings'] if phase != 'quiet' else ''}")
    front = results.get("front")
    if front:
        p99 = max(front["with_slow_clients"]["healthz"]["p99_ms"], front["with_slow_clients"]["checkin"]["p99_ms"])
        print(f"\nfront, with {opts.slow} slow clients connected: p99 {p99:.1f} ms (target < 1000 ms); "
              f"slow clients still connected when the measurement ended: {front['slow_still_connected_after']}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "slow_clients.json").write_text(json.dumps({"options": vars(opts), "results": results}, indent=2))


if __name__ == "__main__":
    main()
