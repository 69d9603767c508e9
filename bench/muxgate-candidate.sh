#!/usr/bin/env bash
# CANDIDATE_CMD for the shared side-by-side harness (shared/bench/run-peers.sh): starts Muxgate
# from the BENCH_* environment the harness sets, in the foreground (exec java), exits on SIGTERM.
#   BENCH_LISTEN_HOST/PORT  TLS front end (h2 + http/1.1 by ALPN)   BENCH_CERT/BENCH_KEY  PEM files
#   BENCH_ORIGIN_URL        https://127.0.0.1:9443 or h2c://127.0.0.1:9080
#   BENCH_MAX_STREAMS       streams per origin connection (zone setting origin_h2_max_streams)
#   BENCH_RUN_DIR           where the process config and the zone file are written
# Knobs: MUXGATE_JAR (default <project>/target/muxgate.jar), MUXGATE_JAVA_OPTS (replaces the default
# JVM flags: a fixed heap plus the project's conf/jvm.options), MUXGATE_EVENT_LOOPS (default 0 = one
# per visible core; pinned runs see one core), MUXGATE_WARMUP_S (default 15: the process config's warmup_s,
# the start-up warm-up an operator would enable in production; 0 = start cold).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$(cd "$here/.." && pwd)"
jar="${MUXGATE_JAR:-$project/target/muxgate.jar}"
[ -f "$jar" ] || { echo "muxgate-candidate: $jar not found (build with: mvn -q -B -DskipTests package)" >&2; exit 1; }
for v in BENCH_LISTEN_HOST BENCH_LISTEN_PORT BENCH_CERT BENCH_KEY BENCH_ORIGIN_URL BENCH_RUN_DIR; do
  [ -n "${!v:-}" ] || { echo "muxgate-candidate: $v is not set (run through the shared harness)" >&2; exit 1; }
done
abspath() { case "$1" in /*) printf '%s' "$1";; *) printf '%s/%s' "$PWD" "$1";; esac; }
run_dir="$(abspath "$BENCH_RUN_DIR")"
cert="$(abspath "$BENCH_CERT")"
key="$(abspath "$BENCH_KEY")"
up="${BENCH_UPSTREAM:-tls}"
max_streams="${BENCH_MAX_STREAMS:-100}"
[ "$max_streams" -gt 1000 ] && max_streams=1000   # zone setting range is 1..1000

# two free loopback ports for the cleartext front end and the admin port (ephemeral range, so never
# one of the harness' fixed ports 8443-8446, 8450, 9080, 9081, 9099, 9443)
# (command substitution, not `< <(...)`: bash waits for it, whereas a process substitution's python3 would
# stay a zombie child of the exec'd java, which the harness then reports as "still alive after SIGTERM")
ports="$(/usr/bin/python3 - <<'PY'
import socket
fixed = {8443, 8444, 8445, 8446, 8450, 9080, 9081, 9099, 9443}
socks, ports = [], []
for _ in range(20):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
    p = s.getsockname()[1]
    if p not in fixed:
        ports.append(p)
    if len(ports) == 2:
        break
print(*ports)
PY
)"
read -r http_port admin_port <<< "$ports"

conf="$run_dir/muxgate-$up.json"
tenants="$run_dir/muxgate-tenants-$up"
mkdir -p "$tenants"
cat > "$tenants/bench.json" <<JSON
{
  "zone": "bench",
  "hosts": ["127.0.0.1", "localhost"],
  "origins": ["$BENCH_ORIGIN_URL"],
  "origin_tls_verify": false,
  "settings": {"origin_h2_max_streams": $max_streams}
}
JSON
cat > "$conf" <<JSON
{
  "http_port": $http_port,
  "https_port": $BENCH_LISTEN_PORT,
  "admin_port": $admin_port,
  "bind": "$BENCH_LISTEN_HOST",
  "tls": {"cert_file": "$cert", "key_file": "$key"},
  "tenants_dir": "$tenants",
  "access_log": false,
  "event_loops": ${MUXGATE_EVENT_LOOPS:-0},
  "drain_timeout_s": 2,
  "demo_origin": false,
  "warmup_s": ${MUXGATE_WARMUP_S:-15}
}
JSON
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
# fixed heap so RSS is comparable between runs; word-split MUXGATE_JAVA_OPTS on purpose
# shellcheck disable=SC2086
exec "$java" ${MUXGATE_JAVA_OPTS:--Xms256m -Xmx256m -XX:+ExitOnOutOfMemoryError @$project/conf/jvm.options} -jar "$jar" --conf "$conf"
