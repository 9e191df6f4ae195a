#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Circuit breakers end to end: a pool of our own with three agentsim instances; for 15 s every
# LLM call of instance 0 fails (500/503, no retries), then it answers again. swarmwatch opens
# that instance's breaker (its weight falls to 0 and the others share the traffic), sends the
# change to the pool's webhook (a webhook sink), turns it half-open after the wait and closes
# it once its calls succeed again; the healthy instances stay closed. Seen through
# /api/v1/pools/{pool}/weights (with each instance's own quality, tagged over StatsD),
# /api/v1/pools, /metrics, an alert rule on open_breakers and the sink's log.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

checks=("swarmwatch starts with a pool whose webhook is a sink"
	"the faulty instance's breaker opens and its routing weight is 0"
	"the healthy instances stay closed, share the traffic (weights sum to 1), hold connections"
	"each instance's quality is its own (StatsD, tagged): the faulty one's is the lowest"
	"/api/v1/pools lists the pool's instances with their breaker states; an unknown pool's weights are a 404"
	"/metrics has the breaker state, transitions, open count and weights; promtool is clean"
	"an alert rule on open_breakers fires for the pool"
	"the sink received the breaker's open event for the faulty instance"
	"after the fault the breaker goes half-open and closes again"
	"the sink received the half-open and closed events, and none for healthy instances")
echo "1..${#checks[@]}"
needs_root_bpf curl python3 promtool

agentsim=$top/tools/agentsim/agentsim
work=$(mktemp -d)
pin=/sys/fs/bpf/swarmwatch-breakers-$$
pool=tbrk$$
sw_port=$(free_port)
as_port=$(free_port)
sw_pid='' as_pid='' sink_pid='' dog_pid=''
cleanup() { teardown "$as_pid" "$sw_pid" "$sink_pid"; }
trap cleanup EXIT
watchdog 75

"$top/tools/webhook-sink" --port 0 --log "$work/hooks.jsonl" >"$work/sink.out" 2>&1 &
sink_pid=$!
wait_for 5 test -s "$work/sink.out"
sink_port=$(head -1 "$work/sink.out" | tr -dc 0-9)

# Small thresholds so that the breaker moves within seconds; one rule that never holds.
cat >"$work/config.json" <<JSON
{"alerts": {"enabled": true,
            "rules": [{"name": "breaker_open_$$", "expr": "open_breakers >= 1", "for": "0s",
                       "severity": "warning"}]},
 "statsd": {"udp": "", "socket": "$work/statsd.sock", "tags": ["instance"]},
 "pools": {"$pool": {"min_replicas": 1, "max_replicas": 3,
                     "webhook": "http://127.0.0.1:$sink_port/hook",
                     "routing": "quality",
                     "breaker": {"error_ratio": 0.5, "min_requests": 4,
                                 "consecutive_failures": 3, "window": "10s",
                                 "open_wait": "2s", "open_wait_max": "4s",
                                 "half_open_successes": 2},
                     "rules": [{"name": "never", "expr": "instances > 1000",
                                "action": "up 1"}]}}}
JSON
cat >"$work/faulty.json" <<JSON
{"name": "faulty", "duration": 40, "seed": 7,
 "llm": {"latency": {"dist": "uniform", "min_ms": 20, "max_ms": 60}, "error_rate": 0.0},
 "pools": {"$pool": {"instances": 3, "max_instances": 3,
                     "behaviour": {"think_ms": [150, 300], "llm_calls": 1, "tool_calls": 0,
                                   "max_retries": 0, "timeout_s": 2}}},
 "phases": [{"name": "baseline", "duration": 3},
            {"name": "fault", "duration": 15,
             "faults": [{"kind": "errors", "pool": "$pool", "rate": 1.0, "instances": 1,
                         "kinds": {"500": 1, "503": 1}}]},
            {"name": "recovery", "duration": 18}]}
JSON

"$SWARMWATCH" run --config "$work/config.json" --listen "127.0.0.1:$sw_port" --interval 1s \
	--pin-path "$pin" --state-dir "$work/state" >"$work/swarmwatch.log" 2>&1 &
sw_pid=$!
if [ -z "$sink_port" ] || ! wait_for 15 curl -sf "http://127.0.0.1:$sw_port/api/v1/pools"; then
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail -20
	fail_rest 0
fi
ok 0 "${checks[0]}"

