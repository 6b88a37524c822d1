"""``Client``: one method per operation of the HTTP API (docs/api.md), returning dataclasses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from . import binary, tables, uploads, waiting
from .chunked import in_parts, send_file
from .naming import ModelNaming
from .sweeps import Sweep, Trial, wait_sweep
from .transport import Transport
from .types import (
    Dataset,
    Estimate,
    Evaluation,
    Event,
    HistoryRow,
    Job,
    Model,
    Prediction,
    PredictResult,
)


class Client(ModelNaming):
    """A synchronous Descent client.

    ``base_url`` defaults to ``$DESCENT_URL`` (else ``http://127.0.0.1:8000``) and ``api_key`` to
    ``$DESCENT_API_KEY``. Answers the server refuses raise ``DescentAPIError``; an unreachable
    server raises ``DescentConnectionError``. List methods are generators that follow cursors.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._t = Transport(base_url, api_key, timeout=timeout, transport=transport)

    @property
    def base_url(self) -> str:
        return self._t.base_url

    def close(self) -> None:
        self._t.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Datasets ------------------------------------------------------------------------------
    def upload_dataset(
        self,
        data: Any,
        targets: Any = None,
        *,
        name: str | None = None,
        target: str | list[str] | None = None,
        target_kind: str | None = None,
        column_kinds: dict[str, str] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        chunked: bool | None = None,
    ) -> Dataset:
        """Upload a table: a pandas DataFrame, a list of records ``[{column: value}, …]``,
        arrays / lists of rows (with ``targets``), or a ``.csv`` / ``.npz`` file path.

        ``target`` names the target column(s) of a CSV, a DataFrame or records (a DataFrame may
        instead take its targets as ``targets``, a Series); an ``.npz`` holds ``X`` and ``y``.
        Multi-label targets (for ``submit_job(task="multilabel")``) are several 0/1 target
        columns (``target=["a", "b"]``, or rows of 0/1 as ``targets``) or a label set per row
        (``targets=[["a", "b"], [], …]``); ``predict`` then answers label sets, with
        ``{label: p}`` per row as ``probabilities``.
        ``target_kind`` (``"labels"`` or ``"values"``) says what the targets are; without it
        the server guesses (whole numbers and strings are labels) and the answer's ``hint``
        says what it guessed. A DataFrame's column kinds come from its dtypes (numbers are
        numeric; object, string, category and bool columns categorical; NaN/None are missing
        cells). ``column_kinds`` (``{"zip": "categorical"}``) overrides per column. Uploading
        the same content again returns the existing dataset (its id and name), with
        ``deduplicated`` true and a ``message`` saying so. A file over 32 MiB (or any, with
        ``chunked=True``) goes in resumable parts (``descent.chunked``; calling again resumes),
        with ``on_progress(bytes_sent, total_bytes)`` after each.
        """
        path = in_parts(self._t.base_url, data, chunked)
        if path is not None:
            fields = uploads.complete_fields(path, targets, name=name, target=target,
                                             target_kind=target_kind, column_kinds=column_kinds)
            return Dataset.from_dict(send_file(self._t, path, fields, on_progress=on_progress))
        kwargs = uploads.dataset_request(data, targets, name=name, target=target,
                                         target_kind=target_kind, column_kinds=column_kinds)
        return Dataset.from_dict(self._t.json("POST", "/v1/datasets", **kwargs))

    def list_datasets(self, *, page_size: int | None = None) -> Iterator[Dataset]:
        for item in self._t.paginate("/v1/datasets", {"limit": page_size}):
            yield Dataset.from_dict(item)

    def get_dataset(self, dataset_id: str) -> Dataset:
        return Dataset.from_dict(self._t.json("GET", f"/v1/datasets/{dataset_id}"))

    def delete_dataset(self, dataset_id: str) -> None:
        self._t.request("DELETE", f"/v1/datasets/{dataset_id}")

    # Jobs ----------------------------------------------------------------------------------
    def submit_job(
        self,
        spec: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Job:
        """Queue a training job: ``spec`` as in docs/api.md and/or its top-level fields as keywords
        (``dataset_id=…, network={…}, training={…}``); keywords win over ``spec``."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        body = {**(spec or {}), **fields}
        return Job.from_dict(self._t.json("POST", "/v1/jobs", json=body, headers=headers))

    def estimate(self, spec: dict[str, Any] | None = None, **fields: Any) -> Estimate:
        body = {**(spec or {}), **fields}
        return Estimate.from_dict(self._t.json("POST", "/v1/jobs/estimate", json=body))

    def gradcheck(self, spec: dict[str, Any] | None = None, *, rows: int | None = None,
                  parameters: int | None = None, **fields: Any) -> dict[str, Any]:
        """Backprop against central differences on a sample of the job's data, per layer
        (``POST /v1/jobs/gradcheck``: ``{"passed", "layers": [{"max_relative_error", …}]}``)."""
        body = {**(spec or {}), **fields}
        query = {k: v for k, v in (("rows", rows), ("parameters", parameters)) if v is not None}
        report: dict[str, Any] = self._t.json("POST", "/v1/jobs/gradcheck", json=body,
                                              params=query or None)
        return report

    def list_jobs(
        self, status: str | None = None, *, page_size: int | None = None
    ) -> Iterator[Job]:
        for item in self._t.paginate("/v1/jobs", {"status": status, "limit": page_size}):
            yield Job.from_dict(item)

    def get_job(self, job_id: str) -> Job:
        return Job.from_dict(self._t.json("GET", f"/v1/jobs/{job_id}"))

    def history(self, job_id: str, *, after: int | None = None,
                diagnostics: bool = False) -> list[HistoryRow]:
        """The job's epochs; with ``diagnostics`` each row's ``raw["diagnostics"]`` too."""
        params: dict[str, Any] = {"after": after} if after is not None else {}
        if diagnostics:
            params["diagnostics"] = "true"
        body = self._t.json("GET", f"/v1/jobs/{job_id}/history", params=params or None)
        return [HistoryRow.from_dict(row) for row in body.get("data", [])]

    def attempts(self, job_id: str) -> list[dict[str, Any]]:
        """The job's attempts, oldest first: ``attempt``, ``worker``, ``started_at``,
        ``ended_at``, ``outcome`` and ``error`` (e.g. ``{"code": "WORKER_LOST", …}``)."""
        body = self._t.json("GET", f"/v1/jobs/{job_id}/attempts")
        return list(body.get("data", []))

    def events(
        self, job_id: str, *, last_event_id: str | None = None, read_timeout: float = 30.0
    ) -> Iterator[Event]:
        """The job's event stream, one connection: ``status`` and ``epoch`` events until the
        server ends it (after the final status). ``wait`` adds reconnection and polling."""
        path = f"/v1/jobs/{job_id}/events"
        with self._t.stream_events(path, last_event_id, read_timeout) as stream:
            for kind, event_id, data in stream:
                yield waiting.make_event(kind, event_id, data)

    def cancel_job(self, job_id: str) -> Job:
        return Job.from_dict(self._t.json("POST", f"/v1/jobs/{job_id}/cancel"))

    def wait(
        self,
        job_id: str,
        on_event: Callable[[Event], None] | None = None,
        timeout: float | None = None,
        *,
        poll_interval: float = 1.0,
    ) -> Job:
        """Follow the job until it is succeeded, failed or cancelled and return it.

        ``on_event`` sees every status change and finished epoch. Uses the event stream
        (reconnecting with ``Last-Event-ID``) and falls back to polling when it is unavailable.
        Raises ``TimeoutError`` after ``timeout`` seconds. A sweep's id (``swp_…``) waits for
        the sweep instead (`wait_sweep`; ``on_event`` then sees the `Sweep` as it progresses)
        and returns the `Sweep`.
        """
        if job_id.startswith("swp_"):
            return self.wait_sweep(job_id, on_event, timeout,  # type: ignore[arg-type,return-value]
                                   poll_interval=poll_interval)
        return waiting.wait(self, job_id, on_event, timeout, poll_interval)

    # Sweeps --------------------------------------------------------------------------------

    def create_sweep(self, *, dataset_id: str, space: dict[str, Any], base: dict[str, Any]
                     | None = None, **fields: Any) -> Sweep:
        """Start a sweep (``POST /v1/sweeps``): ``method``, ``metric``, ``max_trials``,
        ``parallelism``, ``early_termination``, ``seed`` as keyword arguments."""
        body = {"dataset_id": dataset_id, "base": base or {}, "space": space, **fields}
        return Sweep.from_dict(self._t.json("POST", "/v1/sweeps", json=body))

    def get_sweep(self, sweep_id: str) -> Sweep:
        return Sweep.from_dict(self._t.json("GET", f"/v1/sweeps/{sweep_id}"))

    def list_sweeps(self, *, page_size: int | None = None) -> Iterator[Sweep]:
        for item in self._t.paginate("/v1/sweeps", {"limit": page_size}):
            yield Sweep.from_dict(item)

    def sweep_trials(self, sweep_id: str, *, sort: str = "number") -> list[Trial]:
        """The sweep's trials; ``sort="value"``: best first."""
        body = self._t.json("GET", f"/v1/sweeps/{sweep_id}/trials", params={"sort": sort})
        return [Trial.from_dict(row) for row in body.get("data", [])]

    def cancel_sweep(self, sweep_id: str) -> Sweep:
        return Sweep.from_dict(self._t.json("POST", f"/v1/sweeps/{sweep_id}/cancel"))

    def wait_sweep(self, sweep_id: str, on_progress: Callable[[Sweep], None] | None = None,
                   timeout: float | None = None, *, poll_interval: float = 1.0) -> Sweep:
        """Poll the sweep until it is succeeded, failed or cancelled and return it."""
        return wait_sweep(self, sweep_id, on_progress, timeout, poll_interval)

    # Models --------------------------------------------------------------------------------
    def list_models(self, *, page_size: int | None = None, name: str | None = None,
                    tag: str | None = None) -> Iterator[Model]:
        """The models, newest first (only those of ``name`` and with ``tag`` when given)."""
        query = {"limit": page_size, "name": name, "tag": tag}
        for item in self._t.paginate("/v1/models", query):
            yield Model.from_dict(item)

    def get_model(self, model_id: str) -> Model:
        return Model.from_dict(self._t.json("GET", f"/v1/models/{model_id}"))

    def download_weights(self, model_id: str, path: str | Path | None = None) -> bytes:
        """The weights ``.npz`` (``W0, b0, …``, ``mean``/``scale``, ``target_mean``/
        ``target_scale``); written to ``path`` too."""
        return self._download(f"/v1/models/{model_id}/weights", path)

    def download_onnx(self, model_id: str, path: str | Path | None = None) -> bytes:
        """The model as ONNX: its whole preprocessing, the network and its target scaling
        (float64 in and out; docs/tables.md, ONNX); written to ``path`` too."""
        return self._download(f"/v1/models/{model_id}/onnx", path)

    def _download(self, url: str, path: str | Path | None) -> bytes:
        content = self._t.request("GET", url, headers={"Accept": "*/*"}).content
        if path is not None:
            Path(path).write_bytes(content)
        return content

    def predict(self, model_id: str, inputs: Any, store: bool = False) -> PredictResult:
        """Predict ``inputs``: a pandas DataFrame or records ``[{column: value}, …]`` (matched
        to the model's columns by name, in any order; ``None``/NaN missing), or rows by position
        (n × n_features, lists or an array). For records the answer lists the
        ``ignored_columns`` the model does not take; a missing column raises the server's 422
        naming it. Arrays and DataFrames of 1,000 rows or more travel as ``.npy`` / Arrow
        (`descent.binary`); the answer is the same."""
        url = f"/v1/models/{model_id}/predict"
        answer = binary.predict(self._t, url, inputs, store=store)
        if answer is None:  # JSON
            body = {"inputs": tables.predict_inputs(inputs), "store": store}
            answer = self._t.json("POST", url, json=body)
        return PredictResult.from_dict(answer)

    def batch_predict(self, model_id: str, dataset_id: str) -> Job:
        """Queue a predict job over a stored dataset; its ``prediction_id`` is set on success."""
        body = {"dataset_id": dataset_id}
        return Job.from_dict(
            self._t.json("POST", f"/v1/models/{model_id}/batch-predictions", json=body)
        )

    def evaluate(self, model_id: str, dataset_id: str, *, wait: bool = True,
                 timeout: float | None = None) -> Evaluation:
        """The model's report on a dataset with targets. A small one is answered at once; a
        large one runs as an ``evaluate`` job, waited for unless ``wait`` is False."""
        body = {"dataset_id": dataset_id}
        evaluation = Evaluation.from_dict(
            self._t.json("POST", f"/v1/models/{model_id}/evaluations", json=body))
        if wait:
            evaluation = waiting.wait_evaluation(self, evaluation, timeout)
        return evaluation

    def get_evaluation(self, evaluation_id: str) -> Evaluation:
        return Evaluation.from_dict(self._t.json("GET", f"/v1/evaluations/{evaluation_id}"))

    def list_evaluations(self, model_id: str, *, page_size: int | None = None
                         ) -> Iterator[Evaluation]:
        for item in self._t.paginate(f"/v1/models/{model_id}/evaluations", {"limit": page_size}):
            yield Evaluation.from_dict(item)

    def get_prediction(
        self, prediction_id: str, *, offset: int | None = None, limit: int | None = None
    ) -> Prediction:
        params = {k: v for k, v in (("offset", offset), ("limit", limit)) if v is not None}
        return Prediction.from_dict(
            self._t.json("GET", f"/v1/predictions/{prediction_id}", params=params or None)
        )
