"""A job's progress writes (epoch rows, checkpoints) from a thread of their own, in order.

An epoch row costs a few milliseconds of database round trip (a checkpoint more, with its
serialization); written inline they add that to every epoch — about 4 % of a 0.1 s epoch. Here
the training loop only queues them: the database driver releases the GIL while it waits, and
NumPy releases it while it computes, so the two overlap.

Lease semantics are unchanged: each write is still lease-guarded, so nothing is written once
the lease is lost; the loss (or a write's error) surfaces in the training loop at its next
``submit`` or ``flush`` (one epoch later at most), and everything queued after it is dropped.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from worker.jobs.base import LeaseLost

Write = Callable[[], bool]  # a lease-guarded write: False when the lease was lost


class ProgressWriter:
    def __init__(self) -> None:
        self._writes: queue.Queue[Write | None] = queue.Queue()
        self._lost = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="progress-writer", daemon=True)
        self._thread.start()

    def submit(self, write: Write) -> None:
        """Queue ``write``; raises the lease loss or error of an earlier one."""
        self.raise_if_failed()
        self._writes.put(write)

    def flush(self) -> None:
        """Wait until everything queued is written; raises its lease loss or error."""
        self._writes.join()
        self.raise_if_failed()

    def close(self) -> None:
        """Write what is queued (unless a write failed) and stop the thread."""
        self._writes.put(None)
        self._thread.join()

    def raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error
        if self._lost:
            raise LeaseLost

    def _run(self) -> None:
        while True:
            write = self._writes.get()
            try:
                if write is None:
                    return
                if self._lost or self._error is not None:
                    continue  # write nothing more
                if not write():
                    self._lost = True
            except BaseException as exc:  # handed to the training loop
                self._error = exc
            finally:
                self._writes.task_done()
