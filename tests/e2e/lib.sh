# SPDX-License-Identifier: MIT
# Shared helpers for the end-to-end tests: TAP output, free ports, cleanup.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SWARMWATCH=${SWARMWATCH:-$top/build/swarmwatch}
tap_n=0
tap_failed=0

ok() {	# ok CONDITION-EXIT-STATUS NAME
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
	fi
}

skip_all() {	# skip_all REASON NAME...
	local why=$1; shift
	for name in "$@"; do
		tap_n=$((tap_n + 1))
		echo "ok $tap_n - $name # SKIP $why"
	done
	exit 0
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for SECONDS COMMAND...: retries the command every 0.2 s until it succeeds.
wait_for() {
	local deadline=$((SECONDS + $1)); shift
	while [ $SECONDS -lt $deadline ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# fail_rest FROM: reports every check of the `checks` array from index FROM on
# as failed, then exits.
fail_rest() {
	local i
	for ((i = $1; i < ${#checks[@]}; i++)); do ok 1 "${checks[$i]}"; done
	exit 1
}

# stop_gently PID: SIGTERM, up to 20 s to exit, then SIGKILL (agentsim's own
# cleanup of its agents runs on SIGTERM).
stop_gently() {
	running "$1" || return 0
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 100); do running "$1" || return 0; sleep 0.2; done
	kill -KILL "$1" 2>/dev/null
}

# running PID: whether PID is a process that has not exited. A zombie has: a process that a
# test started through another (python's Popen) is reaped by init, which may take a second or
# two (the project's VM), and kill -0 still finds it until then.
running() {
	local st
	[ -n "$1" ] && st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "${st:0:1}" != Z ] && [ "${st:0:1}" != X ]
}

# needs_root_bpf TOOL...: skips every check of the `checks` array unless run as root on a
# kernel with BTF; fails the test when a TOOL is missing (make deps installs them all).
needs_root_bpf() {
	local tool
	[ "$(id -u)" -eq 0 ] || skip_all "needs root" "${checks[@]}"
	[ -r /sys/kernel/btf/vmlinux ] || skip_all "kernel has no BTF" "${checks[@]}"
	for tool in "$@"; do
		command -v "$tool" >/dev/null || { echo "# $tool is not installed (make deps)"; exit 1; }
	done
}

# watchdog SECONDS: ends the test with SIGTERM after SECONDS, whatever it is waiting on (its
# EXIT trap cleans up); teardown stops it. Sets dog_pid.
watchdog() {
	(
		trap 'kill $s 2>/dev/null; exit 0' TERM
		sleep "$1" &
		s=$!
		wait $s && echo "# timed out" && kill -TERM $$
	) &
	dog_pid=$!
}

# teardown PID...: a test's end: the watchdog, then each PID in order (stop_gently: agentsim
# cleans up its agents on SIGTERM), every child reaped, then the daemon's pins ($pin; they can
# be removed only once it has exited) and the work directory ($work) removed. Empty PIDs are
# skipped.
teardown() {
	local p
	[ -n "${dog_pid:-}" ] && kill "$dog_pid" 2>/dev/null
	for p in "$@"; do stop_gently "$p"; done
	wait 2>/dev/null
	[ -n "${pin:-}" ] && "$SWARMWATCH" run --unpin --pin-path "$pin" >/dev/null 2>&1
	[ -n "${work:-}" ] && rm -rf "$work"
	return 0
}
