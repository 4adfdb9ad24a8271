"""API fuzzing from the OpenAPI document (Schemathesis) with every check it has (`--checks all`), then its
stateful phase: no 5xx, answers as documented, data that breaks the document refused, data that fits it accepted
(but for rules the document states in words), authentication enforced, every 4xx problem+json.

Each operation is called with a real token of a role allowed to call it (the authorization matrix covers
the others), on a world with points, crew, ammunition and a round. A bounded number of examples per
operation keeps the run near a minute on two cores; FUZZ_EXAMPLES=200 runs a deeper search by hand
(FUZZ_STEPS sets the stateful scenarios' length the same way).
"""

import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, is_check_class, load_all_checks
from schemathesis.generation.stateful import run_state_machine_as_test
from schemathesis.openapi.checks import RejectedPositiveData

from .helpers.roles import load as load_contract
from .helpers.world import ROLE_USERS as ROLE_USER

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
STEPS = int(os.environ.get("FUZZ_STEPS", "12"))
CONTRACT = load_contract()

# Refusals of data that fits the document, for rules a JSON Schema cannot state: references to rows that must
# exist, rules across fields, stock and state. Each is said in words in the document (the field's description),
# and each is recognised here by the field it names and what it says, so any other refusal of valid data (a bound
# the document forgot, say) still fails the run.
DOCUMENTED_REFUSALS = [
    (r"cursor", r"^Not a cursor returned by this API"),
    (r"point_code|home_point|to_point_code|point_codes",
     r"^(No operating point|Unknown point codes|Inactive points|A transfer goes to another point)"),
    (r"crew_id", r"^(No crew member|Crew member \d+ is not active|.*certificate|Name the crew member"
                 r"|A crew account must be linked)"),
    (r"ammo_type|ammo(\.\d+\.type)?", r"^Unknown ammunition type"),
    (r"quantity", r"holds .*; cannot|^An adjustment changes stock|^Must be a positive count"),
    (r"sector_end_deg", r"^The sector has no width"),
    (r"ends_at|ended_at|planned_end|window_end|approved_end", r"must end after it starts|ends after it starts"),
    (r"window_end|duration_min", r"^Give window_end or duration_min"),
    (r"approved_start|approved_end|reference", r"^(Required for an approval|A rejection has no approved window)"),
    (r"reason", r"^(A rejection needs its reason code|An approval has no rejection reason|An adjustment needs)"),
    (r"to_point_code", r"^(A transfer names the point|Only a transfer goes)"),
    (r"duds|ammo\.\d+\.duds", r"^Duds are counted among the fired"),
    (r"ammo|point_codes", r"^(One line per ammunition type|A point is ordered once per round)"),
    (r"date_to", r"^(Must not be before date_from|A daily log covers at most)"),
    # announcements (opsserver/announcements): the period, the radius against the points' ranges, what it supersedes
    (r"period_end", r"must end after it starts|^An announcement covers at most"),
    (r"safety_radius_km", r"^The safety radius must reach every point's maximum range"),
    (r"supersedes", r"is not a published announcement"),
    (r"without_announcement_reason", r"^Give the reason in words"),  # spaces are no reason (its description)
    # an order's fields are those of its kind, as each field's description says (readiness: its level; fire: …)
    (r"readiness_level|azimuth_deg|elevation_deg|rounds", r"^(Required for this kind of order|Not part of a \w+ order)"),
    (r"Idempotency-Key", r"reused with a different body"),
    (r"upto_seq", r"^at most \d+"),  # an audit export up to an event past the chain's head
    # a zone's geometry: positions, rings, validity and size, as the field's description says (rules/zones.py)
    (r"geometry", r"coordinates|position|ring \d+|not valid|a line needs|positions; a zone|the zone spans"),
    # an all-or-nothing zone import with a bad feature: each feature is a zone, checked as POST /zones checks one
    (r"features\[\d+\]", r"^not a GeoJSON Feature$"),
    (r"features\[\d+\]\.geometry", r"coordinates|position|ring \d+|not valid|a line needs|positions; a zone|the zone "
                                   r"spans|type must be|GeoJSON geometry object|Missing data|Not a valid mapping"),
    (r"features\[\d+\]\.properties\.[a-z_]+", r"Missing data|Not a valid|Must be one of|Length must|Must be "
                                               r"(greater|less)|control character|Field may not be null"),
]


def documented_refusal(response) -> bool:
    """A 4xx answer to valid data that names only rules the document states in words."""
    if response.status_code not in (400, 422):
        return False
    errors = response.json().get("errors") or []
    return bool(errors) and all(
        any(re.fullmatch(field, e["field"]) and re.search(detail, e["detail"]) for field, detail in DOCUMENTED_REFUSALS)
        for e in errors)


