"""Login limits: counted once for every worker (the app's database by default, Redis when configured),
the lockout per account and address with a much higher ceiling per account, unknown usernames limited
harder, and unknown and known usernames answered with the same work (one Argon2 check each)."""

from datetime import date, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from opsserver import create_app
from opsserver.extensions import db

from .helpers.pages import csrf_token
from .helpers.problems import assert_problem
from .helpers.servers import app_server, free_port, http_json



@pytest.fixture
def make_app(db_url):
    """Apps on the test's database with the limits on and otherwise the production settings; each app is
    what one worker process holds."""
    apps = []

    def make(**config):
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "OPS_RATELIMIT_ENABLED": True,
                          **config})
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def login(client, username: str, password: str | None = None, addr: str = "10.0.0.1"):
    return client.post("/api/v1/auth/token", json={"username": username,
                                                   "password": password or f"password-{username}"},
                       environ_base={"REMOTE_ADDR": addr})


def fail(client, username: str, addr: str, times: int = 1) -> None:
    for _ in range(times):
        resp = login(client, username, "wrong-password", addr)
        assert resp.status_code == 401, (username, addr, resp.json)


# --- one count for all workers -------------------------------------------------------------------

def test_the_limits_count_once_for_all_workers(make_app, world):
    """Two app instances (two workers) with the default store count against one limit: `memory://` let
    each worker count alone, so 4 a minute was 8 with two workers."""
    one = make_app(OPS_LOGIN_RATE_PER_ADDRESS="4 per minute").test_client()
    two = make_app(OPS_LOGIN_RATE_PER_ADDRESS="4 per minute").test_client()
    answers = [login(c, "commander").status_code for c in (one, two, one, two, one, two)]
    assert answers == [200, 200, 200, 200, 429, 429]


def test_the_default_store_is_the_apps_database(make_app, world, app):
    client = make_app().test_client()
    assert login(client, "commander", addr="192.0.2.5").status_code == 200
    with app.app_context():
        keys = db.session.execute(text("SELECT name FROM rate_limit_counters")).scalars().all()
    assert any("192.0.2.5" in key for key in keys)


def test_the_lockout_counts_once_for_all_workers(make_app, world):
    one, two = make_app().test_client(), make_app().test_client()
    for n in range(10):
        fail(one if n % 2 else two, "commander", "10.0.0.1")
    assert_problem(login(one, "commander"), 429)
    assert_problem(login(two, "commander"), 429)


def test_a_served_instance_with_two_workers_counts_once(db_url, world):
    """gunicorn with two sync workers, the production settings and a limit of 5 a minute: exactly 5 of 12
    logins pass, whichever worker takes each."""
    with app_server(db_url, workers=2, OPS_RATELIMIT_ENABLED="1", OPS_LOGIN_RATE_PER_ADDRESS="5 per minute") as (
            base, _proc):
        statuses = [http_json("POST", f"{base}/api/v1/auth/token",
                              {"username": "commander", "password": "password-commander"})[0] for _ in range(12)]
    assert statuses == [200] * 5 + [429] * 7


# --- who is locked out, and where -----------------------------------------------------------------

def test_a_shift_start_behind_one_carrier_address_gets_through(app, make_app, world):
    """70 crews behind one carrier address log in at shift start with the default limits (some mistype
    first); 60 a minute per address refused the 61st."""
    from opsserver.accounts.services import create_account
    from opsserver.registry.services import create_crew

    with app.app_context():
        for n in range(70):
            member = create_crew("test", {"name": f"Shift {n}", "phone": "13900000000", "certificate_no": f"S-{n}",
                                          "certificate_expires": date.today() + timedelta(days=300)})
            create_account("test", f"shift{n:02d}", f"password-shift{n:02d}", "crew", member.id)
    client = make_app().test_client()
    for n in range(70):
        if n % 5 == 0:
            assert login(client, f"shift{n:02d}", "typo", addr="100.64.0.1").status_code == 401
        resp = login(client, f"shift{n:02d}", addr="100.64.0.1")
        assert resp.status_code == 200, (n, resp.json)


