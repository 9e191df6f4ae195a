# SPDX-License-Identifier: MIT
"""The mock LLM and tool servers over real loopback connections."""

import http.client
import json
import shutil
import socket
import ssl
import statistics
import tempfile
import threading
import time
import unittest

import common  # noqa: F401  (puts agentsim_lib on sys.path)
from agentsim_lib import llmserver, scenario as scn, tlscert, toolserver


def profile(**over):
    prof = json.loads(json.dumps(scn.DEFAULT_LLM))
    prof.update({"latency": {"dist": "fixed", "ms": 0}, "per_token_ms": 0,
                 "completion_tokens": [20, 40], "error_rate": 0.0})
    prof.update(over)
    return prof


def messages(chars=400):
    return [{"role": "system", "content": "You are a test agent."},
            {"role": "user", "content": "x" * chars}]


class _ServerCase(unittest.TestCase):
    """Starts an LLMServer per test; call() sends one chat completion."""

    prof = {}

    def setUp(self):
        self.srv = llmserver.LLMServer(seed=3, profile=profile(**self.prof)).start()
        self.port = self.srv.httpd.port
        self.conn = None

    def tearDown(self):
        if self.conn is not None:
            self.conn.close()
        self.srv.stop()

    def call(self, body=None, rid=None, timeout=5.0, keep=True, user="pool/0",
             path="/v1/chat/completions"):
        if self.conn is None or not keep:
            if self.conn is not None:
                self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        req = {"model": "sim-large", "messages": messages(), "user": user}
        req.update(body or {})
        headers = {"Content-Type": "application/json"}
        if rid is not None:
            headers["X-Request-Id"] = rid
        try:
            self.conn.request("POST", path, json.dumps(req), headers)
            resp = self.conn.getresponse()
            data = resp.read()
        except Exception:
            self.conn.close()
            self.conn = None
            raise
        return resp, data


class LatencyTest(_ServerCase):
    prof = {"latency": {"dist": "fixed", "ms": 100}}

    def test_fixed_latency_is_honoured(self):
        took = []
        for i in range(8):
            t0 = time.monotonic()
            resp, _ = self.call(rid="lat%d" % i)
            took.append(time.monotonic() - t0)
            self.assertEqual(resp.status, 200)
        self.assertGreaterEqual(min(took), 0.100)
        self.assertLess(statistics.median(took), 0.250)

    def test_uniform_latency_mean(self):
        self.srv.set_profiles({}, profile(latency={"dist": "uniform", "min_ms": 30,
                                                   "max_ms": 90}))
        took = []
        for i in range(24):
            t0 = time.monotonic()
            self.call(rid="u%d" % i)
            took.append(time.monotonic() - t0)
        self.assertGreaterEqual(min(took), 0.030)
        self.assertGreaterEqual(statistics.mean(took), 0.060 - 0.012)
        self.assertLess(statistics.mean(took), 0.060 + 0.050)

    def test_per_pool_profiles_and_latency_factor(self):
        self.srv.set_profiles({"slow": profile(latency={"dist": "fixed", "ms": 50},
                                               latency_factor=3.0)},
                              profile(latency={"dist": "fixed", "ms": 0}))
        t0 = time.monotonic()
        self.call(user="slow/1")
        slow = time.monotonic() - t0
        t0 = time.monotonic()
        self.call(user="fast/1")
        fast = time.monotonic() - t0
        self.assertGreaterEqual(slow, 0.150)
        self.assertLess(fast, 0.100)

    def test_concurrent_calls_overlap(self):
        took = []

        def one(i):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("POST", "/v1/chat/completions",
                         json.dumps({"messages": messages(), "user": "p/%d" % i}),
                         {"Content-Type": "application/json"})
            conn.getresponse().read()
            conn.close()

        t0 = time.monotonic()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(10)
        took.append(time.monotonic() - t0)
        # Ten 100 ms calls served in parallel, not one after the other.
        self.assertLess(took[0], 0.9)


