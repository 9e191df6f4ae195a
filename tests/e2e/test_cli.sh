#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The command line: help on every command, exit codes, one-line errors for
# bad configuration and bad flags. Needs no privileges.
set -u
. "$(dirname "$0")/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "1..23"

# expect_fail NAME EXIT-CODE MESSAGE COMMAND...: fails with that code and one line containing MESSAGE
expect_fail() {
	local name=$1 code=$2 msg=$3; shift 3
	"$@" >"$work/out" 2>&1
	local rc=$? lines
	lines=$(wc -l <"$work/out")
	if [ $rc -eq "$code" ] && grep -qF -- "$msg" "$work/out" && [ "$lines" -eq 1 ]; then
		ok 0 "$name"
	else
		sed 's/^/# /' "$work/out"
		echo "# exit $rc, $lines lines"
		ok 1 "$name"
	fi
}

out=$("$SWARMWATCH" version)
[[ "$out" =~ ^swarmwatch\ [0-9]+\.[0-9]+\.[0-9]+ ]]
ok $? "version prints the version"

rc=0
for cmd in run check-config detect query version; do
	"$SWARMWATCH" $cmd --help | grep -q "usage: swarmwatch $cmd" || rc=1
done
"$SWARMWATCH" --help | grep -q "commands:" || rc=1
ok $rc "--help on every command"

expect_fail "version refuses stray arguments" 2 'swarmwatch: error: version: unexpected argument "x"' \
	"$SWARMWATCH" version x

expect_fail "detect without --input: swarmwatch: error: form" 2 \
	'swarmwatch: error: detect: missing --input FILE.csv' "$SWARMWATCH" detect

printf 'timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:00:01,lots\n' >"$work/bad.csv"
expect_fail "detect: a bad row is reported with file:line in the swarmwatch: error: form" 1 \
	"swarmwatch: error: detect: $work/bad.csv:3: bad value \"lots\"" \
	"$SWARMWATCH" detect --input "$work/bad.csv"

expect_fail "detect: an unknown detector in the swarmwatch: error: form" 2 \
	'swarmwatch: error: detect: unknown detector "nope"' \
	"$SWARMWATCH" detect --input "$work/bad.csv" --detector nope
expect_fail "detect: an unknown --set key is a usage error" 2 \
	'swarmwatch: error: detect: bad --set "windw=3"' \
	"$SWARMWATCH" detect --input "$work/bad.csv" --set windw=3

expect_fail "unknown command exits 2" 2 'unknown command "frobnicate"' "$SWARMWATCH" frobnicate

"$SWARMWATCH" check-config /dev/stdin <<<'{"max_agents": 10}' >"$work/out" 2>&1
ok $? "check-config accepts a valid file"

printf '{\n  "listen": "0.0.0.0:7979",\n  "intervall": "1s"\n}\n' >"$work/typo.json"
expect_fail "unknown key: file:line:column and a suggestion" 1 \
	"$work/typo.json:3:3: unknown key \"intervall\" in the configuration (did you mean \"interval\"?)" \
	"$SWARMWATCH" check-config "$work/typo.json"

printf '{"identity": {"rules": [\n  {"match": "comm", "regex": "([a-z"}]}}\n' >"$work/regex.json"
expect_fail "invalid regex is reported with its position" 1 "$work/regex.json:2:" \
	"$SWARMWATCH" check-config "$work/regex.json"

printf '{"max_agents": 5,\n' >"$work/broken.json"
expect_fail "malformed JSON is reported with its position" 1 "$work/broken.json:2:" \
	"$SWARMWATCH" check-config "$work/broken.json"

expect_fail "missing file" 1 "cannot read: No such file or directory" \
	"$SWARMWATCH" check-config "$work/absent.json"

expect_fail "run refuses a bad config before touching the kernel" 1 "did you mean \"interval\"" \
	"$SWARMWATCH" run --config "$work/typo.json"

expect_fail "run refuses a bad --interval" 1 '--interval "soon"' \
	"$SWARMWATCH" run --interval soon

expect_fail "run refuses a bad --listen" 1 'is not ADDR:PORT' \
	"$SWARMWATCH" run --listen nowhere

expect_fail "run refuses stray arguments" 2 'unexpected argument "extra"' \
	"$SWARMWATCH" run extra
"$SWARMWATCH" check-config --defaults >"$work/defaults.json" &&
	"$SWARMWATCH" check-config "$work/defaults.json" >/dev/null
ok $? "the built-in defaults print and validate"

# A file without identity.rules keeps the built-in rules, and check-config shows them.
echo '{}' >"$work/empty.json"
"$SWARMWATCH" check-config "$work/empty.json" >"$work/out" 2>&1 &&
	grep -qF 'built-in, the file sets no identity.rules' "$work/out" &&
	grep -qF '1. marker SWARMWATCH_AGENT=<name>' "$work/out" &&
	grep -qF '2. cgroup /(docker|cri-containerd|crio|libpod)-([0-9a-f]{12})[0-9a-f]*\.scope$ -> container-$2' "$work/out" &&
	grep -qF '4. comm ^(claude|codex|aider|goose|opencode|gemini|cursor-agent|openhands)$ -> $1' "$work/out"
st=$?
[ $st -eq 0 ] || sed 's/^/# /' "$work/out"
ok $st "check-config of {} prints the built-in rules in force"

printf '{"identity": {"marker": false, "rules": [{"match": "exe", "regex": "/bot$", "name": "bot"}]}}' \
	>"$work/own.json"
"$SWARMWATCH" check-config "$work/own.json" >"$work/out" 2>&1 &&
	grep -qF '(from the file)' "$work/out" && grep -qF '1. exe /bot$ -> bot' "$work/out" &&
	! grep -qE '^  [0-9]+\. (marker|cgroup|comm)' "$work/out"
st=$?
[ $st -eq 0 ] || sed 's/^/# /' "$work/out"
ok $st "check-config prints a file's own rules, and only those"

# The quick start works as root on a machine without sudo: no command in the README
# starts with sudo, make run and make test install the missing packages first, and the
# privilege error says "as root".
! grep -Eq '^\s*sudo ' "$top/README.md" &&
	[ "$(make -s -n -C "$top" run 2>/dev/null | head -1)" = "tools/deps" ] &&
	[ "$(make -s -n -C "$top" test 2>/dev/null | head -1)" = "tools/deps" ]
ok $? "the quick start needs no sudo, and make run / make test run make deps first"
unpriv=()
[ "$(id -u)" -eq 0 ] && unpriv=(setpriv --reuid 65534 --regid 65534 --clear-groups)
expect_fail "run without privileges says to run it as root" 1 "run it as root" \
	"${unpriv[@]}" "$SWARMWATCH" run --listen 127.0.0.1:"$(free_port)"

# The README shows the built-in defaults: keep it true.
python3 - "$top/README.md" "$work/defaults.json" <<'PY'
import json, re, sys
readme = open(sys.argv[1]).read()
m = re.search(r"defaults, which are:\s*```json\n(.*?)```", readme, re.S)
sys.exit(0 if m and json.loads(m.group(1)) == json.load(open(sys.argv[2])) else 1)
PY
ok $? "README's configuration block equals the built-in defaults"
[ $tap_failed -eq 0 ]
