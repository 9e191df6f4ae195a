#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The HTTP surface made safe to expose, on a real daemon: HTTPS with a certificate made here by
# openssl, basic auth with a bcrypt hash, bearer tokens whose scopes are enforced, 429 with
# Retry-After past the rate limit of one client address, a slowloris client and 1,000
# concurrent connections from other addresses while /metrics keeps answering, and the
# capabilities the daemon keeps after start-up (every thread's CapEff) while it still
# classifies and counts new agents. Hostile clients use their own loopback addresses
# (127.0.0.3, .4, .9), so the per-address limits are what is tested.
set -u
. "$(dirname "$0")/lib.sh"

checks=("check-config and run refuse a bad web configuration with one line naming file, line and fix"
	"HTTPS answers with the certificate made by openssl; plain HTTP on that port gets no answer"
	"without credentials /metrics is 401 with WWW-Authenticate, /healthz stays open"
	"basic auth: the right password gets /metrics, a wrong one 401 and a log line"
	"a read token reads the API and the event stream but gets 403 on POST and DELETE of silences"
	"an ack token creates and expires a silence"
	"wrong passwords: 5 from one address get 401, then 429 before any bcrypt; other addresses still log in"
	"oversized requests: a 100 KiB header and a 20 KiB body are refused (431, 413)"
	"past the rate limit one address gets 429 with Retry-After; another address is served"
	"a slowloris client holds at most 64 connections of its address while /metrics answers"
	"1,000 concurrent connections from one address: at most 64 kept, /metrics answers throughout"
	"every thread of the daemon keeps only CAP_SYS_PTRACE (CapEff, CapPrm, CapBnd), as logged"
	"after the drop the daemon still classifies new agents (marker and comm rule) and ticks")
echo "1..${#checks[@]}"
needs_root_bpf curl python3 openssl

work=$(mktemp -d)
pin=/sys/fs/bpf/swarmwatch-e2e-websec-$$
port=$(free_port)
pids=()
sw=
cleanup() { teardown "${pids[@]}" "$sw"; }
trap cleanup EXIT
url=https://127.0.0.1:$port

# A self-signed certificate for 127.0.0.1, a bcrypt hash, two tokens.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" \
	-out "$work/cert.pem" -days 1 -subj /CN=localhost \
	-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 || { echo "# openssl failed"; exit 1; }
hash=$(python3 -W ignore -c \
	'import crypt; print(crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 6)))')
openssl rand -hex 24 >"$work/read.token"
openssl rand -hex 24 >"$work/ack.token"
cat >"$work/web.yml" <<EOF
tls_server_config:
  cert_file: cert.pem
  key_file: key.pem
basic_auth_users:
  alice: $hash
bearer_tokens:
  - name: dash
    token_file: read.token
    scopes: [read]
  - name: oncall
    token_file: ack.token
    scopes: [read, ack]
rate_limit:
  requests_per_second: 5
  burst: 30
EOF
cat >"$work/config.json" <<EOF
{"statsd": {"udp": "", "socket": ""},
 "identity": {"rules": [{"match": "comm", "regex": "^(tsec-cmd)\$"}]},
 "web_config_file": "$work/web.yml"}
EOF
read_tok=$(cat "$work/read.token")
ack_tok=$(cat "$work/ack.token")
c() { curl -s --cacert "$work/cert.pem" --max-time 5 "$@"; }

# 1: a bad web configuration, both ways.
printf 'basic_auth_users:\n  bob: hunter2\n' >"$work/bad.yml"
out=$("$SWARMWATCH" check-config --web.config.file "$work/bad.yml" 2>&1)
rc1=$?
out2=$("$SWARMWATCH" run --listen 127.0.0.1:$port --pin-path "$pin" --state-dir "" \
	--web.config.file "$work/bad.yml" 2>&1)
rc2=$?
echo "# $out"
[ $rc1 -eq 1 ] && [ $rc2 -eq 1 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] &&
	echo "$out" | grep -q "bad.yml:2:8: basic_auth_users.bob: not a bcrypt hash" &&
	echo "$out2" | grep -q "not a bcrypt hash" && [ ! -e "$pin" ]
ok $? "${checks[0]}"

"$SWARMWATCH" run --config "$work/config.json" --listen 127.0.0.1:$port --interval 500ms \
	--pin-path "$pin" --state-dir "" >"$work/swarmwatch.log" 2>&1 &
sw=$!
if ! wait_for 30 c -f $url/healthz; then
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log"
	fail_rest 1
fi

# 2: TLS with the made certificate; plain HTTP gets nothing useful.
code=$(c -o /dev/null -w '%{http_code}' $url/healthz)
plain=$(curl -s --max-time 3 -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/healthz)
echo "# https $code, plain http $plain"
[ "$code" = 200 ] && [ "$plain" != 200 ]
ok $? "${checks[1]}"

