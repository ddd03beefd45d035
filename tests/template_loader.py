"""Read template.yaml in tests: a YAML loader that understands CloudFormation's
short-form intrinsic tags (!Ref, !Sub, !GetAtt, !If, !Equals, ...).

Each tag becomes the long form CloudFormation itself uses, so tests can look
at the template as plain data:

    !Ref Table                    -> {"Ref": "Table"}
    !GetAtt Table.Arn             -> {"Fn::GetAtt": ["Table", "Arn"]}
    !Sub "https://${HttpApi}..."  -> {"Fn::Sub": "https://${HttpApi}..."}
    !If [Cond, a, b]              -> {"Fn::If": ["Cond", "a", "b"]}
    !Condition IsProd             -> {"Condition": "IsProd"}

Usage (tests/ has no __init__.py; put the directory on sys.path first):

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # .../tests
    from template_loader import http_api_routes, load_template
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

__all__ = ["CloudFormationLoader", "load_template", "http_api_routes", "route_regex"]


class CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader plus every ``!Tag`` CloudFormation defines (and any other, generically)."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]

    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {f"Fn::{tag_suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: str | Path) -> dict[str, Any]:
    """Parse a CloudFormation / SAM template file into a dict."""
    with open(path, encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a template (top level is {type(data).__name__})")
    return data


def http_api_routes(template: dict[str, Any]) -> dict[str, str]:
    """Every HTTP API route the template declares, as ``{"POST /path": "FunctionLogicalId"}``.

    Covers ``Type: HttpApi`` events of ``AWS::Serverless::Function`` resources
    (an event without Path/Method is the ``$default`` route) and, when an
    ``AWS::Serverless::HttpApi`` has an inline OpenAPI ``DefinitionBody``, its
    paths (the owner is then the HttpApi's logical id).
    """
    routes: dict[str, str] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict):
            continue
        rtype = resource.get("Type")
        props = resource.get("Properties") or {}
        if rtype == "AWS::Serverless::Function":
            for event in (props.get("Events") or {}).values():
                if not isinstance(event, dict) or event.get("Type") != "HttpApi":
                    continue
                eprops = event.get("Properties") or {}
                method, path = eprops.get("Method"), eprops.get("Path")
                key = "$default" if not (method and path) else f"{str(method).upper()} {path}"
                routes[key] = logical_id
        elif rtype == "AWS::Serverless::HttpApi":
            body = props.get("DefinitionBody")
            if isinstance(body, dict):
                for path, ops in (body.get("paths") or {}).items():
                    for op in ops or {}:
                        method = "ANY" if op == "x-amazon-apigateway-any-method" else str(op).upper()
                        routes[f"{method} {path}"] = logical_id
    return routes


def route_regex(path_template: str) -> re.Pattern[str]:
    """``/alerts/webhook/{driver}`` -> a regex matching a concrete path, with
    named groups for the path parameters (``{proxy+}`` is greedy)."""
    out = []
    for part in re.split(r"(\{[^}]+\})", path_template):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            if name.endswith("+"):
                out.append(f"(?P<{name[:-1]}>.+)")
            else:
                out.append(f"(?P<{name}>[^/]+)")
        else:
            out.append(re.escape(part))
    return re.compile("^" + "".join(out) + "$")
