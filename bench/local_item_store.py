"""What holding items compact (signalfire_local.itemstore) costs and saves,
in-process, with and without it, in the same run.

    python bench/local_item_store.py                 # 2 rounds of 300 new alerts each way
    python bench/local_item_store.py --rounds 3 --alerts 500

Each measurement is a fresh process running the local stack in-process
(no HTTP): ``--warm`` new alerts (``direct`` preset) first, then
``--alerts`` more, sequentially, each one's run waited for.  It reports the
CPU time per new alert and its run, and the resident memory added per new
alert between the two points.  The finished executions kept are bounded at
20 and the IAM decision log is off, so what is left growing is the data.
Runs alternate (without, with, without, with...) so a busy machine weighs
on both alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r'''
import gc, json, os, sys, tempfile, time
root, mode, warm, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sys.path[:0] = [root + "/local", root + "/layers/shared"]
os.chdir(root)
if mode == "without":
    import signalfire_local.itemstore as itemstore
    itemstore.install = lambda: None
from signalfire_local import motofixes
from signalfire_local.server import build_event
from signalfire_local.stack import LocalStack
outbox = tempfile.mktemp(suffix=".jsonl")
stack = LocalStack(token="tok", admin_token="adm", outbox=outbox).start()
stack.iam.record = False
motofixes.FINISHED_EXECUTIONS_KEPT = 20
real_stdout, sys.stdout = sys.stdout, open(os.devnull, "w")
sent = 0

def run(k):
    global sent
    t = time.process_time()
    for _ in range(k):
        body = {"name": f"Bench-{sent}", "severity": "critical", "labels": {"host": f"h{sent % 50}"},
                "description": "bench"}
        m = stack.match("POST", "/alerts/webhook/")
        event = build_event(m.route_key, "POST", "/alerts/webhook/", "pipeline=direct",
                            {"authorization": "Bearer tok", "content-type": "application/json"},
                            json.dumps(body).encode(), m.path_parameters, "127.0.0.1")
        assert stack.invoke(m.function, event)["statusCode"] in (200, 201, 202)
        sent += 1
    while (sum(1 for _ in open(outbox)) if os.path.exists(outbox) else 0) < sent:
        time.sleep(0.02)
    return (time.process_time() - t) / k * 1000

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
run(warm)
gc.collect()
before = rss()
cpu = run(count)
gc.collect()
after = rss()
print(json.dumps({"cpu_ms": cpu, "kb_per_alert": (after - before) / count, "rss_mb": after / 1024}), file=real_stdout)
stack.stop()
'''


def measure(mode: str, warm: int, count: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), mode, str(warm), str(count)],
                         capture_output=True, text=True, check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith('{"cpu_ms"')]
    if not lines:
        raise SystemExit(f"{mode}: no result\n{out.stderr[-2000:]}")
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warm", type=int, default=100)
    parser.add_argument("--alerts", type=int, default=300)
    args = parser.parse_args()
    results: dict[str, list[dict]] = {"without": [], "with": []}
    for _ in range(args.rounds):
        for mode in ("without", "with"):
            results[mode].append(measure(mode, args.warm, args.alerts))
            print(mode, results[mode][-1], flush=True)
    print()
    for mode, rows in results.items():
        cpu = statistics.median(r["cpu_ms"] for r in rows)
        kb = statistics.median(r["kb_per_alert"] for r in rows)
        print(f"{mode:>8} item store: CPU {cpu:.1f} ms per new alert and its run, RSS +{kb:.1f} KB per new alert")


if __name__ == "__main__":
    main()
