#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# LLM awareness on a simulated swarm: swarmwatch runs with llm.upstreams naming two mock LLM
# APIs of agentsim (OpenAI chat completions shape), one over HTTPS (Python's ssl, OpenSSL, TLS
# capture on) and one in plaintext, and a price table with agentsim's own prices. Each
# agentsim runs 20 s with a streaming pool (half of its streams without
# stream_options.include_usage) and a JSON pool (10 % of its calls answered 429); the
# plaintext one also with a pool calling Ollama's /api/chat (newline-delimited JSON when
# streamed, half of its calls), and the HTTPS one with a pool calling Anthropic's /v1/messages
# (SSE when streamed, half of its calls; a quarter of each prompt a cache read); a Node.js
# client (OpenSSL linked into node, memory BIOs) also calls the HTTPS one, checked against the
# token counts agentsim's server keeps per caller (GET /v1/stats). For each agentsim, swarmwatch's figures are checked against
# its ground-truth log:
# - input and output tokens (gen_ai_client_token_usage sums) equal the log's exactly, over the
#   answered calls that carried usage (agents wait 500 ms before their first call: the OpenSSL
#   probes attach 10-70 ms after a process maps libssl, and a call before is not seen);
# - swarmwatch_agent_llm_usage_missing_total equals the streams answered without usage;
# - 429s per model equal the log's;
# - the mean time to first chunk is within 5 ms of agentsim's own mean ttft_s;
# - the cost equals agentsim's (the same price table applied to the same tokens);
# - rate-limit headroom is exported, and no prompt or completion text is.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

checks=("swarmwatch starts with LLM capture on two upstreams and a price table"
	"agentsim runs 20 s over HTTPS and 20 s in plaintext, and both exit 0"
	"HTTPS: tokens by type equal agentsim's log exactly"
	"HTTPS: usage_missing counts the streams without include_usage"
	"HTTPS: 429s per model equal agentsim's"
	"HTTPS: mean time to first chunk within 5 ms of agentsim's"
	"HTTPS: cost equals the price table applied to agentsim's tokens"
	"HTTPS, Anthropic /v1/messages: tokens equal agentsim's log exactly"
	"HTTPS, Anthropic /v1/messages: mean time to first chunk within 5 ms of agentsim's"
	"HTTPS from Node.js (OpenSSL in the executable): tokens equal agentsim's server counts, every request read from its head"
	"plaintext: tokens by type equal agentsim's log exactly"
	"plaintext: usage_missing counts the streams without include_usage"
	"plaintext: 429s per model equal agentsim's"
	"plaintext: mean time to first chunk within 5 ms of agentsim's"
	"plaintext: cost equals the price table applied to agentsim's tokens"
	"plaintext, Ollama /api/chat: tokens equal agentsim's log exactly"
	"plaintext, Ollama /api/chat: mean time to first chunk within 5 ms of agentsim's"
	"rate-limit headroom is exported per agent and upstream"
	"no prompt or completion text in /metrics"
	"promtool check metrics passes"
	"each agent's budget counts its wire LLM spend once, as cost kind llm")
echo "1..${#checks[@]}"
needs_root_bpf curl python3 openssl promtool

agentsim=$top/tools/agentsim/agentsim
work=$(mktemp -d)
pin=/sys/fs/bpf/swarmwatch-llm-$$
sw_port=$(free_port)
tls_port=$(free_port)
plain_port=$(free_port)
sw_pid=
tls_pid=
plain_pid=
cleanup() { teardown "$tls_pid" "$plain_pid" "$sw_pid"; }
trap cleanup EXIT

# agentsim's default prices (USD per 1000 tokens) per million, as a price table.
cat >"$work/prices.json" <<'JSON'
{"date": "2026-11-30", "source": "tools/agentsim/agentsim_lib/scenario.py DEFAULT_LLM pricing",
 "currency": "USD",
 "prices": [{"provider": "openai", "model": "sim-large", "input": 2.5, "output": 10}]}
JSON
cat >"$work/swarmwatch.json" <<JSON
{"tls": {"agents": ["tllm-tls-*", "tllm-node"]},
 "llm": {"upstreams": [{"host": "127.0.0.1", "port": $tls_port, "provider": "openai"},
                       {"host": "127.0.0.1", "port": $plain_port, "provider": "openai"}],
         "prices": "$work/prices.json"}}
