"""Accounts, bearer tokens, the login lock-out and the role checks of every endpoint built so far."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from opsserver import create_app
from opsserver.extensions import db

from .helpers.problems import assert_problem
from .helpers.world import point_data

ROLES = ("crew", "commander", "auditor", "admin")
USER_OF_ROLE = {"crew": "crew1", "commander": "commander", "auditor": "auditor", "admin": "admin"}


def login(client, username, password=None):
    """POST /auth/token; the password defaults to the fixture's."""
    return client.post("/api/v1/auth/token",
                       json={"username": username, "password": password or f"password-{username}"})


def audit_events(world, **params):
    """Every audit event matching the filters, read as the auditor (all pages)."""
    items, cursor = [], None
    while True:
        query = dict(params, limit=100, **({"cursor": cursor} if cursor else {}))
        resp = world.client.get("/api/v1/audit/events", query_string=query, headers=world.headers("auditor"))
        assert resp.status_code == 200, resp.json
        items += resp.json["items"]
        cursor = resp.json["next_cursor"]
        if not cursor:
            return items


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


# --- tokens ---------------------------------------------------------------------------------------

def test_login_returns_a_bearer_token(world):
    """A right password answers access_token, token_type Bearer, a future expires_at and the role."""
    resp = login(world.client, "commander")
    assert resp.status_code == 200
    body = resp.json
    assert body["token_type"] == "Bearer"
    assert body["role"] == "commander"
    assert isinstance(body["access_token"], str) and len(body["access_token"]) >= 32
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires.tzinfo is not None
    assert datetime.now(UTC) < expires <= datetime.now(UTC) + timedelta(days=1)
    assert world.client.get("/api/v1/points", headers=bearer(body["access_token"])).status_code == 200


def test_each_login_gets_a_new_token(world):
    """Two logins of one account give two different tokens, both live."""
    first, second = login(world.client, "auditor").json, login(world.client, "auditor").json
    assert first["access_token"] != second["access_token"]
    for body in (first, second):
        assert world.client.get("/api/v1/points", headers=bearer(body["access_token"])).status_code == 200


def test_login_is_audited(world):
    """A successful login writes an `auth.login` event."""
    before = len(audit_events(world, action="auth.login"))
    assert login(world.client, "commander").status_code == 200
    events = audit_events(world, action="auth.login")
    assert len(events) == before + 1
    assert events[-1]["actor"] == "commander"


@pytest.mark.parametrize("username,password", [("commander", "wrong-password"), ("nobody", "password-nobody")])
def test_wrong_password_is_401_and_audited(world, rows, username, password):
    """A wrong password or unknown user is a 401 problem, recorded as `auth.login_failed`, with no token made."""
    before = rows()
    body = assert_problem(login(world.client, username, password), 401)
    assert "access_token" not in body
    after = rows()
    assert after["tokens"] == before["tokens"]
    assert after["audit_events"] == before["audit_events"] + 1
    failed = audit_events(world, action="auth.login_failed")
    assert [e["entity_id"] for e in failed] == [username]
    assert password not in str(failed)


def test_login_with_missing_fields_is_refused(world):
    """A login without a password is a 422 naming the field."""
    resp = world.client.post("/api/v1/auth/token", json={"username": "admin"})
    assert_problem(resp, 422, fields=["password"])


def test_eleventh_attempt_is_locked_out_even_with_the_right_password(world):
    """After 10 failed logins for one account, the next attempt is 429 even with the right password."""
    for _ in range(10):
        assert_problem(login(world.client, "commander", "wrong-password"), 401)
    body = assert_problem(login(world.client, "commander"), 429)
    assert "access_token" not in body
    assert_problem(login(world.client, "commander", "wrong-password"), 429)
    # the lock is per account: another account still logs in
    assert login(world.client, "auditor").status_code == 200
    # tokens issued before the lock-out keep working
    assert world.client.get("/api/v1/points", headers=world.headers("commander")).status_code == 200


def test_nine_failures_do_not_lock(world):
    """Nine failures still leave the tenth attempt free to succeed."""
    for _ in range(9):
        assert_problem(login(world.client, "commander", "wrong-password"), 401)
    assert login(world.client, "commander").status_code == 200


def test_old_failures_outside_the_window_do_not_count(world, db_url):
    """Failures older than the 15-minute window no longer lock the account."""
    app2 = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url,
                       "OPS_LOGIN_WINDOW": timedelta(microseconds=1)})
    try:
        client2 = app2.test_client()
        for _ in range(12):
            assert_problem(login(client2, "commander", "wrong-password"), 401)
        assert login(client2, "commander").status_code == 200
    finally:
        with app2.app_context():
            db.engine.dispose()


