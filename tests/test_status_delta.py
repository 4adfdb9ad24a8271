"""The delta feed (`?since=V` on /api/v1/status.geojson, /api/v1/status and the maps' feed): every answer
carries its version; a delta holds exactly the points changed since V and the codes removed; a version
this process cannot answer from (before a restart, malformed, from the future) gets the whole feed, which
says so; two app servers on one database name the same state with the same version."""

from datetime import timedelta

import pytest

from opsserver import create_app
from opsserver.database.utc import now_utc

from .test_status import add_point, man, open_window

URL = "/api/v1/status.geojson"


@pytest.fixture
def w(app, ops_world):
    # One time bucket for the whole test: the version then moves only with writes.
    app.config["OPS_STATUS_BUCKET_S"] = 3600
    return ops_world


def get(w, query: str = "", client=None, url: str = URL, **headers):
    c = client or w.client
    resp = c.get(url + query, headers=w.headers("commander", **headers))
    assert resp.status_code in (200, 304), resp.get_data(as_text=True)
    return resp


def full(w, client=None) -> dict:
    body = get(w, client=client).json
    assert body["full"] is True and body["removed"] == []
    return body


def since(w, version: str, client=None, query: str = "") -> dict:
    return get(w, f"?since={version}{query}", client=client).json


def codes(body: dict) -> set[str]:
    return {f["id"] for f in body["features"]}


def test_every_answer_carries_its_version(w):
    resp = get(w)
    body = resp.json
    assert body["version"] == resp.headers["X-Status-Version"]
    assert resp.headers["ETag"] == f'W/"{body["version"]}"'
    assert codes(body) == {"LH01", "LH02"}
    again = since(w, body["version"])
    assert again["full"] is False and again["version"] == body["version"]


def test_nothing_changed_is_an_empty_delta_or_a_304(w):
    v = full(w)["version"]
    assert get(w, f"?since={v}", **{"If-None-Match": f'W/"{v}"'}).status_code == 304
    empty = since(w, v)
    assert (empty["full"], empty["version"], empty["features"], empty["removed"]) == (False, v, [], [])
    add_point(w, "LH03")
    v2 = full(w)["version"]
    assert v2 != v
    refused = w.client.patch("/api/v1/points/LH03", json={"latitude": 999}, headers=w.headers("admin"))
    assert refused.status_code == 422  # a refused write writes nothing: the version stays
    empty = since(w, v2)
    assert (empty["full"], empty["version"], empty["features"], empty["removed"]) == (False, v2, [], [])


def test_a_point_edit_is_in_the_next_delta_and_nothing_else(w):
    v = full(w)["version"]
    resp = w.client.patch("/api/v1/points/LH02", json={"name": "新名字 <b>"}, headers=w.headers("admin"))
    assert resp.status_code == 200, resp.json
    body = since(w, v)
    assert body["full"] is False and body["version"] != v
    assert codes(body) == {"LH02"} and body["removed"] == []
    assert body["features"][0]["properties"]["name"] == "新名字 <b>"


def test_a_check_in_a_report_and_a_round_closing_each_show_in_a_delta(w):
    w.activate()
    v = full(w)["version"]
    w.arrive("ann")
    body = since(w, v)
    assert codes(body) == {"LH01"} and body["features"][0]["properties"]["crew_on_site"] == 1
    man(w, crew=("bo", "cai"))
    open_window(w)
    v = full(w)["version"]
    started = now_utc()
    resp = w.report(started=started, ended=started + timedelta(minutes=5), ammo=[{"type": "RKT-AGI", "fired": 4}])
    assert resp.status_code == 201, resp.json
    body = since(w, v)
    assert codes(body) == {"LH01"} and body["features"][0]["properties"]["state"] == "firing"
    v = body["version"]
    assert w.post("commander", f"/api/v1/rounds/{w.round_id}/close").status_code == 200
    body = since(w, v)
    assert codes(body) == {"LH01", "LH02"}  # both were in the round: both idle now
    assert {f["properties"]["state"] for f in body["features"]} == {"idle"}


