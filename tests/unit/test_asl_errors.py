"""Every error name the state machine matches exists: our own names are
classes in signalfire.errors (their class name is what Lambda reports as
errorType), the rest are Step Functions' or Lambda's own."""

from __future__ import annotations

import json
import re

from signalfire import errors
from support import ROOT

ASL = ROOT / "statemachine" / "pipeline.asl.json"


def _definition() -> dict:
    text = re.sub(r"\$\{[A-Za-z0-9_]+\}", "1", ASL.read_text())
    return json.loads(text)


def _error_names(node: object) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "ErrorEquals":
                found |= set(value)
            else:
                found |= _error_names(value)
    elif isinstance(node, list):
        for item in node:
            found |= _error_names(item)
    return found


def test_every_error_name_in_the_asl_exists():
    names = _error_names(_definition())
    assert names, "the ASL matches no errors at all"
    ours = {n for n in names if not n.startswith(("States.", "Lambda."))}
    assert ours, "the ASL retries none of our own errors"
    for name in ours:
        cls = getattr(errors, name, None)
        assert isinstance(cls, type) and issubclass(cls, errors.SignalfireError), f"{name} is not in signalfire.errors"
        assert cls.retryable, f"{name} is retried by the ASL but says it is not retryable"


def test_configuration_errors_are_never_retried():
    retried = set()
    for state in _definition()["States"].values():
        if not state.get("Resource", "").endswith("lambda:invoke"):
            continue  # the DynamoDB bookkeeping tasks retry any fault: they carry no configuration
        for rule in state.get("Retry", []):
            retried |= set(rule["ErrorEquals"])
    assert "ConfigurationError" not in retried and "States.ALL" not in retried
    assert not errors.ConfigurationError.retryable


def test_every_task_catches_into_the_failure_record():
    states = _definition()["States"]
    for name, state in states.items():
        if state["Type"] == "Task" and state["Resource"].endswith("lambda:invoke"):
            assert state.get("Catch"), f"{name} has no Catch"
            assert state["Catch"][0]["ResultPath"] == "$.error"
            assert any(r["ErrorEquals"][0].startswith("Lambda.") for r in state["Retry"])


def _retried_by_lambda_tasks() -> list[set[str]]:
    """The error names each Lambda task retries (one set per task)."""
    found = []
    for state in _definition()["States"].values():
        if state.get("Resource", "").endswith("lambda:invoke"):
            found.append({n for rule in state.get("Retry", []) for n in rule["ErrorEquals"]})
    return found


def test_every_retryable_error_class_is_retried_by_every_stage():
    """A new retryable class must be added to the ASL: Retry matches names, not subclasses."""
    retryable = {name for name, cls in vars(errors).items()
                 if isinstance(cls, type) and issubclass(cls, errors.SignalfireError) and cls.retryable
                 and cls.in_stages}
    tasks = _retried_by_lambda_tasks()
    assert tasks, "no Lambda task in the ASL"
    for retried in tasks:
        assert retryable <= retried, f"not retried: {sorted(retryable - retried)}"
        assert {"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                "Lambda.TooManyRequestsException"} <= retried


def test_failure_classification_agrees_with_the_error_classes():
    """RecordFailure's retryable flag comes from ClassifyFailure's name list."""
    states = _definition()["States"]
    names = {c["StringEquals"] for c in states["ClassifyFailure"]["Choices"][0]["Or"]}
    for name in names:
        cls = getattr(errors, name, None)
        if cls is not None:
            assert cls.retryable, name
    assert set().union(*_retried_by_lambda_tasks()) <= names
    assert "ConfigurationError" not in names


def test_stage_retries_use_the_template_parameters():
    text = ASL.read_text()
    for placeholder in ("${StageRetryIntervalSeconds}", "${StageMaxRetries}", "${StageBackoffRate}",
                        "${TableName}", "${CheckFunctionArn}",
                        "${AnalyzeFunctionArn}", "${NotifyFunctionArn}", "${TransformFunctionArn}"):
        assert placeholder in text, placeholder
