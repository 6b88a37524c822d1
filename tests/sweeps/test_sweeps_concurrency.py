"""Many processes advancing one sweep at once (SQLite and PostgreSQL): the sweep's row lock
lets one sample at a time, so trials are numbered 0, 1, … without a gap or a repeat and never
more than ``parallelism`` are queued; a sweep with nothing left ends exactly once."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parents[1] / "service"))
from api_helpers import auth, client_for  # noqa: E402
from test_sweeps_api import blobs, sweep_body  # noqa: E402

from service import tables  # noqa: E402
from service.db import Database  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.sweeps.advance import advance  # noqa: E402


def trial_numbers(db: Database, sweep_id: str) -> list[int]:
    with db.read() as session:
        return list(session.scalars(select(tables.SweepTrial.number).where(
            tables.SweepTrial.sweep_id == sweep_id).order_by(tables.SweepTrial.number)))


def race(db: Database, sweep_id: str, settings: Settings, n: int = 6) -> list[Any]:
    results: list[Any] = []
    start = threading.Barrier(n)

    def run() -> None:
        start.wait()
        results.append(advance(db, sweep_id=sweep_id, settings=settings))

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_advances_sample_each_trial_once(db: Database) -> None:
    client, headers = client_for(db), auth(db)
    dataset_id = client.post("/v1/datasets", json=blobs(), headers=headers).json()["id"]
    sweep = client.post("/v1/sweeps", json=sweep_body(dataset_id, parallelism=3, max_trials=5),
                        headers=headers).json()
    settings = Settings(database_url=db.url)
    assert race(db, sweep["id"], settings) == ["running"] * 6
    assert trial_numbers(db, sweep["id"]) == [0, 1, 2]  # parallelism 3: nothing more to queue

    # Two trials end (cancelled here): the racers queue exactly the last two, numbered 3 and 4.
    with db.write() as session:
        for job in session.scalars(select(tables.Job).where(
                tables.Job.sweep_id == sweep["id"]).limit(2)):
            job.status = "cancelled"
    race(db, sweep["id"], settings)
    assert trial_numbers(db, sweep["id"]) == [0, 1, 2, 3, 4]
    got = client.get(f"/v1/sweeps/{sweep['id']}", headers=headers).json()
    assert got["trials_sampled"] == 5 and got["counts"]["queued"] == 3
    params = client.get(f"/v1/sweeps/{sweep['id']}/trials", headers=headers).json()["data"]
    assert len({repr(sorted(t["params"].items())) for t in params}) == 5
