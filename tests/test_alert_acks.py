"""Alerts a commander works through (`POST /api/v1/alerts/{id}/ack`, the filters and counts of
`GET /api/v1/alerts`): an acknowledged alert leaves the active list, stays in the record (audited, with
its note) and comes back when its condition worsens or returns."""

import json
import re

from .test_alerts import alerts, of, only
from .test_orders import audit_actions


def ack(w, alert_id: str, note: str | None = "crew called, on their way", who: str = "commander"):
    return w.post(who, f"/api/v1/alerts/{alert_id}/ack", {} if note is None else {"note": note})


def listing(w, query: str = "", who: str = "commander") -> dict:
    resp = w.get(who, f"/api/v1/alerts{query}")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.json


def understaffed_lh01(w) -> dict:
    w.activate()
    w.arrive("ann")
    w.arrive("bo")  # 2 of 3 certified: one short
    return only(of(alerts(w), "understaffed", "LH01"))


def test_an_acknowledged_alert_leaves_the_active_list_and_stays_in_the_record(ops_world):
    w = ops_world
    alert = understaffed_lh01(w)
    resp = ack(w, alert["id"], "<script>alert(1)</script> third crew member 20 min out")
    assert resp.status_code == 200, resp.json
    assert resp.json["acknowledged"] is True
    assert resp.json["acknowledgement"]["acknowledged_by"] == "commander"
    assert of(alerts(w), "understaffed", "LH01") == []
    kept = only(of(listing(w, "?include_acknowledged=true")["items"], "understaffed", "LH01"))
    assert kept["acknowledged"] is True
    assert kept["acknowledgement"]["note"] == "<script>alert(1)</script> third crew member 20 min out"
    event = only(audit_actions(w, "alert.ack"))
    assert event["entity_id"] == alert["id"]
    assert event["payload"]["note"].startswith("<script>")
    # The other point's alert is untouched.
    assert len(of(alerts(w), "understaffed", "LH02")) == 1


def test_an_acknowledged_alert_comes_back_when_its_condition_worsens(ops_world):
    w = ops_world
    alert = understaffed_lh01(w)
    assert ack(w, alert["id"]).status_code == 200
    assert of(alerts(w), "understaffed", "LH01") == []
    w.arrive("bo", kind="depart")  # now two short
    back = only(of(alerts(w), "understaffed", "LH01"))
    assert back["id"] == alert["id"]  # the same stable id
    assert back["measure"] > alert["measure"]


def test_an_alert_that_gets_better_stays_acknowledged(ops_world):
    w = ops_world
    w.activate()
    alert = only(of(alerts(w), "understaffed", "LH01"))  # nobody there: three short
    assert ack(w, alert["id"]).status_code == 200
    w.arrive("ann")  # two short: better, not worse
    assert of(alerts(w), "understaffed", "LH01") == []


def test_acknowledging_is_for_a_commander_and_an_active_alert(ops_world):
    w = ops_world
    alert = understaffed_lh01(w)
    for who in ("crew1", "auditor", "admin"):
        assert ack(w, alert["id"], who=who).status_code == 403
    resp = ack(w, "understaffed:round_point:999:LH09")
    assert resp.status_code == 404 and resp.content_type == "application/problem+json"
    resp = ack(w, alert["id"], "x" * 2001)
    assert resp.status_code == 422 and "note" in json.dumps(resp.json)
    assert audit_actions(w, "alert.ack") == []
    assert ack(w, alert["id"], None).status_code == 200  # a note is optional


def test_filters_and_counts(ops_world):
    w = ops_world
    w.activate()
    everything = listing(w)
    assert everything["total"] == len(everything["items"])
    by_kind: dict[str, int] = {}
    for a in everything["items"]:
        by_kind[a["type"]] = by_kind.get(a["type"], 0) + 1
    assert everything["counts"]["by_kind"] == by_kind
    lh02 = listing(w, "?point_code=LH02")
    assert lh02["items"] and {a["point_code"] for a in lh02["items"]} == {"LH02"}
    understaffed = listing(w, "?kind=understaffed")
    assert {a["type"] for a in understaffed["items"]} == {"understaffed"}
    assert understaffed["counts"]["by_kind"] == {"understaffed": by_kind["understaffed"]}
    warnings = listing(w, "?severity=warning")
    assert {a["severity"] for a in warnings["items"]} <= {"warning"}
    assert listing(w, "?county=Nowhere")["items"] == []
    bad = w.get("commander", "/api/v1/alerts?kind=meteor&severity=dire")
    assert bad.status_code == 422
    assert {"kind", "severity"} <= set(json.dumps(bad.json).replace('"', " ").split())


def test_the_rule_an_acknowledgement_holds_by():
    from datetime import datetime, timezone

    from rules import alert_returns
    t0 = datetime(2026, 7, 18, 12, 0, tzinfo=timezone.utc)
    t1 = datetime(2026, 7, 18, 13, 0, tzinfo=timezone.utc)
    assert not alert_returns("warning", 1, t0, "warning", 1, t0)
    assert not alert_returns("warning", 2, t0, "warning", 1, t0)  # better
    assert alert_returns("warning", 1, t0, "critical", 1, t0)  # more severe
    assert not alert_returns("critical", 1, t0, "warning", 1, t0)
    assert alert_returns("warning", 1, t0, "warning", 2, t0)  # worse
    assert alert_returns("warning", None, t0, "warning", None, t1)  # started again
    assert not alert_returns("warning", None, t1, "warning", None, t0)


