#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Tenant restriction on a real daemon: identity rules give two agents the tenants alpha and
# beta; a token of each tenant reads every endpoint that returns agent data (the API, the event
# stream, the dashboard, /metrics behind auth) and no body names the other tenant's agent, while
# its own shows; another tenant's agent answers exactly as one that does not exist, for reads
# (one incident, one pool's history and weights) and for acts (ack, silence); a token without tenants sees
# both.
set -u
. "$(dirname "$0")/lib.sh"

checks=("identity rules with a tenant name the two agents; a token without tenants sees both"
	"alpha's token: no endpoint names beta's agent, and its own agent shows in each"
	"beta's token: no endpoint names alpha's agent, and its own agent shows in each"
	"another tenant's incident, pool history and weights answer as ones that do not exist"
	"ack and silence on another tenant's agent are refused as for one that does not exist"
	"/metrics pre-rendered with its gzip copy for a token of every tenant: alpha's gzip scrape names only its agent")
echo "1..${#checks[@]}"
needs_root_bpf curl python3

work=$(mktemp -d)
pin=/sys/fs/bpf/swarmwatch-e2e-tenants-$$
port=$(free_port)
pids=()
sw=
cleanup() { teardown "${pids[@]}" "$sw"; }
trap cleanup EXIT
url=http://127.0.0.1:$port
a=tna$$a # alpha's agent
b=tnb$$b # beta's agent

for t in alpha beta all; do openssl rand -hex 24 >"$work/$t.token"; done
cat >"$work/web.yml" <<EOF
bearer_tokens:
  - {name: alpha, token_file: alpha.token, scopes: [read, ack], tenants: [alpha]}
  - {name: beta, token_file: beta.token, scopes: [read, ack], tenants: [beta, gamma]}
  - {name: all, token_file: all.token, scopes: [read, ack]}
rate_limit: {requests_per_second: 1000, burst: 1000}
EOF
cat >"$work/config.json" <<EOF
{"statsd": {"udp": "", "socket": ""},
 "identity": {"rules": [
   {"match": "cmdline", "regex": "^(tna[0-9]+a) ", "tenant": "alpha"},
   {"match": "cmdline", "regex": "^(tnb[0-9]+b) ", "tenant": "beta"}]},
 "alerts": {"default_rules": false,
            "rules": [{"name": "TenantUp", "expr": "instances > 0", "for": "1s",
                       "severity": "warning"}]},
 "cost": {"agents": {"$a": {"cpu_second_usd": 0.01, "daily_budget_usd": 5},
                     "$b": {"cpu_second_usd": 0.01, "daily_budget_usd": 5}}},
 "pools": {"$a": {"min_replicas": 0, "max_replicas": 4, "command": ["/bin/true"],
                  "rules": [{"name": "never", "expr": "instances > 1000", "action": "up 1"}]},
           "$b": {"min_replicas": 0, "max_replicas": 4, "command": ["/bin/true"],
                  "rules": [{"name": "never", "expr": "instances > 1000", "action": "up 1"}]}},
 "web_config_file": "$work/web.yml"}
EOF
c() { curl -s --max-time 5 "$@"; }
tok() { echo "Authorization: Bearer $(cat "$work/$1.token")"; }

"$SWARMWATCH" run --config "$work/config.json" --listen 127.0.0.1:$port --interval 500ms \
	--pin-path "$pin" --state-dir "" >"$work/swarmwatch.log" 2>&1 &
sw=$!
if ! wait_for 30 c -f $url/healthz; then
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail
	fail_rest 0
fi

# The agents: a cmdline rule names each by its argv[0] (the comm stays "sleep").
bash -c "exec -a $a sleep 55" &
pids+=($!)
bash -c "exec -a $b sleep 55" &
pids+=($!)