class ErrorTest(_ServerCase):
    prof = {"error_rate": 0.25, "error_kinds": {"429": 1, "500": 1, "503": 1}}

    def test_error_rate_and_kinds(self):
        statuses = []
        for i in range(400):
            resp, data = self.call(rid="e%d" % i)
            statuses.append(resp.status)
            if resp.status != 200:
                err = json.loads(data)["error"]
                self.assertIn(err["type"], ("rate_limit_error", "server_error",
                                            "overloaded_error"))
                if resp.status == 429:
                    self.assertEqual(resp.getheader("Retry-After"), "1")
        errors = [s for s in statuses if s != 200]
        self.assertAlmostEqual(len(errors) / 400, 0.25, delta=0.06)
        self.assertEqual(set(errors), {429, 500, 503})
        stats = self.srv.stats()["pool"]
        self.assertEqual(stats["requests"], 400)
        self.assertEqual(stats["by_outcome"]["ok"], statuses.count(200))

    def test_errors_on_first_instances_only(self):
        # An errors fault with "instances": 1: slot 0 always fails, slot 1 keeps the base rate.
        self.srv.set_profiles({"pool": profile(error_rate=1.0, error_rate_base=0.0,
                                               error_instances=1,
                                               error_kinds={"500": 1})})
        for i in range(20):
            resp, _ = self.call(rid="s0-%d" % i, user="pool/0")
            self.assertEqual(resp.status, 500)
            resp, _ = self.call(rid="s1-%d" % i, user="pool/1")
            self.assertEqual(resp.status, 200)
        # A caller that names no slot is not among the first instances.
        resp, _ = self.call(rid="none", user="pool")
        self.assertEqual(resp.status, 200)

    def test_reset_kind_resets_the_connection(self):
        self.srv.set_profiles({}, profile(error_rate=1.0, error_kinds={"reset": 1}))
        with self.assertRaises(ConnectionResetError):
            self.call(rid="reset-1")
        self.assertEqual(self.srv.stats()["pool"]["by_outcome"], {"reset": 1})

    def test_timeout_kind_never_answers(self):
        self.srv.set_profiles({}, profile(error_rate=1.0, error_kinds={"timeout": 1},
                                          timeout_hold_s=3))
        t0 = time.monotonic()
        with self.assertRaises((socket.timeout, TimeoutError)):
            self.call(rid="to-1", timeout=0.3)
        took = time.monotonic() - t0
        self.assertGreaterEqual(took, 0.3)
        self.assertLess(took, 1.5)