JSON
metrics_url=http://127.0.0.1:$sw_port/metrics
"$SWARMWATCH" run --config "$work/swarmwatch.json" --listen 127.0.0.1:$sw_port \
	--interval 200ms --pin-path "$pin" --state-dir "" >"$work/swarmwatch.log" 2>&1 &
sw_pid=$!
if ! wait_for 15 curl -sf "$metrics_url" ||
	! grep -q "llm: capture on for 2 upstreams, prices of 2026-11-30" "$work/swarmwatch.log"; then
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail -20
	fail_rest 0
fi
ok 0 "${checks[0]}"

# scenario NAME PREFIX [EXTRA_POOLS]: two pools, one streaming (half without include_usage),
# one JSON with 10 % of its calls answered 429, and the extra pools given.
scenario() {
	cat >"$work/$1.json" <<JSON
{
  "name": "$1", "duration": 20, "seed": 7,
  "llm": {"latency": {"dist": "uniform", "min_ms": 30, "max_ms": 120}, "per_token_ms": 0.3,
          "completion_tokens": [20, 200]},
  "agent": {"think_ms": [100, 300], "llm_calls": [1, 2], "tool_calls": [0, 0],
            "max_retries": 1, "start_delay_ms": 500},
  "pools": {
    "$2-stream": {"instances": 2, "behaviour": {"stream_ratio": 1.0, "include_usage_ratio": 0.5}},
    "$2-json": {"instances": 2, "llm": {"error_rate": 0.1, "error_kinds": {"429": 1},
                                        "retry_after_s": 0}}${3:-}
  }
}
JSON
}
scenario tls tllm-tls ',
    "tllm-tls-anthropic": {"instances": 1, "behaviour": {"api": "anthropic",
                                                        "model": "sim-claude",
                                                        "stream_ratio": 0.5}}'
scenario plain tllm-plain ',
    "tllm-plain-ollama": {"instances": 1, "behaviour": {"api": "ollama", "model": "sim-local",
                                                       "stream_ratio": 0.5}}'
# Bounded: each agentsim stops itself after 20 s; timeout kills it if it does not.
AGENTSIM_STATE_DIR=$work timeout -k 5 50 "$agentsim" run --scenario "$work/tls.json" --tls \
	--llm-port "$tls_port" --control-port 0 --statsd off --log "$work/tls.jsonl" -q \
	>"$work/tls.out" 2>&1 &
tls_pid=$!
AGENTSIM_STATE_DIR=$work/p timeout -k 5 50 "$agentsim" run --scenario "$work/plain.json" \
	--llm-port "$plain_port" --control-port 0 --statsd off --log "$work/plain.jsonl" -q \
	>"$work/plain.out" 2>&1 &
plain_pid=$!
# A Node.js client of the HTTPS mock: 8 JSON calls and 8 streamed ones with include_usage; the
# first 8 each on a new connection, whose request Node writes before the handshake has ended
# (and frees once SSL_write has taken it, before the records are sent), the rest on one.
cat >"$work/node_client.js" <<'JS'
'use strict';
const https = require('https');
const agent = new https.Agent({keepAlive: true, maxSockets: 1});
const fresh = new https.Agent({keepAlive: false});
const port = Number(process.argv[2]);
function call(i) {
  const stream = i % 2 === 1;
  const body = JSON.stringify({model: 'sim-large', user: 'tllm-node/0', max_tokens: 64,
    messages: [{role: 'user', content: 'node call ' + i + ' '.repeat(i * 40)}], stream,
    stream_options: stream ? {include_usage: true} : undefined});
  return new Promise((resolve, reject) => {
    const req = https.request({host: '127.0.0.1', port, path: '/v1/chat/completions',
      method: 'POST', agent: i < 8 ? fresh : agent, rejectUnauthorized: false,
      headers: {'Content-Type': 'application/json', 'X-Request-Id': 'node-' + i}}, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(res.statusCode)));
    });
    req.on('error', reject);
    req.end(body);
  });
}
(async () => {
  await new Promise((r) => setTimeout(r, 1500)); // the probes attach after node maps OpenSSL
  for (let i = 0; i < 16; i++) await call(i);
  agent.destroy();
})().catch((e) => { console.error('node client: ' + e); process.exit(1); });
JS
node_st=1
if command -v node >/dev/null && wait_for 10 curl -skf "https://127.0.0.1:$tls_port/healthz"; then
	SWARMWATCH_AGENT=tllm-node timeout 60 node "$work/node_client.js" "$tls_port" \
		>"$work/node.out" 2>&1
	node_st=$?
	curl -skf "https://127.0.0.1:$tls_port/v1/stats" >"$work/stats.json" || node_st=1
