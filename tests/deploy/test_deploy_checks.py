"""`check_bind`: the API refuses to listen beyond loopback with no API key configured."""

from __future__ import annotations

import datetime as dt

import pytest

from service import migration
from service.db import connect
from service.deploy_checks import UnsafeBindError, check_bind, has_api_key, is_loopback
from service.tables import ApiKey, Tenant


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.1.1", "::1", "[::1]", "localhost", "LOCALHOST"]
)
def test_loopback_hosts_need_no_key(host: str) -> None:
    assert is_loopback(host)
    check_bind(host, has_key=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "10.0.0.5", "192.168.1.2", "api.example"])
def test_public_hosts_without_a_key_are_refused(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(UnsafeBindError) as info:
        check_bind(host, has_key=False)
    message = str(info.value)
    assert message.startswith(f"refusing to listen on {host or '0.0.0.0'} without an API key")
    assert "DESCENT_BOOTSTRAP_KEY" in message and "descent keys create" in message


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5"])
def test_public_hosts_with_a_key_are_allowed(host: str) -> None:
    check_bind(host, has_key=True)


def test_has_api_key_counts_only_unrevoked_keys(database_url: str) -> None:
    migration.upgrade(database_url)
    db = connect(database_url)
    try:
        assert not has_api_key(db)
        with db.write() as session:
            session.add(Tenant(id="ten_1", name="default"))
            session.flush()
            session.add(
                ApiKey(
                    id="key_1",
                    tenant_id="ten_1",
                    key_hash="0" * 64,
                    revoked_at=dt.datetime.now(dt.UTC),
                )
            )
        assert not has_api_key(db)
        with db.write() as session:
            session.add(ApiKey(id="key_2", tenant_id="ten_1", key_hash="1" * 64))
        assert has_api_key(db)
    finally:
        db.dispose()
