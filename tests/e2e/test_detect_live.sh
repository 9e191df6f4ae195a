#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Detection against ground truth: swarmwatch (1 s tick) watches a 60-second agentsim run whose
# agents are new: 30 s of normal work, then reviewer's instances crash 1-2 s after each start
# for 20 s, then 10 s of recovery. /api/v1/anomalies, scored against agentsim's fault log
# (bench/detect-live/score.py), must show the crash loop, caused by crash_loop, flagged
# within 10 s of the fault's start, with an explanation, and no crash loop blamed on the
# pools that did not crash (other false verdicts are a rate measured by bench/detect-live).
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

checks=("swarmwatch serves /metrics"
	"agentsim runs the scenario to its end"
	"/api/v1/anomalies is read after the run"
	"the crash loop is detected"
	"its episode is caused by crash_loop and says why"
	"it is flagged within 10 s of the fault's start"
	"no crash loop is blamed on an agent that did not crash")
echo "1..${#checks[@]}"
needs_root_bpf curl python3

agentsim=$top/tools/agentsim/agentsim
bench=$top/bench/detect-live
work=$(mktemp -d)
pin=/sys/fs/bpf/swarmwatch-detect-$$
sw_port=$(free_port)
sw_pid=
as_pid=
dog_pid=
cleanup() { teardown "$as_pid" "$sw_pid"; }
trap cleanup EXIT
# Whatever happens, the test ends within three minutes (cleanup runs on the way out).
watchdog 170

cat >"$work/crash.json" <<'JSON'
{"name": "detect-crash", "extends": "normal", "loop": false,
 "description": "a crash loop in reviewer after 30 s of normal work",
 "phases": [
  {"name": "baseline", "duration": 30},
  {"name": "crash-loop", "duration": 20,
   "faults": [{"kind": "crash", "pool": "reviewer", "after_s": [1, 2], "exit_code": 3,
               "name": "reviewer-crash-loop"}]},
  {"name": "recovery", "duration": 10}]}
JSON
# Pools of their own, apart from any other agentsim run on the host.
python3 "$bench/isolate.py" "$work/crash.json" "$work/scenario.json" "e2e$$"

"$SWARMWATCH" run --listen 127.0.0.1:$sw_port --interval 1s --pin-path "$pin" --state-dir "" \
	>"$work/swarmwatch.log" 2>&1 &
sw_pid=$!
if ! wait_for 15 curl -sf "http://127.0.0.1:$sw_port/metrics"; then
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail -20
	fail_rest 0
fi
ok 0 "${checks[0]}"

"$agentsim" run --scenario "$work/scenario.json" --control-port 0 --no-request-log --quiet \
	--log "$work/truth.jsonl" &
as_pid=$!
wait "$as_pid"
rc=$?
as_pid=
ok $rc "${checks[1]}"
[ $rc -eq 0 ] || fail_rest 2

curl -sf "http://127.0.0.1:$sw_port/api/v1/anomalies" >"$work/anomalies.json"
ok $? "${checks[2]}"
python3 "$bench/score.py" "$work/truth.jsonl" "$work/anomalies.json" --json "$work/score.json" |
	sed 's/^/# /'
check() {	# check PYTHON-EXPRESSION-ON-s: 0 when it holds for score.json
	python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' \
		"$work/score.json" "$1"
}
check 's["injected"] == 1 and s["detected"] == 1'
ok $? "${checks[3]}"
check 's["faults"][0]["cause"] == "crash_loop" and "crash loop" in s["faults"][0]["why"]'
ok $? "${checks[4]}"
check 's["faults"][0]["ttd_s"] is not None and 0 <= s["faults"][0]["ttd_s"] <= 10'
ok $? "${checks[5]}"
# False verdicts of the learned signals are a measured rate (bench/RESULTS.md), not asserted:
# young detectors give some. The event rules must not: no other pool exits. (An episode the
# crashing pool opened before the fault, which its crash loop then joins, is such a false
# verdict of a learned signal, on an agent that did crash: it is not this check's.)
check 'not any((f["cause"] == "crash_loop" or "crash loop" in (f["why"] or "")) and
	f["agent"] not in s["faults"][0]["pools"] for f in s["false_verdicts"])'
ok $? "${checks[6]}"
[ $tap_failed -eq 0 ] || sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail -5
exit $((tap_failed > 0))
