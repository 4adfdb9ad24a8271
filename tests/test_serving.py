"""Production serving: health and readiness, request ids and JSON request logs, login rate limits."""

import io
import json
import logging
import os
import subprocess
import sys
import urllib.request

import pytest
from sqlalchemy import text

from opsserver import create_app
from opsserver.extensions import db

from .helpers.problems import assert_problem
from .helpers.servers import free_port, start_gunicorn, stop, wait_ready



def make_app(db_url, **config):
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, **config})


def test_healthz_needs_nothing(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.json == {"status": "ok"}


def test_readyz_checks_the_database_and_its_schema(app, client):
    resp = client.get("/readyz")
    assert resp.status_code == 200, resp.json
    from opsserver.serving.routes import schema_head

    assert resp.json["schema"] == schema_head()
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = '0001_foundation'"))
        db.session.commit()
    resp = client.get("/readyz")
    assert_problem(resp, 503)
    body = resp.json
    assert "0001_foundation" in body["detail"] and "init-db" in body["detail"]


def test_readyz_is_503_when_the_database_is_gone(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'missing' / 'nowhere.sqlite3'}")
    resp = app.test_client().get("/readyz")
    assert_problem(resp, 503)
    assert resp.headers["Retry-After"]


def test_the_wsgi_entry_point_moves_the_built_app_out_of_the_collectors_way(tmp_path):
    """gunicorn loads wsgi.py: the app's long-lived objects are frozen, so full collections skip them."""
    code = "import gc, wsgi; print(gc.get_freeze_count(), len(gc.get_objects()))"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'ops.sqlite3'}", "SECRET_KEY": "test"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    frozen, collected = map(int, out.stdout.split()[-2:])
    assert frozen > 10 * collected  # nearly everything the import made is out of the collector's way


def test_request_ids_are_kept_or_made(client):
    assert client.get("/healthz", headers={"X-Request-ID": "lb-1234.a"}).headers["X-Request-ID"] == "lb-1234.a"
    made = client.get("/healthz", headers={"X-Request-ID": "no spaces <allowed>"}).headers["X-Request-ID"]
    assert made != "no spaces <allowed>" and len(made) == 32
    assert client.get("/api/v1/nowhere").headers["X-Request-ID"]  # errors carry one too


def test_one_json_line_per_request(db_url, world):
    """With OPS_REQUEST_LOG on, each request writes a JSON line with its id, path, status, time and user;
    never the query string (it could hold what a log must not)."""
    logger = logging.getLogger("opsserver.requests")
    logger.handlers.clear()
    app = make_app(db_url, OPS_REQUEST_LOG=True)
    buffer = io.StringIO()
    logger.handlers[0].setStream(buffer)  # the handler writes to stderr; read what it writes here
    try:
        client = app.test_client()
        token = world.tokens["commander"]
        client.get("/api/v1/status?secret=do-not-log", headers={"Authorization": f"Bearer {token}",
                                                                 "X-Request-ID": "req-42"})
        client.get("/healthz")
    finally:
        logger.handlers.clear()
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert len(lines) == 2
    entry = next(e for e in lines if e.get("request_id") == "req-42")
    assert entry["path"] == "/api/v1/status" and entry["status"] == 200 and entry["method"] == "GET"
    assert entry["user"] == "commander" and entry["duration_ms"] >= 0 and entry["time"]
    assert lines[1]["path"] == "/healthz" and lines[1]["user"] is None and len(lines[1]["request_id"]) == 32
    assert not any("do-not-log" in json.dumps(e) or token in json.dumps(e) for e in lines)


def test_gunicorn_writes_one_line_per_request(db_url, tmp_path):
    """Served as in production (gunicorn.conf.py), a request is logged once: the app's JSON line, with its
    request id; gunicorn writes no access line of its own beside it."""
    log = tmp_path / "server.log"
    port = free_port()
    # --capture-output: the workers' stdout and stderr (where an access log "-" and the JSON lines go) land
    # in the one file with gunicorn's own log.
    proc = start_gunicorn(db_url, port, workers=1, args=("--error-logfile", str(log), "--capture-output"),
                          OPS_REQUEST_LOG="1", OPS_LOG_LEVEL="info")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc, "app server")
        for n in range(3):
            urllib.request.urlopen(urllib.request.Request(f"{base}/healthz", headers={"X-Request-ID": f"one-{n}"}))
    finally:
        stop(proc)
    mentions = [line for line in log.read_text().splitlines() if "/healthz" in line]
    assert len(mentions) == 3, mentions
    assert sorted(json.loads(line)["request_id"] for line in mentions) == ["one-0", "one-1", "one-2"]


