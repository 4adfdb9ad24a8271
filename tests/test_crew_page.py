"""The crew phone page (`/crew`) in headless Chromium at phone size, against a real server.

Debian's Chromium driven by Playwright, with a 360×640 viewport and emulated geolocation: check-ins inside
and outside the geofence; a queue recorded with no signal that survives a reload (the service worker serves
the page) and reaches the server once per item; a lost answer that makes the page send again without storing
twice; bad input caught on the page and the server's problem+json shown readably. Screenshots of each
screen go to test-artifacts/crew/.
"""

import io
import json
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from geopy.distance import geodesic

from opsserver.database.utc import now_utc

from .helpers.database import count_rows
from .helpers import live as harness

pytestmark = harness.needs_chromium

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "crew"
CREW = ("crew-lh01", "crew-demo-pass")
COMMANDER = ("commander", "commander-demo-pass")
PHONE = {"viewport": {"width": 360, "height": 640}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
WAIT_MS = 15000


# --- a real server --------------------------------------------------------------------------------

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
    def __init__(self, app, recorder, url):
        self.app, self.recorder, self.url = app, recorder, url
        self.client = app.test_client()
        self.tokens = {}

    def headers(self, who):
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def api(self, method, path, who="commander", body=None):
        resp = getattr(self.client, method)(path, json=body, headers=self.headers(who))
        assert resp.status_code < 300, (path, resp.status_code, resp.get_data(as_text=True))
        return resp.json

    def point(self, code="LH01"):
        return self.api("get", f"/api/v1/points/{code}")


@pytest.fixture
def live(app, runner):
    """The seeded Luohe demo served over HTTP on a free port, with crew-lh01 on shift at LH01 now and
    LH01 and LH02 ordered in an active round with an approved window open for LH01."""
    result = runner.invoke(args=["ops", "seed-demo"])
    assert result.exit_code == 0, result.output
    recorder = Recorder(app.wsgi_app)
    app.wsgi_app = recorder
    with harness.serving(app) as url:
        yield _set_up(Live(app, recorder, url))


def _set_up(live: Live) -> Live:
    """Sign crew-lh01 and the commander in, put crew-lh01 on shift, open a round with a window at LH01."""
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
    req = live.api("post", f"/api/v1/rounds/{rnd['id']}/airspace",
                   body={"point_code": "LH01", "window_start": now.isoformat(), "duration_min": 40})
    live.api("post", f"/api/v1/airspace/{req['id']}/decision",
             body={"decision": "approved", "approved_start": now.isoformat(),
                   "approved_end": (now + timedelta(minutes=40)).isoformat(), "reference": "ATC-LH-0042"})
    live.round_id = rnd["id"]
    return live


# --- the browser ----------------------------------------------------------------------------------

browser = harness.browser  # the project's Chromium fixture


def at_distance(point: dict, metres: float, bearing: float) -> dict:
    dest = geodesic(meters=metres).destination((point["latitude"], point["longitude"]), bearing)
    return {"latitude": dest.latitude, "longitude": dest.longitude, "accuracy": 8}


@pytest.fixture
def phone(browser, live):
    """A phone-sized page with geolocation allowed, standing 120 m from LH01."""
    context = browser.new_context(**PHONE, geolocation=at_distance(live.point(), 120, 45),
                                  permissions=["geolocation"])
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda err: page.errors.append(str(err)))
    yield page
    context.close()
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
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    # the whole screen, with the bottom tab bar placed after the content rather than over its middle
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, style=".tabs { position: static; }")


def sign_in(page, live, *, lang=None):
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
    shown = {"distance_m": float(page.get_attribute("#checkin-distance", "data-distance-m")),
             "distance_text": page.text_content("#checkin-distance"),
             "inside": page.get_attribute("#checkin-fence", "data-inside") == "true",
             "fence_text": page.text_content("#checkin-fence"),
             "accuracy_text": page.text_content("#checkin-accuracy")}
    return shown


