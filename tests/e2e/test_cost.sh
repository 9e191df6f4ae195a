#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Cost and budgets end to end: a tagged workload that burns about half a CPU and calls an HTTP
# server on loopback, priced at 0.01 USD per CPU-second and 0.00002 USD per request to that
# upstream, with a daily budget of 0.05 USD, crosses 80 % and then 95 % of it.
# swarmwatch logs the warning, fires the AgentBudgetEmergency alert, runs the emergency
# command (which appends a line to a file) exactly once and queues one BudgetEmergencyAction
# notification through the outbox; GET /api/v1/cost and /metrics show the spend, the forecast
# and the recommendation; after a restart on the same state directory the day goes on (spend
# kept, no second action).
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

checks=("swarmwatch starts with a cost model and an emergency command"
	"the warning at 80 % is logged once for the agent"
	"the emergency command runs with the agent's name and day"
	"AgentBudgetEmergency fires for the agent (/api/v1/alerts)"
	"GET /api/v1/cost: spend above 95 %, forecast interval, priced requests and successes, recommendations"
	"/metrics has the cost families for the agent and passes promtool check metrics"
	"the receiver gets one BudgetEmergencyAction notification"
	"after a restart the day's spend goes on from where it was, requests still priced"
	"the emergency command ran exactly once, the notification was sent once"
	"the agent's pool was taken to min_replicas once, by the rule budget_emergency")
echo "1..${#checks[@]}"
needs_root_bpf curl python3 promtool

work=$(mktemp -d)
pin=/sys/fs/bpf/swarmwatch-cost-$$
agent=tcost$$
sw_port=$(free_port)
api_port=$(free_port)
sw_pid= load_pid= sink_pid= dog_pid= api_pid=
cleanup() { teardown "$api_pid" "$load_pid" "$sw_pid" "$sink_pid"; }
trap cleanup EXIT
watchdog 85

"$top/tools/webhook-sink" --port 0 --log "$work/hook.jsonl" >"$work/sink.port" 2>"$work/sink.err" &
sink_pid=$!
wait_for 5 test -s "$work/sink.port" || fail_rest 0
hook=http://127.0.0.1:$(head -1 "$work/sink.port")/hook

# The upstream the workload calls: an untagged HTTP server on loopback.
python3 -m http.server "$api_port" --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
api_pid=$!
wait_for 10 curl -sf "http://127.0.0.1:$api_port/" || fail_rest 0

# Only the test's agent is priced: every other agent on the host costs nothing here.
cat >"$work/config.json" <<JSON
{"upstreams": [{"name": "tcost-api", "cidr": "127.0.0.1/32", "port": $api_port}],
 "cost": {"agents": {"$agent": {"cpu_second_usd": 0.01, "daily_budget_usd": 0.05,
                                "upstreams": {"tcost-api": {"request_usd": 0.00002}}}},
          "emergency": {"command": ["/bin/sh", "-c", "echo {agent} {day} >> $work/ran"],
                        "timeout": "5s", "receiver": "webhook"}},
 "pools": {"$agent": {"min_replicas": 0, "max_replicas": 4,
                      "rules": [{"name": "never", "expr": "instances > 1000", "action": "up 1"}],
                      "command": ["/bin/sh", "-c", "echo {pool} {current} {desired} {rule} >> $work/scaled"]}}}
JSON

start_swarmwatch() {
	"$SWARMWATCH" run --config "$work/config.json" --listen 127.0.0.1:$sw_port \
		--interval 500ms --pin-path "$pin" --state-dir "$work/state" --webhook "$hook" \
		>>"$work/swarmwatch.log" 2>&1 &
	sw_pid=$!
	wait_for 20 curl -sf "http://127.0.0.1:$sw_port/api/v1/cost"
}
if ! start_swarmwatch; then
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail -20
	fail_rest 0
fi
ok 0 "${checks[0]}"

# About half a CPU: busy 20 ms, then an HTTP request and 20 ms asleep, for at most 60 s.
SWARMWATCH_AGENT=$agent timeout 60 python3 -c '
import sys, time, urllib.request
url = "http://127.0.0.1:%s/" % sys.argv[1]
while True:
    t = time.monotonic()
    while time.monotonic() - t < 0.02:
        pass
    urllib.request.urlopen(url, timeout=5).read()
    time.sleep(0.02)
' "$api_port" &
load_pid=$!

wait_for 45 test -s "$work/ran"
grep -c "cost: $agent spent .* budget$" "$work/swarmwatch.log" | grep -qx 1
ok $? "${checks[1]}"
grep -qx "$agent $(date -u +%F)" "$work/ran"
r=$?
[ $r -ne 0 ] && { sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail -10; cat "$work/ran" 2>/dev/null | sed 's/^/# ran: /'; }
ok $r "${checks[2]}"

alert_fires() {
	curl -sf "http://127.0.0.1:$sw_port/api/v1/alerts" | python3 -c '
import json, sys
agent = sys.argv[1]
d = json.load(sys.stdin)
sys.exit(0 if any(a["alertname"] == "AgentBudgetEmergency" and a["agent"] == agent and
                  a["state"] == "firing" and a["severity"] == "emergency"
                  for a in d["alerts"]) else 1)' "$agent"
}
wait_for 10 alert_fires
ok $? "${checks[3]}"