AGENTSIM_STATE_DIR=$work timeout -k 5 60 "$agentsim" run --scenario "$work/faulty.json" \
	--control-port "$as_port" --statsd "unix:$work/statsd.sock" --no-request-log --log "$work/truth.jsonl" -q \
	>"$work/agentsim.out" 2>&1 &
as_pid=$!

# Reads the weights document: the state of instance 0 and the others, and the weights.
cat >"$work/weights.py" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
pool, want = sys.argv[2], sys.argv[3]
insts = {x["instance"]: x for x in d.get("instances", [])}
bad = insts.get(pool + "-0")
good = [insts.get("%s-%d" % (pool, i)) for i in (1, 2)]
if bad is None or None in good:
    sys.exit(2)
if want == "open":
    # Failures are the faulty instance's own: the healthy ones' calls all succeed.
    ok = (bad["breaker"] == "open" and bad["weight"] == 0 and bad["retry_at"] and
          bad["failures"] > 0 and all(g["failures"] == 0 and g["requests"] > 0 for g in good))
elif want == "healthy":
    # Agents keep their connection to the mock LLM open between calls (the kernel's count).
    ok = (all(g["breaker"] == "closed" and g["weight"] > 0 for g in good) and
          abs(sum(x["weight"] for x in insts.values()) - 1) < 1e-6 and
          any(g["connections"] >= 1 for g in good))
elif want == "quality":
    q = [x.get("quality") for x in [bad] + good]
    ok = None not in q and q[0] < min(q[1:]) and all(0 <= v <= 1 for v in q)
    print("# qualities: %s" % q)
else:
    ok = bad["breaker"] == "closed" and bad["weight"] > 0
print("# %s" % ", ".join("%s %s w=%.3f req=%d fail=%d conn=%d" % (
    k, x["breaker"], x["weight"], x["requests"], x["failures"], x["connections"])
    for k, x in sorted(insts.items())))
sys.exit(0 if ok else 1)
PY
weights() {
	curl -sf "http://127.0.0.1:$sw_port/api/v1/pools/$pool/weights" >"$work/weights.json" &&
		python3 "$work/weights.py" "$work/weights.json" "$pool" "$1" >"$work/weights.out"
}
wait_for 25 weights open
st=$?
cat "$work/weights.out"
if [ $st -ne 0 ]; then
	head -c 800 "$work/weights.json" | sed 's/^/# weights: /'
	echo
	grep breaker "$work/swarmwatch.log" | tail -5 | sed 's/^/# swarmwatch: /'
fi
ok $st "${checks[1]}"
python3 "$work/weights.py" "$work/weights.json" "$pool" healthy >/dev/null
ok $? "${checks[2]}"
wait_for 5 weights quality
st=$?
grep qualities "$work/weights.out"
ok $st "${checks[3]}"

curl -sf "http://127.0.0.1:$sw_port/api/v1/pools" >"$work/pools.json"
python3 - "$work/pools.json" "$pool" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
p = [x for x in d["pools"] if x["pool"] == sys.argv[2]]
if not p:
    sys.exit(1)
p = p[0]
states = {x["instance"]: x["breaker"] for x in p.get("instances", [])}
print("# pools: routing %s, open_breakers %s, %s" % (p.get("routing"), p.get("open_breakers"),
                                                     states))
sys.exit(0 if p.get("routing") == "quality" and p.get("open_breakers", 0) >= 1 and
         states.get(sys.argv[2] + "-0") == "open" and len(states) == 3 else 1)
PY
st=$?
code=$(curl -s -o "$work/404.json" -w '%{http_code}' \
	"http://127.0.0.1:$sw_port/api/v1/pools/nosuch$$/weights")
echo "# unknown pool: $code $(cat "$work/404.json")"
[ $st -eq 0 ] && [ "$code" = 404 ]
ok $? "${checks[4]}"

# The breaker cycles open -> half-open (after 2 s) -> open while the fault lasts: read a
# scrape taken while it is open (up to 15 s), so that every family is seen in one state.
for _ in $(seq 150); do
	curl -sf "http://127.0.0.1:$sw_port/metrics" >"$work/metrics.txt"
	grep -q "^swarmwatch_instance_breaker_state{agent=\"$pool\",instance=\"$pool-0\"} 1$" \
		"$work/metrics.txt" && break
	sleep 0.1
done
grep -E "^swarmwatch_(instance_|breaker_|agent_open_breakers).*$pool" "$work/metrics.txt" |
	sed 's/^/# /'
