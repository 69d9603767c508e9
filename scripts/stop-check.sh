#!/usr/bin/env bash
# Starts target/muxgate.jar on free ports, waits until it is ready, checks that SIGHUP leaves it serving,
# then sends SIGTERM and checks that the graceful stop ends with exit status 0 within the drain timeout. Needs python3 (to pick free ports).
set -uo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
read -r http https admin < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
mkdir "$dir/tenants"
cat > "$dir/muxgate.json" <<JSON
{"http_port": $http, "https_port": $https, "admin_port": $admin, "bind": "127.0.0.1", "drain_timeout_s": 5}
JSON
java -jar target/muxgate.jar --conf "$dir/muxgate.json" > "$dir/out.log" 2>&1 &
pid=$!
# a failed check leaves no process behind (it is gone already when the check passes)
trap 'kill -9 "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 150); do
  curl -sf -o /dev/null "http://127.0.0.1:$admin/readyz" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
if ! curl -sf -o /dev/null "http://127.0.0.1:$admin/readyz"; then
  echo "stop check: muxgate did not become ready"; cat "$dir/out.log"; kill "$pid" 2>/dev/null; exit 1
fi
# SIGHUP (a reload to nginx and HAProxy operators) must not stop it.
kill -HUP "$pid"
for _ in $(seq 10); do
  grep -q "SIGHUP ignored" "$dir/out.log" && break
  sleep 0.2
done
if ! kill -0 "$pid" 2>/dev/null || ! curl -sf -o /dev/null "http://127.0.0.1:$admin/readyz"; then
  echo "stop check: SIGHUP stopped muxgate"; cat "$dir/out.log"; exit 1
fi
grep -q "SIGHUP ignored" "$dir/out.log" || { echo "stop check: SIGHUP not reported"; cat "$dir/out.log"; exit 1; }
echo "ok   SIGHUP: ignored, still ready"
kill -TERM "$pid"
wait "$pid"
status=$?
if [ "$status" -ne 0 ]; then
  echo "stop check: SIGTERM ended muxgate with status $status, expected 0"; cat "$dir/out.log"; exit 1
fi
echo "ok   SIGTERM: graceful stop, exit status 0"
