"""The agent's cost next to Prometheus node_exporter, measured in the same run.

Both run side by side for ``--seconds`` (30): the agent installed the way a
host installs it (``pip install ./agent`` into a clean venv: no site-packages
of ours) at a 1 s interval with the default checkers, posting to a loopback
sink; node_exporter (Debian ``prometheus-node-exporter``, default collectors)
scraped every 1 s from loopback.  Reported: resident memory (peak over the
window and at the end) and CPU time (user + system of the process) per agent
cycle vs per scrape.  The directory-walking scanners (disk_common,
disk_linux/macos) run on their own ``scan_interval`` schedule; they run once
before the window opens and are measured separately, as is the context
snapshot (a process-table scan every ``snapshot_interval``, 60 s).

Targets (issue 10): agent RSS <= 0.75x node_exporter's, CPU per cycle <= 0.5x
its CPU per scrape.

    apt-get install prometheus-node-exporter      # or pass --node-exporter PATH
    python bench/agent_vs_node_exporter.py [--seconds 30] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
RSS_TARGET, CPU_TARGET = 0.75, 0.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """Stands in for POST /checks/: answers 202 and keeps the batches."""

    def __init__(self) -> None:
        self.batches: list[dict] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                sink.batches.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                out = b'{"status": "accepted"}'
                self.send_response(202)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def agent_venv(path: Path) -> Path:
    """A clean venv with the agent installed from this checkout (psutil reused when present)."""
    exe = path / "bin" / "signalfire-agent"
    if not (path / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "psutil>=5.9"], check=True)
    subprocess.run([*pip, "--force-reinstall", "--no-deps", str(ROOT / "agent")], check=True)
    return exe


def cpu_seconds(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def scanner_cost(exe: Path, state: Path) -> dict:
    """CPU of one scan: `check` with the scanners minus `check` with only the memory checker."""
    scanners = "disk_common,disk_linux" if sys.platform.startswith("linux") else "disk_common,disk_macos"

    def run(checkers: str) -> tuple[float, dict]:
        before = _child_cpu()
        out = subprocess.run([str(exe), "check", "--json", "--checkers", checkers], capture_output=True,
                             env=dict(os.environ, XDG_STATE_HOME=str(state))).stdout
        return _child_cpu() - before, json.loads(out)

    base_cpu, _ = run("memory")
    scan_cpu, scan = run(scanners)
    return {"checkers": scanners, "cpu_ms": round((scan_cpu - base_cpu) * 1000, 1),
            "wall_ms": {r["checker_name"]: r["duration_ms"] for r in scan["results"]},
            "entries": {r["checker_name"]: sum(v.get("entries", 0) for v in r["metrics"].get("scanned", {}).values())
                        for r in scan["results"]}}


SNAPSHOT_COST = """
import json, time
from signalfire_agent import procs, snapshot
table = procs.ProcessTable()
table.scan()
t0 = time.process_time()
for _ in range(5):
    snap = snapshot.build(table.scan(), [])
print(json.dumps({"cpu_ms": round((time.process_time() - t0) * 200, 2), "processes": snap["process_count"]}))
"""


def snapshot_cost(exe: Path) -> dict:
    """CPU of one context snapshot (the process-table scan), taken every snapshot_interval (60 s)."""
    out = subprocess.run([str(exe.parent / "python"), "-c", SNAPSHOT_COST], capture_output=True, check=True)
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--node-exporter", default=shutil.which("prometheus-node-exporter") or shutil.which("node_exporter"))
    parser.add_argument("--venv", default=os.path.join(tempfile.gettempdir(), "signalfire-agent-bench-venv"))
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    if not args.node_exporter:
        print("node_exporter not found: apt-get install prometheus-node-exporter (or --node-exporter PATH)",
              file=sys.stderr)
        return 2
    exe = agent_venv(Path(args.venv))
    work = Path(tempfile.mkdtemp(prefix="agent-bench-"))
    sink = Sink()
    ne_port = free_port()
    ne_url = f"http://127.0.0.1:{ne_port}/metrics"
    ne = psutil.Popen([args.node_exporter, f"--web.listen-address=127.0.0.1:{ne_port}"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    agent = psutil.Popen([str(exe), "run", "--interval", str(args.interval), "--api-url", sink.url,
                          "--hostname", "bench", "--spool-dir", str(work / "spool")],
                         env=dict(os.environ, SIGNALFIRE_AGENT_TOKEN="bench"), stderr=subprocess.DEVNULL)
    scrape_bytes = 0

    def scrape() -> None:
        nonlocal scrape_bytes
        with urllib.request.urlopen(ne_url, timeout=10) as resp:
            scrape_bytes = len(resp.read())

    try:
        deadline = time.monotonic() + 60
        while not sink.batches and time.monotonic() < deadline:  # the first cycle also runs the scanners
            time.sleep(0.1)
        if not sink.batches:
            print("the agent posted nothing within 60 s", file=sys.stderr)
            return 1
        first = sink.batches[0]
        for _ in range(3):  # warm both up
            scrape()
            time.sleep(args.interval)
        a0, n0, b0 = cpu_seconds(agent), cpu_seconds(ne), len(sink.batches)
        rss_a: list[int] = []
        rss_n: list[int] = []
        scrapes = 0
        start = time.monotonic()
        tick = start
        while time.monotonic() - start < args.seconds:
            scrape()
            scrapes += 1
            rss_a.append(agent.memory_info().rss)
            rss_n.append(ne.memory_info().rss)
            tick += args.interval
            time.sleep(max(0.0, tick - time.monotonic()))
        a1, n1, b1 = cpu_seconds(agent), cpu_seconds(ne), len(sink.batches)
        window = sink.batches[b0:b1]
        slow_in_window = sum(1 for b in window for r in b["results"] if r["checker_name"].startswith("disk_"))
    finally:
        agent.terminate()
        ne.terminate()
        agent.wait(10)
        ne.wait(10)
    cycles = b1 - b0
    scan = scanner_cost(exe, work / "state")
    mb = 1024**2
    figures = {
        "seconds": args.seconds, "interval": args.interval,
        "agent": {"cycles": cycles, "cpu_ms_per_cycle": round((a1 - a0) * 1000 / max(cycles, 1), 2),
                  "rss_mb_peak": round(max(rss_a) / mb, 1), "rss_mb_end": round(rss_a[-1] / mb, 1),
                  "checkers": [r["checker_name"] for r in first["results"]],
                  "scanner_runs_in_window": slow_in_window,
                  "snapshots_in_window": sum(1 for b in window if b["snapshot"]),
                  "batch_bytes": len(json.dumps(window[-1]))},
        "node_exporter": {"scrapes": scrapes, "cpu_ms_per_scrape": round((n1 - n0) * 1000 / max(scrapes, 1), 2),
                          "rss_mb_peak": round(max(rss_n) / mb, 1), "rss_mb_end": round(rss_n[-1] / mb, 1),
                          "scrape_bytes": scrape_bytes},
        "scanners": scan,
        "snapshot": snapshot_cost(exe),
    }
    rss_ratio = figures["agent"]["rss_mb_peak"] / figures["node_exporter"]["rss_mb_peak"]
    cpu_ratio = figures["agent"]["cpu_ms_per_cycle"] / max(figures["node_exporter"]["cpu_ms_per_scrape"], 1e-9)
    figures["ratios"] = {"rss": round(rss_ratio, 2), "rss_target": RSS_TARGET, "cpu": round(cpu_ratio, 2),
                         "cpu_target": CPU_TARGET, "met": rss_ratio <= RSS_TARGET and cpu_ratio <= CPU_TARGET}
    print(json.dumps(figures, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
