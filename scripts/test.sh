#!/usr/bin/env bash
# Install and run the test suite (set TEST_DATABASE_URL to a PostgreSQL admin URL to test on PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements-dev.txt
exec .venv/bin/python -m pytest -n 2 "$@"
