"""`signalfire local` under sustained webhook traffic, side by side with
Prometheus Alertmanager's ``/api/v2/alerts`` measured in the same run.

    python bench/local_vs_alertmanager.py            # the full run (~10 min on 2 cores)
    python bench/local_vs_alertmanager.py --quick    # a smaller smoke run
    python bench/local_vs_alertmanager.py --growth-only --grow 10000   # memory growth only

Both servers are real processes on loopback, fed by the same client (one
thread and one keep-alive connection per sender, single-alert requests):

* signalfire: generic webhooks (``POST /alerts/webhook/``, distinct names,
  the ``direct`` preset: each new alert stores an alert, an incident and
  starts a pipeline run that notifies);
* Alertmanager 0.25 (Debian ``prometheus-alertmanager``): the same alerts
  posted to ``/api/v2/alerts`` with a receiver that sends nothing.

Phases: (1) growth: ``--grow`` new alerts at 8 senders, resident memory of
the signalfire process after 1,000 and after all of them (each read once
the runs started so far have finished), and p50 latency of the first and
last 10%; (2) for 1, 8 and 32 senders: ``--new`` new alerts, then (once
signalfire's runs for them have finished: ``runs_drained_after_s``, and
``end_to_end_per_s`` = new alerts whose run finished per second)
``--repeats`` repeats of alerts already known, rate and p50/p99, timeouts
and 5xx.  Results print as a table and go to ``--json`` if given;
docs/benchmarks.md holds a recorded run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests")]

from localproc import free_port, start_local, stop_local  # noqa: E402

TIMEOUT = 120.0
AM_CONFIG = """
route:
  receiver: discard
receivers:
  - name: discard
"""


class Target:
    name: str
    host = "127.0.0.1"
    port: int

    def request(self, seq: int, repeat_of: int | None) -> tuple[str, str, bytes, dict[str, str]]:
        raise NotImplementedError


class Signalfire(Target):
    name = "signalfire"

    def __init__(self, port: int, token: str, run: str) -> None:
        self.port, self.token, self.run = port, token, run

    def request(self, seq: int, repeat_of: int | None) -> tuple[str, str, bytes, dict[str, str]]:
        n = seq if repeat_of is None else repeat_of
        body = {"name": f"Bench-{self.run}-{n}", "severity": "critical", "labels": {"host": f"h{n % 50}"},
                "description": "bench"}
        return ("POST", "/alerts/webhook/?pipeline=direct", json.dumps(body).encode(),
                {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})


class Alertmanager(Target):
    name = "alertmanager"

    def __init__(self, port: int, run: str) -> None:
        self.port, self.run = port, run
        self.started = datetime.now(UTC).isoformat()

    def request(self, seq: int, repeat_of: int | None) -> tuple[str, str, bytes, dict[str, str]]:
        n = seq if repeat_of is None else repeat_of
        alert = [{"labels": {"alertname": f"Bench-{self.run}-{n}", "severity": "critical", "host": f"h{n % 50}"},
                  "annotations": {"description": "bench"}, "startsAt": self.started}]
        return "POST", "/api/v2/alerts", json.dumps(alert).encode(), {"Content-Type": "application/json"}


class Result:
    def __init__(self) -> None:
        self.latencies: list[tuple[int, float]] = []  # (sequence number, seconds)
        self.status: dict[int, int] = {}
        self.timeouts = 0
        self.errors = 0
        self.elapsed = 0.0
        self.lock = threading.Lock()

    @property
    def ok(self) -> int:
        return sum(v for k, v in self.status.items() if 200 <= k < 300)

    @property
    def server_errors(self) -> int:
        return sum(v for k, v in self.status.items() if k >= 500)

    def pct(self, q: float, part: slice = slice(None)) -> float:
        values = sorted(t for _, t in sorted(self.latencies)[part])
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(q * len(values)))] * 1000


def send(target: Target, senders: int, sequence: list[tuple[int, int | None]]) -> Result:
    """Send ``sequence`` ((seq, repeat_of) pairs) from ``senders`` threads."""
    result = Result()
    cursor = iter(sequence)
    cursor_lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection(target.host, target.port, timeout=TIMEOUT)
        while True:
            with cursor_lock:
                item = next(cursor, None)
            if item is None:
                break
            method, path, body, headers = target.request(*item)
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                reply = conn.getresponse()
                reply.read()
                status = reply.status
            except TimeoutError:
                with result.lock:
                    result.timeouts += 1
                conn.close()
                conn = http.client.HTTPConnection(target.host, target.port, timeout=TIMEOUT)
                continue
            except (OSError, http.client.HTTPException):
                with result.lock:
                    result.errors += 1  # connection refused / reset / dropped
                conn.close()
                conn = http.client.HTTPConnection(target.host, target.port, timeout=TIMEOUT)
                continue
            elapsed = time.perf_counter() - t0
            with result.lock:
                result.latencies.append((item[0], elapsed))
                result.status[status] = result.status.get(status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(senders)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.elapsed = time.perf_counter() - start
    return result


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_for_runs(outbox: Path, expected: int, timeout: float = 900) -> float:
    """Seconds until ``expected`` notifications are in the outbox (every run finished)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        count = 0
        if outbox.exists():
            with open(outbox, "rb") as fh:
                count = sum(1 for _ in fh)
        if count >= expected:
            return time.monotonic() - start
        time.sleep(0.5)
    raise SystemExit(f"only {count} of {expected} runs finished in {timeout} s")


