# SPDX-License-Identifier: MIT
"""Shared code of agentsim's tests: paths, bounded waits, runs, /proc scans."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
AGENTSIM = os.path.join(ROOT, "agentsim")
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def wait_for(cond, timeout=10.0, interval=0.05):
    """Poll cond() until it returns a true value or timeout passes; return it."""
    end = time.monotonic() + timeout
    val = cond()
    while not val and time.monotonic() < end:
        time.sleep(interval)
        val = cond()
    return val


def fast_scenario(**over):
    """A small scenario whose agents work fast, for runs of a few seconds."""
    doc = {
        "name": "test",
        "description": "agentsim test scenario",
        "duration": 4,
        "seed": 11,
        "llm": {"latency": {"dist": "fixed", "ms": 10}, "per_token_ms": 0,
                "completion_tokens": [10, 40], "error_rate": 0},
        "tools": {"latency": {"dist": "fixed", "ms": 2}, "response_kib": 1},
        "agent": {"think_ms": [40, 120], "timeout_s": 1.0, "prompt_tokens": [20, 80],
                  "max_tokens": [50, 100], "llm_calls": [1, 2], "tool_calls": [0, 2]},
        "pools": {"planner": {"instances": 1, "max_instances": 4},
                  "coder": {"instances": 2, "max_instances": 6},
                  "reviewer": {"instances": 1, "max_instances": 4}},
        "phases": [{"name": "steady", "duration": 4}],
    }
    doc.update(over)
    return doc


class Run:
    """An `agentsim run` child process with its own temp folder and state dir."""

    def __init__(self, doc, args=(), tmp=None):
        self.tmp = tmp or tempfile.mkdtemp(prefix="agentsim-test-")
        self.scenario = os.path.join(self.tmp, "scenario.json")
        with open(self.scenario, "w", encoding="utf-8") as f:
            json.dump(doc, f)
        self.log = os.path.join(self.tmp, "truth.jsonl")
        self.out = os.path.join(self.tmp, "stdout.txt")
        self.env = dict(os.environ)
        self.env["AGENTSIM_STATE_DIR"] = os.path.join(self.tmp, "state")
        self.env.pop("SWARMWATCH_AGENT", None)
        self.env.pop("AGENTSIM_CONTROL", None)
        cmd = [sys.executable, AGENTSIM, "run", "--scenario", self.scenario, "--log", self.log,
               "--control-port", "0"] + list(args)
        self._outf = open(self.out, "w", encoding="utf-8")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._outf,
                                     stderr=subprocess.STDOUT, env=self.env)
        self.started = time.monotonic()

    def events(self, kind=None):
        if not os.path.exists(self.log):
            return []
        out = []
        with open(self.log, "r", encoding="utf-8") as f:
            for line in f:
                if not line.endswith("\n"):
                    break
                rec = json.loads(line)
                if kind is None or rec["event"] == kind:
                    out.append(rec)
        return out

    def run_start(self):
        ev = wait_for(lambda: self.events("run_start"), 10)
        return ev[0] if ev else None

    def control_url(self):
        st = self.run_start()
        return st["control_url"] if st else None

    def status(self):
        code, body = http_json(self.control_url() + "/v1/status")
        return body

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def output(self):
        with open(self.out, "r", encoding="utf-8") as f:
            return f.read()

    def close(self):
        """Make sure nothing of this run is left (used in tearDown)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        starts = self.events("run_start")
        if starts:
            for pid in pids_of_run(starts[0]["run_id"]):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
            # Left behind only when agentsim itself was killed.
            workdir = starts[0].get("workdir")
            if workdir and os.path.basename(workdir).startswith("agentsim-"):
                shutil.rmtree(workdir, ignore_errors=True)
        self._outf.close()


def http_json(url, obj=None, method=None, timeout=10.0, raw=None, headers=None):
    """Send a request; return (status, parsed JSON body or None)."""
    data = raw if raw is not None else (None if obj is None else json.dumps(obj).encode())
    req = urllib.request.Request(url, data=data, method=method or ("POST" if data else "GET"))
    req.add_header("Content-Type", "application/json")
    for key, val in (headers or {}).items():
        req.add_header(key, val)
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            body = resp.read()
            return resp.status, json.loads(body) if body else None
    except urllib.error.HTTPError as e:
        body = e.read()
        try:
            return e.code, json.loads(body) if body else None
        except ValueError:
            return e.code, None


def pids_of_run(run_id):
    """Live pids whose environment carries AGENTSIM_RUN_ID=run_id (agents and children)."""
    needle = ("AGENTSIM_RUN_ID=%s" % run_id).encode()
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % name, "rb") as f:
                env = f.read().split(b"\0")
            with open("/proc/%s/stat" % name, "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in env and state != b"Z":
            out.append(int(name))
    return out


def environ_of(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        items = f.read().split(b"\0")
    out = {}
    for item in items:
        key, sep, val = item.partition(b"=")
        if sep:
            out[key.decode()] = val.decode(errors="replace")
    return out
