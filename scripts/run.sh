#!/usr/bin/env bash
# Install, create the SQLite database, load the Luohe demo and serve on http://127.0.0.1:5000
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export FLASK_APP=wsgi
# Served over plain HTTP on this machine: let the browser send the session cookie without TLS.
export OPS_SESSION_COOKIE_SECURE="${OPS_SESSION_COOKIE_SECURE:-0}"
.venv/bin/flask ops init-db
.venv/bin/flask ops seed-demo
HOST="${OPS_HOST:-127.0.0.1}"; PORT="${OPS_PORT:-5000}"
cat <<TXT

  Dashboard        http://$HOST:$PORT/                  (sign in as commander or auditor)
  Live map         http://$HOST:$PORT/maps/status
  Crew phone page  http://$HOST:$PORT/crew                 (sign in as crew-lh01 … crew-lh18)
  Round maps       http://$HOST:$PORT/maps/rounds/1      …/maps/rounds/1/replay  (after: .venv/bin/flask --app wsgi ops drill)
  API docs         http://$HOST:$PORT/api/docs
  OpenAPI          http://$HOST:$PORT/api/openapi.json

  Demo logins (POST /api/v1/auth/token):
    admin / admin-demo-pass        commander / commander-demo-pass
    auditor / auditor-demo-pass    crew-lh01 … crew-lh18 / crew-demo-pass

TXT
exec .venv/bin/gunicorn --bind "$HOST:$PORT" --workers 2 --access-logfile - wsgi:app
