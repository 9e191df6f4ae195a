#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# No process can break a scrape with its agent name. Processes are tagged
# SWARMWATCH_AGENT=$'bad\xe6\xadname' (not UTF-8), a 36-byte Japanese name
# (longer than a name holds) and a name with a quote, a backslash and a tab;
# each runs once from before the daemon started (named by the start-up scan)
# and once after (named by the kernel at exec), and the two must be one agent;
# so must 8 more markers (overlongs, surrogates, a cut 4-byte character, a
# value longer than the kernel reads...), whose names Python's decoder gives.
# The first two also burst syscalls (tests/bpf/test_anomaly's workload) so that
# they show in /api/v1/anomalies. Then: promtool check metrics is clean, a real
# Prometheus keeps up == 1, and /metrics, the page and the JSON carry the names
# as valid UTF-8, cut on a character boundary, with U+FFFD for what was not text.
set -u
. "$(dirname "$0")/lib.sh"

checks=("daemon starts"
	"/metrics is valid UTF-8 and promtool check metrics reports nothing"
	"invalid bytes: one agent \"bad\\uFFFDname\" with 2 instances"
	"36-byte name: one agent cut to its first 10 characters, with 2 instances"
	"quote, backslash and tab: one agent, escaped in its label, with 2 instances"
	"8 more markers: kernel, start-up scan and Python's decoder make the same names"
	"the HTML page is valid UTF-8 and shows the three names escaped"
	"/api/v1/anomalies parses as JSON and names both bursting agents"
	"Prometheus scrapes swarmwatch (up == 1) and finds the 36-byte agent by its cut name"
	"promtool check metrics still reports nothing with anomalies open")
echo "1..${#checks[@]}"
needs_root_bpf prometheus promtool curl python3
burst=$top/build/tests/bpf/test_anomaly
[ -x "$burst" ] || { echo "# $burst is missing (make tests)"; exit 1; }

bad=$'bad\xe6\xadname'
long="エージェントエージェント"
odd=$'q"uo\\te\tx'
work=$(mktemp -d)
pin=/sys/fs/bpf/swarmwatch-e2e-$$
sw_port=$(free_port)
prom_port=$(free_port)
pids=()
cleanup() { teardown "${pids[@]}"; }
trap cleanup EXIT

# Checks on the fetched documents; the expected names are written out in
# full here, independently of swarmwatch's code.
cat >"$work/check.py" <<'PY'
import json, os, re, subprocess, sys

BAD = "bad\ufffdname"
LONG = "エージェントエージェ"
ODD_LABEL = 'q\\"uo\\\\te\ufffdx'
ODD_HTML = "q&quot;uo\\te\ufffdx"

def text(path):
    data = open(path, "rb").read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        print("# %s is not UTF-8: %r at byte %d" % (path, data[e.start:e.end], e.start))
        sys.exit(1)

def instances(page, label):
    pat = re.compile(r'^swarmwatch_agent_instances\{agent="' + re.escape(label) + r'"\} (\S+)$', re.M)
    found = pat.findall(page)
    return float(found[0]) if len(found) == 1 else None

# More markers, named by Python's own decoder (which replaces maximal
# ill-formed subparts too), controls replaced, cut to 31 bytes on a character.
MARKERS = [b"\xc0\xaf\xe0\x80\xafover", b"\xed\xa0\x80\xed\xbf\xbfsurr", b"\xff" * 20,
           b"a" * 28 + "\U0001f916".encode(), b"b" * 27 + "\U0001f916".encode(), b"ab\xe3\x82",
           b"z" * 60 + b"\xff", b"\x1b[31mred"]

def name(marker):
    out = ""
    for c in marker.decode("utf-8", "replace"):
        c = "\ufffd" if ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f else c
        if len((out + c).encode()) > 31:
            break
        out += c
    return out

def label(s):
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

what, path = sys.argv[1], sys.argv[2]
if what == "spawn":  # one process per marker; their pids to the file
    env = {b"PATH": os.environb.get(b"PATH", b"/usr/bin:/bin")}
    with open(path, "a") as f:
        for m in MARKERS:
            p = subprocess.Popen(["timeout", "90", "sleep", "90"],
                                 env={**env, b"SWARMWATCH_AGENT": m})
            f.write("%d\n" % p.pid)
elif what == "agree":
    page, bad = text(path), 0
    for m in MARKERS:
        n = instances(page, label(name(m)))
        if n != 2:
            print("# %r: expected agent %r with 2 instances, found %s" % (m, name(m), n))
            bad += 1
    sys.exit(1 if bad else 0)
