"""Run the real ASL in moto: Lambda tasks dispatch to the Python handlers
that template.yaml names.

The caller starts moto with::

    mock_aws(config={"stepfunctions": {"execute_state_machine": True},
                     "lambda": {"use_docker": False}})

moto's Step Functions interpreter invokes Lambda tasks through boto3
``lambda.invoke``.  With ``use_docker: False`` moto answers those from
``LambdaSimpleBackend.invoke`` (which echoes the payload) and never reaches
``LambdaFunction._invoke_lambda``; with Docker enabled it goes through
``LambdaFunction._invoke_lambda``.  :func:`install_lambda_dispatcher` replaces
both, so a function name maps to a Python handler either way.  An exception
becomes the Lambda runtime's error document, ``{"errorType":
type(exc).__name__, "errorMessage": str(exc), "stackTrace": [...]}`` with
``x-amz-function-error`` set, so ``Retry``/``Catch`` match our class names.

This leans on moto internals, so moto is pinned (pyproject.toml: 5.2.1) and
tests/functional/test_local_stepfunctions.py covers the adapter, both on a
toy machine and on statemachine/pipeline.asl.json.  moto has no redrive;
resume (signalfire.runs.resume) does not need it.

Usage (inside an active ``mock_aws``)::

    install_lambda_dispatcher({"signalfire-CheckFunction": check_handler, ...})
    create_functions(["signalfire-CheckFunction", ...])
    arn = create_state_machine("statemachine/pipeline.asl.json",
                               {"CheckFunctionArn": function_arn("signalfire-CheckFunction"), ...})
"""

from __future__ import annotations

import io
import json
import queue
import re
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import boto3

from signalfire_local import motofixes
from signalfire_local.template import ACCOUNT, REGION, Function

Handler = Callable[[dict[str, Any], Any], Any]

_ROLE_NAME = "signalfire-local"


class FakeLambdaContext:
    """The fields Powertools and our handlers read from a Lambda context."""

    def __init__(self, function_name: str, memory_limit_in_mb: int = 512, timeout: int = 30) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function_arn(function_name)
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._timeout = timeout

    def get_remaining_time_in_millis(self) -> int:
        return self._timeout * 1000


#: function name -> (handler, context factory)
_HANDLERS: dict[str, tuple[Handler, Callable[[], Any]]] = {}


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def _function_name(name_or_arn: str) -> str:
    """``name``, ``name:qualifier``, or a full/partial ARN -> the bare name."""
    if name_or_arn.startswith("arn:"):
        parts = name_or_arn.split(":")
        return parts[6] if len(parts) > 6 else parts[-1]
    return name_or_arn.split(":", 1)[0]


def dispatch(function_name: str, event: Any) -> tuple[str, bool]:
    """Call the handler registered for ``function_name``: ``(result_json, errored)``."""
    name = _function_name(function_name)
    if name not in _HANDLERS:
        return json.dumps({"errorType": "ResourceNotFoundException",
                           "errorMessage": f"no local handler for function {name!r}", "stackTrace": []}), True
    handler, make_context = _HANDLERS[name]
    try:
        result = handler(event if event is not None else {}, make_context())
    except Exception as exc:  # noqa: BLE001 - reported the way the Lambda runtime reports it
        return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc),
                           "stackTrace": traceback.format_tb(exc.__traceback__)[-5:]}), True
    return json.dumps(result, default=str), False


def _simple_backend_invoke(self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any,
                           response_headers: Any) -> bytes:
    """Replaces ``LambdaSimpleBackend.invoke`` (the path with ``use_docker: False``)."""
    event = json.loads(body) if body else {}
    result, errored = dispatch(function_name, event)
    if errored:
        response_headers["x-amz-function-error"] = "Unhandled"
    return result.encode()


def _function_invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
    """Replaces ``LambdaFunction._invoke_lambda`` (the Docker path): ``(result, errored, logs)``."""
    if isinstance(event, str | bytes):
        event = json.loads(event) if event else {}
    result, errored = dispatch(self.function_name, event)
    return result, errored, ""


