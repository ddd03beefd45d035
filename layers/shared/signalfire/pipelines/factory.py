"""The cached pipeline store of this process (cleared by ``services.reset()``)."""

from __future__ import annotations

from functools import lru_cache

from signalfire import services
from signalfire.pipelines.store import DynamoPipelineStore


@lru_cache(maxsize=1)
def pipeline_store() -> DynamoPipelineStore:
    return DynamoPipelineStore(services.table())


services.register(pipeline_store)
