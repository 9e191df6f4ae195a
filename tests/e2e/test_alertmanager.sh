#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A real Alertmanager (Debian's prometheus-alertmanager) on loopback takes
# swarmwatch's pushed alerts (POST /api/v2/alerts): a rule that fires while a
# tagged process lives reaches Alertmanager with the same fingerprint
# swarmwatch gives it, Alertmanager routes it to a webhook receiver, and the
# resolve swarmwatch pushes when the process ends reaches the receiver too.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

checks=("Alertmanager starts on loopback"
	"swarmwatch starts with an alertmanager receiver"
	"Alertmanager lists the alert with swarmwatch's labels and fingerprint"
	"Alertmanager's webhook receiver gets the firing alert"
	"after the process ends, the receiver gets the alert resolved"
	"swarmwatch counts its pushes as sent and none rejected")
echo "1..${#checks[@]}"
needs_root_bpf curl python3 prometheus-alertmanager

work=$(mktemp -d)
pin=/sys/fs/bpf/swarmwatch-am-$$
agent=amtest$$
sw_port=$(free_port)
am_port=$(free_port)
sw_pid= am_pid= sink_pid= proc_pid= dog_pid=
cleanup() { teardown "$proc_pid" "$sw_pid" "$am_pid" "$sink_pid"; }
trap cleanup EXIT
watchdog 80

"$top/tools/webhook-sink" --port 0 --log "$work/hook.jsonl" >"$work/sink.port" 2>"$work/sink.err" &
sink_pid=$!
wait_for 5 test -s "$work/sink.port" || fail_rest 0
cat >"$work/am.yml" <<YML
global: {resolve_timeout: 5m}
route:
  receiver: sink
  group_by: ['alertname', 'agent']
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: sink
    webhook_configs:
      - url: 'http://127.0.0.1:$(head -1 "$work/sink.port")/am'
        send_resolved: true
YML
prometheus-alertmanager --config.file="$work/am.yml" --storage.path="$work/am" \
	--web.listen-address=127.0.0.1:$am_port --cluster.listen-address= \
	--web.external-url=http://127.0.0.1:$am_port >"$work/am.log" 2>&1 &
am_pid=$!
wait_for 20 curl -sf "http://127.0.0.1:$am_port/-/ready" || {
	sed 's/^/# alertmanager: /' "$work/am.log" | tail -5
	fail_rest 0
}
ok 0 "${checks[0]}"

cat >"$work/config.json" <<JSON
{"receivers": [{"name": "am", "type": "alertmanager", "url": "http://127.0.0.1:$am_port"}],
 "alerts": {"default_rules": false, "resend": "2s", "host": "testhost",
            "rules": [{"name": "AgentUp", "expr": "instances > 0", "for": "1s",
                       "severity": "warning",
                       "annotations": {"summary": "{{agent}} runs {{value}} instance(s)"}}]}}
JSON
"$SWARMWATCH" run --config "$work/config.json" --listen 127.0.0.1:$sw_port --interval 500ms \
	--pin-path "$pin" --state-dir "$work/state" >"$work/swarmwatch.log" 2>&1 &
sw_pid=$!
if ! wait_for 15 curl -sf "http://127.0.0.1:$sw_port/metrics"; then
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail -20
	fail_rest 1
fi
ok 0 "${checks[1]}"

SWARMWATCH_AGENT=$agent sleep 12 &
proc_pid=$!

# Alertmanager's view of the alert, against swarmwatch's own.
cat >"$work/am.py" <<'PY'
import json, sys, urllib.request
am, sw, agent = sys.argv[1], sys.argv[2], sys.argv[3]
get = lambda u: json.load(urllib.request.urlopen(u, timeout=5))
mine = [a for a in get(sw + "/api/v1/alerts")["alerts"] if a["agent"] == agent]
theirs = [a for a in get(am + "/api/v2/alerts") if a["labels"].get("agent") == agent]
if not mine or not theirs:
    sys.exit(3)
a = theirs[0]
print("# alertmanager: %s" % json.dumps(a)[:400])
print("# swarmwatch id %s" % mine[0]["id"])
sys.exit(0 if a["fingerprint"] == mine[0]["id"] and
         a["labels"] == {"alertname": "AgentUp", "agent": agent, "severity": "warning",
                         "host": "testhost"} else 1)
PY
rc=3
for _ in $(seq 50); do
	python3 "$work/am.py" "http://127.0.0.1:$am_port" "http://127.0.0.1:$sw_port" "$agent" \
		>"$work/am.out" 2>&1
	rc=$?
	[ $rc -ne 3 ] && break
	sleep 0.3
done
cat "$work/am.out"
ok $rc "${checks[2]}"

# hook.py STATUS: the receiver got the alert with that status from Alertmanager.
cat >"$work/hook.py" <<'PY'
import json, sys
log, agent, want = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    for line in open(log):
        b = json.loads(line)["body"]
        for a in b.get("alerts", []):
            if a["labels"].get("agent") == agent and a["status"] == want:
                print("# %s via alertmanager: %s" % (want, json.dumps(a)[:300]))
                sys.exit(0)
except FileNotFoundError:
    pass
sys.exit(1)
PY
wait_for 20 python3 "$work/hook.py" "$work/hook.jsonl" "$agent" firing
ok $? "${checks[3]}"
python3 "$work/hook.py" "$work/hook.jsonl" "$agent" firing
wait $proc_pid
proc_pid=
wait_for 30 python3 "$work/hook.py" "$work/hook.jsonl" "$agent" resolved
ok $? "${checks[4]}"
python3 "$work/hook.py" "$work/hook.jsonl" "$agent" resolved

curl -sf "http://127.0.0.1:$sw_port/metrics" | grep '^swarmwatch_notifications_total{channel="alertmanager"' |
	tee "$work/counts" | sed 's/^/# /'
grep -Eq 'result="sent"\} [2-9]|result="sent"\} [1-9][0-9]' "$work/counts" &&
	grep -q 'result="rejected"} 0$' "$work/counts"
ok $? "${checks[5]}"
[ $tap_failed -eq 0 ]
