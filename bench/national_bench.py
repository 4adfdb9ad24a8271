"""National scale (#19): the delta status feed against the full feed, and the dashboard in Chromium, on the
SYNTHETIC set of 10,000 points.

    .venv/bin/python bench/national_bench.py [--points 10000] [--rates 1,10,100] [--steps 12] [--minutes 10]
                                             [--workers 1] [--cadence-steps 12] [--cadence-screens 2]
                                             [--cadence-rate 10] [--cadence-bucket S] [--warm-loads 3] [--warm-quiet] [--seed 19]
                                             [--skip-feed] [--skip-cadence] [--skip-browser]

Data: a fresh SQLite file, `ops init-db` and `ops seed-synthetic --points N --active-round` (the CLI, in a
child process), so every point is ordered in an active round and every point has a crew account on shift.

Feed (the same run, the same server, the same versions for both): the app under gunicorn (gunicorn.conf.py,
--workers sync workers, 1 by default so that one process's history and memo are what is measured; with
more, each process builds each version once) with OPS_STATUS_BUCKET_S=86400, so a version moves only with
writes. For each change rate (1, 10, 100 points per step; a step stands for one 5-s poll interval, it is
not slept) and --steps steps: that many crew check-ins through POST /api/v1/checkins (real writes, audited,
each changes its point's `last_checkin`), then the polls of the new version:

- the first poll after the writes pays the build of the new version (one build per version, shared by
  every screen and by both answers): on even steps it is screen A's delta, on odd steps a full poll, so
  both kinds have a "first poll" sample;
- then the memo hits: the other of the two, a second screen B's delta (the same `since`), a second full.
- a lagging screen C asks for a delta every third step only (three steps of changes at once).

Every screen keeps a copy of the feed: its delta (`since` = the version of its previous answer) applied to
its copy must equal the full feed of the same version, feature for feature, and must hold every point
written in the step. Any difference, a delta answered `full: true`, or a point missing is a correctness
failure (the script exits 1). Bytes per poll are what crossed the wire (the answer's headers and its body as
encoded for Chromium's Accept-Encoding: zstd here) and the decoded body; time per poll is the server's own
(`duration_ms` of the request log, matched by X-Request-ID: the app's time, before compression) and the
client's round trip on 127.0.0.1 (a new connection each: the sync worker does not keep connections alive;
includes compression and transfer). p50/p95 of each.

Screens on their own cadence (the production case): the same kind of server, but the app's default 5-s
bucket (--cadence-bucket to change it), so a version moves with the writes and with every new bucket, and
the pre-builder (OPS_STATUS_PREBUILD, on by default) rebuilds each. For --cadence-steps steps: --cadence-rate
check-ins, then each of --cadence-screens screens polls its delta once at a uniformly random offset within
the 5 s after the writes (really slept; the offsets drawn with --seed, the same for both runs); the next
step's writes follow those 5 s. Run twice, one server process after the other: the pre-builder on, then off
(OPS_STATUS_PREBUILD=0, the baseline: a poll that finds no build of the current version makes it). Reported:
the delta polls' bytes, server time p50/p95/max/mean and how many took over 50 ms (waited for a build, whole
or part), round trip. After each delta a full poll of the same version (unmeasured; if a new bucket came in
between, a further delta from the screen's version first) is the copy's check, as above.

Dashboard: a cold first load just after the server started, then, with the check-ins below going in and
that first page polling, --warm-loads warm loads 5–10 s apart, each in a new browser context (a wall screen
reloading: the server's builds warm, the browser's cache empty; --warm-quiet: no check-ins until after
them, so only the 5-s bucket moves the version). The served configuration (nginx front, gunicorn's 2 sync workers, the default 5-s bucket, map
tiles off), Chromium (Playwright, /usr/bin/chromium) at 1600×1000, signed in as a SYNTHETIC commander
(syn-commander-00), no network throttling (a command centre's network). Measured on whatever `/` serves:
navigation start to DOMContentLoaded, to the page's main view in the DOM (the points table's rows or a
regions view), and to the load event (the live map's frame included: it delays its parent's load); usable
is the later of the main view and the load event. Transferred bytes on first load: CDP
Network.loadingFinished encodedDataLength of every request until the network is idle. Then --minutes of the
first page's polling while 10 points change every 5 s (check-ins through the API from a thread): the JS heap
(CDP Runtime.getHeapUsage after HeapProfiler.collectGarbage, the renderer's isolate, the map frame
included) and DOM counters sampled every 30 s; the last sample against the first, and the bytes the page
downloaded per 5 s while polling.

Targets (issue 19): with 10 points changed, a delta poll under 20 KB and under 20 ms at p50; the dashboard
at 10,000 points usable in under 2 s and under 1 MB transferred on first load; the heap flat over 10
minutes of polling (within 10%). Prints markdown tables; writes bench/results/national.json. Exits non-zero
only on a correctness failure (no timed asserts).
"""

