"""Hosts and check results in DynamoDB.

=====================  ============================  ============================================
PK                     SK                            what
=====================  ============================  ============================================
HOST#<host key>        META                          the host (GSI1 ``HOSTS`` / host key)
HOST#<host key>        CHECK#<checker>               the checker's latest result (a CheckRun)
HOST#<host key>        SNAPSHOT                      the latest context snapshot
CHECKRUNS#<host key>   <collected_at>#<batch_id>     one batch's CheckRuns (TTL; GSI1 ``CHECKRUNS``)
=====================  ============================  ============================================

One Query on ``HOST#<host>`` gives the check stage and the analysis all they
read about a host.  The history partition is apart so that Query never pages
through it.  Per batch: the host read, one BatchWriteItem (each checker's
latest result, the snapshot when the batch has one, the batch's CheckRuns),
one conditional put of the host.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from signalfire.alerts.hosts import host_key
from signalfire.checks.models import CheckRun, Host, HostDetail
from signalfire.checks.store import CheckStore
from signalfire.store.dynamo import DynamoTable, Page
from signalfire.timeutil import iso, parse_time

_HOST_META = "META"


def _run_dict(run: CheckRun) -> dict[str, Any]:
    return run.model_dump(mode="json")


class DynamoCheckStore(CheckStore):
    def __init__(self, table: DynamoTable, retention_days: int = 90) -> None:
        self.t = table
        self.retention_days = retention_days

    @staticmethod
    def _pk(hostname: str) -> str:
        return f"HOST#{host_key(hostname)}"

    # -- hosts ---------------------------------------------------------------------------
    def get_host(self, hostname: str) -> Host | None:
        item = self.t.get(self._pk(hostname), _HOST_META)
        return Host.model_validate(item["host"]) if item else None

    def host_detail(self, hostname: str) -> HostDetail | None:
        page = self.t.query(pk_name="PK", pk=self._pk(hostname), limit=50, newest_first=False, consistent=True)
        host: Host | None = None
        checks: dict[str, CheckRun] = {}
        snapshot, snapshot_at = None, None
        for item in page.items:
            sk = str(item.get("SK", ""))
            if sk == _HOST_META:
                host = Host.model_validate(item["host"])
            elif sk.startswith("CHECK#"):
                run = CheckRun.model_validate({k: v for k, v in item.items() if k not in ("PK", "SK")})
                checks[run.checker_name] = run
            elif sk == "SNAPSHOT":
                snapshot = item.get("snapshot")
                snapshot_at = parse_time(item["taken_at"]) if item.get("taken_at") else None
        if host is None:
            return None
        return HostDetail(host=host, checks=checks, snapshot=snapshot, snapshot_at=snapshot_at)

    def save_host(self, host: Host, expected_version: int) -> None:
        pk = self._pk(host.hostname)
        item = {"PK": pk, "SK": _HOST_META, "GSI1PK": "HOSTS", "GSI1SK": host_key(host.hostname),
                "version": host.version, "host": host.model_dump(mode="json")}
        if expected_version == 0:
            self.t.put(item, condition="attribute_not_exists(PK)")
        else:
            self.t.put(item, condition="version = :v", values={":v": expected_version})

    def list_hosts(self, *, limit: int, next_token: str | None) -> Page:
        page = self.t.query_index("GSI1", "HOSTS", limit=limit, next_token=next_token, newest_first=False)
        return Page([Host.model_validate(i["host"]) for i in page.items], page.next_token)

    def iter_hosts(self) -> Iterator[Host]:
        token: str | None = None
        while True:
            page = self.list_hosts(limit=100, next_token=token)
            yield from page.items
            token = page.next_token
            if not token:
                return

    # -- results ---------------------------------------------------------------------------
    def record_results(self, hostname: str, latest: list[CheckRun], history: list[CheckRun],
                       snapshot: dict[str, Any] | None, collected_at: datetime, batch_id: str) -> None:
        pk = self._pk(hostname)
        items: list[dict[str, Any]] = [
            # the run's fields at the top level: intelligence/hosts.py reads them there too
            {"PK": pk, "SK": f"CHECK#{run.checker_name}", **_run_dict(run)} for run in latest]
        if snapshot is not None:
            items.append({"PK": pk, "SK": "SNAPSHOT", "snapshot": snapshot,
                          "taken_at": str(snapshot.get("taken_at") or iso(collected_at) or "")})
        if history:
            sort = f"{iso(collected_at) or ''}#{batch_id}"
            items.append({"PK": f"CHECKRUNS#{host_key(hostname)}", "SK": sort, "GSI1PK": "CHECKRUNS",
                          "GSI1SK": f"{sort}#{host_key(hostname)}", "hostname": hostname,
                          "runs": [_run_dict(r) for r in history],
                          "expires_at": self.t.expiry(self.retention_days)})
        self.t.batch_put(items)

    def list_batches(self, *, hostname: str | None, since: datetime | None, limit: int,
                     next_token: str | None) -> Page:
        sk_from = iso(since) if since else None
        if hostname:
            page = self.t.query(pk_name="PK", pk=f"CHECKRUNS#{host_key(hostname)}", sk_name="SK", sk_from=sk_from,
                                limit=limit, next_token=next_token)
        else:
            page = self.t.query_index("GSI1", "CHECKRUNS", sk_from=sk_from, limit=limit, next_token=next_token)
        return Page([[CheckRun.model_validate(r) for r in item.get("runs", [])] for item in page.items],
                    page.next_token)
