"""Stopping an account: PATCH /api/v1/accounts/{username} and `ops account`; page sessions held server-side."""

import hashlib
import json
import threading

import pytest
from sqlalchemy import event, text

from opsserver.accounts.services import create_account, update_account
from opsserver.errors import ProblemError
from opsserver.extensions import db

from .helpers.pages import PAGE_URLS, csrf_token, sign_in
from .helpers.problems import assert_problem, assert_refused


def patch(world, username: str, body, who: str = "admin"):
    return world.client.patch(f"/api/v1/accounts/{username}", json=body, headers=world.headers(who))


def login(client, username: str, password: str | None = None):
    return client.post("/api/v1/auth/token", json={"username": username,
                                                   "password": password or f"password-{username}"})


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def token_rows(app, username: str) -> list:
    with app.app_context():
        return db.session.execute(text(
            "SELECT t.kind, t.revoked_at FROM tokens t JOIN accounts a ON a.id = t.account_id "
            "WHERE a.username = :u"), {"u": username}).all()


def session_of(app, client) -> dict:
    """The page session as the browser holds it (the signed cookie, decoded)."""
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def audit_payloads(app, action: str) -> list[dict]:
    with app.app_context():
        rows = db.session.execute(text("SELECT actor, entity_id, payload FROM audit_events WHERE action = :a "
                                       "ORDER BY seq"), {"a": action}).all()
    return [{"actor": r[0], "entity_id": r[1], **json.loads(r[2])} for r in rows]


# --- disabling ------------------------------------------------------------------------------------

def test_disabling_revokes_every_token_and_page_session_at_once(app, world):
    """A lost phone: `active: false` ends every bearer token and page session of the account in one step,
    and re-enabling it does not bring them back."""
    second = login(world.client, "commander").json["access_token"]
    browser = app.test_client()
    assert sign_in(browser).status_code == 302
    assert browser.get("/").status_code == 200
    resp = patch(world, "commander", {"active": False})
    assert resp.status_code == 200, resp.json
    assert resp.json["active"] is False and resp.json["username"] == "commander"
    assert_problem(world.client.get("/api/v1/points", headers=world.headers("commander")), 401)
    assert_problem(world.client.get("/api/v1/points", headers=bearer(second)), 401)
    assert browser.get("/").status_code == 302  # the page session is over: back to the login
    kinds = token_rows(app, "commander")
    assert {k for k, _ in kinds} == {"bearer", "session"} and all(revoked for _, revoked in kinds)
    # a disabled account cannot log in, through the API nor the page
    assert_problem(login(world.client, "commander"), 401)
    assert sign_in(app.test_client()).status_code == 401
    assert patch(world, "commander", {"active": True}).json["active"] is True
    assert_problem(world.client.get("/api/v1/points", headers=bearer(second)), 401)
    fresh = login(world.client, "commander")
    assert fresh.status_code == 200
    assert world.client.get("/api/v1/points", headers=bearer(fresh.json["access_token"])).status_code == 200


def test_other_accounts_keep_their_tokens(world):
    """Disabling one account touches no other account's tokens."""
    assert patch(world, "crew1", {"active": False}).status_code == 200
    for who in ("commander", "crew2", "auditor"):
        assert world.client.get("/api/v1/points", headers=world.headers(who)).status_code == 200


# --- role, password, crew -------------------------------------------------------------------------

def test_a_new_password_replaces_the_old_one_and_ends_its_sessions(app, world):
    """After a password change the old password is refused, the new one works, and the tokens issued
    with the old one are revoked (whoever has the old password may have used it)."""
    resp = patch(world, "auditor", {"password": "A-brand-new-pass-42"})
    assert resp.status_code == 200 and "password" not in resp.json and "password_hash" not in resp.json
    assert_problem(login(world.client, "auditor"), 401)
    assert login(world.client, "auditor", "A-brand-new-pass-42").status_code == 200
    assert_problem(world.client.get("/api/v1/points", headers=world.headers("auditor")), 401)


def test_role_and_crew_change_apply_to_live_tokens(world):
    """A role change applies at once: the auditor's own token now acts as a crew member of Bo."""
    resp = patch(world, "auditor", {"role": "crew", "crew_id": world.crew["bo"]})
    assert resp.status_code == 200, resp.json
    assert resp.json["role"] == "crew" and resp.json["crew_id"] == world.crew["bo"]
    me = world.client.get("/api/v1/me", headers=world.headers("auditor")).json
    assert me["role"] == "crew" and me["crew_id"] == world.crew["bo"]
    assert_problem(world.client.get("/api/v1/audit/events", headers=world.headers("auditor")), 403)