fi
[ $node_st -eq 0 ] || sed 's/^/# node: /' "$work/node.out" 2>/dev/null | tail -5
wait $tls_pid
st1=$?
wait $plain_pid
st2=$?
tls_pid=
plain_pid=
[ $st1 -eq 0 ] || sed 's/^/# agentsim (https): /' "$work/tls.out" | tail -20
[ $st2 -eq 0 ] || sed 's/^/# agentsim (plaintext): /' "$work/plain.out" | tail -20
ok $((st1 || st2)) "${checks[1]}"
sleep 1.5 # the last responses parsed, and a tick after them
curl -sf "$metrics_url" >"$work/metrics.txt"

cat >"$work/compare.py" <<'PY'
import json, re, sys

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
what, metrics, log, prefix = sys.argv[1:5]

samples = []
for line in open(metrics):
    m = SAMPLE.match(line)
    if m:
        samples.append((m.group(1), dict(LABEL.findall(m.group(2) or "")), float(m.group(3))))

def total(name, **want):
    return sum(v for n, lb, v in samples if n == name and lb.get("agent", "").startswith(prefix)
               and all(lb.get(k) == w for k, w in want.items()))

reqs = [ev for ev in map(json.loads, open(log))
        if ev.get("event") == "request" and ev.get("upstream") == "llm" and
        ev["pool"].startswith(prefix)]
ok200 = [r for r in reqs if r["status"] == 200]
with_usage = [r for r in ok200 if r.get("usage", True)]
truth = {
    "input": sum(r["prompt_tokens"] for r in with_usage),
    "output": sum(r["completion_tokens"] for r in with_usage),
    "missing": sum(1 for r in ok200 if r["stream"] and not r.get("usage", True)),
    "429": sum(1 for r in reqs if r["status"] == 429),
    "cost": sum(r["cost_usd"] for r in with_usage),
    "streams": [r["ttft_s"] for r in ok200 if r["stream"] and "ttft_s" in r],
}
seen = {
    "input": total("gen_ai_client_token_usage_sum", gen_ai_token_type="input"),
    "output": total("gen_ai_client_token_usage_sum", gen_ai_token_type="output"),
    "missing": total("swarmwatch_agent_llm_usage_missing_total"),
    "429": total("swarmwatch_agent_llm_requests_total", status="429",
                 gen_ai_request_model="sim-large"),
    "cost": total("swarmwatch_agent_llm_cost_usd_total"),
    "ttft_sum": total("gen_ai_client_operation_time_to_first_chunk_seconds_sum"),
    "ttft_count": total("gen_ai_client_operation_time_to_first_chunk_seconds_count"),
}
if what == "tokens":
    good = truth["input"] > 0 and truth["output"] > 0 and \
        (seen["input"], seen["output"]) == (truth["input"], truth["output"])
    print("# tokens: swarmwatch input %d output %d, agentsim input %d output %d over %d calls"
          % (seen["input"], seen["output"], truth["input"], truth["output"], len(with_usage)))
elif what == "missing":
    good = truth["missing"] > 0 and seen["missing"] == truth["missing"]
    print("# usage_missing: swarmwatch %d, agentsim %d" % (seen["missing"], truth["missing"]))
elif what == "429":
    good = truth["429"] > 0 and seen["429"] == truth["429"]
    print("# 429: swarmwatch %d, agentsim %d" % (seen["429"], truth["429"]))
elif what == "ttft":
    n = len(truth["streams"])
    mean_truth = sum(truth["streams"]) / n if n else 0
    mean_seen = seen["ttft_sum"] / seen["ttft_count"] if seen["ttft_count"] else -1
    good = n > 0 and seen["ttft_count"] == n and abs(mean_seen - mean_truth) <= 0.005
    print("# time to first chunk: swarmwatch %d streams, mean %.6f s; agentsim %d, mean %.6f s"
          % (seen["ttft_count"], mean_seen, n, mean_truth))
elif what == "cost":
    good = truth["cost"] > 0 and abs(seen["cost"] - truth["cost"]) <= 1e-6 + 1e-9 * len(reqs)
    print("# cost: swarmwatch %.8f USD, agentsim %.8f USD" % (seen["cost"], truth["cost"]))
