"""The audit page and the admin pages (accounts, points, crew, ammunition), driven as a browser does: the session
login, the forms with their CSRF token, POST → redirect → GET with its confirmation. Each form writes what the
API's own service writes (and its audit event); bad input is shown on the form and writes nothing."""

import json
import re

import pytest
from sqlalchemy import select, text

from opsserver.accounts.models import Account
from opsserver.ammo.models import AmmoType, LedgerEntry
from opsserver.audit.models import AuditEvent
from opsserver.extensions import db
from opsserver.registry.models import CrewMember, Point

from .helpers.pages import csrf_token, sign_in
from .helpers.world import login

PAGES = {"/audit": ("auditor", "admin"), "/audit/verify": ("auditor", "admin"),
         "/admin/accounts": ("admin",), "/admin/points": ("admin",), "/admin/points/LH01": ("admin",),
         "/admin/crew": ("admin",), "/admin/ammo": ("commander", "auditor", "admin")}
USERS = {"commander": "commander", "auditor": "auditor", "admin": "admin"}


def signed_in(client, username: str):
    resp = sign_in(client, username, "password-" + username)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return client


def post_form(client, page: str, action: str, data: dict, follow: bool = False):
    """Post `data` to `action` with the CSRF token of the form on `page`, as the browser does."""
    return client.post(action, data={**data, "csrf_token": csrf_token(client, page)}, follow_redirects=follow)


def last_event(app, action: str):
    with app.app_context():
        return db.session.execute(select(AuditEvent).where(AuditEvent.action == action)
                                  .order_by(AuditEvent.seq.desc()).limit(1)).scalar_one_or_none()


def page_text(resp) -> str:
    return resp.get_data(as_text=True)


@pytest.mark.parametrize("role", ["commander", "auditor", "admin"])
def test_each_page_renders_for_its_roles_and_refuses_the_others(app, ops_world, role):
    client = signed_in(app.test_client(), USERS[role])
    for url, roles in PAGES.items():
        resp = client.get(url)
        assert resp.status_code == (200 if role in roles else 403), (url, role, resp.status_code)
        if role in roles:
            assert '<nav' in page_text(resp) and "</html>" in page_text(resp)


def test_a_crew_sign_in_reaches_no_admin_page(app, ops_world):
    client = app.test_client()
    assert sign_in(client, "crew1", "password-crew1").status_code == 302  # to /crew, handed a token, no session
    for url in PAGES:
        assert client.get(url).status_code == 302, url  # to /login
    token = client.post("/api/v1/auth/token", json={"username": "crew1", "password": "password-crew1"})
    for url in PAGES:
        assert client.get(url, headers={"Authorization": f"Bearer {token.json['access_token']}"}).status_code == 403


def test_without_a_session_the_pages_send_to_the_login(client, ops_world):
    for url in PAGES:
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], url


def test_create_an_account_writes_it_and_its_audit_event(app, ops_world):
    client = signed_in(app.test_client(), "admin")
    resp = post_form(client, "/admin/accounts", "/admin/accounts",
                     {"username": "crew3", "password": "a long password", "role": "crew",
                      "crew_id": str(ops_world.crew["bo"])})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/accounts")
    page = page_text(client.get("/admin/accounts"))
    assert "账户 crew3 已创建。" in page  # the confirmation, in the reader's language (Chinese by default)
    with app.app_context():
        account = db.session.execute(select(Account).where(Account.username == "crew3")).scalar_one()
        assert (account.role, account.crew_id, account.active) == ("crew", ops_world.crew["bo"], True)
    event = last_event(app, "account.create")
    assert event.actor == "admin" and json.loads(event.payload)["username"] == "crew3"
    assert client.post("/api/v1/auth/token", json={"username": "crew3", "password": "a long password"}).status_code \
        == 200


