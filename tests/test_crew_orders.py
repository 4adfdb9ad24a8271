"""The command centre's orders on the crew phone and the dashboard (issue 18, item 4).

In Debian's Chromium against a real server: the commander gives LH01 a readiness order through the API; the
phone (360×640, Chinese) shows it above its screens and vibrates; with no signal the crew acknowledges it, and
nothing reaches the server; back online, the acknowledgement is sent through /sync with the phone's time (before
the server received it); the commander's dashboard, open all along, turns the point's last order from "not
acknowledged" to "acknowledged after N s". Without a browser: the dashboard row of an order left
unacknowledged is marked at 5:01 and not at 4:59, and an acknowledged one says how long it took.
"""

import re
import uuid
from datetime import datetime, timedelta

import pytest
import time_machine

from opsserver.database.utc import now_utc

from .helpers import crewphone, live as harness
from .helpers.crewphone import COMMANDER, shot, sign_in, wait_until
from .helpers.pages import sign_in as page_sign_in

browser = harness.browser
phone = crewphone.phone
ONE_FORMAT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d [+-]\d\d:\d\d")
# the phone's navigator.vibrate, counted (Chromium only vibrates a real device, and only after a tap)
COUNT_VIBRATIONS = "window.__vibrations = 0; navigator.vibrate = () => { window.__vibrations += 1; return true; };"


@pytest.fixture
def live(app, runner):
    """The demo served with LH01 and LH02 in an active round and crew-lh01 on shift at LH01."""
    yield from crewphone.serve(app, runner, window=False)


def orders_of(live, point="LH01") -> list[dict]:
    return live.api("get", f"/api/v1/rounds/{live.round_id}/orders?point_code={point}")["items"]


def card(order_id) -> str:
    return f'#orders .order[data-id="{order_id}"]'


