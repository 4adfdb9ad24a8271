"""The command centre as one site: the navigation bar per role, the rounds and alerts pages, the round report
and activity log with the page session, HTML error pages for pages (problem+json for the API), crew → /crew."""

import base64
import json
import re
from datetime import datetime, timezone

import pytest
from flask import url_for

from .helpers.pages import csrf_token, sign_in

PASSWORDS = {"admin": "admin-demo-pass", "commander": "commander-demo-pass", "auditor": "auditor-demo-pass",
             "crew-lh01": "crew-demo-pass"}
PAGE_ROLES = ("commander", "auditor", "admin")
STATE_WORDS = {"idle": "idle", "ordered": "ordered", "manned": "manned", "requested": "airspace requested",
               "cleared": "cleared", "firing": "firing", "done": "done", "declined": "declined",
               "stood_down": "stood down", "rejected": "airspace rejected"}


@pytest.fixture
def demo(app, runner, client):
    """The Luohe demo after `ops drill`: round 1, active, with every kind of state, reports and requests."""
    assert runner.invoke(args=["ops", "seed-demo"]).exit_code == 0
    result = runner.invoke(args=["ops", "drill"])
    assert result.exit_code == 0, result.output
    return client


def _sign_in(client, who: str):
    return sign_in(client, who, PASSWORDS[who])


def _nav_links(page: str) -> list[str]:
    nav = re.search(r'<nav class="site"[^>]*>(.*?)</nav>', page, re.S).group(1)
    return re.findall(r'href="([^"]+)"', nav)


def _text(resp) -> str:
    return resp.get_data(as_text=True)


def test_nav_per_role(demo):
    """Every role sees dashboard, rounds, live map and alerts; auditor and admin the audit log; admin the admin
    pages, each only where the app serves it."""
    seen = {}
    for who in PAGE_ROLES:
        client = demo.application.test_client()
        _sign_in(client, who)
        seen[who] = _nav_links(_text(client.get("/rounds")))
    app = demo.application
    for who in PAGE_ROLES:
        assert seen[who][:4] == ["/", "/rounds", "/maps/status", "/alerts"], seen[who]
    audit = "admin.audit" in app.view_functions
    assert ("/audit" in seen["commander"]) is False
    assert ("/audit" in seen["auditor"]) is audit and ("/audit" in seen["admin"]) is audit
    for endpoint in ("admin.accounts", "admin.points", "admin.crew", "admin.zones"):
        if endpoint in app.view_functions:
            with app.test_request_context():
                url = url_for(endpoint)
            assert url in seen["admin"] and url not in seen["commander"] and url not in seen["auditor"]


def test_nav_shows_who_language_and_sign_out(demo):
    """The bar names who is signed in, switches language on the same page, and signs out."""
    _sign_in(demo, "commander")
    page = _text(demo.get("/rounds/1?x=1"))
    assert "commander (指挥员)" in page or "commander (" in page
    assert 'href="/rounds/1?x=1&amp;lang=en"' in page
    odd = demo.get("/rounds/1?round_id=2&_external=1&lang=zh")  # names url_for takes itself: not a 500
    assert odd.status_code == 200 and 'href="/rounds/1?lang=en"' in _text(odd)
    assert 'action="/logout"' in page
    assert re.search(r'<a href="/rounds" class="on"', page)  # a round's page is under Rounds in the bar
    en = _text(demo.get("/rounds/1?lang=en"))
    assert "Round" in en and "Airspace requests" in en


@pytest.mark.parametrize("who", PAGE_ROLES)
def test_every_page_renders_for_each_allowed_role(demo, who):
    """Dashboard, rounds, a round, alerts, its map, replay, report and an activity log: 200 with the session."""
    _sign_in(demo, who)
    for url in ("/", "/rounds", "/rounds/1", "/alerts", "/maps/status", "/maps/rounds/1",
                "/maps/rounds/1/replay", "/rounds/1/report", "/rounds/1/points/LH01/activity-log"):
        resp = demo.get(url)
        assert resp.status_code == 200, (who, url, resp.status_code)
        assert resp.mimetype == "text/html"


def test_crew_sign_in_is_refused_with_an_html_page(demo):
    """A crew account's sign-in gets an HTML 403 on the command centre's pages, with a way to its own page."""
    token = demo.post("/api/v1/auth/token", json={"username": "crew-lh01", "password": "crew-demo-pass"})
    auth = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    for url in ("/rounds", "/rounds/1", "/alerts", "/rounds/1/report"):
        resp = demo.get(url, headers=auth)
        assert resp.status_code == 403 and resp.mimetype == "text/html", url
        assert 'href="/crew"' in _text(resp)


def test_crew_signing_in_goes_to_the_crew_page(demo):
    """A crew account at /login is sent to /crew, even when the login was asked for another page."""
    resp = demo.post("/login?next=/rounds", data={"username": "crew-lh01", "password": "crew-demo-pass",
                                                 "csrf_token": csrf_token(demo)})
    assert resp.status_code == 302 and resp.headers["Location"] == "/crew"
    assert demo.get("/crew").status_code == 200


