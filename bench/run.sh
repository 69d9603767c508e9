#!/usr/bin/env bash
# `make bench`: Muxgate side by side with HAProxy, nginx, Caddy and Apache (loopback only).
#   bench/run.sh              full run (~14 min on a quiet machine): scenarios small, delay, big (shared harness),
#                             + 2,000 idle h2 TLS connections (memory) + HTTP/1.1 clients + steady state (warm proxy)
#   BENCH_QUICK=1 bench/run.sh   smoke run (~3 min): 1 rep, 3 s, scenario small, 1 round of the extras
# Knobs: see bench/README.md. Results: bench/results/latest.md + latest.png (+ dated copies);
# raw data under bench/results/work/ (not committed).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project="$(cd "$here/.." && pwd)"
shared="${BENCH_SHARED:-$project/../shared/bench}"
PY=/usr/bin/python3          # Debian's python (matplotlib from apt lives there), as the harness uses
say() { echo "$(date +%H:%M:%S) [bench] $*"; }

[ -x "$shared/run-peers.sh" ] || { echo "shared harness not found at $shared (expected shared/ beside the project clone; set BENCH_SHARED)" >&2; exit 2; }
shared="$(cd "$shared" && pwd)"

say "checking packages (bench/install.sh)"
bash "$here/install.sh"

export CANDIDATE_NAME="${CANDIDATE_NAME:-muxgate}"
export CANDIDATE_PORT="${CANDIDATE_PORT:-8450}"
if [ -z "${CANDIDATE_CMD:-}" ]; then
  export CANDIDATE_CMD="$here/muxgate-candidate.sh"
  jar="${MUXGATE_JAR:-$project/target/muxgate.jar}"
  if [ ! -f "$jar" ]; then
    say "building $jar (mvn -q -B -DskipTests package)"
    (cd "$project" && mvn -q -B -DskipTests package)
  fi
  [ -f "$jar" ] || { echo "no $jar after the build" >&2; exit 2; }
fi
rev="$(git -C "$project" rev-parse --short HEAD 2>/dev/null || echo '?')"
[ -n "$(git -C "$project" status --porcelain -- src pom.xml 2>/dev/null)" ] && rev="$rev+local changes"
export BENCH_PROJECT_REV="$rev"

if [ "${BENCH_QUICK:-0}" = 1 ]; then
  mode=quick
  export REPS="${REPS:-1}" DURATION="${DURATION:-3}" WARMUP="${WARMUP:-2}" EXTRA_ROUNDS="${EXTRA_ROUNDS:-1}"
  export IDLE_ROUNDS="${IDLE_ROUNDS:-$EXTRA_ROUNDS}"
  export STEADY_WARM_S="${STEADY_WARM_S:-5}" STEADY_S="${STEADY_S:-3}"
  scenarios="${BENCH_SCENARIOS:-small}"
else
  mode=full
  # WARMUP (h2load's) was 5 s to let Muxgate's JIT catch up; Muxgate now warms itself before it listens
  # (warmup_s), and the 2 s saved per run pay for that within the 15 minutes
  export REPS="${REPS:-3}" DURATION="${DURATION:-3}" WARMUP="${WARMUP:-3}" EXTRA_ROUNDS="${EXTRA_ROUNDS:-3}"
  # (d) RSS varies by <1% between rounds: one round is enough, and keeps the full run with (f) under 15 min
  export IDLE_ROUNDS="${IDLE_ROUNDS:-1}"
  export STEADY_WARM_S="${STEADY_WARM_S:-20}" STEADY_S="${STEADY_S:-5}"
  scenarios="${BENCH_SCENARIOS:-small,delay,big}"
fi
export PEERS="${PEERS:-direct haproxy caddy apache nginx}"
export UPSTREAMS="${UPSTREAMS:-tls}"
export CANDIDATE_UPSTREAMS="${CANDIDATE_UPSTREAMS:-$UPSTREAMS}"
export CANDIDATE_START_TIMEOUT="${CANDIDATE_START_TIMEOUT:-60}"
export PIN="${PIN:-1}"
export EXTRA_TESTS="${EXTRA_TESTS:-idle h1 steady}" STEADY_ROUNDS="${STEADY_ROUNDS:-1}"
export BENCH_OUT="$here/results/work"
mkdir -p "$BENCH_OUT" "$here/results"
stamp="$(date +%Y%m%d-%H%M%S)"
runlog="$BENCH_OUT/run-$stamp.log"
if [ -n "${jar:-}" ]; then
  # measure one build throughout, even if target/ is rebuilt meanwhile
  cp "$jar" "$BENCH_OUT/muxgate-$stamp.jar"
  export MUXGATE_JAR="$BENCH_OUT/muxgate-$stamp.jar"
  trap 'rm -f "$MUXGATE_JAR"' EXIT