# Both agents with an incident (the alert fired) and a pool, seen by the token of both.
both() {
	c -H "$(tok all)" $url/api/v1/incidents >"$work/all.incidents" &&
		grep -q "\"agent\":\"$a\"" "$work/all.incidents" &&
		grep -q "\"agent\":\"$b\"" "$work/all.incidents" &&
		c -H "$(tok all)" $url/api/v1/pools >"$work/all.pools" &&
		grep -q "\"pool\":\"$b\",\"seen\":true" "$work/all.pools" &&
		grep -q "\"pool\":\"$a\",\"seen\":true" "$work/all.pools"
}
wait_for 25 both
rc=$?
c -H "$(tok all)" $url/metrics >"$work/all.metrics"
echo "# token without tenants: $(grep -c "agent=\"$a\"" "$work/all.metrics") series of $a, $(grep -c "agent=\"$b\"" "$work/all.metrics") of $b"
[ $rc -eq 0 ] && grep -q "^swarmwatch_agent_instances{agent=\"$a\"} 1" "$work/all.metrics" &&
	grep -q "^swarmwatch_agent_instances{agent=\"$b\"} 1" "$work/all.metrics"
ok $? "${checks[0]}"
[ $rc -eq 0 ] || { sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail; fail_rest 1; }

# Every endpoint that returns agent data, read with one token into $work/TOKEN.NAME.
endpoints=(agents:/api/v1/agents
	series:/api/v1/series
	query:"/api/v1/query_range?metric=swarmwatch_agent_syscalls_total&start=$(($(date +%s) - 60))"
	query_other:"/api/v1/query_range?metric=swarmwatch_agent_syscalls_total&agent=$b"
	anomalies:/api/v1/anomalies alerts:/api/v1/alerts incidents:/api/v1/incidents
	cost:/api/v1/cost pools:/api/v1/pools silences:/api/v1/silences metrics:/metrics index:/)
read_all() { # read_all TOKEN
	local e
	for e in "${endpoints[@]}"; do
		c -H "$(tok "$1")" -o "$work/$1.${e%%:*}" "$url${e#*:}"
	done
	c -N --max-time 3 -H "$(tok "$1")" $url/api/v1/stream >"$work/$1.stream"
}
# leaks TOKEN OTHER: the bodies that name the other tenant's agent; "" when none.
leaks() { grep -l -- "$2" "$work/$1".* 2>/dev/null | sed "s|$work/||" | tr '\n' ' '; }
# shows TOKEN MINE: the bodies meant to show its agent that do not.
shows() {
	local f missing=
	for f in agents series query alerts incidents cost pools metrics index stream; do
		grep -q -- "$2" "$work/$1.$f" || missing+="$f "
	done
	echo "$missing"
}
# The silence of alpha's agent is made with alpha's token, so alpha sees one and beta none.
c -H "$(tok alpha)" -X POST -d "{\"matchers\": {\"agent\": \"$a\"}, \"duration\": \"1h\"}" \
	-o /dev/null $url/api/v1/silences
c -H "$(tok all)" -X POST -d "{\"matchers\": {\"agent\": \"$b\"}, \"duration\": \"1h\"}" \
	-o /dev/null $url/api/v1/silences

read_all alpha
leak=$(leaks alpha "$b")
miss=$(shows alpha "$a")
echo "# alpha: bodies naming $b: [${leak}]; bodies without $a: [${miss}]; stream events $(grep -c '^event: overview' "$work/alpha.stream")"
[ -z "$leak" ] && [ -z "$miss" ] && grep -q "\"agent\":{\"$a\"\|\"agent\":\"$a\"" "$work/alpha.silences" &&
	! grep -q "swarmwatch_collector_ticks_total" "$work/alpha.metrics"
ok $? "${checks[1]}"

read_all beta
leak=$(leaks beta "$a")
miss=$(shows beta "$b")
echo "# beta: bodies naming $a: [${leak}]; bodies without $b: [${miss}]"
[ -z "$leak" ] && [ -z "$miss" ] && grep -q "$b" "$work/beta.query_other"
ok $? "${checks[2]}"

