# SPDX-License-Identifier: MIT
"""One agent process.

The supervisor starts it by exec with SWARMWATCH_AGENT=<pool> in its
environment (that marker is how swarmwatch tells agents apart), in a process
group of its own, with a pipe on stdin and one on stdout:

  stdin   JSON lines from the supervisor: "init" first, then "config" when the
          scenario changes what the pool does, "stop" to finish; a thread reads
          them as they come, so they take effect even while the main loop waits
          on a call
  stdout  JSON lines to the supervisor: one "request" per HTTP request made
          (LLM or tool), "tool" per tool action, "crash" before a crash exit,
          "hog" when a memory hog reaches its cap or frees its memory,
          "oom_missed" when an oom fault's growth was not ended by the OOM killer

The agent loops over steps: a few LLM calls (with retries), a few tool calls
(file writes and reads in its workspace, a subprocess, an HTTP call to the
tool server), then a think pause.  All its choices come from a generator
seeded with the run seed, its pool, slot and generation.

It stops on SIGTERM, on "stop", on end of file on stdin (the supervisor is
gone) and at its own deadline, whichever comes first.

With a StatsD target in its init message it reports what the kernel cannot
see, as a real agent would, in one datagram per LLM call:

  quality:V|g|#instance:I  moving average (weight 0.3) of the calls' quality:
                         0 for a call that failed after its retries, else
                         1 - latency / 20 s, at least 0.5; I is <pool>-<slot>
  queue_length:N|g       LLM calls of the current step still to make
  queue_wait:MS|ms       how long the call waited in the step before it began
  cost_usd:C|c           the call's cost from the mock API's usage (answered calls)
"""

import http.client
import json
import os
import queue
import select
import threading
import signal
import socket
import sys
import time

from . import sampling

# Text the prompts are cut from; ~4 characters make a token.
_PROMPT_TEXT = ("Plan the next change, list the files to touch, write the code, run the "
                "tests and review the result before you report back. ") * 64

# Longest time an agent keeps running past its deadline before exiting itself.
DEADLINE_GRACE_S = 5.0
# Most LLM calls in one step whatever the load factor says.
MAX_CALLS_PER_STEP = 32
# Rotating file names per agent workspace.
WORKSPACE_FILES = 8


# Weight of the newest call in the quality moving average.
QUALITY_WEIGHT = 0.3
# How often the oom fault's thread allocates what its rate allows.
OOM_STEP_S = 0.01


def _touched_mib():
    """One MiB of memory with every page written, so it is resident (and charged)."""
    chunk = bytearray(1 << 20)
    chunk[::4096] = b"\x01" * (len(chunk) // 4096)
    return chunk


class _StatsD:
    """A StatsD client that never blocks the agent: a datagram that cannot go is dropped."""

    def __init__(self, target):
        kind, _, where = target.partition(":")
        if kind == "unix":
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.addr = where
        else:
            host, _, port = where.rpartition(":")
            self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                                      socket.SOCK_DGRAM)
            self.addr = (host.strip("[]"), int(port))
        self.sock.setblocking(False)
        self.sent = 0
        self.failed = 0

    def send(self, lines):
        try:
            self.sock.sendto("\n".join(lines).encode(), self.addr)
            self.sent += 1
        except OSError:
            self.failed += 1

    def close(self):
        self.sock.close()


def _ollama_usage(obj):
    """Ollama's counts as OpenAI-style usage ({} when it gave none)."""
    if "eval_count" not in obj and "prompt_eval_count" not in obj:
        return {}
    return {"prompt_tokens": obj.get("prompt_eval_count", 0),
            "completion_tokens": obj.get("eval_count", 0)}


def _anthropic_usage(u):
    """Anthropic's usage as OpenAI-style usage: its input_tokens leave out the cache."""
    if "input_tokens" not in u and "output_tokens" not in u:
        return {}
    return {"prompt_tokens": u.get("input_tokens", 0) + u.get("cache_read_input_tokens", 0) +
            u.get("cache_creation_input_tokens", 0),
            "completion_tokens": u.get("output_tokens", 0)}


