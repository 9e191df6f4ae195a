#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Drives headless Chromium over the DevTools protocol (on a pipe: --remote-debugging-pipe,
messages are JSON ended by a NUL) through the swarmwatch dashboard, and prints TAP.

usage: dashboard.py URL AGENT HOSTILE_AGENT ARTIFACT_DIR
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time

url, agent, hostile, artifacts = sys.argv[1:5]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--remote-debugging-pipe"]
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


class Browser:
    def __init__(self, profile):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        # Chromium reads commands on fd 3 and writes answers on fd 4.
        def fds():
            # Through fresh numbers: dup2 onto the same number would keep close-on-exec.
            r, w = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(r, 3)
            os.dup2(w, 4)
        self.proc = subprocess.Popen(["chromium"] + FLAGS + ["--user-data-dir=" + profile,
                                     "about:blank"], preexec_fn=fds, close_fds=False,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.id = 0
        self.events = []
        self.session = None

    def _read(self, deadline):
        while b"\0" not in self.buf:
            if time.time() > deadline:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self.from_chrome, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=True, timeout=20):
        self.id += 1
        msg = {"id": self.id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self.id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def js(self, expr, timeout=20):
        r = self.call("Runtime.evaluate", {"expression": expr, "awaitPromise": True,
                                           "returnByValue": True}, timeout=timeout)
        if "exceptionDetails" in r:
            raise RuntimeError("page: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def wait(self, expr, seconds):
        end = time.time() + seconds
        while time.time() < end:
            try:
                v = self.js(expr)
            except RuntimeError:  # the page is not there yet
                v = None
            if v:
                return v
            time.sleep(0.1)
        return None

    def errors(self):
        errs = []
        for m in self.events:
            p = m.get("params", {})
            if m.get("method") == "Runtime.exceptionThrown":
                errs.append(p["exceptionDetails"].get("exception", {}).get("description") or
                            p["exceptionDetails"].get("text"))
            elif m.get("method") == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errs.append(" ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
            elif m.get("method") == "Log.entryAdded" and p["entry"]["level"] == "error":
                errs.append(p["entry"]["text"] + " " + p["entry"].get("url", ""))
        return errs

    def screenshot(self, width, height, mobile, path):
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                  "deviceScaleFactor": 1, "mobile": mobile})
        time.sleep(1.2)  # a tick or so, and the charts resize
        png = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False})
        with open(path, "wb") as f:
            f.write(base64.b64decode(png["data"]))

    def close(self):
        try:
            self.call("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


print("1..9")
profile = tempfile.mkdtemp(prefix="swarmwatch-chromium-")
b = Browser(profile)
try:
    target = b.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
    b.session = b.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                       session=False)["sessionId"]
    for domain in ("Runtime", "Log", "Page"):
        b.call(domain + ".enable")
    b.call("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 900,
           "deviceScaleFactor": 1, "mobile": False})
    t0 = time.time()
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

    b.screenshot(1280, 900, False, os.path.join(artifacts, "dashboard-desktop.png"))
    b.screenshot(390, 844, True, os.path.join(artifacts, "dashboard-phone.png"))
    over = b.js("document.documentElement.scrollWidth - window.innerWidth")
    ok(over <= 1, "at phone width (390 px) the page does not scroll sideways",
       "overflows by %s px" % over)
    errs = b.errors()
    ok(not errs and os.path.getsize(os.path.join(artifacts, "dashboard-phone.png")) > 1000,
       "no console errors through the session; screenshots saved", errs)
except Exception as e:
    print("# %s: %s" % (type(e).__name__, e))
    while n < 9:
        ok(False, "not reached")
finally:
    b.close()
    subprocess.run(["rm", "-rf", profile])
sys.exit(1 if failed else 0)