def go(page, screen):
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
    page.wait_for_selector(f'.ammo-row[data-type="{ammo}"]')
    page.fill("#rp-azimuth", azimuth)
    page.fill("#rp-elevation", elevation)
    page.fill(f'.ammo-row[data-type="{ammo}"] input.fired', fired)
    page.fill(f'.ammo-row[data-type="{ammo}"] input.duds', duds)


# --- tests ----------------------------------------------------------------------------------------

def test_checkin_inside_and_outside_the_geofence(phone, live):
    """Before sending, the page shows the geodesic distance, inside/outside and the accuracy; the server
    stores both check-ins, flagging only the one outside the geofence."""
    page = phone
    page.goto(f"{live.url}/crew")
    page.wait_for_selector("#screen-signin:not([hidden])")
    assert page.inner_text("html").count("登录") >= 1  # Simplified Chinese by default
    shot(page, "01-sign-in")
    sign_in(page, live)
    page.wait_for_selector("#window-countdown")
    assert "ATC-LH-0042" in page.inner_text("#window-info")
    assert page.get_attribute("#round-state", "data-state") == "cleared"
    shot(page, "02-home")

    point = live.point()
    for metres, bearing, inside, name in ((120, 45, True, "03-checkin-inside"),
                                          (800, 200, False, "04-checkin-outside")):
        pos = at_distance(point, metres, bearing)
        page.context.set_geolocation(pos)
        shown = check_in(page, "arrive")
        expected = geodesic((pos["latitude"], pos["longitude"]), (point["latitude"], point["longitude"])).meters
        assert shown["distance_m"] == pytest.approx(expected, abs=0.1)
        assert f"{round(expected)} m" in shown["distance_text"]
        assert shown["inside"] is inside
        assert ("地理围栏内" if inside else "地理围栏外") in shown["fence_text"]
        assert "±8 m" in shown["accuracy_text"]
        shot(page, name)
        page.click("#checkin-send")
        page.wait_for_selector("#home-message:not([hidden])")

    go(page, "queue")
    wait_queue_empty(page)
    items = page.eval_on_selector_all("#queue-list li[data-id]",
                                      "els => els.map(e => [e.dataset.id, e.dataset.status, e.innerText])")
    assert len(items) == 2
    (out_id, out_status, out_text), (in_id, in_status, _) = items  # newest first
    assert (in_status, out_status) == ("sent", "flagged")
    assert page.locator(f'#queue-list li[data-id="{out_id}"] .flags li[data-code="outside_geofence"]').count() == 1
    assert "800 m" in out_text
    shot(page, "05-records-sent")

    stored = {c["id"]: c for c in live.api("get", "/api/v1/checkins?point_code=LH01")["items"]}
    assert set(stored) == {in_id, out_id}
    assert stored[in_id]["within_geofence"] is True and stored[out_id]["within_geofence"] is False
    assert stored[in_id]["distance_m"] == pytest.approx(120, abs=0.05)
    assert stored[out_id]["distance_m"] == pytest.approx(800, abs=0.05)
    assert stored[in_id]["accuracy_m"] == 8


