#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""isolate.py SCENARIO OUT SUFFIX: a copy of an agentsim scenario whose pools are
renamed <pool>-<SUFFIX>, faults included, so that its agents are told apart from
those of any other agentsim run on the host (swarmwatch names agents by pool).

SCENARIO is a shipped name or a file; its `extends` chain is resolved here.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHIPPED = os.path.join(HERE, "..", "..", "tools", "agentsim", "scenarios")


def load(name, base=SHIPPED):
    path = name if name.endswith(".json") else os.path.join(SHIPPED, name + ".json")
    if not os.path.isabs(path) and not os.path.exists(path):
        path = os.path.join(base, path)
    with open(path) as f:
        doc = json.load(f)
    parent = doc.pop("extends", None)
    if parent:
        up = load(parent, os.path.dirname(path))
        for key in ("llm", "tools", "agent", "pools", "seed", "loop"):
            if key in up and key not in doc:
                doc[key] = up[key]
    return doc


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: isolate.py SCENARIO OUT SUFFIX")
    doc = load(sys.argv[1])
    suffix = sys.argv[3]
    names = {p: "%s-%s" % (p, suffix) for p in doc.get("pools", {})}
    doc["pools"] = {names[p]: v for p, v in doc["pools"].items()}
    for phase in doc.get("phases", []):
        for fault in phase.get("faults", []):
            pool = fault.get("pool", "*")
            if isinstance(pool, list):
                fault["pool"] = [names[p] for p in pool]
            elif pool != "*":
                fault["pool"] = names[pool]
    with open(sys.argv[2], "w") as f:
        json.dump(doc, f, indent=1)


if __name__ == "__main__":
    main()
