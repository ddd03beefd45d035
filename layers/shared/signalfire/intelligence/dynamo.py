"""DynamoDB implementation of :class:`IntelligenceStore`.

Items (docs/table-design.md):

- provider ``PK=INTEL#PROVIDER#<name>``, ``SK=META``; listed through
  ``GSI1PK=INTEL#PROVIDERS`` / ``GSI1SK=<name>``;
- the active pointer ``PK=INTEL#ACTIVE``, ``SK=META`` naming one provider:
  activation is one transaction (the provider must exist, the pointer is
  overwritten), so two concurrent activations leave exactly one active —
  the last writer's — and ``is_active`` is never stored twice;
- analysis ``PK=ANALYSIS#<id>``, ``SK=META``; per incident through
  ``GSI1PK=ANALYSES#<incident_id>`` / ``GSI1SK=<created_at>#<id>``; expires
  with the audit retention.
"""

from __future__ import annotations

import contextlib
from typing import Any

from signalfire.errors import ConflictError, NotFoundError
from signalfire.intelligence.models import AnalysisRun, IntelligenceProvider
from signalfire.intelligence.store import Analyses, IntelligenceStore, Providers
from signalfire.store.dynamo import DynamoTable
from signalfire.store.exceptions import ConditionFailed
from signalfire.timeutil import iso, utcnow

ACTIVE_KEY = ("INTEL#ACTIVE", "META")
PROVIDERS_INDEX_PK = "INTEL#PROVIDERS"


def _pk(name: str) -> str:
    return f"INTEL#PROVIDER#{name}"


class DynamoIntelligenceStore(IntelligenceStore):
    def __init__(self, table: DynamoTable, retention_days: int = 90) -> None:
        self.t = table
        self.retention_days = retention_days

    # -- providers -----------------------------------------------------------------------

    @staticmethod
    def _item(p: IntelligenceProvider) -> dict[str, Any]:
        data = p.model_dump(mode="json", exclude={"is_active"})
        return {"PK": _pk(p.name), "SK": "META", "GSI1PK": PROVIDERS_INDEX_PK, "GSI1SK": p.name, **data}

    @staticmethod
    def _from(item: dict[str, Any], active: str | None) -> IntelligenceProvider:
        fields = {k: v for k, v in item.items() if k in IntelligenceProvider.model_fields}
        return IntelligenceProvider.model_validate({**fields, "is_active": item.get("name") == active})

    def _active_name(self) -> str | None:
        item = self.t.get(*ACTIVE_KEY)
        return str(item["name"]) if item and item.get("name") else None

    def create_provider(self, provider: IntelligenceProvider) -> IntelligenceProvider:
        item = self._item(provider)
        try:
            if provider.is_active:
                self.t.transact([self.t.tx_put(item, condition="attribute_not_exists(PK)"),
                                 self.t.tx_put(self._pointer(provider.name))])
            else:
                self.t.put(item, condition="attribute_not_exists(PK)")
        except ConditionFailed:
            raise ConflictError(f"intelligence provider {provider.name!r} already exists") from None
        return self.get_provider(provider.name)

    def get_provider(self, name: str) -> IntelligenceProvider:
        item = self.t.get(_pk(name), "META")
        if not item:
            raise NotFoundError(f"no intelligence provider named {name!r}")
        return self._from(item, self._active_name())

    def list_providers(self) -> Providers:
        active = self._active_name()
        out: Providers = []
        token: str | None = None
        while True:
            page = self.t.query_index("GSI1", PROVIDERS_INDEX_PK, limit=100, next_token=token, newest_first=False)
            out += [self._from(i, active) for i in page.items]
            token = page.next_token
            if not token:
                return out

    def update_provider(self, provider: IntelligenceProvider) -> IntelligenceProvider:
        item = self._item(provider)
        try:
            self.t.put(item, condition="attribute_exists(PK)")
        except ConditionFailed:
            raise NotFoundError(f"no intelligence provider named {provider.name!r}") from None
        return self.get_provider(provider.name)

    def delete_provider(self, name: str) -> None:
        try:
            self.t.delete(_pk(name), "META", condition="attribute_exists(PK)")
        except ConditionFailed:
            raise NotFoundError(f"no intelligence provider named {name!r}") from None
        self.deactivate(name)

    def _pointer(self, name: str) -> dict[str, Any]:
        return {"PK": ACTIVE_KEY[0], "SK": ACTIVE_KEY[1], "name": name, "updated_at": iso(utcnow())}

    def activate(self, name: str) -> None:
        check = self.t.tx_condition(_pk(name), "META", "attribute_exists(PK)")
        try:
            self.t.transact([check, self.t.tx_put(self._pointer(name))])
        except ConditionFailed:
            raise NotFoundError(f"no intelligence provider named {name!r}") from None

    def deactivate(self, name: str) -> None:
        with contextlib.suppress(ConditionFailed):  # another provider is active (or none): nothing to clear
            self.t.delete(*ACTIVE_KEY, condition="#n = :n", values={":n": name}, names={"#n": "name"})

    def active_provider(self) -> IntelligenceProvider | None:
        name = self._active_name()
        if not name:
            return None
        item = self.t.get(_pk(name), "META")
        return self._from(item, name) if item else None

    # -- analyses ------------------------------------------------------------------------

    def put_analysis(self, run: AnalysisRun) -> None:
        data = run.model_dump(mode="json")
        item = {"PK": f"ANALYSIS#{run.id}", "SK": "META", **data,
                "expires_at": self.t.expiry(self.retention_days)}
        if run.incident_id:
            item.update(GSI1PK=f"ANALYSES#{run.incident_id}", GSI1SK=f"{iso(run.created_at)}#{run.id}")
        self.t.put(item)

    def get_analysis(self, analysis_id: str) -> AnalysisRun:
        item = self.t.get(f"ANALYSIS#{analysis_id}", "META")
        if not item:
            raise NotFoundError(f"no analysis {analysis_id!r}")
        return AnalysisRun.model_validate({k: v for k, v in item.items() if k in AnalysisRun.model_fields})

    def analyses_for_incident(self, incident_id: str, limit: int = 20) -> Analyses:
        page = self.t.query_index("GSI1", f"ANALYSES#{incident_id}", limit=limit, newest_first=True)
        return [AnalysisRun.model_validate({k: v for k, v in i.items() if k in AnalysisRun.model_fields})
                for i in page.items]