@pytest.mark.parametrize("username,body,field", [
    ("commander", {}, "(body)"),
    ("commander", {"role": "pilot"}, "role"),
    ("commander", {"password": "short"}, "password"),
    ("commander", {"crew_id": 999999}, "crew_id"),
    ("commander", {"role": "crew"}, "crew_id"),  # a crew account names its crew member
    ("crew1", {"crew_id": None}, "crew_id"),
    ("commander", {"active": 1}, "active"),
    ("commander", {"active": "false"}, "active"),
    ("commander", {"active": None}, "active"),
    ("commander", {"username": "renamed"}, "username"),  # unknown fields are refused, not ignored
    ("commander", {"password_hash": "$argon2id$x"}, "password_hash"),
    ("commander", {"role": "admin", "colour": "red"}, "colour"),
])
def test_patch_validation_names_the_field(world, rows, username, body, field):
    """Validated like POST /accounts; each refusal is a 422 naming the field, and nothing is written."""
    before = rows()
    assert_problem(patch(world, username, body), 422, field=field)
    assert rows() == before


def test_patch_without_a_body_names_the_body(world, rows):
    before = rows()
    resp = world.client.patch("/api/v1/accounts/commander", headers=world.headers("admin"))
    assert_problem(resp, 422, field="(body)")
    assert rows() == before


def test_unknown_username_is_404(world, rows):
    before = rows()
    assert_problem(patch(world, "nobody-here", {"active": False}), 404)
    assert rows() == before


def test_the_last_active_admin_is_kept(world, rows):
    """Nobody can disable or demote the last active admin (the accounts would have no keeper); with a
    second admin it is allowed."""
    before = rows()
    assert_problem(patch(world, "admin", {"active": False}), 409)
    assert_problem(patch(world, "admin", {"role": "commander"}), 409)
    assert rows() == before
    created = world.client.post("/api/v1/accounts", headers=world.headers("admin"),
                                json={"username": "admin2", "password": "Second-admin-1", "role": "admin"})
    assert created.status_code == 201
    assert patch(world, "admin", {"role": "commander"}).status_code == 200


