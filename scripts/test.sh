#!/usr/bin/env bash
# Install and run the test suite (set TEST_DATABASE_URL to a PostgreSQL admin URL to test on PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements-dev.txt
# The crew page's browser tests drive Debian's Chromium (tests/test_crew_page.py skips them without it).
if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk
fi
exec .venv/bin/python -m pytest -n 2 "$@"
