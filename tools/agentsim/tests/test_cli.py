# SPDX-License-Identifier: MIT
"""The command line: list, check, help, errors that must be clear."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import common


def agentsim(*args, env=None, timeout=30):
    e = dict(os.environ)
    e.pop("SWARMWATCH_AGENT", None)
    e.update(env or {})
    return subprocess.run([sys.executable, common.AGENTSIM] + list(args), env=e,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, text=True)


def _unprivileged_python():
    """(uid of nobody, a Python 3.11+ it can run), or (None, None)."""
    try:
        import pwd
        uid = pwd.getpwnam("nobody").pw_uid
    except (ImportError, KeyError):
        return None, None
    for exe in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        try:
            res = subprocess.run([exe, "-c", "import sys; sys.exit(sys.version_info < (3, 11))"],
                                 user=uid, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, timeout=10)
        except (OSError, subprocess.SubprocessError):
            continue
        if res.returncode == 0:
            return uid, exe
    return None, None


class CommandLineTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="agentsim-cli-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_help_and_version(self):
        res = agentsim("--help")
        self.assertEqual(res.returncode, 0)
        for word in ("run", "list", "scale", "status"):
            self.assertIn(word, res.stdout)
        self.assertEqual(agentsim("run", "--help").returncode, 0)
        self.assertIn("agentsim", agentsim("--version").stdout)

    def test_list_shows_shipped_scenarios(self):
        res = agentsim("list")
        self.assertEqual(res.returncode, 0, res.stderr)
        names = [line.split()[0] for line in res.stdout.splitlines()]
        for name in ("normal", "load-spike", "degradation", "slow-ramp", "failures"):
            self.assertIn(name, names)

    def test_check_reports_the_first_problem(self):
        bad = os.path.join(self.tmp, "bad.json")
        with open(bad, "w", encoding="utf-8") as f:
            json.dump({"pools": {"a": {"instances": 1}},
                       "phases": [{"name": "p", "duration": 1,
                                   "faults": [{"kind": "load", "pool": "b", "factor": 2}]}]}, f)
        res = agentsim("check", "normal", bad)
        self.assertEqual(res.returncode, 1)
        self.assertIn("normal: ok", res.stdout)
        self.assertIn("bad.json: phases[0].faults[0].pool: unknown pool 'b'", res.stdout)

    def test_unknown_scenario_is_a_one_line_error(self):
        res = agentsim("run", "--scenario", "nosuch", "--control-port", "0")
        self.assertEqual(res.returncode, 2)
        self.assertEqual(len(res.stderr.strip().splitlines()), 1)
        self.assertIn("unknown scenario 'nosuch'", res.stderr)

    def test_instances_for_unknown_pool(self):
        res = agentsim("run", "--scenario", "normal", "--instances", "writer=2",
                       "--control-port", "0")
        self.assertEqual(res.returncode, 2)
        self.assertIn("unknown pool 'writer'", res.stderr)

    def test_tls_without_openssl_is_a_clear_error(self):
        empty = os.path.join(self.tmp, "bin")
        os.mkdir(empty)
        res = agentsim("run", "--scenario", "normal", "--duration", "1", "--tls",
                       "--control-port", "0", "-q",
                       env={"PATH": empty, "AGENTSIM_STATE_DIR": self.tmp})
        self.assertEqual(res.returncode, 1)
        self.assertIn("--tls needs the openssl command", res.stderr)

    def test_oom_fault_without_root_is_a_one_line_error(self):
        """Not root: the run is refused before anything starts, naming what is missing."""
        doc = common.fast_scenario(phases=[{"name": "p", "duration": 2, "faults": [
            {"kind": "oom", "pool": "coder"}]}])
        path = os.path.join(self.tmp, "oom.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f)
        os.chmod(self.tmp, 0o755)
        os.chmod(path, 0o644)
        env = dict(os.environ, AGENTSIM_STATE_DIR=os.path.join(self.tmp, "state"))
        env.pop("SWARMWATCH_AGENT", None)
        user, python = None, sys.executable
        if os.geteuid() == 0:
            user, python = _unprivileged_python()
            if user is None:
                self.skipTest("running as root, and no Python 3.11 that user nobody may run")
        res = subprocess.run([python, common.AGENTSIM, "run", "--scenario", path,
                              "--control-port", "0", "--log", os.path.join(self.tmp, "t.jsonl")],
                             env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=30, text=True, user=user)
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertEqual(len(res.stderr.strip().splitlines()), 1, res.stderr)
        self.assertIn("oom faults need root", res.stderr)
        self.assertEqual(res.stdout, "")
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "t.jsonl")))

    def test_scale_without_a_run(self):
        res = agentsim("scale", "coder", "2", "--control", "http://127.0.0.1:9")
        self.assertEqual(res.returncode, 1)
        self.assertIn("no agentsim answers at http://127.0.0.1:9", res.stderr)

    def test_agent_command_is_not_for_people(self):
        res = agentsim("agent", "--pool", "x")
        self.assertEqual(res.returncode, 2)
        self.assertIn("started by `agentsim run`", res.stderr)


if __name__ == "__main__":
    unittest.main()
