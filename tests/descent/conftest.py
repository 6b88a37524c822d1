"""Fixtures for the client and CLI tests: one real `descent serve` for the session, and data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from descent_server import Server, running_server
from descent_testdata import blobs

from descent import Client


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("client-server")) as running:
        yield running


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    with Client(server.url, server.api_key) as c:
        yield c


@pytest.fixture
def classification_csv(tmp_path: Path) -> Path:
    X, y = blobs(seed=7)
    path = tmp_path / "blobs.csv"
    rows = [",".join(f"{v:.6f}" for v in x) + f",{label}" for x, label in zip(X, y, strict=True)]
    path.write_text("a,b,c,d,label\n" + "\n".join(rows) + "\n")
    return path
