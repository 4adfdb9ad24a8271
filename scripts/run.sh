#!/usr/bin/env bash
# Install, create the SQLite database, load the Luohe demo and serve on http://127.0.0.1:5000:
# nginx (Debian's package) in front, reading every request whole, and gunicorn's sync workers behind it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -x /usr/sbin/nginx ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx
fi
export FLASK_APP=wsgi
# Served over plain HTTP on this machine: let the browser send the session cookie without TLS.
export OPS_SESSION_COOKIE_SECURE="${OPS_SESSION_COOKIE_SECURE:-0}"
.venv/bin/flask ops init-db --demo  # the schema, then the demo (once loaded, nothing to do), in one start-up
HOST="${OPS_HOST:-127.0.0.1}"; PORT="${OPS_PORT:-5000}"; APP_PORT="${OPS_APP_PORT:-$((PORT + 1))}"
cat <<TXT

  Sign in          http://$HOST:$PORT/login                 (commander, auditor, admin; crew accounts go to /crew)
  Dashboard        http://$HOST:$PORT/
  Rounds           http://$HOST:$PORT/rounds                (each round: its points, airspace, reports, orders,
                   http://$HOST:$PORT/rounds/1               its report and activity logs: after ops drill, below)
  Alerts           http://$HOST:$PORT/alerts
  Announcements    http://$HOST:$PORT/announcements         (public notices: drafts, publish, printable A4, CAP 1.2;
                                                            the demo's season announcement covers every point)
  Live map         http://$HOST:$PORT/maps/status
  Round maps       http://$HOST:$PORT/maps/rounds/1  http://$HOST:$PORT/maps/rounds/1/replay
  Audit log        http://$HOST:$PORT/audit                 (auditor, admin: export, manifest, verification)
  Admin            http://$HOST:$PORT/admin/accounts  /admin/points  /admin/crew  /admin/ammo  /admin/zones
  Safe-sector map  http://$HOST:$PORT/maps/points/LH01/safe-sector   (printable, A4: each point's sector and no-fire zones)
  Crew phone page  http://$HOST:$PORT/crew                  (sign in as crew-lh01 … crew-lh18)
  API docs         http://$HOST:$PORT/api/docs
  OpenAPI          http://$HOST:$PORT/api/openapi.json
  Health           http://$HOST:$PORT/healthz  http://$HOST:$PORT/readyz

  A round to look at: .venv/bin/flask --app wsgi ops drill   (then round 1 above)
  Demo logins (the page at /login, or POST /api/v1/auth/token):
    admin / admin-demo-pass        commander / commander-demo-pass
    auditor / auditor-demo-pass    crew-lh01 … crew-lh18 / crew-demo-pass

TXT
RUN_DIR="$(mktemp -d /tmp/ops-front-XXXXXX)"
CONF="$(.venv/bin/python -m opsserver.serving.front --listen "$HOST:$PORT" --upstream "127.0.0.1:$APP_PORT" --run-dir "$RUN_DIR")"
OPS_BIND="127.0.0.1:$APP_PORT" OPS_TRUSTED_PROXIES=1 .venv/bin/gunicorn -c gunicorn.conf.py wsgi:app &
APP_PID=$!
/usr/sbin/nginx -e stderr -p "$RUN_DIR" -c "$CONF" &
FRONT_PID=$!
trap 'kill "$APP_PID" "$FRONT_PID" 2>/dev/null; wait; rm -rf "$RUN_DIR"' EXIT
trap 'exit 0' INT TERM
wait -n  # either one stopping stops both
