#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# swarmwatch watches a 20-second agentsim run of the `normal` scenario (pools
# planner, coder, reviewer): every pool shows up as an agent, the instance
# gauges follow agentsim's live instance counts (also across a scale-up and a
# scale-down), CPU and syscalls are counted per agent, once agentsim has
# stopped its agents the gauges fall to 0 and the exits are counted, and the
# HTTP requests each pool made (swarmwatch_agent_requests_total, role client)
# match the `request` records of agentsim's log within 5 %. The agents also report their
# quality, queue and cost over StatsD to swarmwatch's socket: the cost each agent reported is
# agentsim's own count of it.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

pools=(planner coder reviewer)
checks=("swarmwatch serves /metrics"
	"agentsim starts and serves its status"
	"all three agents (planner, coder, reviewer) appear in /metrics"
	"instance gauges equal agentsim's live instance counts at start"
	"instance gauges follow agentsim after scaling coder to 4 and reviewer to 0"
	"CPU seconds are non-zero for every agent"
	"syscalls are non-zero for every agent"
	"process starts are at least agentsim's instance starts for every agent"
	"agentsim runs to its end and exits 0"
	"instance gauges drop to 0 after agentsim has cleaned up"
	"process exits are at least agentsim's instance exits for every agent"
	"client requests per agent are within 5 % of agentsim's request records for every pool"
	"app metrics over StatsD: cost per agent equals agentsim's, quality and queue wait reported")
echo "1..${#checks[@]}"
needs_root_bpf curl python3

agentsim=$top/tools/agentsim/agentsim
work=$(mktemp -d)
pin=/sys/fs/bpf/swarmwatch-agentsim-$$
sw_port=$(free_port)
sw_pid=
as_pid=
dog_pid=
cleanup() { teardown "$as_pid" "$sw_pid"; }
trap cleanup EXIT
# Whatever happens, the test ends within a minute (cleanup runs on the way out).
watchdog 55

metrics_url=http://127.0.0.1:$sw_port/metrics
echo "{\"statsd\": {\"udp\": \"\", \"socket\": \"$work/statsd.sock\"}}" >"$work/config.json"
"$SWARMWATCH" run --config "$work/config.json" --listen 127.0.0.1:$sw_port --interval 200ms \
	--pin-path "$pin" --state-dir "" >"$work/swarmwatch.log" 2>&1 &
sw_pid=$!
if ! wait_for 15 curl -sf "$metrics_url"; then
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail -20
	fail_rest 0
fi
ok 0 "${checks[0]}"

# The comparisons, in one place: reads the exposition and agentsim's status.
cat >"$work/check.py" <<'PY'
import json, os, re, sys, time, urllib.request

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

def get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()

def per_agent(text, name, **want):
    """Sum of the samples of NAME per agent label, keeping only samples whose
    other labels match WANT."""
    out = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if not m or m.group(1) != name:
            continue
        labels = dict(LABEL.findall(m.group(2) or ""))
        if any(labels.get(k) != v for k, v in want.items()) or "agent" not in labels:
            continue
        out[labels["agent"]] = out.get(labels["agent"], 0.0) + float(m.group(3))
    return out

def live(status):
    return {p: v["instances"] for p, v in status["pools"].items()}

def environ(pid):
    try:
        with open("/proc/%s/environ" % pid, "rb") as f:
            items = f.read().split(b"\0")
    except OSError:
        return None
    return dict(i.decode(errors="replace").split("=", 1) for i in items if b"=" in i)

def foreign(run_id, pools):
    """Instances of POOLS on this host that are not this run's: other agentsim
    runs (or anything else carrying the same markers) that swarmwatch rightly
    counts too. A root is a process whose marker differs from its parent's."""
    out = dict((p, 0) for p in pools)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        env = environ(pid)
        agent = env and env.get("SWARMWATCH_AGENT")
        if agent not in out or env.get("AGENTSIM_RUN_ID") == run_id:
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                ppid = f.read().rsplit(")", 1)[1].split()[1]
        except (OSError, IndexError):
            continue
        if (environ(ppid) or {}).get("SWARMWATCH_AGENT") != agent:
            out[agent] += 1
    return out