import argparse
import gzip
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import brotli
import orjson
from backports import zstd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
FLASK = [PY, "-m", "flask", "--app", "wsgi", "ops"]
PASSWORD = "synthetic-pass"  # opsserver/demo/synthetic.py: every SYNTHETIC account's
COMMANDER = "syn-commander-00"
ACCEPT_ENCODING = "gzip, deflate, br, zstd"  # Chromium's
FEED = "/api/v1/status.geojson"
VIEWPORT = {"width": 1600, "height": 1000}
TIMEOUT_MS = 180_000
# The page's main view: the points table with rows, or a regions view (above 500 points). Watched from the
# first byte of each document (an init script), so its time is when it appeared, not when it was asked for.
MAIN_SELECTOR = "#points tbody tr, #regions, [data-regions], .regions, table.regions"
MAIN_VIEW_WATCH = """(() => {
  if (window.top !== window) { return; }
  const observer = new MutationObserver(() => {
    if (window.__mainViewAt === undefined && document.querySelector(%s)) {
      window.__mainViewAt = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, {childList: true, subtree: true});
})();""" % json.dumps(MAIN_SELECTOR)



def pct(values: list[float], p: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def decode(body: bytes, encoding: str | None) -> bytes:
    if not encoding or encoding == "identity":
        return body
    if encoding == "zstd":
        return zstd.decompress(body)
    if encoding == "br":
        return brotli.decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    raise RuntimeError(f"unexpected Content-Encoding {encoding}")


class Client:
    """HTTP to one app server on 127.0.0.1: each request its own connection (as a sync worker answers) and its
    own X-Request-ID, so the server's request log gives its time."""

    def __init__(self, port: int):
        self.port = port

    def request(self, method: str, path: str, token: str, body: bytes | None = None, **headers):
        rid = uuid.uuid4().hex
        hdrs = {"Authorization": f"Bearer {token}", "Accept-Encoding": ACCEPT_ENCODING, "X-Request-ID": rid,
                **headers}
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        t = time.perf_counter()
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        ms = (time.perf_counter() - t) * 1000
        conn.close()
        header_bytes = len(f"HTTP/1.1 {resp.status} {resp.reason}\r\n") + sum(
            len(k) + len(v) + 4 for k, v in resp.getheaders()) + 2
        return {"status": resp.status, "headers": dict(resp.getheaders()), "raw": raw, "wire": header_bytes + len(raw),
                "body": decode(raw, resp.getheader("Content-Encoding")), "client_ms": ms, "rid": rid}


class RequestLog:
    """The server's JSON request log (its stderr, in a file): duration_ms by request id."""

    def __init__(self, path: Path):
        self.path, self.offset, self.by_id = path, 0, {}

    def duration(self, rid: str, wait_s: float = 2.0) -> float | None:
        deadline = time.monotonic() + wait_s
        while rid not in self.by_id:
            with self.path.open("rb") as f:
                f.seek(self.offset)
                chunk = f.read()
            end = chunk.rfind(b"\n") + 1
            self.offset += end
            for line in chunk[:end].splitlines():
                if line.startswith(b"{"):
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    if "request_id" in entry and "duration_ms" in entry:
                        self.by_id[entry["request_id"]] = entry["duration_ms"]
            if rid in self.by_id or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        return self.by_id.get(rid)


def seed(db_url: str, points: int, env: dict) -> float:
    """`ops init-db` and `ops seed-synthetic --points N --active-round`, as an operator would run them."""
    t = time.monotonic()
    subprocess.run([*FLASK, "init-db"], cwd=ROOT, env=env, check=True, capture_output=True)
    out = subprocess.run([*FLASK, "seed-synthetic", "--points", str(points), "--active-round"], cwd=ROOT, env=env,
                         check=True, capture_output=True, text=True).stdout
    print(out.strip().splitlines()[0], flush=True)
    return time.monotonic() - t


def tokens(env: dict, crew: int) -> tuple[str, list[tuple[str, str, float, float]]]:
    """The commander's bearer token, and for the first `crew` points their crew's token, code and position
    (through the app in this process: one Argon2 check each)."""
    os.environ.update(env)
    from opsserver import create_app

    app = create_app()
    client = app.test_client()

    def login(username: str) -> str:
        resp = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        assert resp.status_code == 200, (username, resp.status_code)
        return resp.json["access_token"]

    commander = login(COMMANDER)
    out = []
    for n in range(crew):
        token = login(f"syn-crew-{n:05d}")
        point = client.get(f"/api/v1/points/SYN{n:05d}", headers={"Authorization": f"Bearer {token}"}).json
        out.append((token, point["code"], point["latitude"], point["longitude"]))
    with app.app_context():
        from opsserver.extensions import db

        db.engine.dispose()
    return commander, out


def check_in(client: Client, target: tuple[str, str, float, float]) -> None:
    """One arrival check-in by the point's crew (a new id and a later recorded_at: the point's feature changes)."""
    token, code, lat, lon = target
    cid = str(uuid.uuid4())
    body = orjson.dumps({"id": cid, "point_code": code, "kind": "arrive", "latitude": lat + 0.0004,
                         "longitude": lon - 0.0004, "accuracy_m": 9.5,
                         "recorded_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds")})
    resp = client.request("POST", "/api/v1/checkins", token, body, **{"Idempotency-Key": cid})
    if resp["status"] not in (200, 201):
        raise RuntimeError(f"check-in at {code} answered {resp['status']}: {resp['body'][:300]!r}")


