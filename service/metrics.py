"""Prometheus metrics: job counts read from the database at scrape time, HTTP latency in-process.

Job counts, queue depth and job durations come from one SQL round trip per scrape (a custom
collector), so every API replica reports the same numbers as the database, whichever processes
ran the jobs. HTTP latency is per process, labelled by route template (``/v1/jobs/{job_id}``),
never by raw path (which would grow without bound), and by method among the known ones (others
are ``other``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import Float, case, cast, extract, func, select

from service import tables
from service.db import Database
from service.queue.kinds import kind_names

log = logging.getLogger(__name__)

DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 4 * 3600.0)
Labels = tuple[str, str]
Buckets = tuple[list[tuple[str, float]], float]  # cumulative (bound, count), sum
# "Epochs per second" is the number of epochs finished in this trailing window, divided by it.
EPOCH_RATE_WINDOW_SECONDS = 60.0
# Methods we answer; any other (clients may send any token) is counted as "other", so invented
# methods cannot grow the label set.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _duration_seconds(db: Database) -> Any:
    job = tables.Job
    if db.is_sqlite:
        return (func.julianday(job.finished_at) - func.julianday(job.started_at)) * 86400.0
    return cast(extract("epoch", job.finished_at - job.started_at), Float)


class JobsCollector(Collector):
    """``descent_jobs``, ``descent_queue_depth``, ``descent_job_duration_seconds`` and the epoch
    counters (``descent_epochs_total``, ``descent_epochs_per_second``), all from the DB."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("descent_database_up", "Whether the last scrape reached the DB")
        try:
            counts, durations, (epochs, recent_epochs) = self._query()
        except Exception:
            log.exception("metrics: the database query failed")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        jobs = GaugeMetricFamily(
            "descent_jobs", "Jobs by kind and status", labels=["kind", "status"]
        )
        for (kind, status), n in sorted(counts.items()):
            jobs.add_metric([kind, status], n)
        yield jobs
        depth = GaugeMetricFamily("descent_queue_depth", "Jobs waiting to run")
        depth.add_metric([], sum(n for (_, s), n in counts.items() if s == "queued"))
        yield depth
        hist = HistogramMetricFamily(
            "descent_job_duration_seconds", "Run time of finished jobs (start to finish)",
            labels=["kind", "status"],
        )
        for (kind, status), (buckets, total) in sorted(durations.items()):
            hist.add_metric([kind, status], buckets, sum_value=total)
        yield hist
        finished = CounterMetricFamily(
            "descent_epochs", "Training epochs finished (history rows), all jobs"
        )
        finished.add_metric([], epochs)
        yield finished
        rate = GaugeMetricFamily(
            "descent_epochs_per_second",
            f"Training epochs finished per second over the last {EPOCH_RATE_WINDOW_SECONDS:g} s",
        )
        rate.add_metric([], recent_epochs / EPOCH_RATE_WINDOW_SECONDS)
        yield rate

    def _query(self) -> tuple[dict[Labels, int], dict[Labels, Buckets], tuple[int, int]]:
        job = tables.Job
        duration = _duration_seconds(self.db)
        bucket_columns = [
            func.sum(case((duration <= bound, 1), else_=0)) for bound in DURATION_BUCKETS
        ]
        with self.db.read() as session:
            count_rows = session.execute(
                select(job.kind, job.status, func.count()).group_by(job.kind, job.status)
            ).all()
            duration_rows = session.execute(
                select(job.kind, job.status, func.count(), func.sum(duration), *bucket_columns)
                .where(
                    job.status.in_(tables.FINAL_STATUSES),
                    job.started_at.is_not(None),
                    job.finished_at.is_not(None),
                )
                .group_by(job.kind, job.status)
            ).all()
            since = tables.utcnow() - dt.timedelta(seconds=EPOCH_RATE_WINDOW_SECONDS)
            epoch = tables.JobEpoch
            epochs, recent = session.execute(
                select(func.count(), func.sum(case((epoch.created_at >= since, 1), else_=0)))
            ).one()
        counts = {(k, s): 0 for k in kind_names() for s in tables.JOB_STATUSES}
        counts.update({(k, s): int(n) for k, s, n in count_rows})
        durations: dict[Labels, Buckets] = {}
        for kind, status, n, total, *cumulative in duration_rows:
            buckets = [
                (str(b), float(c or 0)) for b, c in zip(DURATION_BUCKETS, cumulative, strict=True)
            ]
            buckets.append(("+Inf", float(n)))
            durations[(kind, status)] = (buckets, float(total or 0.0))
        return counts, durations, (int(epochs or 0), int(recent or 0))


class Metrics:
    """One registry per app (tests build many apps in one process)."""

    def __init__(self, db: Database) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(JobsCollector(db))
        self.http_latency = Histogram(
            "descent_http_request_duration_seconds", "HTTP request latency by route",
            ["method", "route", "status"], buckets=HTTP_BUCKETS, registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """``route`` is a route template (or ``unmatched``), never a raw path."""
        method = method if method in KNOWN_METHODS else "other"
        self.http_latency.labels(method, route, str(status)).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
