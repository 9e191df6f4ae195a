# SPDX-License-Identifier: MIT
"""Mock tool API: what agents call over HTTP between LLM calls.

GET  /v1/tools/search?q=WORDS&pool=NAME   a JSON list of results (response_kib)
POST /v1/tools/run                         echoes the JSON body with a result
GET  /healthz, GET /v1/stats

Latency and error rate come from the scenario's "tools" settings; draws are
seeded from the run seed and the X-Request-Id header like the LLM server's.
"""

import copy
import itertools
import threading
from urllib.parse import parse_qs, urlsplit

from . import httpbase, sampling
from .scenario import DEFAULT_TOOLS


class ToolServer(httpbase.Served):

    def __init__(self, seed=0, settings=None, port=0, host="127.0.0.1"):
        self.seed = seed
        self.settings = copy.deepcopy(settings if settings is not None else DEFAULT_TOOLS)
        self._lock = threading.Lock()
        self._stats = {}
        self._seq = itertools.count(1)
        self.httpd = httpbase.LoopbackServer(host, port, _ToolHandler)
        self.httpd.tools = self

    def count(self, pool, status):
        with self._lock:
            st = self._stats.setdefault(pool, {"requests": 0, "by_status": {}})
            st["requests"] += 1
            key = str(status)
            st["by_status"][key] = st["by_status"].get(key, 0) + 1

    def stats(self):
        with self._lock:
            return copy.deepcopy(self._stats)

    def plan(self, request_id):
        rng = sampling.rng_for(self.seed, "tool", request_id)
        failed = rng.random() < float(self.settings.get("error_rate", 0.0))
        latency = sampling.draw_latency(rng, self.settings.get("latency"))
        size = int(sampling.draw_range(rng, self.settings.get("response_kib", [1, 8])) * 1024)
        return rng, failed, latency, size


class _ToolHandler(httpbase.Handler):

    def _serve(self, query, body):
        tools = self.server.tools
        pool = (query.get("pool") or [self.headers.get("X-Agentsim-Pool", "")])[0]
        request_id = self.headers.get("X-Request-Id") or "srv-%d" % next(tools._seq)
        rng, failed, latency, size = tools.plan(request_id)
        if self.server.stopping.wait(latency):
            self.close_connection = True
            return
        if failed:
            tools.count(pool, 500)
            self.send_json(500, {"error": "tool failed"})
            return
        tools.count(pool, 200)
        q = (query.get("q") or [""])[0]
        results = []
        used = 0
        for i in range(1000):
            if used >= size:
                break
            snippet = "result %d for %s: %s" % (i, q, "x" * rng.randint(40, 200))
            used += len(snippet) + 16
            results.append({"rank": i, "snippet": snippet})
        out = {"query": q, "results": results}
        if body is not None:
            out["echo"] = body
        self.send_json(200, out, {"X-Request-Id": request_id})

    def do_GET(self):
        parts = urlsplit(self.path)
        if parts.path == "/healthz":
            self.send_json(200, {"status": "ok"})
        elif parts.path == "/v1/stats":
            self.send_json(200, self.server.tools.stats())
        elif parts.path == "/v1/tools/search":
            self._serve(parse_qs(parts.query), None)
        else:
            self.send_json(404, {"error": "no route %s" % parts.path})

    def do_POST(self):
        parts = urlsplit(self.path)
        body = self.read_json()
        if body is None:
            return
        if parts.path == "/v1/tools/run":
            self._serve(parse_qs(parts.query), body)
        else:
            self.send_json(404, {"error": "no route %s" % parts.path})
