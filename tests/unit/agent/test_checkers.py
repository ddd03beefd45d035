"""Every checker against controlled inputs: thresholds, inverted logic,
per-path disks, missing processes, unreachable loopback ports, scanners."""

from __future__ import annotations

import os
import socket
import sys
import time
from collections import namedtuple
from pathlib import Path

import pytest

from signalfire_agent.checkers import CHECKER_REGISTRY, ConfigError, default_checkers
from signalfire_agent.checkers.cpu import CPUChecker
from signalfire_agent.checkers.disk import DiskChecker
from signalfire_agent.checkers.memory import MemoryChecker
from signalfire_agent.checkers.network import NetworkChecker, split_host_port
from signalfire_agent.checkers.process import ProcessChecker
from signalfire_agent.checkers.scan import DiskCommonChecker, DiskLinuxChecker, DiskMacOSChecker
from signalfire_agent.models import CheckStatus

OK, WARNING, CRITICAL, UNKNOWN = CheckStatus.OK, CheckStatus.WARNING, CheckStatus.CRITICAL, CheckStatus.UNKNOWN


def test_registry_is_the_seeds_eight_with_its_default_thresholds() -> None:
    assert list(CHECKER_REGISTRY) == ["cpu", "memory", "disk", "disk_common", "disk_linux", "disk_macos",
                                      "network", "process"]
    thresholds = {n: (c.default_warning, c.default_critical, c.inverted) for n, c in CHECKER_REGISTRY.items()}
    assert thresholds == {
        "cpu": (70.0, 90.0, False), "memory": (70.0, 90.0, False), "disk": (80.0, 95.0, False),
        "disk_common": (5000.0, 20000.0, False), "disk_linux": (5000.0, 20000.0, False),
        "disk_macos": (5000.0, 20000.0, False), "network": (70.0, 50.0, True), "process": (100.0, 50.0, True)}
    assert CPUChecker.defaults == {"samples": 5, "sample_interval": 1.0, "per_cpu": False}
    assert MemoryChecker.defaults == {"include_swap": False}
    assert DiskChecker.defaults == {"paths": ["/"]}
    assert NetworkChecker.defaults["hosts"] == ["8.8.8.8", "1.1.1.1"] and NetworkChecker.defaults["ping_count"] == 1
    assert ProcessChecker.defaults == {"processes": []}
    if sys.platform.startswith("linux"):
        assert "disk_linux" in default_checkers() and "disk_macos" not in default_checkers()


def test_unknown_setting_is_refused_with_the_known_keys() -> None:
    with pytest.raises(ConfigError, match="unknown setting.*pathz.*known:.*paths"):
        DiskChecker(pathz=["/"])
    with pytest.raises(ConfigError, match="warning_threshold must be a number"):
        CPUChecker(warning_threshold="high")


# -- cpu ---------------------------------------------------------------------
class Counters:
    """cpu_times-like counters a test advances by hand: (busy, idle) seconds per CPU."""

    def __init__(self, cpus: int = 2) -> None:
        self.busy = [0.0] * cpus
        self.idle = [0.0] * cpus
        self.reads = 0

    def advance(self, *busy_fraction: float, seconds: float = 10.0) -> None:
        for i, f in enumerate(busy_fraction):
            self.busy[i] += f * seconds
            self.idle[i] += (1 - f) * seconds

    def __call__(self):
        self.reads += 1
        per = [(b, b + i) for b, i in zip(self.busy, self.idle, strict=True)]
        return (sum(p[0] for p in per), sum(p[1] for p in per)), per


def test_cpu_is_measured_across_the_interval_between_cycles_without_blocking() -> None:
    counters, slept = Counters(), []
    cpu = CPUChecker(counters=counters, sleep=slept.append, per_cpu=True, samples=3)
    counters.advance(0.2, 0.2)
    first = cpu.run()  # no previous counters: one short sample, once
    assert slept == [1.0]
    counters.advance(0.8, 0.6)
    r = cpu.run()
    assert slept == [1.0], "later cycles never sleep"
    assert r.metrics["cpu_percent"] == 70.0 and r.status is WARNING
    assert r.metrics["per_cpu_percent"] == [80.0, 60.0]
    counters.advance(1.0, 0.9)
    r = cpu.run()
    assert r.status is CRITICAL and r.metrics["cpu_percent"] == 95.0
    counters.advance(0.1, 0.1)
    r = cpu.run()
    assert r.status is OK and r.metrics["cpu_percent"] == 10.0
    assert (r.metrics["cpu_min"], r.metrics["cpu_max"], r.metrics["samples"]) == (10.0, 95.0, 3)
    assert r.metrics["cpu_count"] == 2 and first.warning_threshold == 70.0 and first.critical_threshold == 90.0


def test_cpu_state_survives_between_cron_runs() -> None:
    counters = Counters()
    cpu = CPUChecker(counters=counters, sleep=lambda s: None)
    cpu.run()
    counters.advance(0.95, 0.95, seconds=60)
    later = CPUChecker(counters=counters, sleep=lambda s: pytest.fail("restored counters must not sleep"))
    later.restore(cpu.state())
    r = later.run()
    assert r.metrics["cpu_percent"] == 95.0 and r.status is CRITICAL


