#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scaling end to end: agentsim's load-spike scenario (shortened: 15 s baseline, 25 s at load
# x4, 10 s recovery) on a pool of our own; swarmwatch's pool rule holds during the spike, its
# scaling webhook (through the outbox, signed with the pool's secret, which agentsim checks)
# reaches agentsim's POST /v1/scale, which starts the instances asked for, and swarmwatch then
# sees them; the pool's command runs too. The decision is in
# /api/v1/pools/{pool}/history and in the metrics; check-config --dry-run asks the daemon.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

checks=("swarmwatch starts with a pool whose webhook is agentsim's control endpoint"
	"check-config --dry-run prints every rule's verdict from the running daemon"
	"during the spike a scale-up webhook reaches agentsim (its log's scale line)"
	"the webhook carries pool, current and desired replicas, rule, metric, reason and key"
	"agentsim's instance count follows the decision"
	"swarmwatch sees the new instances: /api/v1/pools current_replicas follows"
	"/api/v1/pools/POOL/history lists the decision with the same idempotency key"
	"/metrics has the pool gauges, scaling events and webhooks sent; promtool is clean"
	"an unknown pool's history is a 404"
	"the pool's command ran without a shell with the pool and desired count as arguments")
echo "1..${#checks[@]}"
needs_root_bpf curl python3 promtool

agentsim=$top/tools/agentsim/agentsim
work=$(mktemp -d)
pin=/sys/fs/bpf/swarmwatch-scaling-$$
pool=tscale$$
sw_port=$(free_port)
as_port=$(free_port)
sw_pid='' as_pid='' dog_pid=''
cleanup() { teardown "$as_pid" "$sw_pid"; }
trap cleanup EXIT
watchdog 90

# One rule on the pool's request rate: about 1/s at baseline, 4 to 5/s at load x4.
cat >"$work/config.json" <<JSON
{"alerts": {"enabled": false},
 "statsd": {"udp": "", "socket": ""},
 "pools": {"$pool": {"min_replicas": 1, "max_replicas": 4,
                     "webhook": "http://127.0.0.1:$as_port/v1/scale", "secret": "s3cret$$",
                     "command": ["/usr/bin/touch", "$work/ran-{pool}-{current}-{desired}"],
                     "command_timeout": "5s",
                     "rules": [{"name": "busy", "expr": "rate(requests{role=\"client\"}) > 2.5",
                                "action": "up 1", "cooldown": "4s"}]}}}
JSON
cat >"$work/spike.json" <<JSON
{"name": "spike", "extends": "load-spike", "duration": 50, "seed": 5,
 "llm": {"latency": {"dist": "uniform", "min_ms": 20, "max_ms": 60}, "error_rate": 0.0},
 "pools": {"$pool": {"instances": 2, "max_instances": 6,
                     "behaviour": {"think_ms": [1500, 2500], "llm_calls": 1, "tool_calls": 0,
                                   "max_retries": 0}}},
 "phases": [{"name": "baseline", "duration": 15},
            {"name": "spike", "duration": 25,
             "faults": [{"kind": "load", "pool": "*", "factor": 4, "name": "load-spike"}]},
            {"name": "recovery", "duration": 10}]}
JSON

"$SWARMWATCH" run --config "$work/config.json" --listen "127.0.0.1:$sw_port" --interval 1s \
	--pin-path "$pin" --state-dir "$work/state" >"$work/swarmwatch.log" 2>&1 &
sw_pid=$!
if ! wait_for 15 curl -sf "http://127.0.0.1:$sw_port/api/v1/pools"; then
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail -20
	fail_rest 0
fi
ok 0 "${checks[0]}"

AGENTSIM_STATE_DIR=$work timeout -k 5 70 "$agentsim" run --scenario "$work/spike.json" \
	--control-port "$as_port" --webhook-secret "s3cret$$" --statsd off --log "$work/truth.jsonl" -q \
	>"$work/agentsim.out" 2>&1 &
as_pid=$!

# The dry run: the same file, evaluated by the daemon on the pool's figures once it is seen.
wait_for 15 sh -c "curl -sf http://127.0.0.1:$sw_port/api/v1/pools | grep -q '\"seen\":true'"
"$SWARMWATCH" check-config --dry-run --url "http://127.0.0.1:$sw_port" "$work/config.json" \
	>"$work/dry.out" 2>&1
st=$?
grep -A3 'dry run' "$work/dry.out" | sed 's/^/# /'
[ $st -eq 0 ] && grep -Eq "^  $pool +busy +(holds|no) +2 -> [0-9]+ " "$work/dry.out"
ok $? "${checks[1]}"

# Reads agentsim's log: the first scale line for the pool, and the instances after it.
cat >"$work/truth.py" <<'PY'
import json, sys
log, pool, what = sys.argv[1], sys.argv[2], sys.argv[3]
scale, samples, phases = None, [], {}
try:
    for line in open(log):
        r = json.loads(line)
        if r["event"] == "scale" and r.get("pool") == pool and scale is None:
            scale = r
        elif r["event"] == "pool_sample" and pool in r.get("pools", {}):
            samples.append((r["ts"], r["pools"][pool]["instances"]))
        elif r["event"] == "phase_start" or r["event"] == "phase":
            phases[r.get("name", r.get("phase", ""))] = r["ts"]
