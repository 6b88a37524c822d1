"""A progress line for a file being uploaded in parts: bytes sent of the total, a bar, the rate
and the time left. On a terminal it redraws one line on stderr; elsewhere it prints a line at
most every few seconds (and the last one)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from .progress import clock

BAR_WIDTH = 24
PLAIN_EVERY_SECONDS = 5.0


def size(n: float) -> str:
    """``123456789`` → ``117.7 MiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


class UploadProgress:
    """``__call__(sent, total)`` after each part (``Client.upload_dataset(on_progress=…)``)."""

    def __init__(self, name: str, stream: TextIO | None = None) -> None:
        self.name = name
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self.first: int | None = None  # bytes already there when this run began (a resume)
        self.printed = 0.0

    def __call__(self, sent: int, total: int) -> None:
        now = time.monotonic()
        if self.first is None:
            self.first = sent
            if sent:
                self.stream.write(f"resuming {self.name} at {size(sent)} of {size(total)}\n")
        line = self.line(sent, total, now)
        if self.tty:
            self.stream.write("\r" + line + "\x1b[K")
            if sent >= total:
                self.stream.write("\n")
        elif sent >= total or now - self.printed >= PLAIN_EVERY_SECONDS:
            self.stream.write(line + "\n")
            self.printed = now
        self.stream.flush()

    def line(self, sent: int, total: int, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = (sent - (self.first or 0)) / elapsed
        share = sent / total if total else 1.0
        filled = int(round(share * BAR_WIDTH))
        left = (total - sent) / rate if rate > 0 else None
        return (f"uploading {self.name} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
                f"{size(sent)} / {size(total)}  {size(rate)}/s  "
                f"{'done in ' + clock(elapsed) if sent >= total else 'ETA ' + clock(left)}")