@pytest.mark.parametrize("body, bad", [
    ({"username": "x", "password": "a long password", "role": "admin"}, ["用户名"]),
    ({"username": "newone", "password": "short", "role": "admin"}, ["密码"]),
    ({"username": "newone", "password": "a long password", "role": "crew"}, ["作业人员"]),
    ({"username": "admin", "password": "a long password", "role": "admin"}, ["用户名"]),
    ({"username": "newone", "password": "a long password", "role": "boss"}, ["角色"]),
])
def test_a_bad_account_form_writes_nothing_and_names_the_field(app, ops_world, rows, body, bad):
    client = signed_in(app.test_client(), "admin")
    token = csrf_token(client, "/admin/accounts")
    before = rows()
    resp = client.post("/admin/accounts", data={**body, "csrf_token": token})
    page = page_text(resp)
    assert resp.status_code == 422
    assert "未保存任何内容" in page
    for label in bad:
        assert f"<strong>{label}</strong>" in page, page
    assert rows() == before


def test_a_form_without_its_csrf_token_writes_nothing(app, ops_world, rows):
    client = signed_in(app.test_client(), "admin")
    before = rows()
    resp = client.post("/admin/accounts", data={"username": "crew3", "password": "a long password", "role": "admin"})
    assert resp.status_code == 422 and "表单已过期" in page_text(resp)
    assert rows() == before


def test_disabling_an_account_stops_its_token_at_once_and_enabling_lets_it_sign_in(app, ops_world):
    client = signed_in(app.test_client(), "admin")
    token = ops_world.tokens["crew2"]
    me = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=me).status_code == 200
    resp = post_form(client, "/admin/accounts", "/admin/accounts/crew2/active", {"active": "0"}, follow=True)
    assert "账户 crew2 已停用" in page_text(resp)
    assert client.get("/api/v1/me", headers=me).status_code == 401  # the next request, no wait
    event = last_event(app, "account.update")
    payload = json.loads(event.payload)
    assert payload["changes"]["active"] == [True, False] and payload["revoked_tokens"] >= 1
    assert client.post("/api/v1/auth/token", json={"username": "crew2", "password": "password-crew2"}).status_code \
        == 401
    post_form(client, "/admin/accounts", "/admin/accounts/crew2/active", {"active": "1"})
    assert login(client, "crew2")


def test_the_last_admin_cannot_be_disabled_from_the_page(app, ops_world, rows):
    client = signed_in(app.test_client(), "admin")
    token = csrf_token(client, "/admin/accounts")
    before = rows()
    resp = client.post("/admin/accounts/admin/active", data={"active": "0", "csrf_token": token})
    assert resp.status_code == 422 and "不能停用最后一个有效的管理员" in page_text(resp)
    assert rows() == before


def test_a_change_to_an_account_that_is_gone_is_a_404_and_a_crew_role_needs_its_member(app, ops_world, rows):
    client = signed_in(app.test_client(), "admin")
    token = csrf_token(client, "/admin/accounts")
    before = rows()
    assert client.post("/admin/accounts/nobody", data={"role": "admin", "csrf_token": token}).status_code == 404
    resp = client.post("/admin/accounts/crew1", data={"role": "crew", "crew_id": "", "csrf_token": token})
    assert resp.status_code == 422 and "作业人员账户必须关联一名作业人员。" in page_text(resp)
    assert rows() == before


def test_change_an_accounts_role_and_password(app, ops_world):
    client = signed_in(app.test_client(), "admin")
    resp = post_form(client, "/admin/accounts", "/admin/accounts/auditor",
                     {"role": "commander", "crew_id": "", "password": "another password"})
    assert resp.status_code == 302
    with app.app_context():
        assert db.session.execute(select(Account.role).where(Account.username == "auditor")).scalar_one() \
            == "commander"
    assert client.post("/api/v1/auth/token", json={"username": "auditor", "password": "another password"}) \
        .json["role"] == "commander"
    payload = json.loads(last_event(app, "account.update").payload)
    assert payload["changes"]["role"] == ["auditor", "commander"] and payload["changes"]["password"] == "changed"


