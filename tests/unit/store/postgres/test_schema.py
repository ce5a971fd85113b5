"""PostgreSQL connection settings: TLS modes, timeouts, and which URLs pick the store."""

from __future__ import annotations

import ssl

import certifi
import pytest

from service.store.choose import is_postgres
from service.store.postgres.schema import PgOptions


def test_postgres_urls_select_the_postgres_store() -> None:
    assert is_postgres("postgresql://u:p@db:5432/rollcall")
    assert is_postgres("postgres://db/rollcall")
    assert not is_postgres("rollcall.sqlite3")
    assert not is_postgres("/var/lib/rollcall/postgresql.sqlite3")


def test_tls_modes() -> None:
    assert PgOptions("postgresql://db/x").ssl() is None  # as the URL's sslmode says
    assert PgOptions("postgresql://db/x", tls="require").ssl() == "require"
    assert PgOptions("postgresql://db/x", tls="verify-full").ssl() == "verify-full"
    with pytest.raises(ValueError, match="verify-full"):
        PgOptions("postgresql://db/x", tls="maybe").ssl()


def test_tls_with_a_ca_file_verifies_the_server() -> None:
    full = PgOptions("postgresql://db/x", tls="verify-full", tls_ca_file=certifi.where()).ssl()
    assert isinstance(full, ssl.SSLContext)
    assert full.verify_mode is ssl.CERT_REQUIRED and full.check_hostname
    ca = PgOptions("postgresql://db/x", tls="verify-ca", tls_ca_file=certifi.where()).ssl()
    assert isinstance(ca, ssl.SSLContext) and not ca.check_hostname


def test_timeouts_reach_the_server_settings() -> None:
    kwargs = PgOptions("postgresql://db/x", statement_timeout_seconds=2.5).connect_kwargs()
    assert kwargs["server_settings"]["statement_timeout"] == "2500"
    assert kwargs["server_settings"]["lock_timeout"] == "2500"
    assert "ssl" not in kwargs
