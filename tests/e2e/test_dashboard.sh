#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The dashboard at / in headless Chromium (tests/e2e/dashboard.py drives it over the DevTools
# protocol) against a real daemon: it loads without console errors, goes live, values change
# within 2 s, names are escaped, sorting, filtering, drill-down and CSV export work, the pool
# view shows breakers, weights and scaling history, and the page fits a phone. Screenshots at desktop and phone width go to build/artifacts/.
set -u
. "$(dirname "$0")/lib.sh"

checks=("the page loads and goes live with no console errors"
	"the overview lists the probe agent"
	"live values change within 2 s (tick and the agent's CPU)"
	"agent names are escaped (server rows and live rows)"
	"sorting by a column and filtering by name"
	"drill-down opens with 5 charts and the upstream table"
	"the 1 h range draws the agent's history from /api/v1/query_range"
	"a chart's data exports as CSV"
	"the drill-down shows the agent's incidents on a timeline with the likely cause"
	"cost per pool lists the probe's pool with its replicas, spend and budget"
	"the pool view shows the probe's instance with its breaker state and routing weight"
	"the pool view shows the probe's scaling decision in its history"
	"an instance of the pool that exits stays listed, greyed"
	"at phone width (390 px) the page does not scroll sideways"
	"no console errors through the session; screenshots saved")
[ "$(id -u)" -eq 0 ] || { echo "1..${#checks[@]}"; skip_all "needs root" "${checks[@]}"; }
[ -r /sys/kernel/btf/vmlinux ] || { echo "1..${#checks[@]}"; skip_all "kernel has no BTF" "${checks[@]}"; }
for tool in chromium curl python3; do
	command -v $tool >/dev/null || { echo "# $tool is not installed (make deps)"; exit 1; }
done

work=$(mktemp -d)
artifacts=$top/build/artifacts
mkdir -p "$artifacts"
pin=/sys/fs/bpf/swarmwatch-e2e-$$
port=$(free_port)
up_port=$(free_port)
pids=()
cleanup() { teardown "${pids[@]}"; }
trap cleanup EXIT

agent=dashprobe
# The probe fires an alert (so it has an incident) and is a priced pool, which its rule `grow`
# scales from 1 to 2 at once (the command does nothing: the decision is what is shown).
cat >"$work/config.json" <<EOF
{"alerts": {"default_rules": false,
            "rules": [{"name": "DashProbeUp", "expr": "instances > 0", "for": "1s",
                       "severity": "warning"}]},
 "cost": {"agents": {"$agent": {"cpu_second_usd": 0.01, "daily_budget_usd": 5}}},
 "pools": {"$agent": {"min_replicas": 0, "max_replicas": 4, "command": ["/bin/true"],
                      "rules": [{"name": "grow", "expr": "instances > 0", "action": "to 2"}]}}}
EOF
"$SWARMWATCH" run --config "$work/config.json" --listen 127.0.0.1:$port --interval 500ms \
	--pin-path "$pin" --state-dir "" >"$work/swarmwatch.log" 2>&1 &
pids+=($!)
if ! wait_for 30 curl -sf http://127.0.0.1:$port/healthz; then
	echo "1..${#checks[@]}"
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log"
	fail_rest 0
fi
timeout 120 python3 -m http.server --bind 127.0.0.1 $up_port >/dev/null 2>&1 &
pids+=($!)
hostile='<img src=x onerror=alert(1)>'
env SWARMWATCH_AGENT=$agent timeout 120 sh -c \
	"while :; do curl -s -o /dev/null http://127.0.0.1:$up_port/; i=0; while [ \$i -lt 2000 ]; do i=\$((i+1)); done; sleep 0.05; done" &
pids+=($!)
env SWARMWATCH_AGENT="$hostile" timeout 120 sleep 120 &
pids+=($!)
# Two more agents of the test's own, so that sorting has more than two rows to order on a
# host where nothing else is tagged.
for n in dashsort-a dashsort-b; do
	env SWARMWATCH_AGENT=$n timeout 120 sleep 120 &
	pids+=($!)
done
sleep 1.5

timeout 150 python3 "$(dirname "$0")/dashboard.py" "http://127.0.0.1:$port/" "$agent" "$hostile" \
	"$artifacts"
rc=$?
[ $rc -ne 0 ] && grep -Ei 'warn|error' "$work/swarmwatch.log" | head -5 | sed 's/^/# swarmwatch: /'
exit $rc
