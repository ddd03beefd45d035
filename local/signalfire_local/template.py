"""Read template.yaml: the single source of truth for routes, handlers,
environment and the table schema.  The local stack never repeats them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from signalfire_local.routing import Route, routes_from_template

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK_NAME = "signalfire"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation short-form tags as dicts."""


def _tag(loader: yaml.Loader, tag_suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_yaml(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


@dataclass
class Function:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, str] = field(default_factory=dict)
    timeout: int = 30
    memory: int = 512

    @property
    def name(self) -> str:
        return self.logical_id

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.logical_id}"


class Template:
    """template.yaml with intrinsic functions resolved for local use."""

    def __init__(self, path: str | Path, overrides: dict[str, str] | None = None) -> None:
        self.path = Path(path).resolve()
        self.root = self.path.parent
        self.doc = load_yaml(self.path)
        self.resources: dict[str, Any] = self.doc.get("Resources", {})
        self.parameters: dict[str, str] = {}
        for name, spec in (self.doc.get("Parameters") or {}).items():
            self.parameters[name] = str(spec.get("Default", ""))
        for name, value in (overrides or {}).items():
            if name not in self.parameters:
                raise KeyError(f"template has no parameter {name!r}; known: {', '.join(self.parameters)}")
            self.parameters[name] = str(value)
        self.conditions = {name: bool(self.resolve(expr)) for name, expr in (self.doc.get("Conditions") or {}).items()}

    # -- physical names used locally --------------------------------------------------

    def physical(self, logical_id: str) -> str:
        kind = self.resources[logical_id]["Type"]
        if kind == "AWS::DynamoDB::Table":
            return f"signalfire-{logical_id.lower()}"
        if kind == "AWS::SecretsManager::Secret":
            return f"signalfire/{logical_id}"
        if kind == "AWS::Serverless::StateMachine":
            return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{self.state_machine_name(logical_id)}"
        if kind == "AWS::Serverless::Function":
            return logical_id
        return logical_id

    def state_machine_name(self, logical_id: str) -> str:
        name = (self.resources[logical_id].get("Properties") or {}).get("Name")
        return str(self.resolve(name)) if name else logical_id

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                if arg in self.parameters:
                    return self.parameters[arg]
                if arg == "AWS::Region":
                    return REGION
                if arg == "AWS::AccountId":
                    return ACCOUNT
                if arg == "AWS::Partition":
                    return "aws"
                if arg == "AWS::StackName":
                    return STACK_NAME
                if arg == "AWS::URLSuffix":
                    return "amazonaws.com"
                if arg in self.resources:
                    return self.physical(arg)
                raise KeyError(f"unresolvable Ref {arg!r}")
            if key == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                if attr == "Arn":
                    kind = self.resources[logical]["Type"]
                    if kind == "AWS::Serverless::Function":
                        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical}"
                    if kind == "AWS::DynamoDB::Table":
                        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{self.physical(logical)}"
                    return self.physical(logical)
                if attr == "Name":
                    kind = self.resources[logical]["Type"]
                    if kind == "AWS::Serverless::StateMachine":
                        return self.state_machine_name(logical)
                    return self.physical(logical)
                return self.physical(logical)
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

                def sub(m: re.Match[str]) -> str:
                    name = m.group(1)
                    if name in extra:
                        return str(extra[name])
                    if "." in name:
                        return str(self.resolve({"Fn::GetAtt": name.split(".", 1)}))
                    if name == "AWS::URLSuffix":
                        return "amazonaws.com"
                    return str(self.resolve({"Ref": name}))

                return re.sub(r"\$\{([^}!][^}]*)\}", sub, text)
            if key == "Fn::FindInMap":
                table, first, second = (self.resolve(a) for a in arg)
                return (self.doc.get("Mappings") or {})[table][first][second]
            if key == "Fn::Equals":
                a, b = self.resolve(arg)
                return str(a) == str(b)
            if key == "Fn::If":
                cond, yes, no = arg
                return self.resolve(yes if self.conditions.get(cond) else no)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::Join":
                sep, parts = arg
                return sep.join(str(p) for p in self.resolve(parts))
        return {k: self.resolve(v) for k, v in value.items()}

    # -- what the local stack needs --------------------------------------------------

    def of_type(self, kind: str) -> dict[str, Any]:
        return {k: v for k, v in self.resources.items() if v.get("Type") == kind}

    def functions(self) -> dict[str, Function]:
        glob = (self.doc.get("Globals") or {}).get("Function") or {}
        global_env = ((glob.get("Environment") or {}).get("Variables")) or {}
        out = {}
        for logical, res in self.of_type("AWS::Serverless::Function").items():
            props = res.get("Properties") or {}
            env = {k: str(self.resolve(v)) for k, v in global_env.items()}
            env.update({k: str(self.resolve(v))
                        for k, v in (((props.get("Environment") or {}).get("Variables")) or {}).items()})
            out[logical] = Function(
                logical_id=logical,
                code_uri=(self.root / props["CodeUri"]).resolve(),
                handler=props.get("Handler", glob.get("Handler", "app.lambda_handler")),
                environment=env,
                timeout=int(self.resolve(props.get("Timeout", glob.get("Timeout", 30)))),
                memory=int(props.get("MemorySize", glob.get("MemorySize", 512))),
            )
        return out

    def routes(self) -> list[Route]:
        """Every HTTP API route, validated as API Gateway validates route
        keys (raises :class:`~signalfire_local.routing.RouteKeyError`)."""
        return routes_from_template(self.doc)

    def schedules(self) -> list[tuple[str, str]]:
        """(function, schedule expression) for every Schedule/ScheduleV2 event."""
        found = []
        for logical, res in self.of_type("AWS::Serverless::Function").items():
            for event in ((res.get("Properties") or {}).get("Events") or {}).values():
                if event.get("Type") in ("Schedule", "ScheduleV2"):
                    found.append((logical, str(self.resolve((event.get("Properties") or {}).get("Schedule", "")))))
        return found

    def table_definitions(self) -> dict[str, dict[str, Any]]:
        """CreateTable arguments for every DynamoDB table, from its Properties."""
        tables = {}
        for logical, res in self.of_type("AWS::DynamoDB::Table").items():
            props = self.resolve(res.get("Properties") or {})
            args: dict[str, Any] = {
                "TableName": self.physical(logical),
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if props.get("GlobalSecondaryIndexes"):
                args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            tables[logical] = {"create": args, "ttl": props.get("TimeToLiveSpecification")}
        return tables

    def secrets(self) -> dict[str, str]:
        return {logical: self.physical(logical) for logical in self.of_type("AWS::SecretsManager::Secret")}

    def state_machines(self) -> dict[str, dict[str, Any]]:
        out = {}
        for logical, res in self.of_type("AWS::Serverless::StateMachine").items():
            props = res.get("Properties") or {}
            out[logical] = {
                "arn": self.physical(logical),
                "definition_path": (self.root / props["DefinitionUri"]).resolve() if "DefinitionUri" in props else None,
                "substitutions": {k: str(self.resolve(v)) for k, v in (props.get("DefinitionSubstitutions") or {}).items()},
                "type": str(self.resolve(props.get("Type", "STANDARD"))),
            }
        return out
