"""The no-fire zones admin pages and the conflicts on a point's admin page, driven as a browser does (the session
login, the forms with their CSRF token, POST → redirect → GET): each form writes what the API's zone service
writes (and its audit event); bad geometry is shown on the form, in the reader's language, and writes nothing;
an import answers one result per feature; a point's conflicts are derived at once from the stored sector."""

import io
import json
import re

import pytest
from sqlalchemy import func, select

from opsserver.extensions import db
from opsserver.zones.models import NoFireZone

from .helpers.pages import csrf_token
from .test_admin_pages import last_event, page_text, point_form, post_form, signed_in

LH01 = (33.58, 114.02)  # tests/helpers/world.py: sector 300° → 40° (across north), maximum range 7 km
GEOMETRY_LABEL = "几何图形（GeoJSON）"


def square(lat: float, lon: float, half_deg: float = 0.002) -> dict:
    """A small closed square polygon around (lat, lon)."""
    ring = [[lon - half_deg, lat - half_deg], [lon + half_deg, lat - half_deg], [lon + half_deg, lat + half_deg],
            [lon - half_deg, lat + half_deg], [lon - half_deg, lat - half_deg]]
    return {"type": "Polygon", "coordinates": [ring]}


NORTH = square(LH01[0] + 0.027, LH01[1])  # about 3 km due north of LH01: in its sector, in range
SOUTH = square(LH01[0] - 0.027, LH01[1])  # about 3 km due south: in range, outside the sector
BOW_TIE = {"type": "Polygon", "coordinates": [[[114.0, 33.6], [114.01, 33.61], [114.01, 33.6], [114.0, 33.61],
                                               [114.0, 33.6]]]}
UNCLOSED = {"type": "Polygon", "coordinates": [[[114.0, 33.6], [114.01, 33.6], [114.01, 33.61], [114.0, 33.61]]]}


def zone_form(name="Xiaotang school", kind="school", geometry=None, **more) -> dict:
    body = {"name": name, "kind": kind, "buffer_m": "", "notes": "",
            "geometry": geometry if isinstance(geometry, str) else json.dumps(geometry or NORTH)}
    return {**body, **more}


def zones_in_db(app) -> list[NoFireZone]:
    with app.app_context():
        return list(db.session.execute(select(NoFireZone).order_by(NoFireZone.id)).scalars())


def zone_count(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count(NoFireZone.id))).scalar_one()


def create(client, **form) -> int:
    """A zone made from the page's form; its id."""
    resp = post_form(client, "/admin/zones", "/admin/zones", zone_form(**form))
    assert resp.status_code == 302, page_text(resp)
    with client.application.app_context():
        return db.session.execute(select(func.max(NoFireZone.id))).scalar_one()


def row(page: str, element_id: str) -> str:
    found = re.search(rf'<tr id="{element_id}".*?</tr>', page, re.S)
    assert found, f"no row {element_id}"
    return found.group(0)


