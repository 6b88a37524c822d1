"""The database tables (SQLAlchemy 2 declarative models).

One database holds everything: tenants and their API keys, datasets, jobs (which are also the
queue), per-epoch history, the latest checkpoint of each job, models and stored predictions.
Relationships are ``lazy="raise"``: every query says what it loads.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from service.named_models.columns import NamedModel
from service.stored_columns import StoredColumns

# Stable constraint names, so Alembic's batch mode on SQLite can find and alter them.
NAMING_CONVENTION = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_N_name)s",
                     "ck": "ck_%(table_name)s_%(constraint_name)s", "pk": "pk_%(table_name)s",
                     "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}

# The largest value an INTEGER column holds on both databases: query parameters bound against
# one (epochs, row offsets) are checked against it, since a larger one cannot even be bound.
MAX_INTEGER = 2**31 - 1

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FINAL_STATUSES = ("succeeded", "failed", "cancelled")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    label: Mapped[str | None] = mapped_column(String(200))
    # SHA-256 hex of the key; the key itself is shown once and never stored.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Dataset(StoredColumns, Base):
    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("tenant_id", "sha256"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    # SHA-256 of the canonical content (see service.datasets); dedupes uploads per tenant.
    sha256: Mapped[str] = mapped_column(String(64))
    n_rows: Mapped[int] = mapped_column(Integer)
    n_features: Mapped[int] = mapped_column(Integer)
    n_targets: Mapped[int] = mapped_column(Integer)
    target_kind: Mapped[str | None] = mapped_column(String(16))  # "labels" | "values" | None
    classes: Mapped[list[Any] | None] = mapped_column(JSON)
    feature_names: Mapped[list[str] | None] = mapped_column(JSON)
    target_names: Mapped[list[str] | None] = mapped_column(JSON)
    # The feature columns' schema: [{"name", "kind", "missing", "categories"}, …] (null for a
    # dataset stored before columns had kinds: all numeric, named by feature_names).
    columns: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # The task the targets' form implies, a job's default task: "multilabel" for targets
    # uploaded as label sets; null otherwise (the default then follows target_kind).
    task: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Job(Base):
    """A unit of work and its queue entry: claimed, leased, heartbeated, finished in place."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        # The claim query's path: queued jobs by priority then age.
        Index("ix_jobs_claim", "status", "priority", "id"),
        Index("ix_jobs_lease", "status", "lease_expires_at"),
        # A tenant's queued jobs (its quota) and running jobs (whose turn it is: fairness)...
        Index("ix_jobs_tenant_status", "tenant_id", "status"),
        # ...and its latest claim (fairness's round-robin).
        Index("ix_jobs_tenant_claimed", "tenant_id", "claimed_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(16))  # a name in service.queue.kinds
    status: Mapped[str] = mapped_column(String(16), default="queued")
    # Null once the dataset is deleted (only finished jobs: active ones keep it from deletion).
    dataset_id: Mapped[str | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="SET NULL"), index=True
    )
    # train: the model it produced; predict: the model it applies.
    model_id: Mapped[str | None] = mapped_column(String(40))
    prediction_id: Mapped[str | None] = mapped_column(String(40))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    sweep_id: Mapped[str | None] = mapped_column(String(40), index=True)  # service.sweeps.tables

    priority: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # SHA-256 of the submitted body, to answer 409 when a key is reused for another request.
    request_sha256: Mapped[str | None] = mapped_column(String(64))

    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_token: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When the latest attempt was claimed (started_at keeps the first).
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)

    progress_epoch: Mapped[int] = mapped_column(Integer, default=0)
    progress_epochs: Mapped[int | None] = mapped_column(Integer)
    # The latest epoch's metrics while running; once succeeded, those of the model's weights
    # (the epoch `best_epoch`, the best one under early stopping's restore_best).
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    best_epoch: Mapped[int | None] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)

    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class JobAttempt(Base):
    """One attempt at a job: claimed by a worker, ended by its outcome (or by the reaper when
    the worker stopped answering: ``failed``/``WORKER_LOST``). A job's history of attempts."""

    __tablename__ = "job_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    # The job's attempt count when claimed (a released attempt is not counted: the next has it).
    attempt: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(64))
    # The claim's lease token: how the attempt's end finds its row (never shown).
    lease_token: Mapped[str] = mapped_column(String(64), unique=True)
    # running | succeeded | failed | cancelled | released
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class JobEpoch(Base):
    """One finished epoch of a train job; a resumed job overwrites, never duplicates."""

    __tablename__ = "job_epochs"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Checkpoint(Base):
    """The latest training state of a job (worker.nn.TrainingState bytes)."""

    __tablename__ = "checkpoints"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer)
    state: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Model(NamedModel, Base):  # name, description, tags, parent_model_id: NamedModel
    __tablename__ = "models"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), unique=True)
    # Null once the training dataset is deleted; the model stands on its own.
    dataset_id: Mapped[str | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"))
    task: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    n_features: Mapped[int] = mapped_column(Integer)
    n_targets: Mapped[int] = mapped_column(Integer)
    classes: Mapped[list[Any] | None] = mapped_column(JSON)
    # The raw columns it takes, [{"name", "kind", "categories"}, …]; null: numbers by position.
    columns: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # The history row of best_epoch, these weights' epoch (null: a model from before it).
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    epochs_trained: Mapped[int] = mapped_column(Integer)
    best_epoch: Mapped[int | None] = mapped_column(Integer)
    # GET /v1/models/{id}/weights' .npz: W0, b0, …, and mean/scale, target_mean/… when fitted.
    weights: Mapped[bytes] = mapped_column(LargeBinary)
    weights_sha256: Mapped[str] = mapped_column(String(64))
    # The report of these weights on the validation part (null: none, or from before reports).
    evaluation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Evaluation(Base):
    """A model's report on a dataset with targets: computed inline (``job_id`` null) or by an
    ``evaluate`` job (``report`` null until the job succeeds)."""

    __tablename__ = "evaluations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id"), index=True)
    dataset_id: Mapped[str | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="SET NULL"))
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"))
    n_rows: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Prediction(Base):
    __tablename__ = "predictions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id"), index=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("models.id"), index=True)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"))
    n_rows: Mapped[int] = mapped_column(Integer)
    # Inputs matched by name: the columns given (or the dataset's) that the model does not take.
    ignored_columns: Mapped[list[str] | None] = mapped_column(JSON)
    # False while its rows are being written (in chunks); readers see complete ones only.
    complete: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PredictionRow(Base):
    """One row of a stored prediction, so large ones are read a page at a time."""

    __tablename__ = "prediction_rows"

    prediction_id: Mapped[str] = mapped_column(
        ForeignKey("predictions.id", ondelete="CASCADE"), primary_key=True
    )
    row: Mapped[int] = mapped_column(Integer, primary_key=True)
    prediction: Mapped[Any] = mapped_column(JSON)
    probabilities: Mapped[list[float] | None] = mapped_column(JSON)


from service.named_models.tables import ModelAlias  # noqa: E402, F401  (it imports Base)
from service.sweeps.tables import Sweep, SweepTrial  # noqa: E402, F401  (they import Base)
from service.upload_table import Upload  # noqa: E402, F401 (the uploads table)
