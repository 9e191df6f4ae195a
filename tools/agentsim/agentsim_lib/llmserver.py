# SPDX-License-Identifier: MIT
"""Mock OpenAI-style LLM API on loopback.

POST /v1/chat/completions answers like a chat-completions API: after a drawn
latency it returns a completion with "usage" token counts and a cost, streams
it as server-sent events when the request says "stream": true, or fails the
way real providers fail (429, 500, 503, a reset connection, no answer at all).

How each call behaves comes from the profile of the caller's pool (the
request's "user" field, "<pool>/<instance>"); the supervisor swaps profiles as
the scenario's phases change.  Every draw for a call is seeded from the run
seed and the X-Request-Id header, so a given call has the same outcome in
every run with the same seed and profile.

Other endpoints: GET /v1/models, GET /healthz, GET /v1/stats (per-pool counts).
"""

import copy
import itertools
import json
import math
import threading
import time

from . import httpbase, sampling
from .scenario import DEFAULT_LLM

WORDS = ("the", "agent", "plan", "code", "review", "test", "step", "result", "tool", "file",
         "request", "function", "value", "check", "update", "model", "data", "error", "fix",
         "return", "call", "list", "input", "output", "task", "next", "done", "state", "note")

ERROR_BODIES = {
    429: ("rate_limit_error", "Rate limit reached for requests; retry after a moment."),
    500: ("server_error", "The server had an error while processing your request."),
    503: ("overloaded_error", "The engine is currently overloaded; please try again later."),
}


def count_tokens(messages):
    """Rough prompt token count: one token per 4 characters, 4 per message."""
    total = 0
    if isinstance(messages, list):
        for msg in messages:
            content = msg.get("content", "") if isinstance(msg, dict) else ""
            if not isinstance(content, str):
                content = json.dumps(content)
            total += 4 + (len(content) + 3) // 4
    return max(total, 1)


def price(profile, model, prompt_tokens, completion_tokens):
    """Cost in USD of one call for a model under the profile's pricing."""
    table = profile.get("pricing") or DEFAULT_LLM["pricing"]
    p = table.get(model) or table.get("*") or {}
    cost = prompt_tokens / 1000.0 * float(p.get("prompt_per_1k", 0.0)) + \
        completion_tokens / 1000.0 * float(p.get("completion_per_1k", 0.0))
    return round(cost, 8)


def plan_call(profile, seed, request_id, max_tokens):
    """Decide how one call goes; pure, so tests can check the statistics.

    Returns {"outcome": "ok"|"429"|"500"|"503"|"reset"|"timeout",
    "latency_s", "ttft_s", "completion_tokens", "finish_reason"}.
    """
    rng = sampling.rng_for(seed, "llm", request_id)
    outcome = "ok"
    if rng.random() < float(profile.get("error_rate", 0.0)):
        outcome = sampling.weighted_choice(rng, profile.get("error_kinds") or {"500": 1}) or "500"
    factor = float(profile.get("latency_factor", 1.0))
    add = float(profile.get("latency_add_ms", 0.0)) / 1000.0
    ttft = sampling.draw_latency(rng, profile.get("latency")) * factor + add
    tokens = sampling.draw_range(rng, profile.get("completion_tokens", [40, 400]), integer=True)
    tokens = max(1, int(round(tokens * float(profile.get("token_factor", 1.0)))))
    finish = "stop"
    if max_tokens is not None and tokens >= max_tokens:
        tokens = max(1, int(max_tokens))
        finish = "length"
    gen = tokens * float(profile.get("per_token_ms", 0.0)) / 1000.0 * factor
    latency = min(ttft + gen, sampling.MAX_LATENCY_S)
    if outcome != "ok":
        latency = min(latency * float(profile.get("error_latency_factor", 0.25)),
                      sampling.MAX_LATENCY_S)
    return {"outcome": outcome, "latency_s": latency, "ttft_s": min(ttft, latency),
            "completion_tokens": tokens, "finish_reason": finish, "rng": rng}


