"""IAM as AWS evaluates it, for the local stack and the tests.

Each function, and the state machine, acts under the statements of its
template ``Policies``: SAM policy templates expanded by samtranslator's own
processor (the one ``sam deploy`` uses), inline policy documents as written,
and the managed policies SAM attaches by itself (``AWSLambdaBasicExecutionRole``,
``AWSXRayDaemonWriteAccess`` with ``Tracing: Active``).

Every AWS call passes a botocore ``before-call`` hook (installed in every
botocore session, so in every client, moto's Step Functions interpreter's
included).  The hook finds who is calling: the function whose handler is
running (:func:`acting_as`, set by the local stack's handler pool) or, for
the calls moto's interpreter makes for a Task state, the state machine.
It turns the request into IAM actions and resource ARNs (TransactWriteItems
into PutItem/UpdateItem/..., a Query on an index into ``table/T/index/I``)
and evaluates them as IAM does: an explicit Deny wins, else an Allow must
match, else the call is denied.  A denied call never reaches moto: botocore
raises ``ClientError`` with ``AccessDeniedException``, as AWS answers.

A value Powertools' Parameters utility already holds in its cache is
checked too (:func:`_check_cached_reads`): on AWS each function has its own
cache, filled only by calls its role allowed; locally one process hosts
every function, so a cached secret must not pass from a function allowed
to read it to one that is not.  Every ``get`` of a secret or parameter is
checked against the reading function's role, hit or miss, and a denied
one fails as the uncached read would (``GetParameterError`` wrapping the
AccessDenied).  So the local stack caches secrets as a deployed function
does, instead of reading each on every use.

Not evaluated (docs/aws-fidelity.md): ``Condition`` blocks (a statement with
one is taken to apply), resource policies, permission boundaries, SCPs and
session policies.  Calls made outside any handler (test set-up, the local
stack creating its table) are not attributed to anyone and pass.
"""

from __future__ import annotations

import contextvars
import json
import os
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from signalfire_local.template import ACCOUNT, REGION

if TYPE_CHECKING:
    from signalfire_local.template import Template

#: Append every decision (principal, action, resource, allowed) to this file.
LOG_ENV = "SIGNALFIRE_IAM_LOG"
#: Decisions kept in memory (Enforcer.decisions): the latest ones only.
DECISIONS_KEPT = 5_000

# moto's Step Functions interpreter calls services with these credentials
# (moto/stepfunctions/parser/asl/utils/boto_client.py).
_INTERPRETER_ACCESS_KEY = "ak"

# Managed policies SAM attaches to every function (and with Tracing: Active).
_BASIC_EXECUTION = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
_XRAY_WRITE = ("xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
               "xray:GetSamplingTargets", "xray:GetSamplingStatisticSummaries")

# botocore operation -> IAM action, where the names differ.
_ACTION_NAMES = {("lambda", "Invoke"): "InvokeFunction", ("lambda", "InvokeAsync"): "InvokeFunction"}
# DynamoDB transaction items -> the action each one needs.
_TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


class PolicyError(ValueError):
    """A policy the local stack cannot expand (say which one, and why)."""


@dataclass(frozen=True)
class Statement:
    effect: str  # Allow | Deny
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    condition: Mapping[str, Any] | None = None
    source: str = ""

    def applies(self, action: str, resource: str) -> bool:
        if self.actions and not any(_glob(p, action, case=False) for p in self.actions):
            return False
        if self.not_actions and any(_glob(p, action, case=False) for p in self.not_actions):
            return False
        if self.resources and not any(_glob(p, resource) for p in self.resources):
            return False
        return not (self.not_resources and any(_glob(p, resource) for p in self.not_resources))


@lru_cache(maxsize=4096)
def _pattern(pattern: str, case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.DOTALL if case else re.DOTALL | re.IGNORECASE)


def _glob(pattern: str, value: str, case: bool = True) -> bool:
    """IAM wildcards: ``*`` any run of characters, ``?`` one character;
    actions compare without case, resources with it."""
    return _pattern(pattern, case).fullmatch(value) is not None


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in (value if isinstance(value, list) else [value]))


