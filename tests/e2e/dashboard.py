#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Drives headless Chromium over the DevTools protocol (on a pipe: --remote-debugging-pipe,
messages are JSON ended by a NUL) through the swarmwatch dashboard, and prints TAP.

usage: dashboard.py URL AGENT HOSTILE_AGENT ARTIFACT_DIR
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser  # noqa: E402

url, agent, hostile, artifacts = sys.argv[1:5]
n = 0
failed = 0


def ok(cond, name, why=""):
    global n, failed
    n += 1
    if cond:
        print("ok %d - %s" % (n, name))
    else:
        failed += 1
        print("not ok %d - %s" % (n, name))
        if why:
            print("# " + str(why).replace("\n", "\n# "))
    sys.stdout.flush()


print("1..15")
profile = tempfile.mkdtemp(prefix="swarmwatch-chromium-")
b = Browser(profile)
try:
    b.open_page()
    b.call("Page.navigate", {"url": url})
    live = b.wait("document.getElementById('status').textContent.startsWith('live')", 10)
    time.sleep(2)
    errs = b.errors()
    ok(live and not errs, "the page loads and goes live with no console errors",
       "errors: %s; status: %r" % (errs, b.js("document.getElementById('status').textContent")))

    rows = "[...document.querySelectorAll('#rows tr')].map(r => r.dataset.agent)"
    names = b.wait("(%s).includes(%s) && %s" % (rows, json.dumps(agent), rows), 10) or []
    ok(agent in names, "the overview lists the probe agent", names)

    status = b.js("document.getElementById('status').textContent")
    changed = b.wait("document.getElementById('status').textContent !== %s" % json.dumps(status), 2)
    cpu = "document.querySelector('#rows tr[data-agent=%s] td:nth-child(7)').textContent" % \
        json.dumps(agent)
    c0 = b.js(cpu)
    c1 = b.wait("(%s) !== %s && (%s)" % (cpu, json.dumps(c0), cpu), 4)
    ok(changed and c1, "live values change within 2 s (tick and the agent's CPU)",
       "status %r, cpu %r then %r" % (status, c0, c1))

    # The hostile name is text everywhere: no element comes of it.
    esc = b.js("""(() => {
        const r = [...document.querySelectorAll('#rows tr')].find(r => r.dataset.agent === %s);
        return !!r && r.cells[0].textContent === %s && !document.querySelector('#rows img');
    })()""" % (json.dumps(hostile), json.dumps(hostile)))
    raw = b.js("fetch('/').then(r => r.text())")
    ok(esc and "<img" not in raw.split("<tbody", 1)[1], "agent names are escaped (server rows "
       "and live rows)", "in table: %s" % esc)

    b.screenshot(1280, 900, False, os.path.join(artifacts, "dashboard-overview.png"))
    # Sorted by name at first; one click on the header turns it descending.
    b.js("document.querySelector('#agents th[data-key=agent]').click()")
    order = b.js("""[...document.querySelectorAll('#rows tr:not(.gone)')].map(r => r.dataset.agent)""")
    desc = b.js("""(() => { const o = %s;
        return o.length > 2 && o.every((x, i) => !i || o[i - 1].localeCompare(x) >= 0); })()""" %
        json.dumps(order))
    b.js("""(() => { const f = document.getElementById('filter'); f.value = %s;
        f.dispatchEvent(new Event('input')); })()""" % json.dumps(agent))
    filtered = b.js(rows)
    b.js("""(() => { const f = document.getElementById('filter'); f.value = '';
        f.dispatchEvent(new Event('input')); })()""")
    ok(desc and filtered == [agent],
       "sorting by a column and filtering by name", "order %s; filtered %s" % (order, filtered))

    b.js("document.querySelector('#rows tr[data-agent=%s]').click()" % json.dumps(agent))
    opened = b.wait("""!document.getElementById('detail').hidden &&
        document.getElementById('dname').textContent === %s &&
        document.querySelectorAll('#charts .chart').length === 5""" % json.dumps(agent), 3)
    charts = b.js("document.querySelectorAll('#charts canvas').length")
    ups = b.wait("document.querySelectorAll('#upstreams tbody tr').length", 3)
    ok(opened and charts >= 5 and ups, "drill-down opens with 5 charts and the upstream table",
       "opened %s, canvases %s, upstream rows %s" % (opened, charts, ups))

    # History: the 1 h range reads the series store (in memory here).
    b.js("""(() => { const r = document.getElementById('range'); r.value = '3600';
        r.dispatchEvent(new Event('change')); })()""")
    note = b.wait("""(() => { const t = document.getElementById('rangenote').textContent;
        return /points from the series store/.test(t) && t; })()""", 10)
    pts = int(note.split()[0]) if note else 0
    b.js("""(() => { const r = document.getElementById('range'); r.value = 'live';
        r.dispatchEvent(new Event('change')); })()""")
    ok(pts > 0, "the 1 h range draws the agent's history from /api/v1/query_range",
       b.js("document.getElementById('rangenote').textContent"))

    csv = b.js("""(async () => {
        let blob = null;
        const keep = URL.createObjectURL;
        URL.createObjectURL = (b) => { blob = b; return keep(b); };
        document.querySelector('#chart-requests button').click();
        URL.createObjectURL = keep;
        return blob ? await blob.text() : null;
    })()""")
    lines = (csv or "").splitlines()
    ok(len(lines) >= 3 and lines[0] == "time,requests_per_second" and
       all(len(l.split(",")) == 2 for l in lines[1:]),
       "a chart's data exports as CSV", (csv or "")[:300])

    # The agent's incident (its alert fired) on a timeline, the likely cause named.
    inc = b.wait("""(() => { const li = document.querySelector('#incidents > li');
        return !!li && !!li.querySelector('ol li.first') &&
            li.querySelector('.cause').textContent; })()""", 15)
    ok(bool(inc) and inc.startswith("likely cause: "),
       "the drill-down shows the agent's incidents on a timeline with the likely cause",
       inc or b.js("document.getElementById('incnote').textContent"))
    # Cost per pool: the probe is a pool, priced.
    pool = b.wait("""(() => { const r = document.querySelector('#pools tr[data-pool=%s]');
        return !document.getElementById('poolcost').hidden && !!r &&
            [...r.cells].map(c => c.textContent); })()""" % json.dumps(agent), 12)
    ok(bool(pool) and pool[1] == "1" and pool[3].startswith("$") and pool[4] == "$5.00",
       "cost per pool lists the probe's pool with its replicas, spend and budget", pool)

    # The pool view of the open agent: its instance's breaker and weight, its scaling decision.
    inst = b.wait("""(() => { const r = document.querySelector('#instances tbody tr:not(.gone)');
        return !document.getElementById('poolview').hidden && !!r &&
            [...r.cells].map(c => c.textContent); })()""", 10)
    ok(bool(inst) and inst[1].split(" ")[0] in ("closed", "open", "half-open") and
       inst[3].endswith(" %"),
       "the pool view shows the probe's instance with its breaker state and routing weight",
       inst or b.js("document.getElementById('poolsum').textContent"))
    ev = b.wait("""(() => { const li = document.querySelector('#scaling > li.up');
        return !!li && li.textContent; })()""", 10)
    ok(bool(ev) and "up 1 → 2" in ev and "rule grow" in ev,
       "the pool view shows the probe's scaling decision in its history",
       ev or b.js("document.getElementById('scalenote').textContent"))

    # A second instance of the pool that lives 4 s: listed live, then greyed as gone.
    extra = subprocess.Popen(["sleep", "4"], env=dict(os.environ, SWARMWATCH_AGENT=agent))
    inst_row = "document.querySelector('#instances tr[data-instance=\"%d\"]')" % extra.pid
    seen = b.wait("!!%s && !%s.classList.contains('gone')" % (inst_row, inst_row), 6)
    extra.wait()
    gone = b.wait("!!%s && %s.classList.contains('gone') && %s.cells[3].textContent" %
                  (inst_row, inst_row, inst_row), 6)
    ok(seen and gone == "–", "an instance of the pool that exits stays listed, greyed",
       "seen live %s, then %r; rows %s" % (seen, gone, b.js(
           "[...document.querySelectorAll('#instances tbody tr')].map(r => r.className + ' ' + "
           "r.textContent)")))

    b.screenshot(1280, 900, False, os.path.join(artifacts, "dashboard-desktop.png"))
    b.screenshot(390, 844, True, os.path.join(artifacts, "dashboard-phone.png"))
    over = b.js("document.documentElement.scrollWidth - window.innerWidth")
    b.js("document.getElementById('poolview').scrollIntoView()")
    b.screenshot(390, 844, True, os.path.join(artifacts, "dashboard-pool-phone.png"))
    b.screenshot(1280, 900, False, os.path.join(artifacts, "dashboard-pool.png"))
    ok(over <= 1, "at phone width (390 px) the page does not scroll sideways",
       "overflows by %s px" % over)
    errs = b.errors()
    ok(not errs and os.path.getsize(os.path.join(artifacts, "dashboard-phone.png")) > 1000,
       "no console errors through the session; screenshots saved", errs)
except Exception as e:
    print("# %s: %s" % (type(e).__name__, e))
    while n < 15:
        ok(False, "not reached")
finally:
    b.close()
    subprocess.run(["rm", "-rf", profile])
sys.exit(1 if failed else 0)
