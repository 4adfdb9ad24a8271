"""The round page: each point's readiness, fire order in force and last order with its acknowledgement, and the
commander's order form (CSRF-protected, POST → redirect → GET), whose refusals are shown in the page's language
and write nothing."""

import re

from sqlalchemy import func, select

from opsserver.audit.models import AuditEvent
from opsserver.extensions import db
from opsserver.operations.models import Order

from .helpers.pages import csrf_token, sign_in


def signed_in(app, username: str):
    client = app.test_client()
    assert sign_in(client, username, "password-" + username).status_code == 302
    return client


def post_order(client, round_id: int, data: dict, token: str | None = None):
    page = f"/rounds/{round_id}"
    return client.post(f"{page}/orders", data={**data, "csrf_token": token or csrf_token(client, page)})


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.execute(select(func.count()).select_from(Order)).scalar(),
                db.session.execute(select(func.count()).select_from(AuditEvent)
                                   .where(AuditEvent.action == "order.create")).scalar())


def point_row(page: str, code: str) -> str:
    return re.search(rf'<tr id="point-{code}".*?</tr>', page, re.S).group(0)


def test_the_commander_issues_an_order_from_the_round_page(app, ops_world):
    w = ops_world
    w.ready_to_fire()
    client = signed_in(app, "commander")
    page = client.get(f"/rounds/{w.round_id}").get_data(as_text=True)
    assert 'id="order-create"' in page and "下达指令" in page
    resp = post_order(client, w.round_id, {"point_code": "LH01", "kind": "readiness", "readiness_level": "2",
                                           "azimuth_deg": "99", "notes": "<b>quickly</b>"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/rounds/{w.round_id}#orders")
    assert counts(app) == (1, 1)
    with app.app_context():
        order = db.session.execute(select(Order)).scalar_one()
        # only the fields of the kind chosen are sent: the azimuth typed in went nowhere
        assert (order.kind, order.readiness_level, order.azimuth_deg, order.issued_by) == (
            "readiness", 2, None, "commander")
    page = client.get(f"/rounds/{w.round_id}").get_data(as_text=True)
    assert "已向 LH01 下达指令：二级准备：在发射装置旁待命" in page  # the confirmation
    row = point_row(page, "LH01")
    assert 'data-level="2"' in row and "二级：在发射装置旁待命" in row and "未确认" in row
    assert "&lt;b&gt;quickly&lt;/b&gt;" in page and "<b>quickly</b>" not in page
    # the crew acknowledges from the phone: the row says by whom and after how long
    assert w.post("crew1", f"/api/v1/orders/{order.id}/ack").status_code == 200
    row = point_row(client.get(f"/rounds/{w.round_id}").get_data(as_text=True), "LH01")
    assert "crew1" in row and "确认，用时" in row and "未确认" not in row
    # a fire order while LH01's window is open: the fire order in force
    resp = post_order(client, w.round_id, {"point_code": "LH01", "kind": "fire", "azimuth_deg": "10",
                                           "elevation_deg": "55", "rounds": "4"})
    assert resp.status_code == 302
    row = point_row(client.get(f"/rounds/{w.round_id}").get_data(as_text=True), "LH01")
    fire = re.search(r'<td class="fire-order">(.*?)</td>', row, re.S).group(1)
    assert "射击" in fire and "10" in fire and "4" in fire


def test_a_refused_order_is_shown_in_the_pages_language_and_writes_nothing(app, ops_world):
    w = ops_world
    w.ready_to_fire()  # LH01's window is open; LH02 has none
    client = signed_in(app, "commander")
    fire = {"point_code": "LH02", "kind": "fire", "azimuth_deg": "120", "elevation_deg": "55", "rounds": "5"}
    resp = post_order(client, w.round_id, fire)
    assert resp.status_code == 409
    shown = resp.get_data(as_text=True)
    assert "LH02 当前不具备射击条件，射击指令不予下达：" in shown and "本轮次中该作业点没有已批准的空域窗口" in shown, shown
    english = signed_in(app, "commander")
    assert english.get(f"/rounds/{w.round_id}?lang=en").status_code == 200  # the page's language, kept
    resp = post_order(english, w.round_id, fire)
    assert resp.status_code == 409
    shown = resp.get_data(as_text=True)
    assert "LH02 may not fire now, so a fire order is refused: no approved airspace window" in shown, shown
    # a fire order without its rounds: the field is marked
    resp = post_order(client, w.round_id, {**fire, "point_code": "LH01", "rounds": ""})
    assert resp.status_code == 422 and "此类指令必须填写。" in resp.get_data(as_text=True)
    # no CSRF token: nothing written either
    resp = client.post(f"/rounds/{w.round_id}/orders", data={"point_code": "LH01", "kind": "cease"})
    assert resp.status_code == 422
    assert counts(app) == (0, 0)


def test_only_the_commander_of_an_active_round_sees_the_form(app, ops_world):
    w = ops_world
    page = signed_in(app, "commander").get(f"/rounds/{w.round_id}").get_data(as_text=True)
    assert 'id="order-create"' not in page  # the round is only planned
    w.ready_to_fire()
    assert 'id="order-create"' not in signed_in(app, "auditor").get(f"/rounds/{w.round_id}").get_data(as_text=True)
    # an order to a round that is not active (closed meanwhile) is refused in words
    client = signed_in(app, "commander")
    token = csrf_token(client, f"/rounds/{w.round_id}")
    assert w.post("commander", f"/api/v1/rounds/{w.round_id}/close").status_code == 200
    resp = post_order(client, w.round_id, {"point_code": "LH01", "kind": "cease"}, token)
    assert resp.status_code == 409 and "本轮次不在进行中" in resp.get_data(as_text=True)
    assert counts(app) == (0, 0)
