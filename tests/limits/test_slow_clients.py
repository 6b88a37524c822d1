"""Issue 16, item 10 (timeouts): slow clients cannot hold connections.

Before: uvicorn closes only idle keep-alive connections; a client that connects and sends nothing,
sends its headers a byte at a time, or stops in the middle of a body held its connection (and,
inside a body, a request task) for ever.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.limits.edge_helpers import MB, row_counts
from tests.limits.harness import Attack
from tests.system.served import Served, serve

pytestmark = [pytest.mark.system, pytest.mark.slow]

TIMEOUTS = {"DESCENT_HEADER_TIMEOUT_SECONDS": "1", "DESCENT_BODY_TIMEOUT_SECONDS": "1",
            "DESCENT_KEEP_ALIVE_SECONDS": "3"}
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
DEADLINE = 6.0  # seconds until a test gives up waiting for the server to close


def _connect(served: Served) -> socket.socket:
    where = urlsplit(served.url)
    sock = socket.create_connection((where.hostname, where.port), timeout=DEADLINE)
    sock.settimeout(0.1)
    return sock


def _closed_by_server(sock: socket.socket, trickle: bytes = b"") -> float:
    """Seconds until the server closes ``sock``, sending ``trickle`` a byte every 0.2 s."""
    started = time.monotonic()
    sent = 0
    while time.monotonic() - started < DEADLINE:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - started
        except TimeoutError:
            pass
        except OSError:  # reset: closed too
            return time.monotonic() - started
        if sent < len(trickle):
            try:
                sock.sendall(trickle[sent:sent + 1])
            except OSError:
                return time.monotonic() - started
            sent += 1
            time.sleep(0.1)
    return float("inf")


def test_slow_and_silent_clients_are_dropped(tmp_path: Path) -> None:
    slow_headers = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    stalled_body = (b"POST /v1/datasets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                    b"\r\nContent-Length: 1000\r\n\r\n{\"features\": ")
    with serve(tmp_path, workers=0, **TIMEOUTS) as served:
        before = row_counts(tmp_path)
        with Attack(served) as attack:
            # Fifty silent connections held open at once, while /healthz is probed.
            held = [_connect(served) for _ in range(50)]
            silent = _closed_by_server(_connect(served))
            trickled = _closed_by_server(_connect(served), slow_headers)
            body = _connect(served)
            body.sendall(stalled_body.replace(b"Host: x", b"Host: x\r\nAuthorization: Bearer "
                                              + served.key.encode()))
            stalled = _closed_by_server(body)
            # After a first request: idle, the keep-alive timeout applies (not the head's) …
            kept = _connect(served)
            kept.sendall(HEALTHZ)
            idle = _closed_by_server(kept)
            # … but a second head sent a byte at a time has the head's deadline.
            second = _connect(served)
            second.sendall(HEALTHZ)
            trickled_again = _closed_by_server(second, slow_headers)
            for sock in held:
                assert _closed_by_server(sock) < DEADLINE
                sock.close()
        assert row_counts(tmp_path) == before  # the stalled upload stored nothing
    assert silent < 3.0, silent
    assert trickled < 3.0, trickled
    assert stalled < 3.0, stalled
    assert 2.5 < idle < 5.0, idle
    assert trickled_again < 3.0, trickled_again
    print(attack.summary())
    assert attack.healthz_p99 < 0.25, attack.summary()
    assert attack.rss_growth < 20 * MB, attack.summary()
