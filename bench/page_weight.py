"""Page weight on a field network: bytes transferred and load time of `/`, `/maps/status` and `/crew`, on a
first load (empty cache) and a second (the cache of the first), in Debian's Chromium on a slow-3G profile.

    .venv/bin/python bench/page_weight.py [--down-kbps 400] [--up-kbps 400] [--latency-ms 400] [--repeat 1]

The app runs as it is served (the nginx front before gunicorn.conf.py's sync workers) on a fresh SQLite file
with the Luohe demo, map tiles off (a command centre may have no internet; the tile setting is not what is
measured). In the same run the same pages come from a second server with compression off (OPS_COMPRESS=0):
the baseline, reported as a ratio. Chromium (Playwright, /usr/bin/chromium) gets the profile through a CDP
session (Network.emulateNetworkConditions: 400 kbit/s down and up, 400 ms latency).

- bytes: what crossed the network for the page's own requests and its service worker's (headers and
  encoded bodies, as Playwright's request sizes report them; a cache hit counts 0).
- load: navigation start to the load event (`loadEventEnd`).
- usable (`/crew`): navigation start to the crew page's main screen drawn by its scripts, for a phone not
  signed in its sign-in screen, with the user-name field enabled.
- offline (`/crew`): the second load with the browser offline, from the service worker: navigation start to
  usable.

The commander's pages are loaded signed in (the session is made through the login form without loading
the login page's assets, so the first load's cache is empty). Targets (issue 16): `/crew` first load under
60 KB and usable within 5 s; its offline second load usable in under 1 s; `/` first load under 400 KB.
Prints a table (and what makes up the bytes of each first load, by type) and writes
bench/results/page_weight.json.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.helpers.live import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.helpers.servers import served  # noqa: E402

PY = sys.executable
PAGES = ("/", "/maps/status", "/crew")
COMMANDER = ("commander", "commander-demo-pass")
PHONE = {"viewport": {"width": 360, "height": 640}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
CREW_USABLE = """() => {
  const screen = document.getElementById('screen-signin'), field = document.getElementById('signin-username');
  const shown = screen && !screen.hidden && field && !field.disabled && field.offsetParent !== null;
  return shown ? performance.now() : false;
}"""
TIMEOUT_MS = 120_000


class Traffic:
    """Every request the context makes (the pages' and their service workers'), with what it transferred."""

    def __init__(self, context):
        self.rows: list[dict] = []
        context.on("requestfinished", self._finished)

    def _finished(self, req) -> None:
        resp = req.response()
        sizes = req.sizes()
        self.rows.append({"url": req.url, "type": req.resource_type, "status": resp.status if resp else None,
                          "sw": req.service_worker is not None,
                          "encoding": (resp.headers.get("content-encoding") if resp else None),
                          "bytes": sizes["responseHeadersSize"] + sizes["responseBodySize"]})

    def mark(self) -> int:
        return len(self.rows)

    def since(self, mark: int) -> list[dict]:
        return self.rows[mark:]


def throttle(page, opts) -> None:
    """The slow-3G profile on this page, through its own CDP session."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": opts.latency_ms,
        "downloadThroughput": opts.down_kbps * 1000 / 8, "uploadThroughput": opts.up_kbps * 1000 / 8})


def sign_in(context, base: str) -> None:
    """A page session in the context's cookies, through the login form (its HTML only, not its assets)."""
    html = context.request.get(f"{base}/login").text()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    resp = context.request.post(f"{base}/login", form={"username": COMMANDER[0], "password": COMMANDER[1],
                                                       "csrf_token": token}, max_redirects=0)
    assert resp.status in (302, 303), f"login answered {resp.status}"


def load(page, url: str, crew: bool) -> dict:
    """Navigate and wait for the load event (and for `/crew`, its main screen); the times from navigation start."""
    resp = page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
    # A page that answered something else (an error, the login page) must not be measured as this one.
    if resp is None or resp.status != 200 or page.url.split("?")[0] != url:
        raise RuntimeError(f"{url} answered {resp.status if resp else 'nothing'} at {page.url}")
    usable = page.wait_for_function(CREW_USABLE, polling="raf", timeout=TIMEOUT_MS).json_value() if crew else None
    load_ms = page.evaluate("() => { const n = performance.getEntriesByType('navigation')[0];"
                            " return n.loadEventEnd || performance.now(); }")
    return {"load_ms": round(load_ms), "usable_ms": round(usable) if usable is not None else None}


