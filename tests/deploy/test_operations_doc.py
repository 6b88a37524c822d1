"""docs/operations.md and the compose files keep up with the settings and the metrics."""

from __future__ import annotations

from typing import Any

from deploy_helpers import REPO

from service import migration
from service.db import connect
from service.metrics import Metrics
from service.settings import Settings

GUIDE = (REPO / "docs" / "operations.md").read_text()
# Set explicitly by each compose service (or by its command line) rather than passed through.
SET_BY_COMPOSE = {"DESCENT_HOST", "DESCENT_PORT", "DESCENT_WORKERS", "DESCENT_BOOTSTRAP_KEY"}


def _variables() -> list[str]:
    return [f"DESCENT_{name.upper()}" for name in Settings.model_fields]


def test_every_setting_is_in_the_settings_table() -> None:
    missing = [v for v in _variables() if f"| `{v}` |" not in GUIDE]
    assert not missing, f"add to the Settings table of docs/operations.md: {missing}"


def test_every_tunable_setting_reaches_the_containers(
    compose: dict[str, Any], compose_sqlite: dict[str, Any]
) -> None:
    services = [compose["services"]["api"], compose["services"]["worker"]]
    services += list(compose_sqlite["services"].values())
    for service in services:
        declared = set(service["environment"])
        missing = [v for v in _variables() if v not in declared and v not in SET_BY_COMPOSE]
        assert not missing, f"pass through in the compose environment: {missing}"


def test_every_metric_is_explained(sqlite_url: str) -> None:
    migration.upgrade(sqlite_url)
    db = connect(sqlite_url)
    try:
        names = {family.name for family in Metrics(db).registry.collect()}
    finally:
        db.dispose()
    assert "descent_queue_depth" in names
    missing = sorted(name for name in names if f"| `{name}` |" not in GUIDE)
    assert not missing, f"add to the metrics table of docs/operations.md: {missing}"