def test_offline_queue_survives_a_reload_and_reaches_the_server_once(phone, live):
    """With no signal: three check-ins and a firing report are queued; the reloaded page comes from the
    service worker with its queue; back online, the four items reach the server once each and the queue empties."""
    page = phone
    sign_in(page, live)
    wait_until(page, "navigator.serviceWorker.controller !== null")
    page.wait_for_selector('.ammo-row[data-type="RKT-AGI"]', state="attached")
    before = {t: count_rows(live.app, t) for t in ("checkins", "firing_reports")}

    page.context.set_offline(True)
    page.wait_for_selector("#net.off")
    point = live.point()
    for kind, metres in (("arrive", 60), ("depart", 90), ("arrive", 30)):
        page.context.set_geolocation(at_distance(point, metres, 300))
        check_in(page, kind)
        page.click("#checkin-send")
        page.wait_for_selector("#home-message:not([hidden])")
    go(page, "report")
    fill_report(page, azimuth="250", elevation="60", fired="3", duds="1")
    page.wait_for_selector("#rp-sector-state.inside")
    page.click("#btn-clearance")
    page.wait_for_selector("#clearance-answer .warn-text")  # no signal: says so instead of guessing
    page.click("#report-form button[type=submit]")
    page.wait_for_selector("#report-message:not([hidden])")
    go(page, "queue")
    assert page.text_content("#pending-badge") == "4"
    ids = queued_ids(page)
    assert len(ids) == 4 and all(record_status(page, i) == "queued" for i in ids)
    shot(page, "06-records-offline")

    shell_hits = live.recorder.hits("/crew")
    page.reload()
    page.wait_for_selector("#screen-queue:not([hidden])")
    assert live.recorder.hits("/crew") == shell_hits, "the offline reload reached the server"
    wait_until(page, "document.querySelectorAll('#queue-list li[data-status=queued]').length === 4")
    assert sorted(queued_ids(page)) == sorted(ids)
    assert page.text_content("#point-code") == "LH01"  # what the page knew, from the phone's memory
    assert {t: count_rows(live.app, t) for t in before} == before
    assert live.recorder.synced_ids == []
    shot(page, "07-records-offline-reloaded")

    page.context.set_offline(False)
    wait_queue_empty(page)
    statuses = [record_status(page, i) for i in ids]
    assert all(s in ("sent", "flagged") for s in statuses), statuses
    assert sorted(live.recorder.synced_ids) == sorted(ids)  # each item sent exactly once
    assert count_rows(live.app, "checkins") == before["checkins"] + 3
    assert count_rows(live.app, "firing_reports") == before["firing_reports"] + 1
    stored = {c["id"] for c in live.api("get", "/api/v1/checkins?point_code=LH01")["items"]}
    assert stored == set(ids) - {ids[0]}  # newest first: the report is the first record shown
    report = live.api("get", f"/api/v1/rounds/{live.round_id}/reports")["items"]
    assert [r["id"] for r in report] == [ids[0]]
    assert report[0]["ammo"] == [{"type": "RKT-AGI", "fired": 3, "duds": 1}]
    shot(page, "08-records-synced")


def test_a_lost_answer_is_sent_again_and_stored_once(phone, live):
    """The first sync reaches the server but its answer is lost; the page sends the item again (same
    idempotency key), gets the first answer back, and the server holds one check-in."""
    page = phone
    sign_in(page, live)
    seen = []

    def flaky(route):
        seen.append(route.request.post_data)
        if len(seen) == 1:
            route.fetch()   # the server gets it and answers...
            route.abort()   # ...but the phone never hears back
        else:
            route.continue_()

    page.route("**/api/v1/sync", flaky)
    check_in(page, "arrive")
    page.click("#checkin-send")
    go(page, "queue")
    item_id = queued_ids(page)[0]
    wait_until(page, f"document.querySelector('#queue-list li[data-id=\"{item_id}\"]').dataset.status === 'sent'",
                           timeout=WAIT_MS)
    assert len(seen) == 2 and json.loads(seen[0]) == json.loads(seen[1])
    assert live.recorder.synced_ids == [item_id, item_id]
    assert count_rows(live.app, "checkins") == 1
    assert [c["id"] for c in live.api("get", "/api/v1/checkins")["items"]] == [item_id]


