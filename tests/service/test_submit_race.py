"""A dataset deleted between a submit's read and its insert is a 404, not a 500."""

from __future__ import annotations

import pytest
from api_helpers import row_counts

from service.db import Database
from service.errors import NotFound
from service.repository import jobs as job_store
from service.settings import Settings


def test_submit_on_a_dataset_deleted_meanwhile(db: Database, tenant: str) -> None:
    before = row_counts(db)
    with pytest.raises(NotFound, match="was deleted"):
        job_store.submit(
            db, settings=Settings(database_url=db.url), tenant_id=tenant, kind="train",
            dataset_id="ds_01M80M9KKSKY1DXHSBH4WP2T09", spec={},
        )
    assert row_counts(db) == before
