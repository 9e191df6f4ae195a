#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One daemon per pin path. A second daemon on the same pins would attach a
# second set of programs to the same maps and count every event twice; it
# must be refused with one line, and so must `run --unpin` under a running
# daemon, leaving its pins and its counting intact. Once the daemon stops,
# both work.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

checks=("a second daemon on the same pin path exits 1 with a one-line error"
	"run --unpin under a running daemon exits 1 with a one-line error and removes nothing"
	"the running daemon counts a tagged process's starts once"
	"after the daemon stops, run --unpin removes the pins"
	"after the daemon stops, a new daemon starts on the pin path")
echo "1..${#checks[@]}"
[ "$(id -u)" -eq 0 ] || skip_all "needs root" "${checks[@]}"
[ -r /sys/kernel/btf/vmlinux ] || skip_all "kernel has no BTF" "${checks[@]}"

work=$(mktemp -d)
pin=/sys/fs/bpf/swarmwatch-e2e-pinlock-$$
port=$(free_port)
port2=$(free_port)
agent=tpinlock-$$
pids=()
cleanup() {
	for p in "${pids[@]}"; do stop_gently "$p"; done
	"$SWARMWATCH" run --pin-path "$pin" --unpin >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

# one_line_error FILE TEXT: FILE is exactly one line and contains TEXT
one_line_error() {
	[ "$(wc -l <"$1")" -eq 1 ] && grep -qF -- "$2" "$1"
}

"$SWARMWATCH" run --pin-path "$pin" --state-dir "$work/a" --listen 127.0.0.1:"$port" \
	--interval 200ms >"$work/a.log" 2>&1 &
pids+=($!)
if ! wait_for 20 curl -sf "http://127.0.0.1:$port/metrics"; then
	sed 's/^/# /' "$work/a.log"
	echo "# the first daemon did not start"
	fail_rest 0
fi

timeout 20 "$SWARMWATCH" run --pin-path "$pin" --state-dir "$work/b" --listen 127.0.0.1:"$port2" \
	--interval 200ms >"$work/b.log" 2>&1
rc=$?
sed 's/^/# /' "$work/b.log"
[ $rc -eq 1 ] && one_line_error "$work/b.log" "pin path $pin is in use by another swarmwatch daemon"
ok $? "${checks[0]}"

before=$(find "$pin" | wc -l)
"$SWARMWATCH" run --pin-path "$pin" --unpin >"$work/u.log" 2>&1
rc=$?
sed 's/^/# /' "$work/u.log"
after=$(find "$pin" | wc -l)
echo "# pinned objects before $before, after $after"
[ $rc -eq 1 ] && [ "$before" -gt 1 ] && [ "$after" -eq "$before" ] &&
	one_line_error "$work/u.log" "a running swarmwatch daemon uses it"
ok $? "${checks[1]}"

# Three processes of the agent, each one start.
for _ in 1 2 3; do SWARMWATCH_AGENT=$agent /bin/true; done
series="swarmwatch_agent_process_starts_total{agent=\"$agent\"}"
starts_of() { curl -sf "http://127.0.0.1:$port/metrics" | awk -v s="$series" '$1 == s {print $2}'; }
for _ in $(seq 25); do [ -n "$(starts_of)" ] && break; sleep 0.2; done
sleep 1 # a few more ticks: a second set of programs would have counted by now
n=$(starts_of)
echo "# $series = ${n:-none}"
[ "${n:-0}" = 3 ]
ok $? "${checks[2]}"

stop_gently "${pids[0]}"
pids=()
"$SWARMWATCH" run --pin-path "$pin" --unpin >"$work/u2.log" 2>&1
rc=$?
sed 's/^/# /' "$work/u2.log"
[ $rc -eq 0 ] && [ ! -e "$pin" ]
ok $? "${checks[3]}"

"$SWARMWATCH" run --pin-path "$pin" --state-dir "$work/c" --listen 127.0.0.1:"$port2" \
	--interval 200ms >"$work/c.log" 2>&1 &
pids+=($!)
wait_for 20 curl -sf "http://127.0.0.1:$port2/metrics"
rc=$?
[ $rc -eq 0 ] || sed 's/^/# /' "$work/c.log"
ok $rc "${checks[4]}"
exit $((tap_failed > 0))