def test_bad_input_is_caught_on_the_page_and_server_problems_are_readable(phone, live):
    page = phone
    page.goto(f"{live.url}/crew")
    page.fill("#signin-username", CREW[0])
    page.fill("#signin-password", "wrong")
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#signin-error:not([hidden])")
    assert "密码" in page.text_content("#signin-error")
    sign_in(page, live)

    # airspace request: no duration, a negative height
    go(page, "airspace")
    page.fill("#as-duration", "")
    page.fill("#as-height", "-5")
    page.click("#airspace-form button[type=submit]")
    assert page.is_visible('#airspace-form [data-error-for="duration_min"]')
    assert page.is_visible('#airspace-form [data-error-for="max_height_m"]')
    shot(page, "09-airspace-errors")
    page.fill("#as-duration", "30")
    page.fill("#as-height", "")
    page.click("#airspace-form button[type=submit]")
    page.wait_for_selector("#airspace-message:not([hidden])")
    shot(page, "10-airspace-recorded")

    # firing report: empty azimuth, then 400°, then a negative count
    go(page, "report")
    fill_report(page, azimuth="", elevation="60", fired="2")
    page.click("#report-form button[type=submit]")
    az_error = '#report-form [data-error-for="azimuth_deg"]'
    assert page.text_content(az_error) == "请输入方位角。"
    page.fill("#rp-azimuth", "400")
    page.click("#report-form button[type=submit]")
    assert page.text_content(az_error) == "方位角必须在 0 到 360° 之间。"
    page.fill("#rp-azimuth", "250")
    page.fill('.ammo-row[data-type="RKT-AGI"] input.fired', "-1")
    page.click("#report-form button[type=submit]")
    assert not page.is_visible(az_error)
    assert page.text_content('#report-form [data-error-for="ammo"]') == "数量不能为负数。"
    page.fill('.ammo-row[data-type="RKT-AGI"] input.fired', "2")
    page.fill('.ammo-row[data-type="RKT-AGI"] input.duds', "3")
    page.click("#report-form button[type=submit]")
    assert page.text_content('#report-form [data-error-for="ammo"]') == "哑弹数不能多于发射数。"
    shot(page, "11-report-errors")

    # the safe sector and the clearance before firing
    page.fill('.ammo-row[data-type="RKT-AGI"] input.duds', "0")
    page.fill("#rp-azimuth", "100")
    page.wait_for_selector("#rp-sector-state.outside")
    page.click("#btn-clearance")
    page.wait_for_selector('#clearance-answer[data-cleared="false"] li[data-code="outside_sector"]')
    page.fill("#rp-azimuth", "250")
    page.wait_for_selector("#rp-sector-state.inside")
    page.click("#btn-clearance")
    page.wait_for_selector("#clearance-answer [data-code]", state="attached")
    assert page.locator('#clearance-answer li[data-code="outside_sector"]').count() == 0
    shot(page, "12-report-clearance")
    # a validation problem from the server is shown field by field, with the page's own field names
    problem = {"type": "/problems/validation-error", "title": "Unprocessable Entity", "status": 422,
               "detail": "The request has invalid fields: azimuth",
               "errors": [{"field": "azimuth", "location": "query", "detail": "Must be between 0 and 360."}]}
    page.route("**/clearance?*", lambda route: route.fulfill(status=422, content_type="application/problem+json",
                                                            body=json.dumps(problem)))
    page.click("#btn-clearance")
    errors = page.wait_for_selector("#clearance-answer .problem-errors li")
    assert errors.inner_text() == "方位角（°）: Must be between 0 and 360."
    assert "(422)" in page.text_content("#clearance-answer .problem-title")
    page.unroute("**/clearance?*")
    # nothing bad was queued: only the airspace request
    assert page.eval_on_selector_all("#queue-list li[data-id]", "els => els.map(e => e.dataset.type)") == \
        ["airspace_request"]

    # something that slips past the page: a firing two hours ago, before the round became active (409)
    two_hours_ago = page.evaluate("""() => { const d = new Date(Date.now() - 2 * 3600e3);
        const p = n => String(n).padStart(2, '0');
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}` +
               `T${p(d.getHours())}:${p(d.getMinutes())}:00`; }""")
    page.fill("#rp-start", two_hours_ago)
    page.fill("#rp-end", two_hours_ago)
    page.click("#report-form button[type=submit]")
    page.wait_for_selector("#report-message:not([hidden])")
    go(page, "queue")
    refused = page.wait_for_selector('#queue-list li[data-type="report"][data-status="refused"] .problem')
    text = refused.inner_text()
    assert "(409)" in text and "active" in text
    assert page.locator('#queue-list li[data-type="airspace_request"][data-status="sent"]').count() == 1
    assert count_rows(live.app, "firing_reports") == 0
    shot(page, "13-records-refused")


