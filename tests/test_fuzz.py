"""API fuzzing from the OpenAPI document (Schemathesis): no 5xx, answers as documented, every 4xx problem+json.

Each operation is called with a real token of a role allowed to call it (the authorization matrix covers
the others), on a world with points, crew, ammunition and a round. A bounded number of examples per
operation keeps it to a minute or two; FUZZ_EXAMPLES=200 runs a deeper search by hand.
"""

import os
import re

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, negative_data_rejection,
                                               response_schema_conformance)

from .test_authz_matrix import ROLES as ROLE_USER, cells

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))


def roles_of(app, path: str, method: str) -> tuple | None:
    """The roles the view of this OpenAPI path declares (None: public), as the authorization matrix reads them."""
    for rule, rule_method, _, roles in cells(app):
        if rule_method == method.upper() and re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule) == path:
            return roles
    raise AssertionError(f"no route for {method} {path}")


def problem_json_for_errors(ctx, response, case):
    """Every 4xx (and 5xx) answer is an RFC 9457 problem document."""
    if response.status_code >= 400:
        content_type = response.headers.get("Content-Type", response.headers.get("content-type", ""))
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert content_type.startswith("application/problem+json"), (response.status_code, content_type)
        body = response.json()
        assert body["status"] == response.status_code and body["title"] and body["detail"], body
        assert isinstance(body.get("errors", []), list)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_answers_as_documented(app, ops_world, mode):
    """Every operation of the document, each with its own bounded Hypothesis search (deterministic), with
    data that fits the document (positive) and data that breaks it (negative: must be refused, as 4xx)."""
    api = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance, problem_json_for_errors]
    if mode == GenerationMode.NEGATIVE:
        checks.append(negative_data_rejection)  # a request that breaks the document is refused
    failures, operations = [], 0
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1
        roles = roles_of(app, operation.path, operation.method)
        user = ROLE_USER[roles[0]] if roles else None

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            headers = {}
            if user:
                token = ops_world.tokens[user]
                if operation.path == "/api/v1/auth/logout":  # a fresh token: the other examples stay logged in
                    token = ops_world.client.post("/api/v1/auth/token", json={
                        "username": user, "password": f"password-{user}"}).json["access_token"]
                headers["Authorization"] = f"Bearer {token}"
            response = case.call(headers=headers)
            case.validate_response(response, checks=checks)

        try:
            check()
        except (Exception, BaseExceptionGroup) as err:  # collected: one run shows every failing operation
            failures.append(f"{operation.method.upper()} {operation.path}: {str(err)[:1500]}")
    assert operations > 40
    assert failures == [], "\n\n".join(failures)
