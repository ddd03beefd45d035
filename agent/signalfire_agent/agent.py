"""One cycle: run the checkers that are due, build the batch, spool it, send
what the spool holds (oldest first, with backoff after a failure)."""

from __future__ import annotations

import json
import os
import threading
import time

from signalfire_agent import __version__, log, procs, snapshot
from signalfire_agent.checkers import CHECKER_REGISTRY, BaseChecker
from signalfire_agent.checkers.cpu import CPUChecker
from signalfire_agent.config import AgentConfig
from signalfire_agent.models import Batch, CheckResult, CheckStatus
from signalfire_agent.sender import Sender
from signalfire_agent.spool import Spool

TYPE_CHECKING = False
if TYPE_CHECKING:  # not imported at run time: typing costs 0.4 MB resident (docs/agent.md)
    from collections.abc import Callable
    from typing import Any



class FlushReport:
    def __init__(self) -> None:
        self.sent = self.rejected = self.pending = 0
        self.error = ""


class Agent:
    def __init__(self, cfg: AgentConfig, sender: Any = None, wall: Callable[[], float] = time.time,
                 mono: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self.wall, self.mono = wall, mono
        self.spool = Spool(cfg.spool_dir, cfg.spool_max_batches)
        self.state = self.spool.load_state()
        self.sender = sender if sender is not None else (
            Sender(cfg.api_url, cfg.token, cfg.timeout) if cfg.api_url else None)
        self._procs = procs.ProcessTable()
        self._table: list[dict[str, Any]] | None = None
        self.checkers: dict[str, BaseChecker] = {}
        for name in cfg.checkers:
            settings = dict(cfg.checker.get(name, {}))
            if name == "process":
                settings["table"] = self.process_table
            self.checkers[name] = CHECKER_REGISTRY[name](**settings)
        cpu = self.checkers.get("cpu")
        if isinstance(cpu, CPUChecker):
            cpu.restore(self.state.get("cpu", {}))
        self._last_snapshot = 0.0
        self._trouble: set[tuple[str, str]] = set()
        self._failures = 0
        self._next_send = 0.0
        self._host: dict[str, Any] | None = None

    def process_table(self) -> list[dict[str, Any]]:
        """The process table, scanned at most once per cycle."""
        if self._table is None:
            self._table = self._procs.scan()
        return self._table

    # -- collecting -----------------------------------------------------------
    def run_checks(self, include_slow: bool = True) -> list[CheckResult]:
        self._table = None
        active = [c for c in self.checkers.values() if c.enabled and (include_slow or not c.slow)]
        slow = [c for c in active if c.slow]
        scanned = {id(c): r for c, r in zip(slow, run_isolated(slow), strict=True)}
        return [scanned[id(c)] if c.slow else c.run() for c in active]

    def collect(self) -> Batch:
        now = self.wall()
        scan_due = now - float(self.state.get("last_scan", 0.0)) >= self.cfg.scan_interval
        results = self.run_checks(include_slow=scan_due)
        scanned = [r for r in results if self.checkers[r.checker_name].slow]
        if scan_due and scanned:
            self.state["last_scan"] = now
            self.state["space_hogs"] = [h for r in scanned for h in r.metrics.get("space_hogs", [])]
        snap = None
        # refresh the snapshot every snapshot_interval, and at once when a result turns
        # WARNING/CRITICAL (not on every cycle a host stays in trouble)
        trouble = {(r.checker_name, r.status.value) for r in results
                   if r.status in (CheckStatus.WARNING, CheckStatus.CRITICAL)}
        if (trouble - self._trouble) or now - self._last_snapshot >= self.cfg.snapshot_interval:
            snap = snapshot.build(self.process_table(), self.state.get("space_hogs", []))
            self._last_snapshot = now
        self._trouble = trouble
        if self._host is None:
            self._host = snapshot.host_identity(self.cfg.hostname)
        cpu = self.checkers.get("cpu")
        if isinstance(cpu, CPUChecker):
            self.state["cpu"] = cpu.state()
        self._table = None
        return Batch(host=self._host, interval_seconds=self.cfg.interval, results=results, snapshot=snap,
                     collected_at=now, agent_version=__version__)

    # -- sending --------------------------------------------------------------
    def flush(self, budget_seconds: float | None = None) -> FlushReport:
        report = FlushReport()
        if self.sender is None:
            report.error = "no api_url configured; batches stay in the spool"
        elif self.mono() < self._next_send:
            report.error = f"backing off for {self._next_send - self.mono():.0f}s after a failed send"
        else:
            deadline = self.mono() + (budget_seconds if budget_seconds is not None else max(1.0, self.cfg.interval))
            for path in self.spool.pending():
                if self.mono() > deadline:
                    break
                payload = self.spool.read(path)
                if payload is None:
                    self.spool.reject(path, 0, "unreadable spool file")
                    report.rejected += 1
                    continue
                dropped = int(self.state.get("dropped", 0))
                payload["dropped_batches"] = dropped
                answer = self.sender.post(payload)
                if answer.accepted:
                    self.spool.done(path)
                    self.state["dropped"] = int(self.state.get("dropped", 0)) - dropped
                    self._failures = 0
                    report.sent += 1
                elif answer.rejected:
                    self.spool.reject(path, answer.status, answer.body)
                    log.warning("the server refused batch %s (HTTP %s): %s; kept in %s", payload.get("batch_id"),
                                answer.status, answer.body[:300], self.spool.rejected_dir)
                    report.rejected += 1
                else:
                    self._failures += 1
                    delay = min(self.cfg.backoff_max, self.cfg.backoff_initial * 2 ** (self._failures - 1))
                    self._next_send = self.mono() + delay
                    report.error = (f"send failed ({answer.status or 'no answer'}: {answer.body[:200]}); "
                                    f"retrying in {delay:.0f}s")
                    log.warning("%s", report.error)
                    break
        report.pending = len(self.spool.pending())
        return report

    def cycle(self) -> FlushReport:
        batch = self.collect()
        dropped = self.spool.put(batch.to_dict())
        if dropped:
            self.state["dropped"] = int(self.state.get("dropped", 0)) + dropped
            log.warning("spool full (%d batches): dropped the %d oldest", self.cfg.spool_max_batches, dropped)
        report = self.flush()
        self.spool.save_state(self.state)
        if log.VERBOSE[0]:
            statuses = " ".join(f"{r.checker_name}={r.status.value}" for r in batch.results)
            log.info("cycle: %s; sent %d, rejected %d, waiting %d", statuses, report.sent, report.rejected,
                     report.pending)
        return report

    def run_forever(self, stop: threading.Event) -> None:
        next_tick = self.mono()
        while not stop.is_set():
            try:
                self.cycle()
            except OSError as exc:  # e.g. a full disk under the spool: keep trying
                log.error("cycle failed: %s", exc)
            next_tick += self.cfg.interval
            delay = next_tick - self.mono()
            if delay < 0:  # a cycle overran: skip the missed ticks rather than bunch up
                next_tick, delay = self.mono(), 0.0
            stop.wait(delay)


def run_isolated(checkers: list[BaseChecker]) -> list[CheckResult]:
    """Run the directory-walking scanners in a forked child, so whatever their
    walk allocates goes back to the OS when the child exits instead of staying
    in the agent's heap (docs/agent.md).  Without fork, run them here."""
    if not checkers:
        return []
    if not hasattr(os, "fork"):
        return [c.run() for c in checkers]
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: scan, hand the results over, exit without cleanup
        try:
            os.close(read_fd)
            with os.fdopen(write_fd, "wb") as fh:
                fh.write(json.dumps([c.run().raw() for c in checkers]).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as fh:
        data = fh.read()
    _, code = os.waitpid(pid, 0)
    try:
        return [CheckResult.from_raw(d) for d in json.loads(data)]
    except (ValueError, TypeError, KeyError):
        return [c.result(CheckStatus.UNKNOWN, f"{c.name} scan process failed (wait status {code})",
                         error=f"scan child exited with wait status {code}") for c in checkers]