def features(answer: dict) -> dict[str, dict]:
    return {f["id"]: f for f in answer["features"]}


class Screen:
    """A screen watching the feed: its copy, and the version it holds."""

    def __init__(self, name: str, answer: dict):
        self.name, self.copy, self.version = name, features(answer), answer["version"]


def start_server(db_url: str, port: int, workers: int, log: Path, **env) -> subprocess.Popen:
    from tests.helpers.servers import start_gunicorn, wait_ready

    stderr = log.open("wb")
    environ = {"SECRET_KEY": "bench", "OPS_REQUEST_LOG": "1", "OPS_LOG_LEVEL": "warning", **env}
    # start_gunicorn passes stderr through; the request log is on it.
    saved = os.dup(2)
    os.dup2(stderr.fileno(), 2)
    try:
        proc = start_gunicorn(db_url, port, workers, **environ)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        stderr.close()
    wait_ready(f"http://127.0.0.1:{port}", proc, "app server")
    return proc


class FeedProbe:
    """Polls of one app server's feed by screens that keep a copy, and the check of each delta against the full
    feed of its version (failures are collected, not raised: the run reports them and exits 1)."""

    def __init__(self, client: Client, log: RequestLog, token: str):
        self.client, self.log, self.token = client, log, token
        self.failures: list[str] = []

    def poll(self, since: str | None = None) -> tuple[dict, dict]:
        resp = self.client.request("GET", FEED + (f"?since={since}" if since else ""), self.token)
        if resp["status"] != 200:
            raise RuntimeError(f"{FEED} answered {resp['status']}")
        answer = orjson.loads(resp["body"])
        if answer["version"] != resp["headers"].get("X-Status-Version"):
            self.failures.append(f"body version {answer['version']} is not X-Status-Version "
                                 f"{resp['headers'].get('X-Status-Version')}")
        sample = {"wire": resp["wire"], "body": len(resp["body"]), "client_ms": resp["client_ms"],
                  "server_ms": self.log.duration(resp["rid"]), "features": len(answer["features"]),
                  "full": answer["full"], "removed": len(answer["removed"])}
        return answer, sample

    def apply(self, screen: Screen, delta: dict, full: dict, written: set[str], where: str) -> None:
        """The delta onto the screen's copy, which must then be the full feed of the same version."""
        where = f"{where}, screen {screen.name}"
        if delta["full"]:
            self.failures.append(f"{where}: the delta since {screen.version} answered full: true")
            screen.copy = features(delta)
        else:
            for code in delta["removed"]:
                screen.copy.pop(code, None)
            screen.copy.update(features(delta))
            missing = written - {f["id"] for f in delta["features"]}
            if missing:
                self.failures.append(f"{where}: {len(missing)} written points missing from the delta, "
                                     f"e.g. {sorted(missing)[:3]}")
        expected = features(full)
        if screen.copy != expected:
            wrong = [c for c in expected.keys() | screen.copy.keys() if screen.copy.get(c) != expected.get(c)]
            self.failures.append(f"{where}: delta applied to the copy differs from the full feed at {len(wrong)} "
                                 f"points, e.g. {sorted(wrong)[:3]}")
            screen.copy = expected  # go on from the truth, so one failure is reported once
        screen.version = delta["version"]

    def rate(self, targets: list, rate: int, steps: int) -> dict:
        """`steps` steps of `rate` check-ins then the polls of the new version (see the module's docstring)."""
        base, _ = self.poll()
        screens = {name: Screen(name, base) for name in "ABC"}
        s = {k: [] for k in ("delta_first", "full_first", "delta_memo", "full_memo", "lagging")}
        extra, moved = [], 0
        written_since_c: set[str] = set()
        for step in range(steps):
            where = f"rate {rate}, step {step}"
            written = {t[1] for t in targets[:rate]}
            for target in targets[:rate]:
                check_in(self.client, target)
            written_since_c |= written
            a, b = screens["A"], screens["B"]
            for _ in range(3):
                if step % 2 == 0:
                    delta_a, sa = self.poll(a.version)
                    full, sf = self.poll()
                    firsts = [("delta_first", sa), ("full_memo", sf)]
                else:
                    full, sf = self.poll()
                    delta_a, sa = self.poll(a.version)
                    firsts = [("full_first", sf), ("delta_memo", sa)]
                delta_b, sb = self.poll(b.version)
                full2, sf2 = self.poll()
                if delta_a["version"] == full["version"] == delta_b["version"] == full2["version"]:
                    break
                moved += 1  # a write not of this bench between the polls: ask again
            else:
                raise RuntimeError("the version kept moving between the polls of one step")
            for kind, sample in [*firsts, ("delta_memo", sb), ("full_memo", sf2)]:
                s[kind].append(sample)
            extra.append(sa["features"] - len(written))
            self.apply(a, delta_a, full, written, where)
            self.apply(b, delta_b, full, written, where)
            if step % 3 == 2:
                c = screens["C"]
                delta_c, sc = self.poll(c.version)
                if delta_c["version"] != full["version"]:
                    self.failures.append(f"{where}: the version moved before screen C's poll")
                else:
                    s["lagging"].append(sc)
                    self.apply(c, delta_c, full, written_since_c, where)
                written_since_c = set()
        return summarize(s, extra, moved)


