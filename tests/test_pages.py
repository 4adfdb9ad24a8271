"""The command-centre pages: session login with CSRF, roles, language, times, maps served offline, archive."""

import re

import pytest

from .helpers.database import count_rows
from .helpers.pages import PAGE_URLS, csrf_token, sign_in


@pytest.mark.parametrize("url", PAGE_URLS)
def test_pages_send_strangers_to_login(world, url):
    """Without a session a browser is redirected to the login page, keeping where it was going."""
    resp = world.client.get(url)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login?next=")


def test_login_needs_the_csrf_token(world, app):
    """A login form posted without its CSRF token signs nobody in and records no login."""
    before = count_rows(app, "tokens")
    resp = world.client.post("/login", data={"username": "commander", "password": "password-commander"})
    assert resp.status_code == 200 and "Location" not in resp.headers
    assert count_rows(app, "tokens") == before
    assert world.client.get("/").status_code == 302


def test_login_and_logout(world, app):
    """A session login reaches the dashboard; signing out (with CSRF) revokes the session's token."""
    resp = sign_in(world.client)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    page = world.client.get("/")
    assert page.status_code == 200 and "LH01" in page.get_data(as_text=True)
    assert world.client.post("/logout").status_code == 400  # no CSRF token
    resp = world.client.post("/logout", data={"csrf_token": csrf_token(world.client, "/")})
    assert resp.status_code == 302
    assert world.client.get("/").status_code == 302


def test_wrong_password_is_shown_and_audited(world):
    """A wrong password answers the form again with a message and a 401."""
    resp = sign_in(world.client, password="wrong-password")
    assert resp.status_code == 401
    events = world.client.get("/api/v1/audit/events?action=auth.login_failed",
                              headers=world.headers("auditor")).json["items"]
    assert events and events[-1]["entity_id"] == "commander"


def test_login_redirects_only_to_this_site(world):
    """`next` pointing elsewhere is ignored."""
    token = csrf_token(world.client)
    resp = world.client.post("/login?next=//evil.example/x", data={"username": "commander",
                                                                  "password": "password-commander",
                                                                  "csrf_token": token})
    assert resp.headers["Location"] == "/"


@pytest.mark.parametrize("who,status", [("commander", 200), ("auditor", 200), ("admin", 200), ("crew1", 403)])
def test_pages_by_role_with_a_bearer_token(world, who, status):
    """Wall displays may use a bearer token; crew accounts have their own page, not the command centre's."""
    for url in PAGE_URLS:
        assert world.client.get(url, headers=world.headers(who)).status_code == status


def test_bad_bearer_token_is_401_not_a_redirect(world):
    """A script with a wrong token is told so, not sent to a login form."""
    assert world.client.get("/", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_chinese_by_default_english_on_request(world):
    """Page text is Simplified Chinese unless English is chosen; the choice sticks to the session."""
    sign_in(world.client)
    zh = world.client.get("/").get_data(as_text=True)
    assert "指挥中心" in zh and "告警" in zh
    en = world.client.get("/?lang=en").get_data(as_text=True)
    assert "Command centre" in en and "Alerts" in en and "指挥中心" not in en
    assert "Command centre" in world.client.get("/").get_data(as_text=True)


def test_dashboard_times_carry_the_offset(ops_world):
    """Times on the dashboard are in Asia/Shanghai with +08:00."""
    ops_world.arrive("ann")
    sign_in(ops_world.client)
    page = ops_world.client.get("/").get_data(as_text=True)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d \+08:00", page)


def test_dashboard_table_and_alerts(ops_world):
    """The table lists every point with its state and crew; the alert list names the alerting point."""
    ops_world.activate()
    ops_world.arrive("ann")
    sign_in(ops_world.client)
    page = ops_world.client.get("/?lang=en").get_data(as_text=True)
    assert 'data-code="LH01"' in page and 'data-code="LH02"' in page
    assert "1 / 3" in page  # ann alone at LH01 (minimum 3)
    assert "LH01 has 1 of 3 certified crew" in page


def _script_and_link_urls(page: str) -> list[str]:
    return re.findall(r'<script[^>]+src="([^"]+)"', page) + re.findall(r'<link[^>]+href="([^"]+)"', page)


@pytest.mark.parametrize("path", ["/maps/status", "/maps/rounds/{rid}", "/maps/rounds/{rid}/replay", "/"])
def test_pages_load_nothing_from_outside(ops_world, path):
    """Every script and stylesheet of the pages and maps is served by the app itself, and exists."""
    ops_world.activate()
    sign_in(ops_world.client)
    page = ops_world.client.get(path.format(rid=ops_world.round_id)).get_data(as_text=True)
    urls = _script_and_link_urls(page)
    assert urls
    for url in urls:
        assert url.startswith("/"), url
        assert ops_world.client.get(url).status_code == 200, url


def test_live_map_polls_the_feed(world):
    """The status map polls the session-signed feed, which answers 304 to its own ETag."""
    sign_in(world.client)
    page = world.client.get("/maps/status").get_data(as_text=True)
    assert "/maps/status.geojson" in page
    first = world.client.get("/maps/status.geojson")
    again = world.client.get("/maps/status.geojson", headers={"If-None-Match": first.headers["ETag"]})
    assert first.status_code == 200 and again.status_code == 304


def test_archive_round_is_self_contained(ops_world, runner, tmp_path):
    """The archive file holds the round map and replay with every asset inlined: no /vendor, no CDN."""
    ops_world.activate()
    out = tmp_path / "round.html"
    result = runner.invoke(args=["ops", "archive-round", str(ops_world.round_id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.count("<iframe") == 2 and "Test round" in text
    assert "/vendor/" not in text
    assert not re.search(r'(src|href)=&quot;(https?:)?//(?!leafletjs|www\.openstreetmap|openstreetmap)', text)
    assert "L.map" in text or "L.Map" in text