def login(client, username, password, addr="10.0.0.1"):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": addr})


def test_login_attempts_are_limited_per_address(db_url, world):
    app = make_app(db_url, OPS_RATELIMIT_ENABLED=True, OPS_LOGIN_RATE_PER_ADDRESS="2 per minute")
    client = app.test_client()
    assert login(client, "commander", "wrong").status_code == 401
    assert login(client, "admin", "wrong").status_code == 401
    resp = login(client, "auditor", "password-auditor")
    assert_problem(resp, 429)
    assert "address" in resp.json["detail"]
    assert login(client, "auditor", "password-auditor", addr="10.0.0.2").status_code == 200


def test_limits_can_be_off(db_url, world):
    app = make_app(db_url, OPS_RATELIMIT_ENABLED=False, OPS_LOGIN_RATE_PER_ADDRESS="1 per minute")
    client = app.test_client()
    assert [login(client, "commander", "password-commander").status_code for _ in range(3)] == [200] * 3


@pytest.mark.parametrize("proxies, expected", [(0, "127.0.0.1"), (1, "203.0.113.7")])
def test_client_address_behind_a_trusted_proxy(db_url, world, proxies, expected):
    """Only with OPS_TRUSTED_PROXIES set is X-Forwarded-For believed (as the address in the audit log)."""
    app = make_app(db_url, OPS_TRUSTED_PROXIES=proxies)
    client = app.test_client()
    resp = client.post("/api/v1/auth/token", json={"username": "commander", "password": "password-commander"},
                       headers={"X-Forwarded-For": "203.0.113.7"})
    assert resp.status_code == 200
    with app.app_context():
        payload = db.session.execute(text(
            "SELECT payload FROM audit_events WHERE action = 'auth.login' ORDER BY seq DESC LIMIT 1")).scalar()
    assert json.loads(payload)["remote_addr"] == expected


@pytest.mark.parametrize("allow, peer, expected", [
    ("127.0.0.1", "198.51.100.9", "198.51.100.9"),  # straight to gunicorn from elsewhere: its own address
    ("127.0.0.1", "127.0.0.1", "203.0.113.7"),
    ("10.0.0.5, 127.0.0.1", "127.0.0.1", "203.0.113.7"),
    ("10.0.0.5", "127.0.0.1", "127.0.0.1"),
    ("*", "198.51.100.9", "203.0.113.7"),
])
def test_forwarded_headers_are_believed_only_from_a_listed_proxy(db_url, world, allow, peer, expected):
    """With OPS_TRUSTED_PROXIES=1, X-Forwarded-For is the client's address only when the peer is one of
    OPS_FORWARDED_ALLOW_IPS (as gunicorn reads it; `*`: any); any other peer keeps its own address."""
    app = make_app(db_url, OPS_TRUSTED_PROXIES=1, OPS_FORWARDED_ALLOW_IPS=allow)
    client = app.test_client()
    resp = client.post("/api/v1/auth/token", json={"username": "commander", "password": "password-commander"},
                       headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
                       environ_base={"REMOTE_ADDR": peer})
    assert resp.status_code == 200
    with app.app_context():
        payload = db.session.execute(text(
            "SELECT payload FROM audit_events WHERE action = 'auth.login' ORDER BY seq DESC LIMIT 1")).scalar()
    assert json.loads(payload)["remote_addr"] == expected


# --- abuse limits and security headers --------------------------------------------------------------

def test_json_nested_too_deeply_is_a_400_never_a_500(ops_world, rows):
    before = rows()
    deep = "[" * 50_000 + "]" * 50_000
    for path in ("/api/v1/auth/token", "/api/v1/checkins", f"/api/v1/rounds/{ops_world.round_id}/reports",
                 "/api/v1/sync"):
        resp = ops_world.client.post(path, data=deep, headers={**ops_world.headers("commander"),
                                                               "Content-Type": "application/json"})
        assert_problem(resp, 400)
    just_over = '{"items": [' + "[" * 32 + "]" * 32 + "]}"
    assert_problem(ops_world.client.post("/api/v1/sync", data=just_over, headers={
        **ops_world.headers("commander"), "Content-Type": "application/json"}), 400)
    assert rows() == before


