"""The crew phone page's browser harness: the seeded demo served for real, a 360×640 phone in Chromium, and
the steps every crew-page test takes (sign in, check in, change tabs, wait for the queue).

A test module takes the fixtures by name (``live = crewphone.live``, ``phone = crewphone.phone``, and the
project's ``browser = live.browser``)."""

import io
import json
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from geopy.distance import geodesic

from opsserver.database.utc import now_utc

from . import live as harness

ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts" / "crew"
CREW = ("crew-lh01", "crew-demo-pass")
COMMANDER = ("commander", "commander-demo-pass")
PHONE = {"viewport": {"width": 360, "height": 640}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
WAIT_MS = 15000


class Recorder:
    """WSGI middleware that notes every request (and the ids of the items in each sync batch)."""

    def __init__(self, app):
        self.app = app
        self.requests: list[tuple[str, str]] = []
        self.synced_ids: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        with self.lock:
            self.requests.append((method, path))
        if method == "POST" and path == "/api/v1/sync":
            raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(raw)
            with self.lock:
                self.synced_ids += [item.get("id") for item in json.loads(raw).get("items", [])]
        return self.app(environ, start_response)

    def hits(self, path: str) -> int:
        with self.lock:
            return sum(1 for _, p in self.requests if p == path)


class Live:
    """The served app, what it received, and an API client signed in as the crew member and the commander."""

    def __init__(self, app, recorder, url):
        self.app, self.recorder, self.url = app, recorder, url
        self.client = app.test_client()
        self.tokens = {}
        self.round_id = None

    def headers(self, who):
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def api(self, method, path, who="commander", body=None):
        resp = getattr(self.client, method)(path, json=body, headers=self.headers(who))
        assert resp.status_code < 300, (path, resp.status_code, resp.get_data(as_text=True))
        return resp.json

    def point(self, code="LH01"):
        return self.api("get", f"/api/v1/points/{code}")


def serve(app, runner, *, window: bool):
    """The seeded Luohe demo served over HTTP on a free port (a generator for a fixture), with crew-lh01 on
    shift at LH01 now and LH01 and LH02 ordered in an active round; `window`: with an approved window open
    for LH01 (ATC-LH-0042, 40 minutes)."""
    result = runner.invoke(args=["ops", "seed-demo"])
    assert result.exit_code == 0, result.output
    recorder = Recorder(app.wsgi_app)
    app.wsgi_app = recorder
    with harness.serving(app) as url:
        yield _set_up(Live(app, recorder, url), window)


@pytest.fixture
def live(app, runner):
    """The demo served, with an approved window open at LH01 (see serve)."""
    yield from serve(app, runner, window=True)


def _set_up(live: Live, window: bool) -> Live:
    """Sign crew-lh01 and the commander in, put crew-lh01 on shift, open a round (with a window at LH01)."""
    for username, password in (CREW, COMMANDER):
        resp = live.client.post("/api/v1/auth/token", json={"username": username, "password": password})
        assert resp.status_code == 200, resp.json
        live.tokens[username] = resp.json["access_token"]
    now = now_utc()
    me = live.api("get", "/api/v1/me", who="crew-lh01")
    if not (me["shift"] and me["shift"]["on_now"]):
        # daytime: tonight's demo shift has not begun; put crew-lh01 on a shift at LH01 until it does
        ends = me["shift"]["starts_at"] if me["shift"] else (now + timedelta(hours=3)).isoformat()
        live.api("post", "/api/v1/shifts", body={"point_code": "LH01", "crew_id": me["crew_id"],
                                                  "starts_at": (now - timedelta(hours=1)).isoformat(),
                                                  "ends_at": ends, "position": "leader"})
    rnd = live.api("post", "/api/v1/rounds", body={"name": "夜间增雨 1", "purpose": "rain_enhancement",
                                                    "planned_start": now.isoformat(),
                                                    "planned_end": (now + timedelta(hours=3)).isoformat(),
                                                    "point_codes": ["LH01", "LH02"]})
    live.api("post", f"/api/v1/rounds/{rnd['id']}/activate")
    live.round_id = rnd["id"]
    if window:
        req = live.api("post", f"/api/v1/rounds/{rnd['id']}/airspace",
                       body={"point_code": "LH01", "window_start": now.isoformat(), "duration_min": 40})
        live.api("post", f"/api/v1/airspace/{req['id']}/decision",
                 body={"decision": "approved", "approved_start": now.isoformat(),
                       "approved_end": (now + timedelta(minutes=40)).isoformat(), "reference": "ATC-LH-0042"})
    return live


def at_distance(point: dict, metres: float, bearing: float) -> dict:
    """A geolocation `metres` from the point along `bearing`, with an 8 m accuracy."""
    dest = geodesic(meters=metres).destination((point["latitude"], point["longitude"]), bearing)
    return {"latitude": dest.latitude, "longitude": dest.longitude, "accuracy": 8}


def new_phone(browser, live, **options):
    """A phone-sized page (its own context) with geolocation allowed, 120 m from LH01 unless told."""
    settings = {**PHONE, "geolocation": at_distance(live.point(), 120, 45), "permissions": ["geolocation"],
                **options}
    context = browser.new_context(**settings)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda err: page.errors.append(str(err)))
    return page