def test_token_is_stored_only_as_its_sha256(app, world):
    """The raw token appears nowhere in the tokens table; its SHA-256 does."""
    raw = login(world.client, "admin").json["access_token"]
    with app.app_context():
        table = db.session.execute(text("SELECT * FROM tokens")).all()
        hashes = db.session.execute(text("SELECT token_hash FROM tokens")).scalars().all()
    assert table
    assert not any(raw in str(value) for row in table for value in row)
    assert hashlib.sha256(raw.encode()).hexdigest() in hashes


def test_logout_revokes_the_token(world):
    """After logout the token gets 401; other tokens of the same account still work."""
    other = login(world.client, "commander").json["access_token"]
    resp = world.client.post("/api/v1/auth/logout", headers=world.headers("commander"))
    assert resp.status_code in (200, 204)
    assert_problem(world.client.get("/api/v1/points", headers=world.headers("commander")), 401)
    assert_problem(world.client.post("/api/v1/auth/logout", headers=world.headers("commander")), 401)
    assert world.client.get("/api/v1/points", headers=bearer(other)).status_code == 200


def test_logout_is_audited(world):
    """Logging out writes an `auth.logout` event."""
    world.client.post("/api/v1/auth/logout", headers=world.headers("crew1"))
    assert [e["actor"] for e in audit_events(world, action="auth.logout")] == ["crew1"]


def test_expired_token_is_refused(world, db_url):
    """A token past its expiry is a 401 problem."""
    app2 = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "OPS_TOKEN_TTL": timedelta(seconds=-1)})
    try:
        resp = login(app2.test_client(), "admin")
        assert resp.status_code == 200
        assert datetime.fromisoformat(resp.json["expires_at"]) < datetime.now(UTC)
        token = resp.json["access_token"]
    finally:
        with app2.app_context():
            db.engine.dispose()
    assert_problem(world.client.get("/api/v1/points", headers=bearer(token)), 401)
    assert_problem(world.client.get("/api/v1/accounts", headers=bearer(token)), 401)


@pytest.mark.parametrize("header", ["Bearer not-a-real-token", "Basic YWRtaW46cGFzc3dvcmQtYWRtaW4=", "Bearer ",
                                    "token-without-scheme"])
def test_bad_authorization_headers_are_401(world, header):
    """An unknown token or a non-bearer header is a 401 problem."""
    resp = world.client.get("/api/v1/points", headers={"Authorization": header})
    assert_problem(resp, 401)


def test_inactive_account_cannot_log_in_nor_use_its_token(app, world):
    """Deactivating an account (in the database) stops its login and its live tokens."""
    with app.app_context():
        db.session.execute(text("UPDATE accounts SET active = :f WHERE username = 'auditor'"), {"f": False})
        db.session.commit()
    assert_problem(login(world.client, "auditor"), 401)
    assert_problem(world.client.get("/api/v1/points", headers=world.headers("auditor")), 401)


# --- accounts -------------------------------------------------------------------------------------

def test_admin_creates_a_commander_account(world):
    """An admin creates a commander; the answer has no password and the account can log in."""
    resp = world.client.post("/api/v1/accounts", headers=world.headers("admin"),
                             json={"username": "zhou.li", "password": "Correct-Horse-9", "role": "commander"})
    assert resp.status_code == 201
    body = resp.json
    assert body["username"] == "zhou.li" and body["role"] == "commander" and body["crew_id"] is None
    assert isinstance(body["id"], int)
    assert "password" not in body and "password_hash" not in body
    assert "Correct-Horse-9" not in resp.get_data(as_text=True)
    token = login(world.client, "zhou.li", "Correct-Horse-9")
    assert token.status_code == 200 and token.json["role"] == "commander"


def test_admin_creates_a_crew_account_linked_to_a_crew_member(world):
    """A crew account names its crew member and logs in as role crew."""
    crew_id = world.crew["bo"]
    resp = world.client.post("/api/v1/accounts", headers=world.headers("admin"),
                             json={"username": "bo.crew", "password": "Bo-password-1", "role": "crew",
                                   "crew_id": crew_id})
    assert resp.status_code == 201
    assert resp.json["role"] == "crew" and resp.json["crew_id"] == crew_id
    token = login(world.client, "bo.crew", "Bo-password-1")
    assert token.status_code == 200 and token.json["role"] == "crew"


@pytest.mark.parametrize("extra", [{}, {"crew_id": None}, {"crew_id": 999999}])
def test_crew_account_needs_an_existing_crew_member(world, rows, extra):
    """A crew account without a (real) crew_id is a 422 naming crew_id, and nothing is written."""
    before = rows()
    resp = world.client.post("/api/v1/accounts", headers=world.headers("admin"),
                             json={"username": "nocrew", "password": "Nocrew-pass-1", "role": "crew", **extra})
    assert_problem(resp, 422, fields=["crew_id"])
    assert rows() == before


