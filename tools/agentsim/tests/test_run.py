# SPDX-License-Identifier: MIT
"""Whole runs of `agentsim run`: timeline, counts, scaling, crashes, cleanup."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import common
from common import Run, fast_scenario, http_json, pids_of_run, wait_for

# Timeline events must happen within this many seconds of their planned time.
ON_TIME_S = 0.5


class _RunCase(unittest.TestCase):

    def setUp(self):
        self.runs = []

    def tearDown(self):
        for run in self.runs:
            run.close()
            shutil.rmtree(run.tmp, ignore_errors=True)

    def start(self, doc, *args):
        run = Run(doc, args)
        self.runs.append(run)
        return run

    def finish(self, run, timeout):
        code = run.wait(timeout)
        self.assertIsNotNone(code, "agentsim did not end within %g s:\n%s" % (
            timeout, run.output()))
        return code

    def wait_running(self, run, want, timeout=10.0):
        """Wait until the status shows `want` ({pool: n}) instances running."""
        def ok():
            st = run.status()
            if not st or "pools" not in st:
                return None
            got = {n: p["running"] for n, p in st["pools"].items()}
            return st if all(got.get(n) == v for n, v in want.items()) else None
        st = wait_for(ok, timeout, 0.1)
        self.assertTrue(st, "pools never reached %r; last status %r" % (want, run.status()))
        return st


class TimelineRunTest(_RunCase):

    def test_phases_and_faults_start_and_end_on_time(self):
        doc = fast_scenario(duration=3.5, phases=[
            {"name": "warm", "duration": 1.0},
            {"name": "spike", "duration": 1.5, "faults": [
                {"kind": "load", "pool": "*", "factor": 3, "start": 0.5, "duration": 0.5,
                 "name": "burst"}]},
            {"name": "cool", "duration": 1.0}])
        run = self.start(doc)
        t0 = time.monotonic()
        self.assertEqual(self.finish(run, 20), 0, run.output())
        self.assertLess(time.monotonic() - t0, 3.5 + 6)
        ev = run.events()
        got = [(e["event"], e.get("phase"), e["planned_t"]) for e in ev
               if e["event"] in ("phase_start", "phase_end", "fault_start", "fault_end")]
        self.assertEqual(got, [
            ("phase_start", "warm", 0.0), ("phase_end", "warm", 1.0),
            ("phase_start", "spike", 1.0), ("fault_start", "spike", 1.5),
            ("fault_end", "spike", 2.0), ("phase_end", "spike", 2.5),
            ("phase_start", "cool", 2.5), ("phase_end", "cool", 3.5)])
        for e in ev:
            if "planned_t" in e:
                self.assertGreaterEqual(e["t"], e["planned_t"] - 0.001, e)
                self.assertLess(e["t"] - e["planned_t"], ON_TIME_S, e)
        cool_end = [e for e in ev if e["event"] == "phase_end"][-1]
        self.assertFalse(cool_end["truncated"])
        fault = [e for e in ev if e["event"] == "fault_start"][0]
        self.assertEqual((fault["fault"], fault["kind"], fault["pools"], fault["params"]),
                         ("burst", "load", ["coder", "planner", "reviewer"], {"factor": 3}))
        self.assertEqual(ev[0]["event"], "run_start")
        self.assertEqual(ev[-1]["event"], "run_end")
        self.assertEqual(ev[-1]["reason"], "duration")

    def test_request_counts_are_exact(self):
        run = self.start(fast_scenario(duration=2.5))
        self.assertEqual(self.finish(run, 20), 0, run.output())
        ev = run.events()
        end = ev[-1]
        per = {}
        for e in ev:
            if e["event"] == "request":
                key = (e["pool"], e["upstream"])
                per[key] = per.get(key, 0) + 1
        server = end["server"]
        for pool, p in end["pools"].items():
            with self.subTest(pool=pool):
                llm = p["requests"]["llm"]["total"]
                self.assertGreater(llm, 0)
                self.assertEqual(llm, per.get((pool, "llm"), 0))
                self.assertEqual(p["requests"]["tool"]["total"], per.get((pool, "tool"), 0))
                # No faults: every request the agents made reached the server.
                self.assertEqual(llm, server["llm"][pool]["requests"])
                self.assertEqual(p["requests"]["tool"]["total"],
                                 server["tools"].get(pool, {}).get("requests", 0))
                self.assertEqual(p["prompt_tokens"], server["llm"][pool]["prompt_tokens"])
                self.assertEqual((p["desired"], p["instances"]),
                                 (doc_pools()[pool], doc_pools()[pool]))
                self.assertEqual(p["exits"]["error"] + p["exits"]["signal"], 0)
        samples = [e for e in ev if e["event"] == "pool_sample"]
        self.assertGreaterEqual(len(samples), 3)
        self.assertEqual(end["totals"]["llm_requests"],
                         sum(p["requests"]["llm"]["total"] for p in end["pools"].values()))

    def test_short_duration_truncates_the_timeline(self):
        doc = fast_scenario(duration=10, phases=[
            {"name": "a", "duration": 1.0},
            {"name": "b", "duration": 5.0, "faults": [{"kind": "errors", "pool": "coder",
                                                      "rate": 0.5, "kinds": {"500": 1}}]}])
        run = self.start(doc, "--duration", "2", "--no-request-log")
        self.assertEqual(self.finish(run, 20), 0, run.output())
        ev = run.events()
        b_end = [e for e in ev if e["event"] == "phase_end" and e["phase"] == "b"][0]
        f_end = [e for e in ev if e["event"] == "fault_end"][0]
        self.assertTrue(b_end["truncated"])
        self.assertTrue(f_end["truncated"])
        self.assertLess(abs(b_end["t"] - 2.0), ON_TIME_S)
        self.assertEqual([e for e in ev if e["event"] == "request"], [])
        coder = ev[-1]["pools"]["coder"]["requests"]["llm"]["by_status"]
        self.assertGreater(coder.get("500", 0), 0)


def doc_pools():
    return {n: p["instances"] for n, p in fast_scenario()["pools"].items()}


class AgentProcessTest(_RunCase):

    def test_agents_carry_the_marker_and_their_own_process_group(self):
        run = self.start(fast_scenario(duration=6))
        st = self.wait_running(run, doc_pools())
        for pool, pids in st["pools_pids"].items():
            for pid in pids:
                env = common.environ_of(pid)
                self.assertEqual(env.get("SWARMWATCH_AGENT"), pool)
                self.assertEqual(env.get("AGENTSIM_RUN_ID"), st["run_id"])
                self.assertEqual(os.getpgid(pid), pid)
                self.assertEqual(os.getsid(pid), pid)
        self.assertNotEqual(os.getpgid(run.proc.pid), os.getpgid(
            st["pools_pids"]["coder"][0]))
        http_json(run.control_url() + "/v1/stop", {}, method="POST")
        self.assertEqual(self.finish(run, 15), 0)
        self.assertEqual(run.events()[-1]["reason"], "stop-request")

    def test_crash_fault_restarts_instances(self):
        doc = fast_scenario(duration=4, phases=[
            {"name": "calm", "duration": 0.5},
            {"name": "crash", "duration": 2.0, "faults": [
                {"kind": "crash", "pool": "reviewer", "after_s": [0.3, 0.5], "exit_code": 7}]},
            {"name": "after", "duration": 1.5}])
        doc["pools"]["reviewer"]["restart_delay_s"] = 0.2
        run = self.start(doc)
        self.assertEqual(self.finish(run, 20), 0, run.output())
        ev = run.events()
        crashes = [e for e in ev if e["event"] == "instance_exit" and e["reason"] == "crash"]
        self.assertGreaterEqual(len(crashes), 2)
        for e in crashes:
            self.assertEqual((e["pool"], e["exit_code"], e["outcome"]), ("reviewer", 7, "error"))
            self.assertGreaterEqual(e["t"], 0.5 + 0.3 - 0.05)
            self.assertLess(e["t"], 2.5 + 0.3)
        restarts = [e for e in ev if e["event"] == "instance_start" and e["generation"] > 0]
        self.assertGreaterEqual(len(restarts), 2)
        end = ev[-1]["pools"]["reviewer"]
        self.assertEqual(end["crashes"], len(crashes))
        self.assertEqual(end["instances"], 1)

    def test_memory_hog_grows_and_frees_resident_memory(self):
        doc = fast_scenario(duration=4, phases=[
            {"name": "calm", "duration": 0.5},
            {"name": "hog", "duration": 2.0, "faults": [
                {"kind": "memory_hog", "pool": "coder", "instances": 1, "mb_per_s": 200,
                 "max_mb": 64}]},
            {"name": "after", "duration": 1.5}])
        run = self.start(doc)
        st = self.wait_running(run, doc_pools())
        pids = [st["instance_pids"]["coder-0"], st["instance_pids"]["coder-1"]]

        def rss_mb(pid):
            with open("/proc/%d/status" % pid, "r", encoding="ascii") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) // 1024
            return 0

        grown = wait_for(lambda: rss_mb(pids[0]) >= 64, 3.0)
        self.assertTrue(grown, "coder-0 never reached 64 MiB resident")
        self.assertLess(rss_mb(pids[1]), 64)
        self.assertEqual(self.finish(run, 20), 0, run.output())
        hog = [(e["instance"], e["mb"]) for e in run.events("memory_hog")]
        self.assertEqual(hog, [("coder-0", 64), ("coder-0", 0)])

    @unittest.skipUnless(shutil.which("openssl"), "openssl command not installed")
    def test_tls_run(self):
        run = self.start(fast_scenario(duration=2), "--tls")
        self.assertEqual(self.finish(run, 20), 0, run.output())
        ev = run.events()
        self.assertTrue(ev[0]["llm_url"].startswith("https://"))
        ok = sum(p["requests"]["llm"]["by_status"].get("200", 0)
                 for p in ev[-1]["pools"].values())
        self.assertGreater(ok, 0)
        self.assertEqual(sum(p["requests"]["llm"]["total"] for p in ev[-1]["pools"].values()),
                         ok)

    def test_same_seed_same_outcomes(self):
        doc = fast_scenario(duration=2, llm={"latency": {"dist": "fixed", "ms": 5},
                                            "per_token_ms": 0, "completion_tokens": [10, 90],
                                            "error_rate": 0.3, "error_kinds": {"500": 1}})
        doc["agent"]["max_retries"] = 0
        outcomes = []
        for _ in range(2):
            run = self.start(doc, "--seed", "42")
            self.assertEqual(self.finish(run, 20), 0, run.output())
            outcomes.append({e["id"]: (e["status"], e["completion_tokens"])
                             for e in run.events("request") if e["upstream"] == "llm"})
        common = set(outcomes[0]) & set(outcomes[1])
        self.assertGreater(len(common), 10)
        for rid in common:
            self.assertEqual(outcomes[0][rid], outcomes[1][rid], rid)


class StatsDTest(_RunCase):

    def test_agents_report_quality_queue_and_cost(self):
        """Agents send StatsD to the socket given; the cost they report is the run's cost."""
        import socket
        tmp = tempfile.mkdtemp(prefix="agentsim-statsd-")
        path = os.path.join(tmp, "statsd.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(0.1)
        try:
            run = self.start(fast_scenario(duration=2.5), "--statsd", "unix:" + path)
            datagrams = []
            end = time.monotonic() + 20
            while run.proc.poll() is None and time.monotonic() < end:
                try:
                    datagrams.append(sock.recv(65536).decode())
                except socket.timeout:
                    pass
            while True:
                try:
                    datagrams.append(sock.recv(65536).decode())
                except socket.timeout:
                    break
            self.assertEqual(self.finish(run, 5), 0, run.output())
        finally:
            sock.close()
            shutil.rmtree(tmp, ignore_errors=True)
        types = {"quality": "g", "queue_length": "g", "queue_wait": "ms", "cost_usd": "c"}
        cost = 0.0
        for d in datagrams:
            names = []
            for line in d.split("\n"):
                name, rest = line.split(":", 1)
                value, kind = rest.split("|")[:2]
                if name == "quality":
                    self.assertRegex(rest, r"\|#instance:[a-z]+-[0-9]+$")
                self.assertEqual(types.get(name), kind, line)
                names.append(name)
                v = float(value)
                if name == "quality":
                    self.assertTrue(0.5 <= v <= 1.0, line)  # no failed calls here
                elif name == "cost_usd":
                    cost += v
                else:
                    self.assertGreaterEqual(v, 0, line)
            self.assertEqual(names[:3], ["quality", "queue_length", "queue_wait"], d)
        end_ev = run.events("run_end")[0]
        llm = end_ev["totals"]["llm_requests"]
        # One datagram per answered call; an agent stopped between its call and its datagram
        # may miss one.
        self.assertLessEqual(len(datagrams), llm)
        self.assertGreaterEqual(len(datagrams), llm - sum(doc_pools().values()))
        self.assertGreater(end_ev["totals"]["cost_usd"], 0)
        self.assertAlmostEqual(cost, end_ev["totals"]["cost_usd"],
                               delta=1e-8 * (len(datagrams) + 1))

    def test_bad_target_is_a_usage_error(self):
        run = self.start(fast_scenario(duration=1), "--statsd", "tcp:1.2.3.4")
        self.assertEqual(self.finish(run, 10), 2, run.output())
        self.assertIn("unix:PATH", run.output())


class ScalingTest(_RunCase):

    def test_webhook_and_cli_change_instance_counts(self):
        run = self.start(fast_scenario(duration=20))
        url = run.control_url()
        self.wait_running(run, doc_pools())
        # One decision.
        code, body = http_json(url + "/v1/scale", {
            "pool": "coder", "desired_replicas": 4, "current_replicas": 2,
            "reason": "p95 latency high", "rule": "coder-latency"})
        self.assertEqual(code, 200, body)
        self.assertEqual(body["applied"], [{"pool": "coder", "previous": 2, "desired": 4,
                                            "requested": 4, "clamped": False}])
        self.wait_running(run, {"coder": 4})
        # A list of decisions, one of them to zero.
        code, body = http_json(url + "/v1/scale", [{"pool": "planner", "desired_replicas": 0},
                                                   {"pool": "reviewer", "desired_replicas": 2}])
        self.assertEqual(code, 200, body)
        self.wait_running(run, {"planner": 0, "reviewer": 2, "coder": 4})
        # The command line.
        res = subprocess.run([sys.executable, common.AGENTSIM, "scale", "coder", "1"],
                             env=run.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=20)
        self.assertEqual(res.returncode, 0, res.stdout)
        self.assertIn(b"coder: 4 -> 1", res.stdout)
        self.wait_running(run, {"coder": 1})
        # Above max_instances: clamped.
        code, body = http_json(url + "/v1/scale", {"pool": "coder", "replicas": 50})
        self.assertEqual(body["applied"][0]["desired"], 6)
        self.assertTrue(body["applied"][0]["clamped"])
        self.wait_running(run, {"coder": 6})
        # Refused requests change nothing.
        code, body = http_json(url + "/v1/scale", [{"pool": "coder", "desired_replicas": 2},
                                                   {"pool": "nosuch", "desired_replicas": 1}])
        self.assertEqual(code, 404)
        self.assertIn("unknown pool", body["error"])
        for bad in ({"pool": "coder"}, {"pool": "coder", "desired_replicas": -1},
                    {"pool": "coder", "desired_replicas": 1.5}, {"desired_replicas": 1}, []):
            code, body = http_json(url + "/v1/scale", bad)
            self.assertEqual(code, 400, bad)
        code, _ = http_json(url + "/v1/scale", raw=b"{not json", method="POST")
        self.assertEqual(code, 400)
        # A circuit breaker event: recorded, nothing applied.
        code, body = http_json(url + "/v1/scale", {
            "schema": "swarmwatch.breaker/v1", "pool": "coder", "instance": "coder-0",
            "pid": 1, "from": "closed", "to": "open", "reason": "5 consecutive failures",
            "idempotency_key": "breaker-coder-1-2-open"})
        self.assertEqual((code, body), (200, {"recorded": True}))
        st = run.status()
        self.assertEqual(st["pools"]["coder"]["desired"], 6)
        http_json(url + "/v1/stop", {}, method="POST")
        self.assertEqual(self.finish(run, 20), 0, run.output())
        ev = run.events()
        scales = [(e["pool"], e["previous"], e["desired"], e["via"]) for e in ev
                  if e["event"] == "scale"]
        self.assertEqual(scales, [("coder", 2, 4, "webhook"), ("planner", 1, 0, "webhook"),
                                  ("reviewer", 1, 2, "webhook"), ("coder", 4, 1, "webhook"),
                                  ("coder", 1, 6, "webhook")])
        first = [e for e in ev if e["event"] == "scale"][0]
        self.assertEqual((first["reason"], first["rule"], first["current_replicas"]),
                         ("p95 latency high", "coder-latency", 2))
        end = ev[-1]["pools"]
        self.assertEqual({n: (p["desired"], p["instances"]) for n, p in end.items()},
                         {"coder": (6, 6), "planner": (0, 0), "reviewer": (2, 2)})
        downs = [e for e in ev if e["event"] == "instance_exit" and e["reason"] == "scale_down"]
        self.assertEqual(len(downs), 1 + 3)
        brk = [(e["instance"], e["from"], e["to"]) for e in ev if e["event"] == "breaker"]
        self.assertEqual(brk, [("coder-0", "closed", "open")])

    def test_signed_webhooks(self):
        from agentsim_lib import control
        run = self.start(fast_scenario(duration=10), "--webhook-secret", "s3cret")
        url = run.control_url()
        self.wait_running(run, doc_pools())
        body = b'{"pool": "coder", "desired_replicas": 3}'
        code, _ = http_json(url + "/v1/scale", raw=body, method="POST")
        self.assertEqual(code, 401)
        code, _ = http_json(url + "/v1/scale", raw=body, method="POST",
                            headers={control.SIGNATURE_HEADER: control.sign("wrong", body)})
        self.assertEqual(code, 401)
        code, resp = http_json(url + "/v1/scale", raw=body, method="POST",
                               headers={control.SIGNATURE_HEADER: control.sign("s3cret", body)})
        self.assertEqual(code, 200, resp)
        self.wait_running(run, {"coder": 3})
        http_json(url + "/v1/stop", {}, method="POST")
        self.assertEqual(self.finish(run, 20), 0)


def _oom_host():
    """Why oom faults cannot run here, or None when they can."""
    from agentsim_lib import oomcg
    try:
        oomcg.detect()
    except oomcg.Unavailable as e:
        return str(e)
    return None


def _cgroup_base(run_start):
    """The agentsim-<pid> folder a run makes in the memory hierarchy."""
    from agentsim_lib import oomcg
    version, hierarchy = oomcg.detect()
    return os.path.join(hierarchy, "agentsim-%d" % run_start["pid"])


@unittest.skipIf(_oom_host(), "oom faults cannot run here: %s" % _oom_host())
class OomRunTest(_RunCase):
    """Real OOM kills: the kernel's OOM killer ends an agent in a memory-limited cgroup."""

    def _doc(self, fault, duration=3.5, fault_s=2.0):
        doc = fast_scenario(duration=duration, phases=[
            {"name": "calm", "duration": 0.5},
            {"name": "oom", "duration": fault_s, "faults": [fault]},
            {"name": "after", "duration": duration - 0.5 - fault_s}])
        doc["pools"]["coder"]["restart_delay_s"] = 0.2
        return doc

    def test_oom_fault_kills_one_instance_once(self):
        run = self.start(self._doc({"kind": "oom", "pool": "coder", "limit_mb": 32,
                                    "mb_per_s": 128, "name": "coder-oom"}))
        self.assertEqual(self.finish(run, 20), 0, run.output())
        ev = run.events()
        start = [e for e in ev if e["event"] == "fault_start"][0]
        end = [e for e in ev if e["event"] == "fault_end"][0]
        self.assertEqual((start["kind"], start["fault"], start["pools"], end["kind"]),
                         ("oom", "coder-oom", ["coder"], "oom"))
        armed = [e for e in ev if e["event"] == "oom_armed"]
        self.assertEqual([(e["instance"], e["generation"]) for e in armed], [("coder-0", 0)])
        exits = [e for e in ev if e["event"] == "instance_exit" and e["reason"] != "shutdown"]
        self.assertEqual(len(exits), 1, exits)
        kill = exits[0]
        self.assertEqual((kill["pool"], kill["instance"], kill["generation"], kill["reason"],
                          kill["outcome"], kill["signal"], kill["crash"], kill["fault"]),
                         ("coder", "coder-0", 0, "oom", "signal", "SIGKILL", "fault",
                          "coder-oom"))
        self.assertEqual(kill["pid"], armed[0]["pid"])
        self.assertGreater(kill["t"], start["t"])
        self.assertLess(kill["t"], end["t"])
        restart = [e for e in ev if e["event"] == "instance_start" and e["generation"] == 1]
        self.assertEqual([e["instance"] for e in restart], ["coder-0"])
        self.assertGreaterEqual(restart[0]["t"], kill["t"] + 0.2 - 0.01)
        self.assertLess(restart[0]["t"], end["t"])
        self.assertEqual([e for e in ev if e["event"] in ("oom_missed", "oom_error")], [])
        coder = ev[-1]["pools"]["coder"]
        self.assertEqual((coder["oom_kills"], coder["crashes"], coder["restarts"]), (1, 1, 1))
        self.assertEqual(coder["exits"]["signal"], 1)
        self.assertFalse(os.path.exists(kill["cgroup"]))
        self.assertFalse(os.path.exists(_cgroup_base(ev[0])))

    def test_oom_fault_end_gives_a_live_instance_back(self):
        # Too slow to reach its limit before the fault ends: the instance goes back
        # to its own cgroup, stops growing, and the oom cgroup is removed at once.
        run = self.start(self._doc({"kind": "oom", "pool": "coder", "limit_mb": 256,
                                    "mb_per_s": 2}, duration=4.0, fault_s=1.5))
        armed = wait_for(lambda: run.events("oom_armed"), 10)
        self.assertTrue(armed, run.output())
        pid, cg = armed[0]["pid"], armed[0]["cgroup"]
        hierarchy = os.path.dirname(_cgroup_base(run.run_start()))
        with open("/proc/%d/cgroup" % pid, "r", encoding="ascii") as f:
            self.assertIn(":" + cg[len(hierarchy):] + "\n", f.read())
        self.assertTrue(wait_for(lambda: run.events("fault_end"), 5))
        self.assertTrue(wait_for(lambda: not os.path.exists(cg), 2.0), "%s still there" % cg)
        with open("/proc/%d/cgroup" % pid, "r", encoding="ascii") as f:
            self.assertNotIn("agentsim-", f.read())
        self.assertEqual(self.finish(run, 20), 0, run.output())
        ev = run.events()
        exits = [e for e in ev if e["event"] == "instance_exit"]
        self.assertTrue(all(e["reason"] == "shutdown" for e in exits), exits)
        self.assertEqual(ev[-1]["pools"]["coder"]["oom_kills"], 0)
        self.assertFalse(os.path.exists(_cgroup_base(ev[0])))

    def test_sigterm_during_an_oom_fault_removes_its_cgroups(self):
        run = self.start(self._doc({"kind": "oom", "pool": "coder", "instances": 2,
                                    "limit_mb": 256, "mb_per_s": 2}, duration=10, fault_s=8))
        armed = wait_for(lambda: len(run.events("oom_armed")) == 2, 10)
        self.assertTrue(armed, run.output())
        base = _cgroup_base(run.run_start())
        self.assertTrue(os.path.isdir(base))
        run.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.finish(run, 20), 0, run.output())
        self.assertFalse(os.path.exists(base))
        self.assertEqual(run.events()[-1]["reason"], "signal:SIGTERM")


