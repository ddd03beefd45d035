"""CloudFormation refuses a stack whose resources depend on each other in a
cycle, and neither cfn-lint nor `sam build` notices one that SAM's transform
creates (an HttpApi's generated body references its functions' ARNs).  This
transforms template.yaml with SAM's own translator and walks the graph."""

from __future__ import annotations

import re
from typing import Any

from support import ROOT


def _refs(node: Any, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else str(value).split(".")[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                found.update(re.findall(r"\$\{([^}!.]+)", text))
                _refs(value, found)
            else:
                _refs(value, found)
    elif isinstance(node, list):
        for item in node:
            _refs(item, found)
    return found


def _transformed(monkeypatch) -> dict[str, Any]:
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    text = re.sub(r"(CodeUri|DefinitionUri|ContentUri): \S+", r"\1: s3://bucket/key", (ROOT / "template.yaml").read_text())

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    return transform(yaml_parse(text), {}, NoManagedPolicies())["Resources"]


def test_the_deployed_template_has_no_dependency_cycle(monkeypatch):
    resources = _transformed(monkeypatch)
    deps: dict[str, set[str]] = {}
    for name, body in resources.items():
        found = _refs(body, set())
        depends = body.get("DependsOn", [])
        found |= set(depends if isinstance(depends, list) else [depends])
        deps[name] = {d for d in found if d in resources and d != name}
    assert "HttpApi" in deps and "NotifyFunction" in deps
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(deps[node]):
            assert state.get(dep) != 1, "dependency cycle: " + " -> ".join(path[path.index(dep):] + [dep])
            if not state.get(dep):
                visit(dep, path + [dep])
        state[node] = 2

    for name in sorted(deps):
        if not state.get(name):
            visit(name, [name])
