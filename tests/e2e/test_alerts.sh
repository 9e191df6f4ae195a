#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Alerts end to end: an agentsim pool whose LLM calls fail in a burst trips the
# error-ratio rule; `swarmwatch run --webhook URL` sends a firing notification
# (Alertmanager webhook v4 body: agent, severity, likely cause, fingerprint,
# idempotency key) to a webhook sink on loopback, then a resolved one when the
# burst is over. Meanwhile /api/v1/alerts lists the alert, it can be
# acknowledged, and /metrics counts it and the notifications sent and passes
# promtool check metrics. The burst is one incident of the pool at
# /api/v1/incidents whose likely cause is its failing requests, with the advice
# to check the upstream; it is still open, with the same id, after a restart.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

checks=("swarmwatch starts with --webhook and a state directory"
	"the sink gets a firing AgentErrorRatioHigh notification for the failing pool"
	"it is a webhook v4 body with agent, severity, likely cause and fingerprint"
	"it carries an X-Idempotency-Key header"
	"/api/v1/alerts lists the firing alert"
	"POST /api/v1/alerts/ID/ack acknowledges it; an unknown ID is a 404"
	"/metrics shows swarmwatch_alerts and webhook notifications sent"
	"promtool check metrics reports nothing on the page"
	"after the burst the sink gets a resolved notification for the same alert, its likely cause with the incident's advice"
	"no notification was sent twice"
	"/api/v1/incidents has one incident for the pool: failures came first, check the upstream"
	"GET /api/v1/incidents/ID returns it; an unknown ID is a 404"
	"/metrics shows swarmwatch_incidents{state=\"open\"}"
	"after a restart on the same state directory the incident is open with the same id"
	"a silence is created, listed and expired through /api/v1/silences; bad ones are refused"
	"GET on the ack path is a 405 that allows POST")
echo "1..${#checks[@]}"
needs_root_bpf curl python3 promtool

agentsim=$top/tools/agentsim/agentsim
work=$(mktemp -d)
pin=/sys/fs/bpf/swarmwatch-alerts-$$
pool=alertburst$$
sw_port=$(free_port)
sw_pid= as_pid= sink_pid= dog_pid=
cleanup() { teardown "$as_pid" "$sw_pid" "$sink_pid"; }
trap cleanup EXIT
watchdog 110

"$top/tools/webhook-sink" --port 0 --log "$work/hook.jsonl" >"$work/sink.port" 2>"$work/sink.err" &
sink_pid=$!
wait_for 5 test -s "$work/sink.port" || fail_rest 0
hook=http://127.0.0.1:$(head -1 "$work/sink.port")/hook

# The default rules, with the error-ratio rule held 2 s instead of 30 s.
cat >"$work/config.json" <<JSON
{"alerts": {"window": "4s", "cooldown": "5s", "incident_window": "5m",
            "rules": [{"name": "AgentErrorRatioHigh", "expr": "error_ratio > 5%",
                       "severity": "critical", "for": "2s", "keep_firing_for": "2s",
                       "annotations": {"summary": "{{agent}}: {{value}} of requests fail",
                                       "description": "likely cause: {{cause}}"}}]}}
JSON
cat >"$work/burst.json" <<JSON
{"name": "burst", "duration": 70, "seed": 3,
 "llm": {"latency": {"dist": "uniform", "min_ms": 20, "max_ms": 60}, "error_rate": 0.0},
 "pools": {"$pool": {"instances": 2, "max_instances": 4,
                     "behaviour": {"think_ms": [50, 150], "llm_calls": [2, 3],
                                   "tool_calls": 0, "max_retries": 0}}},
 "phases": [{"name": "calm", "duration": 10},
            {"name": "burst", "duration": 15,
             "faults": [{"kind": "errors", "pool": "$pool", "rate": 0.7,
                         "kinds": {"500": 1}, "name": "burst-500"}]},
            {"name": "after", "duration": 45}]}
JSON

start_swarmwatch() {
	"$SWARMWATCH" run --config "$work/config.json" --listen 127.0.0.1:$sw_port --interval 500ms \
		--pin-path "$pin" --state-dir "$work/state" --webhook "$hook" >>"$work/swarmwatch.log" 2>&1 &
	sw_pid=$!
}
start_swarmwatch
if ! wait_for 15 curl -sf "http://127.0.0.1:$sw_port/metrics"; then
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail -20
	fail_rest 0
fi
ok 0 "${checks[0]}"

AGENTSIM_STATE_DIR=$work timeout -k 5 80 "$agentsim" run --scenario "$work/burst.json" \
	--control-port 0 --log "$work/truth.jsonl" -q >"$work/agentsim.out" 2>&1 &
