"""Settings from the environment (prefix ``DESCENT_``), one object for the whole process."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_path() -> Path:
    """Where the database lives unless DESCENT_DATABASE_URL says otherwise: the user's data
    directory (``$XDG_DATA_HOME/descent/descent.db``, by default ``~/.local/share/descent/…`` on
    Linux), so `descent serve` finds the same database from any working directory."""
    return Path(platformdirs.user_data_dir("descent", appauthor=False)) / "descent.db"


def default_database_url() -> str:
    return f"sqlite:///{default_database_path()}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESCENT_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    host: str = "127.0.0.1"
    port: int = 8000
    # Embedded worker processes started by `descent serve` (0 = API only).
    workers: int = Field(default=1, ge=0)
    # Registered for the default tenant at startup when no key exists yet.
    bootstrap_key: str | None = None

    # Limits on what one request or tenant may ask of the service.
    # One dataset upload, whole or in chunks (POST /v1/datasets, /v1/uploads): 413 beyond.
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1)
    # A JSON upload becomes a Python object per cell while it is read: larger ones go as CSV.
    max_json_upload_bytes: int = Field(default=8 * 1024 * 1024, ge=1)
    # An .npz's X and y, each, decompressed in its own dtype (a zip bomb is refused unread).
    max_dataset_array_bytes: int = Field(default=4 * 1024**3, ge=1)
    max_dataset_columns: int = Field(default=10_000, ge=1)
    # Distinct categories one categorical column may hold (an upload over it is refused, 422).
    max_column_categories: int = Field(default=1000, ge=1)
    # The network's input width once categorical columns are one-hot encoded (uploads and jobs).
    max_encoded_width: int = Field(default=100_000, ge=1)
    # Uploads parsed at once per API process (each holds about its dataset's size in memory).
    upload_parse_concurrency: int = Field(default=2, ge=1)
    # Gradient checks run at once per API process (each decodes its dataset whole, inline).
    gradcheck_concurrency: int = Field(default=2, ge=1)
    max_parameters: int = 20_000_000
    # Depth and width of a network: its cost per row and its activations per request.
    max_hidden_layers: int = Field(default=100, ge=0)
    max_layer_units: int = Field(default=65_536, ge=1)
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

    # The HTTP edge: what one request, key or connection may hold before any work is done
    # (service/guard.py, service/event_hub.py, service/connections.py; docs/operations.md).
    max_json_body_bytes: int = Field(default=1024 * 1024, ge=1)  # jobs, estimate, … (413)
    max_predict_bytes: int = Field(default=32 * 1024 * 1024, ge=1)  # POST …/predict (413)
    max_streams_per_key: int = Field(default=8, ge=1)  # open event streams per API key (429)
    max_streams: int = Field(default=256, ge=1)  # open event streams per API process (429)
    max_connections: int = Field(default=1000, ge=1)  # uvicorn's limit_concurrency (503)
    header_timeout_seconds: float = Field(default=10.0, gt=0)  # a request's head must arrive
    body_timeout_seconds: float = Field(default=30.0, gt=0)  # longest pause inside a body
    keep_alive_seconds: int = Field(default=5, ge=1)  # idle time between requests

    predict_cache_size: int = Field(default=32, ge=0)
    # Rows one predict request may send, and rows × the model's widest layer (the work it asks
    # for); batch predictions take more (422 beyond).
    max_predict_rows: int = Field(default=100_000, ge=1)
    max_predict_activations: int = Field(default=1 << 27, ge=1)
    # POST /v1/models/{id}/evaluations: datasets of at most this many rows are evaluated in the
    # request (201); larger ones by an `evaluate` job (202).
    evaluate_inline_rows: int = Field(default=10_000, ge=0)
    # Inline evaluations at once per API process (each decodes its dataset whole); one more
    # is queued as an `evaluate` job (202) instead.
    evaluate_inline_concurrency: int = Field(default=2, ge=1)
    log_json: bool = False

    # Big data in (docs/operations.md "Artifact store"): where stored datasets live — a
    # directory or an fsspec URL; unset: a directory beside the SQLite file (on PostgreSQL,
    # the database itself).
    artifact_store: str | None = None
    # Where chunked uploads' parts gather until completed (unset: beside the SQLite file, or
    # the user's data directory), and how long an untouched one is kept.
    upload_staging_dir: str | None = None
    upload_expiry_seconds: float = Field(default=24 * 3600.0, gt=0)
    # Bytes of datasets (as uploaded) plus uploads in progress one tenant may hold (413 beyond).
    max_tenant_storage_bytes: int = Field(default=100 * 1024**3, ge=1)

    def blas_threads_for(self, concurrency: int) -> int:
        if self.blas_threads:
            return self.blas_threads
        return max(1, (os.cpu_count() or 1) // max(1, concurrency))


@lru_cache
def get_settings() -> Settings:
    return Settings()