# Reads: beta's incident and pool, to alpha, against ones that do not exist.
inc_b=$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print(next(i["id"] for i in d["incidents"] if i["agent"] == sys.argv[2]))' "$work/all.incidents" "$b")
same() { # same URL-OF-OTHER URL-OF-NONE ID-OF-OTHER ID-OF-NONE [METHOD BODY-OF-OTHER BODY-OF-NONE]
	local x y
	x=$(c -H "$(tok alpha)" -w ' %{http_code}' ${5:+-X $5} ${6:+-d "$6"} "$url$1")
	y=$(c -H "$(tok alpha)" -w ' %{http_code}' ${5:+-X $5} ${7:+-d "$7"} "$url$2")
	x=${x//" $3 "/ ID } y=${y//" $4 "/ ID }
	echo "# $1: $x"
	echo "# $2: $y"
	[ "$x" = "$y" ] && [ "${x##* }" != 200 ]
}
same /api/v1/incidents/$inc_b /api/v1/incidents/999999 "$inc_b" 999999 &&
	same /api/v1/pools/$b/history /api/v1/pools/tnx$$x/history "$b" "tnx$$x" &&
	same /api/v1/pools/$b/weights /api/v1/pools/tnx$$x/weights "$b" "tnx$$x"
ok $? "${checks[3]}"

# Acts: ack beta's alert, silence beta's agent, expire beta's silence.
alert_b=$(c -H "$(tok all)" $url/api/v1/alerts | python3 -c 'import json,sys
print(next(a["id"] for a in json.load(sys.stdin)["alerts"] if a["agent"] == sys.argv[1]))' "$b")
sil_b=$(c -H "$(tok all)" $url/api/v1/silences | python3 -c 'import json,sys
print(next(s["id"] for s in json.load(sys.stdin)["silences"] if s["matchers"].get("agent") == sys.argv[1]))' "$b")
ack() { c -H "$(tok "$1")" -X POST -o /dev/null -w '%{http_code}' "$url/api/v1/alerts/$2/ack"; }
x=$(c -H "$(tok alpha)" -X POST -w ' %{http_code}' "$url/api/v1/alerts/$alert_b/ack")
y=$(c -H "$(tok alpha)" -X POST -w ' %{http_code}' "$url/api/v1/alerts/0123456789abcdef/ack")
x=${x//$alert_b/ID} y=${y//0123456789abcdef/ID}
echo "# ack of $b's alert: $x"
echo "# ack of no alert: $y"
[ "$x" = "$y" ] && [ "${x##* }" = 404 ] &&
	same /api/v1/silences /api/v1/silences - - POST \
		"{\"matchers\": {\"agent\": \"$b\"}, \"duration\": \"1h\"}" \
		"{\"matchers\": {\"agent\": \"tnx$$x\"}, \"duration\": \"1h\"}" &&
	same /api/v1/silences/$sil_b /api/v1/silences/999999 "$sil_b" 999999 DELETE &&
	[ "$(ack beta "$alert_b")" = 200 ]
ok $? "${checks[4]}"

# A gzip scrape of every agent: from now on each tick pre-renders the page and its gzip copy;
# alpha's gzip scrape, a few ticks later, is still cut from it for alpha only.
c -H "$(tok all)" --compressed -o /dev/null $url/metrics
sleep 1.5
c -H "$(tok alpha)" --compressed $url/metrics >"$work/alpha.gz.metrics"
c -H "$(tok all)" --compressed $url/metrics >"$work/all.gz.metrics"
echo "# gzip scrapes: alpha's names $b $(grep -c -- "$b" "$work/alpha.gz.metrics") times, $a $(grep -c -- "$a" "$work/alpha.gz.metrics"); all's names $b $(grep -c -- "$b" "$work/all.gz.metrics")"
grep -q -- "agent=\"$a\"" "$work/alpha.gz.metrics" && ! grep -q -- "$b" "$work/alpha.gz.metrics" &&
	! grep -q "swarmwatch_collector_ticks_total" "$work/alpha.gz.metrics" &&
	grep -q -- "agent=\"$b\"" "$work/all.gz.metrics"
ok $? "${checks[5]}"

kill "$sw"
wait "$sw" 2>/dev/null
sw=
exit $((tap_failed > 0))
