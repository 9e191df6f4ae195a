#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Notifications survive faults: the receiver answers 500 for a while, then is
# down, and swarmwatch is killed with SIGKILL and restarted meanwhile; when the
# receiver comes back the firing notification arrives, once, with the key it
# had from the start, and the restarted swarmwatch does not notify the alert
# again as new. Then the receiver hangs without answering: /metrics still
# answers and the tick goes on, and the resolved notification arrives once the
# receiver answers again. Every notification arrives exactly once.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

checks=("swarmwatch starts with a webhook receiver that answers 500"
	"the firing notification is tried, answered 500, and tried again"
	"with the receiver down, swarmwatch is killed with SIGKILL and restarts"
	"the receiver back, the firing notification arrives"
	"every attempt of it, before and after the restart, had one idempotency key"
	"while the receiver hangs, /metrics answers and the tick goes on"
	"the resolved notification arrives once the receiver answers"
	"each notification arrived exactly once: one firing, one resolved")
echo "1..${#checks[@]}"
needs_root_bpf curl python3

work=$(mktemp -d)
pin=/sys/fs/bpf/swarmwatch-faults-$$
agent=faults$$
sw_port=$(free_port)
hook_port=$(free_port)
sw_pid= sink_pid= proc_pid= dog_pid=
cleanup() { teardown "$proc_pid" "$sw_pid" "$sink_pid"; }
trap cleanup EXIT
watchdog 100

start_sink() {
	"$top/tools/webhook-sink" --port $hook_port --log "$work/hook.jsonl" \
		--status-file "$work/status" >/dev/null 2>"$work/sink.err" &
	sink_pid=$!
	wait_for 5 curl -s -o /dev/null "http://127.0.0.1:$hook_port/"
}
start_sw() {
	"$SWARMWATCH" run --config "$work/config.json" --listen 127.0.0.1:$sw_port \
		--interval 500ms --pin-path "$pin" --state-dir "$work/state" \
		>>"$work/swarmwatch.log" 2>&1 &
	sw_pid=$!
	wait_for 15 curl -sf "http://127.0.0.1:$sw_port/metrics"
}
# attempts STATUS [KIND]: how many requests for our alert the sink logged with
# that answer (KIND firing/resolved: only those); "keys KIND": distinct keys.
cat >"$work/count.py" <<'PY'
import json, sys
log, agent, what, kind = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
n, keys = 0, set()
try:
    for line in open(log):
        r = json.loads(line)
        b = r["body"]
        if not isinstance(b, dict):
            continue
        for a in b.get("alerts", []):
            if a["labels"].get("agent") != agent or (kind != "any" and a["status"] != kind):
                continue
            if what == "keys" or r["status"] == what:
                n += 1
                keys.add(r["headers"].get("x-idempotency-key"))
except FileNotFoundError:
    pass
print(len(keys) if what == "keys" else n)
PY
count() { python3 "$work/count.py" "$work/hook.jsonl" "$agent" "$1" "${2:-any}"; }
# wait_count SECONDS N STATUS KIND: until N requests of KIND were answered STATUS.
wait_count() {
	local deadline=$((SECONDS + $1))
	while [ $SECONDS -lt $deadline ]; do
		[ "$(count "$3" "$4")" -ge "$2" ] && return 0
		sleep 0.2
	done
	return 1
}

echo 500 >"$work/status"
cat >"$work/config.json" <<JSON
{"receivers": [{"name": "hook", "type": "webhook", "url": "http://127.0.0.1:$hook_port/hook",
                "timeout": "2s", "secret": "test-secret"}],
 "notify": {"retry_min": "200ms", "retry_max": "1s"},
 "alerts": {"default_rules": false,
            "rules": [{"name": "AgentUp", "expr": "instances > 0", "for": "1s",
                       "severity": "warning"}],
            "routes": [{"receiver": "hook", "match": {"agent": "$agent"}}]}}
JSON
start_sink || fail_rest 0
start_sw || { sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail; fail_rest 0; }
ok 0 "${checks[0]}"

SWARMWATCH_AGENT=$agent sleep 300 &
proc_pid=$!
wait_count 20 2 500 firing
ok $? "${checks[1]}"

kill "$sink_pid"; wait "$sink_pid" 2>/dev/null; sink_pid=
sleep 1.5 # attempts now find nobody listening
kill -KILL "$sw_pid"; wait "$sw_pid" 2>/dev/null; sw_pid=
before=$(count 500 firing)
start_sw
ok $? "${checks[2]}"
sleep 1.5 # the restarted daemon's ticks: a "new" firing would be queued now

echo 200 >"$work/status"
start_sink
wait_count 20 1 200 firing
ok $? "${checks[3]}"
echo "# firing: $before answered 500 before the restart, $(count 200 firing) accepted; $(count keys firing) key(s)"
[ "$(count keys firing)" -eq 1 ]
ok $? "${checks[4]}"

echo hang >"$work/status"
ticks() {
	curl -sf -m 3 "http://127.0.0.1:$sw_port/metrics" |
		sed -n 's/^swarmwatch_collector_ticks_total \([0-9]*\).*/\1/p'
}
kill "$proc_pid"; wait "$proc_pid" 2>/dev/null; proc_pid=
wait_count 20 1 hang resolved
t1=$(ticks)
sleep 1
t2=$(ticks)
echo "# receiver hanging: ticks $t1 then $t2"
[ -n "$t1" ] && [ -n "$t2" ] && [ "$t2" -gt "$t1" ]
ok $? "${checks[5]}"

echo 200 >"$work/status"
wait_count 20 1 200 resolved
ok $? "${checks[6]}"
sleep 2 # anything sent twice would come now
echo "# accepted: $(count 200 firing) firing, $(count 200 resolved) resolved; keys: $(count keys any)"
[ "$(count 200 firing)" -eq 1 ] && [ "$(count 200 resolved)" -eq 1 ] && [ "$(count keys any)" -eq 2 ]
ok $? "${checks[7]}"
[ $tap_failed -eq 0 ]