def start_alertmanager(tmp: Path) -> tuple[subprocess.Popen, int]:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        raise SystemExit("prometheus-alertmanager is not installed: run scripts/install-test-deps.sh")
    port = free_port()
    (tmp / "am.yml").write_text(AM_CONFIG)
    proc = subprocess.Popen([binary, f"--config.file={tmp / 'am.yml'}", f"--storage.path={tmp / 'am'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/-/ready")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("alertmanager did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grow", type=int, default=10_000, help="new alerts in the growth phase")
    parser.add_argument("--new", type=int, default=500, help="new alerts per sender count")
    parser.add_argument("--repeats", type=int, default=1000, help="repeats per sender count")
    parser.add_argument("--quick", action="store_true", help="--grow 1500 --new 200 --repeats 400")
    parser.add_argument("--rss-every", type=int, default=0,
                        help="in the growth phase, read resident memory after every this many new alerts")
    parser.add_argument("--growth-only", action="store_true",
                        help="run only the growth phase (no Alertmanager, no sender levels)")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args()
    if args.quick:
        args.grow, args.new, args.repeats = 1500, 200, 400
    tmp = Path(tempfile.mkdtemp(prefix="sf-bench-"))
    run = str(int(time.time()))
    local = start_local(tmp)
    am_proc, am_port = (None, 0) if args.growth_only else start_alertmanager(tmp)
    sf = Signalfire(int(local.url.rsplit(":", 1)[1]), local.token, run)
    am = Alertmanager(am_port, run)
    report: dict = {"machine": {"cpus": os.cpu_count()}, "growth": {}, "levels": []}
    started_runs = 0
    try:
        # Warm-up at the growth phase's 8 senders: IngestFunction gets the execution
        # environments 8 concurrent requests need (a new one imports the handler
        # anew, as a Lambda cold start does), so the first 10% measured are not cold.
        warm = send(sf, 8, [(i, None) for i in range(-80, 0)])
        started_runs += warm.ok
        wait_for_runs(local.outbox, started_runs)

        # -- growth -------------------------------------------------------------------------
        first = min(1000, args.grow)
        growth = send(sf, 8, [(i, None) for i in range(first)])
        started_runs += growth.ok  # an alert refused (5xx, timeout) starts no run
        wait_for_runs(local.outbox, started_runs)
        rss_first = rss_mb(local.process.pid)
        print(f"after {first} new alerts: {rss_first:.1f} MB", flush=True)
        # --rss-every K: the rest in chunks of K, resident memory read after each drains
        step = args.rss_every or max(1, args.grow - first)
        rest, curve, drain = Result(), {first: round(rss_first, 1)}, 0.0
        for lo in range(first, args.grow, step):
            hi = min(args.grow, lo + step)
            part = send(sf, 8, [(i, None) for i in range(lo, hi)])
            rest.latencies += part.latencies
            rest.status = {k: rest.status.get(k, 0) + part.status.get(k, 0) for k in {*rest.status, *part.status}}
            rest.timeouts, rest.errors, rest.elapsed = (rest.timeouts + part.timeouts, rest.errors + part.errors,
                                                        rest.elapsed + part.elapsed)
            started_runs += part.ok
            drain = wait_for_runs(local.outbox, started_runs, timeout=3600)
            curve[hi] = round(rss_mb(local.process.pid), 1)
            if args.rss_every:
                print(f"after {hi} new alerts: {curve[hi]} MB", flush=True)
        rss_last = rss_mb(local.process.pid)
        growth.latencies += rest.latencies
        growth.status = {k: growth.status.get(k, 0) + rest.status.get(k, 0) for k in {*growth.status, *rest.status}}
        tenth = max(1, args.grow // 10)
        report["growth"] = {
            "new_alerts": args.grow, "rss_mb_after_1000": round(rss_first, 1),
            f"rss_mb_after_{args.grow}": round(rss_last, 1), "rss_ratio": round(rss_last / rss_first, 2),
            "p50_first_10pct_ms": round(growth.pct(0.5, slice(0, tenth)), 2),
            "p50_last_10pct_ms": round(growth.pct(0.5, slice(-tenth, None)), 2),
            "p50_ratio": round(growth.pct(0.5, slice(-tenth, None)) / growth.pct(0.5, slice(0, tenth)), 2),
            "rate_per_s": round((first + len(rest.latencies)) / (growth.elapsed + rest.elapsed), 1),
            "runs_drained_after_s": round(drain, 1), "rss_mb_by_alerts": curve,
            "server_errors": growth.server_errors + rest.server_errors,
            "timeouts": growth.timeouts + rest.timeouts, "dropped": growth.errors + rest.errors,
        }
        print(json.dumps(report["growth"], indent=2), flush=True)

        # -- 1, 8, 32 senders, both servers ---------------------------------------------------
        base = args.grow
        for senders in () if args.growth_only else (1, 8, 32):
            row: dict = {"senders": senders}
            for target in (am, sf):
                new_seq: list[tuple[int, int | None]] = [(base + i, None) for i in range(args.new)]
                rep_seq = [(i, i % args.new + base) for i in range(args.repeats)]
                new = send(target, senders, new_seq)
                drain = 0.0
                if target is sf:  # repeats are measured once the runs the new alerts started are done
                    started_runs += new.ok
                    drain = wait_for_runs(local.outbox, started_runs)
                rep = send(target, senders, rep_seq)
                row[target.name] = {
                    "new_per_s": round(new.ok / new.elapsed, 1), "new_p50_ms": round(new.pct(0.5), 2),
                    "new_p99_ms": round(new.pct(0.99), 2),
                    "repeat_per_s": round(rep.ok / rep.elapsed, 1), "repeat_p50_ms": round(rep.pct(0.5), 2),
                    "repeat_p99_ms": round(rep.pct(0.99), 2),
                    "server_errors": new.server_errors + rep.server_errors,
                    "timeouts": new.timeouts + rep.timeouts, "dropped": new.errors + rep.errors,
                    "non_2xx": sum(v for k, v in {**new.status}.items() if not 200 <= k < 300)
                    + sum(v for k, v in rep.status.items() if not 200 <= k < 300),
                }
                if target is sf:  # new alerts answered, and new alerts whose run has finished, per second
                    row[target.name]["runs_drained_after_s"] = round(drain, 1)
                    row[target.name]["end_to_end_per_s"] = round(new.ok / (new.elapsed + drain), 1)
            row["ratio_new"] = round(row["signalfire"]["new_per_s"] / row["alertmanager"]["new_per_s"], 3)
            row["ratio_repeat"] = round(row["signalfire"]["repeat_per_s"] / row["alertmanager"]["repeat_per_s"], 3)
            report["levels"].append(row)
            print(json.dumps(row), flush=True)
            base += args.new
        report["rss_mb_end"] = round(rss_mb(local.process.pid), 1)
    finally:
        stop_local(local)
        if am_proc is not None:
            am_proc.terminate()
            am_proc.wait(timeout=10)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    shutil.rmtree(tmp, ignore_errors=True)


def print_table(report: dict) -> None:
    g = report["growth"]
    print("\ngrowth:", ", ".join(f"{k}={v}" for k, v in g.items()))
    print(f"\n{'senders':>7} | {'server':<12} | {'new/s':>8} {'p50 ms':>8} {'p99 ms':>8} | "
          f"{'repeat/s':>8} {'p50 ms':>8} {'p99 ms':>8} | 5xx timeouts dropped")
    for row in report["levels"]:
        for name in ("alertmanager", "signalfire"):
            r = row[name]
            print(f"{row['senders']:>7} | {name:<12} | {r['new_per_s']:>8} {r['new_p50_ms']:>8} {r['new_p99_ms']:>8} | "
                  f"{r['repeat_per_s']:>8} {r['repeat_p50_ms']:>8} {r['repeat_p99_ms']:>8} | "
                  f"{r['server_errors']} {r['timeouts']} {r['dropped']}")
        print(f"{'':>7}   ratio signalfire/alertmanager: new {row['ratio_new']}, repeats {row['ratio_repeat']}; "
              f"signalfire runs finished {row['signalfire']['runs_drained_after_s']} s after the last new alert "
              f"(end to end {row['signalfire']['end_to_end_per_s']} new alerts/s)")


if __name__ == "__main__":
    main()
