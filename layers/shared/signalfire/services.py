"""Cached factories: each Lambda container (or the local stack) builds its
services once, on first use.  Tests call :func:`reset` between cases."""

from __future__ import annotations

from functools import lru_cache

from signalfire.auth import TokenVerifier
from signalfire.settings import get_settings
from signalfire.store.alerts import DynamoAlertStore
from signalfire.store.dynamo import DynamoTable


@lru_cache(maxsize=1)
def table() -> DynamoTable:
    return DynamoTable(get_settings().table_name)


@lru_cache(maxsize=1)
def alert_store() -> DynamoAlertStore:
    return DynamoAlertStore(table(), retention_days=get_settings().audit_retention_days)


@lru_cache(maxsize=1)
def token_verifier() -> TokenVerifier:
    return TokenVerifier(get_settings())


_RESETTABLE: list = [table, alert_store, token_verifier, get_settings]


def register(factory) -> None:  # type: ignore[no-untyped-def]
    """Let another module's cached factory be cleared by :func:`reset`."""
    _RESETTABLE.append(factory)


def reset() -> None:
    from signalfire import aws

    for factory in _RESETTABLE:
        factory.cache_clear()
    aws.reset_clients()