def test_crew_signing_in_hands_the_crew_page_its_token(demo):
    """The crew page talks to the API with a bearer token: the login's session is exchanged for one, handed to
    /crew alone in a short-lived cookie; the session itself opens nothing afterwards."""
    demo.post("/login", data={"username": "crew-lh01", "password": "crew-demo-pass", "csrf_token": csrf_token(demo)})
    cookie = demo.get_cookie("crew_handover", path="/crew")
    assert cookie is not None and cookie.path == "/crew" and not cookie.http_only and cookie.same_site == "Strict"
    assert 0 < (cookie.expires - datetime.now(timezone.utc)).total_seconds() <= 120
    ticket = json.loads(base64.urlsafe_b64decode(cookie.value + "=" * (-len(cookie.value) % 4)))
    me = demo.get("/api/v1/me", headers={"Authorization": f"Bearer {ticket['access_token']}"})
    assert me.status_code == 200 and me.get_json()["username"] == ticket["username"] == "crew-lh01"
    demo.delete_cookie("crew_handover", path="/crew")
    assert demo.get("/rounds").status_code == 302  # no page session is left behind
    actions = [e["action"] for e in _audit_events(demo)]
    assert actions[-2:] == ["auth.login", "auth.handover"]


def _audit_events(client) -> list[dict]:
    auditor = client.application.test_client()
    token = auditor.post("/api/v1/auth/token", json={"username": "auditor", "password": PASSWORDS["auditor"]})
    events = auditor.get("/api/v1/audit/events?limit=500",
                         headers={"Authorization": f"Bearer {token.get_json()['access_token']}"}).get_json()["items"]
    return [e for e in events if e["actor"] == "crew-lh01"]


def test_round_list_newest_first_with_state_times_and_counts(demo, runner):
    """Every round, newest first, with its state, planned times and its number of points."""
    assert runner.invoke(args=["ops", "drill", "--close"]).exit_code == 0  # a second round, closed
    _sign_in(demo, "commander")
    page = _text(demo.get("/rounds?lang=en"))
    ids = re.findall(r'<tr data-round="(\d+)">', page)
    assert ids == sorted(ids, key=int, reverse=True) and len(ids) >= 2
    first = page.split('<tr data-round="1">')[1].split("</tr>")[0]
    assert "active" in first and ">18<" in first
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d \+08:00", first)
    assert "closed" in page.split(f'<tr data-round="{ids[0]}">')[1].split("</tr>")[0]


def test_round_detail_shows_points_airspace_reports_and_links(demo):
    """Each point's state, the airspace requests with decisions, the reports with flags; links to the map,
    replay, report (HTML, CSV, JSON) and each point's activity log."""
    _sign_in(demo, "commander")
    page = _text(demo.get("/rounds/1?lang=en"))
    assert page.count('<tr id="point-') == 18
    token = demo.post("/api/v1/auth/token", json={"username": "commander", "password": "commander-demo-pass"})
    api = demo.get("/api/v1/rounds/1", headers={"Authorization": f"Bearer {token.json['access_token']}"}).json
    for p in api["points"]:  # each point's row shows the state the API derives, as words
        row = page.split(f'<tr id="point-{p["point_code"]}"')[1].split("</tr>")[0]
        assert f'</span>{STATE_WORDS[p["state"]]}' in row, (p["point_code"], p["state"])
    assert len({p["state"] for p in api["points"]}) >= 4  # the drill leaves points in many states
    assert "civil flight" in page  # the drill's rejection reason, as words
    assert "outside the sector" in page and "insufficient stock" in page  # the flags as words, not codes
    assert "outside_sector" not in page and "insufficient_stock" not in page
    for href in ("/maps/rounds/1", "/maps/rounds/1/replay", "/rounds/1/report", "/rounds/1/report?format=csv",
                 "/rounds/1/report?format=json", "/rounds/1/points/LH01/activity-log"):
        assert f'href="{href}"' in page, href
    zh = _text(demo.get("/rounds/1?lang=zh"))
    assert "空域申请" in zh and "射击报告" in zh


def test_report_and_activity_log_with_the_page_session(demo):
    """The round report (HTML, CSV, JSON) and an activity log open with the session, as the API's documents,
    with a way back to the round; without a session the browser goes to the login."""
    assert demo.get("/rounds/1/report").status_code == 302
    _sign_in(demo, "auditor")
    html = demo.get("/rounds/1/report")
    assert html.status_code == 200 and 'id="round-map"' in _text(html)
    assert 'class="ops-back"' in _text(html) and 'href="/rounds/1"' in _text(html)
    csv = demo.get("/rounds/1/report?format=csv")
    assert csv.mimetype == "text/csv" and "attachment" in csv.headers["Content-Disposition"]
    js = demo.get("/rounds/1/report?format=json")
    assert js.mimetype == "application/json" and js.json["round"]["id"] == 1
    log = demo.get("/rounds/1/points/LH01/activity-log")
    assert log.status_code == 200 and "LH01" in _text(log)
    assert demo.get("/rounds/1/points/LH01/activity-log?format=csv").mimetype == "text/csv"
    assert demo.get("/rounds/1/report?format=xml").status_code == 400


