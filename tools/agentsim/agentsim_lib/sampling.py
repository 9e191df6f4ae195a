# SPDX-License-Identifier: MIT
"""Seeded random draws shared by the mock servers and the agents.

Every random choice in agentsim comes from a random.Random seeded with a string
built from the run seed and a stable name (pool, slot, request id).  String
seeds are hashed with SHA-512 by the random module, so the draws do not depend
on PYTHONHASHSEED, on the order of threads or on the platform.
"""

import math
import random

# Upper bound on any simulated latency, whatever the scenario says.
MAX_LATENCY_S = 120.0

LATENCY_KINDS = ("fixed", "uniform", "normal", "lognormal", "exponential")

# z-score of the 99th percentile of the standard normal distribution.
_Z99 = 2.3263478740408408


def rng_for(*parts):
    """Return a random.Random seeded from the parts joined with ':'."""
    return random.Random(":".join(str(p) for p in parts))


def draw_range(rng, spec, integer=False):
    """Draw from a number (constant) or a [low, high] pair (uniform).

    With integer=True the result is an int drawn uniformly from the closed
    interval.  A missing spec (None) draws 0.
    """
    if spec is None:
        return 0
    if isinstance(spec, (int, float)):
        return int(round(spec)) if integer else float(spec)
    low, high = spec
    if high < low:
        low, high = high, low
    if integer:
        return rng.randint(int(round(low)), int(round(high)))
    return rng.uniform(low, high)


def check_range(spec, what, minimum=0.0):
    """Validate a number or [low, high] pair; return an error string or None."""
    if isinstance(spec, bool):
        return "%s: expected a number or [low, high], got a boolean" % what
    if isinstance(spec, (int, float)):
        if spec < minimum:
            return "%s: must be >= %g" % (what, minimum)
        return None
    if (isinstance(spec, list) and len(spec) == 2 and
            all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in spec)):
        if min(spec) < minimum:
            return "%s: values must be >= %g" % (what, minimum)
        return None
    return "%s: expected a number or [low, high], got %r" % (what, spec)


def check_latency(spec, what):
    """Validate a latency distribution object; return an error string or None."""
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return None if spec >= 0 else "%s: must be >= 0" % what
    if not isinstance(spec, dict):
        return "%s: expected an object such as {\"dist\": \"fixed\", \"ms\": 100}" % what
    kind = spec.get("dist", "fixed")
    need = {
        "fixed": ("ms",),
        "uniform": ("min_ms", "max_ms"),
        "normal": ("mean_ms", "stddev_ms"),
        "lognormal": ("median_ms",),
        "exponential": ("mean_ms",),
    }
    if kind not in need:
        return "%s: unknown dist %r (one of %s)" % (what, kind, ", ".join(LATENCY_KINDS))
    for key in need[kind]:
        if key not in spec:
            return "%s: dist %r needs %r" % (what, kind, key)
    for key, val in spec.items():
        if key == "dist":
            continue
        if not isinstance(val, (int, float)) or isinstance(val, bool) or val < 0:
            return "%s: %r must be a number >= 0" % (what, key)
    if kind == "lognormal" and "p99_ms" in spec and spec["p99_ms"] < spec["median_ms"]:
        return "%s: p99_ms must be >= median_ms" % what
    return None


def lognormal_sigma(spec):
    """Shape parameter of a lognormal spec (from sigma or from p99_ms)."""
    if "sigma" in spec:
        return float(spec["sigma"])
    median = float(spec["median_ms"])
    p99 = float(spec.get("p99_ms", median))
    if median <= 0 or p99 <= median:
        return 0.0
    return math.log(p99 / median) / _Z99


def draw_latency(rng, spec):
    """Draw one latency in seconds from a distribution spec.

    spec is a number of milliseconds (fixed) or an object with "dist" one of
    fixed {ms}, uniform {min_ms, max_ms}, normal {mean_ms, stddev_ms},
    lognormal {median_ms, p99_ms | sigma}, exponential {mean_ms}.  Results are
    clamped to [0, MAX_LATENCY_S].
    """
    if spec is None:
        return 0.0
    if isinstance(spec, (int, float)):
        ms = float(spec)
    else:
        kind = spec.get("dist", "fixed")
        if kind == "fixed":
            ms = float(spec["ms"])
        elif kind == "uniform":
            ms = rng.uniform(float(spec["min_ms"]), float(spec["max_ms"]))
        elif kind == "normal":
            ms = rng.gauss(float(spec["mean_ms"]), float(spec["stddev_ms"]))
        elif kind == "lognormal":
            median = float(spec["median_ms"])
            ms = median * math.exp(rng.gauss(0.0, lognormal_sigma(spec))) if median > 0 else 0.0
        elif kind == "exponential":
            mean = float(spec["mean_ms"])
            ms = rng.expovariate(1.0 / mean) if mean > 0 else 0.0
        else:
            raise ValueError("unknown latency dist %r" % kind)
    return min(max(ms / 1000.0, 0.0), MAX_LATENCY_S)


def weighted_choice(rng, weights):
    """Pick a key of a {key: weight} dict with probability proportional to weight.

    Keys are visited in sorted order so the draw is reproducible.  Returns None
    when all weights are zero.
    """
    items = sorted((k, float(w)) for k, w in weights.items() if float(w) > 0)
    total = sum(w for _, w in items)
    if total <= 0:
        return None
    x = rng.random() * total
    for key, w in items:
        x -= w
        if x < 0:
            return key
    return items[-1][0]
