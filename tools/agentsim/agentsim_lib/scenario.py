# SPDX-License-Identifier: MIT
"""Scenario files: loading, validation, the timeline and effective settings.

A scenario is a JSON object (see README.md, "Scenario format"):

  {"name": ..., "description": ..., "duration": 60, "loop": false, "seed": 1,
   "llm": {...}, "tools": {...}, "agent": {...},
   "pools": {"coder": {"instances": 2, "behaviour": {...}, "llm": {...}}, ...},
   "phases": [{"name": "baseline", "duration": 20, "faults": [...]}, ...]}

Everything here is pure (no I/O besides reading the file) so the timeline and
the settings in force at any instant can be tested without running agents.
"""

import copy
import difflib
import json
import os
import re

# Hard limits that hold whatever a scenario or the command line asks for.
MAX_RUN_S = 86400.0
MAX_POOL_INSTANCES = 1000
MAX_TOTAL_INSTANCES = 2000
MIN_PHASE_S = 0.1
MAX_TIMELINE_EVENTS = 200000

POOL_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

DEFAULT_LLM = {
    # Latency before the first byte of a response (the model "thinking").
    "latency": {"dist": "lognormal", "median_ms": 300, "p99_ms": 1500},
    # Extra time per completion token (generation speed).
    "per_token_ms": 1.0,
    # Completion tokens drawn per call, capped by the request's max_tokens.
    "completion_tokens": [40, 400],
    # Share of calls that fail, and how they fail (weights).
    "error_rate": 0.0,
    "error_kinds": {"429": 2, "500": 1, "503": 1, "reset": 1, "timeout": 1},
    # Failed calls answer after this share of the drawn latency.
    "error_latency_factor": 0.25,
    # A "timeout" fault holds the connection this long, then closes it.
    "timeout_hold_s": 30.0,
    "retry_after_s": 1,
    # Tokens per SSE chunk of a streamed response.
    "stream_chunk_tokens": 8,
    # Requests per minute per pool announced in x-ratelimit-* headers (OpenAI style).
    "ratelimit_requests": 10000,
    # USD per 1000 tokens, per model; "*" applies to models not listed.
    "pricing": {
        "*": {"prompt_per_1k": 0.0025, "completion_per_1k": 0.01},
        "sim-small": {"prompt_per_1k": 0.00015, "completion_per_1k": 0.0006},
        "sim-large": {"prompt_per_1k": 0.0025, "completion_per_1k": 0.01},
    },
}

DEFAULT_TOOLS = {
    "latency": {"dist": "uniform", "min_ms": 5, "max_ms": 40},
    "error_rate": 0.0,
    "response_kib": [1, 8],
}

DEFAULT_BEHAVIOUR = {
    # Sleep between steps; divided by the load factor.
    "think_ms": [300, 1500],
    # LLM calls per step; multiplied by the load factor.
    "llm_calls": [1, 2],
    # Tool calls per step and their kinds (weights).
    "tool_calls": [0, 2],
    "tool_mix": {"file": 3, "subprocess": 1, "http": 2},
    # Prompt size sent and max_tokens asked; both multiplied by the token factor.
    "prompt_tokens": [200, 1200],
    "max_tokens": [256, 512],
    # Share of LLM calls made with "stream": true.
    "stream_ratio": 0.0,
    # Share of streamed calls that ask for usage (stream_options.include_usage).
    "include_usage_ratio": 1.0,
    # Wait before the first step (a tracer that attaches to new processes is in place).
    "start_delay_ms": 0,
    # API shape of the calls: "openai" (POST /v1/chat/completions), "ollama" (/api/chat) or
    # "anthropic" (/v1/messages).
    "api": "openai",
    "model": "sim-large",
    # Size of the files a "file" tool call writes and reads back.
    "file_kib": [4, 32],
    # Client timeout and retries (429, 5xx, reset, timeout) of each LLM call.
    "timeout_s": 8.0,
    "max_retries": 2,
    # Chance per step that the agent exits with crash_exit_code on its own.
    "crash_prob": 0.0,
    "crash_exit_code": 3,
}

POOL_KEYS = {"instances", "max_instances", "restart_delay_s", "behaviour", "llm", "description"}
SCENARIO_KEYS = {"name", "description", "duration", "loop", "seed", "llm", "tools", "agent",
                 "pools", "phases", "extends"}
