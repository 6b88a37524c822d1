"""The supervisor's part in sweeps: advance them when one of its jobs ends, and every few
seconds whatever happened (``service.sweeps.advance``: the sweep's row lock makes any number of
workers doing this at once safe). That periodic pass is what finishes a sweep whose last
advancing process was killed."""

from __future__ import annotations

import logging
import time

from service.db import Database
from service.settings import Settings

log = logging.getLogger("descent.worker")

# The safety net's period: a sweep stalled by a killed process goes on within this.
SWEEP_PASS_SECONDS = 2.0


class SweepKeeper:
    def __init__(self, *, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings
        self._due = True
        self._next_pass = 0.0

    def job_ended(self) -> None:
        """One of this worker's jobs ended (maybe a trial): advance at the next turn."""
        self._due = True

    def run_if_due(self) -> None:
        if not self._due and time.monotonic() < self._next_pass:
            return
        self._due = False
        self._next_pass = time.monotonic() + SWEEP_PASS_SECONDS
        from service.sweeps.advance import advance_all

        try:
            advance_all(self.db, settings=self.settings)
        except Exception:  # the database is down, say: the queue's own calls will say so too
            log.exception("advancing sweeps failed; retrying in %.0fs", SWEEP_PASS_SECONDS)