# -- memory ------------------------------------------------------------------
VM = namedtuple("VM", "total available percent")
SW = namedtuple("SW", "total used free percent")
GB = 1024**3


@pytest.mark.parametrize(("percent", "status"), [(69.9, OK), (70.0, WARNING), (89.9, WARNING), (90.0, CRITICAL)])
def test_memory_thresholds(percent: float, status: CheckStatus) -> None:
    m = MemoryChecker(virtual=lambda: VM(8 * GB, 8 * GB * (1 - percent / 100), percent))
    r = m.run()
    assert r.status is status and r.metrics["memory_percent"] == percent
    assert r.metrics["memory_total_gb"] == 8.0 and "swap_percent" not in r.metrics


def test_memory_with_swap_takes_the_worse_of_both() -> None:
    m = MemoryChecker(virtual=lambda: VM(8 * GB, 6 * GB, 25.0), swap=lambda: SW(2 * GB, 1.9 * GB, 0.1 * GB, 95.0),
                      include_swap=True)
    r = m.run()
    assert r.status is CRITICAL and r.metrics["swap_percent"] == 95.0 and r.metrics["swap_total_gb"] == 2.0


# -- disk --------------------------------------------------------------------
DU = namedtuple("DU", "total used free percent")


def test_disk_grades_each_path_and_reports_the_worst() -> None:
    usage = {"/": DU(100 * GB, 50 * GB, 50 * GB, 50.0), "/var": DU(100 * GB, 85 * GB, 15 * GB, 85.0),
             "/data": DU(10 * GB, 9.6 * GB, 0.4 * GB, 96.0)}
    r = DiskChecker(usage=lambda p: usage[p], paths=["/", "/var"]).run()
    assert r.status is WARNING and r.metrics["worst_path"] == "/var" and r.metrics["worst_percent"] == 85.0
    assert r.metrics["disks"]["/"] == {"percent": 50.0, "total_gb": 100.0, "used_gb": 50.0, "free_gb": 50.0,
                                       "status": "ok"}
    r = DiskChecker(usage=lambda p: usage[p], paths=["/", "/var", "/data"]).run()
    assert r.status is CRITICAL and r.metrics["worst_path"] == "/data"
    r = DiskChecker(usage=lambda p: usage[p], paths=["/var"], warning_threshold=90).run()
    assert r.status is OK and r.warning_threshold == 90.0


