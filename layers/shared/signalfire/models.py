"""The base of every pydantic model of signalfire.

``defer_build=True``: a model builds its validator and serializer on first
use instead of when its module is imported.  A function's cold init loads
far more models than one request uses (the management API's routers, the
alert and run models every function imports through the services); each
built at import cost a share of every cold start (bench/cold_start.py,
docs/build.md "Cold start").  A model's own ``model_config`` is merged with
this one (pydantic merges the config of its bases).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """A pydantic model built on first use (see the module's docstring)."""

    model_config = ConfigDict(defer_build=True)
