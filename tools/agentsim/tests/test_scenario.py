# SPDX-License-Identifier: MIT
"""Scenario files, the timeline and the seeded draws (pure, no processes)."""

import os
import statistics
import tempfile
import unittest

import common  # noqa: F401  (puts agentsim_lib on sys.path)
from agentsim_lib import llmserver, oomcg, sampling, scenario as scn


def _doc(**over):
    doc = common.fast_scenario()
    doc.update(over)
    return doc


class SamplingTest(unittest.TestCase):

    def test_seeded_draws_repeat(self):
        a = [sampling.rng_for(7, "x", 1).random() for _ in range(3)]
        b = [sampling.rng_for(7, "x", 1).random() for _ in range(3)]
        c = sampling.rng_for(8, "x", 1).random()
        self.assertEqual(a, b)
        self.assertNotEqual(a[0], c)

    def test_fixed_and_uniform_latency(self):
        rng = sampling.rng_for(1)
        self.assertAlmostEqual(sampling.draw_latency(rng, {"dist": "fixed", "ms": 250}), 0.25)
        self.assertAlmostEqual(sampling.draw_latency(rng, 40), 0.04)
        vals = [sampling.draw_latency(rng, {"dist": "uniform", "min_ms": 10, "max_ms": 20})
                for _ in range(2000)]
        self.assertGreaterEqual(min(vals), 0.010)
        self.assertLessEqual(max(vals), 0.020)
        self.assertAlmostEqual(statistics.mean(vals), 0.015, delta=0.0005)

    def test_lognormal_median_and_p99(self):
        rng = sampling.rng_for(2)
        spec = {"dist": "lognormal", "median_ms": 200, "p99_ms": 1000}
        vals = sorted(sampling.draw_latency(rng, spec) for _ in range(20000))
        median = vals[len(vals) // 2]
        p99 = vals[int(len(vals) * 0.99)]
        self.assertAlmostEqual(median, 0.200, delta=0.200 * 0.05)
        self.assertAlmostEqual(p99, 1.000, delta=1.000 * 0.12)

    def test_exponential_and_normal_means(self):
        rng = sampling.rng_for(3)
        exp = [sampling.draw_latency(rng, {"dist": "exponential", "mean_ms": 100})
               for _ in range(20000)]
        self.assertAlmostEqual(statistics.mean(exp), 0.100, delta=0.005)
        norm = [sampling.draw_latency(rng, {"dist": "normal", "mean_ms": 300, "stddev_ms": 30})
                for _ in range(20000)]
        self.assertAlmostEqual(statistics.mean(norm), 0.300, delta=0.003)

    def test_latency_is_clamped(self):
        rng = sampling.rng_for(4)
        self.assertEqual(sampling.draw_latency(rng, {"dist": "fixed", "ms": 10 ** 9}),
                         sampling.MAX_LATENCY_S)
        vals = [sampling.draw_latency(rng, {"dist": "normal", "mean_ms": 0, "stddev_ms": 50})
                for _ in range(200)]
        self.assertGreaterEqual(min(vals), 0.0)

    def test_weighted_choice_proportions(self):
        rng = sampling.rng_for(5)
        counts = {"a": 0, "b": 0, "c": 0}
        for _ in range(30000):
            counts[sampling.weighted_choice(rng, {"a": 1, "b": 2, "c": 0, })] += 1
        self.assertEqual(counts["c"], 0)
        self.assertAlmostEqual(counts["b"] / 30000, 2 / 3, delta=0.015)
        self.assertIsNone(sampling.weighted_choice(rng, {"a": 0}))

    def test_check_latency_rejects_bad_specs(self):
        self.assertIsNone(sampling.check_latency({"dist": "lognormal", "median_ms": 5}, "x"))
        self.assertIn("unknown dist", sampling.check_latency({"dist": "pareto"}, "x"))
        self.assertIn("needs", sampling.check_latency({"dist": "uniform", "min_ms": 1}, "x"))
        self.assertIn(">= 0", sampling.check_latency({"dist": "fixed", "ms": -1}, "x"))
        self.assertIn("p99_ms", sampling.check_latency(
            {"dist": "lognormal", "median_ms": 50, "p99_ms": 10}, "x"))


class ShippedScenariosTest(unittest.TestCase):

    def test_five_or_more_valid_scenarios(self):
        found = scn.list_scenarios()
        self.assertGreaterEqual(len(found), 5)
        kinds = set()
        for name, path in found:
            with self.subTest(scenario=name):
                sc = scn.load(name)
                self.assertEqual(sc.name, name)
                self.assertTrue(sc.description)
                events = sc.timeline(sc.duration)
                self.assertTrue(events)
                self.assertTrue(all(0 <= e.t <= sc.duration for e in events))
                for phase in sc.phases:
                    kinds.update(f.kind for f in phase.faults)
        # load spike, slow ramp, degradation, cost surge, crash loop, memory hog
        self.assertTrue({"load", "latency", "errors", "tokens", "crash", "memory_hog"} <= kinds)

    def test_normal_has_the_three_pools(self):
        sc = scn.load("normal")
        self.assertEqual(sorted(sc.pools), ["coder", "planner", "reviewer"])

    def test_faults_b_ends_with_an_oom_kill_in_coder_0(self):
        sc = scn.load("faults-b")
        self.assertEqual([(p.name, p.duration) for p in sc.phases], [
            ("baseline", 60), ("error-burst", 30), ("recovery-1", 30),
            ("rate-limit-storm", 30), ("recovery-2", 30), ("slow-upstream", 30),
            ("recovery-3", 30), ("cpu-hog", 30), ("cool-down", 40), ("oom-kill", 20),
            ("recovery-4", 30)])
        oom = [f for p in sc.phases for f in p.faults if f.kind == "oom"]
        self.assertEqual(len(oom), 1)
        self.assertEqual((oom[0].name, oom[0].pools, oom[0].oom_spec()),
                         ("coder-oom-kill", ["coder"],
                          {"instances": 1, "limit_mb": 64.0, "mb_per_s": 64.0}))
        self.assertTrue(sc.has_oom(sc.duration))
        self.assertFalse(sc.has_oom(300))

    def test_extends_inherits_pools_not_phases(self):
        sc = scn.load("load-spike")
        self.assertEqual(sorted(sc.pools), ["coder", "planner", "reviewer"])
        self.assertEqual([p.name for p in sc.phases], ["baseline", "spike", "recovery"])
        self.assertEqual(sc.duration, 90)


class ValidationTest(unittest.TestCase):

    def assertInvalid(self, doc, text):
        with self.assertRaises(scn.ScenarioError) as cm:
            scn.Scenario(doc, "t.json")
        self.assertIn(text, str(cm.exception))

    def test_unknown_key_suggests(self):
        self.assertInvalid(_doc(durration=3), "did you mean 'duration'")

    def test_unknown_fault_kind_suggests(self):
        self.assertInvalid(_doc(phases=[{"name": "p", "duration": 2,
                                         "faults": [{"kind": "lod", "factor": 2}]}]),
                           "did you mean 'load'")

    def test_fault_on_unknown_pool(self):
        self.assertInvalid(_doc(phases=[{"name": "p", "duration": 2, "faults": [
            {"kind": "load", "pool": "codr", "factor": 2}]}]), "unknown pool 'codr'")

    def test_fault_start_outside_phase(self):
        self.assertInvalid(_doc(phases=[{"name": "p", "duration": 2, "faults": [
            {"kind": "load", "factor": 2, "start": 2}]}]), "not inside the phase")

    def test_bad_ramp(self):
        self.assertInvalid(_doc(phases=[{"name": "p", "duration": 2, "faults": [
            {"kind": "load", "factor": {"from": 1}}]}]), "needs both")

    def test_instances_above_max(self):
        doc = _doc()
        doc["pools"]["coder"] = {"instances": 9, "max_instances": 6}
        self.assertInvalid(doc, "above max_instances")

    def test_error_rate_range_and_kinds(self):
        self.assertInvalid(_doc(llm={"error_rate": 1.5}), "must be <= 1")
        self.assertInvalid(_doc(llm={"error_kinds": {"502": 1}}), "unknown kind '502'")

    def test_duplicate_phase_and_missing_duration(self):
        self.assertInvalid(_doc(phases=[{"name": "p", "duration": 1},
                                        {"name": "p", "duration": 1}]), "used twice")
        self.assertInvalid(_doc(phases=[{"name": "p"}]), "duration is required")

    def test_no_pools(self):
        self.assertInvalid(_doc(pools={}), "non-empty object of pools")

    def test_bad_json_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write("{not json")
        try:
            with self.assertRaises(scn.ScenarioError) as cm:
                scn.load(f.name)
            self.assertIn("not valid JSON", str(cm.exception))
        finally:
            os.unlink(f.name)

    def _oom(self, **fields):
        fault = {"kind": "oom", "pool": "coder"}
        fault.update(fields)
        return _doc(phases=[{"name": "p", "duration": 2, "faults": [fault]}])

    def test_oom_fault_fields(self):
        sc = scn.Scenario(self._oom(), "t.json")
        self.assertEqual(sc.phases[0].faults[0].oom_spec(),
                         {"instances": 1, "limit_mb": 64.0, "mb_per_s": 64.0})
        sc = scn.Scenario(self._oom(instances=2, limit_mb=16, mb_per_s=0.5), "t.json")
        self.assertEqual(sc.phases[0].faults[0].oom_spec(),
                         {"instances": 2, "limit_mb": 16.0, "mb_per_s": 0.5})
        self.assertInvalid(self._oom(limit_mb=8), "faults[0].limit_mb: must be >= 16")
        self.assertInvalid(self._oom(limit_mb="64"), "limit_mb: expected a number")
        self.assertInvalid(self._oom(mb_per_s=0), "faults[0].mb_per_s: must be > 0")
        self.assertInvalid(self._oom(mb_per_s=-4), "mb_per_s: must be > 0")
        self.assertInvalid(self._oom(mb_per_s=True), "mb_per_s: expected a number")
        self.assertInvalid(self._oom(instances=0), "instances: must be >= 1")
        self.assertInvalid(self._oom(instances=1.5), "instances: expected an integer")
        self.assertInvalid(self._oom(max_mb=64), "unknown key 'max_mb'")
        self.assertInvalid(self._oom(pool="codr"), "unknown pool 'codr'")

    def test_oom_fault_changes_no_setting(self):
        sc = scn.Scenario(self._oom(), "t.json")
        fault = sc.phases[0].faults[0]
        self.assertEqual(scn.effective(sc, [(fault, 0.0, 2.0)], 1.0), scn.effective(sc, [], 1.0))
        self.assertTrue(sc.has_oom(2))
        sc = scn.Scenario(_doc(phases=[{"name": "a", "duration": 2},
                                       {"name": "b", "duration": 2, "faults": [
                                           {"kind": "oom", "pool": "coder"}]}]), "t.json")
        self.assertFalse(sc.has_oom(2))
        self.assertTrue(sc.has_oom(2.5))

    def test_unknown_scenario_name(self):
        with self.assertRaises(scn.ScenarioError) as cm:
            scn.load("normall")
        self.assertIn("did you mean 'normal'", str(cm.exception))


class OomHostTest(unittest.TestCase):
    """What an oom fault needs from the host, checked on fake cgroup trees (no privileges)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="agentsim-cg-")

    def tearDown(self):
        import shutil
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _file(self, rel, text):
        path = os.path.join(self.tmp, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="ascii") as f:
            f.write(text)

    def assertUnavailable(self, text, euid=0):
        with self.assertRaises(oomcg.Unavailable) as cm:
            oomcg.detect(self.tmp, euid=euid)
        msg = str(cm.exception)
        self.assertIn(text, msg)
        self.assertNotIn("\n", msg)

    def test_needs_root(self):
        self._file("cgroup.controllers", "cpu memory pids\n")
        self.assertUnavailable("need root", euid=1000)

    def test_needs_a_cgroup_hierarchy(self):
        self.assertUnavailable("need cgroup v2 with the memory controller at %s" % self.tmp)

    def test_needs_the_memory_controller(self):
        self._file("cgroup.controllers", "cpu io pids\n")
        self.assertUnavailable("memory controller: %s/cgroup.controllers lists cpu io pids"
                               % self.tmp)

    def test_v2_then_v1(self):
        self._file("memory/memory.limit_in_bytes", "9223372036854771712\n")
        self.assertEqual(oomcg.detect(self.tmp, euid=0), ("v1", os.path.join(self.tmp, "memory")))
        self._file("cgroup.controllers", "cpu memory pids\n")
        self.assertEqual(oomcg.detect(self.tmp, euid=0), ("v2", self.tmp))

    def test_cgroup_of_a_pid(self):
        self._file("42/cgroup", "4:memory:/sys/box\n1:cpu,cpuacct:/\n0::/user.slice/a\n")
        self.assertEqual(oomcg.cgroup_of(42, "v2", proc=self.tmp), "/user.slice/a")
        self.assertEqual(oomcg.cgroup_of(42, "v1", proc=self.tmp), "/sys/box")
        self._file("43/cgroup", "1:cpu:/\n")
        with self.assertRaises(OSError):
            oomcg.cgroup_of(43, "v2", proc=self.tmp)


class TimelineTest(unittest.TestCase):

    def _sc(self, **over):
        return scn.Scenario(_doc(**over), "t.json")

    def test_sequential_phases_and_fault_offsets(self):
        sc = self._sc(phases=[
            {"name": "a", "duration": 1.0},
            {"name": "b", "duration": 2.0, "faults": [
                {"kind": "load", "factor": 2, "start": 0.5, "duration": 1.0, "name": "f"}]},
            {"name": "c", "duration": 1.5}])
        ev = [(e.kind, e.phase.name, round(e.t, 6)) for e in sc.timeline(4.5)]
        self.assertEqual(ev, [
            ("phase_start", "a", 0.0), ("phase_end", "a", 1.0), ("phase_start", "b", 1.0),
            ("fault_start", "b", 1.5), ("fault_end", "b", 2.5), ("phase_end", "b", 3.0),
            ("phase_start", "c", 3.0), ("phase_end", "c", 4.5)])

    def test_short_run_truncates(self):
        sc = self._sc(phases=[{"name": "a", "duration": 1.0},
                              {"name": "b", "duration": 2.0,
                               "faults": [{"kind": "errors", "rate": 0.5}]},
                              {"name": "c", "duration": 1.0}])
        events = sc.timeline(2.0)
        self.assertNotIn("c", [e.phase.name for e in events])
        last = [e for e in events if e.kind == "phase_end"][-1]
        self.assertEqual((last.phase.name, last.t, last.truncated), ("b", 2.0, True))
        fend = [e for e in events if e.kind == "fault_end"][0]
        self.assertEqual((fend.t, fend.truncated, fend.planned_end), (2.0, True, 3.0))

    def test_loop_repeats_phases(self):
        sc = self._sc(loop=True, phases=[{"name": "a", "duration": 1.0},
                                         {"name": "b", "duration": 1.0}])
        starts = [(e.phase.name, e.iteration, e.t) for e in sc.timeline(3.5)
                  if e.kind == "phase_start"]
        self.assertEqual(starts, [("a", 0, 0.0), ("b", 0, 1.0), ("a", 1, 2.0), ("b", 1, 3.0)])

    def test_no_loop_stops_after_last_phase(self):
        sc = self._sc(phases=[{"name": "a", "duration": 1.0}])
        self.assertEqual(len(sc.timeline(10.0)), 2)

    def test_duration_defaults_to_phases(self):
        doc = _doc(phases=[{"name": "a", "duration": 1.5}, {"name": "b", "duration": 2}])
        del doc["duration"]
        self.assertEqual(scn.Scenario(doc, "t.json").duration, 3.5)


class EffectiveSettingsTest(unittest.TestCase):

    def setUp(self):
        self.sc = scn.Scenario(_doc(phases=[{"name": "p", "duration": 10, "faults": [
            {"kind": "load", "pool": "*", "factor": {"from": 1, "to": 5}},
            {"kind": "latency", "pool": "coder", "factor": 3, "add_ms": 100},
            {"kind": "errors", "pool": "coder", "rate": 0.4, "kinds": {"503": 1}},
            {"kind": "tokens", "pool": "planner", "factor": 6},
            {"kind": "crash", "pool": "reviewer", "after_s": [1, 2]},
            {"kind": "memory_hog", "pool": "coder", "instances": 1, "max_mb": 64},
            {"kind": "cpu_hog", "pool": "planner", "share": 0.6}]}]), "t.json")
        self.active = [(f, 0.0, 10.0) for f in self.sc.phases[0].faults]

    def test_ramp_interpolates(self):
        for t, want in ((0.0, 1.0), (5.0, 3.0), (10.0, 5.0), (20.0, 5.0)):
            eff = scn.effective(self.sc, self.active, t)
            self.assertAlmostEqual(eff["reviewer"]["agent"]["load"], want)

    def test_faults_hit_only_their_pools(self):
        eff = scn.effective(self.sc, self.active, 0.0)
        self.assertEqual(eff["coder"]["llm"]["latency_factor"], 3.0)
        self.assertEqual(eff["coder"]["llm"]["latency_add_ms"], 100.0)
        self.assertEqual(eff["coder"]["llm"]["error_rate"], 0.4)
        self.assertEqual(eff["coder"]["llm"]["error_kinds"], {"503": 1})
        self.assertEqual(eff["planner"]["llm"]["latency_factor"], 1.0)
        self.assertEqual(eff["planner"]["llm"]["error_rate"], 0.0)
        self.assertEqual(eff["planner"]["agent"]["tokens"], 6.0)
        self.assertEqual(eff["planner"]["llm"]["token_factor"], 6.0)
        self.assertIsNotNone(eff["reviewer"]["agent"]["crash"])
        self.assertIsNone(eff["coder"]["agent"]["crash"])

    def test_memory_hog_only_on_first_instances(self):
        eff = scn.effective(self.sc, self.active, 0.0)
        self.assertIsNotNone(scn.agent_config(eff["coder"], 0)["memory_hog"])
        self.assertIsNone(scn.agent_config(eff["coder"], 1)["memory_hog"])
        self.assertIsNotNone(scn.agent_config(eff["reviewer"], 3)["crash"])

    def test_errors_on_first_instances(self):
        doc = _doc(pools={"coder": {"instances": 3, "llm": {"error_rate": 0.01}}},
                   phases=[{"name": "p", "duration": 10, "faults": [
                       {"kind": "errors", "pool": "coder", "rate": 1.0, "instances": 1}]}])
        sc = scn.Scenario(doc, "t.json")
        fault = sc.phases[0].faults[0]
        eff = scn.effective(sc, [(fault, 0.0, 10.0)], 1.0)
        self.assertEqual(eff["coder"]["llm"]["error_rate"], 1.0)
        self.assertEqual(eff["coder"]["llm"]["error_rate_base"], 0.01)
        self.assertEqual(eff["coder"]["llm"]["error_instances"], 1)
        doc["phases"][0]["faults"][0]["instances"] = 0
        with self.assertRaises(scn.ScenarioError):
            scn.Scenario(doc, "t.json")

    def test_cpu_hog_only_on_its_pool_and_first_instance(self):
        eff = scn.effective(self.sc, self.active, 0.0)
        hog = scn.agent_config(eff["planner"], 0)["cpu_hog"]
        self.assertEqual(hog["share"], 0.6)
        self.assertIsNone(scn.agent_config(eff["planner"], 1)["cpu_hog"])
        self.assertIsNone(scn.agent_config(eff["coder"], 0)["cpu_hog"])

    def test_no_faults_is_the_base(self):
        eff = scn.effective(self.sc, [], 0.0)
        for name in self.sc.pools:
            self.assertEqual(eff[name]["agent"]["load"], 1.0)
            self.assertIsNone(eff[name]["agent"]["crash"])
            self.assertEqual(eff[name]["llm"]["error_rate"], 0.0)

    def test_pool_overrides_replace_weights(self):
        doc = _doc()
        doc["agent"] = {"tool_mix": {"file": 1, "subprocess": 1, "http": 1}}
        doc["pools"]["coder"]["behaviour"] = {"tool_mix": {"http": 1}}
        sc = scn.Scenario(doc, "t.json")
        self.assertEqual(sc.pools["coder"]["behaviour"]["tool_mix"], {"http": 1})
        self.assertEqual(sc.pools["planner"]["behaviour"]["tool_mix"],
                         {"file": 1, "subprocess": 1, "http": 1})


class CallPlanTest(unittest.TestCase):
    """The mock server's per-call decisions, checked over many calls."""

    def profile(self, **over):
        prof = dict(scn.DEFAULT_LLM)
        prof.update(over)
        return prof

    def test_error_rate_and_kinds(self):
        prof = self.profile(error_rate=0.2, error_kinds={"429": 1, "500": 1, "timeout": 2})
        outcomes = [llmserver.plan_call(prof, 9, "r%d" % i, None)["outcome"] for i in range(20000)]
        errors = [o for o in outcomes if o != "ok"]
        self.assertAlmostEqual(len(errors) / 20000, 0.2, delta=0.01)
        self.assertAlmostEqual(errors.count("timeout") / len(errors), 0.5, delta=0.03)
        self.assertEqual(set(errors), {"429", "500", "timeout"})

    def test_same_seed_same_plan(self):
        prof = self.profile(error_rate=0.3)
        a = [llmserver.plan_call(prof, 5, "id%d" % i, 300) for i in range(50)]
        b = [llmserver.plan_call(prof, 5, "id%d" % i, 300) for i in range(50)]
        c = [llmserver.plan_call(prof, 6, "id%d" % i, 300) for i in range(50)]
        strip = [(p["outcome"], p["latency_s"], p["completion_tokens"]) for p in a]
        self.assertEqual(strip, [(p["outcome"], p["latency_s"], p["completion_tokens"])
                                 for p in b])
        self.assertNotEqual(strip, [(p["outcome"], p["latency_s"], p["completion_tokens"])
                                    for p in c])

    def test_tokens_scale_and_cap(self):
        prof = self.profile(completion_tokens=[100, 200], token_factor=3.0)
        toks = [llmserver.plan_call(prof, 1, "t%d" % i, None)["completion_tokens"]
                for i in range(500)]
        self.assertGreaterEqual(min(toks), 300)
        self.assertLessEqual(max(toks), 600)
        capped = llmserver.plan_call(prof, 1, "t0", 25)
        self.assertEqual((capped["completion_tokens"], capped["finish_reason"]), (25, "length"))

    def test_latency_factor_and_per_token(self):
        prof = self.profile(latency={"dist": "fixed", "ms": 100}, per_token_ms=2.0,
                            completion_tokens=50, latency_factor=2.0, latency_add_ms=30)
        plan = llmserver.plan_call(prof, 1, "x", None)
        self.assertAlmostEqual(plan["ttft_s"], 0.230)
        self.assertAlmostEqual(plan["latency_s"], 0.230 + 50 * 0.002 * 2)

    def test_price(self):
        prof = self.profile(pricing={"*": {"prompt_per_1k": 1.0, "completion_per_1k": 2.0},
                                     "m": {"prompt_per_1k": 0.5, "completion_per_1k": 0.0}})
        self.assertAlmostEqual(llmserver.price(prof, "other", 1000, 500), 2.0)
        self.assertAlmostEqual(llmserver.price(prof, "m", 2000, 500), 1.0)


if __name__ == "__main__":
    unittest.main()
