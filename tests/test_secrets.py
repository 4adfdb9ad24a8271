"""No password, token or key in logs, exports or error bodies: a full run, then a grep of everything it wrote."""

import io
import json
import logging

from pythonjsonlogger.json import JsonFormatter

from opsserver import create_app
from opsserver.demo.seed import load_data
from opsserver.extensions import db

SECRET_KEY = "s3cret-key-for-this-test-only"


def test_no_secret_in_logs_exports_or_answers(db_url, tmp_path, monkeypatch):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": SECRET_KEY,
                      "OPS_REQUEST_LOG": True, "OPS_RATELIMIT_ENABLED": True,
                      "OPS_LOGIN_RATE_PER_ACCOUNT": "5 per minute"})
    log_buffer = io.StringIO()
    capture = logging.StreamHandler(log_buffer)
    capture.setLevel(logging.DEBUG)
    capture.setFormatter(JsonFormatter())  # every field of a record, as the production log writes it
    root, requests_log = logging.getLogger(), logging.getLogger("opsserver.requests")
    root.addHandler(capture)
    requests_log.addHandler(capture)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    answers: list[str] = []
    written: list[str] = []
    secrets = {SECRET_KEY, "cli-Only-password-77", "wrong-Guess-password-99"}
    try:
        client = app.test_client()
        runner = app.test_cli_runner()

        def keep(resp):
            answers.append(resp.get_data(as_text=True))
            answers.append(json.dumps(dict(resp.headers)))
            return resp

        assert runner.invoke(args=["ops", "seed-demo"]).exit_code == 0
        monkeypatch.setenv("OPS_PASSWORD", "cli-Only-password-77")
        written.append(runner.invoke(args=["ops", "create-user", "cli-user", "--role", "auditor"]).output)
        tokens = {}
        for account in load_data()["accounts"]:
            secrets.add(account["password"])
            # Not kept: handing out its token is this answer's purpose.
            resp = client.post("/api/v1/auth/token", json={"username": account["username"],
                                                           "password": account["password"]})
            assert resp.status_code == 200
            tokens[account["username"]] = resp.json["access_token"]
        secrets |= set(tokens.values())
        # Failed logins, a lockout and the rate limit, a password in a malformed body.
        for _ in range(7):
            keep(client.post("/api/v1/auth/token", json={"username": "commander",
                                                         "password": "wrong-Guess-password-99"}))
        keep(client.post("/api/v1/auth/token", data='{"username": "auditor", "password": "wrong-Guess-password-99"',
                         headers={"Content-Type": "application/json"}))
        keep(client.post("/api/v1/auth/token", json={"username": ["x"], "password": "wrong-Guess-password-99"}))
        # A drill through the services, then exports and reports as an auditor.
        written.append(runner.invoke(args=["ops", "drill"]).output)
        auditor = {"Authorization": f"Bearer {tokens['auditor']}"}
        for fmt in ("jsonl", "csv", "geojson"):
            keep(client.get(f"/api/v1/audit/export?format={fmt}", headers=auditor))
            out = tmp_path / f"audit.{fmt}"
            assert runner.invoke(args=["ops", "export-audit", "--format", fmt, "--out", str(out)]).exit_code == 0
            written.append(out.read_text(encoding="utf-8"))
            written.append((tmp_path / f"audit.{fmt}.manifest.json").read_text(encoding="utf-8"))
        keep(client.get("/api/v1/audit/events?limit=1000", headers=auditor))
        keep(client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {tokens['admin']}"}))
        rounds = client.get("/api/v1/rounds", headers=auditor).json["items"]
        for r in rounds:
            for fmt in ("json", "csv", "html"):
                keep(client.get(f"/api/v1/rounds/{r['id']}/report?format={fmt}", headers=auditor))
        # A token used after logout, a forged one, and one in the query string.
        crew = {"Authorization": f"Bearer {tokens['crew-lh01']}"}
        keep(client.post("/api/v1/auth/logout", headers=crew))
        keep(client.get("/api/v1/me", headers=crew))
        keep(client.get(f"/api/v1/points?access_token={tokens['auditor']}", headers=auditor))
        with app.app_context():
            hashes = {h for (h,) in db.session.execute(db.text("SELECT password_hash FROM accounts"))}
    finally:
        root.removeHandler(capture)
        requests_log.removeHandler(capture)
        root.setLevel(old_level)
        requests_log.handlers.clear()
    logs = log_buffer.getvalue()
    assert '"path": "/api/v1/audit/export"' in logs  # the log did record this run, fields and all
    everything = {"logs": logs, "answers": "\n".join(answers), "written": "\n".join(written)}
    for where, text in everything.items():
        leaked = sorted(s for s in secrets | hashes if s and s in text)
        assert leaked == [], f"{where} contains {leaked}"
        assert "$argon2" not in text, where
