"""Route selection and route-key validation as API Gateway HTTP APIs do them
(signalfire_local.routing; the rules and their sources: docs/aws-fidelity.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from signalfire_local.routing import Route, RouteKeyError, Router, parse_route_key, routes_from_template

ROOT = Path(__file__).resolve().parents[2]


def router(*keys: str) -> Router:
    return Router(parse_route_key(key, function=key) for key in keys)


def selected(r: Router, method: str, path: str) -> tuple[str, dict[str, str]] | None:
    found = r.select(method, path)
    return None if found is None else (found.route_key, found.path_parameters)


# -- AWS's own example (http-api-develop-routes, "Routing API requests") ------------------

AWS_EXAMPLE = router("GET /pets/dog/{id}", "GET /pets/{proxy+}", "ANY /{proxy+}", "$default")


@pytest.mark.parametrize(("method", "path", "expected"), [
    ("GET", "/pets/dog/1", ("GET /pets/dog/{id}", {"id": "1"})),  # full match
    ("GET", "/pets/cat/1", ("GET /pets/{proxy+}", {"proxy": "cat/1"})),  # greedy with its method
    ("POST", "/test/5", ("ANY /{proxy+}", {"proxy": "test/5"})),  # ANY greedy before $default
    ("GET", "/", ("$default", {})),  # a greedy variable never matches an empty rest
])
def test_the_documented_example_routes_as_aws_says(method: str, path: str, expected: tuple) -> None:
    assert selected(AWS_EXAMPLE, method, path) == expected


def test_a_literal_segment_beats_a_path_variable() -> None:
    r = router("GET /alerts/{id}", "GET /alerts/rejected", "GET /alerts/rejected/{id}")
    assert selected(r, "GET", "/alerts/rejected") == ("GET /alerts/rejected", {})
    assert selected(r, "GET", "/alerts/a1") == ("GET /alerts/{id}", {"id": "a1"})
    assert selected(r, "GET", "/alerts/rejected/r1") == ("GET /alerts/rejected/{id}", {"id": "r1"})


def test_a_named_method_beats_any_on_the_same_path_and_any_takes_the_rest() -> None:
    r = router("GET /x", "ANY /x")
    assert selected(r, "GET", "/x") == ("GET /x", {})
    assert selected(r, "DELETE", "/x") == ("ANY /x", {})


def test_a_full_match_beats_a_greedy_route_and_the_longer_greedy_prefix_wins() -> None:
    r = router("ANY /{proxy+}", "POST /alerts/{proxy+}", "POST /alerts/webhook")
    assert selected(r, "POST", "/alerts/webhook") == ("POST /alerts/webhook", {})
    assert selected(r, "POST", "/alerts/webhook/") == ("POST /alerts/{proxy+}", {"proxy": "webhook/"})
    assert selected(r, "GET", "/alerts/webhook/") == ("ANY /{proxy+}", {"proxy": "alerts/webhook/"})


def test_a_trailing_slash_does_not_match_the_slashless_route() -> None:
    r = router("POST /checks")
    assert selected(r, "POST", "/checks") == ("POST /checks", {})
    assert r.select("POST", "/checks/") is None


def test_a_greedy_variable_needs_at_least_one_character() -> None:
    r = router("POST /alerts/webhook/{proxy+}")
    assert r.select("POST", "/alerts/webhook/") is None
    assert selected(r, "POST", "/alerts/webhook/grafana/") == ("POST /alerts/webhook/{proxy+}",
                                                               {"proxy": "grafana/"})


def test_a_path_variable_matches_one_non_empty_segment_and_arrives_decoded() -> None:
    r = router("GET /incidents/{id}")
    assert selected(r, "GET", "/incidents/a%20b") == ("GET /incidents/{id}", {"id": "a b"})
    assert r.select("GET", "/incidents/") is None
    assert r.select("GET", "/incidents/a/b") is None


@pytest.mark.parametrize("method", ["PROPFIND", "FOO", "TRACE", "CONNECT"])
def test_an_unknown_method_matches_nothing_not_even_any_or_default(method: str) -> None:
    assert AWS_EXAMPLE.select(method, "/pets/dog/1") is None


def test_no_match_and_no_default_is_a_404() -> None:
    assert router("GET /a").select("GET", "/b") is None


# -- what AWS refuses --------------------------------------------------------------------

@pytest.mark.parametrize(("key", "reason"), [
    ("POST /alerts/webhook/", "cannot end in '/'"),
    ("POST /alerts/webhook/{driver}/", "serverless-application-model#1949"),
    ("GET /a/{proxy+}/b", "must be the last segment"),
    ("GET /a/x{id}", "whole segment"),
    ("GET /a//b", "empty path segment"),
    ("GET a/b", "must start with '/'"),
    ("FETCH /a", "method must be one of"),
    ("GET /a/{id}/{id}", "appears twice"),
    ("GET /a b", "characters a route path cannot hold"),
    ("GET/a", "is not '$default' or 'METHOD /path'"),
])
def test_route_keys_aws_refuses_are_refused_with_the_reason(key: str, reason: str) -> None:
    with pytest.raises(RouteKeyError, match=re.escape(reason)):
        parse_route_key(key)


def test_the_trailing_slash_refusal_says_how_to_route_it() -> None:
    with pytest.raises(RouteKeyError) as info:
        parse_route_key("POST /checks/", source="IngestFunction.Events.Checks")
    message = str(info.value)
    assert "IngestFunction.Events.Checks" in message
    assert "'/checks'" in message and "/{proxy+}" in message


def test_a_route_key_declared_twice_is_refused() -> None:
    with pytest.raises(RouteKeyError, match="declared twice"):
        Router([Route("GET", "/a", "F1"), Route("GET", "/a", "F2")])


# -- the template ------------------------------------------------------------------------

def _template_with_event(directory: Path, path: str) -> Path:
    """template.yaml plus one more IngestFunction HttpApi event, in ``directory``."""
    text = (ROOT / "template.yaml").read_text()
    anchor = "        Webhook:\n          Type: HttpApi\n"
    assert anchor in text
    extra = f"        Checks:\n          Type: HttpApi\n          Properties: {{ ApiId: !Ref HttpApi, Method: POST, Path: \"{path}\" }}\n"
    directory.mkdir(exist_ok=True)
    target = directory / "template.yaml"
    target.write_text(text.replace(anchor, extra + anchor, 1))
    for name in ("functions", "statemachine", "layers"):
        (directory / name).symlink_to(ROOT / name)
    return target


def test_template_yaml_declares_only_route_keys_aws_accepts() -> None:
    from signalfire_local.template import load_yaml

    routes = routes_from_template(load_yaml(ROOT / "template.yaml"))
    assert routes, "template.yaml declares no HttpApi route"
    Router(routes)  # validates every key and refuses duplicates
    assert not [r.route_key for r in routes if r.path.endswith("/") and r.path != "/"]


def test_the_local_stack_refuses_at_start_a_route_key_aws_would_refuse(tmp_path: Path) -> None:
    from signalfire_local.stack import LocalStack

    with pytest.raises(RouteKeyError, match="IngestFunction.Events.Checks"):
        LocalStack(_template_with_event(tmp_path / "bad", "/checks/"))
    found = LocalStack(_template_with_event(tmp_path / "good", "/checks")).router.select("POST", "/checks")
    assert found is not None and found.function == "IngestFunction"


def test_signalfire_local_exits_with_the_reason_instead_of_starting(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from signalfire_local.cli import main

    bad = _template_with_event(tmp_path / "t", "/alerts/webhook/{driver}/")
    assert main(["local", "--template", str(bad), "--port", "0"]) == 2
    assert "cannot end in '/'" in capsys.readouterr().err


def test_sam_event_forms_become_route_keys() -> None:
    doc = {"Resources": {
        "F": {"Type": "AWS::Serverless::Function", "Properties": {"Events": {
            "A": {"Type": "HttpApi", "Properties": {"Method": "x-amazon-apigateway-any-method", "Path": "/a"}},
            "B": {"Type": "HttpApi", "Properties": {"Method": "get", "Path": "/b/{id}"}},
            "D": {"Type": "HttpApi"},
            "S": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)"}},
        }}},
        "Other": {"Type": "AWS::DynamoDB::Table"},
    }}
    keys = sorted(r.route_key for r in routes_from_template(doc))
    assert keys == ["$default", "ANY /a", "GET /b/{id}"]