def feed_phase(opts, db_url: str, tmp: Path, commander: str, targets: list) -> tuple[dict, list[str]]:
    from tests.helpers.servers import free_port, stop

    port = free_port()
    log_path = tmp / "feed-server.log"
    server = start_server(db_url, port, opts.workers, log_path, OPS_STATUS_BUCKET_S=86400)
    client = Client(port)
    probe = FeedProbe(client, RequestLog(log_path), commander)
    results = {}
    try:
        first, _ = probe.poll()  # the first build of this process
        for rate in [int(r) for r in opts.rates.split(",")]:
            results[rate] = probe.rate(targets, rate, opts.steps)
            print(f"rate {rate}: " + json.dumps({k: results[rate][k] for k in ("delta_memo", "full_memo")}),
                  flush=True)
    finally:
        stop(server)
    return {"first_version": first["version"], "workers": opts.workers, "steps": opts.steps,
            "rates": results}, probe.failures


BUILD_PAID_MS = 50  # a poll whose server time is above this waited for (part of) a build; a memo hit is ~3 ms


def cadence_run(opts, db_url: str, tmp: Path, commander: str, targets: list, prebuild: bool,
                offsets: list[list[float]]) -> tuple[dict, list[str]]:
    """Screens on their own cadence (see the module's docstring): each step `rate` check-ins, then each screen's
    delta poll at its offset (seconds after the writes, the same offsets for both runs), really slept. After
    each delta, full polls (and, if the version moved in between, further deltas from the screen's version
    until one matches) give the full feed of the screen's version to compare with: those are not measured."""
    from tests.helpers.servers import free_port, stop

    port = free_port()
    name = "on" if prebuild else "off"
    log_path = tmp / f"cadence-{name}.log"
    env = {"OPS_STATUS_PREBUILD": "1" if prebuild else "0"}
    if opts.cadence_bucket:
        env["OPS_STATUS_BUCKET_S"] = opts.cadence_bucket
    server = start_server(db_url, port, opts.workers, log_path, **env)
    client = Client(port)
    probe = FeedProbe(client, RequestLog(log_path), commander)
    rate = opts.cadence_rate
    samples, extra, late, moved, stale = [], [], [], 0, []
    try:
        base, _ = probe.poll()  # this process's first build; with the pre-builder on, the feed is now wanted
        screens = [Screen(chr(ord("A") + n), base) for n in range(len(offsets[0]))]
        time.sleep(5)
        for step, step_offsets in enumerate(offsets):
            where = f"cadence {name}, step {step}"
            written = {t[1] for t in targets[:rate]}
            for target in targets[:rate]:
                check_in(client, target)
            t_w = time.monotonic()
            for off, screen in sorted(zip(step_offsets, screens), key=lambda x: x[0]):
                wait = t_w + off - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                else:
                    late.append(-wait * 1000)
                delta, sample = probe.poll(screen.version)
                sample.update(step=step, screen=screen.name, offset_s=round(off, 3))
                samples.append(sample)
                extra.append(sample["features"] - len(written))
                if delta["full"]:
                    probe.failures.append(f"{where}, screen {screen.name}: the delta since {screen.version} "
                                          f"answered full: true")
                if written - {f["id"] for f in delta["features"]}:
                    # Polled while a newer version was being built: the last build answered, at its own
                    # (older) version, and a later poll brings the rest. Counted, not a failure: the copy is
                    # still checked against the full feed below, and caught up as the screen's next poll would.
                    stale.append(sample["offset_s"])
                for tries in range(10):
                    full, _ = probe.poll()
                    if full["version"] == delta["version"]:
                        break
                    # a new bucket (or another write) between the delta and the full poll: catch up with a
                    # further delta, as the screen's next poll would, and compare at that version
                    moved += 1
                    for code in delta["removed"]:
                        screen.copy.pop(code, None)
                    screen.copy.update(features(delta))
                    screen.version = delta["version"]
                    delta, _ = probe.poll(screen.version)
                else:
                    raise RuntimeError("the version kept moving between a delta and the full poll")
                probe.apply(screen, delta, full, set(), where)
            rest = t_w + 5 - time.monotonic()
            if rest > 0:
                time.sleep(rest)
    finally:
        stop(server)
    server = [r["server_ms"] for r in samples if r["server_ms"] is not None]
    client_ms = [r["client_ms"] for r in samples]
    paid = [r for r in samples if (r["server_ms"] or 0) > BUILD_PAID_MS]
    return {"prebuild": prebuild, "bucket_s": int(opts.cadence_bucket or 5), "rate": rate, "steps": len(offsets),
            "screens": len(offsets[0]), "n": len(samples),
            "wire_p50": pct([r["wire"] for r in samples], 50), "wire_p95": pct([r["wire"] for r in samples], 95),
            "body_p50": pct([r["body"] for r in samples], 50),
            "features_p50": pct([r["features"] for r in samples], 50),
            "server_p50": round(pct(server, 50), 2), "server_p95": round(pct(server, 95), 2),
            "server_max": round(max(server), 1), "server_mean": round(statistics.fmean(server), 1),
            "client_p50": round(pct(client_ms, 50), 2), "client_p95": round(pct(client_ms, 95), 2),
            "paid_build": len(paid), "paid_build_p50": round(pct([r["server_ms"] for r in paid], 50), 1) if paid else None,
            "extra_points_in_delta": {"min": min(extra), "max": max(extra)}, "version_moved_before_full": moved,
            "late_polls": len(late), "late_ms_max": round(max(late), 1) if late else 0,
            "answered_from_the_last_build": len(stale),
            "full_answers": sum(1 for r in samples if r["full"]), "samples": samples}, probe.failures


