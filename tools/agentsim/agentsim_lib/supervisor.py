# SPDX-License-Identifier: MIT
"""A run: pools of agent processes driven through a scenario's timeline.

The Supervisor owns everything a run starts: the mock LLM and tool servers,
the control endpoint, one process per agent instance (each in its own process
group), a temporary folder (certificate, agent workspaces) and the ground-truth
log.  One thread runs the event loop below; the HTTP servers run in their own
threads and reach the loop only through apply_scale() / request_stop() /
status(), which take the lock and wake the loop through a pipe.

Event loop, until the run's duration is over or a stop is asked for:
  - fire the timeline events that are due (phases and faults start and end)
  - recompute the settings in force; push them to the mock LLM server and to
    the agents whose settings changed (ramps change them every push period)
  - reconcile pools: start missing instances, stop surplus ones, restart
    crashed ones after their pool's restart delay, SIGKILL stuck ones
  - arm the instances an active oom fault hits (once per slot and fault): a
    memory-limited cgroup, then an "oom" entry in their config; remove the
    cgroups that have emptied
  - read what agents report on their stdout (requests, tool calls, crashes)
  - write a pool sample to the log every sample interval
Then stop every instance (SIGTERM to its group, SIGKILL after a grace
period), write run_end with the per-pool totals, and remove what it made
(temporary folder, state file, oom cgroups).
"""

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

from . import control, groundtruth, llmserver, oomcg, scenario as scn, tlscert, toolserver

AGENT_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "agentsim")

# How often agents get fresh settings while a ramp is active.
PUSH_INTERVAL_S = 0.5
# Most instances started per loop iteration (keeps the loop responsive).
MAX_STARTS_PER_ITERATION = 64
# How long the agents have to exit after SIGTERM, above their LLM timeout.
STOP_GRACE_EXTRA_S = 2.0
MAX_STOP_GRACE_S = 15.0
# Largest memory a memory_hog agent may take, whatever the scenario says.
DEFAULT_HOG_CAP_MB = 1024
# An oom agent gives up growing at 2 x its cgroup's limit + this (the limit is not working).
OOM_STOP_EXTRA_MB = 64
# How often cgroups that were not empty yet are tried again.
CGROUP_SWEEP_S = 0.5


