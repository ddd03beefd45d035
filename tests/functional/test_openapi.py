"""`signalfire openapi` documents every route the template serves: a request
schema for every route that takes a body, a response schema for every route."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest

from signalfire_local.template import Template
from support import ROOT

#: The routes that take no body (everything else that is POST/PUT takes one).
NO_BODY = {("post", "/pipelines/{name}/deactivate"), ("post", "/runs/{run_id}/resume")}
#: The routes that answer two success codes: a check batch is stored (202) or was already received (200).
TWO_SUCCESSES = {("post", "/checks"): ("200", "202")}


@pytest.fixture(scope="module")
def doc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("openapi") / "openapi.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("layers/shared", "local"))}
    subprocess.run([sys.executable, "-m", "signalfire_local.cli", "openapi", "--output", str(out)], cwd=ROOT,
                   check=True, capture_output=True, timeout=120, env=env)
    return json.loads(out.read_text())


def _operations(doc: dict[str, Any]):  # type: ignore[no-untyped-def]
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            yield method, path, operation


def test_openapi_covers_every_template_route_and_the_management_api(doc):
    paths = set(doc["paths"])
    for route in Template(ROOT / "template.yaml").routes():
        if "{proxy+}" in route.path:
            continue
        assert route.path.rstrip("/") in paths, route.route_key
    for path in ("/alerts", "/alerts/{alert_id}", "/alerts/rejected", "/incidents/{incident_id}/acknowledge",
                 "/runs", "/runs/{run_id}/resume", "/pipelines", "/pipelines/{name}/activate"):
        assert path in paths, path
    assert {"bearer", "queryToken"} <= set(doc["components"]["securitySchemes"])
    list_alerts = doc["paths"]["/alerts"]["get"]
    assert {p["name"] for p in list_alerts["parameters"]} >= {"status", "severity", "source", "since", "limit"}


def test_every_body_taking_route_documents_its_request_schema(doc):
    taking = [(m, p, op) for m, p, op in _operations(doc) if m in ("post", "put") and (m, p) not in NO_BODY]
    assert len(taking) >= 10
    for method, path, operation in taking:
        schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        assert schema and ("$ref" in schema or schema.get("type") == "object"), (method, path)
    for method, path in NO_BODY:
        assert "requestBody" not in doc["paths"][path][method]


def test_every_route_documents_its_response_schema_and_our_error_shape(doc):
    schemas = doc["components"]["schemas"]
    for method, path, operation in _operations(doc):
        ok = [code for code in operation["responses"] if code.startswith("2")]
        assert len(ok) == len(TWO_SUCCESSES.get((method, path), "x")), (method, path, ok)
        assert "422" not in operation["responses"], (method, path)
        if ok == ["204"]:
            continue
        schema = operation["responses"][ok[0]]["content"]["application/json"]["schema"]
        ref = schema.get("$ref", "")
        assert ref.startswith("#/components/schemas/"), (method, path, schema)
        assert schemas[ref.rsplit("/", 1)[1]].get("properties"), (method, path)
        assert operation["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    # status codes the handlers really answer
    assert "202" in doc["paths"]["/alerts/webhook/{driver}"]["post"]["responses"]
    assert "201" in doc["paths"]["/pipelines"]["post"]["responses"]
    assert "202" in doc["paths"]["/runs/{run_id}/resume"]["post"]["responses"]
    check_in = doc["paths"]["/checks"]["post"]["responses"]
    for code in TWO_SUCCESSES[("post", "/checks")]:
        assert check_in[code]["content"]["application/json"]["schema"]["$ref"].endswith("/CheckInAccepted"), code
    assert "already received" in check_in["200"]["description"]


def test_every_reference_resolves(doc):
    text = json.dumps(doc)
    for name in set(re.findall(r'"#/components/schemas/([^"]+)"', text)):
        assert name in doc["components"]["schemas"], name
