"""The regions map (maps/regions.py): a circle per region at its centre, sized by its points (by area) and
coloured by the most urgent state colour among them, its name and counts escaped, a link into its points;
built from the summary's plain data, the map's state checked here."""

import folium

from maps import build_region_map
from maps.common import COLOUR_HEX
from maps.regions import MAX_RADIUS, MIN_RADIUS, region_colour
from maps.safe import Popup, Tooltip

from .test_maps import of_type


def region(name, points, colours, centre, **extra):
    return {"region": name, "province": "河南省", "city": None, "points": points,
            "flagged": colours.get("purple", 0),
            "alerts": {"total": 1, "critical": 1}, "colours": colours, "centre": centre,
            "bbox": [centre[0] - 0.1, centre[1] - 0.1, centre[0] + 0.1, centre[1] + 0.1], **extra}


def test_the_most_urgent_colour_wins():
    assert region_colour({"grey": 9, "green": 1}) == "green"
    assert region_colour({"grey": 9, "red": 1, "purple": 1}) == "purple"
    assert region_colour({"grey": 0}) == "grey" and region_colour({}) == "grey"


def test_one_circle_per_region_sized_and_coloured():
    m = build_region_map([region("源汇区", 100, {"grey": 99, "red": 1}, [114.0, 33.5], url="/?county=x"),
                          region("郾城区", 25, {"grey": 25}, [114.1, 33.6]),
                          {"region": None, "points": 0, "centre": None}], lang="zh")
    circles = of_type(m, folium.CircleMarker)
    assert len(circles) == 2
    big, small = sorted(circles, key=lambda c: -c.options["radius"])
    assert big.options["radius"] == MAX_RADIUS and MIN_RADIUS < small.options["radius"] < MAX_RADIUS
    assert small.options["radius"] - MIN_RADIUS == (MAX_RADIUS - MIN_RADIUS) / 2  # a quarter of the points
    assert big.options["fillColor"] == COLOUR_HEX["red"] and small.options["fillColor"] == COLOUR_HEX["grey"]
    assert big.location == [33.5, 114.0]


def test_names_are_escaped_and_the_link_opens_the_region():
    m = build_region_map([region('<img src=x onerror=alert(1)>', 3, {"grey": 3}, [114.0, 33.5],
                                 url='/?county=%3Cx%3E&a="b"')], lang="en")
    popup = of_type(m, Popup)[0].html.render()
    tooltip = of_type(m, Tooltip)[0].text
    for text in (popup, tooltip):
        assert "<img" not in text and "&lt;img" in text
    assert 'href="/?county=%3Cx%3E&amp;a=&quot;b&quot;" target="_top"' in popup
    html = m.get_root().render()
    assert "<img src=x" not in html
