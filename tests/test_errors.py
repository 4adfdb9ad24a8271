"""Every error is RFC 9457 problem+json and writes nothing; the OpenAPI document and its local docs page."""

import re

import pytest
from flask import abort, request
from werkzeug.exceptions import default_exceptions

from opsserver.errors import field_error, validation_errors
from opsserver.registry import services as registry_services

from .helpers.problems import assert_problem
from .helpers.world import point_data

ONE_MIB = 1024 * 1024


def assert_no_traceback(resp):
    text = resp.get_data(as_text=True)
    for leak in ("Traceback", 'File "', "ZeroDivisionError", "division by zero", "RuntimeError", "/opsserver/"):
        assert leak not in text, leak


# --- request bodies -------------------------------------------------------------------------------

@pytest.mark.parametrize("path,who", [("/api/v1/points", "admin"), ("/api/v1/shifts", "commander"),
                                      ("/api/v1/auth/token", None)])
def test_malformed_json_is_400(world, rows, path, who):
    """A body that is not JSON is a 400 problem, and nothing is written."""
    headers = world.headers(who) if who else {}
    before = rows()
    resp = world.client.post(path, data='{"code": "LH20", "name": ', content_type="application/json",
                             headers=headers)
    assert_problem(resp, 400)
    assert rows() == before


@pytest.mark.parametrize("body", ['[1, 2, 3]', '"a string"', "42", "null"])
def test_json_that_is_not_an_object_is_refused(world, rows, body):
    """A JSON array (or scalar) instead of an object is a 4xx problem, and nothing is written."""
    before = rows()
    resp = world.client.post("/api/v1/points", data=body, content_type="application/json",
                             headers=world.headers("admin"))
    assert 400 <= resp.status_code < 500
    assert_problem(resp, resp.status_code)
    assert rows() == before


def test_wrong_types_name_the_fields(world, rows):
    """Strings where numbers belong are a 422 naming each field, and nothing is written."""
    before = rows()
    resp = world.client.post("/api/v1/points", headers=world.headers("admin"),
                             json=point_data("LH20", latitude="north", launchers="two", active="maybe"))
    body = assert_problem(resp, 422, fields=["latitude", "launchers", "active"])
    assert all(e["location"] == "json" for e in body["errors"])
    assert "latitude" in body["detail"]
    assert rows() == before


def test_unknown_fields_are_refused(world, rows):
    """A field the API does not know is named rather than silently dropped."""
    before = rows()
    resp = world.client.post("/api/v1/points", headers=world.headers("admin"),
                             json=point_data("LH20", colour="blue"))
    assert_problem(resp, 422, fields=["colour"])
    assert rows() == before


def test_form_body_is_not_accepted_as_json(world, rows):
    """A form-encoded body is refused with a problem, not half-read."""
    before = rows()
    resp = world.client.post("/api/v1/points", headers=world.headers("admin"), data=point_data("LH20"))
    assert 400 <= resp.status_code < 500
    assert_problem(resp, resp.status_code)
    assert rows() == before


@pytest.mark.parametrize("path,who", [("/api/v1/points", "admin"), ("/api/v1/auth/token", None)])
def test_body_over_one_mib_is_413(world, rows, path, who):
    """A body over 1 MiB is a 413 problem, and nothing is written."""
    payload = ('{"name": "' + "x" * (ONE_MIB + 16) + '"}').encode()
    headers = world.headers(who) if who else {}
    before = rows()
    resp = world.client.post(path, data=payload, content_type="application/json", headers=headers)
    assert_problem(resp, 413)
    assert rows() == before


def test_body_just_under_one_mib_is_read(world, rows):
    """A body under the limit is parsed and validated (a too-long name is a 422, not a 413)."""
    data = point_data("LH20", name="x" * (ONE_MIB - 4096))
    before = rows()
    resp = world.client.post("/api/v1/points", json=data, headers=world.headers("admin"))
    assert_problem(resp, 422, fields=["name"])
    assert rows() == before


# --- routing errors -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/nowhere", "/api/v2/points", "/api/v1/points/LH01/extra"])
def test_unknown_url_is_404_problem(client, path):
    """An unknown URL under /api is a 404 problem (an unknown page is an HTML page: tests/test_site.py)."""
    assert_problem(client.get(path), 404)


