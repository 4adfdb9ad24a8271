"""The pages show the rules' verdicts, not their own: the dashboard marks a point short of crew from the feed's
`below_min_crew` (rules.understaffed), the crew page loads rules.js before its own script."""

import re

from .helpers.pages import sign_in


def crew_cells(page: str) -> dict[str, str]:
    """Each point's crew cell class on the dashboard, by point code."""
    return dict(re.findall(r'<tr data-code="(\w+)"[^>]*>.*?<td class="(crew[^"]*)"', page, re.S))


def test_dashboard_marks_the_point_below_its_minimum_crew(ops_world):
    ops_world.activate()
    for key in ("ann", "bo", "cai"):  # LH01's minimum is 3; nobody is at LH02
        ops_world.arrive(key)
    sign_in(ops_world.client)
    feed = ops_world.client.get("/maps/status.geojson").get_json()
    verdicts = {f["id"]: f["properties"]["below_min_crew"] for f in feed["features"]}
    assert verdicts == {"LH01": False, "LH02": True}
    cells = crew_cells(ops_world.client.get("/?lang=en").get_data(as_text=True))
    assert cells["LH01"].split() == ["crew"] and cells["LH02"].split() == ["crew", "short"]


def test_crew_page_loads_the_shared_rules_before_its_script(world):
    page = world.client.get("/crew").get_data(as_text=True)
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', page)
    names = [s.split("?")[0].rsplit("/", 1)[-1] for s in scripts]  # without the asset's ?v= version
    crew = [n for n in names if n.startswith("crew")]  # crew-format.js … crew.js, each using what came before
    assert crew[-1] == "crew.js" and len(crew) > 1
    assert names.index("geographiclib-geodesic.min.js") < names.index("rules.js") < min(map(names.index, crew))
    assert world.client.get(next(s for s in scripts if s.split("?")[0].endswith("/rules.js"))).status_code == 200