def statements_of(document: Mapping[str, Any], source: str) -> list[Statement]:
    raw = document.get("Statement") or []
    out = []
    for item in raw if isinstance(raw, list) else [raw]:
        out.append(Statement(
            effect=str(item.get("Effect", "Allow")), actions=_as_tuple(item.get("Action")),
            not_actions=_as_tuple(item.get("NotAction")), resources=_as_tuple(item.get("Resource")),
            not_resources=_as_tuple(item.get("NotResource")), condition=item.get("Condition"), source=source))
    return out


# -- from the template ---------------------------------------------------------------------


def secret_arn(name_or_arn: str) -> str:
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name_or_arn}"


def _resolve(template: Template, value: Any) -> Any:
    """The template's own resolution, except that ``!Ref`` of a secret is its
    ARN, as CloudFormation returns it."""
    def refs(v: Any) -> Any:
        if isinstance(v, list):
            return [refs(x) for x in v]
        if isinstance(v, dict):
            if set(v) == {"Ref"} and isinstance(v["Ref"], str):
                res = template.resources.get(v["Ref"]) or {}
                if res.get("Type") == "AWS::SecretsManager::Secret":
                    return secret_arn(template.physical(v["Ref"]))
            return {k: refs(x) for k, x in v.items()}
        return v

    return template.resolve(refs(value))


_PROCESSOR: Any = None
_PROCESSOR_LOCK = threading.Lock()


def _processor() -> Any:
    global _PROCESSOR
    with _PROCESSOR_LOCK:
        if _PROCESSOR is None:
            from samtranslator.policy_template_processor.processor import PolicyTemplatesProcessor

            _PROCESSOR = PolicyTemplatesProcessor(PolicyTemplatesProcessor.get_default_policy_templates_json())
        return _PROCESSOR


def expand_policies(template: Template, policies: Any, source: str) -> list[Statement]:
    """A ``Policies`` property (a SAM policy template, an inline document, or a
    list of them) as IAM statements."""
    out: list[Statement] = []
    for index, policy in enumerate(policies if isinstance(policies, list) else [policies]):
        where = f"{source}.Policies[{index}]"
        if isinstance(policy, str):
            raise PolicyError(f"{where}: managed policy {policy!r} is not expanded locally; use a SAM policy "
                              f"template or an inline statement naming the actions")
        if not isinstance(policy, dict):
            raise PolicyError(f"{where}: not a policy: {policy!r}")
        if "Statement" in policy:
            out += statements_of(_resolve(template, policy), where)
            continue
        if len(policy) != 1:
            raise PolicyError(f"{where}: a SAM policy template is a one-key mapping, got {sorted(policy)}")
        (name, params), = policy.items()
        processor = _processor()
        if not processor.has(name):
            raise PolicyError(f"{where}: {name!r} is not a SAM policy template")
        document = processor.convert(name, params or {})
        out += statements_of(_resolve(template, document), f"{where} ({name})")
    return out


@dataclass
class Principal:
    """A role: who acts, and the statements it holds."""

    name: str
    statements: list[Statement] = field(default_factory=list)

    @property
    def arn(self) -> str:
        return f"arn:aws:sts::{ACCOUNT}:assumed-role/{self.name}Role/{self.name}"

    def allows(self, action: str, resource: str) -> bool:
        matching = [s for s in self.statements if s.applies(action, resource)]
        if any(s.effect == "Deny" for s in matching):
            return False
        return any(s.effect == "Allow" for s in matching)


def principals(template: Template) -> dict[str, Principal]:
    """Every function's and state machine's role, from the template."""
    glob = (template.doc.get("Globals") or {}).get("Function") or {}
    out: dict[str, Principal] = {}
    for logical, res in template.of_type("AWS::Serverless::Function").items():
        props = res.get("Properties") or {}
        statements = expand_policies(template, props.get("Policies") or [], logical)
        statements.append(Statement("Allow", _BASIC_EXECUTION, resources=("*",),
                                    source=f"{logical} (AWSLambdaBasicExecutionRole, added by SAM)"))
        if str(props.get("Tracing", glob.get("Tracing", ""))) == "Active":
            statements.append(Statement("Allow", _XRAY_WRITE, resources=("*",),
                                        source=f"{logical} (AWSXRayDaemonWriteAccess, added by SAM)"))
        out[logical] = Principal(logical, statements)
    for logical, res in template.of_type("AWS::Serverless::StateMachine").items():
        props = res.get("Properties") or {}
        out[logical] = Principal(logical, expand_policies(template, props.get("Policies") or [], logical))
    return out


