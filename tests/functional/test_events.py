"""The sample events in events/ (for ``sam local invoke -e``) are complete API
Gateway HTTP API v2 requests for routes template.yaml really declares, and
every webhook body is accepted by the driver it is addressed to."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTS_DIR = ROOT / "tests"
EVENTS_DIR = ROOT / "events"
TEMPLATE = ROOT / "template.yaml"
LAYER_DIR = ROOT / "layers" / "shared"

if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))
from template_loader import http_api_routes, load_template  # noqa: E402

from support import router  # noqa: E402

DRIVERS = ["alertmanager", "grafana", "pagerduty", "datadog", "newrelic", "opsgenie", "zabbix", "generic"]
EXPECTED = {f"webhook_{d}.json" for d in DRIVERS} | {"api_list_alerts.json", "webhook_auto_query_token.json"}
EVENT_FILES = sorted(EVENTS_DIR.glob("*.json"))
WEBHOOK_FILES = sorted(p for p in EVENT_FILES if p.name.startswith("webhook_") and p.stem.removeprefix("webhook_") in DRIVERS)


@pytest.fixture(scope="module")
def routes() -> dict[str, str]:
    found = http_api_routes(load_template(TEMPLATE))
    assert found, "template.yaml declares no HTTP API routes"
    return found


def _load(path: Path) -> dict[str, Any]:
    try:
        event = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        pytest.fail(f"{path.name}: not valid JSON: {exc}")
    assert isinstance(event, dict), f"{path.name}: top level is not an object"
    return event


def _parse_webhook():
    """signalfire.alerts.drivers.parse_webhook, or a skip if that module is not written yet."""
    try:
        import signalfire  # noqa: F401
    except ModuleNotFoundError:
        sys.path.insert(0, str(LAYER_DIR))
    try:
        drivers = importlib.import_module("signalfire.alerts.drivers")
    except ModuleNotFoundError as exc:
        # Only "the package is not there yet" skips; an import error inside a
        # driver that exists is a real failure.
        if exc.name in {"signalfire.alerts.drivers", "signalfire.alerts", "signalfire"}:
            pytest.skip(f"signalfire.alerts.drivers is not written yet ({exc})")
        raise
    parse = getattr(drivers, "parse_webhook", None)
    if parse is None:
        pytest.skip("signalfire.alerts.drivers has no parse_webhook yet")
    return parse


def test_every_expected_event_exists():
    missing = EXPECTED - {p.name for p in EVENT_FILES}
    assert not missing, f"missing sample events: {sorted(missing)}"


def test_events_match_their_generator():
    """events/*.json are written by events/build_events.py; they must not drift from it."""
    spec = importlib.util.spec_from_file_location("build_events", EVENTS_DIR / "build_events.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, event in module.build().items():
        assert (EVENTS_DIR / name).read_text(encoding="utf-8") == module.render(event), (
            f"events/{name} differs from what events/build_events.py writes; re-run it"
        )


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.name)
def test_event_is_a_complete_http_api_v2_request(path: Path):
    event = _load(path)
    name = path.name

    assert event.get("version") == "2.0", f"{name}: version must be '2.0'"
    for key, kind in [
        ("routeKey", str),
        ("rawPath", str),
        ("rawQueryString", str),
        ("headers", dict),
        ("requestContext", dict),
        ("isBase64Encoded", bool),
    ]:
        assert isinstance(event.get(key), kind), f"{name}: {key} missing or not {kind.__name__}"
    assert event["isBase64Encoded"] is False, f"{name}: isBase64Encoded must be false"
    assert event["rawPath"].startswith("/"), f"{name}: rawPath must start with /"

    headers = event["headers"]
    assert all(k == k.lower() for k in headers), f"{name}: HTTP API v2 header names are lower-case"
    assert headers.get("content-type", "").startswith("application/json"), f"{name}: content-type"
    assert headers.get("authorization", "").startswith("Bearer ") or (event.get("queryStringParameters") or {}).get(
        "token"), f"{name}: a token as Authorization Bearer or ?token="

    ctx = event["requestContext"]
    for key in ("accountId", "apiId", "domainName", "requestId", "routeKey", "stage"):
        assert isinstance(ctx.get(key), str) and ctx[key], f"{name}: requestContext.{key} missing"
    assert ctx["stage"] == "$default", f"{name}: requestContext.stage"
    assert ctx["routeKey"] == event["routeKey"], f"{name}: requestContext.routeKey != routeKey"
    assert isinstance(ctx.get("timeEpoch"), int) and ctx["timeEpoch"] > 1_500_000_000_000, (
        f"{name}: requestContext.timeEpoch must be epoch milliseconds"
    )
    http = ctx.get("http")
    assert isinstance(http, dict), f"{name}: requestContext.http missing"
    for key in ("method", "path", "sourceIp", "userAgent"):
        assert isinstance(http.get(key), str) and http[key], f"{name}: requestContext.http.{key} missing"
    assert http["path"] == event["rawPath"], f"{name}: requestContext.http.path != rawPath"

    route_method, _, route_path = event["routeKey"].partition(" ")
    assert route_method in {"ANY", http["method"]}, f"{name}: routeKey method vs http.method"
    if "{" in route_path:
        assert isinstance(event.get("pathParameters"), dict), f"{name}: pathParameters missing"
    else:
        assert "pathParameters" not in event, f"{name}: AWS sends no pathParameters for a route without variables"
    if http["method"] in {"POST", "PUT", "PATCH"}:
        assert isinstance(event.get("body"), str), f"{name}: body must be a JSON string"


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.name)
def test_event_targets_a_declared_route(path: Path, routes: dict[str, str]):
    event = _load(path)
    route_key = event["routeKey"]
    assert route_key in routes, (
        f"{path.name}: routeKey {route_key!r} is not declared in template.yaml ({sorted(routes)})"
    )

    # The event is the one AWS would send: the route API Gateway selects for
    # this request is the event's route, with the same path parameters.
    method = event["requestContext"]["http"]["method"]
    found = router().select(method, event["rawPath"])
    assert found is not None, f"{path.name}: API Gateway would answer 404 to {method} {event['rawPath']}"
    assert found.route_key == route_key, f"{path.name}: API Gateway selects {found.route_key!r}, not {route_key!r}"
    assert event.get("pathParameters", {}) == found.path_parameters, f"{path.name}: pathParameters"


@pytest.mark.parametrize("path", WEBHOOK_FILES, ids=lambda p: p.name)
def test_webhook_body_is_the_vendor_payload(path: Path):
    event = _load(path)
    driver = path.stem.removeprefix("webhook_")
    assert driver in DRIVERS, f"{path.name}: unknown driver {driver!r}"
    assert event["rawPath"] == f"/alerts/webhook/{driver}/"
    assert event["routeKey"] == "POST /alerts/{proxy+}"
    assert event["pathParameters"] == {"proxy": f"webhook/{driver}/"}
    payload = json.loads(event["body"])
    assert isinstance(payload, dict) and payload, f"{path.name}: body is not a JSON object"
    assert int(event["headers"].get("content-length", len(event["body"].encode()))) == len(
        event["body"].encode()
    )


@pytest.mark.parametrize("path", WEBHOOK_FILES, ids=lambda p: p.name)
def test_webhook_body_parses_with_its_driver(path: Path):
    parse_webhook = _parse_webhook()
    driver = path.stem.removeprefix("webhook_")
    parsed = parse_webhook(json.loads(_load(path)["body"]), driver=driver)
    assert parsed, f"{path.name}: parse_webhook(driver={driver!r}) returned {parsed!r}"
    alerts = getattr(parsed, "alerts", None)
    if alerts is not None:
        assert len(alerts) >= 1, f"{path.name}: the {driver} driver found no alert in the sample"
