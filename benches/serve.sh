#!/usr/bin/env bash
# The decision service under load, on this machine: throughput and p50 / p99 latency at 1, 8 and 64
# concurrent clients, in-process and with Redis; every guardrail checked from the exposure log; Redis
# killed and restarted mid-run; the rule file replaced by a broken one mid-run.
#
#   benches/serve.sh            (installs redis-server with apt when missing; about 2 minutes)
#
# Everything listens on 127.0.0.1 on free ports; every load run is bounded in requests and seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v redis-server >/dev/null || apt-get install -y redis-server >/dev/null
cargo build --release -q --bin persona-lab
cargo build --release -q -p persona-lab-server --example load
BIN=target/release/persona-lab
LOAD=target/release/examples/load
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

RULES="$WORK/rules.json"
cp conformance/rulesets/limits.json "$RULES"
USERS=5000

start_redis() { redis-server --port "$1" --bind 127.0.0.1 --save "" --appendonly no >/dev/null & REDIS_PID=$!; PIDS+=("$REDIS_PID"); wait_port "$1"; }
start_serve() { # $1 port, $2.. extra args
  local port=$1; shift
  # One request thread: on 2 cores, Redis and the load generator need the other (measured: 2 threads
  # gave a lower throughput and a higher p99 here).
  "$BIN" serve --rules "$RULES" --port "$port" --exposures "$WORK/exposures.ndjson" --reload-ms 200 --workers "${WORKERS:-1}" "$@" >"$WORK/serve.log" 2>&1 & SERVE_PID=$!; PIDS+=("$SERVE_PID"); wait_port "$port"; }
# Caps from the exposure log: per session at most 3, per user and UTC day at most 5. The day counts
# live in Redis: a Redis restarted empty starts them again, so they are counted per store epoch
# (exposures before the given kill time, and after it).
check_caps() { python3 - "$WORK/exposures.ndjson" "${1:-}" <<'PY'
import json, sys, collections
per_session, per_day = collections.Counter(), collections.Counter()
n = 0
split = sys.argv[2] if len(sys.argv) > 2 else ""
for line in open(sys.argv[1]):
    e = json.loads(line); n += 1
    epoch = 0 if not split or e["exposed_at"] < split else 1
    per_session[(e["user_id"], e["session"], epoch)] += 1
    per_day[(e["user_id"], e["exposed_at"][:10], epoch)] += 1
worst_s = max(per_session.values(), default=0); worst_d = max(per_day.values(), default=0)
ok = worst_s <= 3 and worst_d <= 5
print(json.dumps({"exposures": n, "max_per_session": worst_s, "max_per_day": worst_d, "caps_held": ok}))
sys.exit(0 if ok else 1)
PY
}

echo "== in-process store, profile in the request"
PORT=$(free_port); start_serve "$PORT"
for c in 1 8 64; do
  "$LOAD" --addr 127.0.0.1:$PORT --clients $c --requests 60000 --seconds 6 --users $USERS --tag mem$c
done
check_caps
kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true

echo "== Redis store, profile looked up by user id"
RPORT=$(free_port); start_redis "$RPORT"
PORT=$(free_port); : > "$WORK/exposures.ndjson"; start_serve "$PORT" --redis redis://127.0.0.1:$RPORT
"$LOAD" --addr 127.0.0.1:$PORT --clients 1 --requests 1 --seconds 5 --users $USERS --seed-redis redis://127.0.0.1:$RPORT >/dev/null
for c in 1 8 64; do
  "$LOAD" --addr 127.0.0.1:$PORT --clients $c --requests 60000 --seconds 6 --users $USERS --by-id --tag redis$c
done
check_caps

echo "== Redis killed after 2 s and restarted after 3 s of a 6 s run (64 clients)"
( sleep 2; date -u +%Y-%m-%dT%H:%M:%S.%6NZ > "$WORK/kill.at"; kill "$REDIS_PID"; sleep 1; redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no >/dev/null & echo $! > "$WORK/redis2.pid"; "$LOAD" --addr 127.0.0.1:$PORT --clients 1 --requests 1 --seconds 5 --users $USERS --seed-redis redis://127.0.0.1:$RPORT >/dev/null 2>&1 || true ) &
"$LOAD" --addr 127.0.0.1:$PORT --clients 64 --requests 200000 --seconds 6 --users $USERS --by-id --tag kill
PIDS+=("$(cat "$WORK/redis2.pid")")
echo "(404: requests between the restart and the profiles written again; 503: Redis down, no decision made)"
echo "after the restart: $(curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:$PORT/v1/health) from /v1/health"
"$LOAD" --addr 127.0.0.1:$PORT --clients 8 --requests 2000 --seconds 3 --users $USERS --by-id --tag after
check_caps "$(cat "$WORK/kill.at")"

echo "== the rule file replaced by a broken one after 1 s of a 4 s run (64 clients)"
( sleep 1; echo '{"format_version": 3,' > "$RULES.new"; mv "$RULES.new" "$RULES" ) &
"$LOAD" --addr 127.0.0.1:$PORT --clients 64 --requests 200000 --seconds 4 --users $USERS --by-id --tag broken
curl -s 127.0.0.1:$PORT/v1/health | python3 -c 'import json,sys; h=json.load(sys.stdin); print(json.dumps({"serving_created": h["rules"]["created"], "refused": (h["rules"]["last_refused_change"] or "")[:90]}))'
grep -c "refused the changed rule set" "$WORK/serve.log" | sed 's/^/refusals logged: /'
check_caps "$(cat "$WORK/kill.at")"
