#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A real Prometheus scrapes a real swarmwatch: the live exposition passes
# `promtool check metrics` with nothing to report, and Prometheus' HTTP API
# returns the series of an agent tagged SWARMWATCH_AGENT=probe.
set -u
. "$(dirname "$0")/lib.sh"

checks=("promtool check metrics on the live output reports nothing"
	"Prometheus scrapes swarmwatch (up == 1)"
	"Prometheus API returns the probe agent's syscall series"
	"Prometheus API returns the probe agent's instance count")
echo "1..${#checks[@]}"
needs_root_bpf prometheus promtool curl python3

work=$(mktemp -d)
pin=/sys/fs/bpf/swarmwatch-e2e-$$
sw_port=$(free_port)
prom_port=$(free_port)
pids=()
cleanup() { teardown "${pids[@]}"; }
trap cleanup EXIT

"$SWARMWATCH" run --listen 127.0.0.1:$sw_port --interval 200ms --pin-path "$pin" --state-dir "" \
	>"$work/swarmwatch.log" 2>&1 &
pids+=($!)
if ! wait_for 30 curl -sf http://127.0.0.1:$sw_port/healthz; then
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log"
	for c in "${checks[@]}"; do ok 1 "$c"; done
	exit 1
fi

# A tagged agent with a little activity, bounded to 60 s.
env SWARMWATCH_AGENT=probe timeout 60 sh -c \
	'while :; do cat /etc/hostname >/dev/null; sleep 0.2; done' &
pids+=($!)
sleep 1

curl -sf http://127.0.0.1:$sw_port/metrics >"$work/metrics.txt"
lint=$(promtool check metrics <"$work/metrics.txt" 2>&1)
rc=$?
[ -n "$lint" ] && echo "$lint" | sed 's/^/# promtool: /'
[ $rc -eq 0 ] && [ -z "$lint" ] && grep -q 'agent="probe"' "$work/metrics.txt"
ok $? "${checks[0]}"

cat >"$work/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: swarmwatch
    static_configs:
      - targets: ["127.0.0.1:$sw_port"]
YML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
	--web.listen-address=127.0.0.1:$prom_port --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)

query() {	# query PROMQL: succeeds when the result vector is non-empty
	curl -sf -G "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" |
		python3 -c 'import json, sys; r = json.load(sys.stdin); sys.exit(0 if r["status"] == "success" and r["data"]["result"] else 1)'
}
wait_for 60 query 'up{job="swarmwatch"} == 1'
ok $? "${checks[1]}"
wait_for 30 query 'swarmwatch_agent_syscalls_total{agent="probe",class="file"} > 0'
ok $? "${checks[2]}"
wait_for 30 query 'swarmwatch_agent_instances{agent="probe"} >= 1'
ok $? "${checks[3]}"
if [ $tap_failed -gt 0 ]; then
	sed 's/^/# prometheus: /' "$work/prometheus.log" | tail -20
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail -20
fi
[ $tap_failed -eq 0 ]