def test_disk_path_that_does_not_exist_is_unknown_with_the_reason(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope")
    r = DiskChecker(paths=[missing]).run()
    assert r.status is UNKNOWN and "FileNotFoundError" in r.metrics["disks"][missing]["error"]
    assert missing in (r.error or "")
    r = DiskChecker(paths=[str(tmp_path), missing]).run()  # one real path below 80 %, one missing
    assert r.status is UNKNOWN and r.metrics["worst_path"] == str(tmp_path)


# -- network -----------------------------------------------------------------
@pytest.fixture
def listening() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    yield f"127.0.0.1:{s.getsockname()[1]}"
    s.close()


def closed_port() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens here any more: connect is refused
    return f"127.0.0.1:{port}"


def test_network_inverted_thresholds_over_real_loopback_ports(listening: str) -> None:
    up, down1, down2 = listening, closed_port(), closed_port()
    r = NetworkChecker(hosts=[up, up.replace("127.0.0.1", "localhost")]).run()
    assert r.status is OK and r.metrics["reachable_percent"] == 100.0
    assert r.metrics["hosts"][up]["reachable"] is True and r.metrics["hosts"][up]["latency_ms"] >= 0
    r = NetworkChecker(hosts=[up, up, down1]).run()  # 66.7 % < 70: WARNING
    assert r.status is WARNING and r.metrics["reachable_count"] == 2 and r.metrics["total_hosts"] == 3
    r = NetworkChecker(hosts=[up, down1]).run()  # 50 % is not below 50: WARNING
    assert r.status is WARNING and r.metrics["reachable_percent"] == 50.0
    r = NetworkChecker(hosts=[down1, down2], ping_count=2).run()
    assert r.status is CRITICAL and r.metrics["reachable_count"] == 0
    assert r.metrics["hosts"][down1] == {"reachable": False, "latency_ms": None, "error": "ECONNREFUSED"}
    assert down1 in r.message


def test_network_unresolvable_name_is_unreachable_not_a_crash() -> None:
    r = NetworkChecker(hosts=["no-such-host.invalid"], probe_timeout=1).run()
    assert r.status is CRITICAL and "resolve" in r.metrics["hosts"]["no-such-host.invalid"]["error"]


def test_network_ping_method_uses_the_system_ping() -> None:
    if not any(os.access(os.path.join(d, "ping"), os.X_OK) for d in os.environ.get("PATH", "").split(os.pathsep)):
        r = NetworkChecker(hosts=["127.0.0.1"], method="ping").run()
        assert r.status is CRITICAL and "cannot run ping" in r.metrics["hosts"]["127.0.0.1"]["error"]
    else:
        r = NetworkChecker(hosts=["127.0.0.1"], method="ping").run()
        assert r.metrics["method"] == "ping" and "127.0.0.1" in r.metrics["hosts"]


def test_split_host_port() -> None:
    assert split_host_port("10.0.0.1", 53) == ("10.0.0.1", 53)
    assert split_host_port("db:5432", 53) == ("db", 5432)
    assert split_host_port("[::1]:8080", 53) == ("::1", 8080)
    assert split_host_port("[::1]", 53) == ("::1", 53)
    assert split_host_port("2001:db8::1", 53) == ("2001:db8::1", 53)


# -- process -----------------------------------------------------------------
TABLE = [{"pid": 10, "name": "nginx", "status": "sleeping", "cpu_percent": 1.5, "memory_percent": 0.5},
         {"pid": 11, "name": "postgres", "status": "running", "cpu_percent": 3.0, "memory_percent": 4.0}]


@pytest.mark.parametrize(("names", "status", "percent"), [
    (["nginx", "postgres"], OK, 100.0),
    (["nginx", "postgres", "redis"], WARNING, 66.7),   # not all running: below 100
    (["nginx", "redis"], WARNING, 50.0),               # 50 is not below 50
    (["nginx", "redis", "memcached"], CRITICAL, 33.3),
    (["redis"], CRITICAL, 0.0),
])
def test_process_inverted_thresholds(names: list[str], status: CheckStatus, percent: float) -> None:
    r = ProcessChecker(table=lambda: TABLE, processes=names).run()
    assert r.status is status and r.metrics["running_percent"] == percent
    assert r.metrics["total_count"] == len(names)


def test_missing_process_is_reported_with_its_fields() -> None:
    r = ProcessChecker(table=lambda: TABLE, processes=["nginx", "redis"]).run()
    assert r.metrics["processes"]["redis"] == {"running": False, "pid": None, "status": "not running",
                                               "cpu_percent": None, "memory_percent": None}
    assert r.metrics["processes"]["nginx"]["pid"] == 10 and "not running: redis" in r.message


def test_process_against_the_real_process_table() -> None:
    me = ProcessChecker(processes=[Path(sys.executable).name]).run()
    # the interpreter's name may differ from the binary's on some systems; the table is real either way
    assert me.metrics["total_count"] == 1 and me.status in (OK, CRITICAL)
    assert ProcessChecker().run().status is OK  # nothing configured to watch


# -- scanners ----------------------------------------------------------------
def _file(path: Path, kib: int, age_days: float = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(kib * 1024))
    t = time.time() - age_days * 86400
    os.utime(path, (t, t))


def test_disk_common_finds_hogs_old_and_large_files(tmp_path: Path) -> None:
    logs, cache = tmp_path / "log", tmp_path / "cache"
    _file(logs / "app" / "old.log", 600, age_days=40)
    _file(logs / "app" / "new.log", 300)
    _file(logs / "big.bin", 1200)
    _file(cache / "x" / "blob", 500)
    c = DiskCommonChecker(paths=[str(logs)], old_days=30, large_file_mb=1, min_hog_mb=0.5,
                          warning_threshold=0.5, critical_threshold=5)
    r = c.run()
    m = r.metrics
    assert [f["path"] for f in m["old_files"]] == [str(logs / "app" / "old.log")]
    assert m["old_files"][0]["age_days"] == 40
    assert [f["path"] for f in m["large_files"]] == [str(logs / "big.bin")]
    assert {h["path"] for h in m["space_hogs"]} >= {str(logs), str(logs / "big.bin")}
    assert 0.55 <= m["total_recoverable_mb"] <= 0.7  # only the old file is recoverable outside a cache
    assert r.status is WARNING and m["recommendations"]
    assert c.slow is True


def test_disk_linux_and_macos_platform_rules(tmp_path: Path) -> None:
    mac = DiskMacOSChecker().run()
    lin = DiskLinuxChecker(paths=[str(tmp_path)]).run()
    if sys.platform.startswith("linux"):
        assert mac.status is UNKNOWN and "only runs on darwin" in mac.message and "linux" in mac.message
        assert lin.status is OK and str(tmp_path) in lin.metrics["scanned"]
    elif sys.platform == "darwin":
        assert lin.status is UNKNOWN and mac.status is not UNKNOWN


def test_scanner_stops_at_its_entry_budget(tmp_path: Path) -> None:
    for i in range(30):
        _file(tmp_path / f"d{i % 3}" / f"f{i}", 1)
    r = DiskCommonChecker(paths=[str(tmp_path)], max_entries=10).run()
    assert r.metrics["truncated"] is True and "truncated" in r.message


def test_a_crashing_checker_reports_unknown_with_the_error() -> None:
    def boom():
        raise PermissionError("no access to /proc")

    r = MemoryChecker(virtual=boom).run()
    assert r.status is UNKNOWN and "no access to /proc" in r.message and "PermissionError" in (r.error or "")
    assert r.duration_ms >= 0 and r.executed_at > 0
