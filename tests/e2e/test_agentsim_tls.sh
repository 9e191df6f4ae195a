#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TLS capture on a simulated swarm: swarmwatch runs with tls.agents
# ["planner", "coder"] while agentsim runs for 15 seconds with the mock LLM
# API over HTTPS (Python's ssl, OpenSSL): the `normal` swarm, with 30 % of
# every pool's LLM calls failing from the start (500, 503, 429, resets and
# timeouts, as in the `degradation` scenario's fault). For the
# two captured pools, the LLM requests swarmwatch counts per status class
# (swarmwatch_agent_requests_total{upstream=<LLM API>,role="client"}) must
# match agentsim's own `request` records (2xx, 4xx, 429, 5xx, and resets and
# timeouts as error) within 5 %; the reviewer pool, not captured, must show
# the same number of LLM requests with status unknown.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

checks=("swarmwatch starts with TLS capture for planner and coder"
	"agentsim runs 15 s over HTTPS and exits 0"
	"swarmwatch probes the captured pools' processes"
	"planner and coder: LLM requests per status class match agentsim's records within 5 %"
	"reviewer (not captured): its LLM requests are counted, with status unknown")
echo "1..${#checks[@]}"
needs_root_bpf curl python3 openssl

agentsim=$top/tools/agentsim/agentsim
work=$(mktemp -d)
pin=/sys/fs/bpf/swarmwatch-agentsim-tls-$$
sw_port=$(free_port)
sw_pid=
as_pid=
cleanup() { teardown "$as_pid" "$sw_pid"; }
trap cleanup EXIT

metrics_url=http://127.0.0.1:$sw_port/metrics
echo '{"tls": {"agents": ["planner", "coder"]}}' >"$work/swarmwatch.json"
"$SWARMWATCH" run --config "$work/swarmwatch.json" --listen 127.0.0.1:$sw_port \
	--interval 200ms --pin-path "$pin" --state-dir "" >"$work/swarmwatch.log" 2>&1 &
sw_pid=$!
if ! wait_for 15 curl -sf "$metrics_url" ||
	! curl -sf "$metrics_url" | grep -q '^swarmwatch_collector_up{collector="tls"} 1'; then
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail -20
	fail_rest 0
fi
ok 0 "${checks[0]}"

cat >"$work/scenario.json" <<'JSON'
{
  "name": "tls-errors",
  "extends": "normal",
  "description": "30 % of every pool's LLM calls fail, from the start",
  "loop": false,
  "phases": [
    {"name": "errors", "duration": 15,
     "faults": [{"kind": "errors", "pool": "*", "rate": 0.3, "name": "errors",
                 "kinds": {"500": 3, "503": 3, "429": 2, "reset": 1, "timeout": 1}}]}
  ]
}
JSON
# Bounded: agentsim stops itself after 15 s; timeout kills it if it does not.
AGENTSIM_STATE_DIR=$work timeout -k 5 40 "$agentsim" run --scenario "$work/scenario.json" --duration 15 \
	--tls --control-port 0 --log "$work/truth.jsonl" -q >"$work/agentsim.out" 2>&1 &
as_pid=$!
probed=0
for _ in $(seq 50); do
	n=$(curl -sf "$metrics_url" | awk '/^swarmwatch_tls_probed_processes / {print $2}')
	[ "${n:-0}" -ge 2 ] && probed=1 && break
	sleep 0.2
done
wait $as_pid
st=$?
as_pid=
[ $st -eq 0 ] || sed 's/^/# agentsim: /' "$work/agentsim.out" | tail -20
ok $st "${checks[1]}"
[ $probed -eq 1 ]
ok $? "${checks[2]}"
sleep 1

cat >"$work/compare.py" <<'PY'
import json, re, sys, urllib.parse, urllib.request

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
mode, metrics_url, log, pools = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]

truth, llm = {}, None
for line in open(log):
    ev = json.loads(line)
    if ev.get("event") == "run_start":
        u = urllib.parse.urlsplit(ev["llm_url"])
        llm = "%s:%d" % (u.hostname, u.port)
    if ev.get("event") != "request" or ev.get("upstream") != "llm" or ev["pool"] not in pools:
        continue
    s = ev["status"]
    if s == 429:
        cls = "429"  # rate limited: its own status, not in 4xx
    elif isinstance(s, int):
        cls = "%dxx" % (s // 100)
    elif s in ("reset", "timeout"):
        cls = "error"
    else:
        continue  # never reached the wire (a refused connect)
    truth.setdefault(ev["pool"], {}).setdefault(cls, 0)
    truth[ev["pool"]][cls] += 1

seen = {}
with urllib.request.urlopen(metrics_url, timeout=5) as r:
    for line in r.read().decode().splitlines():
        m = SAMPLE.match(line)
        if not m or m.group(1) != "swarmwatch_agent_requests_total":
            continue
        lb = dict(LABEL.findall(m.group(2) or ""))
        if lb.get("agent") in pools and lb.get("upstream") == llm and lb.get("role") == "client":
            seen.setdefault(lb["agent"], {}).setdefault(lb["status"], 0)
            seen[lb["agent"]][lb["status"]] += float(m.group(3))

def near(a, b):
    return abs(a - b) <= max(2, 0.05 * b)

ok = bool(truth)
for p in pools:
    t, s = truth.get(p, {}), seen.get(p, {})
    if mode == "captured":
        good = sum(t.values()) > 0 and all(near(s.get(c, 0), n) for c, n in t.items()) and \
            near(sum(s.values()), sum(t.values()))
    else:  # uncaptured: every request that got an answer is unknown; resets are errors
        answered = sum(n for c, n in t.items() if c != "error")
        good = answered > 0 and near(s.get("unknown", 0), answered)
    print("# %s: swarmwatch %s, agentsim %s%s" % (p, s, t, "" if good else "  <- differs"))
    ok = ok and good
sys.exit(0 if ok else 1)
PY
python3 "$work/compare.py" captured "$metrics_url" "$work/truth.jsonl" planner coder
ok $? "${checks[3]}"
python3 "$work/compare.py" uncaptured "$metrics_url" "$work/truth.jsonl" reviewer
ok $? "${checks[4]}"
[ $tap_failed -eq 0 ] || sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | grep -v libbpf | tail -20
exit $((tap_failed > 0))
