"""Run the real ASL in moto: Lambda tasks dispatch to the Python handlers
that template.yaml names.

moto's Step Functions interpreter (``execute_state_machine``) invokes
Lambda tasks through boto3 ``lambda.invoke``; with ``use_docker: False``
moto answers those from ``LambdaSimpleBackend.invoke``, which echoes the
payload.  We replace that one method with a dispatcher from function name to
handler.  This leans on a moto internal, so moto is pinned in pyproject.toml
and tests/functional/test_local_stepfunctions.py covers the adapter
(success, retry by error class name, catch).
"""

from __future__ import annotations

import io
import json
import traceback
import zipfile
from collections.abc import Callable, Mapping
from typing import Any

import boto3

from signalfire_local.template import REGION, Function

Handler = Callable[[dict[str, Any], Any], Any]
_HANDLERS: dict[str, tuple[Handler, Function]] = {}


def _invoke(self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any,
            response_headers: Any) -> bytes:
    from signalfire_local.stack import LambdaContext

    name = function_name.rsplit(":", 1)[-1] if function_name.startswith("arn:") else function_name
    if name not in _HANDLERS:
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps({"errorType": "ResourceNotFoundException",
                           "errorMessage": f"no local handler for function {name!r}"}).encode()
    handler, fn = _HANDLERS[name]
    event = json.loads(body) if body else {}
    try:
        result = handler(event, LambdaContext(fn))
    except Exception as exc:  # noqa: BLE001 - reported the way the Lambda runtime reports it
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc),
                           "stackTrace": traceback.format_tb(exc.__traceback__)[-5:]}).encode()
    return json.dumps(result, default=str).encode()


def _share_executions_on_deepcopy() -> None:
    """moto deep-copies the state machine at every StartExecution, including
    the list of earlier executions, whose worker threads hold locks that
    cannot be copied: the second execution of a machine fails with "cannot
    pickle '_thread.RLock' object".  An execution is a record, not part of
    the definition, so the copy may share it."""
    from moto.stepfunctions.parser.backend.execution import Execution

    Execution.__deepcopy__ = lambda self, memo: self  # type: ignore[attr-defined]


def install_lambda_dispatcher(handlers: Mapping[str, Handler], functions: Mapping[str, Function]) -> None:
    """Route moto Lambda invocations of each template function to its handler."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    _share_executions_on_deepcopy()
    for logical, handler in handlers.items():
        _HANDLERS[functions[logical].name] = (handler, functions[logical])
    LambdaSimpleBackend.invoke = _invoke  # type: ignore[method-assign,assignment]


def _role() -> str:
    iam = boto3.client("iam", region_name=REGION)
    try:
        return iam.get_role(RoleName="signalfire-local")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(RoleName="signalfire-local", AssumeRolePolicyDocument="{}")["Role"]["Arn"]


def create_functions(functions: Mapping[str, Function]) -> None:
    """Register the functions with moto's Lambda so the state machine can invoke them."""
    lam = boto3.client("lambda", region_name=REGION)
    role = _role()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "# dispatched locally to functions/<name>/app.py\n")
    for fn in functions.values():
        lam.create_function(FunctionName=fn.name, Runtime="python3.13", Role=role, Handler=fn.handler,
                            Code={"ZipFile": buf.getvalue()}, Timeout=fn.timeout, MemorySize=fn.memory,
                            Architectures=["arm64"])


def render_definition(spec: Mapping[str, Any]) -> str:
    """The ASL text with the template's DefinitionSubstitutions applied."""
    text = spec["definition_path"].read_text(encoding="utf-8")
    for key, value in spec["substitutions"].items():
        text = text.replace("${" + key + "}", str(value))
    json.loads(text)  # fail here, clearly, rather than inside moto
    return text


def create_state_machine(spec: Mapping[str, Any]) -> str:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    name = spec["arn"].rsplit(":", 1)[-1]
    kind = "EXPRESS" if str(spec.get("type", "STANDARD")).upper() == "EXPRESS" else "STANDARD"
    return str(sfn.create_state_machine(name=name, definition=render_definition(spec), roleArn=_role(),
                                        type=kind)["stateMachineArn"])  # type: ignore[arg-type]