def install_lambda_dispatcher(handlers: Mapping[str, Handler],
                              functions: Mapping[str, Function] | None = None) -> None:
    """Route moto Lambda invocations to Python handlers.

    ``handlers`` maps a Lambda *function name* to ``handler(event, context)``.
    When ``functions`` (template logical id -> :class:`Function`) is given,
    ``handlers`` is keyed by logical id instead, and each function's physical
    name, memory and timeout come from the template.  Safe to call again: later
    registrations add to (or replace) earlier ones.
    """
    from moto.awslambda.models import LambdaFunction
    from moto.awslambda_simple.models import LambdaSimpleBackend

    motofixes.install()  # moto's Step Functions, fit to run for long (see motofixes)
    for key, handler in handlers.items():
        if functions is not None:
            fn = functions[key]
            _HANDLERS[fn.name] = (handler, _context_factory(fn.name, fn.memory, fn.timeout))
        else:
            _HANDLERS[_function_name(key)] = (handler, _context_factory(_function_name(key)))
    LambdaSimpleBackend.invoke = _simple_backend_invoke  # type: ignore[method-assign,assignment]
    LambdaFunction._invoke_lambda = _function_invoke_lambda  # type: ignore[method-assign,assignment]


def _context_factory(name: str, memory: int = 512, timeout: int = 30) -> Callable[[], Any]:
    return lambda: FakeLambdaContext(name, memory, timeout)


def role_arn() -> str:
    """An IAM role in moto for create_function / create_state_machine (created once)."""
    iam = boto3.client("iam", region_name=REGION)
    try:
        return str(iam.get_role(RoleName=_ROLE_NAME)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {
            "Service": ["lambda.amazonaws.com", "states.amazonaws.com"]}}]}
        return str(iam.create_role(RoleName=_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])




def create_functions(functions: Mapping[str, Function] | Iterable[str]) -> dict[str, str]:
    """Register functions with moto's Lambda so the state machine can invoke
    them; returns ``{function name: ARN}``.  ``functions`` is either function
    names or the template's ``{logical id: Function}``.  Existing ones are kept."""
    lam = boto3.client("lambda", region_name=REGION)
    role = role_arn()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", "# dispatched locally to the Python handler (signalfire_local.stepfunctions)\n")
    specs: list[tuple[str, str, int, int]] = []
    if isinstance(functions, Mapping):
        specs = [(fn.name, fn.handler, fn.timeout, fn.memory) for fn in functions.values()]
    else:
        specs = [(name, "app.lambda_handler", 30, 512) for name in functions]
    arns: dict[str, str] = {}
    for name, handler, timeout, memory in specs:
        try:
            arns[name] = lam.create_function(
                FunctionName=name, Runtime="python3.13", Role=role, Handler=handler,
                Code={"ZipFile": buf.getvalue()}, Timeout=timeout, MemorySize=memory,
                Architectures=["arm64"])["FunctionArn"]
        except lam.exceptions.ResourceConflictException:
            arns[name] = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    return arns