class CleanupTest(_RunCase):
    """Nothing a run started may survive it, however it ends."""

    def _busy(self):
        doc = fast_scenario(duration=30)
        doc["agent"]["tool_calls"] = [2, 4]
        doc["agent"]["tool_mix"] = {"subprocess": 3, "file": 1, "http": 1}
        doc["llm"]["latency"] = {"dist": "fixed", "ms": 300}
        return doc

    def _check_signal(self, signum):
        run = self.start(self._busy())
        st = self.wait_running(run, doc_pools())
        rid = st["run_id"]
        self.assertTrue(pids_of_run(rid))
        time.sleep(0.5)
        run.proc.send_signal(signum)
        self.assertEqual(self.finish(run, 15), 0, run.output())
        left = wait_for(lambda: not pids_of_run(rid), 2.0)
        self.assertTrue(left, "processes left: %r" % pids_of_run(rid))
        ev = run.events()
        self.assertEqual(ev[-1]["reason"], "signal:%s" % signal.Signals(signum).name)
        steady_end = [e for e in ev if e["event"] == "phase_end"][0]
        self.assertTrue(steady_end["truncated"])
        exits = [e for e in ev if e["event"] == "instance_exit"]
        self.assertEqual(len(exits), sum(doc_pools().values()))
        self.assertTrue(all(e["reason"] == "shutdown" for e in exits))
        # Agents finish their step and exit cleanly on SIGTERM.
        self.assertEqual([e for e in exits if e["outcome"] != "ok"], [])
        self.assertFalse(os.path.exists(os.path.join(run.tmp, "state", "current.json")))

    def test_sigterm_leaves_no_process(self):
        self._check_signal(signal.SIGTERM)

    def test_sigint_leaves_no_process(self):
        self._check_signal(signal.SIGINT)

    def test_agents_exit_when_agentsim_is_killed(self):
        run = self.start(self._busy())
        st = self.wait_running(run, doc_pools())
        rid = st["run_id"]
        run.proc.send_signal(signal.SIGKILL)
        run.proc.wait(10)
        left = wait_for(lambda: not pids_of_run(rid), 8.0, 0.1)
        self.assertTrue(left, "processes left: %r" % pids_of_run(rid))


if __name__ == "__main__":
    unittest.main()