def cadence_phase(opts, db_url: str, tmp: Path, commander: str, targets: list) -> tuple[dict, list[str]]:
    """The pre-builder on (the default) and, as the baseline, off: two server processes one after the other,
    the same steps, writes and poll offsets."""
    import random

    rng = random.Random(opts.seed)
    offsets = [[rng.uniform(0, 5) for _ in range(opts.cadence_screens)] for _ in range(opts.cadence_steps)]
    out, failures = {}, []
    for prebuild in (True, False):
        started = time.monotonic()
        r, f = cadence_run(opts, db_url, tmp, commander, targets, prebuild, offsets)
        r["seconds"] = round(time.monotonic() - started)
        out["on" if prebuild else "off"] = r
        failures += f
        print(f"cadence, pre-builder {'on' if prebuild else 'off'}: "
              + json.dumps({k: v for k, v in r.items() if k != "samples"}), flush=True)
    return out, failures


def summarize(samples: dict, extra: list[int], moved: int) -> dict:
    out = {"extra_points_in_delta": {"min": min(extra), "max": max(extra)}, "version_moved_between_polls": moved}
    for kind, rows in samples.items():
        if not rows:
            continue
        server = [r["server_ms"] for r in rows if r["server_ms"] is not None]
        out[kind] = {"n": len(rows), "wire_p50": pct([r["wire"] for r in rows], 50),
                     "body_p50": pct([r["body"] for r in rows], 50),
                     "features_p50": pct([r["features"] for r in rows], 50),
                     "server_p50": round(pct(server, 50), 2) if server else None,
                     "server_p95": round(pct(server, 95), 2) if server else None,
                     "client_p50": round(pct([r["client_ms"] for r in rows], 50), 2),
                     "client_p95": round(pct([r["client_ms"] for r in rows], 95), 2),
                     "full_answers": sum(1 for r in rows if r["full"])}
    return out


class Writer(threading.Thread):
    """10 (`rate`) check-ins every 5 s through the API, until stopped."""

    def __init__(self, port: int, targets: list, rate: int):
        super().__init__(daemon=True)
        self.client, self.targets, self.rate = Client(port), targets, rate
        self.stopped, self.count, self.errors = threading.Event(), 0, []

    def run(self) -> None:
        while not self.stopped.is_set():
            t = time.monotonic()
            for target in self.targets[:self.rate]:
                try:
                    check_in(self.client, target)
                    self.count += 1
                except Exception as err:  # reported, not fatal: the heap is what this phase measures
                    self.errors.append(str(err)[:200])
            self.stopped.wait(max(0.0, 5 - (time.monotonic() - t)))


