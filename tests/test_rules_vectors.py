"""The shared rule vectors (rules/vectors/*.json), run by the Python rules and, through `node --test`, by rules.js.

The crew page and the dashboard check the sector, the geofence and the minimum crew in the browser with
opsserver/web/static/rules.js; these vectors are what keeps those checks and the server's the same rule.
"""

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import rules

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "rules" / "vectors"
NODE_TEST = ROOT / "tests" / "js" / "rules.test.js"


def vectors(name: str) -> dict:
    return json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))


def cases(name: str, key: str):
    return pytest.mark.parametrize("case", vectors(name)[key], ids=lambda c: c["case"])


@cases("sector", "width")
def test_sector_width(case):
    assert rules.sector_width(case["start"], case["end"]) == case["width"]


@cases("sector", "in_sector")
def test_in_sector(case):
    assert rules.in_sector(case["azimuth"], case["start"], case["end"]) is case["inside"]


@cases("geofence", "distance")
def test_distance(case):
    tolerance = vectors("geofence")["tolerance_m"]
    assert rules.distance_m(*case["from"], *case["to"]) == pytest.approx(case["metres"], abs=tolerance)


@cases("geofence", "within")
def test_within_geofence(case):
    assert rules.within_geofence(case["distance"], case["radius"]) is case["inside"]


@cases("geofence", "checkin")
def test_checkin_position(case):
    distance = rules.distance_m(*case["at"], *case["point"])
    assert rules.within_geofence(distance, case["radius"]) is case["inside"]
    flagged = any(f.code == "outside_geofence" for f in rules.checkin_flags(
        kind="arrive", distance=distance, geofence_m=case["radius"], on_shift=True, clock_offset_s=0))
    assert flagged is not case["inside"]


@cases("staffing", "understaffed")
def test_understaffed(case):
    assert rules.understaffed(case["certified_on_site"], case["min_crew"]) is case["understaffed"]
    flag = rules.staffing_flag(case["certified_on_site"], case["min_crew"])
    assert (flag is not None and flag.code == "understaffed") is case["understaffed"]


@cases("plausibility", "implausible_time")
def test_implausible_time(case):
    received = datetime(2026, 7, 18, 13, 5, tzinfo=UTC)
    flag = rules.implausible_time_flag(received + timedelta(seconds=case["start_s"]),
                                       received + timedelta(seconds=case["end_s"]), received, "Asia/Shanghai")
    parts = [p["text"] for p in flag.params["parts"]] if flag else []
    assert parts == case["parts"]
    assert flag is None or (flag.code == rules.IMPLAUSIBLE_TIME and flag.reason)
    assert rules.times_drive_state([flag.as_dict()] if flag else []) is (flag is None)


def test_the_vectors_cover_the_edges():
    """Across north, the full circle, zero width, both edges and the geofence boundary are all there."""
    names = {c["case"] for c in vectors("sector")["width"] + vectors("sector")["in_sector"]}
    for needed in ("across north", "full circle 0 to 360", "zero width", "across north, start edge",
                   "across north, end edge", "zero width, on the line"):
        assert needed in names
    assert any(c["distance"] == c["radius"] and c["inside"] for c in vectors("geofence")["within"])


def test_the_page_runs_the_same_vectors():
    """`node --test` (Node's own runner) runs tests/js/rules.test.js on rules.js; the suite fails when it does."""
    node = shutil.which("node") or "/usr/bin/node"
    # TAP named: newer Node versions default to another reporter even when not writing to a terminal.
    out = subprocess.run([node, "--test", "--test-reporter=tap", str(NODE_TEST)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    # Every vector ran: the runner reports each case as a passing test and none failing.
    total = sum(len(vectors(n)[k]) for n, k in (("sector", "width"), ("sector", "in_sector"),
                                              ("geofence", "distance"), ("geofence", "within"),
                                              ("geofence", "checkin"), ("staffing", "understaffed")))
    assert f"# pass {total}" in out.stdout and "# fail 0" in out.stdout, out.stdout
