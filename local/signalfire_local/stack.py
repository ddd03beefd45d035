"""The local stack: moto for DynamoDB, Secrets Manager, Lambda and Step
Functions, in-process; the handlers that template.yaml names, loaded from
functions/ unchanged.

Handlers reach the emulator through ordinary boto3 clients: ``mock_aws``
patches botocore for the whole process, so the code cannot tell it is not
in AWS.

moto and boto3 are imported inside the functions that start the stack, not
at module import: the template reader and ``signalfire openapi`` never need
them, and importing moto alone takes about a second.
"""

from __future__ import annotations

import gc
import importlib.util
import os
import queue
import secrets
import sys
import threading
import time
import uuid
from abc import ABCMeta
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from signalfire_local import iam, priority
from signalfire_local.persistence import WRITE_ACTIONS, DataDir, item_changes
from signalfire_local.routing import Match, Router
from signalfire_local.template import ACCOUNT, REGION, Function, Template

Handler = Callable[[dict[str, Any], Any], Any]
PROJECT_ROOT = Path(__file__).resolve().parents[2]

_DYNAMO_LOCK = threading.RLock()
#: With --data-dir: where each item change is journaled (signalfire_local.persistence).
_JOURNAL: DataDir | None = None


def _serialize_dynamodb() -> None:
    """Make each DynamoDB call atomic, as it is in AWS.

    moto checks a condition and then writes in two steps; under the local
    stack's threads two writers could both pass the check.  One lock around
    each DynamoDB API call restores the all-or-nothing behaviour that our
    conditional writes rely on (and that real DynamoDB guarantees).  With
    --data-dir, a successful write's item changes are journaled inside the
    same lock, before the caller sees the answer.
    """
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.call_action, "_signalfire_locked", False):
        return
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        priority.step_aside()  # pipeline work waits while the API serves a request (priority.py)
        with _DYNAMO_LOCK:
            result = original(self)
            journal = _JOURNAL
            if journal is not None:
                action = self._get_action()
                if action in WRITE_ACTIONS and result[0] == 200:
                    journal.append(item_changes(self.dynamodb_backend, action, self.body))
            return result

    call_action._signalfire_locked = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def _settle_heap() -> None:
    """Keep the objects of start-up out of every later garbage collection.

    Started, the stack holds ~280,000 objects tracked by the cyclic collector
    (moto's and botocore's models, the handlers, the state machine): a full
    collection walks all of them, about 0.3 s here, and under steady traffic
    one comes every few thousand requests: a third of a second during which
    no sender is answered (the repeats' p99 in docs/benchmarks.md).  They live
    as long as the process, so they are moved to the permanent generation
    (``gc.freeze``, the documented remedy for long-lived start-up heaps);
    garbage made later is collected as before.  ``stop`` unfreezes them.
    """
    gc.collect()
    gc.freeze()


_ROUTER_STATE = threading.local()


def _isolate_powertools_router_state() -> None:
    """Give each thread its own Powertools ``current_event``.

    Powertools keeps the event being resolved on the ``BaseRouter`` class,
    shared by every resolver in the process.  In Lambda a process hosts one
    event at a time; here every function shares one process, so a request
    to one function could read another's event half-way through (a webhook
    stored with the path of a concurrent GET).  A per-thread value restores
    the one-event-per-environment rule: on instances through a property in
    ``BaseRouter``, on the class (``BaseRouter.current_event = ...``)
    through its metaclass.
    """
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    if isinstance(BaseRouter, _PerThreadRouterMeta):
        return

    BaseRouter.current_event = _per_thread("current_event")  # type: ignore[assignment]
    BaseRouter.lambda_context = _per_thread("lambda_context")  # type: ignore[assignment]
    assert type(BaseRouter) is ABCMeta
    BaseRouter.__class__ = _PerThreadRouterMeta  # type: ignore[method-assign,assignment]


def _per_thread(name: str) -> property:
    def fget(_self: Any) -> Any:
        try:
            return getattr(_ROUTER_STATE, name)
        except AttributeError:
            raise AttributeError(name) from None

    def fset(_self: Any, value: Any) -> None:
        setattr(_ROUTER_STATE, name, value)

    return property(fget, fset)


class _PerThreadRouterMeta(ABCMeta):
    current_event = _per_thread("current_event")
    lambda_context = _per_thread("lambda_context")


