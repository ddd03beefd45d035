"""How long a pipeline run can take at worst, checked against the workflow's
limit when a definition is saved (an Express execution is stopped at 5
minutes; a Standard one may run a year).

The worst case follows statemachine/pipeline.asl.json (tests/unit/
test_pipeline_budget.py binds the facts below to it):

- each node runs one Lambda task (``intelligence`` may run a second, the
  local-provider fallback, when the node's ``config.fallback`` or else the
  deployment's ``IntelligenceFallbackEnabled`` says so);
- a task's stage retrier allows ``StageMaxRetries`` retries after the first
  attempt, waiting ``StageRetryIntervalSeconds * StageBackoffRate**k``
  before retry k; every attempt may run until the function's timeout;
- a task's Lambda service-error retrier adds 3 quick retries (1 s, 2 s, 4 s
  apart; the function did not run, so each attempt is counted as 1 s);
- a run always passes two DynamoDB tasks (its start and its end record),
  each with 3 retries 1 s, 2 s, 4 s apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from signalfire.errors import ConfigurationError
from signalfire.pipelines.models import WorkflowFit

EXPRESS_LIMIT_SECONDS = 5 * 60
STANDARD_LIMIT_SECONDS = 365 * 24 * 3600

#: Node type -> the ASL Task state that runs it.
NODE_TASK = {"context": "Check", "intelligence": "Analyze", "notify": "Notify", "transform": "Transform"}
#: The ASL Task state an intelligence node falls back to.
FALLBACK_TASK = "AnalyzeWithLocalProvider"
#: ASL Task state -> the template's function (whose Timeout bounds one attempt).
TASK_FUNCTION = {"Check": "check", "Analyze": "analyze", FALLBACK_TASK: "analyze", "Notify": "notify",
                 "Transform": "transform"}
#: (IntervalSeconds, MaxAttempts, BackoffRate) of the Lambda service-error
#: retrier on every stage task and of the retrier on the run's DynamoDB tasks.
SERVICE_RETRY = (1, 3, 2.0)
#: An attempt that failed before our code ran, or a DynamoDB write.
QUICK_ATTEMPT_SECONDS = 1.0
#: DynamoDB tasks every run passes: its start, then its end (completed, skipped or failed).
RUN_RECORD_TASKS = 2


@dataclass(frozen=True)
class WorkflowLimits:
    """What the worst case depends on (template Parameters, read by Settings)."""

    workflow_type: str = "STANDARD"
    retry_interval_seconds: float = 2
    backoff_rate: float = 2
    max_retries: int = 3
    fallback_enabled: bool = True
    #: Function timeouts in seconds, by function (``check``, ``analyze``, ``notify``, ``transform``).
    timeouts: dict[str, int] = field(default_factory=lambda: {"check": 30, "analyze": 120, "notify": 60,
                                                              "transform": 30})

    @property
    def limit_seconds(self) -> int:
        return EXPRESS_LIMIT_SECONDS if self.workflow_type.upper() == "EXPRESS" else STANDARD_LIMIT_SECONDS


def retry_delays(interval: float, retries: int, backoff: float) -> float:
    """Seconds Step Functions waits in total before ``retries`` retries."""
    return sum(interval * backoff ** k for k in range(retries))


def _quick_retries() -> float:
    interval, attempts, backoff = SERVICE_RETRY
    return retry_delays(interval, attempts, backoff) + attempts * QUICK_ATTEMPT_SECONDS


def task_seconds(task: str, limits: WorkflowLimits, retries: int | None = None) -> float:
    """The worst case of one Lambda task state, retries included (``retries``:
    the node's pipeline cap, at most the deployment's StageMaxRetries)."""
    timeout = limits.timeouts[TASK_FUNCTION[task]]
    n = limits.max_retries if retries is None else min(retries, limits.max_retries)
    return ((1 + n) * timeout
            + retry_delays(limits.retry_interval_seconds, n, limits.backoff_rate)
            + _quick_retries())


def node_retries(node: dict[str, Any], limits: WorkflowLimits) -> int:
    """The retries a compiled node gets: its ``max_retries`` (the definition's
    ``defaults.max_retries``) within the deployment's StageMaxRetries."""
    own = node.get("max_retries")
    return min(own, limits.max_retries) if isinstance(own, int) and not isinstance(own, bool) else limits.max_retries


