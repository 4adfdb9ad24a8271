"""The dashboard at province and national scale (web/overview.py): above OPS_DASHBOARD_REGIONS_ABOVE points
it opens on regions with their counts (the summary's), drills into a region's points, finds a point by
code or name, filters by state and flag and pages through the rest; its polling takes the same query."""

import re

import pytest

from .helpers.pages import sign_in
from .test_summary import HEBEI, HENAN, national


@pytest.fixture
def w(app, ops_world):
    app.config.update(OPS_DASHBOARD_REGIONS_ABOVE=3, OPS_DASHBOARD_PAGE_SIZE=2)
    national(ops_world)
    sign_in(ops_world.client)
    return ops_world


def page(w, url: str, status: int = 200) -> str:
    resp = w.client.get(url)
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    return resp.get_data(as_text=True)


def rows(html: str, table: str) -> list[str]:
    body = re.search(rf'<table id="{table}"[^>]*>.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return re.findall(r'<tr data-(?:region|code)="([^"]*)"', body)


def region_counts(html: str) -> dict[str, int]:
    body = re.search(r'<table id="regions"[^>]*>.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    out = {}
    for name, n in re.findall(r'<tr data-region="([^"]*)">.*?<td class="n">(\d+)</td>', body, re.S):
        out[name] = int(n)
    return out


def test_above_the_threshold_it_opens_on_provinces_with_the_summarys_counts(w):
    html = page(w, "/")
    assert 'id="points"' not in html and "/maps/regions?by=province" in html
    summary = w.get("commander", "/api/v1/status/summary?by=province").json
    assert region_counts(html) == {(r["region"] or ""): r["points"] for r in summary["regions"]}
    assert region_counts(html)[HENAN] == 2 and region_counts(html)[HEBEI] == 1


def test_a_province_drills_into_its_cities_then_a_citys_points(w):
    html = page(w, "/")
    link = re.search(rf'<a href="([^"]+)">{HENAN}</a>', html).group(1).replace("&amp;", "&")
    assert "province=" in link
    points = page(w, link)  # two points, under the threshold: their list
    assert sorted(rows(points, "points")) == ["LH01", "LH02"]
    assert f">{HENAN}</a>" in points  # the crumbs back up
    cities = page(w, link + "&view=regions")  # a level down from a province: its cities
    assert set(region_counts(cities)) == {"漯河市", "郑州市"}
    city = re.search(r'<a href="([^"]+)">郑州市</a>', cities).group(1).replace("&amp;", "&")
    assert rows(page(w, city), "points") == ["LH02"]


def test_search_by_code_or_name_and_the_filters(w):
    assert rows(page(w, "/?q=lh03"), "points") == ["LH03"]
    name = w.get("commander", "/api/v1/points/LH02").json["name"]
    assert rows(page(w, f"/?q={name}"), "points") == ["LH02"]
    assert rows(page(w, "/?state=ordered&view=points"), "points") == ["LH02"]
    flagged = rows(page(w, "/?flag=any"), "points")
    assert "LH01" in flagged and "LH03" not in flagged
    assert rows(page(w, "/?flag=flagged_report"), "points") == ["LH01"]
    hostile = page(w, "/?q=%3Cscript%3Ealert(1)%3C/script%3E")
    assert "<script>alert(1)</script>" not in hostile and "&lt;script&gt;" in hostile
    assert rows(hostile, "points") == []
    page(w, "/?state=exploded", 400)
    page(w, "/?page=0", 400)


def test_the_points_page_through_the_rest(w):
    first = page(w, "/?view=points")
    assert rows(first, "points") == ["LH01", "LH02"] and 'rel="next"' in first
    second = page(w, "/?view=points&page=2")
    assert rows(second, "points") == ["LH03", "LH04"] and 'rel="prev"' in second
    assert rows(page(w, "/?view=points&page=99"), "points") == ["LH03", "LH04"]  # the last page


def test_the_polling_takes_the_same_query(w):
    live = page(w, "/dashboard/live?view=regions&by=province")
    assert 'id="regions-rows"' in live and f'data-region="{HENAN}"' in live
    live = page(w, "/dashboard/live?view=points&province=" + HENAN)
    assert re.findall(r'<tr data-code="([^"]+)"', live) == ["LH01", "LH02"]


def test_the_regions_map_and_the_region_status_map(w):
    html = page(w, "/maps/regions?by=province")
    assert HENAN in html and HEBEI in html
    status = page(w, f"/maps/status?province={HENAN}")
    assert "LH01" in status and "LH03" not in status


def test_alerts_of_a_region_only(w):
    html = page(w, f"/?province={HEBEI}&view=points")
    alerts = re.search(r'<ul id="alerts">(.*?)</ul>\s*</section>', html, re.S).group(1)
    assert "LH01" not in alerts and "LH02" not in alerts
