#!/usr/bin/env bash
# Start-up time of the run command: `bash scripts/run.sh` in checkout DIR (default: this one), from launch to
# the first 200 of /readyz through the front, then stopped.
#     bash bench/start_time.sh [DIR] [PORT]
# The first run in a fresh clone installs everything; a second shows a restart. Prints the load average.
set -u
cd "${1:-$(dirname "$0")/..}"; PORT="${2:-5600}"
LOG="$(mktemp /tmp/ops-start-XXXXXX.log)"
start=$(date +%s.%N)
OPS_PORT=$PORT setsid bash scripts/run.sh >"$LOG" 2>&1 &
pid=$!
until curl -fs -o /dev/null "http://127.0.0.1:$PORT/readyz"; do
  kill -0 $pid 2>/dev/null || { echo "run.sh died"; tail -20 $LOG; exit 1; }
  sleep 0.2
done
end=$(date +%s.%N)
echo "ready after $(echo "$end - $start" | bc) s (load $(cut -d' ' -f1-3 /proc/loadavg))"
kill -TERM -- -$pid; wait $pid 2>/dev/null; sleep 1
rm -f "$LOG"
