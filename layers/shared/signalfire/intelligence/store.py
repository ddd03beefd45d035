"""The intelligence store interface: provider configurations (with the one
active provider) and AnalysisRun records.  The DynamoDB implementation is
:mod:`signalfire.intelligence.dynamo`."""

from __future__ import annotations

import abc

from signalfire.intelligence.models import AnalysisRun, IntelligenceProvider

Providers = list[IntelligenceProvider]
Analyses = list[AnalysisRun]


class IntelligenceStore(abc.ABC):
    """Lookups of an unknown provider raise NotFoundError; creating a name
    that exists raises ConflictError.  ``is_active`` on what comes back is
    read from the single active pointer, so at most one provider is active."""

    @abc.abstractmethod
    def create_provider(self, provider: IntelligenceProvider) -> IntelligenceProvider: ...

    @abc.abstractmethod
    def get_provider(self, name: str) -> IntelligenceProvider: ...

    @abc.abstractmethod
    def list_providers(self) -> Providers: ...

    @abc.abstractmethod
    def update_provider(self, provider: IntelligenceProvider) -> IntelligenceProvider:
        """Replace type, config and description (NotFoundError if absent)."""

    @abc.abstractmethod
    def delete_provider(self, name: str) -> None:
        """Delete it (and clear the active pointer if it named it)."""

    @abc.abstractmethod
    def activate(self, name: str) -> None:
        """Make ``name`` the one active provider, atomically (NotFoundError if absent)."""

    @abc.abstractmethod
    def deactivate(self, name: str) -> None:
        """Clear the active pointer if it names ``name``."""

    @abc.abstractmethod
    def active_provider(self) -> IntelligenceProvider | None: ...

    @abc.abstractmethod
    def put_analysis(self, run: AnalysisRun) -> None: ...

    @abc.abstractmethod
    def get_analysis(self, analysis_id: str) -> AnalysisRun: ...

    @abc.abstractmethod
    def analyses_for_incident(self, incident_id: str, limit: int = 20) -> Analyses:
        """Newest first."""