def test_a_commander_acknowledges_from_the_alerts_page(ops_world):
    """The page's form (CSRF-checked, the API's schema and service): the alert leaves the page's active list
    and shows, with its note escaped, among the acknowledged ones."""
    from .helpers.pages import csrf_token, sign_in
    w = ops_world
    alert = understaffed_lh01(w)
    client = w.client
    assert sign_in(client).status_code in (302, 303)
    page = client.get("/alerts?kind=understaffed").get_data(as_text=True)
    assert f'data-alert="{alert["id"]}"' in page
    token = csrf_token(client, "/alerts?kind=understaffed")
    refused = client.post(f"/alerts/{alert['id']}/ack?kind=understaffed", data={"note": "no token"})
    assert refused.status_code in (302, 303) and audit_actions(w, "alert.ack") == []
    resp = client.post(f"/alerts/{alert['id']}/ack?kind=understaffed",
                       data={"note": "<b>on it</b>", "csrf_token": token})
    assert resp.status_code in (302, 303) and "kind=understaffed" in resp.headers["Location"]
    page = client.get("/alerts?kind=understaffed").get_data(as_text=True)
    assert f'data-alert="{alert["id"]}"' not in page
    page = client.get("/alerts?kind=understaffed&include_acknowledged=true").get_data(as_text=True)
    assert f'data-alert="{alert["id"]}"' in page
    assert "&lt;b&gt;on it&lt;/b&gt;" in page and "<b>on it</b>" not in page
    assert only(audit_actions(w, "alert.ack"))["payload"]["note"] == "<b>on it</b>"


def test_the_alerts_page_shows_the_first_rows_and_says_how_many_there_are(ops_world, monkeypatch):
    from opsserver.web import routes

    from .helpers.pages import sign_in
    w = ops_world
    w.activate()  # LH01 and LH02 understaffed, at least
    total = listing(w)["total"]
    assert total >= 2
    monkeypatch.setattr(routes, "ALERTS_SHOWN", 1)
    sign_in(w.client)
    page = w.client.get("/alerts?lang=en").get_data(as_text=True)
    assert page.count("<tr class=\"sev-") == 1
    assert f'<span class="count">{total}</span>' in page and f"The first 1 of {total}" in page


def test_acknowledgements_are_found_among_thousands_of_alerts(app, ops_world):
    """Past 500 ids the newest acknowledgements are read whole and picked (no list of ids that long)."""
    from opsserver.alerts.services import latest_acks
    alert = understaffed_lh01(ops_world)
    assert ack(ops_world, alert["id"], "first").status_code == 200
    ops_world.arrive("bo", kind="depart")  # worse: back, and acknowledged again
    assert ack(ops_world, alert["id"], "second").status_code == 200
    others = [f"understaffed:round_point:{n}:X" for n in range(600)]
    with app.app_context():
        for ids in ([alert["id"]], [alert["id"], *others]):
            found = latest_acks(ids)
            assert set(found) == {alert["id"]} and found[alert["id"]].note == "second"


def test_an_alert_worse_than_the_commander_saw_is_not_acknowledged_unseen(ops_world):
    w = ops_world
    alert = understaffed_lh01(w)  # one short
    w.arrive("bo", kind="depart")  # two short now, while the commander reads the old one
    resp = w.post("commander", f"/api/v1/alerts/{alert['id']}/ack",
                  {"note": "ok", "seen_severity": alert["severity"], "seen_measure": alert["measure"]})
    assert resp.status_code == 409 and resp.json["alert"]["measure"] > alert["measure"], resp.json
    assert audit_actions(w, "alert.ack") == []
    now = resp.json["alert"]
    resp = w.post("commander", f"/api/v1/alerts/{alert['id']}/ack",
                  {"note": "ok", "seen_severity": now["severity"], "seen_measure": now["measure"]})
    assert resp.status_code == 200, resp.json


def test_the_page_refuses_to_acknowledge_a_worsening_unseen(ops_world):
    from .helpers.pages import csrf_token, sign_in
    w = ops_world
    alert = understaffed_lh01(w)
    sign_in(w.client)
    token = csrf_token(w.client, "/alerts?kind=understaffed")
    w.arrive("bo", kind="depart")  # worse after the page was read
    resp = w.client.post(f"/alerts/{alert['id']}/ack?lang=en", data={
        "note": "ok", "csrf_token": token, "seen_severity": alert["severity"], "seen_measure": str(alert["measure"])})
    assert resp.status_code in (302, 303)
    assert audit_actions(w, "alert.ack") == []
    page = w.client.get("/alerts?kind=understaffed&lang=en").get_data(as_text=True)
    assert "worse now than when you read it" in page, re.findall(r"<p class=\"flash[^<]*</p>", page)