@pytest.mark.parametrize("body,field", [
    ({"username": "x1", "password": "Long-enough-1", "role": "commander"}, "username"),
    ({"username": "bad name", "password": "Long-enough-1", "role": "commander"}, "username"),
    ({"username": "shorty", "password": "short", "role": "commander"}, "password"),
    ({"username": "weird", "password": "Long-enough-1", "role": "pilot"}, "role"),
    ({"password": "Long-enough-1", "role": "commander"}, "username"),
])
def test_account_validation_names_the_field(world, rows, body, field):
    """Each invalid account field is a 422 naming it, and nothing is written."""
    before = rows()
    assert_problem(world.client.post("/api/v1/accounts", headers=world.headers("admin"), json=body), 422,
                   fields=[field])
    assert rows() == before


def test_duplicate_username_is_409(world, rows):
    """A username that exists already is a 409 problem, and nothing is written."""
    before = rows()
    resp = world.client.post("/api/v1/accounts", headers=world.headers("admin"),
                             json={"username": "commander", "password": "Another-pass-1", "role": "auditor"})
    assert_problem(resp, 409)
    assert rows() == before
    # the original account is untouched
    assert login(world.client, "commander").json["role"] == "commander"


def test_passwords_are_argon2_hashes(app, world):
    """Stored password hashes are Argon2 and verify against the password."""
    world.client.post("/api/v1/accounts", headers=world.headers("admin"),
                      json={"username": "hashcheck", "password": "Hash-me-please-1", "role": "auditor"})
    with app.app_context():
        hashes = dict(db.session.execute(text("SELECT username, password_hash FROM accounts")).all())
    assert set(hashes) >= {"admin", "commander", "auditor", "crew1", "crew2", "hashcheck"}
    assert all(h.startswith("$argon2") for h in hashes.values())
    assert "Hash-me-please-1" not in hashes["hashcheck"]
    from argon2 import PasswordHasher
    assert PasswordHasher().verify(hashes["hashcheck"], "Hash-me-please-1")


def test_password_never_appears_in_answers_or_audit(app, world):
    """The password is in no answer and no audit payload (creation, login, failed login)."""
    secret = "Unmistakable-Secret-7731"
    created = world.client.post("/api/v1/accounts", headers=world.headers("admin"),
                                json={"username": "carefully", "password": secret, "role": "auditor"})
    assert created.status_code == 201
    logged = login(world.client, "carefully", secret)
    failed = login(world.client, "carefully", secret + "-typo")
    listed = world.client.get("/api/v1/accounts", headers=world.headers("admin"))
    for resp in (created, logged, failed, listed):
        assert secret not in resp.get_data(as_text=True)
    events = audit_events(world)
    assert {"account.create", "auth.login", "auth.login_failed"} <= {e["action"] for e in events}
    assert secret not in str(events)
    with app.app_context():
        payloads = db.session.execute(text("SELECT payload FROM audit_events")).scalars().all()
    assert not any(secret in p for p in payloads)


def test_account_creation_is_audited(world):
    """Creating an account writes an `account.create` event by the admin."""
    world.client.post("/api/v1/accounts", headers=world.headers("admin"),
                      json={"username": "audited", "password": "Audited-pass-1", "role": "auditor"})
    events = [e for e in audit_events(world, action="account.create") if e["payload"].get("username") == "audited"]
    assert len(events) == 1
    assert events[0]["actor"] == "admin" and events[0]["payload"]["role"] == "auditor"