MAX_EXTENDS_DEPTH = 4
PHASE_KEYS = {"name", "duration", "description", "faults"}
FAULT_COMMON = {"kind", "pool", "start", "duration", "name", "description"}
FAULT_KINDS = {
    # more LLM calls and shorter think time per agent
    "load": {"factor"},
    # slower mock LLM answers for the pool
    "latency": {"factor", "add_ms"},
    # more failed LLM calls for the pool (or its first "instances" slots only)
    "errors": {"rate", "kinds", "instances"},
    # larger prompts and completions (cost surge)
    "tokens": {"factor"},
    # agents exit non-zero after a while; restarted agents crash again
    "crash": {"after_s", "exit_code", "instances"},
    # agents grow their resident memory steadily up to a cap
    "memory_hog": {"mb_per_s", "max_mb", "instances"},
    # agents spin on the CPU for a share of their time
    "cpu_hog": {"share", "instances"},
    # agents put in a memory-limited cgroup grow until the kernel's OOM killer kills them
    "oom": {"limit_mb", "mb_per_s", "instances"},
}

# oom faults: defaults, and the smallest memory limit an agent can start its hog under.
OOM_DEFAULTS = {"instances": 1, "limit_mb": 64, "mb_per_s": 64}
OOM_MIN_LIMIT_MB = 16
OOM_MAX_LIMIT_MB = 65536


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message says where and why."""


def _suggest(word, choices):
    close = difflib.get_close_matches(str(word), sorted(choices), n=1)
    return " (did you mean %r?)" % close[0] if close else ""


def _check_keys(obj, allowed, where):
    if not isinstance(obj, dict):
        raise ScenarioError("%s: expected an object" % where)
    for key in obj:
        if key not in allowed:
            raise ScenarioError("%s: unknown key %r%s" % (where, key, _suggest(key, allowed)))


def _number(val, where, minimum=None, maximum=None):
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        raise ScenarioError("%s: expected a number, got %r" % (where, val))
    if minimum is not None and val < minimum:
        raise ScenarioError("%s: must be >= %g" % (where, minimum))
    if maximum is not None and val > maximum:
        raise ScenarioError("%s: must be <= %g" % (where, maximum))
    return val


def _factor(val, where, minimum=0.0, maximum=1000.0):
    """A number, or a ramp {"from": a, "to": b} interpolated over the fault."""
    if isinstance(val, dict):
        _check_keys(val, {"from", "to"}, where)
        if "from" not in val or "to" not in val:
            raise ScenarioError("%s: a ramp needs both \"from\" and \"to\"" % where)
        _number(val["from"], where + ".from", minimum, maximum)
        _number(val["to"], where + ".to", minimum, maximum)
        return val
    return _number(val, where, minimum, maximum)


def _range(val, where, minimum=0.0):
    from . import sampling
    err = sampling.check_range(val, where, minimum)
    if err:
        raise ScenarioError(err)


def _weights(val, where, allowed=None):
    if not isinstance(val, dict) or not val:
        raise ScenarioError("%s: expected a non-empty object of weights" % where)
    for key, w in val.items():
        if allowed is not None and key not in allowed:
            raise ScenarioError("%s: unknown kind %r%s" % (where, key, _suggest(key, allowed)))
        _number(w, "%s.%s" % (where, key), 0)
    if sum(val.values()) <= 0:
        raise ScenarioError("%s: at least one weight must be > 0" % where)


ERROR_KINDS = ("429", "500", "503", "reset", "timeout")
TOOL_KINDS = ("file", "subprocess", "http")


def validate_llm(llm, where):
    """Check a (partial) mock LLM settings object."""
    from . import sampling
    _check_keys(llm, set(DEFAULT_LLM), where)
    if "latency" in llm:
        err = sampling.check_latency(llm["latency"], where + ".latency")
        if err:
            raise ScenarioError(err)
    for key in ("per_token_ms", "timeout_hold_s", "retry_after_s", "error_latency_factor"):
        if key in llm:
            _number(llm[key], "%s.%s" % (where, key), 0)
    if "timeout_hold_s" in llm:
        _number(llm["timeout_hold_s"], where + ".timeout_hold_s", 0, 300)
    if "stream_chunk_tokens" in llm:
        _number(llm["stream_chunk_tokens"], where + ".stream_chunk_tokens", 1, 4096)
    if "ratelimit_requests" in llm:
        _number(llm["ratelimit_requests"], where + ".ratelimit_requests", 1, 10 ** 9)
    if "completion_tokens" in llm:
        _range(llm["completion_tokens"], where + ".completion_tokens", 1)
    if "error_rate" in llm:
        _number(llm["error_rate"], where + ".error_rate", 0, 1)
    if "error_kinds" in llm:
        _weights(llm["error_kinds"], where + ".error_kinds", ERROR_KINDS)
    if "pricing" in llm:
        if not isinstance(llm["pricing"], dict):
            raise ScenarioError("%s.pricing: expected an object" % where)
        for model, price in llm["pricing"].items():
            w = "%s.pricing.%s" % (where, model)
            _check_keys(price, {"prompt_per_1k", "completion_per_1k"}, w)
            for key, val in price.items():
                _number(val, "%s.%s" % (w, key), 0)


def validate_tools(tools, where):
    from . import sampling
    _check_keys(tools, set(DEFAULT_TOOLS), where)
    if "latency" in tools:
        err = sampling.check_latency(tools["latency"], where + ".latency")
        if err:
            raise ScenarioError(err)
    if "error_rate" in tools:
        _number(tools["error_rate"], where + ".error_rate", 0, 1)
    if "response_kib" in tools:
        _range(tools["response_kib"], where + ".response_kib", 0)


def validate_behaviour(beh, where):
    _check_keys(beh, set(DEFAULT_BEHAVIOUR), where)
    for key in ("think_ms", "llm_calls", "tool_calls", "prompt_tokens", "max_tokens", "file_kib"):
        if key in beh:
            _range(beh[key], "%s.%s" % (where, key), 1 if key in ("prompt_tokens", "max_tokens")
                   else 0)
    if "tool_mix" in beh:
        _weights(beh["tool_mix"], where + ".tool_mix", TOOL_KINDS)
    if "api" in beh and beh["api"] not in ("openai", "ollama", "anthropic"):
        raise ScenarioError("%s.api: \"openai\", \"ollama\" or \"anthropic\", not %r"
                            % (where, beh["api"]))
    for key in ("stream_ratio", "include_usage_ratio", "crash_prob"):
        if key in beh:
            _number(beh[key], "%s.%s" % (where, key), 0, 1)
    if "start_delay_ms" in beh:
        _number(beh["start_delay_ms"], where + ".start_delay_ms", 0, 60000)
    if "timeout_s" in beh:
        _number(beh["timeout_s"], where + ".timeout_s", 0.05, 300)
    if "max_retries" in beh:
        _number(beh["max_retries"], where + ".max_retries", 0, 10)
    if "crash_exit_code" in beh:
        _number(beh["crash_exit_code"], where + ".crash_exit_code", 1, 255)
    if "model" in beh and not isinstance(beh["model"], str):
        raise ScenarioError("%s.model: expected a string" % where)


def _validate_fault(fault, where, pools, phase_duration):
    if not isinstance(fault, dict):
        raise ScenarioError("%s: expected an object" % where)
    kind = fault.get("kind")
    if kind not in FAULT_KINDS:
        raise ScenarioError("%s: unknown kind %r%s (one of %s)" % (
            where, kind, _suggest(kind, FAULT_KINDS), ", ".join(sorted(FAULT_KINDS))))
    _check_keys(fault, FAULT_COMMON | FAULT_KINDS[kind], where)
    target = fault.get("pool", "*")
    names = target if isinstance(target, list) else [target]
    for name in names:
        if name != "*" and name not in pools:
            raise ScenarioError("%s.pool: unknown pool %r%s" % (where, name, _suggest(name, pools)))
    start = _number(fault.get("start", 0), where + ".start", 0)
    if start >= phase_duration:
        raise ScenarioError("%s.start: %g s is not inside the phase (%g s long)" % (
            where, start, phase_duration))
    if "duration" in fault:
        _number(fault["duration"], where + ".duration", MIN_PHASE_S)
    if kind in ("load", "tokens"):
        if "factor" not in fault:
            raise ScenarioError("%s: a %s fault needs \"factor\"" % (where, kind))
        _factor(fault["factor"], where + ".factor", 0.01)
    elif kind == "latency":
        if "factor" not in fault and "add_ms" not in fault:
            raise ScenarioError("%s: a latency fault needs \"factor\" or \"add_ms\"" % where)
        if "factor" in fault:
            _factor(fault["factor"], where + ".factor", 0)
        if "add_ms" in fault:
            _factor(fault["add_ms"], where + ".add_ms", 0, 120000)
    elif kind == "errors":
        if "rate" not in fault:
            raise ScenarioError("%s: an errors fault needs \"rate\"" % where)
        _factor(fault["rate"], where + ".rate", 0, 1)
        if "kinds" in fault:
            _weights(fault["kinds"], where + ".kinds", ERROR_KINDS)
    elif kind == "crash":
        if "after_s" in fault:
            _range(fault["after_s"], where + ".after_s", 0)
        if "exit_code" in fault:
            _number(fault["exit_code"], where + ".exit_code", 1, 255)
    elif kind == "memory_hog":
        if "mb_per_s" in fault:
            _number(fault["mb_per_s"], where + ".mb_per_s", 0.1, 4096)
        if "max_mb" in fault:
            _number(fault["max_mb"], where + ".max_mb", 1, 65536)
    elif kind == "cpu_hog":
        if "share" in fault:
            _number(fault["share"], where + ".share", 0.05, 1)
    elif kind == "oom":
        if "limit_mb" in fault:
            _number(fault["limit_mb"], where + ".limit_mb", OOM_MIN_LIMIT_MB, OOM_MAX_LIMIT_MB)
        if "mb_per_s" in fault:
            if _number(fault["mb_per_s"], where + ".mb_per_s", None, 4096) <= 0:
                raise ScenarioError("%s.mb_per_s: must be > 0" % where)
        if "instances" in fault:
            n = _number(fault["instances"], where + ".instances", 1, MAX_POOL_INSTANCES)
            if int(n) != n:
                raise ScenarioError("%s.instances: expected an integer" % where)
    if kind in ("crash", "memory_hog", "cpu_hog", "errors") and fault.get("instances") is not None:
        _number(fault["instances"], where + ".instances", 1, MAX_POOL_INSTANCES)


def validate(doc, origin="scenario"):
    """Check a scenario document; raise ScenarioError naming the first problem."""
    _check_keys(doc, SCENARIO_KEYS, origin)
    if "duration" in doc:
        _number(doc["duration"], origin + ": duration", MIN_PHASE_S, MAX_RUN_S)
    if "seed" in doc and (isinstance(doc["seed"], bool) or not isinstance(doc["seed"], int)):
        raise ScenarioError("%s: seed: expected an integer" % origin)
    if "loop" in doc and not isinstance(doc["loop"], bool):
        raise ScenarioError("%s: loop: expected true or false" % origin)
    validate_llm(doc.get("llm", {}), origin + ": llm")
    validate_tools(doc.get("tools", {}), origin + ": tools")
    validate_behaviour(doc.get("agent", {}), origin + ": agent")
    pools = doc.get("pools")
    if not isinstance(pools, dict) or not pools:
        raise ScenarioError("%s: pools: expected a non-empty object of pools" % origin)
    total = 0
    for name, pool in pools.items():
        where = "%s: pools.%s" % (origin, name)
        if not POOL_NAME_RE.match(name):
            raise ScenarioError("%s: pool names use letters, digits, '_', '.', '-' (1-64)" % where)
        _check_keys(pool, POOL_KEYS, where)
        n = _number(pool.get("instances", 1), where + ".instances", 0, MAX_POOL_INSTANCES)
        if int(n) != n:
            raise ScenarioError("%s.instances: expected an integer" % where)
        mx = _number(pool.get("max_instances", MAX_POOL_INSTANCES), where + ".max_instances", 0,
                     MAX_POOL_INSTANCES)
        if n > mx:
            raise ScenarioError("%s: instances %d is above max_instances %d" % (where, n, mx))
        total += n
        if "restart_delay_s" in pool:
            _number(pool["restart_delay_s"], where + ".restart_delay_s", 0, 3600)
        validate_behaviour(pool.get("behaviour", {}), where + ".behaviour")
        validate_llm(pool.get("llm", {}), where + ".llm")
    if total > MAX_TOTAL_INSTANCES:
        raise ScenarioError("%s: %d instances in all, above the limit of %d" % (
            origin, total, MAX_TOTAL_INSTANCES))
    phases = doc.get("phases")
    if phases is None:
        return
    if not isinstance(phases, list) or not phases:
        raise ScenarioError("%s: phases: expected a non-empty list" % origin)
    seen = set()
    for i, phase in enumerate(phases):
        where = "%s: phases[%d]" % (origin, i)
        _check_keys(phase, PHASE_KEYS, where)
        if not isinstance(phase.get("name"), str) or not phase["name"]:
            raise ScenarioError("%s: name: expected a non-empty string" % where)
        if phase["name"] in seen:
            raise ScenarioError("%s: name %r is used twice" % (where, phase["name"]))
        seen.add(phase["name"])
        if "duration" not in phase:
            raise ScenarioError("%s: duration is required" % where)
        dur = _number(phase["duration"], where + ".duration", MIN_PHASE_S, MAX_RUN_S)
        faults = phase.get("faults", [])
        if not isinstance(faults, list):
            raise ScenarioError("%s.faults: expected a list" % where)
        for j, fault in enumerate(faults):
            _validate_fault(fault, "%s.faults[%d]" % (where, j), pools, dur)


def scenarios_dir():
    """Folder of the scenarios shipped with agentsim."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scenarios")