as_pid=$!

# Reads the sink's log: the notifications for the pool's AgentErrorRatioHigh.
cat >"$work/hook.py" <<'PY'
import json, sys
log, pool, want = sys.argv[1], sys.argv[2], sys.argv[3]
got = []
try:
    with open(log) as f:
        for line in f:
            r = json.loads(line)
            b = r["body"]
            if r["status"] != "200" or not isinstance(b, dict):
                continue
            for a in b.get("alerts", []):
                l = a["labels"]
                if l.get("alertname") == "AgentErrorRatioHigh" and l.get("agent") == pool:
                    got.append((r, b, a))
except FileNotFoundError:
    pass
if want == "count":
    keys = [r["headers"].get("x-idempotency-key") for r, b, a in got]
    print("# %d notifications, %d distinct keys" % (len(keys), len(set(keys))))
    sys.exit(0 if got and len(keys) == len(set(keys)) else 1)
for r, b, a in got:
    if a["status"] != want:
        continue
    if want == "firing":
        ok = (b.get("version") == "4" and b.get("status") == "firing" and
              a["labels"].get("severity") == "critical" and
              len(a.get("fingerprint", "")) == 16 and
              # the rule's own words, or its incident's cause and advice
              any(w in a["annotations"].get("description", "")
                  for w in ("failed requests to", "check upstream")) and
              a.get("endsAt", "").startswith("0001-01-01"))
        print("# firing: %s" % json.dumps(a)[:600])
        print("EXIT=%d KEY=%s FP=%s" % (0 if ok else 1,
              r["headers"].get("x-idempotency-key", ""), a["fingerprint"]))
    else:
        print("# resolved: %s" % json.dumps(a)[:400])
        # by then the pool's incident gives the alert its cause and advice
        advice = "check upstream" in a["annotations"].get("description", "")
        print("EXIT=%d FP=%s" % (0 if advice else 1, a["fingerprint"]))
    sys.exit(0)
sys.exit(3)
PY
firing=
for _ in $(seq 200); do
	firing=$(python3 "$work/hook.py" "$work/hook.jsonl" "$pool" firing) && break
	case $? in 3) sleep 0.3 ;; *) break ;; esac
done
echo "$firing" | grep '^#'
if [ -z "$firing" ]; then
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail -10
	curl -s "http://127.0.0.1:$sw_port/api/v1/alerts" | head -c 800 | sed 's/^/# alerts: /'
	echo
	fail_rest 1
fi
ok 0 "${checks[1]}"
fp=$(echo "$firing" | sed -n 's/.* FP=\([0-9a-f]*\).*/\1/p')
key=$(echo "$firing" | sed -n 's/.* KEY=\([^ ]*\) .*/\1/p')
echo "$firing" | grep -q '^EXIT=0'
ok $? "${checks[2]}"
[ -n "$key" ]
ok $? "${checks[3]}"

curl -sf "http://127.0.0.1:$sw_port/api/v1/alerts" >"$work/alerts.json"
python3 - "$work/alerts.json" "$fp" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
hit = [a for a in d["alerts"] if a["id"] == sys.argv[2]]
print("# %s" % json.dumps(hit)[:300])
sys.exit(0 if hit and hit[0]["state"] in ("firing", "resolved") and
         hit[0]["severity"] == "critical" else 1)
PY
ok $? "${checks[4]}"

code=$(curl -s -o "$work/ack.json" -w '%{http_code}' -X POST \
	"http://127.0.0.1:$sw_port/api/v1/alerts/$fp/ack")
bad=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
	"http://127.0.0.1:$sw_port/api/v1/alerts/0000000000000000/ack")
echo "# ack: $code $(cat "$work/ack.json"); unknown: $bad"
# A 404 for our own alert is right only if it resolved meanwhile.
{ [ "$code" = 200 ] || { [ "$code" = 404 ] && grep -q '"state":"resolved"' "$work/alerts.json"; }; } &&
	[ "$bad" = 404 ]
ok $? "${checks[5]}"

# The page shows the counters as of the last tick: the delivery may be a tick newer.
metrics_ok() {
	curl -sf "http://127.0.0.1:$sw_port/metrics" >"$work/metrics.txt" &&
		grep -q '^swarmwatch_alerts{state="firing",severity="critical"} ' "$work/metrics.txt" &&
		grep -Eq '^swarmwatch_notifications_total\{channel="webhook",result="sent"\} [1-9]' \
			"$work/metrics.txt"
}
wait_for 10 metrics_ok
st=$?
grep -E '^swarmwatch_(alerts|notifications_total|notification_queue_length)' "$work/metrics.txt" |
	head -12 | sed 's/^/# /'
