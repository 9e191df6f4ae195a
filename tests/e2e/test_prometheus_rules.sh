#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tools/prometheus/swarmwatch-alerts.yml, the default alert rules for Prometheus: promtool
# accepts them, their unit tests pass, and they name the same alerts as the built-in rules.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

checks=("promtool check rules accepts the rule file"
	"promtool test rules passes the rules' unit tests"
	"the file has one rule per built-in rule of the README, same names and severities")
echo "1..${#checks[@]}"
command -v promtool >/dev/null || { echo "# promtool is not installed (make deps)"; exit 1; }
dir=$top/tools/prometheus

out=$(promtool check rules "$dir/swarmwatch-alerts.yml" 2>&1)
st=$?
[ $st -eq 0 ] || echo "$out" | sed 's/^/# /'
ok $st "${checks[0]}"
out=$(cd "$dir" && promtool test rules swarmwatch-alerts.test.yml 2>&1)
st=$?
[ $st -eq 0 ] || echo "$out" | sed 's/^/# /'
ok $st "${checks[1]}"

# The rule file and the README's table of the built-in rules name the same alerts.
python3 - "$dir/swarmwatch-alerts.yml" "$top/README.md" <<'PY'
import re, sys
rules = re.findall(r"- alert: (\w+)\n(?:.*\n)*?\s+labels: \{severity: (\w+)\}", open(sys.argv[1]).read())
readme = open(sys.argv[2]).read()
table = re.findall(r"^\| `(Agent\w+)` \| .* \| (\w+) \| [^|]+ \| [^|]+ \|$", readme, re.M)
print("# prometheus: %s" % rules)
print("# README: %s" % table)
sys.exit(0 if rules and sorted(rules) == sorted(table) else 1)
PY
ok $? "${checks[2]}"
[ $tap_failed -eq 0 ]