def list_scenarios():
    """Return [(name, path)] of the shipped scenarios, sorted by name."""
    out = []
    d = scenarios_dir()
    for fn in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if fn.endswith(".json"):
            out.append((fn[:-5], os.path.join(d, fn)))
    return out


def resolve(name_or_file):
    """Map a scenario argument (a shipped name or a file path) to a path."""
    if os.path.sep in name_or_file or name_or_file.endswith(".json") or \
            os.path.isfile(name_or_file):
        return name_or_file
    names = dict(list_scenarios())
    if name_or_file in names:
        return names[name_or_file]
    raise ScenarioError("unknown scenario %r%s; `agentsim list` shows the shipped ones, or "
                        "pass a path to a JSON file" % (name_or_file,
                                                        _suggest(name_or_file, names)))


def _read(path):
    try:
        with open(path, "r", encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise ScenarioError("cannot read scenario %s: %s" % (path, e.strerror or e))
    except ValueError as e:
        raise ScenarioError("scenario %s is not valid JSON: %s" % (path, e))
    if not isinstance(doc, dict):
        raise ScenarioError("scenario %s: expected a JSON object" % path)
    return doc


def expand(doc, path, depth=0):
    """Resolve "extends": the named scenario's top-level keys, overridden by doc's.

    The base is looked up next to the file first, then among the shipped
    scenarios.  "name", "description" and "phases" are never inherited.
    """
    base_name = doc.get("extends")
    if base_name is None:
        return doc
    if not isinstance(base_name, str):
        raise ScenarioError("%s: extends: expected a scenario name" % os.path.basename(path))
    if depth >= MAX_EXTENDS_DEPTH:
        raise ScenarioError("%s: extends: more than %d levels (a cycle?)" % (
            os.path.basename(path), MAX_EXTENDS_DEPTH))
    local = os.path.join(os.path.dirname(os.path.abspath(path)),
                         base_name if base_name.endswith(".json") else base_name + ".json")
    base_path = local if os.path.isfile(local) else resolve(base_name)
    base = expand(_read(base_path), base_path, depth + 1)
    out = {k: v for k, v in base.items() if k not in ("name", "description", "phases",
                                                       "duration", "extends")}
    out.update({k: v for k, v in doc.items() if k != "extends"})
    return out


def load(name_or_file):
    """Load, validate and normalise a scenario; return a Scenario."""
    path = resolve(name_or_file)
    doc = expand(_read(path), path)
    return Scenario(doc, origin=os.path.basename(path))


# Settings objects merged key by key; every other object (weights, latency
# distributions) replaces the inherited one as a whole.
_MERGED_KEYS = ("pricing",)


def _merge(base, over):
    out = copy.deepcopy(base)
    for key, val in (over or {}).items():
        if key in _MERGED_KEYS and isinstance(val, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], val)
        else:
            out[key] = copy.deepcopy(val)
    return out