def _status_class(status):
    if isinstance(status, int):
        return "%dxx" % (status // 100)
    return "error"


class _Upstream:
    """A keep-alive HTTP(S) connection to one server, rebuilt after errors."""

    def __init__(self, url, timeout, cafile=None):
        scheme, rest = url.split("://", 1)
        host, port = rest.rstrip("/").rsplit(":", 1)
        self.https = scheme == "https"
        self.host = host
        self.port = int(port)
        self.timeout = timeout
        self.cafile = cafile
        self.conn = None
        self._ctx = None

    def connection(self):
        if self.conn is None:
            if self.https:
                if self._ctx is None:
                    from . import tlscert
                    self._ctx = tlscert.client_context(self.cafile)
                self.conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                                        context=self._ctx)
            else:
                self.conn = http.client.HTTPConnection(self.host, self.port,
                                                       timeout=self.timeout)
        return self.conn

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
            self.conn = None


class Agent:

    def __init__(self, init):
        self.init = init
        self.pool = init["pool"]
        self.slot = int(init["slot"])
        self.gen = int(init["generation"])
        self.instance = "%s-%d" % (self.pool, self.slot)
        self.rng = sampling.rng_for(init["seed"], "agent", self.pool, self.slot, self.gen)
        self.crash_rng = sampling.rng_for(init["seed"], "crash", self.pool, self.slot, self.gen)
        self.cfg = init["config"]
        self.started = time.monotonic()
        self.deadline = self.started + float(init.get("run_left_s", 60)) + DEADLINE_GRACE_S
        self.seq = 0
        self.stopping = False
        self.orphaned = False
        self.inbuf = b""
        self.inbox = queue.SimpleQueue()  # configs read by the reader thread, for the main loop
        self.workspace = os.path.join(init["workspace"], self.instance)
        os.makedirs(self.workspace, exist_ok=True)
        self.nfile = 0
        beh = self.cfg["behaviour"]
        self.llm = _Upstream(init["llm_url"], float(beh["timeout_s"]), init.get("cafile"))
        self.tool = _Upstream(init["tool_url"], 5.0)
        self.crash_at = None
        self.crash_spec = None
        self.hog_chunks = []
        self.hog_start = None
        self.cpu_hog_share = 0.0
        self.cpu_hog_thread = None
        self.oom_spec = None
        self.hog_cap_mb = float(init.get("hog_cap_mb", 1024))
        self.statsd = _StatsD(init["statsd"]) if init.get("statsd") else None
        self.quality = 1.0
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        os.set_blocking(self.wake_r, False)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        # Started with both blocked: a stop sent during start-up is delivered now.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
        self.apply(self.cfg)
        self.set_oom(self.cfg.get("oom"))

    def _on_signal(self, signum, frame):
        self.stopping = True

    # -- talking to the supervisor ------------------------------------------

    def report(self, obj):
        try:
            os.write(1, (json.dumps(obj, separators=(",", ":")) + "\n").encode())
        except OSError:
            self.stopping = True
            self.orphaned = True

    def _wake(self):
        try:
            os.write(self.wake_w, b"w")
        except OSError:
            pass

    def read_control(self):
        """Reader thread: take the supervisor's lines until end of file on stdin."""
        for _ in range(10 ** 12):
            try:
                data = os.read(0, 65536)
            except OSError:
                data = b""
            if not data:
                self.stopping = True
                self.orphaned = True
                self._wake()
                return
            self.inbuf += data
            self.handle_lines()
            self._wake()

    def handle_lines(self):
        """Act at once on what cannot wait (stop, an oom fault); queue configs for the loop."""
        while b"\n" in self.inbuf:
            line, self.inbuf = self.inbuf.split(b"\n", 1)
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("type") == "config":
                self.set_oom(msg["config"].get("oom"))
                self.inbox.put(msg["config"])
            elif msg.get("type") == "stop":
                self.stopping = True

    def drain_inbox(self):
        """Main loop: take the configs the reader thread queued, in order."""
        for _ in range(10 ** 6):
            try:
                cfg = self.inbox.get_nowait()
            except queue.Empty:
                return
            self.apply(cfg)

    def apply(self, cfg):
        """Take new settings; arm or disarm the crash timer and the memory hog."""
        self.cfg = cfg
        self.llm.timeout = float(cfg["behaviour"]["timeout_s"])
        crash = cfg.get("crash")
        if crash is None:
            self.crash_at = None
            self.crash_spec = None
        elif self.crash_spec is None:
            self.crash_spec = crash
            self.crash_at = time.monotonic() + sampling.draw_range(self.crash_rng,
                                                                   crash.get("after_s", [1, 3]))
        hog = cfg.get("cpu_hog")
        if hog is None:
            self.cpu_hog_share = 0.0
        else:
            self.cpu_hog_share = float(hog["share"])
            if self.cpu_hog_thread is None:
                self.cpu_hog_thread = threading.Thread(target=self._spin, daemon=True)
                self.cpu_hog_thread.start()
        if cfg.get("memory_hog") is None:
            self.hog_start = None
            if self.hog_chunks:
                self.hog_chunks = []
                self.report({"type": "hog", "mb": 0})
        elif self.hog_start is None:
            self.hog_start = time.monotonic()

    def _spin(self):
        """CPU hog: busy for cpu_hog_share of every 100 ms while the fault lasts."""
        while not self.stopping:
            share = self.cpu_hog_share
            if share <= 0:
                time.sleep(0.1)
                continue
            busy_end = time.monotonic() + 0.1 * share
            while time.monotonic() < busy_end:
                pass
            time.sleep(max(0.0, 0.1 * (1.0 - share)))

    def set_oom(self, oom):
        """Start or end an oom fault's growth (called as soon as the config is read)."""
        if oom is None:
            self.oom_spec = None
        elif self.oom_spec is None:
            self.oom_spec = oom
            threading.Thread(target=self._grow_until_killed, args=(oom,), daemon=True).start()

    def _grow_until_killed(self, spec):
        """oom fault: allocate and touch mb_per_s MiB a second, with no cap of its own.

        The supervisor has moved this process into a cgroup limited to limit_mb, so
        the kernel's OOM killer ends it with SIGKILL.  A thread of its own keeps the
        rate while the main loop waits on an LLM call.  It stops at the fault's end
        (spec["until"], on the monotonic clock every process shares) or when the
        supervisor takes the fault back; past stop_mb (well above the limit) the
        limit is evidently not working, so it says so and gives the memory back.
        """
        chunks = []
        start = time.monotonic()
        rate = float(spec["mb_per_s"])
        stop_mb = int(spec["stop_mb"])
        until = spec.get("until")
        while not self.stopping and self.oom_spec is spec:
            now = time.monotonic()
            if until is not None and now >= float(until):
                break
            want = min(stop_mb, int((now - start) * rate) + 1)
            while len(chunks) < want:
                chunks.append(_touched_mib())
            if len(chunks) >= stop_mb:
                self.report({"type": "oom_missed", "mb": len(chunks)})
                break
            time.sleep(OOM_STEP_S)
        del chunks[:]

    # -- time ---------------------------------------------------------------

    def tick(self):
        self.drain_inbox()
        now = time.monotonic()
        if now >= self.deadline:
            self.stopping = True
        if self.crash_at is not None and now >= self.crash_at and not self.stopping:
            self.crash(int(self.crash_spec.get("exit_code", 3)), "fault")
        hog = self.cfg.get("memory_hog")
        if hog is not None and self.hog_start is not None:
            cap = min(float(hog["max_mb"]), self.hog_cap_mb)
            want = min(cap, (now - self.hog_start) * float(hog["mb_per_s"]))
            grew = False
            while len(self.hog_chunks) < int(want):
                self.hog_chunks.append(_touched_mib())
                grew = True
            if grew and len(self.hog_chunks) >= int(cap):
                self.report({"type": "hog", "mb": len(self.hog_chunks)})

    def wait(self, seconds):
        """Sleep while serving configs, signals and timers; False once stopping."""
        end = time.monotonic() + max(seconds, 0.0)
        for _ in range(1000000):
            self.tick()
            if self.stopping:
                return False
            left = end - time.monotonic()
            if left <= 0:
                return True
            try:
                ready, _, _ = select.select([self.wake_r], [], [], min(left, 0.25))
            except InterruptedError:
                continue
            if self.wake_r in ready:
                try:
                    os.read(self.wake_r, 512)
                except OSError:
                    pass
        return False

    def crash(self, code, reason):
        self.report({"type": "crash", "code": code, "reason": reason})
        os._exit(code)

    # -- work ---------------------------------------------------------------

    def next_id(self, kind):
        self.seq += 1
        return "%s-%d-%s%d" % (self.instance, self.gen, kind, self.seq)

    def llm_call(self):
        """One logical LLM call: up to 1 + max_retries HTTP requests."""
        beh = self.cfg["behaviour"]
        tokens = float(self.cfg.get("tokens", 1.0))
        prompt_tokens = max(1, int(sampling.draw_range(self.rng, beh["prompt_tokens"]) * tokens))
        max_tokens = max(1, int(sampling.draw_range(self.rng, beh["max_tokens"]) * tokens))
        stream = self.rng.random() < float(beh.get("stream_ratio", 0.0))
        chars = prompt_tokens * 4
        text = (_PROMPT_TEXT * (chars // len(_PROMPT_TEXT) + 1))[:chars]
        body = {"model": beh.get("model", "sim-large"), "max_tokens": max_tokens,
                "user": "%s/%d" % (self.pool, self.slot), "stream": stream,
                "messages": [{"role": "system", "content": "You are the %s agent." % self.pool},
                             {"role": "user", "content": text}]}
        if beh.get("api", "openai") == "ollama":
            body = {"model": body["model"], "messages": body["messages"], "stream": stream,
                    "options": {"num_predict": max_tokens}, "user": body["user"]}
        elif beh.get("api", "openai") == "anthropic":
            body = {"model": body["model"], "max_tokens": max_tokens, "stream": stream,
                    "system": body["messages"][0]["content"], "messages": body["messages"][1:],
                    "metadata": {"user_id": body["user"]}}
        elif stream and (float(beh.get("include_usage_ratio", 1.0)) >= 1.0 or
                         self.rng.random() < float(beh.get("include_usage_ratio", 1.0))):
            body["stream_options"] = {"include_usage": True}
        data = json.dumps(body, separators=(",", ":")).encode()
        retries = int(beh.get("max_retries", 0))
        t0 = time.monotonic()
        cost = 0.0
        for attempt in range(retries + 1):
            rec = self._llm_request(data, stream)
            rec["attempt"] = attempt
            self.report(rec)
            cost += rec.get("cost", 0.0)
            status = rec["status"]
            if status == 200 or status not in (429, 500, 503, "reset", "timeout"):
                break
            if attempt == retries:
                break
            delay = rec.get("retry_after") or min(2.0, 0.25 * (2 ** attempt))
            if not self.wait(delay):
                break
        return rec["status"] == 200, time.monotonic() - t0, cost

    def _llm_request(self, data, stream):
        rid = self.next_id("c")
        headers = {"Content-Type": "application/json", "Authorization": "Bearer sk-agentsim",
                   "X-Request-Id": rid, "User-Agent": "agentsim-agent/0.1"}
        if stream:
            headers["Accept"] = "text/event-stream"
        t0 = time.monotonic()
        rec = {"type": "request", "up": "llm", "id": rid, "t0": t0, "stream": stream}
        try:
            conn = self.llm.connection()
            api = self.cfg["behaviour"].get("api", "openai")
            ollama = api == "ollama"
            anthropic = api == "anthropic"
            if anthropic:
                headers.update({"x-api-key": "sk-agentsim", "anthropic-version": "2023-06-01"})
            path = {"ollama": "/api/chat", "anthropic": "/v1/messages"}.get(
                api, "/v1/chat/completions")
            conn.request("POST", path, body=data, headers=headers)
            resp = conn.getresponse()
            rec["status"] = resp.status
            if resp.status == 429:
                try:
                    rec["retry_after"] = min(float(resp.getheader("Retry-After", "1")), 10.0)
                except ValueError:
                    pass
            if stream and resp.status == 200:
                usage = self._read_stream(resp, rec, t0, ollama, anthropic)
            else:
                raw = resp.read()
                usage = {}
                if resp.status == 200:
                    obj = json.loads(raw)
                    usage = _ollama_usage(obj) if ollama else \
                        _anthropic_usage(obj.get("usage") or {}) if anthropic else \
                        obj.get("usage") or {}
            rec["usage"] = bool(usage)
            rec["pt"] = int(usage.get("prompt_tokens", 0))
            rec["ct"] = int(usage.get("completion_tokens", 0))
            rec["cost"] = float(usage.get("cost_usd", 0.0))
            if resp.will_close:
                self.llm.close()
        except (socket.timeout, TimeoutError):
            rec["status"] = "timeout"
            self.llm.close()
        except ConnectionResetError:
            rec["status"] = "reset"
            self.llm.close()
        except (OSError, http.client.HTTPException, ValueError) as e:
            rec["status"] = "error"
            rec["error"] = type(e).__name__
            self.llm.close()
        rec["dur"] = round(time.monotonic() - t0, 6)
        return rec

    def _read_stream(self, resp, rec, t0, ollama=False, anthropic=False):
        usage = {}
        raw = {}
        for _ in range(100000):
            line = resp.readline()
            if not line:
                break
            if ollama:  # newline-delimited JSON; the counts in the last ("done") object
                if "ttft" not in rec:
                    rec["ttft"] = round(time.monotonic() - t0, 6)
                ev = json.loads(line)
                if ev.get("done"):
                    usage = _ollama_usage(ev)
                continue
            if not line.startswith(b"data:"):
                continue
            if "ttft" not in rec:
                rec["ttft"] = round(time.monotonic() - t0, 6)
            payload = line[5:].strip()
            if payload == b"[DONE]":
                continue
            ev = json.loads(payload)
            if anthropic:  # input side in message_start, output so far in message_delta
                raw.update((ev.get("message") or {}).get("usage") or {})
                raw.update(ev.get("usage") or {})
                usage = _anthropic_usage(raw)
            elif ev.get("usage"):
                usage = ev["usage"]
        return usage

    def report_app(self, queued, waited, ok, dur, cost):
        """One StatsD datagram on an LLM call: quality, queue length and wait, cost."""
        if not self.statsd:
            return
        score = max(0.5, 1.0 - dur / 20.0) if ok else 0.0
        self.quality += QUALITY_WEIGHT * (score - self.quality)
        # The instance tag lets swarmwatch weigh each instance by its own quality
        # (statsd.tags ["instance"]); without it the tag is ignored.
        lines = ["quality:%.4f|g|#instance:%s" % (self.quality, self.instance),
                 "queue_length:%d|g" % queued,
                 "queue_wait:%.3f|ms" % (waited * 1000.0)]
        if cost > 0:
            lines.append("cost_usd:%.8f|c" % cost)
        self.statsd.send(lines)

    def tool_call(self, kind):
        t0 = time.monotonic()
        ok = True
        try:
            if kind == "file":
                self._tool_file()
            elif kind == "subprocess":
                ok = self._tool_subprocess()
            else:
                ok = self._tool_http()
        except OSError:
            ok = False
        self.report({"type": "tool", "tool": kind, "ok": ok,
                     "dur": round(time.monotonic() - t0, 6)})

    def _tool_file(self):
        kib = int(sampling.draw_range(self.rng, self.cfg["behaviour"]["file_kib"]))
        self.nfile += 1
        path = os.path.join(self.workspace, "work-%d.txt" % (self.nfile % WORKSPACE_FILES))
        data = self.rng.randbytes(max(kib, 1) * 1024)
        with open(path, "wb") as f:
            f.write(data)
        with open(path, "rb") as f:
            back = f.read()
        os.listdir(self.workspace)
        return len(back) == len(data)

    def _tool_subprocess(self):
        import subprocess
        if self.nfile == 0:
            self._tool_file()
        path = os.path.join(self.workspace, "work-%d.txt" % (self.nfile % WORKSPACE_FILES))
        try:
            res = subprocess.run(["/bin/sh", "-c", 'wc -c "$1" >/dev/null && ls "$2" | wc -l',
                                  "sh", path, self.workspace],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, timeout=5)
        except subprocess.SubprocessError:
            return False
        return res.returncode == 0

    def _tool_http(self):
        rid = self.next_id("t")
        word = self.rng.choice(("parser", "tests", "config", "cache", "retry", "docs"))
        t0 = time.monotonic()
        rec = {"type": "request", "up": "tool", "id": rid, "t0": t0}
        try:
            conn = self.tool.connection()
            conn.request("GET", "/v1/tools/search?q=%s&pool=%s" % (word, self.pool),
                         headers={"X-Request-Id": rid, "X-Agentsim-Pool": self.pool,
                                  "User-Agent": "agentsim-agent/0.1"})
            resp = conn.getresponse()
            resp.read()
            rec["status"] = resp.status
            if resp.will_close:
                self.tool.close()
        except (socket.timeout, TimeoutError):
            rec["status"] = "timeout"
            self.tool.close()
        except ConnectionResetError:
            rec["status"] = "reset"
            self.tool.close()
        except (OSError, http.client.HTTPException) as e:
            rec["status"] = "error"
            rec["error"] = type(e).__name__
            self.tool.close()
        rec["dur"] = round(time.monotonic() - t0, 6)
        self.report(rec)
        return rec["status"] == 200

    def step(self):
        beh = self.cfg["behaviour"]
        load = max(float(self.cfg.get("load", 1.0)), 0.01)
        calls = sampling.draw_range(self.rng, beh["llm_calls"], integer=True)
        calls = min(MAX_CALLS_PER_STEP, max(1 if calls else 0, int(round(calls * load))))
        step_start = time.monotonic()
        for i in range(calls):
            if self.stopping:
                return
            waited = time.monotonic() - step_start
            ok, dur, cost = self.llm_call()
            self.report_app(calls - i - 1, waited, ok, dur, cost)
            self.tick()
        tools = sampling.draw_range(self.rng, beh["tool_calls"], integer=True)
        for _ in range(tools):
            if self.stopping:
                return
            kind = sampling.weighted_choice(self.rng, beh["tool_mix"]) or "file"
            self.tool_call(kind)
            self.tick()
        if float(beh.get("crash_prob", 0.0)) > 0 and \
                self.crash_rng.random() < float(beh["crash_prob"]):
            self.crash(int(beh.get("crash_exit_code", 3)), "random")
        self.wait(sampling.draw_range(self.rng, beh["think_ms"]) / 1000.0 / load)

    def run(self):
        threading.Thread(target=self.read_control, daemon=True).start()
        self.report({"type": "ready", "pid": os.getpid()})
        # Spread the first steps so instances do not march in lockstep.
        first = sampling.draw_range(self.rng, self.cfg["behaviour"]["think_ms"]) / 1000.0
        self.wait(float(self.cfg["behaviour"].get("start_delay_ms", 0)) / 1000.0 +
                  self.rng.uniform(0, first))
        for _ in range(10 ** 9):
            if self.stopping:
                break
            self.step()
        # From here on a late SIGTERM must not turn a clean exit into a kill.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        self.llm.close()
        self.tool.close()
        if self.statsd:
            self.statsd.close()
        if not self.orphaned:
            self.report({"type": "exit", "code": 0})
        return 0


def _read_init(timeout_s=10.0):
    """Read the first stdin line (the init message) within timeout_s."""
    buf = b""
    end = time.monotonic() + timeout_s
    while b"\n" not in buf:
        left = end - time.monotonic()
        if left <= 0:
            return None, b""
        ready, _, _ = select.select([0], [], [], left)
        if ready:
            data = os.read(0, 65536)
            if not data:
                return None, b""
            buf += data
    line, rest = buf.split(b"\n", 1)
    return json.loads(line), rest


def main(argv=None):
    """Entry point of `agentsim agent` (started by the supervisor only)."""
    if os.environ.get("SWARMWATCH_AGENT") is None:
        sys.stderr.write("agentsim agent: is started by `agentsim run`, not by hand\n")
        return 2
    try:
        init, rest = _read_init()
    except (OSError, ValueError) as e:
        sys.stderr.write("agentsim agent: bad init message: %s\n" % e)
        return 2
    if init is None:
        return 2
    agent = Agent(init)
    agent.inbuf = rest
    agent.handle_lines()
    return agent.run()