fi

# time estimate (seen here): a load run = DURATION + WARMUP + ~1.5 s, +3 s for a JVM start; idle run ~9 s;
# steady run = STEADY_WARM_S + STEADY_S + ~4 s (h2load's 1 s warm-up, proxy start and stop); every Muxgate
# start but (f)'s adds its start-up warm-up (MUXGATE_WARMUP_S, see muxgate-candidate.sh)
n_sc=$(tr ',' '\n' <<<"$scenarios" | grep -c .)
n_peers=$(wc -w <<<"$PEERS"); n_up=$(wc -w <<<"$UPSTREAMS"); n_cup=$(wc -w <<<"$CANDIDATE_UPSTREAMS")
n_h=$(( n_sc * REPS * (n_peers * n_up + n_cup) ))
n_prox=$(( $(wc -w <<<"${PEERS//direct/}") + 1 ))
n_steady=$(wc -w <<<"${STEADY_TARGETS:-haproxy haproxy-fwd $CANDIDATE_NAME}")   # extra.py's default
extras=" $EXTRA_TESTS "; [ "${BENCH_EXTRAS:-1}" = 1 ] || extras=" "
r_h1=0; r_idle=0; r_steady=0                  # rounds of (e), (d), (f) that will run
[[ "$extras" == *" h1 "* ]] && r_h1=$EXTRA_ROUNDS
[[ "$extras" == *" idle "* ]] && r_idle=$IDLE_ROUNDS
[[ "$extras" == *" steady "* ]] && r_steady=$STEADY_ROUNDS
t2=$(( 2 * (DURATION + WARMUP) + 3 ))          # twice the seconds of one load run
est=$(( (n_h + r_h1 * (n_peers + 1)) * t2 / 2 + 3 * (n_sc * REPS * n_cup + r_h1 + r_idle + r_steady) \
        + r_idle * n_prox * 9 + r_steady * n_steady * (STEADY_WARM_S + STEADY_S + 4) \
        + ${MUXGATE_WARMUP_S:-15} * (n_sc * REPS * n_cup + r_h1 + r_idle) ))
say "$mode run: scenarios $scenarios, REPS=$REPS DURATION=$DURATION WARMUP=$WARMUP, peers: $PEERS + $CANDIDATE_NAME, upstreams: $UPSTREAMS"
say "$n_h harness runs + extras ($r_idle idle, $r_h1 HTTP/1.1, $r_steady steady round(s) of ${STEADY_WARM_S}+${STEADY_S} s);" \
    "estimated $(( est / 60 )) min $(( est % 60 )) s; log: $runlog"

t0=$(date +%s)
"$shared/run-peers.sh" "$scenarios" 2>&1 | tee "$runlog"
harness_md="$(grep -o 'wrote /.*\.md' "$runlog" | tail -n1 | cut -c7- || true)"
[ -n "$harness_md" ] && [ -f "$harness_md" ] || { echo "harness report not found (see $runlog)" >&2; exit 1; }
say "harness done in $(( $(date +%s) - t0 )) s: $harness_md"

extra="$BENCH_OUT/extra-$stamp.jsonl"
if [ "${BENCH_EXTRAS:-1}" = 1 ]; then
  say "extras: $EXTRA_TESTS (idle = connections' memory, h1 = HTTP/1.1 clients, steady = warm proxy)"
  "$PY" "$here/lib/extra.py" run --shared "$shared" --out "$extra" 2>&1 | tee -a "$runlog" \
    || say "extras failed (see $runlog); the report has the harness part only"
fi

if [ "$mode" = full ]; then
  dest="$here/results"; name="$stamp"; latest=latest
else
  dest="$BENCH_OUT"; name="quick-$stamp"; latest=quick-latest
fi
"$PY" "$here/lib/extra.py" report --harness-md "$harness_md" --extra "$extra" \
  --md "$dest/$name.md" --png "$dest/$name.png" --png-rel "$name.png"
"$PY" "$here/lib/extra.py" report --harness-md "$harness_md" --extra "$extra" \
  --md "$dest/$latest.md" --png-rel "$latest.png" >/dev/null
[ -f "$dest/$name.png" ] && cp "$dest/$name.png" "$dest/$latest.png"
say "total $(( $(date +%s) - t0 )) s"
echo
sed -n '1,/^## (d)/p' "$dest/$latest.md" | sed '$d'
say "report: $dest/$latest.md (dated copy $dest/$name.md), chart: $dest/$latest.png"
