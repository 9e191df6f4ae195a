#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A start on a host that mounts nothing for us: swarmwatch runs in a private
# mount namespace where neither tracefs (/sys/kernel/tracing, and debugfs's
# tracing directory) nor bpffs (/sys/fs/bpf) is mounted, with TLS capture on
# for one agent. It must mount both itself, say so, and capture TLS: an
# HTTPS client of that agent makes 20 requests, all counted 2xx. Then again
# without CAP_SYS_ADMIN, where it cannot mount tracefs (bpffs is left
# mounted, since it could not mount that either): it must say it watches
# mmap through tp_btf instead, and capture TLS all the same.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

REQUESTS=20

# One case, inside the private mount namespace: CASE is "root" or "nocap".
inside() {
	local case=$1 work=$2 port=$3 agent=$4 pin=$5
	local log=$work/$case.log url=http://127.0.0.1:$port/metrics sw_pid= peer_pid= srv_pid=
	local -a priv=()

	umount -l /sys/kernel/tracing 2>/dev/null
	umount -l /sys/kernel/debug 2>/dev/null
	if [ "$case" = root ]; then
		umount -l /sys/fs/bpf 2>/dev/null
	else
		mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
		priv=(setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin)
	fi
	if mountpoint -q /sys/kernel/tracing || mountpoint -q /sys/kernel/debug ||
		{ [ "$case" = root ] && mountpoint -q /sys/fs/bpf; }; then
		echo "# $case: cannot unmount tracefs, debugfs or bpffs in the namespace"
		return 1
	fi
	"${priv[@]}" "$SWARMWATCH" run --config "$work/swarmwatch.json" --listen 127.0.0.1:"$port" \
		--interval 200ms --pin-path "$pin" >"$log" 2>&1 &
	sw_pid=$!
	wait_for 15 curl -sf "$url"
	python3 "$work/peer.py" server "$work/cert.pem" "$work/key.pem" "$work/$case.port" \
		"$REQUESTS" &
	srv_pid=$!
	wait_for 10 test -s "$work/$case.port"
	SWARMWATCH_AGENT=$agent python3 "$work/peer.py" client "$(cat "$work/$case.port")" \
		"$REQUESTS" "$work/$case.go" &
	peer_pid=$!
	# The client has loaded libssl and waits: the mmap hook must get it probed.
	for _ in $(seq 50); do
		n=$(curl -sf "$url" | awk '/^swarmwatch_tls_probed_processes / {print $2}')
		[ "${n:-0}" -ge 1 ] && break
		sleep 0.2
	done
	touch "$work/$case.go"
	timeout 30 tail --pid="$peer_pid" -f /dev/null
	wait "$peer_pid" 2>/dev/null || echo "# $case: the client failed"
	kill "$srv_pid" 2>/dev/null
	sleep 1
	curl -sf "$url" >"$work/$case.metrics"
	kill "$sw_pid" 2>/dev/null
	wait 2>/dev/null
	"$SWARMWATCH" run --unpin --pin-path "$pin" >/dev/null 2>&1
	return 0
}

if [ "${1:-}" = --inside ]; then
	shift
	inside "$@"
	exit $?
fi

checks=("no tracefs, no bpffs: swarmwatch mounts both and says so in one line each"
	"no tracefs, no bpffs: TLS capture counts the client's $REQUESTS HTTPS requests as 2xx"
	"no CAP_SYS_ADMIN, no tracefs: swarmwatch says it watches mmap through tp_btf"
	"no CAP_SYS_ADMIN, no tracefs: TLS capture counts the client's $REQUESTS requests as 2xx")
echo "1..${#checks[@]}"
[ "$(id -u)" -eq 0 ] || skip_all "needs root" "${checks[@]}"
[ -r /sys/kernel/btf/vmlinux ] || skip_all "kernel has no BTF" "${checks[@]}"
for tool in curl python3 openssl unshare setpriv mountpoint; do
	command -v $tool >/dev/null || { echo "# $tool is not installed (make deps)"; exit 1; }
done

work=$(mktemp -d)
agent=mnt-client-$$
cleanup() {
	rm -rf "$work"
}
trap cleanup EXIT
echo "{\"tls\": {\"agents\": [\"$agent\"]}}" >"$work/swarmwatch.json"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
	-keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1 || fail_rest 0
cat >"$work/peer.py" <<'PY'
import http.client, http.server, os, ssl, sys, threading, time

if sys.argv[1] == "server":
    cert, key, portfile, total = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    done = [0]

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            body = b"ok"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            done[0] += 1
            if done[0] == total:
                threading.Timer(0.5, os._exit, (0,)).start()

        def log_message(self, *a):
            pass

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()
else:
    port, total, gofile = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for _ in range(150):
        if os.path.exists(gofile):
            break
        time.sleep(0.1)
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    for _ in range(total):
        c.request("GET", "/")
        r = c.getresponse()
        r.read()
        assert r.status == 200
PY

# count CASE: the client's requests counted 2xx.
count() {
	awk -v a="agent=\"$agent\"" '/^swarmwatch_agent_requests_total\{/ && index($0, a) &&
		/role="client"/ && /status="2xx"/ { n += $2 } END { print n + 0 }' "$work/$1.metrics"
}

for case in root nocap; do
	pin=/sys/fs/bpf/swarmwatch-mounts-$case-$$
	# Bounded: each case stops its own daemon and peers; timeout kills what does not.
	timeout -k 5 90 unshare -m --propagation private "$0" --inside $case "$work" "$(free_port)" \
		"$agent" "$pin"
	"$SWARMWATCH" run --unpin --pin-path "$pin" >/dev/null 2>&1
	touch "$work/$case.metrics"
	if [ $case = root ]; then
		[ "$(grep -c 'mounted bpffs on /sys/fs/bpf' "$work/$case.log")" -eq 1 ] &&
			[ "$(grep -c 'tls: mounted tracefs on /sys/kernel/tracing' "$work/$case.log")" -eq 1 ]
	else
		grep -q 'watching mmap through tp_btf' "$work/$case.log"
	fi
	st=$?
	[ $st -eq 0 ] || grep -v libbpf "$work/$case.log" | sed 's/^/# swarmwatch: /' | tail -10
	[ $case = root ] && ok $st "${checks[0]}" || ok $st "${checks[2]}"
	n=$(count $case)
	echo "# $case: $n of $REQUESTS requests counted 2xx"
	[ "$n" -eq $REQUESTS ]
	st=$?
	[ $st -eq 0 ] || grep -v libbpf "$work/$case.log" | sed 's/^/# swarmwatch: /' | tail -10
	[ $case = root ] && ok $st "${checks[1]}" || ok $st "${checks[3]}"
done
exit $((tap_failed > 0))