def test_create_a_zone_from_the_form_and_see_it_listed(app, ops_world):
    client = signed_in(app.test_client(), "admin")
    resp = post_form(client, "/admin/zones", "/admin/zones", zone_form(notes="Primary school, 600 pupils"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/zones")
    page = page_text(client.get("/admin/zones"))
    assert "禁射区 Xiaotang school 已创建。" in page
    [zone] = zones_in_db(app)
    assert (zone.name, zone.kind, zone.buffer_m, zone.active, zone.source) == ("Xiaotang school", "school", 200.0,
                                                                               True, None)
    assert json.loads(zone.geometry)["coordinates"] == NORTH["coordinates"]
    listed = row(page, f"zone-{zone.id}")
    assert "Xiaotang school" in listed and f'href="/admin/zones/{zone.id}"' in listed and ">200<" in listed
    assert "school" not in listed.replace("Xiaotang school", "")  # the kind in the reader's words, not its code
    event = last_event(app, "zone.create")
    assert event.actor == "admin" and event.entity_id == str(zone.id)
    detail = page_text(client.get(f"/admin/zones/{zone.id}"))
    assert "Primary school, 600 pupils" in detail and 'id="zone-edit"' in detail and 'id="zone-active"' in detail


@pytest.mark.parametrize("geometry, message", [
    (BOW_TIE, "自相交"),
    (UNCLOSED, "环 0 没有闭合"),
    ({"type": "Point", "coordinates": [214.0, 33.6]}, "超出经纬度范围"),
    ('{"type": "Polygon", "coordinates": [[', "不是有效的 JSON"),
    ("", "必填"),
])
def test_bad_geometry_in_the_form_is_shown_and_writes_nothing(app, ops_world, rows, geometry, message):
    client = signed_in(app.test_client(), "admin")
    token = csrf_token(client, "/admin/zones")
    before = rows()
    resp = client.post("/admin/zones", data={**zone_form(geometry=geometry), "csrf_token": token})
    page = page_text(resp)
    assert resp.status_code == 422, page
    assert f"<strong>{GEOMETRY_LABEL}</strong>" in page and message in page, page
    assert 'aria-invalid="true"' in page
    assert rows() == before and zone_count(app) == 0


def test_the_other_fields_are_checked_by_the_apis_schema(app, ops_world, rows):
    client = signed_in(app.test_client(), "admin")
    token = csrf_token(client, "/admin/zones")
    before = rows()
    resp = client.post("/admin/zones", data={**zone_form(name="", kind="castle", buffer_m="-5"), "csrf_token": token})
    page = page_text(resp)
    assert resp.status_code == 422
    for label in ("名称", "类型", "缓冲距离（m）"):
        assert f"<strong>{label}</strong>" in page, (label, page)
    assert rows() == before and zone_count(app) == 0


def collection(*features) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def feature(name, geometry, kind="town", **props) -> dict:
    return {"type": "Feature", "properties": {"name": name, "kind": kind, **props}, "geometry": geometry}


def upload(client, body: bytes, name="zones.geojson"):
    token = csrf_token(client, "/admin/zones")
    return client.post("/admin/zones/import", data={"file": (io.BytesIO(body), name), "csrf_token": token},
                       content_type="multipart/form-data")


def test_an_import_with_one_bad_feature_stores_the_others_and_names_the_bad_one(app, ops_world):
    client = signed_in(app.test_client(), "admin")
    body = collection(feature("Town A", SOUTH), feature("Broken ring", UNCLOSED),
                      feature("Hospital B", NORTH, kind="hospital", buffer_m=500))
    resp = upload(client, body)
    page = page_text(resp)
    assert resp.status_code == 200, page
    results = re.search(r'<section class="panel" id="import-results">.*?</section>', page, re.S).group(0)
    assert "已保存 2 个，拒收 1 个" in results
    assert "Town A" in row(results, "feature-1") and "已保存" in row(results, "feature-1")
    bad = row(results, "feature-2")
    assert "Broken ring" in bad and "拒收" in bad and "环 0 没有闭合" in bad
    assert f"<strong>{GEOMETRY_LABEL}</strong>" in bad
    assert "Hospital B" in row(results, "feature-3")
    stored = zones_in_db(app)
    assert [(z.name, z.kind, z.buffer_m) for z in stored] == [("Town A", "town", 200.0), ("Hospital B", "hospital",
                                                                                          500.0)]
    assert f'href="/admin/zones/{stored[0].id}"' in row(results, "feature-1")


@pytest.mark.parametrize("body, message", [
    (b'{"type": "Feature"}', "要素集合"),
    (b"not json at all", "不是有效的 JSON"),
    ("\u7981".encode("utf-16"), "不是 UTF-8"),
    (b"", "请选择"),
])
def test_an_import_that_is_not_a_feature_collection_writes_nothing(app, ops_world, rows, body, message):
    client = signed_in(app.test_client(), "admin")
    before = rows()
    resp = upload(client, body)
    page = page_text(resp)
    assert resp.status_code == 422 and message in page, page
    assert 'id="import-results"' not in page
    assert rows() == before and zone_count(app) == 0


def test_deactivate_and_reactivate_a_zone(app, ops_world):
    client = signed_in(app.test_client(), "admin")
    zone_id = create(client)
    page = f"/admin/zones/{zone_id}"
    resp = post_form(client, page, page, {"active": "0"}, follow=True)
    assert "禁射区 Xiaotang school 已停用" in page_text(resp) and "重新启用禁射区" in page_text(resp)
    assert zones_in_db(app)[0].active is False
    assert json.loads(last_event(app, "zone.update").payload)["active"] == [True, False]
    assert f'id="zone-{zone_id}"' not in page_text(client.get("/admin/zones"))  # the list shows the active ones
    listed = row(page_text(client.get("/admin/zones?show=all")), f"zone-{zone_id}")
    assert 'class="off"' in listed and "已停用" in listed
    resp = post_form(client, page, page, {"active": "1"}, follow=True)
    assert "已重新启用" in page_text(resp) and zones_in_db(app)[0].active is True
    assert zone_count(app) == 1  # deactivated, never deleted


def test_edit_a_zone_sends_only_what_changed_and_bad_geometry_writes_nothing(app, ops_world, rows):
    client = signed_in(app.test_client(), "admin")
    zone_id = create(client)
    page = f"/admin/zones/{zone_id}"
    resp = post_form(client, page, page, zone_form(buffer_m="350", geometry=SOUTH), follow=True)
    assert "禁射区 Xiaotang school 已保存。" in page_text(resp)
    payload = json.loads(last_event(app, "zone.update").payload)
    assert sorted(payload) == ["buffer_m", "geometry"] and payload["buffer_m"] == [200.0, 350.0]
    token = csrf_token(client, page)
    before = rows()
    resp = client.post(page, data={**zone_form(name="Renamed", geometry=BOW_TIE), "csrf_token": token})
    assert resp.status_code == 422 and "自相交" in page_text(resp)
    assert "Renamed" in page_text(resp)  # what was typed stays in the form
    assert rows() == before and zones_in_db(app)[0].name == "Xiaotang school"
    assert client.get("/admin/zones/9999").status_code == 404


def test_a_hostile_name_is_escaped_everywhere_it_is_shown(app, ops_world):
    client = signed_in(app.test_client(), "admin")
    hostile = "<script>alert(1)</script>"
    resp = post_form(client, "/admin/zones", "/admin/zones", zone_form(name=hostile, notes=hostile), follow=True)
    zone_id = zones_in_db(app)[0].id
    for page in (page_text(resp), page_text(client.get(f"/admin/zones/{zone_id}")),
                 page_text(client.get("/admin/points/LH01"))):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<script>alert(1)" not in page


def test_the_pages_in_chinese_and_english(app, ops_world):
    client = signed_in(app.test_client(), "admin")
    zone_id = create(client)
    zh = page_text(client.get("/admin/zones"))
    assert "<h2>禁射区</h2>" in zh and "新建禁射区" in zh and "导入 GeoJSON 文件" in zh
    assert re.search(r'<nav class="site".*?href="/admin/zones"[^>]*>禁射区</a>', zh, re.S)
    en = page_text(client.get("/admin/zones?lang=en"))
    assert "<h2>No-fire zones</h2>" in en and "New no-fire zone" in en and "Import a GeoJSON file" in en
    assert re.search(r'<nav class="site".*?href="/admin/zones"[^>]*>No-fire zones</a>', en, re.S)
    main = re.search(r"<main.*?</main>", en, re.S).group(0)
    assert not re.search(r"[\u4e00-\u9fff]", main), main  # (the bar's language switch names 中文 in Chinese)
    assert "Deactivate the zone" in page_text(client.get(f"/admin/zones/{zone_id}?lang=en"))
    assert "No-fire zones within the maximum range" in page_text(client.get("/admin/points/LH01?lang=en"))


def test_the_zones_pages_are_an_admins(app, ops_world):
    for who in ("commander", "auditor"):
        client = signed_in(app.test_client(), who)
        assert client.get("/admin/zones").status_code == 403
        assert 'href="/admin/zones"' not in page_text(client.get("/"))


def test_the_point_page_lists_a_conflict_at_once_and_not_after_deactivation(app, ops_world):
    client = signed_in(app.test_client(), "admin")
    page = page_text(client.get("/admin/points/LH01"))
    assert 'class="result ok" id="zone-conflicts"' in page and 'id="zones-in-range"' not in page
    # The printable safe-sector map is linked while the app serves it (never a link to a missing page).
    served = any(rule.rule == "/maps/points/<code>/safe-sector" for rule in app.url_map.iter_rules())
    assert ('<a href="/maps/points/LH01/safe-sector" class="safe-sector-map">' in page) is served
    assert client.get("/maps/points/LH01/safe-sector").status_code == (200 if served else 404)
    south = create(client, name="Town south", kind="town", geometry=SOUTH)
    north = create(client, name="School north", kind="school", geometry=NORTH)
    page = page_text(client.get("/admin/points/LH01"))
    assert 'class="result bad"' in page
    conflict = row(page, f"zone-{north}")
    assert 'class="conflict"' in conflict and f'href="/admin/zones/{north}"' in conflict and "⚠ 冲突" in conflict
    assert re.search(r"<td>\d+°</td>", conflict)  # its bearing
    clear = row(page, f"zone-{south}")
    assert 'class="conflict"' not in clear and "冲突" not in clear  # in range, outside the sector
    assert page.index(f'id="zone-{north}"') > 0 and page.index(f'id="zone-{south}"') > 0
    zone_page = page_text(client.get(f"/admin/zones/{north}"))
    assert 'id="conflict-LH01"' in zone_page
    # The sector turned away from north: the conflict goes at once (derived, never stored), and comes back.
    post_form(client, "/admin/points/LH01", "/admin/points/LH01", point_form(sector_start_deg="90",
                                                                          sector_end_deg="200"))
    page = page_text(client.get("/admin/points/LH01"))
    assert 'class="conflict"' in row(page, f"zone-{south}") and 'class="conflict"' not in row(page, f"zone-{north}")
    post_form(client, "/admin/points/LH01", "/admin/points/LH01", point_form())
    assert 'class="conflict"' in row(page_text(client.get("/admin/points/LH01")), f"zone-{north}")
    post_form(client, f"/admin/zones/{north}", f"/admin/zones/{north}", {"active": "0"})
    page = page_text(client.get("/admin/points/LH01"))
    assert f'id="zone-{north}"' not in page and 'class="result ok" id="zone-conflicts"' in page
    assert 'id="conflict-LH01"' not in page_text(client.get(f"/admin/zones/{north}"))
