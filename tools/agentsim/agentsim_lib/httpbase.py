# SPDX-License-Identifier: MIT
"""A threaded HTTP/1.1 server on loopback, optionally behind TLS.

Both mock servers and the control endpoint build on it.  One thread serves
each connection (keep-alive), the TLS handshake happens in that thread rather
than in the accept loop, and handler errors are counted instead of printed.
"""

import json
import os
import socket
import ssl
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Largest request body any agentsim endpoint accepts.
MAX_BODY = 8 << 20


class LoopbackServer(ThreadingHTTPServer):
    """ThreadingHTTPServer with optional TLS and a stop event for handlers."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, host, port, handler, ssl_context=None):
        self.ssl_context = ssl_context
        self.stopping = threading.Event()
        self.handler_errors = 0
        self._thread = None
        super().__init__((host, port), handler)

    def get_request(self):
        sock, addr = super().get_request()
        # Answers go out at once, not after the client's delayed ACK.
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_side=True,
                                                do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        # Resets, timeouts and clients that go away are part of the job;
        # AGENTSIM_DEBUG=1 prints the tracebacks anyway.
        self.handler_errors += 1
        if os.environ.get("AGENTSIM_DEBUG"):
            super().handle_error(request, client_address)

    @property
    def port(self):
        return self.server_address[1]

    @property
    def url(self):
        scheme = "https" if self.ssl_context is not None else "http"
        return "%s://127.0.0.1:%d" % (scheme, self.port)

    def start(self):
        """Serve in a background thread; return self."""
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="agentsim-http-%d" % self.port, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop accepting, wake handlers that hold connections, close the socket."""
        self.stopping.set()
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()


class Served:
    """A mock server object that owns a LoopbackServer in self.httpd."""

    @property
    def url(self):
        return self.httpd.url

    def start(self):
        self.httpd.start()
        return self

    def stop(self):
        self.httpd.stop()


class Handler(BaseHTTPRequestHandler):
    """Base handler: HTTP/1.1 keep-alive, quiet, JSON in and out."""

    protocol_version = "HTTP/1.1"
    server_version = "agentsim/0.1"
    sys_version = ""
    # Idle keep-alive connections are closed after this many seconds.
    timeout = 300

    def setup(self):
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.settimeout(10)
            self.connection.do_handshake()
            self.connection.settimeout(self.timeout)

    def log_message(self, fmt, *args):
        pass

    def read_body(self):
        """Return the request body (bytes) or None after answering 400/413."""
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            self.send_json(400, {"error": {"type": "invalid_request_error",
                                           "message": "bad Content-Length"}})
            return None
        if length < 0 or length > MAX_BODY:
            self.send_json(413, {"error": {"type": "invalid_request_error",
                                           "message": "body larger than %d bytes" % MAX_BODY}})
            return None
        return self.rfile.read(length) if length else b""

    def read_json(self):
        """Return the parsed JSON body, or None after answering 400."""
        body = self.read_body()
        if body is None:
            return None
        try:
            return json.loads(body.decode("utf-8") or "null")
        except (UnicodeDecodeError, ValueError) as e:
            self.send_json(400, {"error": {"type": "invalid_request_error",
                                           "message": "body is not JSON: %s" % e}})
            return None

    def send_json(self, status, obj, headers=None):
        data = json.dumps(obj, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, val in (headers or {}).items():
            self.send_header(key, str(val))
        # Header block and body in one write: one segment for small answers.
        self._headers_buffer.append(b"\r\n" + data)
        self.flush_headers()

    def reset_connection(self):
        """Abort the connection with a TCP RST (SO_LINGER 0, then close)."""
        sock = self.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        # The buffered reader holds a reference to the socket; drop it first so
        # close() really closes the descriptor now.
        try:
            self.rfile.close()
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass

    def hold_then_close(self, seconds):
        """Keep the connection open without answering, then close it."""
        self.server.stopping.wait(seconds)
        self.close_connection = True