ok $st "${checks[6]}"
lint=$(promtool check metrics <"$work/metrics.txt" 2>&1)
[ -n "$lint" ] && echo "$lint" | sed 's/^/# promtool: /'
[ -z "$lint" ]
ok $? "${checks[7]}"

resolved=
for _ in $(seq 200); do
	resolved=$(python3 "$work/hook.py" "$work/hook.jsonl" "$pool" resolved) && break
	sleep 0.3
done
echo "$resolved" | grep '^#'
echo "$resolved" | grep -q "^EXIT=0 FP=$fp"
ok $? "${checks[8]}"
python3 "$work/hook.py" "$work/hook.jsonl" "$pool" count
ok $? "${checks[9]}"

# The pool's incidents: exactly one, its first signal about failing requests.
cat >"$work/incidents.py" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
mine = [i for i in d["incidents"] if i["agent"] == sys.argv[2]]
print("# %s" % json.dumps(mine)[:900])
ok = (len(mine) == 1 and mine[0]["signals"] and
      mine[0]["signals"][0]["kind"] == "failures" and
      mine[0]["cause"].startswith(mine[0]["signals"][0]["name"] + " ") and
      (mine[0]["recommendation"] or "").startswith("check upstream ") and
      mine[0]["state"] == sys.argv[3])
print("EXIT=%d ID=%s" % (0 if ok else 1, mine[0]["id"] if mine else ""))
PY
incident=
for _ in $(seq 20); do
	curl -sf "http://127.0.0.1:$sw_port/api/v1/incidents" >"$work/incidents.json" &&
		incident=$(python3 "$work/incidents.py" "$work/incidents.json" "$pool" open) &&
		echo "$incident" | grep -q '^EXIT=0' && break
	sleep 0.5
done
echo "$incident" | grep '^#'
echo "$incident" | grep -q '^EXIT=0'
ok $? "${checks[10]}"
iid=$(echo "$incident" | sed -n 's/.* ID=\([0-9]*\).*/\1/p')
one=$(curl -s "http://127.0.0.1:$sw_port/api/v1/incidents/$iid")
none=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$sw_port/api/v1/incidents/99999")
echo "# incident $iid: $(echo "$one" | head -c 200); unknown: $none"
[ -n "$iid" ] && echo "$one" | grep -q "\"id\":$iid,\"agent\":\"$pool\"" && [ "$none" = 404 ]
ok $? "${checks[11]}"
curl -sf "http://127.0.0.1:$sw_port/metrics" | grep '^swarmwatch_incidents' >"$work/inc_metrics"
sed 's/^/# /' "$work/inc_metrics"
grep -Eq '^swarmwatch_incidents\{state="open"\} [1-9]' "$work/inc_metrics"
ok $? "${checks[12]}"
kill "$sw_pid" && wait "$sw_pid" 2>/dev/null
start_swarmwatch
restarted=
if wait_for 15 curl -sf "http://127.0.0.1:$sw_port/metrics"; then
	for _ in $(seq 10); do
		curl -sf "http://127.0.0.1:$sw_port/api/v1/incidents" >"$work/incidents2.json" &&
			restarted=$(python3 "$work/incidents.py" "$work/incidents2.json" "$pool" open) &&
			break
		sleep 0.5
	done
fi
echo "$restarted" | grep '^#'
echo "$restarted" | grep -q "^EXIT=0 ID=$iid\$"
ok $? "${checks[13]}"

api=http://127.0.0.1:$sw_port/api/v1/silences
made=$(curl -sf -X POST -d "{\"matchers\": {\"agent\": \"$pool\"}, \"duration\": \"1h\"}" "$api")
id=$(echo "$made" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
listed=$(curl -sf "$api")
bad=$(curl -s -o "$work/bad.json" -w '%{http_code}' -X POST -d '{"matchers": {}}' "$api")
gone=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$api/$id")
again=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$api/$id")
echo "# created $made; listed $listed; bad body: $bad $(cat "$work/bad.json"); delete: $gone then $again"
[ -n "$id" ] && echo "$listed" | grep -q "\"agent\":\"$pool\"" && [ "$bad" = 400 ] &&
	[ "$gone" = 200 ] && [ "$again" = 404 ] && [ "$(curl -sf "$api")" = '{"silences":[]}' ]
ok $? "${checks[14]}"
curl -s -D "$work/h405" -o /dev/null "http://127.0.0.1:$sw_port/api/v1/alerts/$fp/ack"
grep -q '^HTTP/1.1 405' "$work/h405" && grep -qi '^Allow: POST' "$work/h405"
ok $? "${checks[15]}"
[ $tap_failed -eq 0 ]
