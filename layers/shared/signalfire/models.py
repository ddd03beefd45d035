"""The base of every pydantic model of signalfire.

``defer_build=True``: a model builds its validator and serializer on first
use instead of when its module is imported.  A function's cold init loads
far more models than one request uses (the management API's routers, the
alert and run models every function imports through the services); each
built at import cost a share of every cold start (bench/cold_start.py,
docs/build.md "Cold start").  A model's own ``model_config`` is merged with
this one (pydantic merges the config of its bases).

Building on first use means building while requests run, and pydantic
2.13's ``model_rebuild`` is not thread-safe: two threads using a model for
the first time at once can see it half built (``AttributeError: ...
__pydantic_core_schema__``; pydantic/pydantic#13419, fixed upstream by a lock
in pydantic/pydantic#13438, not in the release we pin).  Threads do that
here: the local stack serves concurrent invocations in one process, and
notify delivers to channels in parallel.  So every build of our models
takes one lock (tests/unit/test_models.py races them).
"""

from __future__ import annotations

import threading
from typing import Any

from pydantic import BaseModel, ConfigDict

#: Held while any of our models is built (re-entrant: building one builds those it holds).
_BUILD_LOCK = threading.RLock()


class Model(BaseModel):
    """A pydantic model built on first use, once (see the module's docstring)."""

    model_config = ConfigDict(defer_build=True)

    @classmethod
    def model_rebuild(cls, *, force: bool = False, raise_errors: bool = True, _parent_namespace_depth: int = 2,
                      _types_namespace: Any = None) -> bool | None:
        """Pydantic's ``model_rebuild`` (every first use goes through it), one
        thread at a time; a thread that waited finds the model complete."""
        with _BUILD_LOCK:
            # One frame more between pydantic's caller and pydantic: this one.
            depth = _parent_namespace_depth + 1 if _parent_namespace_depth > 0 else 0
            return super().model_rebuild(force=force, raise_errors=raise_errors, _parent_namespace_depth=depth,
                                         _types_namespace=_types_namespace)