# -- what a request needs -------------------------------------------------------------------


def _table_arn(name: str) -> str:
    return name if name.startswith("arn:") else f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def _function_arn(name: str) -> str:
    if name.startswith("arn:"):
        parts = name.split(":")
        return ":".join(parts[:7])
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name.split(':', 1)[0]}"


def _parameter_arn(name: str) -> str:
    return name if name.startswith("arn:") else f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name.lstrip('/')}"


def required(service: str, operation: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs a request needs.  ``service`` is
    the IAM prefix (botocore's signing name: ``dynamodb``, ``states``, ...)."""
    action = f"{service}:{_ACTION_NAMES.get((service, operation), operation)}"
    if service == "dynamodb":
        if operation in ("TransactWriteItems", "TransactGetItems"):
            needs = []
            for item in params.get("TransactItems") or []:
                for kind, body in item.items():
                    needs.append((f"dynamodb:{_TRANSACT_ACTIONS[kind]}", _table_arn(body["TableName"])))
            return needs
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(action, _table_arn(t)) for t in params.get("RequestItems") or {}]
        if "TableName" in params:
            table = _table_arn(params["TableName"])
            if params.get("IndexName"):
                return [(action, f"{table}/index/{params['IndexName']}")]
            return [(action, table)]
    if service == "states":
        for key in ("stateMachineArn", "executionArn"):
            if key in params:
                return [(action, params[key])]
    if service == "lambda" and "FunctionName" in params:
        return [(action, _function_arn(params["FunctionName"]))]
    if service == "secretsmanager" and "SecretId" in params:
        return [(action, secret_arn(params["SecretId"]))]
    if service == "ssm":
        if "Name" in params:
            return [(action, _parameter_arn(params["Name"]))]
        if "Names" in params:
            return [(action, _parameter_arn(n)) for n in params["Names"]]
        if "Path" in params:
            return [(action, _parameter_arn(params["Path"]))]
    if service == "events" and operation == "PutEvents":
        buses = {e.get("EventBusName") or "default" for e in params.get("Entries") or []} or {"default"}
        return [(action, b if b.startswith("arn:") else f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{b}")
                for b in sorted(buses)]
    return [(action, "*")]  # actions without resource-level permissions (or not mapped yet)


# -- enforcement ----------------------------------------------------------------------------

_acting: contextvars.ContextVar[str | None] = contextvars.ContextVar("signalfire_iam_principal", default=None)


@contextmanager
def acting_as(name: str) -> Iterator[None]:
    """Attribute the AWS calls made inside the block to ``name``'s role."""
    token = _acting.set(name)
    try:
        yield
    finally:
        _acting.reset(token)


@dataclass
class Decision:
    principal: str
    action: str
    resource: str
    allowed: bool


class Enforcer:
    """The roles of one template, checked on every call; ``decisions``
    records what was asked (tests read it; docs/aws-fidelity.md)."""

    def __init__(self, roles: Mapping[str, Principal], interpreter_role: str | None = None,
                 record: bool = True) -> None:
        self.roles = dict(roles)
        self.interpreter_role = interpreter_role
        self.record = record
        # the latest decisions, for tests (bounded: a long `signalfire local` session
        # must not grow with its traffic; SIGNALFIRE_IAM_LOG keeps them all, on disk)
        self.decisions: deque[Decision] = deque(maxlen=DECISIONS_KEPT)
        self._lock = threading.Lock()

    @classmethod
    def from_template(cls, template: Template) -> Enforcer:
        roles = principals(template)
        machines = list(template.of_type("AWS::Serverless::StateMachine"))
        return cls(roles, machines[0] if len(machines) == 1 else None)

    def check(self, principal: str, service: str, operation: str, params: Mapping[str, Any]) -> str | None:
        """None when allowed, else the AccessDenied message AWS gives."""
        role = self.roles.get(principal)
        if role is None:
            return None
        for action, resource in required(service, operation, params):
            allowed = role.allows(action, resource)
            if self.record:
                with self._lock:
                    self.decisions.append(Decision(principal, action, resource, allowed))
                    if os.environ.get(LOG_ENV):  # what each role really uses, to narrow its Policies
                        with open(os.environ[LOG_ENV], "a", encoding="utf-8") as fh:
                            fh.write(json.dumps([principal, action, resource, allowed]) + "\n")
            if not allowed:
                return (f"User: {role.arn} is not authorized to perform: {action} on resource: {resource} "
                        f"because no identity-based policy allows the {action} action")
        return None

    def used(self) -> dict[str, set[tuple[str, str]]]:
        """principal -> the (action, resource) pairs it was allowed."""
        out: dict[str, set[tuple[str, str]]] = {}
        with self._lock:
            for d in self.decisions:
                if d.allowed:
                    out.setdefault(d.principal, set()).add((d.action, d.resource))
        return out


_ENFORCER: Enforcer | None = None
_INSTALL_LOCK = threading.Lock()
_INSTALLED = False
_PARAMS_KEY = "signalfire_iam_params"


def _remember_params(params: Any = None, context: Any = None, **_: Any) -> None:
    if isinstance(context, dict) and isinstance(params, dict):
        context[_PARAMS_KEY] = params


def _who(request_signer: Any) -> str | None:
    enforcer = _ENFORCER
    if enforcer is None:
        return None
    credentials = getattr(request_signer, "_credentials", None)
    if getattr(credentials, "access_key", None) == _INTERPRETER_ACCESS_KEY:
        return enforcer.interpreter_role
    return _acting.get()


def _check_call(model: Any = None, request_signer: Any = None, context: Any = None, **_: Any) -> Any:
    enforcer = _ENFORCER
    if enforcer is None or model is None:
        return None
    principal = _who(request_signer)
    if principal is None:
        return None
    service = model.service_model.signing_name or model.service_model.endpoint_prefix
    params = (context or {}).get(_PARAMS_KEY) or {}
    message = enforcer.check(principal, service, model.name, params)
    if message is None:
        return None
    from botocore.awsrequest import AWSResponse

    status = 403 if service in ("lambda", "s3") else 400
    code = "AccessDenied" if service == "s3" else "AccessDeniedException"
    request_id = str(uuid.uuid4())
    body = json.dumps({"__type": code, "message": message}).encode()
    http = AWSResponse("https://iam.local/", status, _headers(request_id), _Raw(body))
    parsed = {"Error": {"Code": code, "Message": message},
              "ResponseMetadata": {"RequestId": request_id, "HTTPStatusCode": status, "HTTPHeaders": {},
                                   "RetryAttempts": 0}}
    return http, parsed


def _headers(request_id: str) -> Any:
    from botocore.compat import HTTPHeaders

    headers = HTTPHeaders()
    headers["x-amzn-requestid"] = request_id
    return headers


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def install(enforcer: Enforcer | None) -> None:
    """Check every AWS call against ``enforcer`` from now on (None: stop
    checking).  Clients created before the first call keep no hook: create
    them after (the local stack and the fixtures reset theirs)."""
    global _ENFORCER, _INSTALLED
    with _INSTALL_LOCK:
        _ENFORCER = enforcer
        if _INSTALLED or enforcer is None:
            return
        import boto3
        import botocore.handlers

        botocore.handlers.BUILTIN_HANDLERS.append(("before-parameter-build", _remember_params))
        botocore.handlers.BUILTIN_HANDLERS.append(("before-call", _check_call))
        if boto3.DEFAULT_SESSION is not None:  # boto3.client(...) uses it (moto's interpreter does)
            events = boto3.DEFAULT_SESSION.events
            events.register("before-parameter-build", _remember_params, unique_id="signalfire-iam-params")
            events.register("before-call", _check_call, unique_id="signalfire-iam-check")
        _check_cached_reads()
        _INSTALLED = True


def _deny_cached(service: str, operation: str, params: Mapping[str, Any]) -> None:
    """Raise what an uncached read would raise when the acting function's
    role may not make it."""
    enforcer = _ENFORCER
    principal = _acting.get()
    if enforcer is None or principal is None:
        return
    message = enforcer.check(principal, service, operation, params)
    if message is None:
        return
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
    from botocore.exceptions import ClientError

    error = ClientError({"Error": {"Code": "AccessDeniedException", "Message": message}}, operation)
    raise GetParameterError(str(error)) from error


def _check_cached_reads() -> None:
    """Check every Parameters ``get`` against the reader's role, cache hit or miss."""
    from aws_lambda_powertools.utilities.parameters.secrets import SecretsProvider
    from aws_lambda_powertools.utilities.parameters.ssm import SSMProvider

    secrets_get, ssm_get = SecretsProvider.get, SSMProvider.get

    def get_secret(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        _deny_cached("secretsmanager", "GetSecretValue", {"SecretId": name})
        return secrets_get(self, name, *args, **kwargs)

    def get_parameter(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        _deny_cached("ssm", "GetParameter", {"Name": name})
        return ssm_get(self, name, *args, **kwargs)

    SecretsProvider.get = get_secret  # type: ignore[method-assign]
    SSMProvider.get = get_parameter  # type: ignore[assignment,method-assign]


def hooks_installed() -> bool:
    """Whether clients made from now on carry the check (see :func:`install`)."""
    return _INSTALLED


def current() -> Enforcer | None:
    return _ENFORCER


# -- the state machine's own service integrations, read from the ASL ------------------------

_INTEGRATIONS: dict[str, tuple[str, str, Callable[[str], str]]] = {
    "arn:aws:states:::lambda:invoke": ("lambda:InvokeFunction", "FunctionName", _function_arn),
    "arn:aws:states:::lambda:invoke.waitForTaskToken": ("lambda:InvokeFunction", "FunctionName", _function_arn),
    "arn:aws:states:::states:startExecution": ("states:StartExecution", "StateMachineArn", str),
    "arn:aws:states:::events:putEvents": ("events:PutEvents", "", str),
}


def _dynamodb_integration(resource: str) -> tuple[str, str, Callable[[str], str]] | None:
    match = re.fullmatch(r"arn:aws:states:::dynamodb:(\w+)", resource)
    if not match:
        return None
    op = match.group(1)
    return f"dynamodb:{op[0].upper()}{op[1:]}", "TableName", _table_arn


def asl_requirements(definition: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(state, IAM action, resource) for every Task in an ASL document,
    nested Map/Parallel states included; a resource the ASL computes at run
    time (``Key.$``) is ``*``."""
    out: list[tuple[str, str, str]] = []

    def walk(states: Mapping[str, Any]) -> None:
        for name, state in states.items():
            for branch in state.get("Branches") or []:
                walk(branch.get("States") or {})
            for key in ("ItemProcessor", "Iterator"):
                if isinstance(state.get(key), dict):
                    walk(state[key].get("States") or {})
            if state.get("Type") != "Task":
                continue
            resource = str(state.get("Resource", ""))
            params = state.get("Parameters") or state.get("Arguments") or {}
            if resource.startswith("arn:aws:lambda:"):
                out.append((name, "lambda:InvokeFunction", _function_arn(resource)))
                continue
            spec = _INTEGRATIONS.get(resource) or _dynamodb_integration(resource)
            if spec is None:
                out.append((name, f"unknown integration {resource}", "*"))
                continue
            action, key, to_arn = spec
            value = params.get(key) if key else None
            out.append((name, action, to_arn(value) if isinstance(value, str) else "*"))

    walk(definition.get("States") or {})
    return out


def state_machine_problems(template: Template) -> list[str]:
    """What each state machine's ASL asks that its role does not grant."""
    from signalfire_local.stepfunctions import render_definition

    roles = principals(template)
    problems = []
    for logical, spec in template.state_machines().items():
        if spec.get("definition_path") is None:
            continue
        definition = json.loads(render_definition(spec))
        for state, action, resource in asl_requirements(definition):
            if not roles[logical].allows(action, resource):
                problems.append(f"{logical}: state {state!r} needs {action} on {resource}, which its Policies "
                                f"do not grant")
    return problems
