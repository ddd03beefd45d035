"""`signalfire openapi` documents every route the template serves."""

from __future__ import annotations

import json
import subprocess
import sys

from signalfire_local.template import Template
from support import ROOT


def test_openapi_covers_every_template_route_and_the_management_api(tmp_path):
    out = tmp_path / "openapi.json"
    subprocess.run([sys.executable, "-m", "signalfire_local.cli", "openapi", "--output", str(out)], cwd=ROOT,
                   check=True, capture_output=True, timeout=120)
    doc = json.loads(out.read_text())
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
