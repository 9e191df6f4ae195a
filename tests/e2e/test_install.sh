#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make install: into a DESTDIR (the layout a package gets: binary, configuration,
# README, systemd unit with the final paths), and into a PREFIX of its own, where
# `systemd-analyze verify` checks the unit against the files it names. Then the
# installed binary runs with the installed configuration and only the capabilities the
# unit grants (as root, with the bounding set cut to them): every collector comes up
# and a tagged process is counted.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

checks=("make install DESTDIR=...: binary, configuration, README and unit in place"
	"the unit names the installed binary and configuration, and the configuration is valid"
	"a second install keeps an edited configuration"
	"systemd-analyze verify finds nothing to report in the installed unit"
	"with only the unit's capabilities swarmwatch starts, every collector up"
	"with only the unit's capabilities a tagged process is counted")
echo "1..${#checks[@]}"
for tool in make systemd-analyze; do
	command -v $tool >/dev/null || { echo "# $tool is not installed (make deps)"; exit 1; }
done

work=$(mktemp -d)
sw_pid=
pin=/sys/fs/bpf/swarmwatch-install-$$
cleanup() {
	[ -n "$sw_pid" ] && kill "$sw_pid" 2>/dev/null
	wait 2>/dev/null
	[ "$(id -u)" -eq 0 ] && "$work/p/usr/bin/swarmwatch" run --unpin --pin-path "$pin" \
		>/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

d=$work/d
make -s -C "$top" install DESTDIR="$d" >"$work/make.log" 2>&1
st=$?
for f in usr/local/bin/swarmwatch etc/swarmwatch/swarmwatch.json \
	usr/local/share/doc/swarmwatch/README.md usr/local/lib/systemd/system/swarmwatch.service; do
	[ -f "$d/$f" ] || { echo "# missing $f"; st=1; }
done
[ -x "$d/usr/local/bin/swarmwatch" ] && "$d/usr/local/bin/swarmwatch" version >/dev/null || st=1
[ $st -eq 0 ] || sed 's/^/# make: /' "$work/make.log" | tail -10
ok $st "${checks[0]}"

unit=$d/usr/local/lib/systemd/system/swarmwatch.service
grep -qx 'ExecStart=/usr/local/bin/swarmwatch run --config /etc/swarmwatch/swarmwatch.json' \
	"$unit" && ! grep -q '@[A-Z]*@' "$unit" &&
	"$d/usr/local/bin/swarmwatch" check-config "$d/etc/swarmwatch/swarmwatch.json" >/dev/null
ok $? "${checks[1]}"

echo '{"max_agents": 7}' >"$d/etc/swarmwatch/swarmwatch.json"
make -s -C "$top" install DESTDIR="$d" >"$work/make.log" 2>&1 &&
	grep -q '"max_agents": 7' "$d/etc/swarmwatch/swarmwatch.json"
ok $? "${checks[2]}"

# Installed under a prefix of its own, the unit's paths exist for verify to check.
p=$work/p
make -s -C "$top" install PREFIX="$p/usr" SYSCONFDIR="$p/etc" >"$work/make.log" 2>&1
systemd-analyze verify "$p/usr/lib/systemd/system/swarmwatch.service" >"$work/verify.log" 2>&1
st=$?
[ $st -eq 0 ] && [ ! -s "$work/verify.log" ]
st=$?
[ $st -eq 0 ] || sed 's/^/# verify: /' "$work/verify.log"
ok $st "${checks[3]}"

[ "$(id -u)" -eq 0 ] || skip_all "needs root" "${checks[@]:4}"
[ -r /sys/kernel/btf/vmlinux ] || skip_all "kernel has no BTF" "${checks[@]:4}"
# CapabilityBoundingSet=CAP_BPF CAP_PERFMON ... -> -all,+bpf,+perfmon,...
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr 'A-Z' 'a-z' |
	sed -e 's/cap_/+/g' -e 's/ /,/g')
echo "# capabilities: $caps"
port=$(free_port)
url=http://127.0.0.1:$port/metrics
setpriv --bounding-set "-all,$caps" --inh-caps -all "$p/usr/bin/swarmwatch" run \
	--config "$p/etc/swarmwatch/swarmwatch.json" --listen 127.0.0.1:"$port" --interval 200ms \
	--pin-path "$pin" >"$work/sw.log" 2>&1 &
sw_pid=$!
wait_for 15 curl -sf "$url"
curl -sf "$url" >"$work/m1"
[ "$(grep -Ec '^swarmwatch_collector_up\{collector="[a-z_]+"\} 1$' "$work/m1")" -ge 6 ] &&
	! grep -Eq '^swarmwatch_collector_up\{.*\} 0$' "$work/m1"
st=$?
[ $st -eq 0 ] || grep -v libbpf "$work/sw.log" | sed 's/^/# swarmwatch: /' | tail -10
ok $st "${checks[4]}"

agent=install-$$
SWARMWATCH_AGENT=$agent sh -c 'for i in 1 2 3 4 5; do ls / >/dev/null; done'
wait_for 10 sh -c "curl -sf '$url' | grep -q '^swarmwatch_agent_process_starts_total{agent=\"$agent\"} [1-9]'"
ok $? "${checks[5]}"
exit $((tap_failed > 0))