class Phase:
    def __init__(self, index, doc):
        self.index = index
        self.name = doc["name"]
        self.duration = float(doc["duration"])
        self.description = doc.get("description", "")
        self.faults = [Fault(self, j, f) for j, f in enumerate(doc.get("faults", []))]


class Fault:
    def __init__(self, phase, index, doc):
        self.phase = phase
        self.index = index
        self.doc = doc
        self.kind = doc["kind"]
        target = doc.get("pool", "*")
        self.pools = target if isinstance(target, list) else [target]
        self.name = doc.get("name") or "%s/%s" % (self.kind, ",".join(self.pools))
        self.start = float(doc.get("start", 0))
        self.duration = min(float(doc.get("duration", phase.duration - self.start)),
                            phase.duration - self.start)

    def params(self):
        """The kind-specific settings, as written in the scenario."""
        return {k: v for k, v in self.doc.items() if k not in FAULT_COMMON}

    def applies_to(self, pool):
        return "*" in self.pools or pool in self.pools

    def oom_spec(self):
        """An oom fault's settings with their defaults: instances, limit_mb, mb_per_s."""
        out = dict(OOM_DEFAULTS)
        out.update({k: self.doc[k] for k in OOM_DEFAULTS if k in self.doc})
        return {"instances": int(out["instances"]), "limit_mb": float(out["limit_mb"]),
                "mb_per_s": float(out["mb_per_s"])}