def measure_page(browser, base: str, path: str, opts) -> dict:
    """First and second load of one page in a fresh context (and for /crew, a second load offline)."""
    crew = path == "/crew"
    context = browser.new_context(**(PHONE if crew else {"viewport": {"width": 1366, "height": 768}}),
                                  locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        traffic = Traffic(context)
        if not crew:
            sign_in(context, base)
        page = context.new_page()
        throttle(page, opts)
        result = {}
        for run in ("first", "second"):
            mark = traffic.mark()
            timing = load(page, base + path, crew)
            if crew and run == "first":
                # The worker installs after the page loads (it precaches the shell): its bytes count too.
                page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=TIMEOUT_MS)
            page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
            rows = traffic.since(mark)
            by_type = defaultdict(int)
            for row in rows:
                by_type[row["type"] + (" (service worker)" if row["sw"] else "")] += row["bytes"]
            result[run] = {**timing, "bytes": sum(r["bytes"] for r in rows), "requests": len(rows),
                           "by_type": dict(by_type),
                           "largest": sorted(({"url": r["url"].removeprefix(base), "bytes": r["bytes"],
                                               "encoding": r["encoding"]} for r in rows),
                                             key=lambda r: -r["bytes"])[:8]}
        if crew:
            context.set_offline(True)
            mark = traffic.mark()
            timing = load(page, base + path, crew)
            result["offline"] = {**timing, "bytes": sum(r["bytes"] for r in traffic.since(mark))}
        return result
    finally:
        context.close()


def measure(base: str, opts) -> dict:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            return {path: measure_page(browser, base, path, opts) for path in PAGES}
        finally:
            browser.close()


def median_run(runs: list[dict]) -> dict:
    """Of several runs, the one whose /crew first load time is the median (bytes barely move between runs)."""
    return sorted(runs, key=lambda r: r["/crew"]["first"]["load_ms"])[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--down-kbps", type=int, default=400)
    parser.add_argument("--up-kbps", type=int, default=400)
    parser.add_argument("--latency-ms", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=1, help="runs per server (the median run is reported)")
    opts = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ops-weight-bench-"))
    db_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": "bench", "PYTHONPATH": str(ROOT)}
    flask = [PY, "-m", "flask", "--app", "wsgi", "ops"]
    subprocess.run([*flask, "init-db"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*flask, "seed-demo"], cwd=ROOT, env=env, check=True, capture_output=True)
    load_before = os.getloadavg()
    results = {}
    common = {"OPS_MAP_TILES": "none", "OPS_SESSION_COOKIE_SECURE": "0"}
    for name, compress in (("compressed", "1"), ("uncompressed", "0")):
        with served(db_url, 2, OPS_COMPRESS=compress, **common) as up:
            results[name] = median_run([measure(up.base, opts) for _ in range(opts.repeat)])
    load_after = os.getloadavg()
    shutil.rmtree(tmp, ignore_errors=True)

    report(results, opts, load_before, load_after)


def report(results: dict, opts, load_before, load_after) -> None:
    packed, plain = results["compressed"], results["uncompressed"]
    print(f"\nslow 3G: {opts.down_kbps} kbit/s down, {opts.up_kbps} kbit/s up, {opts.latency_ms} ms latency; "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after\n")
    print(f"{'page':<14}{'load':<8}{'KB':>9}{'KB plain':>10}{'ratio':>7}{'load ms':>9}{'plain ms':>9}"
          f"{'usable ms':>10}{'requests':>9}")
    for path in PAGES:
        for run in ("first", "second"):
            a, b = packed[path][run], plain[path][run]
            ratio = f"{a['bytes'] / b['bytes']:.2f}" if b["bytes"] else "—"
            print(f"{path:<14}{run:<8}{a['bytes'] / 1000:>9.1f}{b['bytes'] / 1000:>10.1f}{ratio:>7}"
                  f"{a['load_ms']:>9}{b['load_ms']:>9}{a['usable_ms'] if a['usable_ms'] is not None else '':>10}"
                  f"{a['requests']:>9}")
    offline = packed["/crew"]["offline"]
    print(f"{'/crew':<14}{'offline':<8}{offline['bytes'] / 1000:>9.1f}{'':>10}{'':>7}{offline['load_ms']:>9}{'':>9}"
          f"{offline['usable_ms']:>10}")
    crew, index = packed["/crew"]["first"], packed["/"]["first"]
    checks = [
        ("/crew first load < 60 KB", crew["bytes"] < 60_000, f"{crew['bytes'] / 1000:.1f} KB"),
        ("/crew usable < 5 s", crew["usable_ms"] < 5000, f"{crew['usable_ms']} ms"),
        ("/crew offline second load < 1 s", offline["usable_ms"] < 1000, f"{offline['usable_ms']} ms"),
        ("/ first load < 400 KB", index["bytes"] < 400_000, f"{index['bytes'] / 1000:.1f} KB"),
    ]
    print()
    for name, met, value in checks:
        print(f"{'met   ' if met else 'MISSED'} {name}: {value}")
    print("\nwhat the first loads are made of (compressed), KB by type; the largest requests:")
    for path in PAGES:
        first = packed[path]["first"]
        print(f"  {path}: " + ", ".join(f"{t} {b / 1000:.1f}" for t, b in sorted(first["by_type"].items(),
                                                                                  key=lambda i: -i[1])))
        for row in first["largest"][:5]:
            print(f"      {row['bytes'] / 1000:>7.1f} KB  {row['encoding'] or 'identity':<8} {row['url'][:90]}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "page_weight.json").write_text(json.dumps({
        "profile": {"down_kbps": opts.down_kbps, "up_kbps": opts.up_kbps, "latency_ms": opts.latency_ms},
        "load_average": [round(load_before[0], 2), round(load_after[0], 2)],
        "checks": {name: {"met": met, "value": value} for name, met, value in checks}, **results}, indent=2))


if __name__ == "__main__":
    main()