def _stated(config: Any, key: str) -> Any:
    """``defaults.<key>`` if the definition states it (raw dict, or a model's
    ``model_fields_set``), else None: unstated defaults are not refused."""
    if isinstance(config, dict):
        defaults = config.get("defaults")
        value = defaults.get(key) if isinstance(defaults, dict) else None
    else:
        d = getattr(config, "defaults", None)
        value = getattr(d, key) if d is not None and key in d.model_fields_set else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check_defaults(config: Any, nodes: list[dict[str, Any]], limits: WorkflowLimits) -> None:
    """The definition's ``defaults`` this deployment cannot honour, refused
    (400): see :func:`check_retries`.  ``timeout_seconds`` needs no check:
    any value in its range is kept, as the deadline of each stage's outbound
    calls (stages/runner.py ``stage_deadline``); the function's Timeout still
    bounds the attempt, so the worst case below counts the Timeout."""
    check_retries(config, limits)


def check_retries(config: Any, limits: WorkflowLimits) -> None:
    """ConfigurationError (400) when a definition *states* a
    ``defaults.max_retries`` above the deployment's StageMaxRetries (the
    ASL's Retry MaxAttempts, fixed at deploy time): the runner can lower the
    count per run, never raise it.  ``config``: the raw body (dict) or the
    request's PipelineConfig (whose ``model_fields_set`` says what was stated);
    an unstated default is capped at run time instead."""
    own = _stated(config, "max_retries")
    if own is not None and own > limits.max_retries:
        raise ConfigurationError(
            f"defaults.max_retries is {own} but this deployment retries a stage at most "
            f"{limits.max_retries} times (StageMaxRetries): use defaults.max_retries <= "
            f"{limits.max_retries}, or deploy with a larger StageMaxRetries",
            details={"key": "defaults.max_retries", "max_retries": own, "stage_max_retries": limits.max_retries})


def node_tasks(node: dict[str, Any], limits: WorkflowLimits) -> list[str]:
    task = NODE_TASK.get(str(node.get("type")))
    if task is None:
        return []
    tasks = [task]
    if node.get("type") == "intelligence":
        own = (node.get("config") or {}).get("fallback")
        if own is True or (not isinstance(own, bool) and limits.fallback_enabled):
            tasks.append(FALLBACK_TASK)
    return tasks


def worst_case(nodes: list[dict[str, Any]], limits: WorkflowLimits) -> list[tuple[str, float]]:
    """For each compiled node, in order: (node id, worst-case seconds of the run up to and including it)."""
    total = RUN_RECORD_TASKS * (QUICK_ATTEMPT_SECONDS + _quick_retries())
    out = []
    for node in nodes:
        total += sum(task_seconds(t, limits, node_retries(node, limits)) for t in node_tasks(node, limits))
        out.append((str(node.get("id")), total))
    return out


def check_duration(nodes: list[dict[str, Any]], limits: WorkflowLimits) -> float:
    """The run's worst case in seconds, or ConfigurationError (400) naming the
    first node that takes it past the workflow's limit."""
    steps = worst_case(nodes, limits)
    for node_id, seconds in steps:
        if seconds > limits.limit_seconds:
            raise ConfigurationError(
                f"node {node_id!r} takes the worst-case run to {seconds:.0f} s (every attempt of every stage "
                f"running to its function timeout, {limits.max_retries} retries each), past the "
                f"{limits.workflow_type} workflow's limit of {limits.limit_seconds} s: use fewer nodes, or "
                "deploy with a smaller StageMaxRetries / StageRetryIntervalSeconds, or WorkflowType=STANDARD",
                details={"node": node_id, "worst_case_seconds": round(seconds), "limit_seconds": limits.limit_seconds})
    return steps[-1][1] if steps else RUN_RECORD_TASKS * (QUICK_ATTEMPT_SECONDS + _quick_retries())


def workflow_fit(nodes: list[dict[str, Any]], limits: WorkflowLimits) -> WorkflowFit:
    """How a compiled pipeline's worst case compares with the workflow's limit."""
    steps = worst_case(nodes, limits)
    total = steps[-1][1] if steps else RUN_RECORD_TASKS * (QUICK_ATTEMPT_SECONDS + _quick_retries())
    past = next((node_id for node_id, seconds in steps if seconds > limits.limit_seconds), None)
    return WorkflowFit(workflow_type=limits.workflow_type.upper(), limit_seconds=limits.limit_seconds,
                       worst_case_seconds=round(total), fits=past is None, first_node_past_limit=past)


def check_runnable(name: str, nodes: list[dict[str, Any]], limits: WorkflowLimits) -> None:
    """At run start: ConfigurationError (400) naming the pipeline and the limit
    when its worst case does not fit the workflow.  Saved definitions were
    checked when saved; this catches the built-in presets (never saved) and a
    definition saved before the deployment switched to Express."""
    try:
        check_duration(nodes, limits)
    except ConfigurationError as exc:
        raise ConfigurationError(
            f"pipeline {name!r} cannot run on this deployment: {exc.message}",
            details={"pipeline": name, "workflow_type": limits.workflow_type.upper(), **exc.details}) from None
