"""Audit exports: streamed CSV, JSON lines and GeoJSON with a manifest, and their offline verification."""

import csv
import hashlib
import io
import json

import pytest

from opsserver.audit import checkpoints, signing
from opsserver.audit.exports import verify_jsonl


def export(world, fmt="jsonl", who="auditor", **filters):
    query = "&".join(f"{k}={v}" for k, v in {"format": fmt, **filters}.items())
    return world.client.get(f"/api/v1/audit/export?{query}", headers=world.headers(who))


def public_key(app):
    with app.app_context():
        return signing.load_public_key(checkpoints.public_key_pem())


def all_events(world) -> list[dict]:
    items, cursor = [], None
    while True:
        page = world.client.get("/api/v1/audit/events?limit=500" + (f"&cursor={cursor}" if cursor else ""),
                                headers=world.headers("auditor")).json
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


@pytest.mark.parametrize("who,status", [("auditor", 200), ("admin", 200), ("commander", 403), ("crew1", 403)])
def test_export_is_for_auditors(world, who, status):
    """Only auditors and admins export the log."""
    assert export(world, who=who).status_code == status


def test_jsonl_export_carries_every_event_and_verifies(app, world):
    """One line per event with its seq and hash, in chain order; the file checks out offline."""
    resp = export(world)
    lines = resp.get_data(as_text=True).splitlines(keepends=True)
    events = all_events(world)
    assert [json.loads(line)["seq"] for line in lines] == [e["seq"] for e in events]
    assert [json.loads(line)["hash"] for line in lines] == [e["hash"] for e in events]
    manifest = world.client.get("/api/v1/audit/export/manifest?format=jsonl", headers=world.headers("auditor")).json
    assert manifest["sha256"] == hashlib.sha256(resp.get_data()).hexdigest()
    assert (manifest["count"], manifest["first_seq"], manifest["last_seq"]) == (len(events), 1, len(events))
    assert manifest["chain_head_hash"] == events[-1]["hash"]
    result = verify_jsonl(lines, manifest, public_key(app))
    assert result["ok"] and result["complete"]


def test_one_changed_byte_is_found_on_its_line(app, world):
    """Changing one character of one line fails the check and names that line."""
    resp = export(world)
    manifest = world.client.get(f"/api/v1/audit/export/manifest?upto_seq={resp.headers['Audit-Upto-Seq']}",
                                headers=world.headers("auditor")).json
    lines = resp.get_data(as_text=True).splitlines(keepends=True)
    lines[6] = lines[6].replace('"actor":"test"', '"actor":"tesT"', 1)
    result = verify_jsonl(lines, manifest, public_key(app))
    assert result == {"ok": False, "line": 7, "seq": 7, "reason": "hash does not match the event"}


def test_a_deleted_line_is_caught(app, world):
    """Without the manifest the file is refused (issue 14: a gap alone proves nothing); with it the check fails."""
    resp = export(world)
    manifest = world.client.get("/api/v1/audit/export/manifest", headers=world.headers("auditor")).json
    lines = resp.get_data(as_text=True).splitlines(keepends=True)
    del lines[4]
    alone = verify_jsonl(lines)
    assert not alone["ok"] and "manifest" in alone["reason"]
    with_manifest = verify_jsonl(lines, manifest, public_key(app))
    assert not with_manifest["ok"] and "missing" in with_manifest["reason"]
    assert with_manifest["missing_in_range"] == 1 and with_manifest["first_gap_line"] == 5
    last_dropped = export(world).get_data(as_text=True).splitlines(keepends=True)[:-1]
    assert not verify_jsonl(last_dropped, manifest, public_key(app))["ok"]


def test_csv_and_geojson_exports(world):
    """CSV has one row per event with its hash; GeoJSON one feature per event, placed where known."""
    events = all_events(world)
    rows = list(csv.DictReader(io.StringIO(export(world, "csv").get_data(as_text=True))))
    assert [int(r["seq"]) for r in rows] == [e["seq"] for e in events]
    assert rows[0]["hash"] == events[0]["hash"] and json.loads(rows[0]["payload"]) == events[0]["payload"]
    collection = json.loads(export(world, "geojson").get_data(as_text=True))
    assert len(collection["features"]) == len(events)
    point_feature = next(f for f in collection["features"] if f["properties"]["action"] == "point.create")
    assert point_feature["geometry"]["coordinates"] == [114.02, 33.58]


def test_filters_by_point_round_and_time(ops_world):
    """A point's export holds only events naming it; a round's only its own; `since` cuts by time."""
    ops_world.activate()
    ops_world.arrive("ann")
    lh02 = [json.loads(x) for x in export(ops_world, point_code="LH02").get_data(as_text=True).splitlines()]
    assert lh02 and all("LH02" in json.dumps(e) for e in lh02)
    by_round = [json.loads(x) for x in export(ops_world, round_id=ops_world.round_id).get_data(as_text=True)
                .splitlines()]
    assert [e["action"] for e in by_round] == ["round.create", "round.activate"]
    events = all_events(ops_world)
    cut = events[-2]["at"]
    later = [json.loads(x) for x in export(ops_world, since=cut.replace("+", "%2B")).get_data(as_text=True)
             .splitlines()]
    assert [e["seq"] for e in later] == [e["seq"] for e in events if e["at"] >= cut]


def test_cli_export_and_offline_verify(world, runner, tmp_path):
    """The command line writes the export and its manifest; verify-export passes it and fails a tampered copy."""
    out = tmp_path / "log.jsonl"
    result = runner.invoke(args=["ops", "export-audit", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "log.jsonl.manifest.json").exists()
    key = tmp_path / "audit.pub.pem"
    assert runner.invoke(args=["ops", "audit-public-key", "--out", str(key)]).exit_code == 0
    ok = runner.invoke(args=["ops", "verify-export", str(out), "--public-key", str(key)])
    assert ok.exit_code == 0 and "complete" in ok.output
    text = out.read_text(encoding="utf-8").replace('"action":"crew.create"', '"action":"crew.creat3"', 1)
    out.write_text(text, encoding="utf-8")
    bad = runner.invoke(args=["ops", "verify-export", str(out), "--public-key", str(key)])
    assert bad.exit_code == 1 and "line" in bad.output


@pytest.mark.parametrize("pattern", ["%25%25", "LH0_", "%25LH01%25", "LH%25"])
def test_point_filter_matches_the_code_exactly(ops_world, pattern):
    """LIKE wildcards in point_code match nothing: only a point's exact code selects its events."""
    ops_world.arrive("ann")
    assert export(ops_world, point_code=pattern).get_data(as_text=True) == ""
    exact = [json.loads(x) for x in export(ops_world, point_code="LH01").get_data(as_text=True).splitlines()]
    assert exact and all(e["payload"].get("point_code") == "LH01" or e["entity_id"] == "LH01" for e in exact)