class TokenTest(_ServerCase):
    prof = {"completion_tokens": [50, 60],
            "pricing": {"*": {"prompt_per_1k": 1.0, "completion_per_1k": 2.0}}}

    def test_usage_tokens_and_cost(self):
        for i in range(20):
            resp, data = self.call(rid="tok%d" % i)
            self.assertEqual(resp.status, 200)
            out = json.loads(data)
            usage = out["usage"]
            self.assertEqual(usage["prompt_tokens"], llmserver.count_tokens(messages()))
            self.assertGreaterEqual(usage["completion_tokens"], 50)
            self.assertLessEqual(usage["completion_tokens"], 60)
            self.assertEqual(usage["total_tokens"],
                             usage["prompt_tokens"] + usage["completion_tokens"])
            self.assertAlmostEqual(usage["cost_usd"], usage["prompt_tokens"] / 1000.0 +
                                   usage["completion_tokens"] * 2 / 1000.0, places=7)
            text = out["choices"][0]["message"]["content"]
            self.assertEqual(len(text.split()), usage["completion_tokens"])
            self.assertEqual(out["object"], "chat.completion")
            self.assertAlmostEqual(float(resp.getheader("X-Agentsim-Cost-USD")),
                                   usage["cost_usd"], places=6)

    def test_prompt_size_counts(self):
        small = json.loads(self.call({"messages": messages(40)})[1])["usage"]["prompt_tokens"]
        large = json.loads(self.call({"messages": messages(4000)})[1])["usage"]["prompt_tokens"]
        self.assertEqual(large - small, (4000 - 40) // 4)

    def test_max_tokens_caps_completion(self):
        out = json.loads(self.call({"max_tokens": 7})[1])
        self.assertEqual(out["usage"]["completion_tokens"], 7)
        self.assertEqual(out["choices"][0]["finish_reason"], "length")

    def test_same_request_id_same_answer(self):
        a = json.loads(self.call(rid="same")[1])
        b = json.loads(self.call(rid="same")[1])
        self.assertEqual(a["choices"], b["choices"])
        self.assertEqual(a["usage"], b["usage"])

    def test_stream_sends_sse_chunks_and_usage(self):
        self.srv.set_profiles({}, profile(completion_tokens=30, stream_chunk_tokens=4,
                                          per_token_ms=2.0))
        resp, data = self.call({"stream": True, "stream_options": {"include_usage": True}},
                               rid="s1")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.getheader("Content-Type"), "text/event-stream")
        self.assertIsNotNone(resp.getheader("x-ratelimit-remaining-requests"))
        events = [line[6:] for line in data.decode().split("\n\n") if line.startswith("data: ")]
        self.assertEqual(events[-1], "[DONE]")
        chunks = [json.loads(e) for e in events[:-1]]
        text = " ".join(c["choices"][0]["delta"].get("content", "")
                        for c in chunks if c["choices"]).split()
        # As OpenAI's API: usage in a last chunk of its own, with no choices.
        usage = chunks[-1]["usage"]
        self.assertEqual(chunks[-1]["choices"], [])
        self.assertEqual(len(text), usage["completion_tokens"])
        self.assertEqual(usage["completion_tokens"], 30)
        self.assertEqual(chunks[-2]["choices"][0]["finish_reason"], "stop")
        self.assertGreaterEqual(len(chunks), 30 // 4 + 3)
        # Without stream_options.include_usage the stream carries no usage at all.
        resp, data = self.call({"stream": True}, rid="s1")
        events = [line[6:] for line in data.decode().split("\n\n") if line.startswith("data: ")]
        self.assertFalse(any("usage" in json.loads(e) for e in events[:-1]))
        self.assertEqual(events[-1], "[DONE]")
        # The connection stays usable after a chunked response.
        self.assertEqual(self.call(rid="after")[0].status, 200)


    def test_ollama_chat(self):
        self.srv.set_profiles({}, profile(completion_tokens=30, stream_chunk_tokens=4))
        resp, data = self.call({"options": {"num_predict": 20}}, rid="o1", path="/api/chat")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.getheader("Content-Type"), "application/x-ndjson")
        lines = [json.loads(x) for x in data.decode().splitlines()]
        self.assertTrue(all(not x["done"] for x in lines[:-1]))
        self.assertTrue(lines[-1]["done"])
        self.assertEqual(lines[-1]["eval_count"], 20)
        self.assertGreater(lines[-1]["prompt_eval_count"], 0)
        text = " ".join(x["message"]["content"] for x in lines[:-1]).split()
        self.assertEqual(len(text), 20)
        resp, data = self.call({"stream": False}, rid="o2", path="/api/chat")
        out = json.loads(data)
        self.assertTrue(out["done"])
        self.assertEqual(out["eval_count"], 30)
        self.assertEqual(len(out["message"]["content"].split()), 30)


    def test_anthropic_messages(self):
        self.srv.set_profiles({}, profile(completion_tokens=30, stream_chunk_tokens=4))
        resp, data = self.call({"stream": True, "max_tokens": 20}, rid="a1", path="/v1/messages")
        self.assertEqual(resp.status, 200)
        self.assertIsNotNone(resp.getheader("anthropic-ratelimit-requests-remaining"))
        events = [json.loads(x[6:]) for x in data.decode().split("\n") if x.startswith("data: ")]
        self.assertEqual(events[0]["type"], "message_start")
        start = events[0]["message"]["usage"]
        delta = [e for e in events if e["type"] == "message_delta"][-1]
        self.assertEqual(delta["usage"]["output_tokens"], 20)
        self.assertEqual(events[-1]["type"], "message_stop")
        self.assertGreater(start["cache_read_input_tokens"], 0)
        resp, data = self.call({"max_tokens": 20}, rid="a2", path="/v1/messages")
        out = json.loads(data)
        self.assertEqual(out["usage"]["input_tokens"] + out["usage"]["cache_read_input_tokens"],
                         start["input_tokens"] + start["cache_read_input_tokens"])
        self.assertEqual(out["usage"]["output_tokens"], 20)