def load_dashboard(browser, base: str, name: str) -> tuple:
    """A new browser context (empty cache), signed in through the login form, then `/`: its timings and bytes.
    Returns (context, page, cdp, net, load)."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    html = context.request.get(f"{base}/login").text()
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    resp = context.request.post(f"{base}/login", form={"username": COMMANDER, "password": PASSWORD,
                                                       "csrf_token": csrf}, max_redirects=0)
    assert resp.status in (302, 303), f"login answered {resp.status}"
    context.add_init_script(MAIN_VIEW_WATCH)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    net = {"urls": {}, "done": []}
    cdp.on("Network.responseReceived", lambda e: net["urls"].__setitem__(e["requestId"], e["response"]["url"]))
    cdp.on("Network.loadingFinished",
           lambda e: net["done"].append((time.monotonic(), e["requestId"], e["encodedDataLength"])))
    response = page.goto(base + "/", wait_until="load", timeout=TIMEOUT_MS)
    if response is None or response.status != 200 or page.url.rstrip("/") != base:
        raise RuntimeError(f"/ answered {response.status if response else 'nothing'} at {page.url}")
    main_ms = page.wait_for_function("() => window.__mainViewAt", timeout=TIMEOUT_MS).json_value()
    timing = page.evaluate("""() => { const n = performance.getEntriesByType('navigation')[0];
        return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd, html: n.encodedBodySize,
                ttfb: n.responseStart}; }""")
    page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
    first_load = list(net["done"])
    by_url = {}
    for _, rid, size in first_load:
        url = net["urls"].get(rid, rid).removeprefix(base)
        by_url[url] = by_url.get(url, 0) + size
    view = page.evaluate("""() => ({rows: document.querySelectorAll('#points tbody tr').length,
        regions: !!document.querySelector('#regions, [data-regions], .regions, table.regions'),
        sections: Array.from(document.querySelectorAll('main > *')).map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 12),
        frames: document.querySelectorAll('iframe').length})""")
    frame_ms = page.evaluate("""() => performance.getEntriesByType('resource')
        .filter(e => e.initiatorType === 'iframe').map(e => ({url: e.name.replace(location.origin, ''),
                                                               start: Math.round(e.startTime),
                                                               ttfb: Math.round(e.responseStart),
                                                               end: Math.round(e.responseEnd)}))""")
    load = {"name": name, "ttfb_ms": round(timing["ttfb"]), "dcl_ms": round(timing["dcl"]),
            "main_view_ms": round(main_ms), "load_ms": round(timing["load"]),
            "usable_ms": round(max(main_ms, timing["load"])), "bytes": sum(s for _, _, s in first_load),
            "requests": len(first_load), "view": view, "frames": frame_ms,
            "largest": sorted(({"url": u[:100], "bytes": b} for u, b in by_url.items()),
                              key=lambda r: -r["bytes"])[:8]}
    print(f"dashboard {name} load: " + json.dumps(load), flush=True)
    return context, page, cdp, net, load


def browser_phase(opts, db_url: str, tmp: Path, targets: list) -> dict:
    """A cold first load just after the server started; then, with 10 check-ins every 5 s going in and that
    first page polling, --warm-loads warm ones (each a new context, as a wall screen reloading: the server's
    builds warm, the browser's cache empty), 5–10 s apart; then --minutes of the first page's heap."""
    import random

    from playwright.sync_api import sync_playwright

    from tests.helpers.live import CHROMIUM, CHROMIUM_ARGS
    from tests.helpers.servers import served

    rng = random.Random(opts.seed + 1)
    env = {"SECRET_KEY": "bench", "OPS_MAP_TILES": "none", "OPS_SESSION_COOKIE_SECURE": "0",
           "OPS_RATELIMIT_ENABLED": "0"}
    with served(db_url, 2, **env) as up, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context, page, cdp, net, load = load_dashboard(browser, up.base, "cold")
            writer = Writer(up.port, targets, 10)  # through the front, as phones reach it
            if not opts.warm_quiet:
                writer.start()
            warm = []
            try:
                for n in range(opts.warm_loads):
                    page.wait_for_timeout(rng.uniform(5_000, 10_000))
                    ctx2, _, _, _, w = load_dashboard(browser, up.base, f"warm {n + 1}")
                    w["writes"] = not opts.warm_quiet
                    warm.append(w)
                    ctx2.close()
                if opts.warm_quiet:
                    writer.start()
            except BaseException:
                writer.stopped.set()
                raise
            heap = []

            def sample() -> None:
                cdp.send("HeapProfiler.collectGarbage")
                usage = cdp.send("Runtime.getHeapUsage")
                counters = cdp.send("Memory.getDOMCounters")
                heap.append({"t_s": round(time.monotonic() - started), "used": usage["usedSize"],
                             "total": usage["totalSize"], "nodes": counters["nodes"],
                             "listeners": counters["jsEventListeners"]})

            cdp.send("HeapProfiler.enable")
            started = time.monotonic()
            mark, checkins_at = len(net["done"]), writer.count
            sample()
            try:
                while time.monotonic() - started < opts.minutes * 60:
                    page.wait_for_timeout(min(30_000, max(100, (opts.minutes * 60 - (time.monotonic() - started))
                                                          * 1000)))
                    sample()
            finally:
                writer.stopped.set()
                writer.join(30)
            elapsed = time.monotonic() - started
            polled = net["done"][mark:]
            first, last = heap[0], heap[-1]
            polling = {"minutes": round(elapsed / 60, 2), "samples": heap, "first_used": first["used"],
                       "last_used": last["used"], "max_used": max(h["used"] for h in heap),
                       "ratio_last_first": round(last["used"] / first["used"], 3),
                       "ratio_max_first": round(max(h["used"] for h in heap) / first["used"], 3),
                       "bytes_per_5s": round(sum(s for _, _, s in polled) / (elapsed / 5)),
                       "requests": len(polled), "checkins": writer.count - checkins_at, "checkin_errors": writer.errors[:5]}
            print("dashboard polling: " + json.dumps({k: v for k, v in polling.items() if k != "samples"}),
                  flush=True)
            context.close()
        finally:
            browser.close()
    return {"first_load": load, "warm_loads": warm, "polling": polling}


def report(result: dict, failures: list[str]) -> None:
    feed = result.get("feed")
    if feed:
        print(f"\n### Delta feed against the full feed, {result['points']:,} points, gunicorn {feed['workers']} "
              f"sync worker(s), {feed['steps']} steps per rate\n")
        print("| points changed per step | answer | n | KB on the wire p50 | KB decoded p50 | features p50 "
              "| server ms p50 | server ms p95 | round trip ms p50 | round trip ms p95 |")
        print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        names = {"delta_memo": "delta (memo hit)", "full_memo": "full (memo hit)",
                 "delta_first": "delta, first poll (pays the build)", "full_first": "full, first poll (pays the build)",
                 "lagging": "delta over 3 steps (memo hit)"}
        for rate, r in feed["rates"].items():
            for kind, name in names.items():
                if kind in r:
                    x = r[kind]
                    print(f"| {rate} | {name} | {x['n']} | {x['wire_p50'] / 1000:.1f} | {x['body_p50'] / 1000:.1f} "
                          f"| {x['features_p50']:.0f} | {x['server_p50']} | {x['server_p95']} | {x['client_p50']} "
                          f"| {x['client_p95']} |")
        print()
        for rate, r in feed["rates"].items():
            d, f = r["delta_memo"], r["full_memo"]
            print(f"rate {rate}: delta/full bytes on the wire {d['wire_p50'] / f['wire_p50']:.4f}, server time "
                  f"{d['server_p50'] / f['server_p50']:.3f}; points in a delta beyond those written: "
                  f"{r['extra_points_in_delta']['min']}–{r['extra_points_in_delta']['max']}; "
                  f"version moved between polls: {r['version_moved_between_polls']}")
    cad = result.get("cadence")
    if cad:
        on = cad["on"]
        print(f"\n### Screens on their own cadence: {on['rate']} check-ins per 5-s step, {on['screens']} screens, "
              f"each delta poll at a uniformly random offset in the 5 s after the writes (slept), {on['steps']} "
              f"steps, {on['bucket_s']}-s bucket, gunicorn {result['feed_workers']} sync worker(s)\n")
        print("| pre-builder | n | KB on the wire p50 | KB p95 | features p50 | server ms p50 | server ms p95 | max "
              "| mean | polls > 50 ms (their p50) | round trip ms p50 | p95 |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
        for name, r in cad.items():
            print(f"| {name} | {r['n']} | {r['wire_p50'] / 1000:.1f} | {r['wire_p95'] / 1000:.1f} "
                  f"| {r['features_p50']:.0f} | {r['server_p50']} | {r['server_p95']} | {r['server_max']} "
                  f"| {r['server_mean']} | {r['paid_build']} ({r['paid_build_p50']}) | {r['client_p50']} "
                  f"| {r['client_p95']} |")
        for name, r in cad.items():
            print(f"pre-builder {name}: points in a delta beyond those written {r['extra_points_in_delta']['min']}–"
                  f"{r['extra_points_in_delta']['max']}; version moved between a delta and its full poll "
                  f"{r['version_moved_before_full']}; late polls {r['late_polls']} (max {r['late_ms_max']} ms); "
                  f"answered from the last build while the next was made {r['answered_from_the_last_build']}; "
                  f"{r['seconds']} s")
    dash = result.get("dashboard")
    if dash:
        fl, po = dash["first_load"], dash["polling"]
        print(f"\n### Dashboard `/` in Chromium, 1600×1000, {result['points']:,} points\n")
        print("| load | first byte ms | DOMContentLoaded ms | main view ms | load ms | usable ms | KB first load "
              "| requests | rows | regions |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for x in [fl, *dash.get("warm_loads", [])]:
            print(f"| {x['name']} | {x['ttfb_ms']} | {x['dcl_ms']} | {x['main_view_ms']} | {x['load_ms']} "
                  f"| {x['usable_ms']} | {x['bytes'] / 1000:.1f} | {x['requests']} | {x['view']['rows']} "
                  f"| {x['view']['regions']} |")
        for x in [fl, *dash.get("warm_loads", [])]:
            print(f"{x['name']}: frames " + json.dumps(x["frames"]))
        print("\nlargest first-load requests: " + ", ".join(f"{r['url']} {r['bytes'] / 1000:.1f} KB"
                                                       for r in fl["largest"][:5]))
        print(f"\npolling {po['minutes']} min, 10 check-ins per 5 s ({po['checkins']} made): JS heap "
              f"{po['first_used'] / 1e6:.1f} MB first, {po['last_used'] / 1e6:.1f} MB last "
              f"(×{po['ratio_last_first']}), max {po['max_used'] / 1e6:.1f} MB (×{po['ratio_max_first']}); "
              f"DOM nodes {po['samples'][0]['nodes']} → {po['samples'][-1]['nodes']}; "
              f"{po['bytes_per_5s'] / 1000:.1f} KB downloaded per 5 s")
    print("\ntargets:")
    for name, met, value in result["checks"]:
        print(f"  {'info  ' if met is None else 'met   ' if met else 'MISSED'} {name}: {value}")
    if failures:
        print(f"\nCORRECTNESS FAILURES ({len(failures)}):")
        for f in failures[:30]:
            print("  " + f)
    elif feed or cad:
        print("\ncorrectness: every delta applied to its screen's copy equalled the full feed of its version")


def checks(result: dict) -> list:
    out = []
    feed = result.get("feed")
    if feed and 10 in feed["rates"]:
        d = feed["rates"][10]["delta_memo"]
        first = feed["rates"][10]["delta_first"]
        out.append(("10 points changed: delta poll < 20 KB at p50", d["wire_p50"] < 20_000,
                    f"{d['wire_p50'] / 1000:.1f} KB on the wire ({d['body_p50'] / 1000:.1f} KB decoded)"))
        out.append(("10 points changed: delta poll < 20 ms at p50 (memo hit, server time)", d["server_p50"] < 20,
                    f"{d['server_p50']} ms server, {d['client_p50']} ms round trip"))
        out.append(("(not the target, for the record) 10 points changed: the first poll after the change, which "
                    "pays the build", None, f"{first['server_p50']} ms server, {first['client_p50']} ms round trip"))
    cad = result.get("cadence")
    if cad:
        for name, r in cad.items():
            out.append((f"screens on their own cadence, pre-builder {name}: delta poll < 20 KB at p50",
                        r["wire_p50"] < 20_000, f"{r['wire_p50'] / 1000:.1f} KB on the wire"))
            out.append((f"screens on their own cadence, pre-builder {name}: delta poll < 20 ms at p50 (server time)",
                        r["server_p50"] < 20, f"{r['server_p50']} ms p50, {r['server_p95']} ms p95, "
                        f"{r['paid_build']}/{r['n']} polls over {BUILD_PAID_MS} ms; round trip {r['client_p50']} ms"))
    dash = result.get("dashboard")
    if dash:
        fl, po = dash["first_load"], dash["polling"]
        out.append(("dashboard usable < 2 s, cold (first load after the server started)", fl["usable_ms"] < 2000,
                    f"{fl['usable_ms']} ms (main view {fl['main_view_ms']} ms, load event {fl['load_ms']} ms)"))
        warm = dash.get("warm_loads") or []
        if warm:
            med = statistics.median(w["usable_ms"] for w in warm)
            out.append((f"dashboard usable < 2 s, warm (median of {len(warm)} new contexts)", med < 2000,
                        f"{med:.0f} ms (" + ", ".join(f"{w['usable_ms']}" for w in warm) + " ms; main view "
                        + ", ".join(f"{w['main_view_ms']}" for w in warm) + " ms)"))
        out.append(("dashboard first load < 1 MB", fl["bytes"] < 1_000_000, f"{fl['bytes'] / 1000:.1f} KB"))
        out.append((f"heap flat over {po['minutes']} min of polling (last within 10% of first)",
                    abs(po["ratio_last_first"] - 1) <= 0.10,
                    f"×{po['ratio_last_first']} (max ×{po['ratio_max_first']})"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--rates", default="1,10,100", help="points changed per step (one 5-s poll interval)")
    parser.add_argument("--steps", type=int, default=12, help="steps per rate")
    parser.add_argument("--minutes", type=float, default=10, help="the dashboard's polling period")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn sync workers of the feed's server")
    parser.add_argument("--cadence-steps", type=int, default=12, help="steps of the screens-on-their-cadence runs")
    parser.add_argument("--cadence-screens", type=int, default=2)
    parser.add_argument("--cadence-rate", type=int, default=10, help="check-ins per step in the cadence runs")
    parser.add_argument("--cadence-bucket", default="", help="OPS_STATUS_BUCKET_S of the cadence runs (default: "
                        "the app's, 5 s)")
    parser.add_argument("--warm-loads", type=int, default=3, help="warm dashboard loads after the cold one")
    parser.add_argument("--warm-quiet", action="store_true", help="no check-ins during the warm loads (only the "
                        "5-s bucket moves the version); they start with the heap phase")
    parser.add_argument("--seed", type=int, default=19, help="of the poll offsets")
    parser.add_argument("--skip-feed", action="store_true")
    parser.add_argument("--skip-cadence", action="store_true")
    parser.add_argument("--skip-browser", action="store_true")
    opts = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ops-national-"))
    db_url = f"sqlite:///{tmp / 'national.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": "bench", "PYTHONPATH": str(ROOT),
           "OPS_REQUEST_LOG": "0", "OPS_RATELIMIT_ENABLED": "0"}
    load_before = os.getloadavg()[0]
    seed_s = seed(db_url, opts.points, env)
    crew = max(int(r) for r in opts.rates.split(","))
    commander, targets = tokens(env, max(crew, 10))
    print(f"seeded in {seed_s:.0f} s; {len(targets)} crew tokens", flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip())
    result = {"points": opts.points, "commit": commit + ("+uncommitted" if dirty else ""),
              "at": datetime.now(timezone.utc).isoformat(timespec="minutes"), "seed_s": round(seed_s)}
    failures: list[str] = []
    result["feed_workers"] = opts.workers
    try:
        if not opts.skip_feed:
            result["feed"], failures = feed_phase(opts, db_url, tmp, commander, targets)
        if not opts.skip_cadence:
            result["cadence"], f = cadence_phase(opts, db_url, tmp, commander, targets)
            failures += f
        if not opts.skip_browser:
            try:
                result["dashboard"] = browser_phase(opts, db_url, tmp, targets)
            except Exception as err:  # the feed's figures are kept; the page's failure is reported
                result["dashboard_error"] = f"{type(err).__name__}: {err}"[:500]
                print(f"dashboard not measured: {result['dashboard_error']}", flush=True)
    finally:
        result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        shutil.rmtree(tmp, ignore_errors=True)
    result["checks"] = checks(result)
    result["failures"] = failures
    report(result, failures)
    if "dashboard_error" in result:
        print(f"\ndashboard NOT measured: {result['dashboard_error']}")
    print(f"\ncommit {result['commit']}, {result['at']}, load average {result['load_average'][0]} before, "
          f"{result['load_average'][1]} after")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "national.json").write_text(json.dumps(result, indent=2, default=str))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main()