def test_failures_from_one_address_lock_that_address_only(make_app, world):
    """Ten wrong passwords for the commander from one address lock the commander out from there (even with
    the right password), never from the address the commander signs in from."""
    client = make_app().test_client()
    fail(client, "commander", "203.0.113.66", 10)
    locked = login(client, "commander", addr="203.0.113.66")
    assert_problem(locked, 429)
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert login(client, "commander", addr="10.1.1.1").status_code == 200
    assert login(client, "commander", "wrong-password", addr="10.1.1.1").status_code == 401
    assert login(client, "auditor", addr="203.0.113.66").status_code == 200  # other accounts from there


def test_nine_failures_leave_the_tenth_attempt_free(make_app, world):
    client = make_app().test_client()
    fail(client, "commander", "10.0.0.1", 9)
    assert login(client, "commander").status_code == 200


def test_failures_from_every_address_together_lock_at_the_account_ceiling(make_app, world):
    """Failures from many addresses lock the account for everyone only at 100 in the window."""
    client = make_app().test_client()
    for n in range(9):
        fail(client, "commander", f"198.51.100.{n}", 10)
    fail(client, "commander", "198.51.100.9", 9)
    assert login(client, "commander", addr="10.9.9.9").status_code == 200  # 99 failures
    fail(client, "commander", "198.51.100.9")
    assert_problem(login(client, "commander", addr="10.9.9.9"), 429)  # 100
    assert login(client, "admin", addr="10.9.9.9").status_code == 200


def test_an_ipv6_client_counts_as_its_64_network(make_app, world):
    """One IPv6 client holds a whole /64 (2^64 addresses): the lockout, the unknown-username ceiling and the
    attempt throttle count the /64, so rotating addresses inside it gains nothing; IPv4 counts the address."""
    client = make_app().test_client()
    for n in range(10):
        fail(client, "commander", f"2001:db8:1:2::{n + 1:x}")
    assert_problem(login(client, "commander", addr="2001:db8:1:2:ffff::1"), 429)
    assert login(client, "commander", addr="2001:db8:1:3::1").status_code == 200  # the next /64
    for n in range(30):
        assert login(client, f"guess{n}", addr=f"2001:db8:9:9:{n + 1:x}::1").status_code == 401
    assert_problem(login(client, "auditor", addr="2001:db8:9:9::abcd"), 429)
    assert login(client, "auditor", addr="::ffff:10.5.5.5").status_code == 200
    assert login(client, "auditor", addr="10.5.5.6").status_code == 200  # IPv4: every address its own

    throttled = make_app(OPS_LOGIN_RATE_PER_ADDRESS="3 per minute").test_client()
    answers = [login(throttled, "admin", addr=f"2001:db8:7:7::{n + 1:x}").status_code for n in range(4)]
    assert answers == [200, 200, 200, 429]
    assert login(throttled, "admin", addr="2001:db8:7:8::1").status_code == 200


def test_old_failures_leave_the_window(make_app, world):
    client = make_app(OPS_LOGIN_WINDOW=timedelta(microseconds=1)).test_client()
    fail(client, "commander", "10.0.0.1", 12)
    assert login(client, "commander").status_code == 200


def test_unknown_usernames_are_limited_harder_than_known_ones(make_app, world):
    """From one address, 30 failures for usernames that do not exist close that address to every login
    (an attacker guessing names); 45 failures for known accounts, none locked, do not."""
    client = make_app().test_client()
    for n in range(30):
        assert login(client, f"guess{n}", addr="192.0.2.1").status_code == 401
    resp = login(client, "commander", addr="192.0.2.1")  # the same answer for a known name: no oracle
    assert_problem(resp, 429)
    assert "address" in resp.json["detail"]
    assert login(client, "commander", addr="192.0.2.2").status_code == 200
    for username in ("admin", "commander", "auditor", "crew1", "crew2"):
        fail(client, username, "192.0.2.3", 9)
    assert login(client, "commander", addr="192.0.2.3").status_code == 200


