"""Regressions found by the API fuzzing (tests/test_fuzz.py), each kept as a plain test."""

import json
import re
import socket
import uuid
from datetime import UTC, datetime, timedelta

import jsonschema_rs
import pytest

from .helpers.problems import assert_problem, assert_refused
from .helpers.servers import app_server
from .helpers.world import checkin_body, point_data


def test_an_unknown_query_parameter_is_refused_not_ignored(ops_world):
    """`?pont_code=` (a typo) must not quietly answer for every point."""
    resp = ops_world.get("auditor", "/api/v1/checkins?pont_code=LH01")
    assert_problem(resp, 422, field="pont_code")
    assert ops_world.get("auditor", "/api/v1/checkins?point_code=LH01").status_code == 200


def test_an_empty_device_time_header_is_refused(ops_world, rows):
    before = rows()
    body = {"id": str(uuid.uuid4()), "point_code": "LH01", "kind": "arrive", "latitude": 33.58,
            "longitude": 114.02, "accuracy_m": 5.0, "recorded_at": "2026-11-29T10:00:00+00:00"}
    resp = ops_world.post("crew1", "/api/v1/checkins", body, **{"X-Device-Time": ""})
    assert_problem(resp, 400, field="X-Device-Time")
    assert rows() == before


def test_error_answers_are_documented_as_problem_documents(client):
    spec = client.get("/api/openapi.json").json
    assert set(spec["components"]["responses"]["DEFAULT_ERROR"]["content"]) == {"application/problem+json"}
    token = spec["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert set(token["401"]["content"]) == {"application/problem+json"}
    assert set(token["200"]["content"]) == {"application/json"}


def test_checkin_body_errors_name_the_problem(ops_world, rows):
    """Without webargs on this endpoint, an empty body still lists the missing fields (422) and malformed
    JSON is a 400 naming the body, as on every other endpoint."""
    before = rows()
    headers = {**ops_world.headers("crew1"), "Content-Type": "application/json"}
    empty = ops_world.client.post("/api/v1/checkins", data="", headers=headers)
    assert_problem(empty, 422, field="point_code")
    broken = ops_world.client.post("/api/v1/checkins", data='{"id": ', headers=headers)
    assert_problem(broken, 400, field="(body)")
    assert rows() == before


# --- issue 14, item 8: control characters, request limits, locations, the document against the code ----------

def with_nul(at: datetime) -> str:
    """An ISO time with a NUL byte before its offset (which Python's ISO parser skipped)."""
    text = at.isoformat()
    return text[:-6] + "\x00" + text[-6:]


def test_a_nul_byte_inside_a_timestamp_is_refused(ops_world, rows):
    """The shift was stored; every time field is now read by one type that refuses it."""
    starts = datetime.now(UTC) + timedelta(days=2)
    shift = {"point_code": "LH02", "crew_id": ops_world.crew["bo"], "starts_at": with_nul(starts),
             "ends_at": (starts + timedelta(hours=8)).isoformat()}
    assert_refused(rows, lambda: ops_world.post("commander", "/api/v1/shifts", shift), 422,
                   field="starts_at")
    checkin = {**checkin_body(), "recorded_at": with_nul(datetime.now(UTC))}
    assert_refused(rows, lambda: ops_world.post("crew1", "/api/v1/checkins", checkin), 422,
                   field="recorded_at")


def test_a_nul_byte_inside_a_query_timestamp_is_refused(ops_world):
    resp = ops_world.get("auditor", "/api/v1/checkins?since=2026-01-01T00:00:00%00%2B00:00")
    assert_problem(resp, 422, field="since")
    assert [e["location"] for e in resp.json["errors"]] == ["query"]


@pytest.mark.parametrize("text", ["Point\x00", "Point\x1b[2J", "Point\nTwo", "Point\t", "Point\x7f"])
def test_control_characters_in_a_one_line_text_are_refused(ops_world, rows, text):
    assert_refused(rows, lambda: ops_world.post("admin", "/api/v1/points", point_data("LH20", name=text)),
                   422, field="name")


def test_a_code_with_a_trailing_newline_is_refused(ops_world, rows):
    """`$` in a pattern matches before a final newline: "LH20\\n" passed the code's pattern."""
    assert_refused(rows, lambda: ops_world.post("admin", "/api/v1/points", point_data("LH20\n")),
                   422, field="code")


def test_free_text_keeps_newlines_and_tabs_but_not_other_control_characters(ops_world, rows):
    ops_world.activate()
    kept = "line one\r\nline two\tend"
    resp = ops_world.report(notes=kept)
    assert resp.status_code == 201, resp.json
    assert resp.json["notes"] == kept
    assert_refused(rows, lambda: ops_world.report(notes="bad\x00note"), 422, field="notes")
    assert_refused(rows, lambda: ops_world.report(weather_before="dust\x1b"), 422, field="weather_before")


@pytest.mark.parametrize("url,field", [
    ("/api/v1/points?county=Yan%00cheng", "county"),
    ("/api/v1/points?county%01=Yancheng", "county\x01"),
    ("/api/v1/audit/events?entity=point%1F", "entity"),
    ("/api/v1/records/daily-log?point_code=LH01%0A", "point_code"),
])
def test_control_characters_in_a_query_are_refused(ops_world, url, field):
    resp = ops_world.get("admin", url)
    assert_problem(resp, 422, field=field)
    assert {e["location"] for e in resp.json["errors"]} == {"query"}


def test_control_characters_in_a_path_parameter_are_not_found(ops_world):
    """Never a 500 (PostgreSQL cannot hold a NUL in a text parameter): no resource has such a name."""
    resp = ops_world.get("admin", "/api/v1/points/LH01%00")
    assert_problem(resp, 404, field="code")
    assert resp.json["errors"][0]["location"] == "path"


@pytest.mark.parametrize("header,value", [("Idempotency-Key", "key\x01one"),
                                          ("X-Device-Time", "2026-11-29T10:00:00\x00+00:00")])
def test_control_characters_in_a_header_are_refused(ops_world, rows, header, value):
    assert_refused(rows, lambda: ops_world.post("crew1", "/api/v1/checkins", checkin_body(),
                                                **{header: value}), 400, field=header)


def test_the_apps_own_414_and_431_are_problem_documents(ops_world):
    """A request target or a header longer than any front passes on is refused by the app itself, as problem+json,
    on the API and on the pages alike (under every server, so the answer does not depend on which one is in front)."""
    long_query = "county=" + "x" * 4100
    for url in (f"/api/v1/points?{long_query}", f"/maps/status?{long_query}", "/api/v1/" + "p" * 4100):
        assert_problem(ops_world.get("admin", url), 414)
    assert_problem(ops_world.get("admin", "/api/v1/points", **{"X-Padding": "x" * 9000}), 431)
    many = {f"X-Pad-{i}": "y" * 1000 for i in range(40)}
    assert_problem(ops_world.get("admin", "/api/v1/points", **many), 431)
    assert ops_world.get("admin", "/api/v1/points?county=" + "x" * 3000).status_code == 200


def test_query_errors_name_the_query_location(ops_world):
    """An unknown point given as a query filter was reported at `location: json`."""
    for url in ("/api/v1/checkins?point_code=ZZ99", "/api/v1/shifts?point_code=ZZ99", "/api/v1/crew?home_point=ZZ99",
                "/api/v1/ammo/ledger?point_code=ZZ99", "/api/v1/airspace?point_code=ZZ99",
                f"/api/v1/rounds/{ops_world.round_id}/reports?point_code=ZZ99"):
        resp = ops_world.get("commander", url)
        assert_problem(resp, 422)
        assert [e["location"] for e in resp.json["errors"]] == ["query"], (url, resp.json)


def _spec(client) -> dict:
    return client.get("/api/openapi.json").json


def _parameter(spec, path, method, name) -> dict:
    return next(p for p in spec["paths"][path][method]["parameters"] if p["name"] == name)


def _property(spec, schema_name, prop) -> dict:
    return spec["components"]["schemas"][schema_name]["properties"][prop]


def test_the_document_states_the_cursor_format(ops_world):
    """A cursor is base64url text of bounded length; a string outside that form is refused as the document says."""
    cursor = _parameter(_spec(ops_world.client), "/api/v1/points", "get", "cursor")["schema"]
    assert cursor["pattern"] and cursor["maxLength"]
    issued = ops_world.get("admin", "/api/v1/points?limit=1").json["next_cursor"]
    assert ops_world.get("admin", f"/api/v1/points?cursor={issued}").status_code == 200
    for cursor in (f"{issued}%21", f"%20{issued}", "not%20a%20cursor!", "e30" * 200):  # base64 skipped ' ' and '!'
        assert_problem(ops_world.get("admin", f"/api/v1/points?cursor={cursor}"), 400, field="cursor")


def test_the_document_states_the_date_bounds(ops_world):
    """The server refuses times outside 2000–2100; the document now says so (as a pattern on the year)."""
    spec = _spec(ops_world.client)
    since = _parameter(spec, "/api/v1/checkins", "get", "since")
    date_to = _parameter(spec, "/api/v1/records/daily-log", "get", "date_to")
    for described, schema in ((_property(spec, "ShiftCreate", "starts_at"),) * 2,
                              (_property(spec, "CrewCreate", "certificate_expires"),) * 2,
                              (since, since["schema"]), (date_to, date_to["schema"])):
        assert "2000" in described["description"] and "2100" in described["description"], described
        assert re.match(schema["pattern"], "2000-01-01") and re.match(schema["pattern"], "2100-12-31")
        assert not re.match(schema["pattern"], "1999-12-31") and not re.match(schema["pattern"], "2101-01-01")


def test_the_document_states_the_idempotency_key_length(ops_world):
    spec = _spec(ops_world.client)
    for path in ("/api/v1/checkins", "/api/v1/sync", "/api/v1/rounds/{round_id}/reports"):
        key = _parameter(spec, path, "post", "Idempotency-Key")["schema"]
        assert (key["minLength"], key["maxLength"]) == (1, 200)


def test_the_document_states_exclusive_minimums(ops_world, rows):
    """`max_height_m` must be above 0: the document said `minimum: 0`, so 0 looked valid and was refused."""
    spec = _spec(ops_world.client)
    for schema_name, prop in (("PointCreate", "max_height_m"), ("PointCreate", "max_range_km"),
                              ("AirspaceCreate", "max_height_m")):
        assert _property(spec, schema_name, prop)["exclusiveMinimum"] is True, (schema_name, prop)
    assert_refused(rows, lambda: ops_world.post("admin", "/api/v1/points",
                                                point_data("LH20", max_height_m=0)), 422,
                   field="max_height_m")


@pytest.mark.parametrize("data,content_type,status", [
    (None, None, 422), (b"\xff\xfe\x00", "application/json", 400), (b'{"name": "x"}', "text/plain", 415)])
def test_a_patch_without_a_json_body_is_refused(ops_world, rows, data, content_type, status):
    """The document requires a JSON body; PATCH with none, with bytes that are not UTF-8 (which webargs took for
    no body: orjson reports them without the document) or with another content type answered 200."""
    before = rows()
    resp = ops_world.client.patch("/api/v1/points/LH01", data=data, content_type=content_type,
                                  headers=ops_world.headers("admin"))
    assert_problem(resp, status, field="(body)")
    assert rows() == before


@pytest.mark.parametrize("field,value", [("active", 1), ("active", "true"), ("launchers", True),
                                         ("latitude", "33.58"), ("launchers", "2")])
def test_json_values_of_another_type_are_refused(ops_world, rows, field, value):
    """An integer was taken for a boolean (and a string for a number): JSON types are what the document says."""
    assert_refused(rows, lambda: ops_world.post("admin", "/api/v1/points",
                                                point_data("LH20", **{field: value})), 422, field=field)


@pytest.mark.parametrize("query,field", [("active=1", "active"), ("active=yes", "active"), ("limit=%D9%A1", "limit"),
                                         ("limit=+5", "limit")])
def test_query_values_are_read_as_the_document_writes_them(ops_world, query, field):
    """A query boolean is `true` or `false`; a query integer is ASCII digits (Python's int() reads ' 5' and '١')."""
    assert_problem(ops_world.get("admin", f"/api/v1/points?{query}"), 422, field=field)
    assert ops_world.get("admin", "/api/v1/points?active=true&limit=5").status_code == 200


def test_a_shift_overlap_problem_is_a_documented_problem(ops_world):
    """Its `conflicting_shift_id` was outside the Problem schema (which allows no other members)."""
    starts = datetime.now(UTC) + timedelta(days=3)
    shift = {"point_code": "LH02", "crew_id": ops_world.crew["ann"], "starts_at": starts.isoformat(),
             "ends_at": (starts + timedelta(hours=8)).isoformat()}
    assert ops_world.post("commander", "/api/v1/shifts", shift).status_code == 201
    resp = ops_world.post("commander", "/api/v1/shifts", shift)
    assert_problem(resp, 409)
    assert "conflicting_shift_id" in resp.json
    schemas = _spec(ops_world.client)["components"]["schemas"]
    problem = json.loads(json.dumps(schemas["Problem"]).replace("#/components/schemas/", "#/$defs/"))
    problem["$defs"] = {"ProblemError": schemas["ProblemError"]}
    validator = jsonschema_rs.validator_for(problem)
    assert validator.is_valid(resp.json), list(validator.iter_errors(resp.json))


def test_an_unknown_point_in_a_query_is_documented(ops_world):
    """Each `point_code` query filter says that it must name a point, and the 422 it otherwise answers is listed
    (the audit export's filter is another change's)."""
    spec = _spec(ops_world.client)
    seen = 0
    for path, ops in spec["paths"].items():
        if path.startswith("/api/v1/audit/"):
            continue
        for method, op in ops.items():
            if method == "parameters":
                continue
            for param in op.get("parameters", []):
                if param.get("in") == "query" and param.get("name") in ("point_code", "home_point"):
                    seen += 1
                    assert "existing point" in param.get("description", ""), (method, path)
                    assert {"404", "422"} & set(op["responses"]), (method, path)
    assert seen >= 6


def _raw_get(base: str, target: str, headers: str = "") -> tuple[int, str]:
    """One GET over a socket (urllib refuses some of these): the status and the Content-Type."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\n{headers}Connection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    content_type = next((h.split(":", 1)[1].strip() for h in head if h.lower().startswith("content-type:")), "")
    return int(head[0].split()[1]), content_type


def test_the_served_configuration_answers_long_requests_as_problems_up_to_gunicorns_limit(db_url):
    """Under gunicorn.conf.py a request target over 4000 bytes gets the app's 414 problem+json, and a header over
    8000 bytes its 431. gunicorn's own header limits sit above that (gunicorn.conf.py), so a long header line
    is the app's problem too; only a request line over 8190 bytes meets gunicorn's HTML answer, which the
    front (nginx) refuses first (tests/test_front.py)."""
    with app_server(db_url) as (base, _proc):
        assert _raw_get(base, "/api/v1/points?county=" + "x" * 5000) == (414, "application/problem+json")
        assert _raw_get(base, "/api/v1/points", f"X-Pad: {'y' * 8100}\r\n") == (431, "application/problem+json")
        assert _raw_get(base, "/api/v1/points?county=" + "x" * 9000) == (414, "text/html")
        assert _raw_get(base, "/api/v1/points", f"X-Pad: {'y' * 8200}\r\n") == (431, "application/problem+json")