def test_a_deactivated_point_is_removed(w):
    add_point(w, "LH03")
    v = full(w)["version"]
    resp = w.client.patch("/api/v1/points/LH03", json={"active": False}, headers=w.headers("admin"))
    assert resp.status_code == 200, resp.json
    body = since(w, v)
    assert body["removed"] == ["LH03"] and codes(body) == set()
    assert codes(full(w)) == {"LH01", "LH02"}


def test_a_delta_applied_to_the_old_feed_is_the_new_feed(w):
    """The client's way: keep the features by code, put in the changed ones, drop the removed ones."""
    add_point(w, "LH03")
    old = full(w)
    held = {f["id"]: f for f in old["features"]}
    w.activate()
    w.arrive("ann", "LH02")
    w.client.patch("/api/v1/points/LH03", json={"active": False}, headers=w.headers("admin"))
    body = since(w, old["version"])
    held.update({f["id"]: f for f in body["features"]})
    for code in body["removed"]:
        held.pop(code)
    new = full(w)
    assert held == {f["id"]: f for f in new["features"]}


def test_a_version_from_before_a_restart_gets_the_whole_feed(w, app, db_url):
    v = full(w)["version"]
    w.arrive("ann")
    restarted = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "OPS_STATUS_BUCKET_S": 3600})
    body = since(w, v, client=restarted.test_client())
    assert body["full"] is True and codes(body) == {"LH01", "LH02"}


@pytest.mark.parametrize("bad", ["", "abc", "1.2.3", "-1.5", "1e9.1", "99999999.1", "1." + "9" * 50, "１.２"])
def test_a_malformed_or_unknown_since_gets_the_whole_feed(w, bad):
    full(w)
    body = since(w, bad)
    assert body["full"] is True and codes(body) == {"LH01", "LH02"}


def test_two_app_servers_give_the_same_versions_and_answer_each_others(w, db_url):
    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "OPS_STATUS_BUCKET_S": 3600}).test_client()
    a, b = full(w), full(w, client=other)
    assert a["version"] == b["version"] and a["features"] == b["features"]
    w.arrive("ann")
    after_a = full(w)
    body = since(w, a["version"], client=other)  # a version the other server served
    assert body["version"] == after_a["version"] and "LH01" in codes(body)


def test_the_region_filters_and_a_point_leaving_the_region(w):
    add_point(w, "LH03", county="Wuyang")
    whole = full(w)
    counties = {f["id"]: f["properties"]["county"] for f in whole["features"]}
    only = get(w, "?county=Wuyang").json
    assert codes(only) == {c for c, county in counties.items() if county == "Wuyang"}
    v = only["version"]
    w.client.patch("/api/v1/points/LH03", json={"county": "Linying"}, headers=w.headers("admin"))
    body = since(w, v, query="&county=Wuyang")
    assert body["removed"] == ["LH03"] and codes(body) == set()


def test_without_the_memo_every_answer_is_whole(w, app):
    app.config["OPS_STATUS_MEMO"] = False
    v = full(w)["version"]
    w.arrive("ann")
    body = since(w, v)
    assert body["full"] is True and codes(body) == {"LH01", "LH02"}


@pytest.mark.parametrize("url", ["/api/v1/status", "/maps/status.geojson"])
def test_the_other_feeds_carry_deltas_too(w, url):
    from .helpers.pages import sign_in
    if url.startswith("/maps"):
        sign_in(w.client)
    first = get(w, url=url).json
    items = "points" if url == "/api/v1/status" else "features"
    assert first["full"] is True and len(first[items]) == 2
    w.arrive("ann")
    body = get(w, f"?since={first['version']}", url=url).json
    assert body["full"] is False and len(body[items]) == 1