def test_account_list_paginates(world):
    """Walking the account list with limit=2 yields every account exactly once, without password hashes."""
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        resp = world.client.get("/api/v1/accounts", query_string=query, headers=world.headers("admin"))
        assert resp.status_code == 200
        assert set(resp.json) == {"items", "next_cursor"}
        assert len(resp.json["items"]) <= 2
        for item in resp.json["items"]:
            assert "password" not in item and "password_hash" not in item
        seen += [item["username"] for item in resp.json["items"]]
        pages += 1
        cursor = resp.json["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(["admin", "commander", "auditor", "crew1", "crew2"])
    assert pages == 3


def test_account_list_filters_by_role(world):
    """`role=crew` lists only the crew accounts."""
    resp = world.client.get("/api/v1/accounts?role=crew", headers=world.headers("admin"))
    assert sorted(i["username"] for i in resp.json["items"]) == ["crew1", "crew2"]


@pytest.mark.parametrize("role", ["crew", "commander", "auditor"])
def test_accounts_are_for_admins_only(world, rows, role):
    """Every non-admin role gets 403 on listing and creating accounts, and nothing is written."""
    headers = world.headers(USER_OF_ROLE[role])
    assert_problem(world.client.get("/api/v1/accounts", headers=headers), 403)
    before = rows()
    resp = world.client.post("/api/v1/accounts", headers=headers,
                             json={"username": "sneaky", "password": "Sneaky-pass-1", "role": "admin"})
    assert_problem(resp, 403)
    assert rows() == before


def test_accounts_need_a_token(world):
    """Without a token, accounts are 401 with a Bearer challenge."""
    resp = world.client.get("/api/v1/accounts")
    assert_problem(resp, 401)
    assert resp.headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert_problem(world.client.post("/api/v1/accounts", json={"username": "anon", "password": "Anon-pass-1",
                                                               "role": "admin"}), 401)


# --- the role matrix ------------------------------------------------------------------------------

def _valid_body(path, world):
    """A body the endpoint would accept, so a missing role check would show as a write."""
    now = datetime.now(UTC)
    return {
        "/api/v1/accounts": {"username": "matrix", "password": "Matrix-pass-1", "role": "auditor"},
        "/api/v1/points": point_data("LH50"),
        "/api/v1/points/LH01": {"name": "Changed by the matrix"},
        "/api/v1/crew": {"name": "Matrix", "phone": "13900000001", "certificate_no": "CERT-matrix",
                         "certificate_expires": (now + timedelta(days=300)).date().isoformat()},
        "/api/v1/shifts": {"point_code": "LH02", "crew_id": world.crew["bo"],
                           "starts_at": (now + timedelta(days=2)).isoformat(),
                           "ends_at": (now + timedelta(days=2, hours=8)).isoformat()},
    }.get(path)


# (method, path, roles allowed)
ENDPOINTS = [
    ("GET", "/api/v1/accounts", {"admin"}),
    ("POST", "/api/v1/accounts", {"admin"}),
    ("GET", "/api/v1/points", set(ROLES)),
    ("GET", "/api/v1/points/LH01", set(ROLES)),
    ("POST", "/api/v1/points", {"admin"}),
    ("PATCH", "/api/v1/points/LH01", {"admin"}),
    ("GET", "/api/v1/crew", {"commander", "admin"}),
    ("POST", "/api/v1/crew", {"commander", "admin"}),
    ("GET", "/api/v1/shifts", set(ROLES)),
    ("POST", "/api/v1/shifts", {"commander"}),
    ("GET", "/api/v1/audit/events", {"auditor", "admin"}),
    ("GET", "/api/v1/audit/verify", {"auditor", "admin"}),
    ("POST", "/api/v1/auth/logout", set(ROLES)),
]


@pytest.mark.parametrize("method,path,allowed", ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_endpoint_needs_a_token(world, rows, method, path, allowed):
    """Without a token every protected endpoint is a 401 problem and writes nothing."""
    before = rows()
    resp = world.client.open(path, method=method, json=_valid_body(path, world))
    assert_problem(resp, 401)
    assert rows() == before


REFUSED = [(m, p, role) for m, p, allowed in ENDPOINTS for role in ROLES if role not in allowed]


@pytest.mark.parametrize("method,path,role", REFUSED, ids=[f"{m} {p} as {r}" for m, p, r in REFUSED])
def test_endpoint_refuses_roles(world, rows, method, path, role):
    """A role the contract does not allow gets a 403 problem, even with a valid body, and nothing is written."""
    before = rows()
    resp = world.client.open(path, method=method, json=_valid_body(path, world),
                             headers=world.headers(USER_OF_ROLE[role]))
    assert_problem(resp, 403)
    assert rows() == before


ALLOWED_READS = [(p, role) for m, p, allowed in ENDPOINTS if m == "GET" for role in sorted(allowed)]


@pytest.mark.parametrize("path,role", ALLOWED_READS, ids=[f"GET {p} as {r}" for p, r in ALLOWED_READS])
def test_endpoint_serves_allowed_roles(world, path, role):
    """Every role the contract allows can read."""
    resp = world.client.get(path, headers=world.headers(USER_OF_ROLE[role]))
    assert resp.status_code == 200, resp.json


ALLOWED_WRITES = [(m, p, role) for m, p, allowed in ENDPOINTS if m != "GET" for role in sorted(allowed)]


@pytest.mark.parametrize("method,path,role", ALLOWED_WRITES, ids=[f"{m} {p} as {r}" for m, p, r in ALLOWED_WRITES])
def test_endpoint_accepts_allowed_roles(world, method, path, role):
    """Every role the contract allows can write, with a valid body."""
    resp = world.client.open(path, method=method, json=_valid_body(path, world),
                             headers=world.headers(USER_OF_ROLE[role]))
    assert resp.status_code in (200, 201, 204), resp.get_data(as_text=True)
