"""Regressions found by the API fuzzing (tests/test_fuzz.py), each kept as a plain test."""

import uuid

from .conftest import assert_problem


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