def dashboard(browser, live):
    """The commander's dashboard in a desktop window (signed in through the login form), in Chinese."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    context.set_default_timeout(crewphone.WAIT_MS)
    page = context.new_page()
    page.errors = harness.script_errors(page)
    page.goto(f"{live.url}/login")
    page.fill("input[name=username]", COMMANDER[0])
    page.fill("input[name=password]", COMMANDER[1])
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{live.url}/")
    return page


@harness.needs_chromium
def test_a_readiness_order_acknowledged_offline_reaches_the_dashboard(browser, phone, live):
    page = phone
    page.context.add_init_script(COUNT_VIBRATIONS)
    sign_in(page, live)
    order = live.api("post", f"/api/v1/rounds/{live.round_id}/orders",
                     body={"point_code": "LH01", "kind": "readiness", "readiness_level": 2})
    desk = dashboard(browser, live)
    cell = f'#points tr[data-code="LH01"] td.order[data-order="{order["id"]}"]'
    desk.wait_for_selector(f'{cell}[data-ack="waiting"]')
    assert "未确认" in desk.inner_text(cell)

    # the phone shows it within a poll, above the home screen, in Chinese, and vibrates once
    page.wait_for_selector(f'{card(order["id"])}[data-state="new"]')
    text = page.inner_text(card(order["id"]))
    assert "准备指令" in text and "二级准备" in text and "在发射装置旁待命" in text, text
    assert ONE_FORMAT.search(text) and not re.search(r"\b(null|undefined|NaN|readiness)\b", text), text
    assert page.inner_text(f'{card(order["id"])} button') == "收到"
    top = page.eval_on_selector(card(order["id"]), "e => e.getBoundingClientRect().top")
    assert top < page.eval_on_selector("#card-me", "e => e.getBoundingClientRect().top")
    assert page.evaluate("window.__vibrations") == 1
    shot(page, "orders-01-new")

    # no signal: the acknowledgement waits on the phone, and the server has none
    page.context.set_offline(True)
    page.wait_for_selector("#net.off")
    tapped_from = now_utc()
    page.click(f'{card(order["id"])} button')
    page.wait_for_selector(f'{card(order["id"])}[data-state="sending"]')
    tapped_by = now_utc()
    assert "已确认，正在发送" in page.inner_text(card(order["id"]))
    assert not page.query_selector(f'{card(order["id"])} button')  # one acknowledgement: no second button
    wait_until(page, "document.querySelectorAll('#queue-list li[data-type=order_ack][data-status=queued]').length === 1")
    (ack_id,) = page.eval_on_selector_all("#queue-list li[data-type=order_ack]", "els => els.map(e => e.dataset.id)")
    shot(page, "orders-02-acknowledged-offline")
    assert ack_id not in live.recorder.synced_ids
    (stored,) = orders_of(live)
    assert stored["acknowledged_at"] is None and stored["ack_received_at"] is None
    assert desk.get_attribute(cell, "data-ack") == "waiting"

    # back online: sent once through /sync, with the phone's time of the tap
    back_online = now_utc()
    page.context.set_offline(False)
    page.wait_for_selector(f'#orders [data-id="{order["id"]}"][data-state="acked"], '
                           f'#orders-list [data-id="{order["id"]}"]')
    assert live.recorder.synced_ids.count(ack_id) == 1
    (stored,) = orders_of(live)
    acknowledged, received = datetime.fromisoformat(stored["acknowledged_at"]), datetime.fromisoformat(
        stored["ack_received_at"])
    # the phone writes milliseconds: its time of the tap may read up to 1 ms before the test's
    assert tapped_from - timedelta(milliseconds=1) <= acknowledged <= tapped_by < back_online <= received
    assert stored["acknowledged_by"] == crewphone.CREW[0]
    assert "已确认" in page.inner_text("body")
    shot(page, "orders-03-acknowledged")

    # the dashboard, open all along, follows: acknowledged, and after how long
    desk.wait_for_selector(f'{cell}[data-ack="acknowledged"]')
    delay = round(stored["ack_delay_s"])
    assert desk.inner_text(f"{cell} .ack") == f"{delay} 秒后确认"
    assert "二级准备" in desk.inner_text(cell)
    desk.context.close()
    assert not desk.errors, desk.errors


@harness.needs_chromium
def _man(live, code="LH01"):
    """Check the point's own crew in at it (by the commander), so that its clearance, which a fire order
    needs, is not refused for want of crew."""
    point = live.point(code)
    members = live.api("get", f"/api/v1/crew?home_point={code}&limit=50")["items"]
    for member in members:
        live.api("post", "/api/v1/checkins", body={
            "id": str(uuid.uuid4()), "point_code": code, "kind": "arrive", "latitude": point["latitude"],
            "longitude": point["longitude"], "accuracy_m": 5.0, "recorded_at": now_utc().isoformat(),
            "crew_id": member["id"]})


def test_fire_and_cease_orders_in_english(phone, live):
    """In English: a fire order shows its azimuth, elevation and rounds, a cease order its words, newest first;
    each acknowledged online goes straight through, and no Chinese is left on the cards."""
    page = phone
    now = now_utc()
    req = live.api("post", f"/api/v1/rounds/{live.round_id}/airspace",
                   body={"point_code": "LH01", "window_start": now.isoformat(), "duration_min": 40})
    live.api("post", f"/api/v1/airspace/{req['id']}/decision",
             body={"decision": "approved", "approved_start": now.isoformat(),
                   "approved_end": (now + timedelta(minutes=40)).isoformat(), "reference": "ATC-LH-0042"})
    sign_in(page, live, lang="en")
    _man(live)
    fire = live.api("post", f"/api/v1/rounds/{live.round_id}/orders",
                    body={"point_code": "LH01", "kind": "fire", "azimuth_deg": 250, "elevation_deg": 60, "rounds": 4})
    page.wait_for_selector(f'{card(fire["id"])}[data-state="new"]')
    text = page.inner_text(card(fire["id"]))
    assert "Fire order" in text and "azimuth 250°, elevation 60°, 4 rounds" in text, text
    cease = live.api("post", f"/api/v1/rounds/{live.round_id}/orders", body={"point_code": "LH01", "kind": "cease"})
    page.wait_for_selector(f'{card(cease["id"])}[data-state="new"]')
    ids = page.eval_on_selector_all("#orders .order", "els => els.map(e => Number(e.dataset.id))")
    assert ids == [cease["id"], fire["id"]]  # newest first
    assert "Cease order" in page.inner_text(card(cease["id"])) and "Acknowledge" in page.inner_text("#orders")
    shot(page, "orders-04-fire-and-cease-en")
    for order in (cease, fire):
        page.click(f'{card(order["id"])} button')
        page.wait_for_selector(f'{card(order["id"])}[data-state="acked"]')
    assert all(o["acknowledged_by"] == crewphone.CREW[0] for o in orders_of(live))
    assert not re.search(r"[\u3400-\u9fff]", page.inner_text("#orders")), page.inner_text("#orders")
    # Nothing new: the next polls ask with the last answer's ETag and get a 304 with no body.
    with page.expect_response(lambda r: "/orders?" in r.url and r.status == 304, timeout=15000):
        pass


# --- the dashboard's row, without a browser -------------------------------------------------------------

def order_cell(html: str, code: str) -> str:
    """The last-order cell of a point's row, whitespace folded."""
    row = re.search(rf'<tr data-code="{code}".*?</tr>', html, re.S).group(0)
    return re.sub(r"\s+", " ", re.search(r'<td class="order".*?</td>', row, re.S).group(0))


