#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""TLS peers for test_upstreams, on Python's ssl module (OpenSSL).

    sni_peer.py server CERT KEY FD CONNS
        Accepts CONNS connections on the listening socket inherited as FD,
        one after another; on each, answers one HTTP/1.1 request over TLS.

    sni_peer.py client PORT NAME CONNS
        Makes CONNS connections to 127.0.0.1:PORT, each a TLS handshake that
        names NAME as the server (SNI) and one request. Exits 0 when every
        answer was 200.
"""
import socket
import ssl
import sys


def read_head(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise EOFError("connection closed inside a head")
        data += chunk
    return data


def server(cert, key, fd, conns):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    lsock = socket.socket(fileno=fd)
    for _ in range(conns):
        conn, _ = lsock.accept()
        with ctx.wrap_socket(conn, server_side=True) as s:
            read_head(s)
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    return 0


def client(port, name, conns):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for _ in range(conns):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=name) as s:
                s.sendall(("GET / HTTP/1.1\r\nHost: %s\r\n\r\n" % name).encode())
                if not read_head(s).startswith(b"HTTP/1.1 200 "):
                    return 1
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "server":
        sys.exit(server(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
    sys.exit(client(int(sys.argv[2]), sys.argv[3], int(sys.argv[4])))
