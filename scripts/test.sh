#!/usr/bin/env bash
# Install and run the test suite (set TEST_DATABASE_URL to a PostgreSQL admin URL to test on PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements-dev.txt
# The browser tests drive Debian's Chromium; the shared rate-limit test runs Debian's redis-server; the
# slow-client and crash tests run the served configuration, Debian's nginx in front of gunicorn
# (the browser and Redis tests skip, saying why, without theirs; the front is required).
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium fonts-noto-cjk)
[ -x /usr/bin/redis-server ] || missing+=(redis-server)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
exec .venv/bin/python -m pytest -n 2 "$@"
