"""CPU per new alert, end to end in-process, for two source trees in one run.

Each tree runs in its own child process (the local stack in-process: the
real ingest handler, the real ASL in moto, the stage handlers): N new alerts
(``direct`` preset) through the ingest function, then wait until every run
has finished; the child reports its CPU seconds (all threads) and wall time.
Trees alternate for ``--rounds`` rounds, so both see the same machine load;
the answer is the ratio of medians (this machine is shared: absolute times
mean little).

    python bench/new_alert_cpu.py --base /path/to/old/tree [--tree .] [-n 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = r'''
import json, os, sys, tempfile, time
root = sys.argv[1]; n = int(sys.argv[2])
sys.path[:0] = [os.path.join(root, "tests"), os.path.join(root, "layers", "shared"), os.path.join(root, "local")]
os.environ.update({"POWERTOOLS_LOG_LEVEL": "ERROR", "SIGNALFIRE_LOCAL_QUIET": "1"})
from signalfire_local.stack import LocalStack
from support import http_event
from signalfire import services
out = tempfile.mkdtemp()
stack = LocalStack(token="t", admin_token="a", outbox=os.path.join(out, "outbox.jsonl")).start()
def send(i):
    body = {"name": f"Cpu{i}", "severity": "critical", "labels": {"host": f"h{i}"}}
    reply = stack.invoke("IngestFunction", http_event("POST", "/alerts/webhook/", body, token="t"))
    assert reply["statusCode"] == 202, reply
    return json.loads(reply["body"])["run_ids"]
send(-1)  # warm up: imports, caches
time.sleep(1)
cpu0, wall0 = time.process_time(), time.perf_counter()
runs = [r for i in range(n) for r in send(i)]
store = services.run_store()
deadline = time.monotonic() + 600
while runs and time.monotonic() < deadline:
    runs = [r for r in runs if not store.get_run(r).outcome]
    time.sleep(0.05)
assert not runs, f"{len(runs)} runs unfinished"
print(json.dumps({"cpu": time.process_time() - cpu0, "wall": time.perf_counter() - wall0}))
stack.stop()
'''


def measure(tree: Path, n: int) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(tree), str(n)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": ""}, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=Path, required=True, help="the tree to compare against")
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("-n", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {"base": [], "tree": []}
    for _ in range(args.rounds):
        results["base"].append(measure(args.base, args.n))
        results["tree"].append(measure(args.tree, args.n))
    for key in ("cpu", "wall"):
        base = statistics.median(r[key] for r in results["base"])
        tree = statistics.median(r[key] for r in results["tree"])
        print(f"{key}: base {base / args.n * 1000:.1f} ms/alert, tree {tree / args.n * 1000:.1f} ms/alert, "
              f"tree/base {tree / base:.2f}")


if __name__ == "__main__":
    main()
