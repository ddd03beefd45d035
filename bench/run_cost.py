"""What one pipeline run costs in AWS terms, per preset.

Starts the local stack in-process (the real ASL in moto, the real stage
handlers), sends one new alert per preset and counts, for the run:
Step Functions state transitions (Standard workflows bill per transition),
Lambda invocations, and the DynamoDB calls our code and the state machine's
direct integrations make.  Also the webhook's own DynamoDB calls.

    python bench/run_cost.py
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "layers" / "shared"), str(ROOT / "local")]
PRESETS = ["direct", "health-checked", "ai-analyzed", "full", "local-monitor", "local-smart"]


def main() -> None:
    os.environ.update({"POWERTOOLS_LOG_LEVEL": "ERROR", "SIGNALFIRE_LOCAL_QUIET": "1"})
    import boto3
    from botocore.client import BaseClient

    from signalfire_local import stepfunctions
    from signalfire_local.stack import LocalStack
    from support import FakeContext, http_event

    calls: Counter[str] = Counter()
    webhook_calls: Counter[str] = Counter()
    main_thread = threading.get_ident()
    original = BaseClient._make_api_call

    def counting(self, operation, params):  # every boto3 call in the process: ours and moto's interpreter's
        key = f"{self.meta.service_model.service_name}:{operation}"
        calls[key] += 1
        if threading.get_ident() == main_thread:  # the webhook runs here; the execution on its own threads
            webhook_calls[key] += 1
        return original(self, operation, params)

    stack = LocalStack(token="t", admin_token="a", parameters={"StageRetryIntervalSeconds": "1"}).start()
    BaseClient._make_api_call = counting  # type: ignore[method-assign]
    sfn = boto3.client("stepfunctions")
    invocations: Counter[str] = Counter()
    original_dispatch = stepfunctions.dispatch

    def count_dispatch(function_name, event):
        invocations[function_name.rsplit(":", 1)[-1]] += 1
        return original_dispatch(function_name, event)

    stepfunctions.dispatch = count_dispatch
    print(f"{'preset':16} {'transitions':>11} {'lambda':>7} {'ddb (webhook)':>14} {'ddb (run)':>10}")
    try:
        for preset in PRESETS:
            calls.clear()
            webhook_calls.clear()
            invocations.clear()
            event = http_event("POST", "/alerts/webhook/", {"name": f"cost-{preset}", "severity": "critical",
                                                           "labels": {"host": "h1"}}, token="t",
                               query={"pipeline": preset})
            reply = json.loads(stack.invoke("IngestFunction", event)["body"])
            webhook_ddb = sum(v for k, v in webhook_calls.items() if k.startswith("dynamodb:"))
            run_id = reply["run_ids"][0]
            arn = f"{stack.template.state_machines()['PipelineStateMachine']['arn'].replace(':stateMachine:', ':execution:')}:{run_id}"
            for _ in range(200):
                if sfn.describe_execution(executionArn=arn)["status"] != "RUNNING":
                    break
                time.sleep(0.05)
            history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
            transitions = sum(1 for e in history if e["type"].endswith("StateEntered"))
            total_ddb = sum(v for k, v in calls.items() if k.startswith("dynamodb:"))
            print(f"{preset:16} {transitions:>11} {sum(invocations.values()):>7} {webhook_ddb:>14} "
                  f"{total_ddb - webhook_ddb:>10}")
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]
        stack.stop()
    del FakeContext


if __name__ == "__main__":
    main()