def roles_of(path: str, method: str) -> tuple:
    """The roles the role contract (tests/helpers/roles.toml) gives this OpenAPI operation (empty: public)."""
    return CONTRACT[(method.upper(), path)].roles


def problem_json_for_errors(ctx, response, case):
    """Every 4xx (and 5xx) answer is an RFC 9457 problem document."""
    if response.status_code >= 400:
        content_type = response.headers.get("Content-Type", response.headers.get("content-type", ""))
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert content_type.startswith("application/problem+json"), (response.status_code, content_type)
        body = response.json()
        assert body["status"] == response.status_code and body["title"] and body["detail"], body
        assert isinstance(body.get("errors", []), list)


def all_checks() -> list:
    """Every check Schemathesis has (its `--checks all`), positive_data_acceptance knowing DOCUMENTED_REFUSALS,
    and the problem+json check."""
    load_all_checks()
    builtin = {check.__name__: check for check in CHECKS.get_all() if not is_check_class(check)}
    accept = builtin.pop("positive_data_acceptance")

    def positive_data_acceptance(ctx, response, case):
        try:
            return accept(ctx, response, case)
        except RejectedPositiveData:
            if documented_refusal(response):
                return None
            raise

    return [*builtin.values(), positive_data_acceptance, problem_json_for_errors]


class Caller:
    """Each operation's headers: a token of the first role allowed to call it (a fresh one to log out with)."""

    def __init__(self, app, world):
        self.app, self.world, self.roles = app, world, {}

    def headers(self, operation) -> dict:
        key = (operation.path, operation.method)
        if key not in self.roles:
            self.roles[key] = roles_of(operation.path, operation.method)
        roles = self.roles[key]
        # identity: the transport hands schemathesis the body as sent, and it does not undo a Content-Encoding
        # (tests/test_compression.py holds the compressed answers)
        if not roles:
            return {"Accept-Encoding": "identity"}
        user = ROLE_USER[roles[0]]
        token = self.world.tokens[user]
        if operation.path == "/api/v1/auth/logout":  # a fresh token: the other examples stay logged in
            token = self.world.client.post("/api/v1/auth/token", json={
                "username": user, "password": f"password-{user}"}).json["access_token"]
        return {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"}


def quiet(max_examples: int, **extra) -> settings:
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck), **extra)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_answers_as_documented(app, ops_world, mode):
    """Every operation of the document, each with its own bounded Hypothesis search (deterministic), with
    data that fits the document (positive: accepted) and data that breaks it (negative: refused, as 4xx)."""
    api = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    checks, caller = all_checks(), Caller(app, ops_world)
    failures, operations = [], 0
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy(generation_mode=mode))
        @quiet(EXAMPLES, phases=[Phase.explicit, Phase.generate])
        def check(case):
            headers = caller.headers(operation)
            response = case.call(headers=headers)
            case.validate_response(response, checks=checks, headers=headers)

        try:
            check()
        except (Exception, BaseExceptionGroup) as err:  # collected: one run shows every failing operation
            failures.append(f"{operation.method.upper()} {operation.path}: {str(err)[:1500]}")
    assert operations > 40
    assert failures == [], "\n\n".join(failures)


def test_api_sequences_answer_as_documented(app, ops_world):
    """The stateful phase: sequences of calls along the links Schemathesis infers from the document (a created
    point, round, request or report used by the next call), every check after each step, including the ones
    that need a sequence (a created resource is found; nothing deleted is still served)."""
    api = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    # Sequences of valid calls: data that breaks the document is the per-operation test's (above). Here every
    # call gets a real token, which undoes a negative case's missing Authorization and made it "accepted".
    api.config.generation.update(modes=[GenerationMode.POSITIVE])
    checks, caller = all_checks(), Caller(app, ops_world)
    machine = api.as_state_machine()
    assert api.statistic.transitions.total > 100  # inferred from responses' fields and path parameters
    linked = []

    class Sequences(machine):
        def step(self, input):
            if input.transition is not None and input.is_applied:
                linked.append(input.transition.id)
            return super().step(input)

        def get_call_kwargs(self, case):
            return {"headers": caller.headers(case.operation)}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=checks, headers=kwargs.get("headers"), transport_kwargs=kwargs,
                                   recorder=self.recorder)

    run_state_machine_as_test(Sequences, settings=quiet(EXAMPLES, stateful_step_count=STEPS))
    assert len(linked) >= EXAMPLES, linked  # calls that used a value an earlier answer gave
