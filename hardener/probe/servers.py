"""The probe's own listeners: an HTTP server that answers ``GET /id`` with a fixed text, and a DNS
server that answers NXDOMAIN to every question except the few names it is told.

They serve the host listeners of a probe (in the probe's process, on the host's bridge addresses)
and the "outside" test host (a separate process run inside a network namespace the probe creates:
``python3 servers.py --http ADDR:PORT --body TEXT --dns ADDR --answer NAME=ADDR``). The DNS
server is also the resolver ``tests/runtime/engine.sh`` gives its engine (``--dns``), so no
container lookup ever reaches the machine's own resolver.

Standard library only: this file also runs as a plain script with the system's python3.
"""

from __future__ import annotations

import argparse
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_DNS_LABELS = 127


class IdServer(ThreadingHTTPServer):
    """``GET`` anything -> 200 with ``body``; one connection per request."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], body: str):
        self.body = (body + "\n").encode()
        super().__init__(address, _IdHandler)

    def start(self) -> "IdServer":
        self.started = True
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        return self

    def stop(self) -> None:
        if getattr(self, "started", False):
            self.shutdown()
        self.server_close()


class _IdHandler(BaseHTTPRequestHandler):
    timeout = 10

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = self.server.body  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def _question(packet: bytes) -> tuple[str, int, int] | None:
    """(lower-case name, qtype, offset after the question) of a query's first question."""
    if len(packet) < 12:
        return None
    flags, qdcount = struct.unpack("!2xHH", packet[:6])
    if flags & 0x8000 or qdcount < 1:
        return None
    labels: list[str] = []
    pos = 12
    for _ in range(MAX_DNS_LABELS + 1):
        if pos >= len(packet):
            return None
        size = packet[pos]
        pos += 1
        if size == 0:
            break
        if size > 63:
            return None  # no compression in a question we answer
        labels.append(packet[pos:pos + size].decode("ascii", "replace").lower())
        pos += size
    else:
        return None
    if pos + 4 > len(packet):
        return None
    qtype = struct.unpack("!H", packet[pos:pos + 2])[0]
    return ".".join(labels), qtype, pos + 4


def dns_reply(packet: bytes, answers: dict[str, str]) -> bytes | None:
    """The reply to one query: an A record for a name in ``answers``, NXDOMAIN for anything else
    (an empty answer for other types of a known name)."""
    q = _question(packet)
    if q is None:
        return None
    name, qtype, end = q
    qid, flags = struct.unpack("!HH", packet[:4])
    known = answers.get(name.rstrip("."))
    rcode = 0 if known else 3
    out_flags = 0x8000 | (flags & 0x7900) | 0x0400 | 0x0080 | rcode  # QR, opcode+RD copied, AA, RA
    records = b""
    count = 0
    if known and qtype in (1, 255):
        records = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 5, 4) + socket.inet_aton(known)
        count = 1
    return struct.pack("!HHHHHH", qid, out_flags, 1, count, 0, 0) + packet[12:end] + records


class DnsServer:
    """UDP DNS on ``(address, port)``; see :func:`dns_reply`."""

    def __init__(self, address: tuple[str, int], answers: dict[str, str] | None = None):
        self.answers = {k.lower().rstrip("."): v for k, v in (answers or {}).items()}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.5)
        self._stop = threading.Event()

    def start(self) -> "DnsServer":
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                packet, peer = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            reply = dns_reply(packet, self.answers)
            if reply is not None:
                try:
                    self.sock.sendto(reply, peer)
                except OSError:
                    pass

    def stop(self) -> None:
        self._stop.set()
        self.sock.close()


def _addr(text: str, default_port: int) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    return (host, int(port)) if sep else (text, default_port)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="the probe's listeners (run inside its own namespace)")
    ap.add_argument("--http", help="ADDR:PORT answering GET with --body")
    ap.add_argument("--body", default="compose-harden-outside")
    ap.add_argument("--dns", help="ADDR[:PORT] answering NXDOMAIN, except --answer names")
    ap.add_argument("--answer", action="append", default=[], metavar="NAME=ADDR")
    ap.add_argument("--lifetime", type=float, default=3600, help="stop by itself after this many seconds")
    a = ap.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    servers: list = []
    if a.http:
        servers.append(IdServer(_addr(a.http, 80), a.body).start())
    if a.dns:
        answers = dict(x.split("=", 1) for x in a.answer)
        servers.append(DnsServer(_addr(a.dns, 53), answers).start())
    print("ready", flush=True)
    deadline = time.monotonic() + a.lifetime
    while not stop.is_set() and time.monotonic() < deadline:
        stop.wait(0.5)
    for s in servers:
        s.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