def main():
    cmd, metrics_url, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    if cmd == "instances":
        # instances STATUS_URL RUN_ID TRIES POOL=N...: agentsim's live counts
        # equal the wanted ones and swarmwatch's gauges equal agentsim's live
        # counts (plus instances of other runs on the host, normally none), read
        # between two identical samples; retried to allow for a tick of lag.
        status_url, run_id, tries = rest[0], rest[1], int(rest[2])
        want = dict((p, int(n)) for p, n in (a.split("=") for a in rest[3:]))
        last = ""
        for _ in range(tries):
            try:
                before = live(json.loads(get(status_url)))
                other = foreign(run_id, want)
                gauges = per_agent(get(metrics_url), "swarmwatch_agent_instances")
                after = live(json.loads(get(status_url)))
                other2 = foreign(run_id, want)
            except Exception as e:
                last = "fetch failed: %s" % e
                time.sleep(0.3)
                continue
            seen = {p: gauges.get(p) for p in want}
            last = "agentsim %s, swarmwatch %s" % (before, seen)
            if any(other.values()):
                last += ", other runs %s" % other
            if before == after and other == other2 and \
                    all(before.get(p) == n for p, n in want.items()) and \
                    all(seen[p] is not None and int(seen[p]) == before[p] + other[p]
                        for p in want):
                print("# " + last)
                return 0
            time.sleep(0.3)
        print("# " + last)
        return 1
    if cmd == "gauges-zero":
        # gauges-zero RUN_ID TRIES POOL...: every pool's instance gauge reads 0
        # (or the count of other runs' instances on the host, normally none).
        run_id, tries, names = rest[0], int(rest[1]), rest[2:]
        seen, other = {}, {}
        for _ in range(tries):
            try:
                other = foreign(run_id, names)
                gauges = per_agent(get(metrics_url), "swarmwatch_agent_instances")
            except Exception as e:
                print("# fetch failed: %s" % e)
                time.sleep(0.3)
                continue
            seen = {p: gauges.get(p) for p in names}
            if all(seen[p] == other[p] for p in names) and other == foreign(run_id, names):
                break
            time.sleep(0.3)
        else:
            print("# swarmwatch %s, other runs %s" % (seen, other))
            return 1
        print("# swarmwatch %s%s" % (seen, ", other runs %s" % other if any(other.values()) else ""))
        return 0
    if cmd == "positive":
        # positive METRIC POOL...: the metric summed per agent is > 0 for each pool.
        name, names = rest[0], rest[1:]
        vals = per_agent(get(metrics_url), name)
        seen = {p: vals.get(p) for p in names}
        print("# %s %s" % (name, seen))
        return 0 if all(v is not None and v > 0 for v in seen.values()) else 1
    if cmd == "at-least":
        # at-least METRIC LOG FIELD POOL...: the metric per agent is at least the
        # run_end count of agentsim (FIELD: starts, or exits summed over outcomes).
        name, log, field, names = rest[0], rest[1], rest[2], rest[3:]
        end = None
        with open(log) as f:
            for line in f:
                ev = json.loads(line)
                if ev.get("event") == "run_end":
                    end = ev
        if end is None:
            print("# no run_end line in the agentsim log")
            return 1
        truth = {}
        for p in names:
            v = end["pools"][p][field]
            truth[p] = sum(v.values()) if isinstance(v, dict) else v
        vals = per_agent(get(metrics_url), name)
        seen = {p: vals.get(p) for p in names}
        print("# %s: swarmwatch %s, agentsim %s" % (name, seen, truth))
        return 0 if all(seen[p] is not None and truth[p] > 0 and seen[p] >= truth[p]
                        for p in names) else 1
    if cmd == "requests":
        # requests LOG TRIES POOL...: swarmwatch_agent_requests_total{role="client"}
        # summed per agent over all other labels (upstream, status) is within
        # 5 % of the pool's `request` records in agentsim's log. Each record is
        # one HTTP request on the wire: every LLM attempt (retries of 429/5xx,
        # resets and timeouts each have their own record) and every tool HTTP
        # call; only a connect that was refused never sent a request. Retried to
        # allow for a tick of lag. Fails when the metric is not exported at all.
        log, tries, names = rest[0], int(rest[1]), rest[2:]
        truth = dict((p, 0) for p in names)
        with open(log) as f:
            for line in f:
                ev = json.loads(line)
                if ev.get("event") != "request" or ev.get("pool") not in truth:
                    continue
                if ev.get("status") == "error" and ev.get("error") == "ConnectionRefusedError":
                    continue
                truth[ev["pool"]] += 1
        if not any(truth.values()):
            print("# no request records in the agentsim log")
            return 1
        name = "swarmwatch_agent_requests_total"
        seen, exported = {}, False
        for _ in range(tries):
            try:
                text = get(metrics_url)
            except Exception as e:
                print("# fetch failed: %s" % e)
                time.sleep(0.3)
                continue
            exported = any(SAMPLE.match(l) and SAMPLE.match(l).group(1) == name
                           for l in text.splitlines())
            vals = per_agent(text, name, role="client")
            seen = {p: vals.get(p, 0.0) for p in names}
            if exported and all(abs(seen[p] - truth[p]) <= 0.05 * truth[p] for p in names):
                break
            time.sleep(0.3)
        else:
            if not exported:
                print("# swarmwatch exports no %s" % name)
            for line in text.splitlines() if exported else []:
                if line.startswith(name + "{") and 'role="client"' in line and \
                        any('agent="%s"' % p in line for p in names):
                    print("# " + line)
            print("# %s{role=\"client\"}: swarmwatch %s, agentsim request records %s"
                  % (name, seen, truth))
            return 1
        print("# %s{role=\"client\"}: swarmwatch %s, agentsim request records %s"
              % (name, seen, truth))
        return 0
    if cmd == "app":
        # app LOG TRIES POOL...: swarmwatch_agent_app_cost_usd_total per agent equals the
        # pool's cost_usd in agentsim's run_end (each agent reports its answered calls' cost),
        # and every pool that made calls reported its quality (in [0, 1]) and queue waits; a
        # pool that made none in the run (the reviewer waits on the coders' work, which may
        # not come in 20 s on a loaded host) has no cost. At least two pools made calls, so
        # the check cannot pass on an idle run. Retried to allow for a tick of lag.
        log, tries, names = rest[0], int(rest[1]), rest[2:]
        end = None
        with open(log) as f:
            for line in f:
                ev = json.loads(line)
                if ev.get("event") == "run_end":
                    end = ev
        if end is None:
            print("# no run_end line in the agentsim log")
            return 1
        truth = {p: end["pools"][p]["cost_usd"] for p in names}
        seen = {}
        for _ in range(tries):
            try:
                text = get(metrics_url)
            except Exception as e:
                print("# fetch failed: %s" % e)
                time.sleep(0.3)
                continue
            cost = per_agent(text, "swarmwatch_agent_app_cost_usd_total")
            quality = per_agent(text, "swarmwatch_agent_app_quality")
            waits = per_agent(text, "swarmwatch_agent_app_queue_wait_seconds_count")
            seen = {p: (cost.get(p), quality.get(p), waits.get(p)) for p in names}
            spent = [p for p in names if truth[p] > 0]
            if len(spent) >= 2 and all(
                    (c is not None and abs(c - truth[p]) <= 1e-6 and
                     q is not None and 0 <= q <= 1 and w) if truth[p] > 0 else not c
                    for p, (c, q, w) in seen.items()):
                break
            time.sleep(0.3)
        else:
            print("# cost, quality, queue waits: swarmwatch %s, agentsim cost %s" % (seen, truth))
            return 1
        print("# cost, quality, queue waits: swarmwatch %s, agentsim cost %s" % (seen, truth))
        return 0
    return 2

sys.exit(main())
PY
check() { python3 "$work/check.py" "$1" "$metrics_url" "${@:2}"; }

# agentsim: 20 s, its own state folder, a free control port; bounded by timeout.
AGENTSIM_STATE_DIR=$work timeout -k 5 35 "$agentsim" run --scenario normal --duration 20 \
	--control-port 0 --log "$work/truth.jsonl" --statsd "unix:$work/statsd.sock" -q \
	>"$work/agentsim.out" 2>&1 &
as_pid=$!
control=
for _ in $(seq 75); do
	control=$(python3 -c 'import json, sys
for line in open(sys.argv[1]):
    ev = json.loads(line)
    if ev.get("event") == "run_start":
        print(ev["control_url"], ev["run_id"]); break' "$work/truth.jsonl" 2>/dev/null)
	[ -n "$control" ] && break
	kill -0 $as_pid 2>/dev/null || break
	sleep 0.2
done
read -r control run_id <<<"$control"
status_url=$control/v1/status
if [ -z "$control" ] || ! wait_for 10 curl -sf "$status_url"; then
	sed 's/^/# agentsim: /' "$work/agentsim.out" | tail -20
	ok 1 "${checks[1]}"
	fail_rest 2
fi
ok 0 "${checks[1]}"

# Give the agents a few ticks to show up and do some work.
all_present() {
	local m
	m=$(curl -sf "$metrics_url") || return 1
	for p in "${pools[@]}"; do
		grep -q "^swarmwatch_agent_instances{agent=\"$p\"}" <<<"$m" || return 1
	done
}
wait_for 10 all_present
ok $? "${checks[2]}"

check instances "$status_url" "$run_id" 20 planner=1 coder=2 reviewer=1
ok $? "${checks[3]}"

# Scale while running: agentsim starts or stops instances within a few hundred ms.
scaled=1
if "$agentsim" scale coder 4 --control "$control" >/dev/null 2>&1 &&
	"$agentsim" scale reviewer 0 --control "$control" >/dev/null 2>&1; then
	check instances "$status_url" "$run_id" 40 planner=1 coder=4 reviewer=0
	scaled=$?
else
	echo "# agentsim scale failed"
fi
ok $scaled "${checks[4]}"

sleep 2
check positive swarmwatch_agent_cpu_seconds_total "${pools[@]}"
ok $? "${checks[5]}"
check positive swarmwatch_agent_syscalls_total "${pools[@]}"
ok $? "${checks[6]}"

# Wait for the end of the run (20 s + shutdown; bounded by the timeout above).
for _ in $(seq 200); do kill -0 $as_pid 2>/dev/null || break; sleep 0.2; done
as_rc=1
if ! kill -0 $as_pid 2>/dev/null; then
	wait $as_pid
	as_rc=$?
	as_pid=
fi
[ $as_rc -eq 0 ] && grep -q '"event":"run_end"' "$work/truth.jsonl"
rc=$?
[ $rc -ne 0 ] && sed 's/^/# agentsim: /' "$work/agentsim.out" | tail -20
check at-least swarmwatch_agent_process_starts_total "$work/truth.jsonl" starts "${pools[@]}"
ok $? "${checks[7]}"
ok $rc "${checks[8]}"

check gauges-zero "$run_id" 20 "${pools[@]}"
ok $? "${checks[9]}"
check at-least swarmwatch_agent_process_exits_total "$work/truth.jsonl" exits "${pools[@]}"
ok $? "${checks[10]}"
# After the end of the run: every request agentsim's agents made is in the log.
check requests "$work/truth.jsonl" 20 "${pools[@]}"
ok $? "${checks[11]}"
check app "$work/truth.jsonl" 20 "${pools[@]}"
ok $? "${checks[12]}"

if [ $tap_failed -gt 0 ]; then
	sed 's/^/# swarmwatch: /' "$work/swarmwatch.log" | tail -20
fi
[ $tap_failed -eq 0 ]
