"""Settings from the environment (prefix ``DESCENT_``), one object for the whole process."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESCENT_", extra="ignore")

    database_url: str = "sqlite:///./descent.db"
    host: str = "127.0.0.1"
    port: int = 8000
    # Embedded worker processes started by `descent serve` (0 = API only).
    workers: int = Field(default=1, ge=0)
    # Registered for the default tenant at startup when no key exists yet.
    bootstrap_key: str | None = None

    # Limits on what one request or tenant may ask of the service.
    max_upload_bytes: int = 64 * 1024 * 1024
    max_parameters: int = 20_000_000
    max_epochs: int = 10_000
    max_queued_jobs_per_tenant: int = 100

    # A job's budget: refused at submit (422) when its estimate is over, and enforced while it
    # runs (its training process's address space; a kill past its time): failed RESOURCE_LIMIT.
    # The defaults let a 2-core, 24 GiB machine run two jobs side by side.
    max_job_memory_bytes: int = Field(default=8 * 1024**3, gt=0)
    max_job_seconds: float = Field(default=24 * 3600.0, gt=0)

    # The queue: a lease is renewed every heartbeat; a worker silent for a lease loses its job.
    lease_seconds: float = Field(default=60.0, gt=0)
    heartbeat_seconds: float = Field(default=5.0, gt=0)
    grace_seconds: float = Field(default=20.0, ge=0)
    # Idle workers look for work this often when nothing wakes them sooner.
    poll_seconds: float = Field(default=1.0, gt=0)
    # Checkpoint every epoch or every this many seconds, whichever is rarer.
    checkpoint_seconds: float = Field(default=10.0, ge=0)
    # BLAS threads per training process; None = cores / concurrency.
    blas_threads: int | None = Field(default=None, ge=1)

    predict_cache_size: int = Field(default=32, ge=0)
    log_json: bool = False

    def blas_threads_for(self, concurrency: int) -> int:
        if self.blas_threads:
            return self.blas_threads
        return max(1, (os.cpu_count() or 1) // max(1, concurrency))


@lru_cache
def get_settings() -> Settings:
    return Settings()