class Event:
    """One timeline event: a phase or fault starts or ends at offset t."""

    ORDER = {"fault_end": 0, "phase_end": 1, "phase_start": 2, "fault_start": 3}

    def __init__(self, t, kind, phase, iteration, fault=None, planned_end=None,
                 truncated=False):
        self.t = t
        self.kind = kind
        self.phase = phase
        self.iteration = iteration
        self.fault = fault
        self.planned_end = planned_end
        self.truncated = truncated

    def key(self):
        return (self.t, self.ORDER[self.kind], self.phase.index,
                self.fault.index if self.fault else -1)

    def __repr__(self):
        return "Event(%.3f, %s, %s%s)" % (self.t, self.kind, self.phase.name,
                                          "/" + self.fault.name if self.fault else "")


class Scenario:
    """A validated scenario with defaults filled in."""

    def __init__(self, doc, origin="scenario"):
        validate(doc, origin)
        self.doc = doc
        self.origin = origin
        self.name = doc.get("name") or os.path.splitext(origin)[0]
        self.description = doc.get("description", "")
        self.seed = int(doc.get("seed", 1))
        self.loop = bool(doc.get("loop", False))
        self.llm = _merge(DEFAULT_LLM, doc.get("llm"))
        self.tools = _merge(DEFAULT_TOOLS, doc.get("tools"))
        self.behaviour = _merge(DEFAULT_BEHAVIOUR, doc.get("agent"))
        self.pools = {}
        for name, pool in doc["pools"].items():
            self.pools[name] = {
                "instances": int(pool.get("instances", 1)),
                "max_instances": int(pool.get("max_instances", MAX_POOL_INSTANCES)),
                "restart_delay_s": float(pool.get("restart_delay_s", 1.0)),
                "behaviour": _merge(self.behaviour, pool.get("behaviour")),
                "llm": _merge(self.llm, pool.get("llm")),
                "description": pool.get("description", ""),
            }
        phases = doc.get("phases")
        if phases is None:
            phases = [{"name": "steady", "duration": float(doc.get("duration", 60))}]
        self.phases = [Phase(i, p) for i, p in enumerate(phases)]
        self.period = sum(p.duration for p in self.phases)
        self.duration = float(doc.get("duration", self.period))

    def has_oom(self, run_s):
        """True when a run of run_s seconds starts an oom fault (it needs cgroups)."""
        return any(ev.kind == "fault_start" and ev.fault.kind == "oom"
                   for ev in self.timeline(run_s))

    def timeline(self, run_s):
        """Return the sorted list of Events of a run lasting run_s seconds.

        Phases run one after another (again and again with "loop": true).  A
        phase or fault that would start at or after run_s never starts; one
        that would end after run_s ends at run_s with truncated=True.
        """
        events = []
        base = 0.0
        iteration = 0
        while base < run_s:
            offset = base
            for phase in self.phases:
                start = offset
                offset += phase.duration
                if start >= run_s:
                    break
                end = min(offset, run_s)
                events.append(Event(start, "phase_start", phase, iteration, planned_end=offset))
                events.append(Event(end, "phase_end", phase, iteration, planned_end=offset,
                                    truncated=offset > run_s))
                for fault in phase.faults:
                    fs = start + fault.start
                    fe = fs + fault.duration
                    if fs >= end:
                        continue
                    events.append(Event(fs, "fault_start", phase, iteration, fault, fe))
                    events.append(Event(min(fe, run_s), "fault_end", phase, iteration, fault, fe,
                                        truncated=fe > run_s))
                if len(events) > MAX_TIMELINE_EVENTS:
                    raise ScenarioError("%s: the timeline of a %g s run has more than %d events;"
                                        " shorten the run or lengthen the phases" % (
                                            self.origin, run_s, MAX_TIMELINE_EVENTS))
            iteration += 1
            base += self.period
            if not self.loop:
                break
        events.sort(key=Event.key)
        return events


