"""The crew phone page (`/crew`) in headless Chromium at phone size, against a real server.

Debian's Chromium driven by Playwright, with a 360×640 viewport and emulated geolocation: check-ins inside
and outside the geofence; a queue recorded with no signal that survives a reload (the service worker serves
the page) and reaches the server once per item; a lost answer that makes the page send again without storing
twice; bad input caught on the page and the server's problem+json shown readably. Screenshots of each
screen go to test-artifacts/crew/.
"""

import json
import time

import pytest
from geopy.distance import geodesic

from .helpers.database import count_rows
from .helpers import crewphone, live as harness
from .helpers.crewphone import (
    CREW, PHONE, WAIT_MS, at_distance, check_in, fill_report, go, queued_ids, record_status, shot, sign_in,
    wait_queue_empty, wait_until,
)

pytestmark = harness.needs_chromium

browser = harness.browser  # the project's Chromium fixture
live = crewphone.live
phone = crewphone.phone


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
    assert "(409)" in text  # the detail is in the page's language (Accept-Language)
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


def test_the_first_load_downloads_each_file_once(phone, live):
    """The service worker keeps the versions the page loaded (from the browser's cache), so a phone on a
    field network does not download the shell's files twice on its first visit."""
    page = phone
    page.goto(f"{live.url}/crew")
    page.wait_for_selector("#screen-signin:not([hidden])")
    wait_until(page, "navigator.serviceWorker.controller !== null")
    assets = page.eval_on_selector_all("script[src], link[rel=stylesheet], link[rel=icon]",
                                       "els => els.map(e => new URL(e.src || e.href).pathname)")
    assert len(assets) >= 10
    twice = {path: n for path in assets if (n := live.recorder.hits(path)) != 1}
    assert twice == {}, twice