except FileNotFoundError:
    pass
if scale is None:
    sys.exit(3)
if what == "scale":
    print("# scale line: %s" % json.dumps(scale)[:500])
    key = scale.get("idempotency_key", "")
    ok = (scale.get("direction") == "up" and scale.get("rule") == "busy" and
          scale.get("current_replicas") == 2 and scale["desired"] == 3 and
          key.startswith("scale-%s-" % pool) and "requests" in scale.get("reason", "") and
          scale.get("source") == "swarmwatch")
    ms = int(key.rsplit("-", 2)[1]) if key.count("-") >= 3 else 0
    print("# decision latency (decision tick -> webhook received): %.0f ms" %
          (scale["ts"] * 1000 - ms))
    if "spike" in phases:
        print("# spike start -> decision: %.1f s" % (ms / 1000 - phases["spike"]))
    print("KEY=%s EXIT=%d" % (key, 0 if ok else 1))
    sys.exit(0)
after = [n for t, n in samples if t >= scale["ts"]]
print("# instances after the decision: %s" % after[:12])
sys.exit(0 if any(n >= scale["desired"] for n in after) else 1)
PY
out=
for _ in $(seq 200); do
	out=$(python3 "$work/truth.py" "$work/truth.jsonl" "$pool" scale) && break
	sleep 0.3
done
echo "$out" | grep '^#'
if [ -z "$out" ]; then
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail -10
	curl -s "http://127.0.0.1:$sw_port/api/v1/pools" | head -c 600 | sed 's/^/# pools: /'
	echo
	fail_rest 2
fi
ok 0 "${checks[2]}"
key=$(echo "$out" | sed -n 's/^KEY=\([^ ]*\) .*/\1/p')
echo "$out" | grep -q 'EXIT=0$'
ok $? "${checks[3]}"

wait_for 15 python3 "$work/truth.py" "$work/truth.jsonl" "$pool" follow
st=$?
python3 "$work/truth.py" "$work/truth.jsonl" "$pool" follow | grep '^#'
ok $st "${checks[4]}"

seen3() {
	curl -sf "http://127.0.0.1:$sw_port/api/v1/pools" >"$work/pools.json" &&
		python3 - "$work/pools.json" "$pool" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
p = [x for x in d["pools"] if x["pool"] == sys.argv[2]]
sys.exit(0 if p and p[0]["current_replicas"] >= 3 and p[0]["last_decision"] else 1)
PY
}
wait_for 15 seen3
st=$?
head -c 600 "$work/pools.json" | sed 's/^/# pools: /'
echo
ok $st "${checks[5]}"

curl -sf "http://127.0.0.1:$sw_port/api/v1/pools/$pool/history" >"$work/history.json"
python3 - "$work/history.json" "$key" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print("# history: %s" % json.dumps(d)[:400])
hit = [x for x in d["decisions"] if x["idempotency_key"] == sys.argv[2]]
sys.exit(0 if hit and hit[0]["direction"] == "up" and hit[0]["rule"] == "busy" and
         hit[0]["desired_replicas"] == 3 and hit[0]["metric"] == "requests" else 1)
PY
ok $? "${checks[6]}"

curl -sf "http://127.0.0.1:$sw_port/metrics" >"$work/metrics.txt"
grep -E "^swarmwatch_pool_" "$work/metrics.txt" | sed 's/^/# /'
grep -q "^swarmwatch_pool_current_replicas{pool=\"$pool\"} " "$work/metrics.txt" &&
	grep -q "^swarmwatch_pool_desired_replicas{pool=\"$pool\"} " "$work/metrics.txt" &&
	grep -Eq "^swarmwatch_pool_scaling_events_total\{pool=\"$pool\",direction=\"up\",rule=\"busy\"\} [1-9]" \
		"$work/metrics.txt" &&
	grep -Eq '^swarmwatch_pool_webhooks_total\{result="sent"\} [1-9]' "$work/metrics.txt"
st=$?
lint=$(promtool check metrics <"$work/metrics.txt" 2>&1)
[ -n "$lint" ] && echo "$lint" | sed 's/^/# promtool: /'
[ $st -eq 0 ] && [ -z "$lint" ]
ok $? "${checks[7]}"

code=$(curl -s -o "$work/404.json" -w '%{http_code}' \
	"http://127.0.0.1:$sw_port/api/v1/pools/nosuch$$/history")
echo "# unknown pool: $code $(cat "$work/404.json")"
[ "$code" = 404 ]
ok $? "${checks[8]}"

for f in "$work"/ran-*; do echo "# command: ${f##*/}"; done
[ -e "$work/ran-$pool-2-3" ]
ok $? "${checks[9]}"
[ $tap_failed -eq 0 ]