def _ramp(val, t, start, end):
    """Value of a number or ramp {"from", "to"} at offset t of [start, end]."""
    if not isinstance(val, dict):
        return float(val)
    span = end - start
    x = 1.0 if span <= 0 else min(max((t - start) / span, 0.0), 1.0)
    return float(val["from"]) + (float(val["to"]) - float(val["from"])) * x


def effective(scenario, active, t):
    """Settings in force at run offset t, given the active faults.

    active is a list of (Fault, start, planned_end) in run offsets.  Returns
    {pool: {"agent": {...}, "llm": {...}}} where "agent" is what the pool's
    agents receive (behaviour, load and token factors, crash and memory_hog
    specs) and "llm" the mock server's profile for the pool's calls.
    """
    out = {}
    for name, pool in scenario.pools.items():
        agent = {"behaviour": pool["behaviour"], "load": 1.0, "tokens": 1.0,
                 "crash": None, "memory_hog": None, "cpu_hog": None}
        llm = dict(pool["llm"])
        llm.update({"latency_factor": 1.0, "latency_add_ms": 0.0, "token_factor": 1.0})
        error_rates = []
        error_slots = []  # per errors fault: its "instances", None for the whole pool
        for fault, start, end in active:
            if not fault.applies_to(name):
                continue
            d = fault.doc
            if fault.kind == "load":
                agent["load"] *= _ramp(d["factor"], t, start, end)
            elif fault.kind == "tokens":
                f = _ramp(d["factor"], t, start, end)
                agent["tokens"] *= f
                llm["token_factor"] *= f
            elif fault.kind == "latency":
                if "factor" in d:
                    llm["latency_factor"] *= _ramp(d["factor"], t, start, end)
                if "add_ms" in d:
                    llm["latency_add_ms"] += _ramp(d["add_ms"], t, start, end)
            elif fault.kind == "errors":
                error_rates.append(_ramp(d["rate"], t, start, end))
                error_slots.append(d.get("instances"))
                if "kinds" in d:
                    llm["error_kinds"] = dict(d["kinds"])
            elif fault.kind == "crash":
                agent["crash"] = {"after_s": d.get("after_s", [1, 3]),
                                  "exit_code": int(d.get("exit_code", 3)),
                                  "instances": d.get("instances"), "fault": fault.name}
            elif fault.kind == "memory_hog":
                agent["memory_hog"] = {"mb_per_s": float(d.get("mb_per_s", 32)),
                                       "max_mb": float(d.get("max_mb", 256)),
                                       "instances": d.get("instances", 1), "fault": fault.name}
            elif fault.kind == "cpu_hog":
                agent["cpu_hog"] = {"share": float(d.get("share", 0.8)),
                                    "instances": d.get("instances", 1), "fault": fault.name}
            # An oom fault changes no setting: the supervisor arms each instance itself
            # (a cgroup, then an "oom" entry in that instance's config).
        if error_rates:
            # Slots at or above error_instances keep the pool's own rate (base).
            llm["error_rate_base"] = float(llm.get("error_rate", 0.0))
            llm["error_rate"] = max(error_rates)
            if None not in error_slots:
                llm["error_instances"] = int(max(error_slots))
        agent["load"] = round(agent["load"], 4)
        agent["tokens"] = round(agent["tokens"], 4)
        for key in ("latency_factor", "latency_add_ms", "token_factor", "error_rate"):
            llm[key] = round(float(llm[key]), 4)
        out[name] = {"agent": agent, "llm": llm}
    return out


def agent_config(pool_settings, slot):
    """The per-instance part of a pool's agent settings (crash/hog by slot)."""
    agent = dict(pool_settings["agent"])
    for key in ("crash", "memory_hog", "cpu_hog"):
        spec = agent.get(key)
        if spec is not None and spec.get("instances") is not None and slot >= spec["instances"]:
            agent[key] = None
    return agent