# 3: no credentials.
c -D "$work/h401" -o /dev/null $url/metrics
code=$(c -o /dev/null -w '%{http_code}' $url/healthz)
grep -q '^HTTP/1.1 401' "$work/h401" && grep -qi '^WWW-Authenticate: Basic realm="swarmwatch"' \
	"$work/h401" && [ "$code" = 200 ]
ok $? "${checks[2]}"

# 4: basic auth.
c -u alice:s3cret $url/metrics >"$work/metrics"
code=$(c -u alice:wrong -o /dev/null -w '%{http_code}' $url/metrics)
sleep 0.2
grep 'http: refused' "$work/swarmwatch.log" | sed 's/^/# /'
grep -q '^swarmwatch_collector_ticks_total ' "$work/metrics" && [ "$code" = 401 ] &&
	grep -q 'http: refused .* 1 without right credentials, .* the last from 127.0.0.1$' \
		"$work/swarmwatch.log"
ok $? "${checks[3]}"

# 5, 6: scopes.
r1=$(c -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $read_tok" $url/api/v1/silences)
c -N --max-time 3 -H "Authorization: Bearer $read_tok" $url/api/v1/stream >"$work/stream"
events=$(grep -c '^event: overview' "$work/stream")
r2=$(c -o "$work/r2" -w '%{http_code}' -H "Authorization: Bearer $read_tok" -X POST \
	-d '{"matchers": {"agent": "tsec-x"}, "duration": "1h"}' $url/api/v1/silences)
a1=$(c -o "$work/a1" -w '%{http_code}' -H "Authorization: Bearer $ack_tok" -X POST \
	-d '{"matchers": {"agent": "tsec-x"}, "duration": "1h"}' $url/api/v1/silences)
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/a1" 2>/dev/null)
r3=$(c -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $read_tok" -X DELETE \
	$url/api/v1/silences/${id:-0})
a2=$(c -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ack_tok" -X DELETE \
	$url/api/v1/silences/${id:-0})
echo "# read: GET $r1, $events stream events in 3 s, POST $r2 DELETE $r3; ack: POST $a1 (id ${id:-none}) DELETE $a2"
echo "# $(cat "$work/r2")"
[ "$r1" = 200 ] && [ "$events" -ge 2 ] && [ "$r2" = 403 ] && [ "$r3" = 403 ] && grep -q 'needs ack' "$work/r2"
ok $? "${checks[4]}"
[ "$a1" = 200 ] && [ -n "$id" ] && [ "$a2" = 200 ]
ok $? "${checks[5]}"

# 7: guessing passwords from 127.0.0.5.
args=()
for _ in $(seq 8); do args+=(-o /dev/null "$url/metrics"); done
c --interface 127.0.0.5 -u alice:guess -w '%{http_code}\n' "${args[@]}" >"$work/guess"
n401=$(grep -c '^401' "$work/guess")
n429=$(grep -c '^429' "$work/guess")
other=$(c --interface 127.0.0.6 -u alice:s3cret -o /dev/null -w '%{http_code}' $url/metrics)
echo "# 8 wrong passwords from 127.0.0.5: $n401 got 401, $n429 got 429; right one from 127.0.0.6: $other"
[ "$n401" -ge 5 ] && [ "$n401" -le 7 ] && [ "$n429" -ge 1 ] && [ $((n401 + n429)) -eq 8 ] &&
	[ "$other" = 200 ]
ok $? "${checks[6]}"

# 8: oversized requests (the ack token, so that the body is read).
big=$(head -c 102400 /dev/zero | tr '\0' a)
h431=$(c -o /dev/null -w '%{http_code}' -u alice:s3cret -H "X-Big: $big" $url/metrics)
body=$(printf '{"matchers": {"agent": "tsec-x"}, "comment": "%s", "duration": "1h"}' \
	"$(head -c 20480 /dev/zero | tr '\0' b)")
b413=$(c -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ack_tok" -X POST \
	--data-binary "$body" $url/api/v1/silences)
echo "# 100 KiB header: $h431, 20 KiB body: $b413"
[ "$h431" = 431 ] && [ "$b413" = 413 ]
ok $? "${checks[7]}"

# 9: 80 requests on one connection from 127.0.0.9, as fast as they go (5 a second and a burst
# of 30 allowed: all 80 pass only if they take 10 s).
args=()
for _ in $(seq 80); do args+=(-o /dev/null "$url/api/v1/agents"); done
c --interface 127.0.0.9 -H "Authorization: Bearer $read_tok" \
	-w '%{http_code} %header{retry-after}\n' "${args[@]}" >"$work/burst"
n200=$(grep -c '^200' "$work/burst")
n429=$(grep -c '^429 [1-9]' "$work/burst")
other=$(c --interface 127.0.0.1 -u alice:s3cret -o /dev/null -w '%{http_code}' $url/metrics)
echo "# 80 requests from 127.0.0.9: $n200 answered, $n429 refused with Retry-After; 127.0.0.1: $other"
[ "$n429" -ge 1 ] && [ "$n200" -ge 30 ] && [ $((n200 + n429)) -eq 80 ] && [ "$other" = 200 ]
ok $? "${checks[8]}"

# 10, 11: slowloris from 127.0.0.3 (80 TLS connections, a header byte a second) and 1,000 idle
# connections from 127.0.0.4, for 12 s, while 127.0.0.1 scrapes every 0.5 s.
python3 - "$port" "$work/cert.pem" >"$work/hostile" 2>&1 <<'PY' &
import resource, socket, ssl, sys, threading, time
port, cert = int(sys.argv[1]), sys.argv[2]
resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
res = {}

def kept(addr):
    """Connections from addr that the daemon accepted and still holds (ss shows its pid)."""
    import subprocess
    out = subprocess.run(["ss", "-tnpH", "state", "established", "( sport = :%d )" % port,
                          "dst", addr], capture_output=True, text=True).stdout
    return sum(1 for l in out.splitlines() if "swarmwatch" in l)

def slowloris():
    ctx = ssl.create_default_context(cafile=cert)
    conns = []
    for _ in range(80):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=3,
                                         source_address=("127.0.0.3", 0))
            s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            conns.append(s)
        except OSError:
            pass
    end = time.time() + 12
    while time.time() < end:
        for s in list(conns):
            try:
                s.sendall(b"X")
            except OSError:
                conns.remove(s)
        time.sleep(1)
        if end - time.time() < 3 and "slow" not in res:
            res["slow"] = kept("127.0.0.3")
    for s in conns:
        s.close()

def flood():
    socks = []
    for _ in range(1000):
        s = socket.socket()
        s.setblocking(False)
        s.bind(("127.0.0.4", 0))
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
    time.sleep(9)
    res["flood"] = kept("127.0.0.4")
    for s in socks:
        s.close()

t = [threading.Thread(target=slowloris), threading.Thread(target=flood)]
for x in t: x.start()
for x in t: x.join()
print("slow", res.get("slow", -1))
print("flood", res.get("flood", -1))
PY
hostile=$!
pids+=($hostile)
scrapes=0 good=0
sleep 1
for _ in $(seq 22); do
	code=$(c --interface 127.0.0.1 -u alice:s3cret -o /dev/null -w '%{http_code}' $url/metrics)
	scrapes=$((scrapes + 1))
	[ "$code" = 200 ] && good=$((good + 1))
	sleep 0.5
done
wait $hostile
slow=$(awk '/^slow/ {print $2}' "$work/hostile")
flood=$(awk '/^flood/ {print $2}' "$work/hostile")
echo "# /metrics: $good of $scrapes answered 200; slowloris kept $slow of 80, flood kept $flood of 1000"
[ "$good" -eq "$scrapes" ] && [ -n "$slow" ] && [ "$slow" -ge 1 ] && [ "$slow" -le 64 ]
ok $? "${checks[9]}"
[ "$good" -eq "$scrapes" ] && [ -n "$flood" ] && [ "$flood" -ge 1 ] && [ "$flood" -le 64 ]
ok $? "${checks[10]}"

# 12: capabilities of every thread.
bad=0 threads=0
for t in /proc/$sw/task/*; do
	threads=$((threads + 1))
	for f in CapEff CapPrm CapBnd; do
		v=$(awk -v f="$f:" '$1 == f {print $2}' "$t/status")
		[ "$v" = 0000000000080000 ] || { echo "# $t $f $v"; bad=1; }
	done
done
echo "# $threads threads; $(grep 'capabilities kept' "$work/swarmwatch.log")"
[ $bad -eq 0 ] && [ $threads -ge 3 ] &&
	grep -q 'capabilities kept: cap_sys_ptrace; every other one dropped' "$work/swarmwatch.log"
ok $? "${checks[11]}"

# 13: new agents after the drop, by marker (in the kernel) and by comm (reads /proc/PID/exe).
cp /bin/sleep "$work/tsec-cmd"
ticks0=$(c -u alice:s3cret $url/metrics | awk '/^swarmwatch_collector_ticks_total / {print $2}')
env SWARMWATCH_AGENT=tsec-late timeout 20 sleep 15 &
pids+=($!)
timeout 20 "$work/tsec-cmd" 15 &
pids+=($!)
seen() {
	c -u alice:s3cret $url/metrics >"$work/m2" &&
		grep -q '^swarmwatch_agent_instances{agent="tsec-late"} 1' "$work/m2" &&
		grep -q '^swarmwatch_agent_instances{agent="tsec-cmd"} 1' "$work/m2"
}
wait_for 10 seen
rc=$?
ticks1=$(awk '/^swarmwatch_collector_ticks_total / {print $2}' "$work/m2")
echo "# ticks $ticks0 -> $ticks1"
[ $rc -eq 0 ] && [ "${ticks1:-0}" -gt "${ticks0:-0}" ]
ok $? "${checks[12]}"

kill "$sw"
wait "$sw"
sw=
exit $((tap_failed > 0))
