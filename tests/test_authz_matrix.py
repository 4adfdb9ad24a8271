"""The authorization matrix, built from the app's URL map: every route × every role and no token.

A new endpoint cannot slip past it: each view must either declare its roles (`roles_required` or
`page_roles`, which leave `_ops_roles` on the view) or be listed here as public, or the first test fails.
Each cell is then checked against what the view declares: no token → 401 (pages: a redirect to the
login), a role not listed → 403, a listed role → anything but 401/403 (the dummy path values may
well give 404 or 422). Tokens are fresh per request, since a cell may be a logout.
"""

import uuid

import pytest

ROLES = {"crew": "crew1", "commander": "commander", "auditor": "auditor", "admin": "admin"}
# (endpoint, method) that answer without a token, and why.
PUBLIC = {
    ("api-docs.openapi_json", "GET"): "the API's own description",
    ("api-docs.openapi_swagger_ui", "GET"): "the API browser (it calls the API with the user's token)",
    ("accounts.TokenResource", "POST"): "logging in",
    ("web.login", "GET"): "the login page", ("web.login", "POST"): "logging in (CSRF-protected)",
    ("web.logout", "POST"): "ends the session it is sent with (CSRF-protected)",
    ("web.crew_page", "GET"): "the phone page's shell; its data comes from the API with the crew's token",
    ("web.crew_manifest", "GET"): "the phone page's manifest", ("web.crew_service_worker", "GET"): "its worker",
    ("serving.healthz", "GET"): "load balancer", ("serving.readyz", "GET"): "load balancer",
    ("static", "GET"): "static files", ("web.static", "GET"): "static files",
    ("web.vendor", "GET"): "pinned front-end packages", ("web.favicon", "GET"): "the browser's icon",
}


def cells(app):
    """(rule, method, endpoint, roles or None) for every route of the app."""
    out = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        view_class = getattr(view, "view_class", None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            func = getattr(view_class, method.lower(), None) if view_class else view
            out.append((rule, method, rule.endpoint, getattr(func, "_ops_roles", None)))
    return out


def url_for_rule(rule, round_id: int) -> str:
    """The rule's path with plausible values (the role check comes before any lookup)."""
    values = {"round_id": round_id, "code": "LH01", "request_id": str(uuid.uuid4()), "package": "leaflet",
              "filename": "dist/leaflet.js", "username": "crew2"}
    return rule.build({arg: values[arg] for arg in rule.arguments}, append_unknown=False)[1]


def fresh_token(client, username: str) -> str:
    resp = client.post("/api/v1/auth/token", json={"username": username, "password": f"password-{username}"})
    assert resp.status_code == 200, resp.json
    return resp.json["access_token"]


def call(client, method: str, path: str, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs = {"json": {}} if method in ("POST", "PATCH", "PUT") else {}
    resp = client.open(path, method=method, headers=headers, **kwargs)
    resp.get_data()  # read streamed answers (exports) to the end here, and close them in this context
    resp.close()
    return resp


def test_every_route_declares_its_roles_or_is_public(app):
    undeclared = [(rule.rule, method, endpoint) for rule, method, endpoint, roles in cells(app)
                  if roles is None and (endpoint, method) not in PUBLIC]
    assert undeclared == []
    declared_public = {(endpoint, method) for _, method, endpoint, roles in cells(app) if roles is None}
    assert declared_public == set(PUBLIC), "PUBLIC lists a route that is gone or now has roles"


def test_matrix(app, ops_world):
    client = ops_world.client
    failures = []
    for rule, method, endpoint, roles in cells(app):
        path = url_for_rule(rule, ops_world.round_id)
        anonymous = call(client, method, path, None)
        if roles is None:
            if anonymous.status_code in (401, 403):
                failures.append((method, path, "public", anonymous.status_code))
            continue
        page = endpoint.startswith("web.")
        if page:
            ok = anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
        else:
            ok = anonymous.status_code == 401 and anonymous.mimetype == "application/problem+json"
        if not ok:
            failures.append((method, path, "no token", anonymous.status_code))
        for role, username in ROLES.items():
            resp = call(client, method, path, fresh_token(client, username))
            if role in roles:
                if resp.status_code in (401, 403):
                    failures.append((method, path, role, resp.status_code, "should be allowed"))
            elif resp.status_code != 403:
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
