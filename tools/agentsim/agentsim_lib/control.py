# SPDX-License-Identifier: MIT
"""The control endpoint of a running agentsim, and its client.

POST /v1/scale   a scaling webhook: change the instance count of pools
GET  /v1/status  pools, instance counts, request counts, current phase
POST /v1/stop    end the run early (same cleanup as at the end)
GET  /healthz

The scaling body is one decision or a list of them (README.md, "Scaling
webhook"):

  {"pool": "coder", "desired_replicas": 4, "current_replicas": 2,
   "reason": "p95 latency above 2 s for 60 s", "rule": "coder-latency"}
"""

import hashlib
import hmac
import json
import os
import urllib.error
import urllib.request

from . import httpbase

DEFAULT_PORT = 8790
SIGNATURE_HEADER = "X-Swarmwatch-Signature"

POOL_KEYS = ("pool", "agent")
COUNT_KEYS = ("desired_replicas", "desired", "replicas", "instances")
TEXT_KEYS = ("reason", "rule", "source", "id", "direction", "idempotency_key")
LIST_KEYS = ("decisions", "scaling", "items")


class ScaleError(ValueError):
    """A scaling request that cannot be applied; status is the HTTP code."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def parse_scale(body):
    """Turn a scaling webhook body into [{"pool", "desired", "meta"}].

    Accepts one decision object, a list of them, or an object holding the list
    under "decisions" (or "scaling", "items").  Raises ScaleError(400).
    """
    if isinstance(body, dict):
        for key in LIST_KEYS:
            if isinstance(body.get(key), list):
                body = body[key]
                break
    items = body if isinstance(body, list) else [body]
    if not items:
        raise ScaleError(400, "empty list of scaling decisions")
    if len(items) > 1000:
        raise ScaleError(400, "more than 1000 scaling decisions in one request")
    out = []
    for i, item in enumerate(items):
        where = "decision %d" % i if isinstance(body, list) else "decision"
        if not isinstance(item, dict):
            raise ScaleError(400, "%s: expected an object" % where)
        pool = next((item[k] for k in POOL_KEYS if k in item), None)
        if not isinstance(pool, str) or not pool:
            raise ScaleError(400, "%s: \"pool\" (the pool name) is required" % where)
        count = next((item[k] for k in COUNT_KEYS if k in item), None)
        if isinstance(count, bool) or not isinstance(count, (int, float)) or count != int(count):
            raise ScaleError(400, "%s: \"desired_replicas\" must be an integer, got %r" % (
                where, count))
        if count < 0:
            raise ScaleError(400, "%s: \"desired_replicas\" must be >= 0" % where)
        meta = {}
        for key in TEXT_KEYS + ("current_replicas",):
            if key in item and isinstance(item[key], (str, int, float)) and \
                    not isinstance(item[key], bool):
                meta[key] = item[key][:200] if isinstance(item[key], str) else item[key]
        out.append({"pool": pool, "desired": int(count), "meta": meta})
    return out


def sign(secret, body):
    """The signature header value for body under secret (HMAC-SHA256)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_signature(secret, body, header):
    if not header:
        return False
    value = header.strip()
    if value.startswith("sha256="):
        value = value[len("sha256="):]
    want = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, value.lower())


class ControlServer(httpbase.Served):
    """Serves the control endpoint for a Supervisor (see supervisor.py)."""

    def __init__(self, supervisor, port=DEFAULT_PORT, secret=None, host="127.0.0.1"):
        self.httpd = httpbase.LoopbackServer(host, port, _ControlHandler)
        self.httpd.sup = supervisor
        self.httpd.secret = secret


class _ControlHandler(httpbase.Handler):
    timeout = 30

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self.send_json(200, {"status": "ok"})
        elif path == "/v1/status":
            self.send_json(200, self.server.sup.status())
        else:
            self.send_json(404, {"error": "no route %s (try GET /v1/status, POST /v1/scale)"
                                 % path})

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        raw = self.read_body()
        if raw is None:
            return
        if path == "/v1/stop":
            self.server.sup.request_stop("stop-request")
            self.send_json(200, {"stopping": True})
            return
        if path not in ("/v1/scale", "/scale", "/"):
            self.send_json(404, {"error": "no route %s (try POST /v1/scale)" % path})
            return
        secret = self.server.secret
        if secret and not check_signature(secret, raw, self.headers.get(SIGNATURE_HEADER)):
            self.send_json(401, {"error": "missing or wrong %s header" % SIGNATURE_HEADER})
            return
        try:
            body = json.loads(raw.decode("utf-8") or "null")
        except (UnicodeDecodeError, ValueError) as e:
            self.send_json(400, {"error": "body is not JSON: %s" % e})
            return
        if isinstance(body, dict) and body.get("schema") == "swarmwatch.breaker/v1":
            # A circuit breaker's change of state: recorded, nothing to apply.
            self.server.sup.record_breaker(body)
            self.send_json(200, {"recorded": True})
            return
        try:
            items = parse_scale(body)
            applied = self.server.sup.apply_scale(items, source="webhook")
        except ScaleError as e:
            self.send_json(e.status, {"error": str(e)})
            return
        except Exception as e:  # defensive: answer rather than drop the connection
            self.send_json(500, {"error": "scaling failed: %s: %s" % (type(e).__name__, e)})
            return
        self.send_json(200, {"applied": applied})


# -- client side -----------------------------------------------------------

def state_dir():
    """Where a running agentsim leaves its control URL for `agentsim scale`."""
    d = os.environ.get("AGENTSIM_STATE_DIR")
    if d:
        return d
    base = os.environ.get("XDG_RUNTIME_DIR") or "/tmp"
    return os.path.join(base, "agentsim-%d" % os.getuid())


def state_file():
    return os.path.join(state_dir(), "current.json")


def find_url(explicit=None):
    """Control URL: explicit, $AGENTSIM_CONTROL, the state file, the default port."""
    if explicit:
        return explicit.rstrip("/")
    env = os.environ.get("AGENTSIM_CONTROL")
    if env:
        return env.rstrip("/")
    try:
        with open(state_file(), "r", encoding="utf-8") as f:
            st = json.load(f)
        pid = int(st.get("pid", 0))
        if pid > 0:
            os.kill(pid, 0)
            return st["control_url"].rstrip("/")
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return "http://127.0.0.1:%d" % DEFAULT_PORT


# Loopback only: never go through an http_proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def request(url, method="GET", obj=None, timeout=10.0, headers=None):
    """Send one JSON request; return (status, parsed body)."""
    data = None if obj is None else json.dumps(obj).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    for key, val in (headers or {}).items():
        req.add_header(key, val)
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read() or b"null")
        except ValueError:
            return e.code, None