def point_form(**changes) -> dict:
    data = {"name": "Test point LH01", "county": "Yancheng", "latitude": "33.58", "longitude": "114.02",
            "elevation_m": "60", "equipment": "rocket", "launchers": "2", "sector_start_deg": "300",
            "sector_end_deg": "40", "max_range_km": "7", "max_height_m": "7000", "geofence_m": "500",
            "min_crew": "3", "active": "y"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_edit_a_point_sends_only_what_changed(app, ops_world):
    client = signed_in(app.test_client(), "admin")
    resp = post_form(client, "/admin/points/LH01", "/admin/points/LH01", point_form(max_range_km="8.5"), follow=True)
    assert "作业点 LH01 已保存。" in page_text(resp)
    with app.app_context():
        assert db.session.execute(select(Point.max_range_km).where(Point.code == "LH01")).scalar_one() == 8.5
    assert json.loads(last_event(app, "point.update").payload) == {"max_range_km": [7.0, 8.5]}


@pytest.mark.parametrize("changes, field", [
    ({"sector_end_deg": "300"}, "安全射界终止（°）"),  # no width: the API's rule
    ({"latitude": "100"}, "纬度"),
    ({"latitude": "north"}, "纬度"),
    ({"name": ""}, "名称"),
    ({"equipment": "cannon"}, "作业装备"),
])
def test_a_bad_point_edit_writes_nothing_and_shows_the_error(app, ops_world, rows, changes, field):
    client = signed_in(app.test_client(), "admin")
    token = csrf_token(client, "/admin/points/LH01")
    before = rows()
    resp = client.post("/admin/points/LH01", data={**point_form(**changes), "csrf_token": token})
    page = page_text(resp)
    assert resp.status_code == 422 and f"<strong>{field}</strong>" in page, page
    assert 'aria-invalid="true"' in page
    assert rows() == before
    with app.app_context():
        assert db.session.execute(select(Point.sector_end_deg).where(Point.code == "LH01")).scalar_one() == 40.0


def test_create_a_point(app, ops_world):
    client = signed_in(app.test_client(), "admin")
    resp = post_form(client, "/admin/points", "/admin/points",
                     point_form(name="Xiaotang", latitude="33.6", geofence_m="", min_crew="", launchers="",
                                equipment="gun") | {"code": "LH30"}, follow=True)
    assert "作业点 LH30 已创建。" in page_text(resp)
    with app.app_context():
        point = db.session.execute(select(Point).where(Point.code == "LH30")).scalar_one()
        assert (point.min_crew, point.launchers, point.geofence_m) == (4, 1, 500.0)  # the service's defaults
    assert last_event(app, "point.create").entity_id == "LH30"
    assert 'id="point-LH30"' in page_text(client.get("/admin/points"))


def test_the_demo_lists_its_18_points_and_no_password_field_takes_the_browsers_saved_one(app, runner):
    assert runner.invoke(args=["ops", "seed-demo"]).exit_code == 0
    client = app.test_client()
    with app.app_context():
        admin = db.session.execute(select(Account.username).where(Account.role == "admin")).scalars().first()
    post_form(client, "/login", "/login", {"username": admin, "password": "admin-demo-pass"})
    page = page_text(client.get("/admin/points"))
    assert len(re.findall(r'<tr id="point-LH\d+"', page)) == 18
    accounts = page_text(client.get("/admin/accounts"))
    fields = re.findall(r'<input[^>]*type="password"[^>]*>', accounts)
    assert fields and all('autocomplete="new-password"' in f for f in fields)


def test_the_points_page_shows_the_live_state(app, ops_world):
    ops_world.activate()
    client = signed_in(app.test_client(), "admin")
    row = re.search(r'<tr id="point-LH01".*?</tr>', page_text(client.get("/admin/points")), re.S).group(0)
    assert "Test round" in row and "已下达" in row  # ordered in the active round, in Chinese


def test_crew_list_flags_a_certificate_expiring_soon_and_adding_one_writes_it(app, ops_world):
    client = signed_in(app.test_client(), "admin")
    page = page_text(client.get("/admin/crew"))
    soon = re.search(r'<tr class="cert-(\w+)"><td>Soon</td>.*?</tr>', page, re.S)
    assert soon.group(1) == "expiring" and "30 天内到期" in soon.group(0)
    assert re.search(r'<tr class="cert-expired"><td>Expired</td>', page)
    resp = post_form(client, "/admin/crew", "/admin/crew",
                     {"name": "<b>Fang</b>", "phone": "13900000001", "certificate_no": "CERT-fang",
                      "certificate_expires": "2030-01-31", "home_point": "LH02"}, follow=True)
    page = page_text(resp)
    assert "作业人员 &lt;b&gt;Fang&lt;/b&gt; 已添加。" in page  # typed text is data, escaped
    assert "<b>Fang</b>" not in page
    with app.app_context():
        member = db.session.execute(select(CrewMember).where(CrewMember.certificate_no == "CERT-fang")).scalar_one()
        assert member.home_point.code == "LH02"
    assert last_event(app, "crew.create").actor == "admin"


def test_a_bad_crew_form_writes_nothing(app, ops_world, rows):
    client = signed_in(app.test_client(), "admin")
    token = csrf_token(client, "/admin/crew")
    before = rows()
    resp = client.post("/admin/crew", data={"name": "Fang", "phone": "call me", "certificate_no": "CERT-ann",
                                             "certificate_expires": "31/01/2030", "csrf_token": token})
    page = page_text(resp)
    assert resp.status_code == 422
    assert "不是有效的电话号码。" in page and "不是有效日期。" in page
    resp = client.post("/admin/crew", data={"name": "Fang", "phone": "13900000001", "certificate_no": "CERT-fang",
                                             "certificate_expires": "1999-12-31", "csrf_token": token})
    assert resp.status_code == 422 and "须在 2000 年到 2100 年之间。" in page_text(resp)
    assert rows() == before


def test_ammo_type_and_movements_write_the_ledger_and_their_events(app, ops_world):
    admin = signed_in(app.test_client(), "admin")
    resp = post_form(admin, "/admin/ammo", "/admin/ammo/types",
                     {"code": "RKT-WR98", "name": "WR-98 rocket", "agent": "AgI", "agent_g_per_unit": "2.5"},
                     follow=True)
    assert "弹药类型 RKT-WR98 已添加。" in page_text(resp)
    assert 'id="movement-create"' not in page_text(resp)  # movements are a commander's, as in the API
    with app.app_context():
        assert db.session.execute(select(AmmoType.agent_g_per_unit).where(AmmoType.code == "RKT-WR98")) \
            .scalar_one() == 2.5
    commander = signed_in(app.test_client(), "commander")
    assert 'id="type-create"' not in page_text(commander.get("/admin/ammo"))
    resp = post_form(commander, "/admin/ammo", "/admin/ammo/movements",
                     {"kind": "transfer", "point_code": "LH01", "ammo_type": "RKT-AGI", "quantity": "5",
                      "to_point_code": "LH02", "reference": "T-7"}, follow=True)
    page = page_text(resp)
    assert "已记录：LH01 RKT-AGI 调拨 5。" in page
    stock_lh02 = re.search(r'<tr id="stock-LH02">.*?</tr>', page, re.S).group(0)
    assert ">5</td>" in stock_lh02 and ">100</td>" in stock_lh02
    event = last_event(app, "ammo.transfer")
    assert json.loads(event.payload)["to_point_code"] == "LH02" and event.actor == "commander"
    ledger = page_text(commander.get("/admin/ammo?point_code=LH02&ammo_type=RKT-AGI"))
    table = re.search(r'<table id="ledger">.*?</table>', ledger, re.S).group(0)
    assert "调入" in table and "T-7" in table and "SHELL-37" not in table


@pytest.mark.parametrize("body, message", [
    ({"kind": "transfer", "point_code": "LH01", "ammo_type": "RKT-AGI", "quantity": "5"}, "调拨须指明调入的作业点。"),
    ({"kind": "adjustment", "point_code": "LH01", "ammo_type": "RKT-AGI", "quantity": "-2"}, "盘点调整必须填写原因。"),
    ({"kind": "receipt", "point_code": "LH01", "ammo_type": "RKT-AGI", "quantity": "0"}, "必须是正整数。"),
    ({"kind": "receipt", "point_code": "LH01", "ammo_type": "NOPE", "quantity": "3"}, "没有这种弹药类型。"),
    ({"kind": "return", "point_code": "LH01", "ammo_type": "RKT-AGI", "quantity": "500"},
     "LH01 现有 20 发 RKT-AGI：退库 500 超出库存。"),
])
def test_a_bad_movement_writes_nothing(app, ops_world, rows, body, message):
    client = signed_in(app.test_client(), "commander")
    token = csrf_token(client, "/admin/ammo")
    before = rows()
    resp = client.post("/admin/ammo/movements", data={**body, "csrf_token": token})
    assert resp.status_code == 422 and message in page_text(resp), page_text(resp)
    assert rows() == before
    with app.app_context():
        assert db.session.execute(select(LedgerEntry)).scalars().all().__len__() == 2  # the opening stock only


def test_an_admin_may_not_record_a_movement(app, ops_world, rows):
    client = signed_in(app.test_client(), "admin")
    token = csrf_token(client, "/admin/ammo")
    resp = client.post("/admin/ammo/movements", data={"kind": "receipt", "point_code": "LH01",
                                                       "ammo_type": "RKT-AGI", "quantity": "3", "csrf_token": token})
    assert resp.status_code == 403


def export_links(page: str) -> dict[str, tuple[str, str]]:
    files = dict((fmt, href) for href, fmt in re.findall(r'<a href="([^"]+)" class="export" data-format="(\w+)"', page))
    manifests = dict((fmt, href) for href, fmt in re.findall(r'<a href="([^"]+)" class="manifest" data-format="(\w+)"',
                                                             page))
    return {fmt: (files[fmt].replace("&amp;", "&"), manifests[fmt].replace("&amp;", "&")) for fmt in files}


@pytest.mark.parametrize("query", ["", "?point_code=LH01", "?round_id=1&since=2020-01-01T00:00"])
def test_the_export_links_download_the_apis_bytes_and_manifest(app, ops_world, query):
    ops_world.activate()
    client = signed_in(app.test_client(), "auditor")
    links = export_links(page_text(client.get("/audit" + query)))
    assert sorted(links) == ["csv", "geojson", "jsonl"]
    api = {"Authorization": f"Bearer {ops_world.tokens['auditor']}"}
    for fmt, (file_url, manifest_url) in links.items():
        # Each streamed answer is read to its end before the next request (its generator has its own context).
        mine = client.get(file_url)
        mine_bytes = mine.get_data()
        assert mine.status_code == 200 and "attachment" in mine.headers["Content-Disposition"]
        theirs = client.get("/api/v1" + file_url, headers=api)
        assert theirs.status_code == 200, theirs.get_data(as_text=True)
        assert mine_bytes == theirs.get_data() and mine_bytes
        assert mine.headers["Audit-Upto-Seq"] == theirs.headers["Audit-Upto-Seq"]
        doc = client.get(manifest_url).json
        api_doc = client.get("/api/v1" + manifest_url, headers=api).json
        same = ("format", "filters", "upto_seq", "count", "first_seq", "last_seq", "sha256", "chain_head_hash")
        assert {k: doc[k] for k in same} == {k: api_doc[k] for k in same}
        assert doc["checkpoint"]["signature"] and doc["signature"]
    if "point_code" in query:
        jsonl = client.get(links["jsonl"][0]).get_data(as_text=True).splitlines()
        assert jsonl and all("LH01" in line for line in jsonl)


def test_a_filter_the_export_refuses_is_shown_on_the_form_and_no_link_carries_it(app, ops_world):
    client = signed_in(app.test_client(), "auditor")
    for query in ("point_code=X", "point_code=LH01&round_id=abc"):
        resp = client.get(f"/audit?{query}")
        page = page_text(resp)
        assert resp.status_code == 200 and 'aria-invalid="true"' in page, query
        for file_url, manifest_url in export_links(page).values():
            assert "point_code" not in file_url and client.get(manifest_url).status_code == 200
    # the export's schema's rule for a point code, in Chinese
    assert "长度须为 2 到 20 个字符。" in page_text(client.get("/audit?point_code=X"))


def test_the_audit_list_filters_by_actor_and_action(app, ops_world):
    client = signed_in(app.test_client(), "admin")
    page = page_text(client.get("/audit?actor=commander&action=ammo.receipt"))
    body = re.search(r"<tbody>.*?</tbody>", page, re.S).group(0)
    assert body.count("<tr>") == 2 and "ammo.receipt" in body and "point.create" not in body


def _drop_guards(app):
    """Let raw SQL change the log, as someone with the database's password could (see tests/test_audit.py)."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("DROP TRIGGER audit_events_no_update_delete ON audit_events"))
        else:
            db.session.execute(text("DROP TRIGGER audit_events_no_update"))
            db.session.execute(text("DROP TRIGGER audit_events_no_delete"))
        db.session.commit()


def test_verify_shows_ok_and_then_the_broken_event_after_tampering(app, ops_world):
    client = signed_in(app.test_client(), "auditor")
    page = page_text(client.get("/audit/verify"))
    result = re.search(r'<div class="verify-result result (\w+)" id="verify-result".*?</div>', page, re.S).group(0)
    assert 'data-ok="true"' in result and "日志完整，未被篡改。" in result
    with app.app_context():
        count = db.session.execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
    assert f'<dd class="count">{count}</dd>' in result
    _drop_guards(app)
    with app.app_context():
        db.session.execute(text("UPDATE audit_events SET payload = '{\"name\":\"forged\"}' WHERE seq = 3"))
        db.session.commit()
    page = page_text(client.get("/audit/verify"))
    result = re.search(r'<div class="verify-result result (\w+)" id="verify-result".*?</div>', page, re.S).group(0)
    assert 'data-ok="false"' in result and "日志已损坏" in result
    assert '<dd class="first-bad">3</dd>' in result
    assert "记录内容被修改：哈希不再相符。" in result  # why, in the reader's language
    assert "最近的签名检查点" in page


def test_verify_on_the_page_finds_the_newest_events_deleted_behind_the_apps_back(app, ops_world):
    """An export signs a checkpoint of the head; deleting the newest events afterwards is named by the page."""
    client = signed_in(app.test_client(), "admin")
    links = export_links(page_text(client.get("/audit")))
    client.get(links["jsonl"][0]).get_data()  # signs a checkpoint at the head
    _drop_guards(app)
    with app.app_context():
        head = db.session.execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
        db.session.execute(text("DELETE FROM audit_events WHERE seq >= :s"), {"s": head - 1})
        db.session.commit()
    page = page_text(client.get("/audit/verify?lang=en"))
    result = re.search(r'<div class="verify-result result (\w+)" id="verify-result".*?</div>', page, re.S).group(0)
    assert 'data-ok="false"' in result and "The log is broken" in result
    assert f"covers {head} events, the log holds {head - 2}" in result


def test_pages_follow_the_readers_language(app, ops_world):
    client = signed_in(app.test_client(), "admin")
    page = page_text(client.get("/admin/ammo?lang=en"))
    assert "Stock per point" in page and "各作业点库存" not in page
    resp = post_form(client, "/admin/ammo", "/admin/ammo/types",
                     {"code": "X1", "name": "x", "agent": "AgI", "agent_g_per_unit": "-1"})
    assert "Must be between 0 and 100000." in page_text(resp)


def test_the_language_switch_on_a_refused_form_leads_to_a_page(app, ops_world):
    """A refused form answers at its POST-only address; the bar's language switch there leads back to the page
    the form was on (not a 405 at the form's address)."""
    client = signed_in(app.test_client(), "admin")
    token = csrf_token(client, "/admin/accounts")
    resp = client.post("/admin/accounts/crew1", data={"role": "crew", "crew_id": "", "csrf_token": token},
                       headers={"Referer": "http://localhost/admin/accounts"})
    assert resp.status_code == 422
    switch = re.search(r'<a href="([^"]+)" class="lang[^"]*" lang="en">', page_text(resp)).group(1)
    assert switch == "/admin/accounts?lang=en"
    assert client.get(switch).status_code == 200
