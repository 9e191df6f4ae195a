# SPDX-License-Identifier: MIT
"""Self-signed certificate for the HTTPS mock LLM API, made with the openssl CLI."""

import os
import shutil
import ssl
import subprocess


class TLSError(RuntimeError):
    """TLS cannot be set up; the message says why and what to do."""


def generate(folder):
    """Write cert.pem and key.pem (P-256, CN and SAN 127.0.0.1/localhost) in folder.

    Return (cert_path, key_path).  Raises TLSError when the openssl command is
    missing or fails.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise TLSError("--tls needs the openssl command to generate a certificate; "
                       "install it (apt-get install openssl) or run without --tls")
    cert = os.path.join(folder, "cert.pem")
    key = os.path.join(folder, "key.pem")
    cmd = [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
           "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
           "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
    try:
        res = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise TLSError("openssl req failed: %s" % e)
    if res.returncode != 0:
        msg = res.stderr.decode("utf-8", "replace").strip().splitlines()
        raise TLSError("openssl req failed (exit %d): %s" % (res.returncode,
                                                             msg[-1] if msg else "no message"))
    os.chmod(key, 0o600)
    return cert, key


def server_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


def client_context(cafile):
    """A verifying client context that trusts only the generated certificate."""
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx
