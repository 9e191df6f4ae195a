#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""HTTPS peers for test_tls, on Python's ssl module (OpenSSL's libssl).

    tls_peer.py server CERT KEY FD TOTAL
        Serves HTTP/1.1 over TLS on the listening socket inherited as FD, one
        thread per connection: every request is answered after 200 ms, with
        500 when its path is /fail and 200 otherwise; /continue gets a 100
        Continue at once, before its 200. Exits once it has
        answered TOTAL requests.

    tls_peer.py client PORT CONNS PER_CONN GOFILE [continue]
        Waits until GOFILE exists, then makes CONNS keep-alive connections to
        127.0.0.1:PORT and PER_CONN requests on each, concurrently; request i
        (over all connections) asks for /fail when i % 10 is 0, 3 or 6 (30 %),
        and with `continue` for /continue (an interim response before the 200)
        when it is 1.
        Exits 0 when every answer had the status asked for.
"""
import http.client
import http.server
import os
import socket
import ssl
import sys
import threading
import time

DELAY = 0.2


def wants_500(i):
    return i % 10 in (0, 3, 6)


def path_of(i, interim):
    return "/fail" if wants_500(i) else "/continue" if interim and i % 10 == 1 else "/ok"


def server(cert, key, fd, total):
    done = [0]
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if self.path == "/continue":
                # An interim response, alone in its write: the 200 below is the final one.
                self.send_response_only(100)
                self.end_headers()
            time.sleep(DELAY)
            code = 500 if self.path == "/fail" else 200
            body = b"x" * 100
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            with lock:
                done[0] += 1
                if done[0] == total:
                    # Let the last answer reach the client, then leave.
                    threading.Timer(0.5, os._exit, (0,)).start()

        def log_message(self, *args):
            pass

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
    srv.socket.close()
    srv.socket = ctx.wrap_socket(socket.socket(fileno=fd), server_side=True)
    srv.daemon_threads = True
    srv.serve_forever()


def client(port, conns, per_conn, gofile, interim):
    deadline = time.monotonic() + 30
    while not os.path.exists(gofile):
        if time.monotonic() > deadline:
            print("client: no go after 30 s", file=sys.stderr)
            return 2
        time.sleep(0.01)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    wrong = []

    def run(c):
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=20)
        for j in range(per_conn):
            i = c * per_conn + j
            want = 500 if wants_500(i) else 200
            conn.request("GET", path_of(i, interim))
            resp = conn.getresponse()
            resp.read()
            if resp.status != want:
                wrong.append((i, resp.status))
        conn.close()

    threads = [threading.Thread(target=run, args=(c,)) for c in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if wrong:
        print("client: wrong answers:", wrong[:5], file=sys.stderr)
    return 1 if wrong else 0


def main(argv):
    if len(argv) == 6 and argv[1] == "server":
        server(argv[2], argv[3], int(argv[4]), int(argv[5]))
        return 0
    if len(argv) in (6, 7) and argv[1] == "client" and argv[6:] in ([], ["continue"]):
        return client(int(argv[2]), int(argv[3]), int(argv[4]), argv[5], len(argv) == 7)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
