"""The printable safe-sector map page (安全射界图) of a point: `GET /maps/points/{code}/safe-sector`.

On the small world (LH01 at 33.58 N 114.02 E, sector 300° → 40° across north, 7 km): a school 2 km due north
(in the sector: a conflict) and a town 3 km due south (outside the sector, its buffer far from it), made
through the API. The page answers in Chinese and in English with no word of the other language (the
checks of tests/test_language.py), lists both zones with bearing and distance measured by the rules, names
the conflict, prints on A4 with the one time format, draws the zones on its map, and is a 404 page for a
point that does not exist.
"""

import html
import re

import pytest
from geographiclib.geodesic import Geodesic

from .helpers.pages import sign_in
from .test_language import _page_problems

SCHOOL = {"name": "Xiaoli Primary School", "kind": "school", "buffer_m": 200,
          "geometry": {"type": "Point", "coordinates": [114.02, 33.598]}}
TOWN = {"name": "Nanzhuang", "kind": "town", "buffer_m": 300, "geometry": {"type": "Polygon", "coordinates": [[
    [114.015, 33.552], [114.025, 33.552], [114.025, 33.553], [114.015, 33.553], [114.015, 33.552]]]}}
HOSTILE = "<script>alert(1)</script>"
URL = "/maps/points/LH01/safe-sector"
TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d \+08:00")


@pytest.fixture
def zoned(world, client):
    """The world with the school and the town, and a commander signed in to the pages."""
    for body in (SCHOOL, TOWN):
        resp = client.post("/api/v1/zones", json=body, headers=world.headers("admin"))
        assert resp.status_code == 201, resp.json
    assert sign_in(client).status_code == 302
    return world


def _page(client, lang: str) -> str:
    resp = client.get(f"{URL}?lang={lang}")
    assert resp.status_code == 200, resp.status_code
    assert resp.mimetype == "text/html"
    return resp.get_data(as_text=True)


def _rows(page: str) -> dict[str, list[str]]:
    table = re.search(r'<table id="zones">(.*?)</table>', page, re.S).group(1)
    rows = {}
    for row in re.findall(r"<tr id=\"zone-\d+\"[^>]*>(.*?)</tr>", table, re.S):
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        rows[cells[0]] = cells
    return rows


def _typed() -> list[str]:
    # What people typed (the world's point and its county, the zones' names) is data, not the page's language.
    return [SCHOOL["name"], TOWN["name"], "Test point LH01", "Yancheng"]


def test_the_page_lists_the_zones_with_bearing_and_distance_and_the_conflict_in_chinese(zoned, client):
    page = _page(client, "zh")
    assert "安全射界图：LH01 Test point LH01" in page
    north = Geodesic.WGS84.Inverse(33.58, 114.02, 33.598, 114.02)
    rows = _rows(page)
    school = rows[SCHOOL["name"]]
    # name, kind, bearing, distance, buffer, in the sector, conflict, blocked azimuths
    assert school[1] == "学校"
    assert abs(float(school[2]) - north["azi1"] % 360) < 0.1 or abs(float(school[2]) - 360) < 0.1
    assert abs(float(school[3].replace(",", "")) - north["s12"]) <= 1
    assert school[4:7] == ["200", "是", "是"]
    assert re.fullmatch(r"\d+(\.\d+)?°–\d+(\.\d+)?°", school[7]), school[7]
    town = rows[TOWN["name"]]
    assert town[1] == "城镇" and town[5:7] == ["否", "否"]
    assert abs(float(town[2]) - 180) < 1
    # the conflicts: the school only, with its bearing and distance
    conflicts = re.search(r'<ol id="conflicts">(.*?)</ol>', page, re.S).group(1)
    assert conflicts.count("<li") == 1 and SCHOOL["name"] in conflicts and TOWN["name"] not in conflicts
    assert f"距离 {school[3]} m" in conflicts and "缓冲范围" in conflicts
    # A4, the one time format, the map with both zones
    assert re.search(r"@page\s*\{\s*size:\s*A4", page)
    printed = re.search(r'<span id="printed-at">(.*?)</span>', page, re.S).group(1)
    assert printed.startswith("打印时间") and TIME.search(printed)
    frame = html.unescape(re.search(r'srcdoc="([^"]*)"', page).group(1))
    assert SCHOOL["name"] in frame and TOWN["name"] in frame and "opsZones" in frame
    problems, _links = _page_problems(page, "zh", _typed())
    assert not problems, problems


def test_the_page_in_english(zoned, client):
    page = _page(client, "en")
    assert "Safe-sector map: LH01" in page
    rows = _rows(page)
    assert rows[SCHOOL["name"]][1] == "school" and rows[SCHOOL["name"]][5:7] == ["yes", "yes"]
    assert rows[TOWN["name"]][1] == "town" and rows[TOWN["name"]][5:7] == ["no", "no"]
    assert "the safe sector comes within its 200 m buffer" in page
    assert TIME.search(re.search(r'<span id="printed-at">(.*?)</span>', page, re.S).group(1))
    problems, _links = _page_problems(page, "en", _typed())
    assert not problems, problems
    # the language chosen stays in the session, as on every page
    assert "Safe-sector map: LH01" in client.get(URL).get_data(as_text=True)


def test_a_point_with_no_zone_in_range_says_so(world, client):
    assert sign_in(client).status_code == 302
    page = _page(client, "zh")
    assert 'id="no-zones"' in page and 'id="no-conflicts"' in page and 'id="zones"' not in page


def test_a_point_inside_a_zone_has_no_bearing_and_every_azimuth_blocked(world, client):
    village = {"name": "Hedong", "kind": "village", "geometry": {"type": "Polygon", "coordinates": [[
        [114.01, 33.57], [114.03, 33.57], [114.03, 33.59], [114.01, 33.59], [114.01, 33.57]]]}}
    resp = client.post("/api/v1/zones", json=village, headers=world.headers("admin"))
    assert resp.status_code == 201, resp.json
    assert sign_in(client).status_code == 302
    page = _page(client, "zh")
    row = _rows(page)["Hedong"]
    assert row[1:4] == ["村庄", "位于区内", "0"] and row[5:] == ["是", "是", "全部方位"]
    conflicts = re.search(r'<ol id="conflicts">(.*?)</ol>', page, re.S).group(1)
    assert "作业点位于其中" in conflicts and "Hedong" in conflicts


def test_a_hostile_zone_name_is_text(world, client):
    resp = client.post("/api/v1/zones", json=dict(SCHOOL, name=HOSTILE), headers=world.headers("admin"))
    assert resp.status_code == 201, resp.json
    assert sign_in(client).status_code == 302
    page = _page(client, "en")
    assert HOSTILE not in page and HOSTILE not in html.unescape(re.search(r'srcdoc="([^"]*)"', page).group(1))
    assert html.escape(HOSTILE, quote=False) in page  # in the table and the conflicts, as text


def test_an_unknown_point_is_a_404_page(world, client):
    assert sign_in(client).status_code == 302
    resp = client.get("/maps/points/NOPE/safe-sector")
    assert resp.status_code == 404 and resp.mimetype == "text/html"


def test_signed_out_goes_to_the_login(world, client):
    resp = client.get(URL)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_the_round_page_links_each_point_to_its_safe_sector_map(ops_world, client):
    assert sign_in(client).status_code == 302
    page = client.get(f"/rounds/{ops_world.round_id}").get_data(as_text=True)
    for code in ("LH01", "LH02"):
        assert f'href="/maps/points/{code}/safe-sector"' in page, code
    assert client.get("/maps/points/LH02/safe-sector").status_code == 200