def test_unknown_url_with_a_token_is_404_problem(world):
    """An unknown URL is a 404 problem for a logged-in caller too."""
    assert_problem(world.client.get("/api/v1/nowhere", headers=world.headers("admin")), 404)


@pytest.mark.parametrize("method,path,allowed", [
    ("DELETE", "/api/v1/points", {"GET", "POST"}),
    ("PUT", "/api/v1/points/LH01", {"GET", "PATCH"}),
    ("DELETE", "/api/v1/accounts", {"GET", "POST"}),
    ("GET", "/api/v1/auth/token", {"POST"}),
    ("PATCH", "/api/v1/shifts", {"GET", "POST"}),
])
def test_wrong_method_is_405_with_allow(world, rows, method, path, allowed):
    """A method the path does not take is a 405 problem with an Allow header listing the ones it does."""
    before = rows()
    resp = world.client.open(path, method=method, headers=world.headers("admin"), json={})
    assert_problem(resp, 405)
    allow = {m.strip() for m in resp.headers.get("Allow", "").split(",") if m.strip()}
    assert allowed <= allow
    assert method not in allow
    assert rows() == before


# --- every werkzeug HTTP error ---------------------------------------------------------------------

@pytest.mark.parametrize("status", sorted(code for code in default_exceptions if code >= 400))
def test_every_werkzeug_http_exception_is_a_problem(app, client, status):
    """Whatever HTTP error werkzeug or a view raises (414 and 431 among them) is answered as problem+json."""
    def fail():
        abort(status)

    app.add_url_rule(f"/api/fail/{status}", f"fail_{status}", fail)  # pages get HTML (tests/test_site.py)
    body = assert_problem(client.get(f"/api/fail/{status}"), status)
    assert body["title"]


def test_webargs_locations_are_named_as_openapi_names_them():
    """webargs calls them querystring and view_args; the document and the problem say query and path."""
    messages = {"querystring": {"limit": ["Not a valid integer."]}, "view_args": {"code": ["Bad."]},
                "headers": {"X-Device-Time": ["Bad."]}, "json": {"name": ["Missing."]}}
    assert {(e["field"], e["location"]) for e in validation_errors(messages)} == {
        ("limit", "query"), ("code", "path"), ("X-Device-Time", "headers"), ("name", "json")}


def test_a_field_error_is_placed_where_the_request_carried_the_field(app, client):
    """A service names the field; the answer says where it was sent (path, query, header, else the body)."""
    def refuse(code):
        raise field_error(request.args["field"], "refused")

    app.add_url_rule("/api/refuse/<code>", "refuse", refuse)
    for query, headers, location in [("field=code", {}, "path"), ("field=name&name=x", {}, "query"),
                                     ("field=Idempotency-Key", {"Idempotency-Key": "k"}, "headers"),
                                     ("field=ammo.0.type", {}, "json")]:
        body = assert_problem(client.get(f"/api/refuse/x?{query}", headers=headers), 422)
        assert body["errors"][0]["location"] == location, query


# --- unexpected errors ----------------------------------------------------------------------------

def test_unexpected_exception_is_a_500_problem_without_traceback(app, client):
    """An exception nobody handles is a 500 problem that says nothing of the code."""
    app.add_url_rule("/api/boom", "boom", lambda: 1 / 0)
    resp = client.get("/api/boom")
    body = assert_problem(resp, 500)
    assert body["errors"] == []
    assert_no_traceback(resp)