def test_the_prebuilder_builds_a_new_version_before_anyone_asks(w, app):
    """With OPS_STATUS_PREBUILD on, a feed polled once is built again by the process's own thread after a
    write, so the next poll is served from a build made ahead of it."""
    import time

    from opsserver.status.feed import Prebuilder
    app.config["OPS_STATUS_PREBUILD"] = True
    first = full(w)
    pre = app.extensions["status_prebuild"]
    assert isinstance(pre, Prebuilder) and pre.is_alive()
    w.arrive("ann")
    histories = app.extensions["status_feed"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        built = [h.last.version for h in histories.values() if h.last is not None]
        if built and max(built) > tuple(int(x) for x in first["version"].split(".")):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("no build of the new version within 20 s")
    ahead = max(built)
    body = since(w, first["version"])
    assert body["version"] == f"{ahead[0]}.{ahead[1]}" and codes(body) == {"LH01"}
    pre.wanted.clear()  # the thread idles from here


def test_a_version_another_server_built_gets_the_whole_feed(w, db_url):
    """A point changed at a version only the other server built, and changed back: this server cannot know
    the client holds the changed one, so it answers whole (a delta would leave the client wrong)."""
    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "OPS_STATUS_BUCKET_S": 3600}).test_client()
    full(w)  # this server's history starts
    admin = w.headers("admin")
    original = w.get("commander", "/api/v1/points/LH01").json["name"]
    assert w.client.patch("/api/v1/points/LH01", json={"name": "Changed"}, headers=admin).status_code == 200
    held = full(w, client=other)  # the client's copy, from the other server
    assert {f["id"]: f for f in held["features"]}["LH01"]["properties"]["name"] == "Changed"
    assert w.client.patch("/api/v1/points/LH01", json={"name": original}, headers=admin).status_code == 200
    body = since(w, held["version"])
    assert body["full"] is True
    assert {f["id"]: f for f in body["features"]}["LH01"]["properties"]["name"] == original


def test_a_region_delta_names_only_what_left_the_region(w):
    add_point(w, "LH03", county="Wuyang")
    add_point(w, "LH04", county="Linying")
    v = get(w, "?county=Wuyang").json["version"]
    admin = w.headers("admin")
    w.client.patch("/api/v1/points/LH04", json={"name": "elsewhere"}, headers=admin)  # outside, stays outside
    body = since(w, v, query="&county=Wuyang")
    assert body["removed"] == [] and codes(body) == set()
    w.client.patch("/api/v1/points/LH04", json={"county": "Wuyang"}, headers=admin)  # moves in
    body = since(w, body["version"], query="&county=Wuyang")
    assert codes(body) == {"LH04"} and body["removed"] == []
    w.client.patch("/api/v1/points/LH03", json={"active": False}, headers=admin)  # in it, made inactive
    body = since(w, body["version"], query="&county=Wuyang")
    assert body["removed"] == ["LH03"] and codes(body) == set()


def test_while_a_build_runs_the_last_build_answers_unless_the_screen_is_ahead(w, app):
    """A poll does not wait for another thread's build: the last build answers, its version saying which;
    a screen holding a newer version than that waits for the build instead (it never goes back)."""
    import threading

    first = full(w)
    (history,) = [h for key, h in app.extensions["status_feed"].items() if key[0] == "application/geo+json"]
    w.arrive("ann")
    history.building.acquire()  # as if the pre-builder were building the new version
    try:
        body = get(w).json
        assert body["version"] == first["version"]  # at once, from the last build
        answered = {}
        waiting = threading.Thread(target=lambda: answered.update(
            get(w, f"?since={first['version'].split('.')[0]}9.{first['version'].split('.')[1]}").json))
        waiting.start()
        waiting.join(1.0)
        assert waiting.is_alive()  # ahead of the last build: it waits for the build
    finally:
        history.building.release()
    waiting.join(20)
    new = full(w)
    assert new["version"] != first["version"] and answered["version"] == new["version"]


def test_a_snapshot_read_inside_a_write_is_refused(app, ops_world):
    """read_snapshot ends the session's transaction: inside a write that would lose it, so it refuses."""
    from opsserver.database.snapshot import read_snapshot
    from opsserver.database.writelock import begin_write
    from opsserver.extensions import db
    from opsserver.registry.models import Point
    with app.app_context():
        db.session.add(Point(code="LH99", name="x", county="y", latitude=33.5, longitude=114.0))
        with pytest.raises(RuntimeError):
            with read_snapshot():
                pass
        db.session.rollback()
        if db.engine.dialect.name == "sqlite":
            begin_write(db.session)
            with pytest.raises(RuntimeError):
                with read_snapshot():
                    pass
            db.session.rollback()
        with read_snapshot():  # and a plain read is fine
            pass