class LLMServer(httpbase.Served):
    """The mock LLM API; start() it, read .url, stop() it."""

    def __init__(self, seed=0, profile=None, port=0, ssl_context=None, host="127.0.0.1"):
        self.seed = seed
        self._lock = threading.Lock()
        self._default = copy.deepcopy(profile) if profile is not None else copy.deepcopy(
            DEFAULT_LLM)
        self._profiles = {}
        self._stats = {}
        self._window = {}
        self._seq = itertools.count(1)
        self.httpd = httpbase.LoopbackServer(host, port, _LLMHandler, ssl_context)
        self.httpd.llm = self

    def set_profiles(self, profiles, default=None):
        """Replace the per-pool profiles ({pool: profile}) and the fallback."""
        with self._lock:
            self._profiles = dict(profiles)
            if default is not None:
                self._default = default

    def profile_for(self, pool):
        with self._lock:
            return self._profiles.get(pool, self._default)

    def count(self, pool, outcome, prompt_tokens=0, completion_tokens=0, cost=0.0):
        with self._lock:
            st = self._stats.setdefault(pool, {"requests": 0, "by_outcome": {},
                                               "prompt_tokens": 0, "completion_tokens": 0,
                                               "cost_usd": 0.0})
            st["requests"] += 1
            st["by_outcome"][outcome] = st["by_outcome"].get(outcome, 0) + 1
            st["prompt_tokens"] += prompt_tokens
            st["completion_tokens"] += completion_tokens
            st["cost_usd"] = round(st["cost_usd"] + cost, 8)

    def ratelimit(self, pool, profile):
        """OpenAI-style x-ratelimit-* headers: requests left in the pool's current minute."""
        limit = int(profile.get("ratelimit_requests", DEFAULT_LLM["ratelimit_requests"]))
        minute = int(time.time() // 60)
        with self._lock:
            start, used = self._window.get(pool, (minute, 0))
            if start != minute:
                used = 0
            used += 1
            self._window[pool] = (minute, used)
        return {"x-ratelimit-limit-requests": limit,
                "x-ratelimit-remaining-requests": max(0, limit - used)}

    def stats(self):
        """Per-pool counts of the calls the server received."""
        with self._lock:
            return copy.deepcopy(self._stats)

    def next_request_id(self):
        return "srv-%d" % next(self._seq)


class _LLMHandler(httpbase.Handler):

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        llm = self.server.llm
        if path == "/healthz":
            self.send_json(200, {"status": "ok"})
        elif path == "/v1/models":
            models = sorted(m for m in (llm.profile_for("").get("pricing") or {}) if m != "*")
            self.send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "owned_by": "agentsim"} for m in models]})
        elif path == "/v1/stats":
            self.send_json(200, llm.stats())
        else:
            self.send_json(404, {"error": {"type": "not_found", "message": "no route %s" % path}})

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        ollama = path == "/api/chat"
        anthropic = path == "/v1/messages"
        if path not in ("/v1/chat/completions", "/chat/completions", "/api/chat", "/v1/messages"):
            self.read_body()
            self.send_json(404, {"error": {"type": "not_found", "message": "no route %s" % path}})
            return
        req = self.read_json()
        if req is None:
            return
        if not isinstance(req, dict) or not isinstance(req.get("messages"), list):
            self.send_json(400, {"error": {"type": "invalid_request_error",
                                           "message": "\"messages\" must be a list"}})
            return
        llm = self.server.llm
        user = req.get("user") if isinstance(req.get("user"), str) else ""
        if anthropic and isinstance(req.get("metadata"), dict):
            user = str(req["metadata"].get("user_id", ""))
        pool = user.split("/", 1)[0]
        profile = llm.profile_for(pool)
        if profile.get("error_instances") is not None:
            # An errors fault on the pool's first instances: the others keep the base rate.
            slot = user.split("/", 1)[1] if "/" in user else ""
            if not slot.isdigit() or int(slot) >= profile["error_instances"]:
                profile = dict(profile, error_rate=profile.get("error_rate_base", 0.0))
        request_id = self.headers.get("X-Request-Id") or llm.next_request_id()
        model = req.get("model") if isinstance(req.get("model"), str) else "sim-large"
        max_tokens = req.get("max_tokens", req.get("max_completion_tokens"))
        if ollama and isinstance(req.get("options"), dict):
            max_tokens = req["options"].get("num_predict")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            max_tokens = None
        plan = plan_call(profile, llm.seed, request_id, max_tokens)
        outcome = plan["outcome"]
        prompt_tokens = count_tokens(req["messages"])
        if outcome == "timeout":
            llm.count(pool, outcome)
            self.hold_then_close(float(profile.get("timeout_hold_s", 30.0)))
            return
        if self.server.stopping.wait(plan["latency_s"] if not req.get("stream") or
                                     outcome != "ok" else plan["ttft_s"]):
            self.close_connection = True
            return
        if outcome == "reset":
            llm.count(pool, outcome)
            self.reset_connection()
            return
        limits = llm.ratelimit(pool, profile)
        if outcome != "ok":
            status = int(outcome)
            kind, message = ERROR_BODIES[status]
            headers = dict(limits, **{"X-Request-Id": request_id})
            if status == 429:
                headers["Retry-After"] = int(profile.get("retry_after_s", 1))
            llm.count(pool, outcome)
            self.send_json(status, {"error": {"type": kind, "message": message,
                                              "code": kind}}, headers)
            return
        ctoks = plan["completion_tokens"]
        cost = price(profile, model, prompt_tokens, ctoks)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": ctoks,
                 "total_tokens": prompt_tokens + ctoks, "cost_usd": cost}
        rng = plan["rng"]
        words = [rng.choice(WORDS) for _ in range(ctoks)]
        llm.count(pool, "ok", prompt_tokens, ctoks, cost)
        if ollama:
            self._ollama(model, words, prompt_tokens, plan, profile, req.get("stream", True))
            return
        if anthropic:
            self._anthropic(request_id, model, words, prompt_tokens, plan, profile,
                            bool(req.get("stream")), limits)
            return
        if req.get("stream"):
            opts = req.get("stream_options")
            with_usage = isinstance(opts, dict) and opts.get("include_usage") is True
            self._stream(request_id, model, words, usage if with_usage else None, plan, profile,
                         limits)
            return
        self.send_json(200, {
            "id": "chatcmpl-" + request_id, "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant",
                                                 "content": " ".join(words)},
                         "finish_reason": plan["finish_reason"]}],
            "usage": usage,
        }, dict(limits, **{"X-Request-Id": request_id, "X-Agentsim-Cost-USD": "%.8f" % cost,
                           "Openai-Processing-Ms": int(plan["latency_s"] * 1000)}))

    def _stream(self, request_id, model, words, usage, plan, profile, limits):
        """Send the completion as SSE chunks spread over the generation time.

        usage is None when the request did not set stream_options.include_usage: as
        OpenAI's API, the stream then carries no usage at all."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("X-Request-Id", request_id)
        if usage is not None:
            self.send_header("X-Agentsim-Cost-USD", "%.8f" % usage["cost_usd"])
        for name, value in limits.items():
            self.send_header(name, str(value))
        self.end_headers()
        per_chunk = max(1, int(profile.get("stream_chunk_tokens", 8)))
        chunks = max(1, math.ceil(len(words) / per_chunk))
        gen_s = max(plan["latency_s"] - plan["ttft_s"], 0.0)
        base = {"id": "chatcmpl-" + request_id, "object": "chat.completion.chunk",
                "created": int(time.time()), "model": model}
        self._event(dict(base, choices=[{"index": 0, "delta": {"role": "assistant"},
                                         "finish_reason": None}]))
        for i in range(chunks):
            if i and self.server.stopping.wait(gen_s / chunks):
                self.close_connection = True
                return
            text = " ".join(words[i * per_chunk:(i + 1) * per_chunk])
            self._event(dict(base, choices=[{"index": 0, "delta": {"content": text},
                                             "finish_reason": None}]))
        self._event(dict(base, choices=[{"index": 0, "delta": {},
                                         "finish_reason": plan["finish_reason"]}]))
        if usage is not None:
            self._event(dict(base, choices=[], usage=usage))
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    def _ollama(self, model, words, prompt_tokens, plan, profile, stream):
        """Answer as Ollama's /api/chat: newline-delimited JSON objects when streaming (its
        default), the counts (prompt_eval_count, eval_count) in the last, "done": true one."""
        last = {"model": model, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "message": {"role": "assistant", "content": ""}, "done": True,
                "done_reason": plan["finish_reason"],
                "total_duration": int(plan["latency_s"] * 1e9),
                "prompt_eval_count": prompt_tokens, "eval_count": len(words)}
        if not stream:
            last["message"]["content"] = " ".join(words)
            self.send_json(200, last)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        per_chunk = max(1, int(profile.get("stream_chunk_tokens", 8)))
        chunks = max(1, math.ceil(len(words) / per_chunk))
        gen_s = max(plan["latency_s"] - plan["ttft_s"], 0.0)
        for i in range(chunks):
            if i and self.server.stopping.wait(gen_s / chunks):
                self.close_connection = True
                return
            text = " ".join(words[i * per_chunk:(i + 1) * per_chunk])
            self._chunk(json.dumps({"model": model, "created_at": last["created_at"],
                                    "message": {"role": "assistant", "content": text},
                                    "done": False}, separators=(",", ":")).encode() + b"\n")
        self._chunk(json.dumps(last, separators=(",", ":")).encode() + b"\n")
        self._chunk(b"")

    def _anthropic(self, request_id, model, words, prompt_tokens, plan, profile, stream, limits):
        """Answer as Anthropic's Messages API. A quarter of the prompt is a cache read: usage
        input_tokens counts the rest, as Anthropic's does. Streamed: message_start (input
        side), content_block_delta events, message_delta (output tokens), message_stop."""
        cached = prompt_tokens // 4
        usage = {"input_tokens": prompt_tokens - cached, "cache_creation_input_tokens": 0,
                 "cache_read_input_tokens": cached, "output_tokens": len(words)}
        stop = "max_tokens" if plan["finish_reason"] == "length" else "end_turn"
        headers = {"anthropic-ratelimit-requests-remaining":
                   limits["x-ratelimit-remaining-requests"], "request-id": request_id}
        msg = {"id": "msg_" + request_id, "type": "message", "role": "assistant",
               "model": model, "content": [], "stop_reason": None, "usage": dict(usage)}
        if not stream:
            msg["content"] = [{"type": "text", "text": " ".join(words)}]
            msg["stop_reason"] = stop
            self.send_json(200, msg, headers)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in headers.items():
            self.send_header(name, str(value))
        self.end_headers()
        msg["usage"]["output_tokens"] = 1
        self._event(dict(type="message_start", message=msg), "message_start")
        self._event({"type": "content_block_start", "index": 0,
                     "content_block": {"type": "text", "text": ""}}, "content_block_start")
        per_chunk = max(1, int(profile.get("stream_chunk_tokens", 8)))
        chunks = max(1, math.ceil(len(words) / per_chunk))
        gen_s = max(plan["latency_s"] - plan["ttft_s"], 0.0)
        for i in range(chunks):
            if i and self.server.stopping.wait(gen_s / chunks):
                self.close_connection = True
                return
            text = " ".join(words[i * per_chunk:(i + 1) * per_chunk])
            self._event({"type": "content_block_delta", "index": 0,
                         "delta": {"type": "text_delta", "text": text}}, "content_block_delta")
        self._event({"type": "content_block_stop", "index": 0}, "content_block_stop")
        self._event({"type": "message_delta", "delta": {"stop_reason": stop},
                     "usage": {"output_tokens": len(words)}}, "message_delta")
        self._event({"type": "message_stop"}, "message_stop")
        self._chunk(b"")

    def _event(self, obj, name=None):
        if name:
            self._chunk(b"event: " + name.encode() + b"\ndata: " +
                        json.dumps(obj, separators=(",", ":")).encode() + b"\n\n")
            return
        self._chunk(b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n")

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