def test_report_pages_take_a_bearer_token(demo):
    """Scripts and wall displays may open the same pages with a bearer token."""
    token = demo.post("/api/v1/auth/token", json={"username": "auditor", "password": "auditor-demo-pass"})
    headers = {"Authorization": f"Bearer {token.json['access_token']}"}
    assert demo.get("/rounds/1/report", headers=headers).status_code == 200
    assert demo.get("/rounds/1/points/LH01/activity-log", headers=headers).status_code == 200


def test_alerts_page_lists_alerts_linked_to_their_round(demo):
    """Each active alert with severity, point, message and time; alerts of a round link to it."""
    _sign_in(demo, "commander")
    page = _text(demo.get("/alerts?lang=en"))
    rows = re.findall(r'<tr class="sev-(\w+)" data-alert="([^"]+)">(.*?)</tr>', page, re.S)
    assert rows
    assert any('href="/rounds/1#point-' in body for _sev, _id, body in rows)
    flagged = [body for _sev, alert_id, body in rows if alert_id.startswith("flagged_report")]
    assert flagged and all('href="/rounds/1"' in body for body in flagged)
    assert all(re.search(r"\+08:00", body) for _sev, _id, body in rows)


def test_the_maps_have_a_way_back(demo):
    """The folium documents carry a link back into the site: the round's page from its maps."""
    _sign_in(demo, "commander")
    for url in ("/maps/rounds/1", "/maps/rounds/1/replay"):
        assert 'href="/rounds/1"' in _text(demo.get(url)), url
    assert 'href="/"' in _text(demo.get("/maps/status"))


@pytest.mark.parametrize("lang,words", [("zh", "找不到页面"), ("en", "Page not found")])
def test_unknown_page_is_an_html_404_in_the_readers_language(demo, lang, words):
    """A page that does not exist answers HTML in the reader's language, with the bar when signed in."""
    resp = demo.get(f"/no-such-page?lang={lang}")
    assert resp.status_code == 404 and resp.mimetype == "text/html" and words in _text(resp)
    _sign_in(demo, "commander")
    page = _text(demo.get("/rounds/999"))
    assert demo.get("/rounds/999").status_code == 404
    assert '<nav class="site"' in page and 'href="/rounds"' in page


def test_other_page_errors_are_html(demo):
    """405 and 400 on pages are HTML too."""
    resp = demo.put("/rounds")
    assert resp.status_code == 405 and resp.mimetype == "text/html" and "Allow" in resp.headers
    assert demo.post("/logout").status_code == 400 and demo.post("/logout").mimetype == "text/html"


def test_api_and_feeds_keep_problem_json(demo):
    """The API, the pages' JSON feeds and the probes answer problem documents, never HTML."""
    assert demo.get("/api/v1/no-such").mimetype == "application/problem+json"
    assert demo.get("/api/v1/rounds/999", headers={"Authorization": "Bearer nope"}).mimetype == \
        "application/problem+json"
    crew = demo.post("/api/v1/auth/token", json={"username": "crew-lh01", "password": "crew-demo-pass"})
    resp = demo.get("/maps/status.geojson", headers={"Authorization": f"Bearer {crew.json['access_token']}"})
    assert resp.status_code == 403 and resp.mimetype == "application/problem+json"
    token = demo.post("/api/v1/auth/token", json={"username": "commander", "password": "commander-demo-pass"})
    resp = demo.get("/api/v1/rounds/999", headers={"Authorization": f"Bearer {token.json['access_token']}"})
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"


def test_an_unexpected_error_on_a_page_is_an_html_500(app, client):
    """An exception nobody handles on a page is an HTML 500 page that says nothing of the code; under /api it
    stays a problem document."""
    app.add_url_rule("/boom", "boom", lambda: 1 / 0)
    app.add_url_rule("/api/boom", "api_boom", lambda: 1 / 0)
    resp = client.get("/boom?lang=en")
    assert resp.status_code == 500 and resp.mimetype == "text/html"
    assert "Server error" in _text(resp) and "ZeroDivisionError" not in _text(resp) and "Traceback" not in _text(resp)
    assert client.get("/api/boom").mimetype == "application/problem+json"


def test_files_and_oversized_requests_keep_problem_json(client):
    """Files the pages load (a missing one) and a request too long to read are refused as problem documents,
    as the front refuses them, whatever the path."""
    assert client.get("/vendor/left-pad/index.js").mimetype == "application/problem+json"
    assert client.get("/static/web/nothing.css").mimetype == "application/problem+json"
    resp = client.get("/rounds?x=" + "y" * 4100)
    assert resp.status_code == 414 and resp.mimetype == "application/problem+json"