def test_clock_offset_low_accuracy_fix_and_english(browser, live):
    """A phone clock five minutes fast is shown; a poor GPS fix can be sent only after a wait, and carries its
    accuracy; `?lang=en` gives the page in English."""
    point = live.point()
    context = browser.new_context(**PHONE, geolocation={**at_distance(point, 150, 90), "accuracy": 200},
                                  permissions=["geolocation"])
    context.set_default_timeout(WAIT_MS)
    try:
        page = context.new_page()
        page.clock.install(time=time.time() + 300)
        sign_in(page, live, lang="en")
        banner = page.wait_for_selector("#clock-warning:not([hidden])")
        assert "ahead of the server" in banner.inner_text()
        assert 290 <= int(banner.get_attribute("data-offset-s")) <= 310
        assert page.text_content("#btn-arrive").strip() == "Arrived"
        shot(page, "14-home-english-clock")

        page.click("#btn-arrive")
        page.wait_for_selector("#checkin-wait:not([hidden])")
        assert page.is_disabled("#checkin-send")
        assert "±200 m" in page.text_content("#checkin-accuracy")
        shot(page, "15-checkin-low-accuracy")
        page.clock.fast_forward(16_000)
        page.wait_for_selector("#checkin-send:not([disabled])")
        assert page.text_content("#checkin-send") == "Send with low accuracy"
        page.click("#checkin-send")
        go(page, "queue")
        # The click only starts the enqueue (IndexedDB is asynchronous): wait for the record to be listed
        # before waiting for the queue to drain, or an empty queue before the enqueue passes at once.
        wait_until(page, "document.querySelector('#queue-list li[data-id]') !== null", timeout=WAIT_MS)
        wait_queue_empty(page)
        (stored,) = live.api("get", "/api/v1/checkins?point_code=LH01")["items"]
        assert stored["accuracy_m"] == 200 and stored["within_geofence"] is True
        assert 290 <= stored["clock_offset_s"] <= 330  # X-Device-Time: the phone's own clock (16 s fast-forwarded)
    finally:
        context.close()


# --- every page under its Content-Security-Policy ------------------------------------------------

CSP_WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""


@pytest.mark.parametrize("path, ready", [
    ("/maps/status", "typeof L !== 'undefined' && document.querySelectorAll('.leaflet-interactive').length > 0"),
    ("/maps/rounds/{round_id}", "typeof L !== 'undefined' && document.querySelector('.leaflet-container')"),
    ("/maps/rounds/{round_id}/replay", "typeof L !== 'undefined' && document.querySelector('.leaflet-container')"),
    ("/", "document.querySelectorAll('#points tbody tr').length > 0"),
    ("/api/docs", "document.querySelector('.swagger-ui .info')"),
    ("/crew", "document.querySelector('#screen-signin:not([hidden])')"),
])
def test_pages_run_under_their_policy_without_a_violation(browser, live, path, ready):
    """The maps (folium's inline scripts, allowed by hash), the dashboard, the API browser and the phone
    page all work with the CSP on, and the browser reports no violation and no script error."""
    live.app.config["OPS_MAP_TILES"] = "none"  # offline here: no tile requests to fail
    context = browser.new_context(extra_http_headers={"Authorization": f"Bearer {live.tokens['commander']}"})
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    errors = harness.script_errors(page)
    try:
        resp = page.goto(live.url + path.format(round_id=live.round_id))
        assert resp.status == 200
        assert "script-src 'self'" in resp.headers["content-security-policy"]
        wait_until(page, ready, timeout=WAIT_MS)
        page.wait_for_timeout(300)
        assert page.evaluate("window.__csp") == []
        assert errors == []
    finally:
        context.close()