@pytest.fixture
def phone(browser, live):
    """A phone-sized page with geolocation allowed, standing 120 m from LH01; no script error allowed."""
    page = new_phone(browser, live)
    yield page
    page.context.close()
    assert not page.errors, page.errors


def wait_until(page, expression: str, timeout: int = WAIT_MS) -> None:
    """Poll a JavaScript condition from here: Playwright's own wait_for_function evaluates it with
    eval() inside the page, which the page's Content-Security-Policy (rightly) refuses."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {expression}")
        page.wait_for_timeout(50)


def shot(page, name: str) -> None:
    """A screenshot of the whole screen under test-artifacts/crew/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    # the whole screen, with the bottom tab bar placed after the content rather than over its middle
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, style=".tabs { position: static; }")


def sign_in(page, live, *, lang=None):
    """Open /crew (in `lang`) and sign in as crew-lh01, until the home screen shows LH01."""
    page.goto(f"{live.url}/crew" + (f"?lang={lang}" if lang else ""))
    page.wait_for_selector("#screen-signin:not([hidden])")
    page.fill("#signin-username", CREW[0])
    page.fill("#signin-password", CREW[1])
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#screen-home:not([hidden])")
    wait_until(page, "document.getElementById('point-code').textContent === 'LH01'")


def check_in(page, kind="arrive"):
    """Tap Arrived/Leaving, wait for the fix, and answer what the page showed before sending."""
    page.click(f"#btn-{kind}")
    page.wait_for_selector("#checkin-send:not([disabled])")
    return {"distance_m": float(page.get_attribute("#checkin-distance", "data-distance-m")),
            "distance_text": page.text_content("#checkin-distance"),
            "inside": page.get_attribute("#checkin-fence", "data-inside") == "true",
            "fence_text": page.text_content("#checkin-fence"),
            "accuracy_text": page.text_content("#checkin-accuracy")}


def go(page, screen):
    """Tap a tab and wait for its screen."""
    page.click(f"#tabs button[data-screen={screen}]")
    page.wait_for_selector(f"#screen-{screen}:not([hidden])")


def record_status(page, item_id):
    return page.get_attribute(f'#queue-list li[data-id="{item_id}"]', "data-status")


def wait_queue_empty(page):
    wait_until(page, "document.getElementById('queue-summary').dataset.pending === '0' && "
                     "!document.querySelector('#queue-list li[data-status=queued]')", timeout=WAIT_MS)


def queued_ids(page) -> list[str]:
    return page.eval_on_selector_all("#queue-list li[data-id]", "els => els.map(e => e.dataset.id)")


def fill_report(page, azimuth="250", elevation="60", fired="2", duds="0", ammo="RKT-AGI"):
    """Aim and count on the report form (duds are among the less-used fields: opened when given)."""
    page.wait_for_selector(f'.ammo-row[data-type="{ammo}"]')
    page.fill("#rp-azimuth", azimuth)
    page.fill("#rp-elevation", elevation)
    page.fill(f'.ammo-row[data-type="{ammo}"] input.fired', fired)
    page.fill(f'.ammo-row[data-type="{ammo}"] input.duds', duds)


ADMIN = ("admin", "admin-demo-pass")


def sign_in_admin(live: Live) -> None:
    """Sign the demo's administrator in through the API as well (``live.api(..., who="admin")``), for what
    only an administrator may do (no-fire zones)."""
    resp = live.client.post("/api/v1/auth/token", json={"username": ADMIN[0], "password": ADMIN[1]})
    assert resp.status_code == 200, resp.json
    live.tokens[ADMIN[0]] = resp.json["access_token"]