def test_failure_inside_a_write_rolls_back(world, rows, monkeypatch):
    """When a write fails half-way (after its insert), the answer is a 500 problem and nothing stays."""

    def broken_append(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(registry_services.audit, "append", broken_append)
    before = rows()
    resp = world.client.post("/api/v1/points", json=point_data("LH21"), headers=world.headers("admin"))
    assert_problem(resp, 500)
    assert_no_traceback(resp)
    assert "audit store unavailable" not in resp.get_data(as_text=True)
    monkeypatch.undo()
    assert rows() == before
    assert_problem(world.client.get("/api/v1/points/LH21", headers=world.headers("admin")), 404)
    # the app still works afterwards
    assert world.client.post("/api/v1/points", json=point_data("LH21"), headers=world.headers("admin")).status_code \
        == 201


# --- refused requests write nothing ---------------------------------------------------------------

REFUSED = [
    ("no token", "POST", "/api/v1/points", None, point_data("LH30")),
    ("wrong role", "POST", "/api/v1/points", "commander", point_data("LH30")),
    ("duplicate", "POST", "/api/v1/points", "admin", point_data("LH01")),
    ("bad field", "POST", "/api/v1/points", "admin", point_data("LH30", latitude=123)),
    ("patch unknown", "PATCH", "/api/v1/points/LH99", "admin", {"name": "x"}),
    ("patch bad", "PATCH", "/api/v1/points/LH01", "admin", {"longitude": 200}),
    ("crew unknown home", "POST", "/api/v1/crew", "commander",
     {"name": "N", "phone": "13900000009", "certificate_no": "C-9", "certificate_expires": "2031-01-01",
      "home_point": "LH99"}),
    ("account no crew_id", "POST", "/api/v1/accounts", "admin",
     {"username": "lonely", "password": "Lonely-pass-1", "role": "crew"}),
    ("shift unknown point", "POST", "/api/v1/shifts", "commander",
     {"point_code": "LH99", "crew_id": 1, "starts_at": "2031-01-01T08:00:00+08:00",
      "ends_at": "2031-01-01T20:00:00+08:00"}),
    ("shift backwards", "POST", "/api/v1/shifts", "commander",
     {"point_code": "LH01", "crew_id": 1, "starts_at": "2031-01-01T08:00:00+08:00",
      "ends_at": "2031-01-01T07:00:00+08:00"}),
]


@pytest.mark.parametrize("label,method,path,who,body", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_requests_write_nothing(world, rows, label, method, path, who, body):
    """Every refused request is a 4xx problem and changes no table (the audit log included)."""
    before = rows()
    resp = world.client.open(path, method=method, json=body, headers=world.headers(who) if who else {})
    assert 400 <= resp.status_code < 500
    assert_problem(resp, resp.status_code)
    assert rows() == before


# --- OpenAPI and its docs page --------------------------------------------------------------------

def test_openapi_document_lists_the_api(client):
    """`/api/openapi.json` is served and lists the /api/v1 paths built so far, with bearer security."""
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200
    doc = resp.get_json()
    assert doc["openapi"].startswith("3.")
    paths = set(doc["paths"])
    assert {"/api/v1/auth/token", "/api/v1/auth/logout", "/api/v1/accounts", "/api/v1/points",
            "/api/v1/points/{code}", "/api/v1/crew", "/api/v1/shifts"} <= paths
    assert all(p.startswith("/api/v1/") for p in paths)
    assert {"get", "post"} <= set(doc["paths"]["/api/v1/points"])
    assert {"get", "patch"} <= set(doc["paths"]["/api/v1/points/{code}"])
    assert "bearer" in doc["components"]["securitySchemes"]


def test_docs_page_uses_only_local_assets(client):
    """`/api/docs` loads scripts and styles only from this server, and each of them answers 200."""
    resp = client.get("/api/docs")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    refs = re.findall(r"<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*[\"']([^\"']+)[\"']", html, flags=re.I)
    assert any(r.endswith(".js") for r in refs) and any(r.endswith(".css") for r in refs)
    assert not re.search(r"(?:src|href)\s*=\s*[\"'](?:https?:)?//", html, flags=re.I)
    for ref in refs:
        assert ref.startswith("/") and not ref.startswith("//"), ref
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.data) > 1000, ref
    spec_urls = re.findall(r"url:\s*[\"']([^\"']+)[\"']", html)
    for url in spec_urls:
        assert url.startswith("/"), url
        assert client.get(url).status_code == 200


def test_vendor_route_serves_only_allowed_packages(client):
    """The vendor route refuses other packages and paths that climb out of node_modules."""
    assert_problem(client.get("/vendor/left-pad/index.js"), 404)
    assert client.get("/vendor/swagger-ui-dist/../../package.json").status_code == 404