class RoutesTest(_ServerCase):

    def test_bad_requests_and_routes(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        conn.request("POST", "/v1/chat/completions", "{nope", {"Content-Type": "x"})
        self.assertEqual(conn.getresponse().status, 400)
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        conn.request("POST", "/v1/chat/completions", json.dumps({"messages": "hi"}))
        self.assertEqual(conn.getresponse().status, 400)
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        conn.request("GET", "/v1/nothing")
        self.assertEqual(conn.getresponse().status, 404)
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        conn.request("GET", "/v1/models")
        models = [m["id"] for m in json.loads(conn.getresponse().read())["data"]]
        self.assertIn("sim-large", models)
        conn.close()


@unittest.skipUnless(shutil.which("openssl"), "openssl command not installed")
class TLSTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="agentsim-tls-")
        cert, key = tlscert.generate(self.tmp)
        self.cafile = cert
        self.srv = llmserver.LLMServer(seed=1, profile=profile(),
                                       ssl_context=tlscert.server_context(cert, key)).start()

    def tearDown(self):
        self.srv.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_https_with_generated_certificate(self):
        self.assertTrue(self.srv.url.startswith("https://127.0.0.1:"))
        conn = http.client.HTTPSConnection("127.0.0.1", self.srv.httpd.port, timeout=5,
                                           context=tlscert.client_context(self.cafile))
        for i in range(3):
            conn.request("POST", "/v1/chat/completions",
                         json.dumps({"messages": messages(), "user": "tls/0"}),
                         {"Content-Type": "application/json"})
            resp = conn.getresponse()
            self.assertEqual(resp.status, 200)
            self.assertIn("usage", json.loads(resp.read()))
        conn.close()
        self.assertEqual(self.srv.stats()["tls"]["requests"], 3)

    def test_untrusted_client_is_refused(self):
        conn = http.client.HTTPSConnection("127.0.0.1", self.srv.httpd.port, timeout=5,
                                           context=ssl.create_default_context())
        with self.assertRaises(ssl.SSLError):
            conn.request("GET", "/healthz")
        conn.close()


class ToolServerTest(unittest.TestCase):

    def test_search_size_latency_and_errors(self):
        srv = toolserver.ToolServer(seed=1, settings={"latency": {"dist": "fixed", "ms": 50},
                                                      "error_rate": 0.0,
                                                      "response_kib": 4}).start()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", srv.httpd.port, timeout=5)
            t0 = time.monotonic()
            conn.request("GET", "/v1/tools/search?q=parser&pool=coder")
            resp = conn.getresponse()
            body = resp.read()
            self.assertGreaterEqual(time.monotonic() - t0, 0.050)
            self.assertEqual(resp.status, 200)
            self.assertGreaterEqual(len(body), 4096)
            self.assertLess(len(body), 4096 + 1024)
            srv.settings["error_rate"] = 1.0
            conn.request("POST", "/v1/tools/run?pool=coder", json.dumps({"cmd": "x"}))
            self.assertEqual(conn.getresponse().status, 500)
            conn.close()
            self.assertEqual(srv.stats()["coder"], {"requests": 2,
                                                    "by_status": {"200": 1, "500": 1}})
        finally:
            srv.stop()


if __name__ == "__main__":
    unittest.main()