def test_two_admins_disabling_each_other_at_once_leave_one_active(app, world):
    """Two admins each disable the other at the same moment: one change is refused with 409, so an active
    admin remains. The first holds its transaction open (before its commit) until the second has either
    finished or is waiting on a lock; without a lock taken before the count, both counted one other active
    admin and both committed (PostgreSQL; on SQLite the write lock already serialises them)."""
    with app.app_context():
        create_account("test", "admin2", "Second-admin-1", "admin")
        postgres = db.engine.dialect.name == "postgresql"
    first_counted, second_connected, second_done = threading.Event(), threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}

    def second_waits_or_is_done() -> None:
        first_counted.set()
        if not postgres:
            second_done.wait(1)  # it waits on the write lock; nothing to see from here
            return
        second_connected.wait()
        with db.engine.connect() as conn:
            while not second_done.is_set():
                waiting = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid "
                                            "AND wait_event_type = 'Lock'"), {"pid": outcomes["pid"]}).scalar()
                conn.rollback()  # the statistics views keep one snapshot per transaction
                if waiting:
                    return
                second_done.wait(0.01)

    def disable(actor: str, other: str, hold: bool) -> None:
        with app.app_context():
            if hold:
                event.listen(db.session(), "before_commit", lambda _session: second_waits_or_is_done())
            else:
                if postgres:  # its connection, to see from the other thread when it waits on a lock
                    outcomes["pid"] = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
                second_connected.set()
                first_counted.wait()
            try:
                outcomes[actor] = update_account(actor, other, {"active": False}).active
            except ProblemError as err:
                outcomes[actor] = err.status
            finally:
                if not hold:
                    second_done.set()

    threads = [threading.Thread(target=disable, args=("admin", "admin2", True)),
               threading.Thread(target=disable, args=("admin2", "admin", False))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(str(outcomes[actor]) for actor in ("admin", "admin2")) == ["409", "False"], outcomes
    with app.app_context():
        active = db.session.execute(text("SELECT count(*) FROM accounts WHERE role = 'admin' AND active")).scalar()
    assert active == 1


@pytest.mark.parametrize("who", ["crew1", "commander", "auditor"])
def test_patch_is_for_admins_only(world, rows, who):
    before = rows()
    assert_problem(patch(world, "crew2", {"active": False}, who=who), 403)
    assert rows() == before
    assert_problem(world.client.patch("/api/v1/accounts/crew2", json={"active": False}), 401)


def test_changes_are_audited_without_the_password(app, world):
    """One `account.update` event per change by the admin, with what changed; never the password nor its hash."""
    secret = "Never-in-the-log-77"
    assert patch(world, "crew2", {"password": secret, "active": False, "role": "crew"}).status_code == 200
    events = audit_payloads(app, "account.update")
    assert len(events) == 1
    event = events[0]
    assert event["actor"] == "admin" and event["username"] == "crew2"
    assert event["changes"] == {"active": [True, False], "password": "changed"}
    assert event["revoked_tokens"] == 1
    with app.app_context():
        new_hash = db.session.execute(text("SELECT password_hash FROM accounts WHERE username = 'crew2'")).scalar()
        payloads = db.session.execute(text("SELECT payload FROM audit_events")).scalars().all()
    assert not any(secret in p or new_hash in p for p in payloads)


def test_openapi_documents_the_patch(client):
    doc = client.get("/api/openapi.json").json
    operation = doc["paths"]["/api/v1/accounts/{username}"]["patch"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["minProperties"] == 1  # an empty body is not valid by the document either
    body = doc["components"]["schemas"][schema["allOf"][0]["$ref"].rsplit("/", 1)[1]]
    assert set(body["properties"]) == {"active", "role", "password", "crew_id"}
    assert body["additionalProperties"] is False
    assert body["properties"]["active"]["type"] == "boolean"
    assert {"200", "404", "409", "422"} <= set(operation["responses"])


# --- the command line -----------------------------------------------------------------------------

def test_ops_account_command_disables_and_enables(app, world, runner, monkeypatch):
    """`ops account USERNAME --disable` has the API's effect (tokens revoked at once), audited as the CLI user."""
    monkeypatch.setenv("USER", "ops-admin")
    result = runner.invoke(args=["ops", "account", "commander", "--disable"])
    assert result.exit_code == 0, result.output
    assert "commander" in result.output and "disabled" in result.output
    assert_problem(world.client.get("/api/v1/points", headers=world.headers("commander")), 401)
    assert_problem(login(world.client, "commander"), 401)
    events = audit_payloads(app, "account.update")
    assert events[-1]["actor"] == "cli:ops-admin" and events[-1]["changes"] == {"active": [True, False]}
    assert runner.invoke(args=["ops", "account", "commander", "--enable"]).exit_code == 0
    assert login(world.client, "commander").status_code == 200


def test_ops_account_command_sets_role_and_password(app, world, runner, monkeypatch):
    monkeypatch.setenv("OPS_PASSWORD", "From-the-environment-9")
    result = runner.invoke(args=["ops", "account", "auditor", "--role", "commander", "--password"])
    assert result.exit_code == 0, result.output
    assert "From-the-environment-9" not in result.output
    resp = login(world.client, "auditor", "From-the-environment-9")
    assert resp.status_code == 200 and resp.json["role"] == "commander"


def test_ops_account_command_unlinks_a_crew_member(app, world, runner):
    result = runner.invoke(args=["ops", "account", "crew1", "--role", "commander", "--no-crew"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        row = db.session.execute(text("SELECT role, crew_id FROM accounts WHERE username = 'crew1'")).one()
    assert tuple(row) == ("commander", None)


@pytest.mark.parametrize("args,says", [
    (["nobody-here", "--disable"], "nobody-here"),
    (["commander"], "nothing to change"),
    (["commander", "--role", "crew"], "crew_id"),
    (["admin", "--disable"], "last active admin"),
])
def test_ops_account_command_refusals(world, runner, rows, args, says):
    before = rows()
    result = runner.invoke(args=["ops", "account", *args])
    assert result.exit_code != 0 and says in result.output.lower(), result.output
    assert rows() == before


# --- the page session is a server-side record -----------------------------------------------------

def test_the_session_cookie_holds_no_bearer_token(app, world):
    """The cookie carries a random session id; only its SHA-256 is stored (a token row of kind 'session'),
    and neither the id nor anything else in the cookie is a bearer token for the API."""
    browser = app.test_client()
    assert sign_in(browser).status_code == 302
    values = [v for v in session_of(app, browser).values() if isinstance(v, str) and len(v) >= 20]
    assert values, "the session carries its id"
    for value in values:
        assert_problem(world.client.get("/api/v1/points", headers=bearer(value)), 401)
    with app.app_context():
        rows = db.session.execute(text("SELECT token_hash, kind FROM tokens")).all()
    assert any(hashlib.sha256(v.encode()).hexdigest() == h and kind == "session" for v in values for h, kind in rows)
    assert not any(v in str(row) for v in values for row in rows)


def test_signing_out_ends_the_session_record(app, world):
    """After signing out, a copy of the old cookie (kept by someone else) opens no page."""
    browser = app.test_client()
    sign_in(browser)
    stolen = browser.get_cookie("session").value
    assert browser.post("/logout", data={"csrf_token": csrf_token(browser, "/")}).status_code == 302
    assert all(revoked for kind, revoked in token_rows(app, "commander") if kind == "session")
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/").status_code == 302


def test_every_page_works_with_the_session(app, world):
    browser = app.test_client()
    sign_in(browser)
    for url in PAGE_URLS:
        assert browser.get(url).status_code == 200, url


def test_a_username_with_a_trailing_newline_is_refused(world, rows):
    """The pattern's `$` matches before a final newline: the field type refuses control characters."""
    assert_refused(rows, lambda: world.client.post(
        "/api/v1/accounts", json={"username": "newuser\n", "password": "long-enough-pass", "role": "auditor"},
        headers=world.headers("admin")), 422, field="username")
