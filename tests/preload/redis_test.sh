#!/usr/bin/env bash
# redis-server under LD_PRELOAD on 127.0.0.1, driven by redis-benchmark (bounded in count), then
# checked with redis-cli: the data set it holds is the one written, and it shuts down cleanly.
source "$(dirname "$0")/common.sh"
command -v redis-server >/dev/null || fail "redis-server is not installed (tools/setup installs it)"
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LD_PRELOAD="$AIXMALLOC_LIB" redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
  --daemonize no --logfile "$work/redis.log" 2>> "$work/stderr" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
timeout 120 redis-benchmark -h 127.0.0.1 -p "$port" -q -n 10000 -r 10000 -d 200 -t set,get,lpush,lpop,sadd \
  > "$work/bench" || fail "redis-benchmark failed: $(cat "$work/bench")"
for i in $(seq 1 500); do echo "SET key:$i $(printf 'v%.0s' $(seq 1 $((i % 50 + 1))))"; done |
  redis-cli -h 127.0.0.1 -p "$port" > /dev/null
[ "$(redis-cli -h 127.0.0.1 -p "$port" get key:49)" = "$(printf 'v%.0s' $(seq 1 50))" ] || fail "key:49"
[ "$(redis-cli -h 127.0.0.1 -p "$port" strlen key:500)" = 1 ] || fail "key:500"
redis-cli -h 127.0.0.1 -p "$port" shutdown nosave > /dev/null 2>&1 || true
wait $server
status=$?
[ $status = 0 ] || fail "redis-server exited with $status: $(tail -5 "$work/redis.log")"
no_diagnostics
echo "redis-server: $(grep -c 'requests per second' "$work/bench") benchmarks, data intact, clean shutdown"
