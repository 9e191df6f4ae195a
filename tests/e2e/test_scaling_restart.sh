#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Scaling state across a restart: a pool of our own (one tagged instance) whose rule asks for
# 3 instances at once, with a 120 s cooldown; nobody starts them, so the rule keeps holding.
# The daemon decides once, is stopped and started again on the same state directory: the
# restarted daemon resumes the pool's cooldown and windows from scaling.db and does not decide
# (nor run the pool's command) again.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

checks=("swarmwatch decides 1 -> 3 once for the pool and runs its command"
	"the pool's decision state is saved in scaling.db"
	"restarted on the same state, it sees the pool again and resumes its cooldown"
	"no second decision after the restart: one in the history, the command ran once")
echo "1..${#checks[@]}"
needs_root_bpf curl python3

work=$(mktemp -d)
pin=/sys/fs/bpf/swarmwatch-screstart-$$
pool=trestart$$
port=$(free_port)
sw_pid='' inst_pid='' dog_pid=''
cleanup() { teardown "$inst_pid" "$sw_pid"; }
trap cleanup EXIT
watchdog 55

cat >"$work/config.json" <<JSON
{"alerts": {"enabled": false},
 "statsd": {"udp": "", "socket": ""},
 "pools": {"$pool": {"min_replicas": 1, "max_replicas": 4,
                     "command": ["/bin/sh", "-c", "echo {current} {desired} >> $work/ran"],
                     "rules": [{"name": "grow", "expr": "instances >= 1", "action": "to 3",
                                "cooldown": "120s"}]}}}
JSON

start_sw() {
	"$SWARMWATCH" run --config "$work/config.json" --listen "127.0.0.1:$port" --interval 1s \
		--pin-path "$pin" --state-dir "$work/state" >>"$work/swarmwatch.log" 2>&1 &
	sw_pid=$!
	wait_for 20 curl -sf "http://127.0.0.1:$port/api/v1/pools"
}

# pools.json's pool: "seen cooldown_until blocked"
pool_state() {
	curl -sf "http://127.0.0.1:$port/api/v1/pools" >"$work/pools.json" &&
		python3 - "$work/pools.json" "$pool" <<'PY'
import json, sys
p = [x for x in json.load(open(sys.argv[1]))["pools"] if x["pool"] == sys.argv[2]]
if not p or not p[0]["seen"]:
    sys.exit(1)
print(p[0]["cooldown_until"], p[0]["blocked"])
PY
}

decisions() {
	curl -sf "http://127.0.0.1:$port/api/v1/pools/$pool/history" |
		python3 -c 'import json, sys; print(len(json.load(sys.stdin)["decisions"]))'
}

SWARMWATCH_AGENT=$pool sleep 50 &
inst_pid=$!
if ! start_sw; then
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail -20
	fail_rest 0
fi
wait_for 20 test -s "$work/ran"
st=$?
echo "# command ran: $(cat "$work/ran" 2>/dev/null)"
[ $st -eq 0 ] && [ "$(cat "$work/ran")" = "1 3" ] && [ "$(decisions)" = 1 ]
ok $? "${checks[0]}"
before=$(pool_state)
echo "# before the restart: cooldown_until, blocked: $before"

kill -TERM "$sw_pid"
wait "$sw_pid" 2>/dev/null
sw_pid=''
python3 - "$work/state/scaling.db" "$pool" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT key, length(blob) FROM state WHERE key = ?",
                  ("pool/" + sys.argv[2],)).fetchall()
print("# saved state: %s" % rows)
sys.exit(0 if rows and rows[0][1] > 0 else 1)
PY
ok $? "${checks[1]}"

if ! start_sw; then
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail -20
	fail_rest 2
fi
wait_for 20 pool_state
after=$(pool_state)
echo "# after the restart: cooldown_until, blocked: $after"
# Let the restarted daemon decide on a few ticks of the pool.
sleep 4
after=$(pool_state)
[ -n "$after" ] && [ "${after%% *}" = "${before%% *}" ] && [ "${after%% *}" != None ] &&
	echo "$after" | grep -q 'cooldown'
ok $? "${checks[2]}"

n=$(decisions)
echo "# decisions in the history: $n; command lines: $(wc -l <"$work/ran")"
[ "$n" = 1 ] && [ "$(wc -l <"$work/ran")" -eq 1 ]
ok $? "${checks[3]}"
[ $tap_failed -eq 0 ]