def render_definition(spec_or_path: Mapping[str, Any] | str | Path,
                      substitutions: Mapping[str, Any] | None = None) -> str:
    """The ASL text with ``${Name}`` placeholders replaced.  Either a path and
    a substitutions dict, or the local template's state machine spec
    (``{"definition_path", "substitutions", ...}``).  Fails clearly on a
    placeholder left unreplaced or on invalid JSON."""
    if isinstance(spec_or_path, Mapping):
        path, subs = Path(spec_or_path["definition_path"]), dict(spec_or_path.get("substitutions") or {})
    else:
        path, subs = Path(spec_or_path), {}
    subs.update(substitutions or {})
    text = path.read_text(encoding="utf-8")
    for key, value in subs.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        text = text.replace("${" + key + "}", str(value))
    left = sorted(set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", text)))
    if left:
        raise ValueError(f"{path}: no substitution for {', '.join(left)}")
    json.loads(text)  # fail here, clearly, rather than inside moto
    return text


def create_state_machine(spec_or_path: Mapping[str, Any] | str | Path,
                         substitutions: Mapping[str, Any] | None = None, *, name: str | None = None,
                         workflow_type: str | None = None) -> str:
    """Create the state machine in moto from the ASL file; returns its ARN.

    ``create_state_machine("statemachine/pipeline.asl.json", {"TableName": ..., ...},
    name="signalfire-pipeline", workflow_type="STANDARD")``, or with the local
    template's spec (``Template.state_machines()[logical]``), whose ``arn``
    names the machine and whose ``type`` is the workflow type.
    """
    spec = spec_or_path if isinstance(spec_or_path, Mapping) else {}
    machine = name or (str(spec["arn"]).rsplit(":", 1)[-1] if spec.get("arn") else "signalfire-pipeline")
    kind = str(workflow_type or spec.get("type") or "STANDARD").upper()
    sfn = boto3.client("stepfunctions", region_name=REGION)
    return str(sfn.create_state_machine(
        name=machine, definition=render_definition(spec_or_path, substitutions), roleArn=role_arn(),
        type="EXPRESS" if kind == "EXPRESS" else "STANDARD")["stateMachineArn"])  # type: ignore[arg-type]


# -- executions take turns --------------------------------------------------------------------

#: Executions evaluating at once in `signalfire local`; the others wait their turn.
RUNNING_EXECUTIONS = 4
_SLOTS: threading.Semaphore | None = None
_HELD = threading.local()
#: Started executions waiting for their turn: a record, no worker and no thread until they have one.
_WAITING: queue.SimpleQueue[Any] = queue.SimpleQueue()
_DISPATCHER: list[threading.Thread] = []
_DISPATCHER_LOCK = threading.Lock()
#: A stop and a turn given to the same waiting execution: one or the other first, never lost between.
_STOP_LOCK = threading.Lock()
_PARSED = object()  # no parsed input kept: parse it from the text when asked


def _dispatch(begin: Callable[[Any, threading.Semaphore | None], None]) -> None:
    """Give each waiting execution its worker and thread when a turn is free, in start order."""
    while True:
        execution = _WAITING.get()
        slots = _SLOTS
        if slots is not None:
            slots.acquire()
        try:
            begin(execution, slots)
        except Exception:  # noqa: BLE001 - no thread for it: give the turn back; the reconciler sees the run stall
            if slots is not None:
                slots.release()
            traceback.print_exc()


def _queue_for_a_turn(execution: Any, begin: Callable[[Any, threading.Semaphore | None], None]) -> None:
    with _DISPATCHER_LOCK:
        if not _DISPATCHER or not _DISPATCHER[0].is_alive():
            thread = threading.Thread(target=_dispatch, args=(begin,), name="execution-turns", daemon=True)
            _DISPATCHER[:] = [thread]
            thread.start()
    _WAITING.put(execution)


class _SleepOutsideSlot:
    """``time`` for moto's retrier: a Retry's back-off wait gives the
    execution's turn to another one while it sleeps."""

    def sleep(self, seconds: float) -> None:
        slots = getattr(_HELD, "slots", None)
        if slots is None or seconds <= 0:
            time.sleep(seconds)
            return
        slots.release()
        try:
            time.sleep(seconds)
        finally:
            slots.acquire()

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def _input_data(self: Any) -> Any:
    parsed = self.__dict__.get("_signalfire_input", _PARSED)
    return json.loads(self.execution_input) if parsed is _PARSED else parsed


def _set_input_data(self: Any, value: Any) -> None:
    self.__dict__["_signalfire_input"] = value


def limit_running_executions(size: int | None = RUNNING_EXECUTIONS) -> None:
    """Let at most ``size`` executions evaluate at once (None: no limit).

    One Python process hosts the HTTP API and every execution.  In AWS an
    execution runs on Step Functions' own capacity and never slows an API
    answer; here each running execution is a thread competing for the same
    interpreter, so a burst of webhooks that each start a run made every
    answer wait behind the runs they started (issue 8: seconds of latency,
    rising with the backlog).  With a few executions evaluating at once and
    the rest waiting their turn (in start order), the API threads keep most
    of the interpreter and runs drain at a steady pace.  An execution gives
    its turn away while a Retry back-off sleeps; a StopExecution that arrives
    while it waits stops it as soon as it starts (ABORTED, as on AWS).

    A waiting execution is its record alone (RUNNING, as DescribeExecution
    and ListExecutions show it): its worker, with the evaluation details,
    is built when its turn comes, and its input is kept as the text it was
    given, parsed when read.  A storm leaves thousands waiting: what each
    holds until its turn adds to the process's peak (docs/benchmarks.md).
    """
    global _SLOTS
    from moto.stepfunctions.parser.api import ExecutionStatus, GetExecutionHistoryOutput, InvalidName
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.program.program import Program
    from moto.stepfunctions.parser.backend.execution import Execution
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    _SLOTS = threading.Semaphore(size) if size else None
    if getattr(ExecutionWorker._execution_logic, "_signalfire_turns", False):
        return
    logic = ExecutionWorker._execution_logic
    make_env = ExecutionWorker._get_evaluation_environment
    stop = ExecutionWorker.stop
    eval_body = Program._eval_body
    start_thread = ExecutionWorker.start
    start_record = Execution.start
    stop_record = Execution.stop
    history = Execution.to_history_output

    def begin(execution: Any, turn: threading.Semaphore | None) -> None:
        worker = execution._get_start_execution_worker()
        worker._signalfire_turn = turn
        with _STOP_LOCK:
            pending = execution.__dict__.pop("_signalfire_pending_stop", None)
            if pending is not None:
                worker._signalfire_pending_stop = pending
            execution.exec_worker = worker
        start_thread(worker)

    def start_execution(self: Any) -> None:
        if _SLOTS is None:
            start_record(self)
            return
        if self.exec_worker is not None:
            raise InvalidName("the execution has already started")  # as moto refuses a second start
        self.exec_status = ExecutionStatus.RUNNING
        self.__dict__.pop("_signalfire_input", None)  # the text is kept (execution_input): parsed when read
        _queue_for_a_turn(self, begin)

    def stop_execution(self: Any, stop_date: Any, error: str | None, cause: str | None) -> None:
        with _STOP_LOCK:
            if self.exec_worker is None:  # still waiting for its turn: applied when it comes
                self._signalfire_pending_stop = {"stop_date": stop_date, "error": error, "cause": cause}
                return
        stop_record(self, stop_date=stop_date, error=error, cause=cause)

    def to_history_output(self: Any) -> Any:
        if self.exec_worker is None:  # not started yet: no events, as moto answers before its environment
            return GetExecutionHistoryOutput(events=[])
        return history(self)

    def _execution_logic(self: Any) -> None:
        turn = getattr(self, "_signalfire_turn", None)  # given by the dispatcher with the thread
        if turn is None:
            logic(self)
            return
        _HELD.slots = turn
        try:
            logic(self)
        finally:
            _HELD.slots = None
            turn.release()

    def _get_evaluation_environment(self: Any) -> Any:
        env: Any = make_env(self)
        # the program evaluates in a thread of its own: it finds its turn on the env
        env._signalfire_slots = getattr(_HELD, "slots", None)
        # stopped while it waited its turn: applied once the program runs (a
        # stop before that is ignored by moto's environment)
        env._signalfire_pending_stop = getattr(self, "_signalfire_pending_stop", None)
        return env

    def _eval_body(self: Any, env: Any) -> None:
        if not env.is_frame():
            held = getattr(env, "_signalfire_slots", None)
            if held is not None:
                _HELD.slots = held
            pending = getattr(env, "_signalfire_pending_stop", None)
            if pending is not None:
                env.set_stop(**pending)
        eval_body(self, env)

    def stop_worker(self: Any, stop_date: Any, error: str | None, cause: str | None) -> None:
        if self.env is None:  # its thread is starting: applied once the program runs
            self._signalfire_pending_stop = {"stop_date": stop_date, "error": error, "cause": cause}
            return
        stop(self, stop_date=stop_date, error=error, cause=cause)

    _execution_logic._signalfire_turns = True  # type: ignore[attr-defined]
    ExecutionWorker._execution_logic = _execution_logic  # type: ignore[method-assign]
    ExecutionWorker._get_evaluation_environment = _get_evaluation_environment  # type: ignore[method-assign]
    ExecutionWorker.stop = stop_worker  # type: ignore[method-assign]
    Execution.start = start_execution  # type: ignore[method-assign]
    Execution.stop = stop_execution  # type: ignore[method-assign]
    Execution.to_history_output = to_history_output  # type: ignore[method-assign]
    Execution.input_data = property(_input_data, _set_input_data)  # type: ignore[assignment]
    Program._eval_body = _eval_body  # type: ignore[method-assign]
    retrier_decl.time = _SleepOutsideSlot()  # type: ignore[assignment]
