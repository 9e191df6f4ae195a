#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# GET /api/v1/stream on a real daemon: Server-Sent Events with one overview per tick, read
# with curl -N; a tagged agent's requests to a loopback upstream show up in it; the number of
# clients is bounded while /metrics keeps answering; a client that stops reading is dropped
# and counted; the daemon stops cleanly with clients connected.
set -u
. "$(dirname "$0")/lib.sh"

checks=("the stream answers 200 text/event-stream and sends an overview event at once"
	"consecutive events carry increasing ticks, each a JSON overview with every field"
	"the probe agent's requests to a loopback upstream appear with a rate and a p95"
	"the 33rd client gets 503 with Retry-After while 32 stream"
	"/metrics answers 200 while 32 clients stream"
	"a client that reads nothing is dropped and the drop is logged with its count"
	"the daemon stops cleanly (status 0) with clients connected")
echo "1..${#checks[@]}"
needs_root_bpf curl python3

work=$(mktemp -d)
pin=/sys/fs/bpf/swarmwatch-e2e-$$
port=$(free_port)
up_port=$(free_port)
pids=()
sw=
cleanup() { teardown "${pids[@]}" "$sw"; }
trap cleanup EXIT
url=http://127.0.0.1:$port

"$SWARMWATCH" run --listen 127.0.0.1:$port --interval 200ms --pin-path "$pin" --state-dir "" \
	>"$work/swarmwatch.log" 2>&1 &
sw=$!
if ! wait_for 30 curl -sf $url/healthz; then
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log"
	fail_rest 0
fi

# An upstream on loopback and a tagged agent calling it, both bounded to 60 s.
timeout 60 python3 -m http.server --bind 127.0.0.1 $up_port >/dev/null 2>&1 &
pids+=($!)
wait_for 10 curl -sf http://127.0.0.1:$up_port/ || fail_rest 0
# Twenty more agents of the test's own, so that an event is several KiB on a host where
# nothing else is tagged: the silent client of check 6 must fill its socket's buffers (about
# 100 KiB) well within the check's time.
for i in $(seq 1 20); do
	env SWARMWATCH_AGENT=tstream-pad-$i timeout 100 sleep 100 &
	pids+=($!)
done
env SWARMWATCH_AGENT=streamprobe timeout 60 sh -c \
	"while :; do curl -s -o /dev/null http://127.0.0.1:$up_port/; sleep 0.05; done" &
pids+=($!)

# 1, 2, 3: read the stream for 4 s.
curl -sN -D "$work/headers" --max-time 4 $url/api/v1/stream >"$work/stream" 2>/dev/null
grep -q '^HTTP/1.1 200' "$work/headers" && grep -qi '^content-type: text/event-stream' \
	"$work/headers" && head -3 "$work/stream" | grep -q '^event: overview'
ok $? "${checks[0]}"

python3 - "$work/stream" >"$work/check.txt" 2>&1 <<'PY'
import json, sys
events, ticks = [], []
for block in open(sys.argv[1]).read().split("\n\n"):
    lines = dict(l.split(": ", 1) for l in block.splitlines() if ": " in l)
    if "data" not in lines:
        continue
    e = json.loads(lines["data"])
    assert int(lines["id"]) == e["tick"], "id is not the tick"
    events.append(e)
assert len(events) >= 5, "only %d events in 4 s at 200 ms" % len(events)
ticks = [e["tick"] for e in events]
assert ticks == sorted(set(ticks)), "ticks not increasing: %s" % ticks
keys = {"agent", "live", "instances", "requests_per_second", "p95_seconds", "error_ratio",
        "ratio_429", "cpu_cores", "resident_memory_bytes", "anomaly", "upstreams"}
for e in events:
    for k in ("time", "unix_ms", "tick", "interval_seconds", "threshold", "agents"):
        assert k in e, "event lacks " + k
    for a in e["agents"]:
        assert keys <= set(a), "agent lacks %s" % (keys - set(a))
print("events ok", len(events))
seen = [a for e in events for a in e["agents"] if a["agent"] == "streamprobe"
        and (a["requests_per_second"] or 0) > 0 and (a["p95_seconds"] or 0) > 0
        and any(u["role"] == "client" for u in a["upstreams"])]
print("probe ok" if seen else "probe missing")
PY
sed 's/^/# /' "$work/check.txt"
grep -q '^events ok' "$work/check.txt"
ok $? "${checks[1]}"
grep -q '^probe ok' "$work/check.txt"
ok $? "${checks[2]}"

# 4, 5: 32 clients stream (bounded in time), the 33rd is refused, /metrics answers.
spids=()
for i in $(seq 32); do
	curl -sN --max-time 20 $url/api/v1/stream >"$work/c$i" 2>/dev/null &
	spids+=($!)
done
ready=0
for _ in $(seq 50); do
	ready=0
	for i in $(seq 32); do [ -s "$work/c$i" ] && ready=$((ready + 1)); done
	[ $ready -eq 32 ] && break
	sleep 0.2
done
code=$(curl -s -D "$work/h33" -o "$work/b33" -w '%{http_code}' --max-time 5 $url/api/v1/stream)
echo "# $ready clients streaming; 33rd: $code $(cat "$work/b33")"
[ $ready -eq 32 ] && [ "$code" = 503 ] && grep -qi '^retry-after:' "$work/h33" &&
	grep -q '"error"' "$work/b33"
ok $? "${checks[3]}"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 $url/metrics)
[ "$code" = 200 ]
ok $? "${checks[4]}"
for p in "${spids[@]}"; do kill "$p" 2>/dev/null; done
wait "${spids[@]}" 2>/dev/null

# 6: a client with a small receive window that never reads, bounded to 70 s; once the
# killed clients above have left their places (a 33rd is served again).
wait_for 20 sh -c "curl -s -o /dev/null -w '%{http_code}' --max-time 1 $url/api/v1/stream |
	grep -qx 200"
timeout 70 python3 - $port >"$work/slow.txt" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(65)  # reads nothing
PY
slow=$!
pids+=($slow)
# Clients of the bounded run above may have been dropped too (a loaded machine): count on.
drops() { grep -c 'stream: dropped a client' "$work/swarmwatch.log"; }
before=$(drops)
wait_for 65 sh -c "[ \$(grep -c 'stream: dropped a client' '$work/swarmwatch.log') -gt $before ]"
rc=$?
last=$(grep 'stream: dropped a client' "$work/swarmwatch.log" | tail -1)
echo "# drops before the silent client: $before; last: ${last:-none}"
[ $rc -ne 0 ] && head -c 300 "$work/slow.txt" | sed 's/^/# silent client: /'
[ $rc -eq 0 ] && echo "$last" | grep -q "($(drops) dropped so far)"
ok $? "${checks[5]}"
kill $slow 2>/dev/null

# 7: stop with two clients connected.
curl -sN --max-time 20 $url/api/v1/stream >/dev/null 2>&1 &
pids+=($!)
curl -sN --max-time 20 $url/api/v1/stream >/dev/null 2>&1 &
pids+=($!)
sleep 1
kill -TERM $sw
rc=0
for _ in $(seq 100); do kill -0 $sw 2>/dev/null || break; sleep 0.1; done
if kill -0 $sw 2>/dev/null; then
	rc=1
	echo "# swarmwatch did not stop within 10 s"
else
	wait $sw
	rc=$?
fi
sw=
[ $rc -eq 0 ]
ok $? "${checks[6]}"
grep -E 'warn|error|stream' "$work/swarmwatch.log" | sed 's/^/# swarmwatch: /' | head -5
exit $((tap_failed > 0))
