#!/usr/bin/env bash
# `make bench-floor`: how far down a rewrite could take Muxgate's CPU per request, and which side of it.
# Runs the steady-state test (f) of `make bench` on four relays, interleaved, FLOOR_ROUNDS rounds
# (default 3, ~7 min):
#   muxgate      this build (target/muxgate.jar)
#   vertx-front  bench/floor/VertxFront.java: Vert.x's HTTP/2 server in front of netty-floor's origin side
#   netty-floor  bench/floor/FrameRelay.java: h2 frames relayed on Netty's codec, no Vert.x, no features
#   haproxy      the harness' HAProxy
# Writes bench/results/floor-latest.md (+ a dated copy); raw data under bench/results/work/.
# Uses the same fixed ports as `make bench`: do not run both at once.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$(cd "$here/.." && pwd)"
shared="${BENCH_SHARED:-$project/../shared/bench}"
PY=/usr/bin/python3
say() { echo "$(date +%H:%M:%S) [floor] $*"; }

[ -f "$shared/lib/bench.py" ] || { echo "shared harness not found at $shared (set BENCH_SHARED)" >&2; exit 2; }
shared="$(cd "$shared" && pwd)"
bash "$here/install.sh"

jar="$project/target/muxgate.jar"
if [ ! -f "$jar" ]; then
  say "building $jar (mvn -q -B -DskipTests package)"
  (cd "$project" && mvn -q -B -DskipTests package)
fi
export BENCH_OUT="$here/results/work"
classes="$BENCH_OUT/floor-classes"
rm -rf "$classes" && mkdir -p "$classes"
javac="${JAVA_HOME:+$JAVA_HOME/bin/}javac"
# (javac notes that the jar lacks Vert.x's code-generation annotations; harmless)
"$javac" -nowarn -cp "$jar" -d "$classes" "$here"/floor/*.java 2>&1 | { grep -v "annotation method" || true; }

# the certificate the harness makes on its first run (same command), for the origin and every relay
certs="$BENCH_OUT/certs"
if [ ! -f "$certs/combined.pem" ]; then
  mkdir -p "$certs"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
    -keyout "$certs/key.pem" -out "$certs/cert.pem" 2>/dev/null
  cat "$certs/cert.pem" "$certs/key.pem" > "$certs/combined.pem"
fi

rev="$(git -C "$project" rev-parse --short HEAD 2>/dev/null || echo '?')"
[ -n "$(git -C "$project" status --porcelain -- src pom.xml 2>/dev/null)" ] && rev="$rev+local changes"
export BENCH_PROJECT_REV="$rev" FLOOR_CLASSPATH="$jar:$classes"
export CANDIDATE_NAME=muxgate CANDIDATE_PORT=8450 CANDIDATE_CMD="$here/muxgate-candidate.sh"
export PIN=1 UPSTREAMS=tls CANDIDATE_UPSTREAMS=tls PEERS="haproxy"
export EXTRA_TESTS=steady STEADY_TARGETS="muxgate vertx-front netty-floor haproxy" STEADY_ROUNDS="${FLOOR_ROUNDS:-3}"
export STEADY_WARM_S="${STEADY_WARM_S:-20}" STEADY_S="${STEADY_S:-5}"

stamp="$(date +%Y%m%d-%H%M%S)"
raw="$BENCH_OUT/floor-$stamp.jsonl"
say "muxgate $rev, vertx-front, netty-floor, haproxy: $STEADY_ROUNDS round(s) of ${STEADY_WARM_S}+${STEADY_S} s each"
"$PY" "$here/lib/extra.py" run --shared "$shared" --out "$raw"
"$PY" "$here/lib/extra.py" report --extra "$raw" --md "$here/results/floor-$stamp.md"
cp "$here/results/floor-$stamp.md" "$here/results/floor-latest.md"
echo
sed -n '/^## (f)/,$p' "$here/results/floor-latest.md"
say "report: $here/results/floor-latest.md"