def shown(cell: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip()


def test_the_dashboard_marks_an_order_left_unacknowledged_over_five_minutes(ops_world):
    w = ops_world
    w.activate()
    resp = w.post("commander", f"/api/v1/rounds/{w.round_id}/orders",
                  {"point_code": "LH01", "kind": "readiness", "readiness_level": 3})
    assert resp.status_code == 201, resp.json
    order = resp.json
    issued = datetime.fromisoformat(order["issued_at"])
    page_sign_in(w.client)

    with time_machine.travel(issued + timedelta(minutes=4, seconds=59), tick=False):
        cell = order_cell(w.client.get("/?lang=zh").get_data(as_text=True), "LH01")
        assert 'data-ack="waiting"' in cell and "overdue" not in cell
        assert shown(cell) == "三级准备：做好作业准备 未确认（已过 4 分钟）"

    with time_machine.travel(issued + timedelta(minutes=5, seconds=1), tick=False):
        page = w.client.get("/?lang=zh").get_data(as_text=True)
        cell = order_cell(page, "LH01")
        assert 'data-ack="overdue"' in cell and 'class="ack overdue"' in cell
        assert shown(cell) == "三级准备：做好作业准备 未确认（已过 5 分钟）"
        assert 'title="指令应在 5 分钟内确认。"' in cell
        assert order_cell(w.client.get("/dashboard/live").get_data(as_text=True), "LH01") == cell  # one builder
        assert shown(order_cell(page, "LH02")) == "—"  # no order there
        en = order_cell(w.client.get("/?lang=en").get_data(as_text=True), "LH01")
        assert shown(en) == "Readiness level 3: prepare not acknowledged (5 min)"
        w.client.get("/?lang=zh")

        # the crew acknowledges late, with its phone's time 42 s after the issue: the row says how long it took
        ack = w.post("crew1", f"/api/v1/orders/{order['id']}/ack",
                     {"acknowledged_at": (issued + timedelta(seconds=42)).isoformat()})
        assert ack.status_code == 200, ack.json
        cell = order_cell(w.client.get("/?lang=zh").get_data(as_text=True), "LH01")
        assert 'data-ack="acknowledged"' in cell and shown(cell) == "三级准备：做好作业准备 42 秒后确认"
