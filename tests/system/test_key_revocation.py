"""A revoked API key stops working in every API process within a second, although each process
remembers the keys it has found (`service.key_cache`): two real `descent serve` processes on
one database, SQLite and PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from service.db import connect
from service.keys import create_key, revoke_key
from tests.system.served import serve

SECOND = 1.0


@pytest.mark.system
@pytest.mark.slow
def test_a_revoked_key_stops_working_in_every_api_process_within_a_second(
    database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    db = connect(database_url)
    # One after the other: each migrates the database before it listens.
    with serve(tmp_path / "a", workers=0, DESCENT_DATABASE_URL=database_url) as a, \
            serve(tmp_path / "b", workers=0, DESCENT_DATABASE_URL=database_url) as b:
        key_id, key = create_key(db, tenant="acme")
        headers = {"Authorization": f"Bearer {key}"}
        clients = [httpx.Client(base_url=s.url, headers=headers, timeout=30) for s in (a, b)]
        try:
            for client in clients:  # each process finds the key and remembers it
                for _ in range(3):
                    assert client.get("/v1/datasets").status_code == 200
            assert revoke_key(db, key_id=key_id)
            revoked = time.monotonic()
            refused_after: dict[int, float] = {}
            while len(refused_after) < len(clients):
                assert time.monotonic() - revoked < 30, f"still accepted: {refused_after}"
                for i, client in enumerate(clients):
                    if i in refused_after:
                        continue
                    sent = time.monotonic()
                    status = client.get("/v1/datasets").status_code
                    assert status in (200, 401), status
                    if status == 401:
                        refused_after[i] = sent - revoked
                time.sleep(0.01)
            # A request sent a second after the revocation is refused by either process.
            assert max(refused_after.values()) < SECOND, refused_after
            for client in clients:
                assert client.get("/v1/datasets").status_code == 401
        finally:
            for client in clients:
                client.close()
            db.dispose()