grep -q "^swarmwatch_instance_breaker_state{agent=\"$pool\",instance=\"$pool-0\"} 1$" \
	"$work/metrics.txt" &&
	grep -q "^swarmwatch_instance_breaker_state{agent=\"$pool\",instance=\"$pool-1\"} 0$" \
		"$work/metrics.txt" &&
	grep -Eq "^swarmwatch_breaker_transitions_total\{agent=\"$pool\",to=\"open\"\} [1-9]" \
		"$work/metrics.txt" &&
	grep -Eq "^swarmwatch_agent_open_breakers\{agent=\"$pool\"\} [1-9]" "$work/metrics.txt" &&
	grep -q "^swarmwatch_instance_routing_weight{pool=\"$pool\",instance=\"$pool-0\"} 0$" \
		"$work/metrics.txt"
st=$?
lint=$(promtool check metrics <"$work/metrics.txt" 2>&1)
[ -n "$lint" ] && echo "$lint" | sed 's/^/# promtool: /'
[ $st -eq 0 ] && [ -z "$lint" ]
ok $? "${checks[5]}"

curl -sf "http://127.0.0.1:$sw_port/api/v1/alerts" >"$work/alerts.json"
python3 - "$work/alerts.json" "$pool" "breaker_open_$$" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
hit = [a for a in d.get("alerts", []) if a.get("alertname") == sys.argv[3] and
       a.get("agent") == sys.argv[2]]
print("# alert: %s" % json.dumps(hit[:1])[:300])
sys.exit(0 if hit and hit[0]["state"] in ("firing", "resolved") else 1)
PY
ok $? "${checks[6]}"

# The sink's log: breaker events by instance and state entered.
cat >"$work/hooks.py" <<'PY'
import json, sys
log, pool, want = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
seen = []
try:
    for line in open(log):
        b = json.loads(line)["body"]
        if isinstance(b, dict) and b.get("schema") == "swarmwatch.breaker/v1" and \
                b.get("pool") == pool:
            seen.append((b["instance"], b["to"], b))
except FileNotFoundError:
    pass
bad = [to for inst, to, _ in seen if inst == pool + "-0"]
others = [inst for inst, _, _ in seen if inst != pool + "-0"]
print("# events of %s-0: %s; of other instances: %d" % (pool, bad, len(others)))
for inst, to, b in seen[:1]:
    print("# first: %s" % json.dumps(b)[:400])
ok = all(w in bad for w in want) and seen and all(
    b["idempotency_key"] and b["reason"] and b["from"] for _, _, b in seen)
if "closed" in want:
    ok = ok and not others
sys.exit(0 if ok else 1)
PY
wait_for 10 python3 "$work/hooks.py" "$work/hooks.jsonl" "$pool" open
st=$?
python3 "$work/hooks.py" "$work/hooks.jsonl" "$pool" open
ok $st "${checks[7]}"

# The fault ends 18 s into the run; the breaker then waits at most 4 s and needs 2 successes.
wait_for 30 weights closed
st=$?
cat "$work/weights.out"
ok $st "${checks[8]}"
wait_for 10 python3 "$work/hooks.py" "$work/hooks.jsonl" "$pool" open,half_open,closed
st=$?
python3 "$work/hooks.py" "$work/hooks.jsonl" "$pool" open,half_open,closed
ok $st "${checks[9]}"
# Figures for bench/RESULTS.md (not asserted): fault start -> open received, fault end -> closed.
python3 - "$work/hooks.jsonl" "$work/truth.jsonl" "$pool" <<'PY'
import json, sys
hooks, truth, pool = sys.argv[1:4]
start = end = None
for line in open(truth):
    r = json.loads(line)
    if r["event"] == "fault_start" and start is None:
        start = r["ts"]
    elif r["event"] == "fault_end" and end is None:
        end = r["ts"]
got = {}
for line in open(hooks):
    h = json.loads(line)
    b = h["body"]
    if isinstance(b, dict) and b.get("instance") == pool + "-0" and b.get("to") not in got:
        got[b["to"]] = h["time"]
if start and "open" in got:
    print("# fault start -> open event received: %.2f s" % (got["open"] - start))
if end and "closed" in got:
    print("# fault end -> closed event received: %.2f s" % (got["closed"] - end))
PY
[ $tap_failed -eq 0 ]