class LambdaContext:
    """The fields Powertools and our handlers read from a Lambda context."""

    def __init__(self, fn: Function) -> None:
        self.function_name = fn.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = fn.arn
        self.memory_limit_in_mb = fn.memory
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{fn.name}"
        self.log_stream_name = "local"
        self._timeout = fn.timeout
        self.start()

    def start(self) -> None:
        """The clock starts when an execution environment takes the event
        (the pool calls this), not while the event waits for one."""
        self._deadline = time.monotonic() + self._timeout

    def get_remaining_time_in_millis(self) -> int:
        """Counts down from the function's Timeout, as in Lambda."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


_IMPORT_LOCK = threading.Lock()


def load_handler(fn: Function, instance: int = 0) -> Handler:
    """Load a fresh copy of a function's handler module (and of the sibling
    modules it imports), as a new Lambda execution environment would."""
    module_name, _, attr = fn.handler.rpartition(".")
    path = fn.code_uri / (module_name.replace(".", "/") + ".py")
    with _IMPORT_LOCK:
        if str(fn.code_uri) not in sys.path:
            sys.path.insert(0, str(fn.code_uri))  # sibling modules, as in the Lambda package
        spec = importlib.util.spec_from_file_location(f"signalfire_fn_{fn.logical_id}_{instance}", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module: ModuleType = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        # Forget the siblings so the next instance imports its own copies.
        for name, mod in list(sys.modules.items()):
            file = getattr(mod, "__file__", None)
            if name != spec.name and file and Path(file).resolve().is_relative_to(fn.code_uri):
                del sys.modules[name]
    return getattr(module, attr)


class HandlerPool:
    """Lambda's concurrency model: each execution environment handles one
    event at a time, and more environments start when events overlap (up to
    ``size``; past that an event waits, as under a concurrency limit)."""

    def __init__(self, fn: Function, size: int = 8) -> None:
        _isolate_powertools_router_state()
        self.fn = fn
        self.size = size
        self._free: queue.LifoQueue[Handler] = queue.LifoQueue()
        self._created = 0
        self._lock = threading.Lock()

    def warm(self) -> HandlerPool:
        self._free.put(self._new())
        return self

    def _new(self) -> Handler:
        with self._lock:
            self._created += 1
            number = self._created
        return load_handler(self.fn, number)

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        try:
            handler = self._free.get_nowait()
        except queue.Empty:
            with self._lock:
                may_grow = self._created < self.size
            handler = self._new() if may_grow else self._free.get()
        start = getattr(context, "start", None)
        if start is not None:
            start()
        try:
            with iam.acting_as(self.fn.logical_id):  # its AWS calls are checked against its role
                return handler(event, context)
        finally:
            self._free.put(handler)


class LocalStack:
    def __init__(self, template_path: str | Path | None = None, *, token: str | None = None,
                 admin_token: str | None = None, parameters: dict[str, str] | None = None,
                 outbox: str | None = None, data_dir: str | Path | None = None,
                 running_executions: int | None = None) -> None:
        self.template = Template(template_path or PROJECT_ROOT / "template.yaml", parameters)
        token = token or os.environ.get("SIGNALFIRE_TOKEN")
        admin_token = admin_token or os.environ.get("SIGNALFIRE_ADMIN_TOKEN")
        self.data = DataDir(data_dir) if data_dir else None
        if self.data is not None:  # the tokens of the last start, unless new ones are given
            token, admin_token = self.data.tokens(token, admin_token)
        self.token = token or secrets.token_urlsafe(24)
        self.admin_token = admin_token or secrets.token_urlsafe(32)
        #: runs found in flight in --data-dir at start, now FAILED / INTERRUPTED
        self.interrupted_runs: list[str] = []
        self.outbox = outbox
        #: executions evaluating at once (None: stepfunctions.RUNNING_EXECUTIONS)
        self.running_executions = running_executions
        self.functions: dict[str, Function] = self.template.functions()
        # Refuses, before anything starts, a route key API Gateway would refuse
        # and a state machine whose role cannot run its own tasks.
        self.router = Router(self.template.routes())
        self.iam = iam.Enforcer.from_template(self.template)
        problems = iam.state_machine_problems(self.template)
        if problems:
            raise iam.PolicyError("; ".join(problems))
        self.handlers: dict[str, Handler] = {}
        self._mock: Any = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> LocalStack:
        os.environ.update({
            "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_SESSION_TOKEN": "local",
            "SIGNALFIRE_LOCAL": "true", "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
            "MOTO_ACCOUNT_ID": ACCOUNT,
        })
        os.environ.pop("AWS_ENDPOINT_URL", None)
        if self.outbox:
            os.environ["SIGNALFIRE_LOCAL_OUTBOX"] = self.outbox
        self._apply_function_environment()
        iam.install(self.iam)  # before any client exists, so every client is checked
        from moto import mock_aws

        self._mock = mock_aws(config={
            "stepfunctions": {"execute_state_machine": True},
            "lambda": {"use_docker": False},
        })
        self._mock.start()
        _serialize_dynamodb()
        from signalfire_local import motofixes

        motofixes.install()
        from signalfire import services

        services.reset()
        self._create_tables()
        in_flight = self._restore_data()
        self._create_secrets()
        self.handlers = {logical: HandlerPool(fn).warm() for logical, fn in self.functions.items()}
        self._create_orchestration()
        self._mark_interrupted(in_flight)
        _settle_heap()
        return self

    def stop(self) -> None:
        gc.unfreeze()
        iam.install(None)
        global _JOURNAL
        if self.data is not None:
            with _DYNAMO_LOCK:
                _JOURNAL = None
                self.data.close()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- pieces ----------------------------------------------------------------------

    def _apply_function_environment(self) -> None:
        """One process hosts every function: their environments are merged
        (they agree on everything but the Powertools service name)."""
        merged: dict[str, str] = {}
        for fn in self.functions.values():
            for key, value in fn.environment.items():
                merged.setdefault(key, value)
        merged["POWERTOOLS_SERVICE_NAME"] = "signalfire-local"
        os.environ.update(merged)

    def _create_tables(self) -> None:
        import boto3

        ddb = boto3.client("dynamodb", region_name=REGION)
        for spec in self.template.table_definitions().values():
            ddb.create_table(**spec["create"])
            ttl = spec.get("ttl")
            if ttl and str(ttl.get("Enabled")).lower() == "true":
                ddb.update_time_to_live(
                    TableName=spec["create"]["TableName"],
                    TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
                )

    def _restore_data(self) -> list[str]:
        """With --data-dir: replay the journal into the tables, compact it and
        journal every change from now on.  Returns the ids of runs that were
        in flight when the last process stopped."""
        global _JOURNAL
        if self.data is None:
            return []
        from moto.dynamodb.models import dynamodb_backends

        from signalfire_local.persistence import restore

        items = self.data.replay()
        restore(dynamodb_backends[ACCOUNT][REGION], items)
        self.data.compact(items)
        self.data.open()
        with _DYNAMO_LOCK:
            _JOURNAL = self.data
        in_flight = []
        for item in items.values():
            pk, sk = item.get("PK", {}).get("S", ""), item.get("SK", {}).get("S", "")
            if pk.startswith("RUN#") and sk == "META" and not item.get("outcome", {}).get("S"):
                in_flight.append(pk[len("RUN#"):])
        return in_flight

    def _mark_interrupted(self, run_ids: list[str]) -> None:
        if not run_ids:
            return
        from signalfire import services
        from signalfire.runs.resume import mark_interrupted

        reason = ("signalfire local stopped while this run was in flight; "
                  "resume it with POST /runs/{id}/resume")
        runs = services.run_store()
        self.interrupted_runs = [r for r in run_ids if mark_interrupted(runs, r, reason.replace("{id}", r))]

    def _create_secrets(self) -> None:
        import boto3

        sm = boto3.client("secretsmanager", region_name=REGION)
        for logical, name in self.template.secrets().items():
            props = self.template.resources[logical].get("Properties") or {}
            if "SecretString" in props:  # a fixed initial value, e.g. the signing keys' "{}"
                value = str(self.template.resolve(props["SecretString"]))
            else:  # generated in AWS: the local tokens
                value = self.admin_token if "admin" in logical.lower() else self.token
            sm.create_secret(Name=name, SecretString=value)

    def _create_orchestration(self) -> None:
        """Lambda functions and the state machine in moto, running the real ASL."""
        machines = self.template.state_machines()
        if not machines:
            return
        from signalfire_local import stepfunctions

        stepfunctions.install_lambda_dispatcher(self.handlers, self.functions)
        stepfunctions.limit_running_executions(self.running_executions or stepfunctions.RUNNING_EXECUTIONS)
        stepfunctions.create_functions(self.functions)
        for spec in machines.values():
            stepfunctions.create_state_machine(spec)

    # -- invoking --------------------------------------------------------------------

    def match(self, method: str, path: str) -> Match | None:
        """The route API Gateway would select (None: 404)."""
        return self.router.select(method, path)

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        fn = self.functions[logical_id]
        return self.handlers[logical_id](event, LambdaContext(fn))
