"""template.yaml for tests: the local stack's reader, so tests and
`signalfire local` cannot disagree about what the template says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from signalfire_local.routing import routes_from_template
from signalfire_local.template import load_yaml


def load_template(path: str | Path) -> dict[str, Any]:
    """The template as a dict, CloudFormation tags kept as ``{"Ref": ...}`` etc."""
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a template (top level is {type(data).__name__})")
    return data


def http_api_routes(template: dict[str, Any]) -> dict[str, str]:
    """Every HTTP API route, as ``{"POST /path": "FunctionLogicalId"}``."""
    return {r.route_key: r.function for r in routes_from_template(template)}