def _mem_available_mb():
    try:
        with open("/proc/meminfo", "r", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def status_key(status):
    return str(status)


class Options:
    """Run options (the command line's `run` arguments)."""

    def __init__(self, **kw):
        self.duration = None
        self.seed = None
        self.log = None
        self.tls = False
        self.control_port = control.DEFAULT_PORT
        self.llm_port = 0
        self.tool_port = 0
        self.instances = {}
        self.total_instances = None
        self.quiet = False
        self.request_log = True
        self.sample_interval = 1.0
        self.webhook_secret = None
        self.hog_cap_mb = DEFAULT_HOG_CAP_MB
        self.statsd = None  # "unix:PATH" or "udp:HOST:PORT": where agents report app metrics
        self.out = sys.stdout
        for key, val in kw.items():
            if not hasattr(self, key):
                raise TypeError("unknown option %s" % key)
            setattr(self, key, val)


class Instance:
    """One agent process of a pool."""

    def __init__(self, pool, slot, gen, proc, started):
        self.pool = pool
        self.slot = slot
        self.gen = gen
        self.proc = proc
        self.pid = proc.pid
        self.started = started
        self.stopping = False
        self.stop_reason = None
        self.kill_at = None
        self.killed = False
        self.crash = None
        self.eof = False
        self.inbuf = b""
        self.outbuf = b""
        self.last_cfg = None
        self.ready = False
        # oom fault: the spec the agent got, its cgroup, where it came from, the
        # fault's timeline key and name, and the cgroup's OOM kills before it went in.
        self.oom = None
        self.oom_cg = None
        self.oom_origin = None
        self.oom_key = None
        self.oom_fault = None
        self.oom_kills0 = None

    @property
    def name(self):
        return "%s-%d" % (self.pool.name, self.slot)


class Pool:
    """Desired and actual instances of one pool, and its counters."""

    def __init__(self, name, spec, desired):
        self.name = name
        self.spec = spec
        self.desired = desired
        self.max_instances = spec["max_instances"]
        self.restart_delay = spec["restart_delay_s"]
        self.instances = {}
        self.restart_at = {}
        self.generation = {}
        self.counts = {
            "requests": {"llm": {"total": 0, "by_status": {}},
                         "tool": {"total": 0, "by_status": {}}},
            "llm_calls_ok": 0, "prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0,
            "tool_actions": {}, "starts": 0, "exits": {"ok": 0, "error": 0, "signal": 0},
            "crashes": 0, "restarts": 0, "oom_kills": 0,
        }

    def alive(self):
        return len(self.instances)

    def running(self):
        return sum(1 for i in self.instances.values() if not i.stopping)


class Supervisor:

    def __init__(self, scenario, opts):
        self.sc = scenario
        self.opts = opts
        self.seed = scenario.seed if opts.seed is None else int(opts.seed)
        self.duration = min(float(scenario.duration if opts.duration is None else opts.duration),
                            scn.MAX_RUN_S)
        if self.duration <= 0:
            raise ValueError("--duration must be > 0")
        self.run_id = uuid.uuid4().hex[:12]
        self.lock = threading.Lock()
        self.pools = {}
        counts = self._initial_counts()
        for name, spec in scenario.pools.items():
            self.pools[name] = Pool(name, spec, counts[name])
        grace = max(float(p.spec["behaviour"]["timeout_s"]) for p in self.pools.values())
        self.stop_grace = min(grace + STOP_GRACE_EXTRA_S, MAX_STOP_GRACE_S)
        self.stop_reason = None
        self.signals = 0
        self.tmp = None
        self.log = None
        self.llm = None
        self.tools = None
        self.ctl = None
        self.cafile = None
        self.sel = None
        self.wake_r = self.wake_w = None
        self.settings = {}
        self.active = {}
        self.phase = None
        self.t0 = None
        self._status = {}
        self._old_handlers = {}
        self._old_wakeup = None
        self.cgroups = None
        self.oom_done = set()  # (fault key, pool, slot) already armed by that fault
        self.next_sweep = 0.0
        self.hog_cap = opts.hog_cap_mb
        avail = _mem_available_mb()
        if avail is not None:
            self.hog_cap = max(1, min(self.hog_cap, avail // 2))

    # -- set-up -----------------------------------------------------------

    def _initial_counts(self):
        counts = {n: p["instances"] for n, p in self.sc.pools.items()}
        if self.opts.total_instances is not None:
            total = int(self.opts.total_instances)
            base = sum(counts.values()) or len(counts)
            shares = {n: (counts[n] or (1 if not sum(counts.values()) else 0)) * total / base
                      for n in counts}
            counts = {n: int(v) for n, v in shares.items()}
            left = total - sum(counts.values())
            for n in sorted(shares, key=lambda n: (-(shares[n] - int(shares[n])), n))[:left]:
                counts[n] += 1
        for name, n in (self.opts.instances or {}).items():
            if name not in counts:
                raise scn.ScenarioError("--instances: unknown pool %r (pools: %s)" % (
                    name, ", ".join(sorted(counts))))
            counts[name] = int(n)
        for name, n in counts.items():
            mx = self.sc.pools[name]["max_instances"]
            if n < 0 or n > mx:
                raise scn.ScenarioError("pool %s: %d instances is outside 0..%d" % (name, n, mx))
        if sum(counts.values()) > scn.MAX_TOTAL_INSTANCES:
            raise scn.ScenarioError("%d instances in all is above the limit of %d" % (
                sum(counts.values()), scn.MAX_TOTAL_INSTANCES))
        return counts

    def say(self, fmt, *args):
        if not self.opts.quiet:
            out = self.opts.out
            out.write("agentsim: " + (fmt % args if args else fmt) + "\n")
            out.flush()

    def _setup(self):
        if self.sc.has_oom(self.duration):
            # Before anything starts: an oom fault that cannot work is an error, not a no-op.
            self.cgroups = oomcg.Cgroups.open()
        self.tmp = tempfile.mkdtemp(prefix="agentsim-%s-" % self.run_id)
        os.makedirs(os.path.join(self.tmp, "work"))
        ssl_ctx = None
        if self.opts.tls:
            cert, key = tlscert.generate(self.tmp)
            ssl_ctx = tlscert.server_context(cert, key)
            self.cafile = cert
        self.llm = llmserver.LLMServer(seed=self.seed, profile=self.sc.llm,
                                       port=self.opts.llm_port, ssl_context=ssl_ctx).start()
        self.tools = toolserver.ToolServer(seed=self.seed, settings=self.sc.tools,
                                           port=self.opts.tool_port).start()
        try:
            self.ctl = control.ControlServer(self, port=self.opts.control_port,
                                             secret=self.opts.webhook_secret).start()
        except OSError as e:
            raise OSError(e.errno, "cannot listen on control port %d: %s (pass --control-port "
                          "0 for any free port)" % (self.opts.control_port, e.strerror))
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.wake_r, selectors.EVENT_READ, None)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self._old_handlers[signum] = signal.signal(signum, self._on_signal)
        self._old_wakeup = signal.set_wakeup_fd(self.wake_w)
        self._write_state()

    def _write_state(self):
        try:
            os.makedirs(control.state_dir(), mode=0o700, exist_ok=True)
            path = control.state_file()
            tmp = path + ".%d" % os.getpid()
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"pid": os.getpid(), "run_id": self.run_id,
                           "control_url": self.ctl.url, "llm_url": self.llm.url,
                           "tool_url": self.tools.url, "scenario": self.sc.name,
                           "log": os.path.abspath(self.opts.log) if self.opts.log else None}, f)
            os.replace(tmp, path)
        except OSError as e:
            self.say("cannot write %s (%s); `agentsim scale` needs --control %s",
                     control.state_file(), e.strerror, self.ctl.url)

    def _remove_state(self):
        try:
            with open(control.state_file(), "r", encoding="utf-8") as f:
                if json.load(f).get("run_id") == self.run_id:
                    os.unlink(control.state_file())
        except (OSError, ValueError):
            pass

    def _on_signal(self, signum, frame):
        self.signals += 1
        if self.stop_reason is None:
            self.stop_reason = "signal:%s" % signal.Signals(signum).name

    def wake(self):
        try:
            os.write(self.wake_w, b"w")
        except OSError:
            pass

    # -- called from the control thread ----------------------------------

    def record_breaker(self, body):
        """Logs a circuit breaker event swarmwatch sent to the scaling webhook."""
        fields = {k: body.get(k) for k in ("pool", "instance", "pid", "from", "to", "reason",
                                           "idempotency_key")}
        if self.log is not None:
            with self.lock:
                self.log.write("breaker", **fields)
        self.say("breaker %s: %s -> %s", fields["instance"], fields["from"], fields["to"])

    def apply_scale(self, items, source):
        """Set desired instance counts; all or nothing. Returns what changed."""
        with self.lock:
            for item in items:
                if item["pool"] not in self.pools:
                    raise control.ScaleError(404, "unknown pool %r (pools: %s)" % (
                        item["pool"], ", ".join(sorted(self.pools))))
            if self.stop_reason is not None:
                raise control.ScaleError(409, "the run is stopping")
            desired = {n: p.desired for n, p in self.pools.items()}
            out = []
            for item in items:
                pool = self.pools[item["pool"]]
                want = item["desired"]
                clamped = min(want, pool.max_instances)
                others = sum(v for n, v in desired.items() if n != pool.name)
                clamped = min(clamped, scn.MAX_TOTAL_INSTANCES - others)
                out.append({"pool": pool.name, "previous": desired[pool.name],
                            "desired": clamped, "requested": want, "clamped": clamped != want})
                desired[pool.name] = clamped
            for res, item in zip(out, items):
                pool = self.pools[res["pool"]]
                pool.desired = res["desired"]
                if self.log is not None:
                    rec = dict(item["meta"])
                    rec.update(pool=pool.name, previous=res["previous"], desired=res["desired"],
                               requested=res["requested"], clamped=res["clamped"], via=source)
                    self.log.write("scale", **rec)
        for res in out:
            self.say("scale %s: %d -> %d (%s)%s", res["pool"], res["previous"], res["desired"],
                     source, " clamped" if res["clamped"] else "")
        self.wake()
        return out

    def request_stop(self, reason):
        if self.stop_reason is None:
            self.stop_reason = reason
        self.wake()

    def status(self):
        with self.lock:
            st = json.loads(json.dumps(self._status))
            for name, pool in self.pools.items():
                if name in st.get("pools", {}):
                    st["pools"][name]["desired"] = pool.desired
            return st

    # -- instances ------------------------------------------------------

    def _start(self, pool, slot, now):
        gen = pool.generation.get(slot, 0)
        pool.generation[slot] = gen + 1
        env = dict(os.environ)
        env["SWARMWATCH_AGENT"] = pool.name
        env["AGENTSIM_RUN_ID"] = self.run_id
        env["AGENTSIM_INSTANCE"] = "%s-%d" % (pool.name, slot)
        # The instance name swarmwatch labels its breaker and routing weight with.
        env["SWARMWATCH_INSTANCE"] = env["AGENTSIM_INSTANCE"]
        cmd = [sys.executable, AGENT_SCRIPT, "agent", "--pool", pool.name, "--slot", str(slot)]
        # The agent starts with SIGTERM and SIGINT blocked, so a stop that
        # arrives while Python is still starting stays pending until the
        # agent's handler is installed, and the agent then ends cleanly.
        stop_signals = {signal.SIGTERM, signal.SIGINT}
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=None, env=env, cwd=self.tmp, close_fds=True,
                                    start_new_session=True)
        except OSError as e:
            self.say("pool %s: cannot start an instance: %s", pool.name, e)
            pool.restart_at[slot] = now + max(pool.restart_delay, 1.0)
            return
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        inst = Instance(pool, slot, gen, proc, time.monotonic())
        cfg = self._config(inst)
        inst.last_cfg = json.dumps(cfg, sort_keys=True)
        init = {"type": "init", "run_id": self.run_id, "seed": self.seed, "pool": pool.name,
                "slot": slot, "generation": gen, "llm_url": self.llm.url,
                "tool_url": self.tools.url, "cafile": self.cafile,
                "workspace": os.path.join(self.tmp, "work"),
                "run_left_s": max(self.duration - self.log.offset(now), 0.0) + self.stop_grace,
                "hog_cap_mb": self.hog_cap, "statsd": self.opts.statsd, "config": cfg}
        inst.outbuf = (json.dumps(init, separators=(",", ":")) + "\n").encode()
        os.set_blocking(proc.stdin.fileno(), False)
        os.set_blocking(proc.stdout.fileno(), False)
        self.sel.register(proc.stdout.fileno(), selectors.EVENT_READ, inst)
        pool.instances[slot] = inst
        pool.restart_at.pop(slot, None)
        pool.counts["starts"] += 1
        if gen > 0:
            pool.counts["restarts"] += 1
        self._flush(inst)
        self.log.write("instance_start", pool=pool.name,
                       instance=inst.name, slot=slot, generation=gen, pid=inst.pid)

    def _send(self, inst, msg):
        inst.outbuf += (json.dumps(msg, separators=(",", ":")) + "\n").encode()
        self._flush(inst)

    def _flush(self, inst):
        if not inst.outbuf or inst.proc.stdin is None:
            return
        try:
            n = os.write(inst.proc.stdin.fileno(), inst.outbuf)
            inst.outbuf = inst.outbuf[n:]
        except BlockingIOError:
            pass
        except OSError:
            inst.outbuf = b""

    def _stop(self, inst, reason, now):
        if inst.stopping:
            return
        inst.stopping = True
        inst.stop_reason = reason
        inst.kill_at = now + self.stop_grace
        self._send(inst, {"type": "stop"})
        self._signal_group(inst, signal.SIGTERM)

    def _signal_group(self, inst, signum):
        # The pid is not reaped until _finish(), so the group id cannot have
        # been reused by another process.
        try:
            os.killpg(inst.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def _read(self, inst):
        fd = inst.proc.stdout.fileno()
        for _ in range(64):
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                inst.eof = True
                self.sel.unregister(fd)
                break
            inst.inbuf += data
            if b"\n" in inst.inbuf:
                lines = inst.inbuf.split(b"\n")
                inst.inbuf = lines.pop()
                for line in lines:
                    self._on_message(inst, line)

    def _on_message(self, inst, line):
        try:
            msg = json.loads(line)
        except ValueError:
            return
        kind = msg.get("type")
        pool = inst.pool
        if kind == "request":
            up = msg.get("up", "llm")
            st = status_key(msg.get("status", "error"))
            req = pool.counts["requests"].setdefault(up, {"total": 0, "by_status": {}})
            req["total"] += 1
            req["by_status"][st] = req["by_status"].get(st, 0) + 1
            if up == "llm" and st == "200":
                pool.counts["llm_calls_ok"] += 1
                pool.counts["prompt_tokens"] += int(msg.get("pt", 0))
                pool.counts["completion_tokens"] += int(msg.get("ct", 0))
                pool.counts["cost_usd"] = round(pool.counts["cost_usd"] +
                                                float(msg.get("cost", 0.0)), 8)
            if self.opts.request_log:
                t0 = self.log.offset(float(msg.get("t0", time.monotonic())))
                dur = float(msg.get("dur", 0.0))
                rec = {"pool": pool.name, "instance": inst.name, "pid": inst.pid,
                       "upstream": up, "status": msg.get("status"), "start": round(t0, 6),
                       "duration_s": dur, "id": msg.get("id")}
                if up == "llm":
                    rec.update(stream=bool(msg.get("stream")), attempt=msg.get("attempt", 0),
                               prompt_tokens=msg.get("pt", 0),
                               completion_tokens=msg.get("ct", 0),
                               cost_usd=msg.get("cost", 0.0))
                    if "usage" in msg:
                        rec["usage"] = bool(msg["usage"])
                    if "ttft" in msg:
                        rec["ttft_s"] = msg["ttft"]
                self.log.write("request", t=t0 + dur, **rec)
        elif kind == "tool":
            acts = pool.counts["tool_actions"]
            acts[msg.get("tool", "?")] = acts.get(msg.get("tool", "?"), 0) + 1
        elif kind == "crash":
            inst.crash = msg
        elif kind == "ready":
            inst.ready = True
        elif kind == "oom_missed":
            self.log.write("oom_missed", pool=pool.name, instance=inst.name, pid=inst.pid,
                           fault=inst.oom_fault, mb=msg.get("mb"), cgroup=inst.oom_cg)
            self.say("oom %s: %s MiB taken and still alive: the cgroup's limit does not hold",
                     inst.name, msg.get("mb"))
        elif kind == "hog":
            self.log.write("memory_hog", pool=pool.name, instance=inst.name, pid=inst.pid,
                           mb=msg.get("mb"))

    def _exited(self, inst):
        """True once the process has exited (without reaping it)."""
        try:
            res = os.waitid(os.P_PID, inst.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return res is not None

    def _finish(self, inst, now):
        """The instance's process exited: clean its group, reap, account, maybe restart."""
        self._signal_group(inst, signal.SIGKILL)
        code = inst.proc.wait()
        if not inst.eof:
            self._read(inst)
            if not inst.eof:
                self.sel.unregister(inst.proc.stdout.fileno())
        if inst.inbuf:
            self._on_message(inst, inst.inbuf)
            inst.inbuf = b""
        for f in (inst.proc.stdin, inst.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        pool = inst.pool
        del pool.instances[inst.slot]
        if code == 0:
            outcome = "ok"
        elif code < 0:
            outcome = "signal"
        else:
            outcome = "error"
        pool.counts["exits"][outcome] += 1
        oom_killed = False
        if inst.oom_cg is not None:
            # Killed by the OOM killer: SIGKILL, and the cgroup counted one more OOM kill
            # (a kernel that does not count them is taken at its SIGKILL).
            kills = self.cgroups.oom_kills(inst.oom_cg)
            oom_killed = code == -signal.SIGKILL and (
                kills is None or inst.oom_kills0 is None or kills > inst.oom_kills0)
            self.cgroups.remove(inst.oom_cg)
        if inst.stop_reason is not None:
            reason = inst.stop_reason
        elif oom_killed:
            reason = "oom"
            pool.counts["crashes"] += 1
            pool.counts["oom_kills"] += 1
        elif inst.crash is not None:
            reason = "crash"
            pool.counts["crashes"] += 1
        else:
            reason = "unexpected"
        rec = {"pool": pool.name, "instance": inst.name, "slot": inst.slot,
               "generation": inst.gen, "pid": inst.pid, "reason": reason, "outcome": outcome,
               "runtime_s": round(now - inst.started, 3)}
        if code < 0:
            rec["signal"] = signal.Signals(-code).name
        else:
            rec["exit_code"] = code
        if reason == "oom":
            rec["crash"] = "fault"
            rec["fault"] = inst.oom_fault
            rec["cgroup"] = inst.oom_cg
        elif inst.crash is not None:
            rec["crash"] = inst.crash.get("reason")
        self.log.write("instance_exit", t=self.log.offset(now), **rec)
        if reason == "oom":
            self.say("instance %s killed by the OOM killer (%s)", inst.name, inst.oom_fault)
        if reason in ("crash", "unexpected", "oom") and self.stop_reason is None:
            pool.restart_at[inst.slot] = now + pool.restart_delay

    def _reap(self, now):
        for pool in self.pools.values():
            for inst in list(pool.instances.values()):
                if inst.stopping and not inst.killed and now >= inst.kill_at:
                    inst.killed = True
                    self._signal_group(inst, signal.SIGKILL)
                if self._exited(inst):
                    self._finish(inst, now)

    def _reconcile(self, now):
        starts = 0
        with self.lock:
            desired = {n: p.desired for n, p in self.pools.items()}
        for name, pool in self.pools.items():
            want = desired[name]
            for slot, inst in list(pool.instances.items()):
                if slot >= want:
                    self._stop(inst, "scale_down", now)
            for slot in [s for s in pool.restart_at if s >= want]:
                del pool.restart_at[slot]
            for slot in range(want):
                if starts >= MAX_STARTS_PER_ITERATION:
                    return
                if slot in pool.instances or pool.restart_at.get(slot, 0) > now:
                    continue
                self._start(pool, slot, now)
                starts += 1

    # -- timeline -------------------------------------------------------

    def _pools_of(self, fault):
        return sorted(self.pools) if "*" in fault.pools else list(fault.pools)

    def _fire(self, ev, now, interrupted=False):
        t = self.log.offset(now)
        base = {"planned_t": round(ev.t, 6), "phase": ev.phase.name, "index": ev.phase.index,
                "iteration": ev.iteration}
        key = (ev.iteration, ev.phase.index, ev.fault.index if ev.fault else -1)
        if ev.kind == "phase_start":
            self.phase = ev
            self.log.write("phase_start", t=t, planned_end=round(ev.planned_end, 6),
                           description=ev.phase.description, **base)
            self.say("phase %s (%g s)", ev.phase.name, ev.phase.duration)
        elif ev.kind == "phase_end":
            self.phase = None
            self.log.write("phase_end", t=t, truncated=ev.truncated or interrupted, **base)
        elif ev.kind == "fault_start":
            self.active[key] = (ev.fault, ev.t, ev.planned_end)
            self.log.write("fault_start", t=t, fault=ev.fault.name, kind=ev.fault.kind,
                           pools=self._pools_of(ev.fault), params=ev.fault.params(),
                           planned_end=round(ev.planned_end, 6), **base)
            self.say("fault %s starts", ev.fault.name)
        elif ev.kind == "fault_end":
            self.active.pop(key, None)
            if ev.fault.kind == "oom":
                self._oom_end(key)
            self.log.write("fault_end", t=t, fault=ev.fault.name, kind=ev.fault.kind,
                           pools=self._pools_of(ev.fault),
                           truncated=ev.truncated or interrupted, **base)
            self.say("fault %s ends", ev.fault.name)

    def _recompute(self, t):
        self.settings = scn.effective(self.sc, list(self.active.values()), t)
        self.llm.set_profiles({n: s["llm"] for n, s in self.settings.items()})
        for name, pool in self.pools.items():
            for inst in pool.instances.values():
                if not inst.stopping:
                    self._push(inst)

    def _config(self, inst):
        cfg = scn.agent_config(self.settings[inst.pool.name], inst.slot)
        cfg["oom"] = inst.oom
        return cfg

    def _push(self, inst):
        """Send the instance its settings if they changed since the last time."""
        cfg = self._config(inst)
        text = json.dumps(cfg, sort_keys=True)
        if text != inst.last_cfg:
            inst.last_cfg = text
            self._send(inst, {"type": "config", "config": cfg})

    # -- oom faults -----------------------------------------------------

    def _oom_arm_all(self):
        """Arm each running instance an active oom fault hits, once per slot and fault."""
        for key, (fault, _, end) in list(self.active.items()):
            if fault.kind != "oom":
                continue
            spec = fault.oom_spec()
            for name in self._pools_of(fault):
                pool = self.pools[name]
                for slot in range(spec["instances"]):
                    inst = pool.instances.get(slot)
                    if inst is None or inst.stopping or not inst.ready or inst.oom is not None:
                        continue
                    if (key, name, slot) in self.oom_done:
                        continue
                    self.oom_done.add((key, name, slot))
                    self._oom_arm(inst, fault, key, spec, end)

    def _oom_arm(self, inst, fault, key, spec, end):
        """Put the instance in a cgroup limited to limit_mb, then have it grow past it."""
        if self._exited(inst):
            return
        # The agent stops growing at twice the limit (the limit did not hold) or at what this
        # host can spare for a hog, whichever is less: never a host-wide OOM.
        stop_mb = int(min(2 * spec["limit_mb"] + OOM_STOP_EXTRA_MB, self.hog_cap))
        if stop_mb <= spec["limit_mb"]:
            self.log.write("oom_error", pool=inst.pool.name, instance=inst.name, pid=inst.pid,
                           fault=fault.name,
                           error="limit_mb %g is above what this host can spare (%d MiB)" % (
                               spec["limit_mb"], self.hog_cap))
            self.say("oom %s: limit_mb %g is above what this host can spare (%d MiB)",
                     inst.name, spec["limit_mb"], self.hog_cap)
            return
        path = None
        try:
            origin = oomcg.cgroup_of(inst.pid, self.cgroups.version)
            path = self.cgroups.make(inst.name, spec["limit_mb"])
            kills0 = self.cgroups.oom_kills(path)
            self.cgroups.move(path, inst.pid)
            if self._exited(inst):  # gone meanwhile: the move moved nothing
                self.cgroups.remove(path)
                return
        except OSError as e:
            if path is not None:
                self.cgroups.remove(path)
            if self._exited(inst):
                return
            self.log.write("oom_error", pool=inst.pool.name, instance=inst.name, pid=inst.pid,
                           fault=fault.name, error=e.strerror or str(e))
            self.say("oom %s: cannot put it in a memory-limited cgroup: %s", inst.name,
                     e.strerror or e)
            return
        inst.oom_cg, inst.oom_origin, inst.oom_kills0 = path, origin, kills0
        inst.oom_key, inst.oom_fault = key, fault.name
        inst.oom = {"fault": fault.name, "mb_per_s": spec["mb_per_s"],
                    "limit_mb": spec["limit_mb"],
                    "stop_mb": stop_mb,
                    "until": round(self.t0 + end, 6)}
        self.log.write("oom_armed", pool=inst.pool.name, instance=inst.name, slot=inst.slot,
                       generation=inst.gen, pid=inst.pid, fault=fault.name, cgroup=path,
                       limit_mb=spec["limit_mb"], mb_per_s=spec["mb_per_s"])
        self._push(inst)

    def _oom_end(self, key):
        """The oom fault ended: instances it armed that are still alive go back to normal."""
        self.oom_done = {m for m in self.oom_done if m[0] != key}
        for pool in self.pools.values():
            for inst in pool.instances.values():
                if inst.oom_key != key or self._exited(inst):
                    continue  # an exit not reaped yet is accounted by _finish
                inst.oom = None
                self._push(inst)
                try:
                    self.cgroups.move(inst.oom_origin, inst.pid)
                except OSError as e:
                    self.say("oom %s: cannot move it back to %s: %s", inst.name,
                             inst.oom_origin, e.strerror or e)
                self.cgroups.remove(inst.oom_cg)
                inst.oom_cg = inst.oom_origin = inst.oom_key = None

    # -- reporting ------------------------------------------------------

    def _pool_summary(self, pool):
        out = {"desired": pool.desired, "instances": pool.alive(), "running": pool.running()}
        out.update(json.loads(json.dumps(pool.counts)))
        return out

    def _update_status(self, now):
        st = {"run_id": self.run_id, "scenario": self.sc.name, "seed": self.seed,
              "t": round(self.log.offset(now), 3), "duration": self.duration,
              "phase": self.phase.phase.name if self.phase else None,
              "faults": sorted(f.name for f, _, _ in self.active.values()),
              "stopping": self.stop_reason is not None,
              "urls": {"control": self.ctl.url, "llm": self.llm.url, "tools": self.tools.url},
              "pools": {n: self._pool_summary(p) for n, p in self.pools.items()}}
        st["pools_pids"] = {n: sorted(i.pid for i in p.instances.values())
                            for n, p in self.pools.items()}
        st["instance_pids"] = {i.name: i.pid for p in self.pools.values()
                               for i in p.instances.values()}
        with self.lock:
            self._status = st

    def _sample(self, now):
        self.log.write("pool_sample", t=self.log.offset(now), pools={
            n: {"desired": p.desired, "instances": p.alive(), "running": p.running(),
                "llm_requests": p.counts["requests"]["llm"]["total"],
                "tool_requests": p.counts["requests"]["tool"]["total"]}
            for n, p in self.pools.items()})

    # -- the run --------------------------------------------------------

    def run(self):
        """Run the scenario to its end; return the exit status (0 ok)."""
        try:
            self._setup()
        except BaseException:
            self._teardown()
            raise
        try:
            self._loop()
        finally:
            self._shutdown()
            self._teardown()
        return 0

    def _loop(self):
        self.t0 = time.monotonic()
        self.log = groundtruth.GroundTruth(self.opts.log, self.t0)
        events = self.sc.timeline(self.duration)
        self.log.write("run_start", t=0.0, run_id=self.run_id, scenario=self.sc.name,
                       description=self.sc.description, seed=self.seed,
                       duration=self.duration, loop=self.sc.loop, tls=bool(self.opts.tls),
                       pid=os.getpid(), control_url=self.ctl.url, llm_url=self.llm.url,
                       tool_url=self.tools.url, workdir=self.tmp,
                       pools={n: p.desired for n, p in self.pools.items()},
                       phases=[{"name": p.name, "duration": p.duration} for p in self.sc.phases])
        self.say("scenario %s, seed %d, %g s, run %s", self.sc.name, self.seed, self.duration,
                 self.run_id)
        self.say("control %s (POST /v1/scale, GET /v1/status)", self.ctl.url)
        self.say("llm     %s/v1/chat/completions", self.llm.url)
        self.say("tools   %s/v1/tools/search", self.tools.url)
        self.say("pools   %s", " ".join("%s=%d" % (n, p.desired) for n, p in self.pools.items()))
        if self.opts.log:
            self.say("log     %s", self.opts.log)
        ei = 0
        next_push = 0.0
        next_sample = 0.0
        next_status = 0.0
        self._recompute(0.0)
        end = self.t0 + self.duration
        while self.stop_reason is None:
            now = time.monotonic()
            t = now - self.t0
            fired = False
            while ei < len(events) and events[ei].t <= t and events[ei].t < self.duration:
                self._fire(events[ei], now)
                ei += 1
                fired = True
            if now >= end:
                break
            if fired or t >= next_push:
                self._recompute(t)
                next_push = t + PUSH_INTERVAL_S
            self._reap(now)
            self._reconcile(now)
            if self.cgroups is not None:
                self._oom_arm_all()
                if self.cgroups.pending and now >= self.next_sweep:
                    self.cgroups.sweep()
                    self.next_sweep = now + CGROUP_SWEEP_S
            if t >= next_status:
                self._update_status(now)
                next_status = t + 0.25
            if t >= next_sample:
                self._sample(now)
                next_sample += self.opts.sample_interval
                if next_sample <= t:
                    next_sample = t + self.opts.sample_interval
            wait = min(0.1, end - time.monotonic())
            if ei < len(events):
                wait = min(wait, events[ei].t - (time.monotonic() - self.t0))
            self._poll(max(wait, 0.0))
        now = time.monotonic()
        if self.stop_reason is None:
            self.stop_reason = "duration"
        # End what is still going on: planned ends at the run's end, or cut short.
        for ev in events[ei:]:
            if ev.kind in ("phase_end", "fault_end"):
                started = ev.kind == "phase_end" and self.phase is not None and \
                    self.phase.phase is ev.phase and self.phase.iteration == ev.iteration
                key = (ev.iteration, ev.phase.index, ev.fault.index if ev.fault else -1)
                if started or (ev.kind == "fault_end" and key in self.active):
                    self._fire(ev, now, interrupted=ev.t > self.log.offset(now) + 0.05)
        self.end_pools = {n: {"desired": p.desired, "instances": p.alive(),
                              "running": p.running()} for n, p in self.pools.items()}
        self._sample(now)

    def _poll(self, timeout):
        for key, _ in self.sel.select(timeout):
            if key.data is None:
                try:
                    os.read(self.wake_r, 4096)
                except OSError:
                    pass
            else:
                self._read(key.data)
        for pool in self.pools.values():
            for inst in pool.instances.values():
                if inst.outbuf:
                    self._flush(inst)

    def _shutdown(self):
        """Stop every instance: SIGTERM, wait up to the grace period, SIGKILL."""
        if self.log is None:
            return
        now = time.monotonic()
        self.say("stopping (%s)", self.stop_reason)
        for pool in self.pools.values():
            pool.restart_at.clear()
            for inst in pool.instances.values():
                self._stop(inst, "shutdown", now)
        signals_seen = self.signals
        deadline = now + self.stop_grace + 5.0
        for _ in range(100000):
            now = time.monotonic()
            if self.signals > signals_seen:
                # A second signal: do not wait any longer.
                for pool in self.pools.values():
                    for inst in pool.instances.values():
                        inst.kill_at = now
            self._reap(now)
            if not any(p.instances for p in self.pools.values()) or now >= deadline:
                break
            self._poll(0.05)
        for pool in self.pools.values():
            for inst in list(pool.instances.values()):
                self._signal_group(inst, signal.SIGKILL)
                try:
                    inst.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    # Defensive: a process that survives SIGKILL for 5 s is stuck
                    # in the kernel; say so rather than hang.
                    del pool.instances[inst.slot]
                    self.log.write("instance_lost", pool=pool.name, instance=inst.name,
                                   pid=inst.pid)
                    self.say("instance %s (pid %d) did not die on SIGKILL", inst.name, inst.pid)
                    continue
                self._finish(inst, time.monotonic())
        totals = {"llm_requests": 0, "tool_requests": 0, "cost_usd": 0.0, "starts": 0}
        for pool in self.pools.values():
            totals["llm_requests"] += pool.counts["requests"]["llm"]["total"]
            totals["tool_requests"] += pool.counts["requests"]["tool"]["total"]
            totals["cost_usd"] = round(totals["cost_usd"] + pool.counts["cost_usd"], 8)
            totals["starts"] += pool.counts["starts"]
        pools = {}
        for n, p in self.pools.items():
            pools[n] = self._pool_summary(p)
            pools[n].update(getattr(self, "end_pools", {}).get(n, {}))
        self.log.write("run_end", reason=self.stop_reason, pools=pools, totals=totals,
                       server={"llm": self.llm.stats(), "tools": self.tools.stats()})
        self._update_status(time.monotonic())
        if not self.opts.quiet:
            self.say("%-12s %5s %5s %9s %9s %8s %7s %10s", "pool", "inst", "starts", "llm_req",
                     "llm_err", "tool_req", "crashes", "cost_usd")
            for n, p in pools.items():
                llm = p["requests"]["llm"]
                errs = llm["total"] - llm["by_status"].get("200", 0)
                self.say("%-12s %5d %5d %9d %9d %8d %7d %10.4f", n, p["instances"], p["starts"],
                         llm["total"], errs, p["requests"]["tool"]["total"], p["crashes"],
                         p["cost_usd"])

    def _teardown(self):
        for srv in (self.ctl, self.tools, self.llm):
            if srv is not None:
                try:
                    srv.stop()
                except OSError:
                    pass
        if self.log is not None:
            self.log.close()
        if self._old_wakeup is not None:
            signal.set_wakeup_fd(self._old_wakeup)
            self._old_wakeup = None
        for signum, handler in self._old_handlers.items():
            signal.signal(signum, handler)
        self._old_handlers = {}
        if self.sel is not None:
            self.sel.close()
        for fd in (self.wake_r, self.wake_w):
            if fd is not None:
                os.close(fd)
        self.wake_r = self.wake_w = None
        if self.ctl is not None:
            self._remove_state()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        if self.cgroups is not None:
            if not self.cgroups.close():
                self.say("cannot remove %s: cgroups in it are not empty", self.cgroups.base)
            self.cgroups = None
