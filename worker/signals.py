"""The supervisor's signals: SIGTERM/SIGINT stop it gracefully, a second one exits at once,
SIGUSR1 wakes it to claim now."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def install_stop_signals(
    *,
    request_stop: Callable[[], None],
    wake: Callable[[], None],
    kill_children: Callable[[], None],
) -> None:
    """The first SIGTERM/SIGINT calls ``request_stop``; the second kills the children and exits
    at once (the leases bring their jobs back); SIGUSR1 calls ``wake``.

    The second signal is acted on by a thread reading the signal wake-up pipe, not by the
    Python-level handler: that one runs only when the main thread is between bytecodes, and
    the main thread may be blocked in a database call (on SQLite, behind a write lock a stuck
    training process holds) for as long as the busy timeout.
    """
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda *_: request_stop())
    signal.signal(signal.SIGUSR1, lambda *_: wake())
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    threading.Thread(
        target=_count_stop_signals, args=(read_end, kill_children), daemon=True
    ).start()


def _count_stop_signals(read_end: int, kill_children: Callable[[], None]) -> None:
    stops = 0
    while True:
        for signum in os.read(read_end, 64):
            if signum in STOP_SIGNALS:
                stops += 1
            if stops >= 2:
                # Leave now; the leases bring the jobs back to the queue.
                kill_children()
                os._exit(128 + signum)