def test_the_unknown_ceiling_leaks_at_most_one_bit_per_address_and_window(make_app, world):
    """The accepted leak (docs/hardening.md): the probe's last answer tells whether the candidate exists, and
    then the address is refused for every username alike, so it learns nothing more in the window."""
    client = make_app().test_client()
    answers = {}
    for candidate, addr in (("commander", "198.51.100.1"), ("nosuchuser", "198.51.100.2")):
        for n in range(29):
            assert login(client, f"prime{n}", "x", addr=addr).status_code == 401
        assert login(client, candidate, "wrong", addr=addr).status_code == 401
        answers[candidate] = login(client, "another-name", "x", addr=addr).status_code
        after = [login(client, name, "wrong", addr=addr) for name in ("admin", "nobody-at-all")]
        assert [r.status_code for r in after] == [429, 429] and after[0].json == after[1].json
    assert answers == {"commander": 401, "nosuchuser": 429}


def test_the_lockout_answers_the_same_for_unknown_and_known_usernames(make_app, world):
    client = make_app().test_client()
    fail(client, "nobody", "10.0.0.1", 10)
    fail(client, "commander", "10.0.0.1", 10)
    unknown, known = login(client, "nobody"), login(client, "commander")
    assert unknown.status_code == known.status_code == 429
    assert unknown.json == known.json


def test_unknown_and_known_usernames_both_run_one_password_check(app, make_app, world, monkeypatch):
    """The same work for every username: an unknown or disabled one is checked against a dummy Argon2 hash
    made with the same parameters, so the time of the answer does not tell which usernames exist."""
    checked: list[str] = []
    real_verify = PasswordHasher.verify

    def verify(self, hash_, password):
        checked.append(hash_)
        return real_verify(self, hash_, password)

    monkeypatch.setattr(PasswordHasher, "verify", verify)
    client = make_app().test_client()
    with app.app_context():
        real_hash = db.session.execute(text("SELECT password_hash FROM accounts WHERE username = 'auditor'")).scalar()
        db.session.execute(text("UPDATE accounts SET active = :f WHERE username = 'crew2'"), {"f": False})
        db.session.commit()
    for username, password, status in [("nobody-at-all", "whatever-1", 401), ("auditor", "wrong", 401),
                                       ("crew2", "password-crew2", 401), ("auditor", None, 200)]:
        before = len(checked)
        assert login(client, username, password).status_code == status
        assert len(checked) == before + 1, username
    dummy = checked[0]
    assert dummy.startswith("$argon2id$") and dummy != real_hash
    assert dummy.split("$")[3] == real_hash.split("$")[3]  # m=…,t=…,p=…: the same cost


# --- Redis, where configured ------------------------------------------------------------------------

def test_redis_is_shared_by_every_app_server(make_app, world, redis_url, app):
    config = {"OPS_RATELIMIT_STORAGE_URI": redis_url, "OPS_LOGIN_RATE_PER_ADDRESS": "3 per minute"}
    one, two = make_app(**config).test_client(), make_app(**config).test_client()
    assert [login(c, "commander").status_code for c in (one, two, one, two)] == [200, 200, 200, 429]
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM rate_limit_counters")).scalar() == 0


def test_the_lockout_holds_when_redis_is_down(make_app, world):
    """A Redis that does not answer lets attempts through (crews must log in; it is logged), and the
    lockout, counted in the app's database, still holds."""
    client = make_app(OPS_RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0",
                      OPS_LOGIN_RATE_PER_ADDRESS="1 per minute").test_client()
    assert [login(client, "admin").status_code for _ in range(2)] == [200, 200]
    fail(client, "commander", "10.0.0.1", 10)
    assert_problem(login(client, "commander"), 429)


@pytest.mark.parametrize("username", ["a\x00b", "commander\x1b[2J", "commander\n"])
def test_a_username_with_a_control_character_is_refused(app, world, rows, username):
    """Such a name cannot be an account's, and PostgreSQL cannot store a NUL: the failed login it recorded
    was a 500 there. Now a 422 naming the username, through the API and the page form, with nothing written."""
    before = rows()
    resp = login(app.test_client(), username, "whatever-1")
    assert_problem(resp, 422, field="username")
    page = app.test_client()
    form = page.post("/login", data={"username": username, "password": "whatever-1", "csrf_token": csrf_token(page)})
    assert form.status_code == 401
    assert rows() == before
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM login_failures")).scalar() == 0