sys.exit(0 if good else 1)
PY
for kind in tls plain; do
	for what in tokens missing 429 ttft cost; do
		python3 "$work/compare.py" $what "$work/metrics.txt" "$work/$kind.jsonl" "tllm-$kind-"
		ok $? "${checks[$tap_n]}"
	done
	pool=tllm-tls-anthropic
	[ $kind = plain ] && pool=tllm-plain-ollama
	for what in tokens ttft; do
		python3 "$work/compare.py" $what "$work/metrics.txt" "$work/$kind.jsonl" $pool
		ok $? "${checks[$tap_n]}"
	done
	[ $kind = plain ] && continue
	[ $node_st -eq 0 ] && python3 - "$work/stats.json" "$work/metrics.txt" <<'PY'
import json, re, sys
st = json.load(open(sys.argv[1])).get("tllm-node", {})
seen = {}
for line in open(sys.argv[2]):
    m = re.match(r'gen_ai_client_token_usage_sum\{agent="tllm-node",.*'
                 r'gen_ai_token_type="(input|output)"\} (\S+)', line)
    if m:
        seen[m.group(1)] = seen.get(m.group(1), 0) + float(m.group(2))
    m = re.match(r'swarmwatch_llm_truncated_total\{reason="head_lost"\} (\S+)', line)
    if m:
        seen["head_lost"] = float(m.group(1))
print("# node: swarmwatch input %d output %d, agentsim's server input %d output %d over %d calls;"
      " requests read without their head: %s"
      % (seen.get("input", 0), seen.get("output", 0), st.get("prompt_tokens", 0),
         st.get("completion_tokens", 0), st.get("requests", 0), seen.get("head_lost")))
sys.exit(0 if st.get("requests") == 16 and st.get("by_outcome", {}).get("ok") == 16 and
         (seen.get("input"), seen.get("output")) ==
         (st.get("prompt_tokens"), st.get("completion_tokens")) and
         seen.get("head_lost") == 0 else 1)
PY
	ok $? "${checks[$tap_n]}"
done
grep -Eq "^swarmwatch_agent_llm_ratelimit_remaining\{agent=\"tllm-tls-json\",gen_ai_provider_name=\"openai\",server_address=\"127.0.0.1:$tls_port\",kind=\"requests\"\} [0-9]" "$work/metrics.txt" &&
	grep -Eq "^swarmwatch_agent_llm_ratelimit_remaining\{agent=\"tllm-plain-stream\",.*kind=\"requests\"\} [0-9]" "$work/metrics.txt"
ok $? "${checks[$tap_n]}"
# No sample carries text of agentsim's prompts ("Plan the next change, list the files...",
# "You are the <pool> agent.") or completions (words of llmserver.WORDS joined by spaces).
! grep -v '^#' "$work/metrics.txt" |
	grep -Eq 'Plan the|next change|You are|="[a-z]+ [a-z]+'

ok $? "${checks[$tap_n]}"
promtool check metrics <"$work/metrics.txt" >"$work/promtool.out" 2>&1
st=$?
[ $st -eq 0 ] || sed 's/^/# promtool: /' "$work/promtool.out" | head -10
ok $st "${checks[$tap_n]}"
# cost.llm "auto" and no app costs (StatsD off): kind llm is the wire's spend, the same ticks.
python3 - "$work/metrics.txt" <<'PY'
import re, sys
spend, llm = {}, {}
for line in open(sys.argv[1]):
    m = re.match(r'swarmwatch_agent_llm_spend_today_usd\{agent="(tllm-[^"]*)"\} (\S+)', line)
    if m:
        spend[m.group(1)] = float(m.group(2))
    m = re.match(r'swarmwatch_agent_cost_usd_total\{agent="(tllm-[^"]*)",kind="llm"\} (\S+)',
                 line)
    if m:
        llm[m.group(1)] = float(m.group(2))
print("# wire LLM spend / cost kind llm: %s" %
      ", ".join("%s %.6g / %s" % (a, spend[a], llm.get(a)) for a in sorted(spend)))
sys.exit(0 if spend and any(v > 0 for v in spend.values()) and
         all(a in llm and abs(llm[a] - v) <= 1e-9 * max(v, 1e-9) for a, v in spend.items())
         else 1)
PY
ok $? "${checks[$tap_n]}"
if [ $tap_failed -ne 0 ]; then
	grep -E '^(gen_ai|swarmwatch_(agent_)?llm)' "$work/metrics.txt" | grep tllm- |
		grep -v _bucket | sed 's/^/# metrics: /' | head -40
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | grep -v libbpf | tail -20
fi
exit $((tap_failed > 0))
