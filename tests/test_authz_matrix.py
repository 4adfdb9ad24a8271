"""The authorization matrix: every route of the app × every role and no token, checked against the role
contract (tests/helpers/roles.toml), never against the roles a route declares about itself.

So a route declared with the wrong roles fails here, a route the contract does not list fails, and so does
a contract row for a route that is gone. Each cell: no token → 401 problem (pages: a redirect to the
login), public → anything but 401/403; a role the contract allows → anything but 401/403 (the dummy path
values may well give 404 or 422), any other role → 403 (a problem on the API). Tokens are fresh per
request, since a cell may be a logout. The README's role table is rendered from the same contract.
"""

import uuid
from pathlib import Path

import pytest

from .helpers.problems import PROBLEM
from .helpers.roles import ROLES, app_routes, load, readme_table, role_table
from .helpers.world import ROLE_USERS, login

README = Path(__file__).resolve().parents[1] / "README.md"
CONTRACT = load()
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


def url_for_rule(rule, round_id: int) -> str:
    """The rule's path with plausible values (the role check comes before any lookup)."""
    values = {"round_id": round_id, "code": "LH01", "request_id": str(uuid.uuid4()), "package": "leaflet",
              "filename": "dist/leaflet.js", "username": "crew2", "version": "0123456789ab", "zone_id": 1,
              "order_id": 1, "announcement_id": 1, "alert_id": "understaffed:round_point:1:LH01"}
    return rule.build({arg: values[arg] for arg in rule.arguments}, append_unknown=False)[1]


def call(client, method: str, path: str, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs = {"json": {}} if method in ("POST", "PATCH", "PUT") else {}
    resp = client.open(path, method=method, headers=headers, **kwargs)
    resp.get_data()  # read streamed answers (exports) to the end here, and close them in this context
    resp.close()
    return resp


def test_every_route_is_in_the_contract(app):
    """The contract lists exactly the routes the app serves."""
    served = set(app_routes(app))
    assert sorted(served - set(CONTRACT)) == [], "served, but not in tests/helpers/roles.toml"
    assert sorted(set(CONTRACT) - served) == [], "in tests/helpers/roles.toml, but no longer served"


def test_every_documented_operation_is_in_the_contract(client):
    """Every operation of the OpenAPI document has its row, under the document's own path."""
    paths = client.get("/api/openapi.json").json["paths"]
    documented = {(method.upper(), path) for path, item in paths.items() for method in item if method in HTTP_METHODS}
    assert len(documented) > 40
    assert sorted(documented - set(CONTRACT)) == []


def test_readme_role_table_is_the_contract():
    """README's role table is the one rendered from the contract (`python -m tests.helpers.roles` prints it)."""
    assert readme_table(README.read_text(encoding="utf-8")) == role_table(CONTRACT), \
        "paste the table `.venv/bin/python -m tests.helpers.roles` prints into README.md"


def test_matrix(app, ops_world):
    client = ops_world.client
    failures = []
    for (method, route_path), rule in app_routes(app).items():
        contract = CONTRACT.get((method, route_path))
        if contract is None:
            failures.append((method, route_path, "not in tests/helpers/roles.toml"))
            continue
        path = url_for_rule(rule, ops_world.round_id)
        api = route_path.startswith("/api/")
        anonymous = call(client, method, path, None)
        if contract.public:
            ok = anonymous.status_code not in (401, 403)
        elif api:
            ok = anonymous.status_code == 401 and anonymous.mimetype == PROBLEM
        else:
            ok = anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
        if not ok:
            failures.append((method, path, "no token", anonymous.status_code))
        for role in ROLES:
            resp = call(client, method, path, login(client, ROLE_USERS[role]))
            if contract.allows(role):
                if resp.status_code in (401, 403):
                    failures.append((method, path, role, resp.status_code, "should be allowed"))
            elif resp.status_code != 403 or (api and resp.mimetype != PROBLEM):
                failures.append((method, path, role, resp.status_code, "should be 403"))
    assert failures == []


@pytest.mark.parametrize("case", ["checkin_for_another", "report_for_another", "report_at_another_point",
                                  "airspace_at_another_point", "decline_another_point", "cancel_anothers_request"])
def test_a_crew_member_acts_only_for_themselves_and_their_point(ops_world, case):
    """crew1 (Ann, LH01) may not act as Dong, nor for LH02; nothing is written when refused."""
    w = ops_world
    w.activate()
    if case == "checkin_for_another":
        body = {"id": str(uuid.uuid4()), "point_code": "LH01", "kind": "arrive", "latitude": 33.58,
                "longitude": 114.02, "accuracy_m": 5.0, "recorded_at": "2026-11-29T10:00:00+00:00",
                "crew_id": w.crew["dong"]}
        resp = w.post("crew1", "/api/v1/checkins", body)
    elif case in ("report_for_another", "report_at_another_point"):
        resp = w.report("crew1", point="LH02" if case == "report_at_another_point" else "LH01",
                        **({"crew_id": w.crew["dong"]} if case == "report_for_another" else {}))
    elif case == "airspace_at_another_point":
        resp = w.request_window("LH02", who="crew1")
    elif case == "decline_another_point":
        resp = w.post("crew1", f"/api/v1/rounds/{w.round_id}/points/LH02/decline", {"reason": "no crew"})
    else:
        req = w.request_window("LH02", who="crew2")
        assert req.status_code == 201, req.json
        resp = w.post("crew1", f"/api/v1/airspace/{req.json['id']}/cancel", {})
    assert resp.status_code == 403, (case, resp.json)
    assert resp.mimetype == "application/problem+json"
