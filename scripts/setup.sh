#!/usr/bin/env bash
# Install what the project needs: a virtual environment with its Python packages, and its npm assets.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq nodejs npm
fi
[ -d .venv ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r "${1:-requirements.txt}"
npm ci --no-audit --no-fund --silent
# Page translations: the catalogues are kept as .po text; the app reads compiled .mo files.
.venv/bin/pybabel compile -d opsserver/translations >/dev/null
