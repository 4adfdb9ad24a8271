#!/usr/bin/env bash
# Install what the project needs: a virtual environment with its Python packages, and its npm assets.
# Each install runs only when what it installs from changed: a stamp beside what it made holds the hash of
# its inputs (a restart spares pip's resolver and `npm ci`, which empties node_modules every time).
set -euo pipefail
cd "$(dirname "$0")/.."
REQUIREMENTS="${1:-requirements.txt}"

# The hash of the given files' contents.
inputs_hash() { cat "$@" | sha256sum | cut -d' ' -f1; }
# Whether the stamp $1 holds hash $2.
stamped() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

if ! command -v npm >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq nodejs npm
fi
[ -d .venv ] || python3 -m venv .venv
# requirements-dev.txt includes requirements.txt: both count.
PIP_STAMP=".venv/.installed-$(basename "$REQUIREMENTS").sha256"
PIP_HASH="$(inputs_hash "$REQUIREMENTS" requirements.txt)"
if ! stamped "$PIP_STAMP" "$PIP_HASH"; then
  .venv/bin/pip install -q --disable-pip-version-check -r "$REQUIREMENTS"
  echo "$PIP_HASH" > "$PIP_STAMP"
fi
NPM_STAMP="node_modules/.installed-package-lock.sha256"
NPM_HASH="$(inputs_hash package-lock.json)"
if ! stamped "$NPM_STAMP" "$NPM_HASH"; then
  npm ci --no-audit --no-fund --silent
  echo "$NPM_HASH" > "$NPM_STAMP"
fi
# Page translations: the catalogues are kept as .po text; the app reads compiled .mo files (compiled again
# when a catalogue is newer than its .mo, or the .mo is missing).
for po in opsserver/translations/*/LC_MESSAGES/messages.po; do
  if [ ! "${po%.po}.mo" -nt "$po" ]; then
    .venv/bin/pybabel compile -d opsserver/translations >/dev/null
    break
  fi
done