curl -sf "http://127.0.0.1:$sw_port/api/v1/cost" >"$work/cost1.json"
python3 - "$work/cost1.json" "$agent" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
a = [x for x in d["agents"] if x["agent"] == sys.argv[2]]
if not a:
    print("# no agent in", json.dumps(d)[:400]); sys.exit(1)
a = a[0]
f = a["forecast"]
print("# spent %.4f of %.4f USD (%.0f %%), forecast %.3f [%.3f, %.3f], %s" % (
    a["spent_usd"], a["budget_usd"], a["usage_ratio"] * 100, f["end_of_day_usd"],
    f["lower_usd"], f["upper_usd"], a["threshold"]))
ups = {u["upstream"]: u for u in a["upstreams"]}
u = ups.get("tcost-api", {})
print("# %d requests, %d successful, %s USD per success; to tcost-api: %s" % (
    a["requests"], a["successes"], a["cost_per_success_usd"], json.dumps(u)))
costliest = d["recommendations"]["costliest_upstreams_per_success"]
ok = (a["usage_ratio"] >= 0.95 and a["threshold"] == "emergency" and a["budget_usd"] == 0.05 and
      a["today_usd"]["cpu"] > 0 and
      f["lower_usd"] <= f["end_of_day_usd"] <= f["upper_usd"] and
      f["lower_usd"] >= a["spent_usd"] - 1e-9 and
      d["recommendations"]["scale_down_first"][0]["agent"] == sys.argv[2] and
      u.get("requests", 0) > 0 and u.get("successes", 0) > 0 and
      abs(u["cost_usd"] - u["requests"] * 0.00002) < 1e-9 and
      abs(a["today_usd"]["requests"] - u["cost_usd"]) < 1e-9 and
      a["cost_per_success_usd"] is not None and
      any(c["upstream"] == "tcost-api" for c in costliest))
sys.exit(0 if ok else 1)
PY
ok $? "${checks[4]}"

# The command's result is counted once it has been reaped, a tick or so after it wrote the file.
wait_for 10 sh -c "curl -sf http://127.0.0.1:$sw_port/metrics |
	grep -qF 'swarmwatch_cost_emergency_actions_total{action=\"command\",result=\"ok\"} 1'"
curl -sf "http://127.0.0.1:$sw_port/metrics" >"$work/metrics.txt"
r=0
for fam in "swarmwatch_agent_cost_usd_total{agent=\"$agent\",kind=\"cpu\"}" \
	"swarmwatch_agent_budget_usage_ratio{agent=\"$agent\"}" \
	"swarmwatch_agent_cost_forecast_usd{agent=\"$agent\",bound=\"upper\"}" \
	"swarmwatch_cost_emergency_actions_total{action=\"command\",result=\"ok\"} 1"; do
	grep -qF "$fam" "$work/metrics.txt" || { echo "# missing: $fam"; r=1; }
done
lint=$(promtool check metrics <"$work/metrics.txt" 2>&1)
[ -n "$lint" ] && { echo "$lint" | head -5 | sed 's/^/# promtool: /'; r=1; }
ok $r "${checks[5]}"

actions() {
	python3 - "$work/hook.jsonl" "$agent" <<'PY'
import json, sys
n = 0
try:
    for line in open(sys.argv[1]):
        r = json.loads(line)
        b = r["body"]
        if r["status"] != "200" or not isinstance(b, dict):
            continue
        for a in b.get("alerts", []):
            if a["labels"].get("alertname") == "BudgetEmergencyAction" and \
               a["labels"].get("agent") == sys.argv[2]:
                n += 1
except FileNotFoundError:
    pass
print(n)
PY
}
wait_for 10 test "$(actions)" -ge 1
test "$(actions)" -eq 1
ok $? "${checks[6]}"

# A restart: the day's spend is read back from the store and goes on; no second action.
kill "$sw_pid"
wait "$sw_pid" 2>/dev/null
sw_pid=
start_swarmwatch || fail_rest 7
sleep 3
curl -sf "http://127.0.0.1:$sw_port/api/v1/cost" >"$work/cost2.json"
python3 - "$work/cost1.json" "$work/cost2.json" "$agent" <<'PY'
import json, sys
def spent(f):
    for a in json.load(open(f))["agents"]:
        if a["agent"] == sys.argv[3]:
            return a["spent_usd"], a["today_usd"]["requests"], a["threshold"]
    return None, None, None
(s1, r1, _), (s2, r2, t2) = spent(sys.argv[1]), spent(sys.argv[2])
print("# before the restart %s USD (%s for requests), after %s USD (%s for requests), %s" %
      (s1, r1, s2, r2, t2))
sys.exit(0 if s1 is not None and s2 is not None and s2 >= s1 and r2 > r1 and
         t2 == "emergency" else 1)
PY
ok $? "${checks[7]}"

sleep 2
lines=$(wc -l <"$work/ran")
n=$(actions)
echo "# the command ran $lines time(s); $n notification(s)"
test "$lines" -eq 1 && test "$n" -eq 1
ok $? "${checks[8]}"
sed 's/^/# scaled: /' "$work/scaled" 2>/dev/null
test "$(cat "$work/scaled" 2>/dev/null)" = "$agent 1 0 budget_emergency"
ok $? "${checks[9]}"
[ "$tap_failed" -eq 0 ]
