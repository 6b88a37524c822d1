"""Service benchmark: real `descent serve` / `descent worker` processes on this machine, SQLite and
(when a URL is given or DESCENT_TEST_POSTGRES_URL is set) PostgreSQL, measured against the
numbers to beat. Prints one table.

    python benchmarks/service.py                       # full run (~10 minutes with PostgreSQL)
    python benchmarks/service.py --quick               # smoke run (~2-3 minutes)
    python benchmarks/service.py --postgres-url postgresql://postgres@127.0.0.1:5432/test

PostgreSQL: a fresh database is created on that server for the run and dropped afterwards.
What each row measures is in benchmarks/README.md ("Service").
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # before benchmarks/ itself, which holds this very `service.py`

from benchmarks.service_bench import bigdata, smalljobs  # noqa: E402
from benchmarks.service_bench import measures as m  # noqa: E402
from benchmarks.service_bench.load import Targets, predict_body, run_load  # noqa: E402
from benchmarks.service_bench.overhead import overhead_data, service_overhead  # noqa: E402
from benchmarks.service_bench.predict import predict_formats  # noqa: E402
from benchmarks.service_bench.predict import rows as format_rows  # noqa: E402
from benchmarks.service_bench.processes import KEY, cpu_seconds, postgres_database, serve  # noqa: E402

FEATURES = 64
PACED_RATE = 400  # requests/s of the paced load run (its p99 has a target)
WORKER_COUNTS = (1, 2, 4)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Benchmark descent serve against its targets.")
    p.add_argument("--quick", action="store_true", help="fewer samples, shorter runs")
    p.add_argument("--postgres-url", default=os.environ.get("DESCENT_TEST_POSTGRES_URL"),
                   help="a PostgreSQL server to create the run's database on "
                        "(default: DESCENT_TEST_POSTGRES_URL; none = SQLite only)")
    p.add_argument("--no-postgres", action="store_true", help="SQLite only")
    p.add_argument("--load-seconds", type=float, help="length of the load run (60; quick 10)")
    p.add_argument("--load-clients", type=int, default=32, help="concurrent clients (32)")
    p.add_argument("--overhead-seconds", type=float,
                   help="length of the overhead training run (30; quick 5)")
    p.add_argument("--small-jobs-only", action="store_true",
                   help="only the small-job rows (~5 minutes with PostgreSQL)")
    return p


@contextmanager
def database(kind: str, args: argparse.Namespace, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'descent.db'}"
    else:
        with postgres_database(args.postgres_url) as url:
            yield url


def bench(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    quick = args.quick
    out: dict[str, Any] = {"load_before": os.getloadavg()[0]}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="descent-bench-")))
        url = stack.enter_context(database(kind, args, tmp))
        served = stack.enter_context(serve(url, tmp))
        client = stack.enter_context(served.client())
        served.start_workers(1)
        log(kind, "training the 64-feature model")
        X, y = m.classification_data(2000, FEATURES, 10, seed=0)
        predict_ds = m.upload(client, "predict-64", X, y)
        trained = m.wait_job(client, m.submit(client, {
            "dataset_id": predict_ds,
            "network": {"hidden_layers": [{"units": 64, "activation": "relu"}]},
            "training": {"epochs": 3},
        })["id"], timeout=300)
        model_id = trained["model_id"]
        tiny_X, tiny_y = m.classification_data(64, 4, 2, seed=1)
        tiny_ds = m.upload(client, "tiny", tiny_X, tiny_y)

        out.update(predict(kind, client, model_id, quick=quick))
        log(kind, "queue pickup")
        out["pickup"] = m.pickup(client, tiny_ds, samples=6 if quick else 20)
        log(kind, "service overhead")
        seconds = args.overhead_seconds or (5.0 if quick else 30.0)
        oX, oy = overhead_data()
        out["overhead"] = overhead = service_overhead(
            client, oX, oy, seconds=seconds, repeat=1 if quick else 2
        )

        log(kind, "load run")
        # A job trains while the clients poll it: the worker writes while they read.
        body = dict(overhead["body"], training={**overhead["body"]["training"], "epochs": 5000})
        live = m.submit(client, body)["id"]
        targets = Targets(
            url=served.url, key=KEY, model_id=model_id, predict_body=predict_body(FEATURES),
            job_ids=[live, overhead["job_id"], trained["id"]],
        )
        load_seconds = args.load_seconds or (10.0 if quick else 60.0)
        cpu, began = cpu_seconds(served.process.pid), time.monotonic()
        out["load"] = run_load(targets, clients=args.load_clients, seconds=load_seconds)
        # Over the whole window: the clients' start-up (a barrier, not a fixed time) included.
        out["load"]["server_cpu"] = (
            (cpu_seconds(served.process.pid) - cpu) / (time.monotonic() - began))
        log(kind, f"paced load run, {PACED_RATE} requests/s")
        out["paced"] = run_load(targets, clients=args.load_clients, seconds=load_seconds,
                                rate=PACED_RATE)
        client.post(f"/v1/jobs/{live}/cancel")
        served.stop_workers()

        out["throughput"] = {}
        for workers in WORKER_COUNTS:
            log(kind, f"tiny-job throughput, {workers} worker(s)")
            out["throughput"][workers] = m.tiny_throughput(
                served, client, tiny_ds, workers=workers, jobs=(2 if quick else 8) * workers
            )
    out["load_after"] = os.getloadavg()[0]
    return out


def bench_small(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """The small-job rows (`service_bench.smalljobs`), on a server and database of their own."""
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="descent-bench-")))
        served = stack.enter_context(serve(stack.enter_context(database(kind, args, tmp)), tmp))
        return smalljobs.small_jobs(served, stack.enter_context(served.client()), quick=args.quick)


def predict(kind: str, client: Any, model_id: str, *, quick: bool) -> dict[str, Any]:
    """Predict latency (JSON) and throughput by format (.npy, Arrow)."""
    log(kind, "predict latency")
    latency = m.predict_latency(client, model_id, features=FEATURES,
                                rounds=100 if quick else 500, big_rounds=20 if quick else 100)
    log(kind, "predict throughput by format (.npy, Arrow)")
    formats = predict_formats(client, model_id, features=FEATURES, quick=quick)
    return {"predict": latency, "formats": formats}


def bench_bigdata(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """The big data rows (service_bench/bigdata.py), on a server and database of their own."""
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="descent-bench-")))
        served = stack.enter_context(serve(stack.enter_context(database(kind, args, tmp)), tmp))
        log(kind, "big data in: MNIST-sized uploads, a job on one, 2 GB in parts (full run)")
        return bigdata.big_data(served, stack.enter_context(served.client()), quick=args.quick)


def log(kind: str, what: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} {kind}] {what}", file=sys.stderr, flush=True)


# --- the table -------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    """``12.34 ms``; "-" for NaN (a quantile of no sample, e.g. a load run that completed
    no request)."""
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.2f} ms"


def rows(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(measure, value, target) rows of one database's results."""
    if "predict" not in r:  # --small-jobs-only
        return [*smalljobs.rows(r["small"]), ("machine load average before / after",
                                              f"{r['load_before']:.1f} / {r['load_after']:.1f}",
                                              "")]
    p, q, o, load, paced = r["predict"], r["pickup"], r["overhead"], r["load"], r["paced"]
    ratio = p["one_p50"] / p["health_p50"]
    out = [
        ("/healthz p50 / p99", f"{ms(p['health_p50'])} / {ms(p['health_p99'])}", "floor"),
        ("predict 1 row p50 / p99", f"{ms(p['one_p50'])} / {ms(p['one_p99'])}", ""),
        ("predict 1 row p50 ÷ /healthz p50", f"{ratio:.2f}×", "≤ 1.5×"),
        ("predict 1,000 rows p50 / p99", f"{ms(p['big_p50'])} / {ms(p['big_p99'])}", ""),
        ("predict 1,000 rows throughput", f"{p['big_rows_per_s']:,.0f} rows/s", "≥ 100,000"),
        *format_rows(r["formats"]),
        ("pickup p50 / p99 (started_at − answer)", f"{ms(q['p50'])} / {ms(q['p99'])}",
         "p50 < 100 ms"),
    ]
    for workers, rate in r["throughput"].items():
        out.append((f"tiny jobs, {workers} worker process(es)", f"{rate:.2f} jobs/s", ""))
    out += smalljobs.rows(r["small"])
    out += [
        (f"overhead: {o['epochs']}-epoch job, direct train (best)", f"{o['direct']:.2f} s", ""),
        ("overhead: started→finished ÷ direct", f"{o['ratio_worker']:.3f}×", "≤ 1.05×"),
        ("overhead: submit→succeeded ÷ direct", f"{o['ratio_end_to_end']:.3f}×", "≤ 1.05×"),
        ("load: requests/s", f"{load['rps']:,.0f}", "≥ 700"),
        ("load: p50 / p99", f"{ms(load['p50'])} / {ms(load['p99'])}", "p99 < 250 ms"),
        ("load: p99 poll / history / predict",
         " / ".join(f"{load['p99_by_op'].get(k, 0) * 1000:.0f}" for k in ("poll", "history",
                                                                       "predict")) + " ms", ""),
        ("load: errors", f"{load['errors']} of {load['requests']:,}", "0"),
        ("load: CPU generator / server (cores)",
         f"{load['generator_cpu']:.2f} / {load['server_cpu']:.2f}", ""),
        # What one process could serve with a core to itself, whatever the machine's load.
        ("load: server CPU per request", ms(load["server_cpu"] / load["rps"])
         if load["rps"] else "-", "≤ 1.43 ms (700/s)"),
        (f"paced load ({PACED_RATE}/s): requests/s", f"{paced['rps']:,.0f}", ""),
        (f"paced load ({PACED_RATE}/s): p50 / p99", f"{ms(paced['p50'])} / {ms(paced['p99'])}",
         "p99 < 100 ms"),
        (f"paced load ({PACED_RATE}/s): errors", f"{paced['errors']} of {paced['requests']:,}",
         "0"),
        *bigdata.rows(r["bigdata"]),
        ("machine load average before / after", f"{r['load_before']:.1f} / {r['load_after']:.1f}",
         ""),
    ]
    return out


def table(results: dict[str, dict[str, Any]]) -> str:
    kinds = list(results)
    columns = {kind: rows(results[kind]) for kind in kinds}
    first = columns[kinds[0]]
    header = ["measure", *(k for k in kinds), "target"]
    body = [
        [name, *(columns[k][i][1] for k in kinds), target]
        for i, (name, _, target) in enumerate(first)
    ]
    widths = [max(len(row[c]) for row in [header, *body]) for c in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in body)])


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    kinds = ["sqlite"]
    if args.postgres_url and not args.no_postgres:
        kinds.append("postgresql")
    results = {} if args.small_jobs_only else {
        kind: {**bench(kind, args), "bigdata": bench_bigdata(kind, args)} for kind in kinds}
    for kind in kinds:
        log(kind, "small jobs")
        result = results.setdefault(kind, {"load_before": os.getloadavg()[0]})
        result["small"] = bench_small(kind, args)
        result.setdefault("load_after", os.getloadavg()[0])
    print(f"Service benchmark ({'quick' if args.quick else 'full'}; {os.cpu_count()} cores; "
          f"{args.load_clients} load clients)")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
