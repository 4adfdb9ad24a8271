"""The announcements' pages: the list, a draft made, edited and published from the forms (CSRF, the page session),
the notice in the reader's language, the printable A4 page and the CAP alert with the page session; the demo's
season announcement over all 18 points."""

import re

from lxml import etree

from .helpers.pages import sign_in

CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def _signed_in(app, who="commander", password=None):
    client = app.test_client()
    assert sign_in(client, who, password or "password-" + who).status_code == 302
    return client


def test_draft_edit_and_publish_from_the_pages(app, world):
    """A commander drafts from the form, edits the draft, publishes it; then the edit form is gone and a replay of
    the edit is refused (409), nothing changed."""
    client = _signed_in(app)
    page = client.get("/announcements/new").get_data(as_text=True)
    form = {"csrf_token": _csrf(page), "period_start": "2026-07-18T20:00", "period_end": "2026-07-19T06:00",
            "point_codes": ["LH01", "LH02"], "purpose": "增雨抗旱", "issuer": "漯河市人工影响天气办公室",
            "contact_unit": "漯河市气象局", "contact_person": "王建国", "contact_phone": "0395-3121234",
            "safety_radius_km": "", "notes": "", "supersedes": ""}
    resp = client.post("/announcements", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    url = resp.headers["Location"]
    detail = client.get(url).get_data(as_text=True)
    assert "2026年7月18日20时至7月19日06时" in detail and 'id="publish-form"' in detail and "草稿" in detail
    edit = {**form, "csrf_token": _csrf(detail), "contact_person": "李四"}
    assert client.post(url, data=edit).status_code == 302
    detail = client.get(url).get_data(as_text=True)
    assert "联系人：李四" in detail
    assert client.post(url + "/publish", data={"csrf_token": _csrf(detail)}).status_code == 302
    detail = client.get(url).get_data(as_text=True)
    assert 'id="publish-form"' not in detail and 'id="announcement-form"' not in detail and "已发布" in detail
    refused = client.post(url, data={**edit, "contact_person": "张三"})
    assert refused.status_code == 422 and "不能修改" in refused.get_data(as_text=True)
    assert "联系人：李四" in client.get(url).get_data(as_text=True)


def test_bad_form_shows_the_refusal_in_chinese(app, world):
    client = _signed_in(app)
    page = client.get("/announcements/new").get_data(as_text=True)
    resp = client.post("/announcements", data={
        "csrf_token": _csrf(page), "period_start": "2026-07-18T20:00", "period_end": "2026-07-19T06:00",
        "point_codes": ["LH01"], "purpose": "增雨", "issuer": "办公室", "contact_unit": "气象局",
        "contact_person": "王", "contact_phone": "0395-3121234", "safety_radius_km": "3"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "安全影响半径不得小于各作业点的最大射程：LH01 射程为 7 km" in body


def test_the_print_page_and_the_cap_alert(app, world):
    """The printable page is A4 with the Chinese notice (English with ?lang=en); the CAP link answers the alert."""
    client = _signed_in(app, "auditor")
    page = client.get("/announcements/1/print").get_data(as_text=True)
    assert "@page { size: A4" in page and "人工影响天气地面作业公告" in page and "特此公告" in page
    en = client.get("/announcements/1/print?lang=en").get_data(as_text=True)
    assert "Public notice of ground-based weather modification operations" in en and "特此公告" not in en
    resp = client.get("/announcements/1/cap.xml")
    assert resp.status_code == 200 and resp.mimetype == "application/cap+xml"
    assert etree.fromstring(resp.data).findtext(f"{CAP}status") == "Actual"
    listing = client.get("/announcements").get_data(as_text=True)
    assert 'href="/announcements/1"' in listing and "新建公告" not in listing  # an auditor reads, never writes
    assert client.get("/announcements/new").status_code == 403


def test_the_nav_bar_links_the_announcements(app, world):
    client = _signed_in(app, "admin")
    assert 'href="/announcements"' in client.get("/").get_data(as_text=True)


def test_the_demo_carries_a_season_announcement(app, runner, client):
    """seed-demo publishes one announcement over all 18 points, each with its county and township in Chinese."""
    assert runner.invoke(args=["ops", "seed-demo"]).exit_code == 0
    token = client.post("/api/v1/auth/token", json={"username": "auditor", "password": "auditor-demo-pass"})
    items = client.get("/api/v1/announcements?status=published",
                       headers={"Authorization": f"Bearer {token.json['access_token']}"}).json["items"]
    assert len(items) == 1 and len(items[0]["point_codes"]) == 18
    text = items[0]["text"]
    assert "源汇区问十乡 源汇区问十作业点" in text and "临颍县繁城回族镇 临颍县繁城作业点" in text
    assert "（演示）" in text and "周围8公里" in text