elif what == "utf8":
    text(path)
elif what == "instances":
    label = {"bad": BAD, "long": LONG, "odd": ODD_LABEL}[sys.argv[3]]
    n = instances(text(path), label)
    print("# instances of %s: %s" % (label, n))
    sys.exit(0 if n == 2 else 1)
elif what == "html":
    page = text(path)
    for name in (BAD, LONG, ODD_HTML):
        if name not in page:
            print("# page lacks %r" % name)
            sys.exit(1)
elif what == "json":
    doc = json.loads(text(path))
    names = {e["agent"] for e in doc["current"] + doc["recent"]}
    print("# agents in episodes: %s" % sorted(names))
    sys.exit(0 if {BAD, LONG} <= names else 1)
elif what == "query":
    r = json.loads(text(path))
    sys.exit(0 if r["status"] == "success" and r["data"]["result"] else 1)
PY
check() { python3 "$work/check.py" "$@"; }

# Running before the daemon: named by the start-up scan of /proc.
for name in "$bad" "$long" "$odd"; do
	env SWARMWATCH_AGENT="$name" timeout 90 sleep 90 &
	pids+=($!)
done
check spawn "$work/more.pids"
echo '{"anomaly": {"warmup": 100}}' >"$work/config.json"
"$SWARMWATCH" run --listen 127.0.0.1:$sw_port --interval 100ms --pin-path "$pin" \
	--config "$work/config.json" >"$work/swarmwatch.log" 2>&1 &
pids+=($!)
wait_for 30 curl -sf http://127.0.0.1:$sw_port/healthz
ok $? "${checks[0]}"
[ $tap_failed -eq 0 ] || { sed 's/^/# swarmwatch: /' "$work/swarmwatch.log"; fail_rest 1; }

# Started after: named by the kernel at exec.
for name in "$bad" "$long"; do
	env SWARMWATCH_AGENT="$name" timeout 60 "$burst" --workload spike &
	pids+=($!)
done
env SWARMWATCH_AGENT="$odd" timeout 90 sleep 90 &
pids+=($!)
check spawn "$work/more.pids"
pids+=($(cat "$work/more.pids"))
sleep 1

metrics_clean() {
	local utf8 rc
	curl -sf http://127.0.0.1:$sw_port/metrics >"$work/metrics.txt" || return 1
	check utf8 "$work/metrics.txt"
	utf8=$?
	lint=$(promtool check metrics <"$work/metrics.txt" 2>&1)
	rc=$?
	[ -n "$lint" ] && echo "$lint" | sed 's/^/# promtool: /'
	[ $utf8 -eq 0 ] && [ $rc -eq 0 ] && [ -z "$lint" ]
}
metrics_clean
ok $? "${checks[1]}"
check instances "$work/metrics.txt" bad
ok $? "${checks[2]}"
check instances "$work/metrics.txt" long
ok $? "${checks[3]}"
check instances "$work/metrics.txt" odd
ok $? "${checks[4]}"
check agree "$work/metrics.txt"
ok $? "${checks[5]}"
curl -sf http://127.0.0.1:$sw_port/ >"$work/index.html" && check html "$work/index.html"
ok $? "${checks[6]}"

cat >"$work/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: swarmwatch
    static_configs:
      - targets: ["127.0.0.1:$sw_port"]
YML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
	--web.listen-address=127.0.0.1:$prom_port --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)

# The burst starts 16 s after the workload; the episode opens within seconds.
anomalies() {
	curl -sf http://127.0.0.1:$sw_port/api/v1/anomalies >"$work/anomalies.json" &&
		check json "$work/anomalies.json"
}
wait_for 45 anomalies
rc=$?
anomalies
ok $rc "${checks[7]}"

query() {	# query PROMQL: succeeds when the result vector is non-empty
	curl -sf -G "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" \
		>"$work/query.json" && check query "$work/query.json"
}
wait_for 30 query 'up{job="swarmwatch"} == 1' &&
	wait_for 30 query "swarmwatch_agent_instances{agent=\"エージェントエージェ\"} == 2" &&
	query 'up{job="swarmwatch"} == 1'
ok $? "${checks[8]}"
metrics_clean
ok $? "${checks[9]}"

if [ $tap_failed -gt 0 ]; then
	sed 's/^/# prometheus: /' "$work/prometheus.log" | tail -20
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail -20
fi
[ $tap_failed -eq 0 ]
