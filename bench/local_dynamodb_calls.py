"""The CPU one DynamoDB call costs in the local stack, with and without the
per-call fixes of signalfire_local.motofixes (12-17), in the same run.

    python bench/local_dynamodb_calls.py                  # 3 rounds each way
    python bench/local_dynamodb_calls.py --rounds 5 --mixes 400
    python bench/local_dynamodb_calls.py --profile        # cProfile of one "with" run, top frames

Each measurement is a fresh process running the local stack in-process (no
HTTP, no executions) and making, through the shared layer's ``DynamoTable``
on the handlers' boto3 client and as ApiFunction's role (so the IAM check
runs as it does for a handler), a fixed mix of calls shaped like a new
alert's: a conditional put, a transaction of three conditional puts, an
update of a new item and of an existing one (with a condition, ALL_NEW), a
get, a GSI query with a filter, a batch get.  ``--warm`` mixes first, then
``--mixes`` more; it reports CPU per call.  Runs alternate (without, with,
without...) so a busy machine weighs on both alike; the ratio of medians is
the figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The fixes this bench measures (numbers in motofixes.py).
PER_CALL_FIXES = ("_update_items_without_needless_copies", "_copy_expression_trees_cheaply",
                  "_lex_condition_expressions_once", "_parse_json_requests_from_the_body",
                  "_build_processing_maps_once", "_copy_old_items_only_when_returned")

CHILD = r'''
import json, os, sys, time
root, mode, warm, count, fixes, profile = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), \
    sys.argv[5].split(","), sys.argv[6] == "1"
sys.path[:0] = [root + "/local", root + "/layers/shared"]
os.chdir(root)
from signalfire_local import motofixes
if mode == "without":
    for name in fixes:
        if hasattr(motofixes, name):
            setattr(motofixes, name, lambda: None)
from signalfire_local import iam
from signalfire_local.stack import LocalStack
from signalfire.store.dynamo import DynamoTable
from signalfire.store.exceptions import ConditionFailed
stack = LocalStack(token="tok", admin_token="adm").start()
stack.iam.record = False
table = DynamoTable(next(iter(stack.template.table_definitions().values()))["create"]["TableName"])
CALLS = 10
n = 0

def mix():
    global n
    n += 1
    a = f"ALERT#{n}"
    table.put({"PK": a, "SK": "META", "name": f"bench {n}", "labels": {"host": f"h{n % 50}", "sev": "crit"},
               "GSI1PK": f"FP#{n % 997}", "GSI1SK": f"{n:08d}", "version": 1}, condition="attribute_not_exists(PK)")
    table.transact([table.tx_put({"PK": a, "SK": f"HIST#{k}", "at": k, "what": "fired"},
                                 condition="attribute_not_exists(PK)") for k in range(3)])
    table.update(f"RUN#{n}", "META", "SET #s = :s, updated_at = :t, attempts = if_not_exists(attempts, :z) + :one",
                 condition="attribute_not_exists(PK) OR #s = :s", names={"#s": "status"},
                 values={":s": "RUNNING", ":t": n, ":z": 0, ":one": 1})
    table.update(a, "META", "SET version = version + :one, #st = :open",
                 condition="#st IN (:open, :ack) OR attribute_not_exists(#st)", names={"#st": "status"},
                 values={":one": 1, ":open": "open", ":ack": "ack"})
    try:
        table.put({"PK": a, "SK": "META"}, condition="attribute_not_exists(PK)")
    except ConditionFailed:
        pass
    table.get(a, "META")
    table.query_index("GSI1", f"FP#{n % 997}", limit=5, filters={"version": 2})
    table.query(pk_name="PK", pk=a, sk_name="SK", sk_prefix="HIST#", limit=10)
    table.batch_get([(a, "META"), (f"RUN#{n}", "META"), (a, "HIST#1")])

with iam.acting_as("ApiFunction"):
    for _ in range(warm):
        mix()
    if profile:
        import cProfile, pstats
        prof = cProfile.Profile()
        prof.enable()
    t = time.process_time()
    for _ in range(count):
        mix()
    cpu = (time.process_time() - t) / (count * CALLS) * 1000
    if profile:
        prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(int(os.environ.get("TOP", "60")))
print(json.dumps({"cpu_ms_per_call": cpu}))
stack.stop()
'''


def measure(mode: str, warm: int, count: int, profile: bool = False) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), mode, str(warm), str(count),
                          ",".join(PER_CALL_FIXES), "1" if profile else "0"],
                         capture_output=True, text=True, check=False)
    if profile:
        print(out.stderr[-30000:])
    lines = [line for line in out.stdout.splitlines() if line.startswith('{"cpu_ms')]
    if not lines:
        raise SystemExit(f"{mode}: no result\n{out.stderr[-3000:]}")
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warm", type=int, default=50)
    parser.add_argument("--mixes", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--mode", choices=("with", "without"), default="with", help="which run --profile profiles")
    args = parser.parse_args()
    if args.profile:
        print(measure(args.mode, args.warm, args.mixes, profile=True))
        return
    results: dict[str, list[float]] = {"without": [], "with": []}
    for _ in range(args.rounds):
        for mode in ("without", "with"):
            results[mode].append(measure(mode, args.warm, args.mixes)["cpu_ms_per_call"])
            print(f"{mode:>8}: {results[mode][-1]:.3f} ms CPU per call", flush=True)
    before, after = statistics.median(results["without"]), statistics.median(results["with"])
    print(f"\nmedian CPU per DynamoDB call: {before:.3f} ms without the per-call fixes, {after:.3f} ms with them; "
          f"ratio {after / before:.2f}")


if __name__ == "__main__":
    main()
