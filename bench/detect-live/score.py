#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Score swarmwatch's anomaly episodes against agentsim's fault log.

score.py TRUTH.jsonl ANOMALIES.json [--grace S] [--json OUT]

TRUTH is agentsim's ground-truth log (--log), ANOMALIES the document that
swarmwatch's /api/v1/anomalies served once the run was over. An injected fault
is detected when an episode of one of its pools (swarmwatch agent = agentsim
pool) starts, or a departure joins one (its `noted` time), between the fault's
start and its end plus the grace period; its time to detection is the first such
time minus the fault's start, and its cause the episode's cause or that
departure's signal. Every episode that starts outside the faults is a false
verdict, counted against the agent-hours each pool spent
outside its fault windows (the time it ran, less the faults and their grace).
Prints a table, and with --json writes the figures.
"""
import argparse
import datetime
import json
import math
import sys


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def load_truth(path):
    faults, pools, t0, t1 = {}, set(), None, None
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            ev = e.get("event")
            if ev == "run_start":
                t0 = e["ts"]
                pools |= set(e.get("pools", {}))
            elif ev == "run_end":
                t1 = e["ts"]
            elif ev == "fault_start":
                key = (e["fault"], e.get("iteration", 0))
                faults[key] = {"fault": e["fault"], "kind": e["kind"], "pools": e["pools"],
                               "start": e["ts"], "end": None}
            elif ev == "fault_end":
                key = (e["fault"], e.get("iteration", 0))
                if key in faults:
                    faults[key]["end"] = e["ts"]
            elif ev == "instance_start":
                pools.add(e["pool"])
    if t0 is None:
        sys.exit("score.py: %s has no run_start line: is it agentsim's --log?" % path)
    for f in faults.values():
        if f["end"] is None:
            f["end"] = t1
    return t0, t1, pools, sorted(faults.values(), key=lambda f: f["start"])


def percentile(values, q):
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("truth")
    ap.add_argument("anomalies")
    ap.add_argument("--grace", type=float, default=30.0,
                    help="seconds after a fault's end in which its detection still counts")
    ap.add_argument("--json", help="write the figures to this file")
    a = ap.parse_args()

    t0, t1, pools, faults = load_truth(a.truth)
    with open(a.anomalies) as f:
        doc = json.load(f)
    episodes = []
    seen = set()
    for ep in doc.get("recent", []) + doc.get("current", []):
        key = (ep["agent"], ep["start"])
        if key in seen:
            continue
        seen.add(key)
        ep = dict(ep)
        ep["t"] = parse_time(ep["start"])
        if ep["t"] >= t0 and ep["agent"] in pools:
            episodes.append(ep)
    episodes.sort(key=lambda e: e["t"])

    used = set()
    rows = []
    for f in faults:
        hit, hit_t, hit_sig = None, None, None
        lo, hi = f["start"], f["end"] + a.grace
        for i, ep in enumerate(episodes):
            if ep["agent"] not in f["pools"]:
                continue
            # An episode that opens in the window, or a departure that joins one then.
            cands = []
            if lo <= ep["t"] <= hi:
                used.add(i)
                cands.append((ep["t"], ep.get("cause")))
            for d in ep.get("departed", []):
                t = parse_time(d["noted"]) if d.get("noted") else None
                if t is not None and lo <= t <= hi:
                    cands.append((t, d["signal"]))
            for t, sig in cands:
                if hit_t is None or t < hit_t:
                    hit, hit_t, hit_sig = ep, t, sig
        rows.append({"fault": f["fault"], "kind": f["kind"], "pools": f["pools"],
                     "start_s": round(f["start"] - t0, 1),
                     "detected": hit is not None,
                     "ttd_s": round(hit_t - f["start"], 1) if hit else None,
                     "cause": hit_sig,
                     "why": hit.get("why") if hit else None})
    false = [ep for i, ep in enumerate(episodes) if i not in used]
    clean_s = 0.0
    for p in pools:
        busy = 0.0
        for f in faults:
            if p in f["pools"]:
                busy += min(f["end"] + a.grace, t1) - f["start"]
        clean_s += max(0.0, (t1 - t0) - busy)
    ttd = [r["ttd_s"] for r in rows if r["detected"]]
    fast = [r["ttd_s"] for r in rows if r["detected"] and r["kind"] in ("crash", "oom")]
    out = {
        "faults": rows,
        "detected": sum(r["detected"] for r in rows),
        "injected": len(rows),
        "ttd_p95_s": percentile(ttd, 0.95),
        "ttd_max_crash_s": max(fast) if fast else None,
        "false_verdicts": [{"agent": e["agent"], "at_s": round(e["t"] - t0, 1),
                            "cause": e.get("cause"), "why": e.get("why")} for e in false],
        "clean_agent_hours": clean_s / 3600.0,
        "false_per_agent_hour": len(false) / (clean_s / 3600.0) if clean_s > 0 else None,
        "false_share": len(false) / len(episodes) if episodes else 0.0,
    }
    for r in rows:
        print("%-28s %-10s %-18s %7s s  %s" % (
            r["fault"], r["kind"], "detected" if r["detected"] else "MISSED",
            "-" if r["ttd_s"] is None else "%.1f" % r["ttd_s"], r["cause"] or ""))
    for e in out["false_verdicts"]:
        print("false verdict: %s at %.1f s: %s" % (e["agent"], e["at_s"], e["why"]))
    print("faults detected %d/%d, time to detection p95 %s s; false verdicts %d in %.3f "
          "fault-free agent-hours (%s per agent-hour), %.0f %% of verdicts" % (
              out["detected"], out["injected"],
              "-" if out["ttd_p95_s"] is None else "%.1f" % out["ttd_p95_s"],
              len(false), out["clean_agent_hours"],
              "-" if out["false_per_agent_hour"] is None
              else "%.1f" % out["false_per_agent_hour"], 100 * out["false_share"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