@pytest.mark.parametrize("body", ['{"latitude": NaN}', '{"latitude": Infinity}', '{"latitude": 1e400}',
                                  '{"point_code": "\\ud800"}'], ids=["nan", "infinity", "overflow", "lone-surrogate"])
def test_json_that_is_not_standard_json_is_a_malformed_body(ops_world, rows, body):
    """Python's parser lets NaN, Infinity and lone surrogates through, to fail later in a hash or in the
    database; request bodies are read as strict JSON, so each is a 400 naming the body."""
    before = rows()
    for path in ("/api/v1/checkins", "/api/v1/sync"):
        resp = ops_world.client.post(path, data=body, headers={**ops_world.headers("crew1"),
                                                               "Content-Type": "application/json"})
        assert_problem(resp, 400, field="(body)")
    assert rows() == before


def test_security_headers_on_every_answer(client):
    for path in ("/healthz", "/api/v1/points", "/login"):
        resp = client.get(path)
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert resp.headers["X-Frame-Options"] == "SAMEORIGIN"
    policy = client.get("/login").headers["Content-Security-Policy"]
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    assert directives["script-src"] == "'self'"  # the login page has no inline script
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'self'"
    assert "unsafe-eval" not in policy and "'unsafe-inline'" not in directives["script-src"]
    assert "Content-Security-Policy" not in client.get("/api/v1/points").headers  # JSON, not a page


def test_map_page_policy_allows_exactly_its_inline_scripts(app, ops_world):
    import base64
    import hashlib
    import re

    resp = ops_world.client.get("/maps/status", headers=ops_world.headers("commander"))
    assert resp.status_code == 200
    scripts = re.findall(rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script>", resp.data, re.S)
    assert scripts
    policy = resp.headers["Content-Security-Policy"]
    for body in scripts:
        assert "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'" in policy
    assert "https://" not in policy  # the default tiles are none (the offline base layer): no remote origin


def test_tile_origins():
    from opsserver.serving.security import tile_origins

    assert tile_origins("none") == [] and tile_origins(None) == []
    assert tile_origins("osm") == ["https://tile.openstreetmap.org"]
    assert tile_origins("tianditu:KEY") == ["https://*.tianditu.gov.cn"]
    assert tile_origins("http://tiles.local:8080/{z}/{x}/{y}.png") == ["http://tiles.local:8080"]


def test_session_cookie_is_httponly_samesite_and_secure_by_default(db_url, world):
    from opsserver.config import Config

    assert Config.SESSION_COOKIE_SECURE is True and Config.SESSION_COOKIE_HTTPONLY is True
    app = make_app(db_url, SESSION_COOKIE_SECURE=True, WTF_CSRF_ENABLED=False)
    client = app.test_client()
    resp = client.post("/login", data={"username": "commander", "password": "password-commander"},
                       base_url="https://ops.example")
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


def test_logins_go_on_when_the_shared_counter_store_is_down(db_url, world):
    """A Redis that does not answer lets logins through (logged); the audited lockout still counts."""
    app = make_app(db_url, OPS_RATELIMIT_ENABLED=True, OPS_RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0",
                   OPS_LOGIN_RATE_PER_ADDRESS="1 per minute")
    client = app.test_client()
    assert [login(client, "commander", "password-commander").status_code for _ in range(2)] == [200, 200]


def test_only_the_apps_own_pages_get_their_inline_scripts_allowed(app):
    """A page that did not declare its inline scripts as its own gets no hash for them: an inline script
    slipped in through data would not run."""
    from flask import Response

    from opsserver.serving.security import allow_inline_scripts

    page = "<html><body><script>alert(1)</script></body></html>"

    @app.get("/_plain")
    def _plain():
        return Response(page, mimetype="text/html")

    @app.get("/_own")
    def _own():
        allow_inline_scripts()
        return Response(page, mimetype="text/html")

    client = app.test_client()
    assert "sha256-" not in client.get("/_plain").headers["Content-Security-Policy"]
    assert "'sha256-" in client.get("/_own").headers["Content-Security-Policy"]


def test_vendor_files_stay_inside_their_package(client):
    for path in ("/vendor/leaflet/../../../../../../etc/passwd.css", "/vendor/leaflet/..%2f..%2fpackage.json",
                 "/vendor/nothing-here/x.css"):
        assert client.get(path).status_code == 404, path
    css = client.get("/vendor/leaflet-timedimension/dist/leaflet.timedimension.control.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    text = css.get_data(as_text=True)
    assert "bootstrapcdn" not in text and "/vendor/glyphicons-only-bootstrap/fonts/" in text
