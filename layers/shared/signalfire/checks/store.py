"""The check store interface: hosts, their latest results and snapshot, and
the CheckRun history.  The DynamoDB implementation is :mod:`signalfire.checks.dynamo`."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from signalfire.checks.models import CheckRun, Host, HostDetail
from signalfire.store.dynamo import Page


class CheckStore(abc.ABC):
    @abc.abstractmethod
    def get_host(self, hostname: str) -> Host | None:
        """The host record (consistent read), or None for a host never seen."""

    @abc.abstractmethod
    def host_detail(self, hostname: str) -> HostDetail | None:
        """The host with its latest result per checker and its latest snapshot."""

    @abc.abstractmethod
    def record_results(self, hostname: str, latest: list[CheckRun], history: list[CheckRun],
                       snapshot: dict[str, Any] | None, collected_at: datetime, batch_id: str) -> None:
        """Keep ``latest`` as each checker's current result, ``snapshot`` as the
        host's latest, and ``history`` (every run of the batch) as CheckRuns.
        Idempotent: writing the same batch twice leaves the same items."""

    @abc.abstractmethod
    def save_host(self, host: Host, expected_version: int) -> None:
        """Write ``host`` if its stored version is still ``expected_version``
        (0 = must not exist yet); ConditionFailed otherwise."""

    @abc.abstractmethod
    def list_hosts(self, *, limit: int, next_token: str | None) -> Page:
        """Hosts by name (Page of Host)."""

    @abc.abstractmethod
    def iter_hosts(self) -> Iterator[Host]:
        """Every host, page by page (for the silent-host sweep)."""

    @abc.abstractmethod
    def list_batches(self, *, hostname: str | None, since: datetime | None, limit: int,
                     next_token: str | None) -> Page:
        """Check batches newest first (Page of list[CheckRun]), for one host or all."""
