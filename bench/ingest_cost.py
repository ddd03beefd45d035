"""What one webhook costs, in AWS calls and in relative time.

Runs the real ingest handler against moto (the table built from
template.yaml) and counts the DynamoDB calls each path makes: a new alert,
an identical repeat, a resolution, a 10-alert group.  Times are reported as
ratios against the new-alert path measured in the same run, since absolute
numbers on a shared machine mean little.

    python bench/ingest_cost.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "functional"), str(ROOT / "layers" / "shared"),
                str(ROOT / "local")]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    os.environ.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x",
                       "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_METRICS_DISABLED": "true",
                       "POWERTOOLS_LOG_LEVEL": "WARNING", "SIGNALFIRE_LOCAL": "true"})
    import boto3
    from moto import mock_aws

    from signalfire import aws, services
    from signalfire_local.template import Template
    from support import ADMIN_TOKEN, WEBHOOK_TOKEN, CallCounter

    with mock_aws():
        spec = Template(ROOT / "template.yaml").table_definitions()["Table"]["create"]
        boto3.client("dynamodb").create_table(**spec)
        sm = boto3.client("secretsmanager")
        sm.create_secret(Name="w", SecretString=WEBHOOK_TOKEN)
        sm.create_secret(Name="a", SecretString=ADMIN_TOKEN)
        os.environ.update({"SIGNALFIRE_TABLE": spec["TableName"], "SIGNALFIRE_WEBHOOK_TOKEN_SECRET": "w",
                           "SIGNALFIRE_ADMIN_TOKEN_SECRET": "a"})
        services.reset()
        from handler_calls import webhook

        counter = CallCounter()
        aws.client("dynamodb").meta.events.register("before-call.dynamodb.*", counter)
        webhook({"name": "warmup"})

        def measure(label: str, make_payload, rounds: int) -> tuple[str, float, list[str]]:
            times, calls = [], []
            for i in range(rounds):
                payload = make_payload(i)
                counter.reset()
                start = time.perf_counter()
                reply = webhook(payload)
                times.append(time.perf_counter() - start)
                assert reply.status == 202, reply
                calls = list(counter.calls)
            return label, statistics.median(times), calls

        def alert(i: int, status: str = "firing") -> dict:
            return {"name": f"Bench{i}", "severity": "critical", "status": status, "labels": {"host": f"h{i}"}}

        rows = [
            measure("new alert (+ new incident)", lambda i: alert(i), args.rounds),
            measure("identical repeat", lambda i: alert(i), args.rounds),
            measure("resolution (+ incident resolved)", lambda i: alert(i, "resolved"), args.rounds),
            measure("10-alert group, all new", lambda i: {"alerts": [
                {**alert(1000 + i * 10 + k), "fingerprint": f"g{i}-{k}"} for k in range(10)]}, max(5, args.rounds // 3)),
            measure("10-alert group, repeated", lambda i: {"alerts": [
                {**alert(1000 + k), "fingerprint": f"g0-{k}"} for k in range(10)]}, max(5, args.rounds // 3)),
        ]
    base = rows[0][1]
    print(f"{'path':36} {'time vs new alert':>18} {'DynamoDB calls':>15}  calls")
    for label, median, calls in rows:
        writes = sum(c in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems") for c in calls)
        print(f"{label:36} {median / base:>17.2f}x {len(calls):>8} ({writes} w)  {', '.join(calls)}")


if __name__ == "__main__":
    main()
