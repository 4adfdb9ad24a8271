#!/usr/bin/env bash
# Install PostgreSQL from Debian's packages and start a throwaway server on 127.0.0.1.
# Prints the admin URL to use as TEST_DATABASE_URL. Usage: .ci/postgres.sh [PORT] [DATADIR]
set -euo pipefail
PORT="${1:-55432}"
DATA="${2:-/tmp/ops-pg-$PORT}"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
BIN="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"
if [ -f "$DATA/postmaster.pid" ]; then
  runuser -u postgres -- "$BIN/pg_ctl" -D "$DATA" -m immediate stop >&2 || true
fi
rm -rf "$DATA"
mkdir -p "$DATA"
chown postgres:postgres "$DATA"
runuser -u postgres -- "$BIN/initdb" -D "$DATA" -A trust -U postgres --no-instructions >/dev/null
runuser -u postgres -- "$BIN/pg_ctl" -D "$DATA" -w -l "$DATA/server.log" \
  -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c max_connections=300" start >&2
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
