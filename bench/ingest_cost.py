"""What one webhook costs: DynamoDB calls per path, and relative time.

Runs the local stack in-process (the real ingest handler; the real state
machine in moto for the runs it starts) and counts the DynamoDB calls the
webhook itself makes, split into dedup (alerts, incidents, history) and run
start (run record, ingest stage).  Times are ratios against the new-alert
path measured in the same run.

    python bench/ingest_cost.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "layers" / "shared"), str(ROOT / "local")]
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


def _is_run_item(params: dict) -> bool:
    text = json.dumps(params.get("Key") or params.get("Item") or params.get("TransactItems")
                      or params.get("RequestItems") or {}, default=str)
    return '"RUN#' in text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    os.environ["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    from botocore.client import BaseClient

    from signalfire_local.stack import LocalStack
    from support import http_event

    stack = LocalStack(token="t", admin_token="a").start()
    main_thread = threading.get_ident()
    calls: list[tuple[str, bool]] = []
    original = BaseClient._make_api_call

    def counting(self, operation, params):
        if threading.get_ident() == main_thread and self.meta.service_model.service_name == "dynamodb":
            calls.append((operation, _is_run_item(params)))
        return original(self, operation, params)

    BaseClient._make_api_call = counting  # type: ignore[method-assign]

    def webhook(body: dict) -> dict:
        event = http_event("POST", "/alerts/webhook/", body, token="t")
        reply = stack.invoke("IngestFunction", event)
        assert reply["statusCode"] == 202, reply
        return json.loads(reply["body"])

    def measure(label, make_payload, rounds):
        times, last = [], []
        for i in range(rounds):
            payload = make_payload(i)
            calls.clear()
            start = time.perf_counter()
            webhook(payload)
            times.append(time.perf_counter() - start)
            last = list(calls)
        return label, statistics.median(times), last

    def alert(i: int, status: str = "firing") -> dict:
        return {"name": f"Bench{i}", "severity": "critical", "status": status, "labels": {"host": f"h{i}"}}

    try:
        webhook({"name": "warmup"})
        rows = [
            measure("new alert, new incident, run", alert, args.rounds),
            measure("identical repeat", alert, args.rounds),
            measure("resolution, incident resolved, run", lambda i: alert(i, "resolved"), args.rounds),
            measure("10-alert group, all new", lambda i: {"alerts": [
                {**alert(1000 + i * 10 + k), "fingerprint": f"g{i}-{k}"} for k in range(10)]}, max(5, args.rounds // 3)),
            measure("10-alert group, repeated", lambda i: {"alerts": [
                {**alert(1000 + k), "fingerprint": f"g0-{k}"} for k in range(10)]}, max(5, args.rounds // 3)),
        ]
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]
        stack.stop()
    base = rows[0][1]
    print(f"{'path':38} {'time':>7} {'dedup calls (w)':>16} {'run-start calls (w)':>20}")
    for label, median, made in rows:
        dedup = [op for op, run in made if not run]
        runs = [op for op, run in made if run]
        print(f"{label:38} {median / base:>6.2f}x {len(dedup):>9} ({sum(o in WRITES for o in dedup)})"
              f" {len(runs):>13} ({sum(o in WRITES for o in runs)})")


if __name__ == "__main__":
    main()
