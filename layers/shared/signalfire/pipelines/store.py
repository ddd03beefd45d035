"""The pipeline store interface.  The DynamoDB implementation is
:mod:`signalfire.pipelines.dynamo`."""

from __future__ import annotations

import abc
from typing import Any

from signalfire.errors import BadRequestError
from signalfire.pipelines.models import NAME_RE, PipelineConfig, PipelineDefinition
from signalfire.store.dynamo import Page

# ``list`` is a method of the stores; this alias keeps annotations unambiguous.
Definitions = list[PipelineDefinition]


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise BadRequestError(
            f"pipeline name {name!r} is not valid: 2-63 characters, lowercase letters, digits and '-', "
            "starting with a letter or digit")
    return name


class PipelineStore(abc.ABC):
    """What the API and the webhook need from pipeline storage.  Lookups of an
    unknown pipeline or version raise NotFoundError."""

    @abc.abstractmethod
    def create(self, name: str, config: dict[str, Any] | PipelineConfig, *, description: str = "",
               tags: dict[str, Any] | None = None, created_by: str = "", activate: bool = True
               ) -> PipelineDefinition:
        """Create version 1 (ConflictError if the name exists or is a preset)."""

    @abc.abstractmethod
    def update(self, name: str, config: dict[str, Any] | PipelineConfig, *, description: str | None = None,
               tags: dict[str, Any] | None = None, updated_by: str = "", activate: bool = True
               ) -> PipelineDefinition:
        """Write version latest+1 (description/tags default to the latest
        version's) and, if ``activate``, make it the active version."""

    @abc.abstractmethod
    def get(self, name: str, version: int | None = None) -> PipelineDefinition:
        """``version`` None = the active version (possibly with is_active False)."""

    @abc.abstractmethod
    def list(self, limit: int = 50, next_token: str | None = None) -> Page:
        """Presets and custom pipelines (their active version), sorted by name."""

    @abc.abstractmethod
    def activate(self, name: str, version: int) -> PipelineDefinition: ...

    @abc.abstractmethod
    def deactivate(self, name: str) -> PipelineDefinition: ...

    @abc.abstractmethod
    def history(self, name: str) -> Definitions:
        """Every version, newest first."""
