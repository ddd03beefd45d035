"""Config file + flags, the slow scanner schedule, the snapshot, and the CLI as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest
from conftest import Receiver

from signalfire_agent.agent import Agent
from signalfire_agent.checkers import ConfigError
from signalfire_agent.config import load
from signalfire_agent.models import SCHEMA_VERSION

VM = namedtuple("VM", "total available percent")
AGENT_SRC = Path(__file__).resolve().parents[3] / "agent"


def write(tmp: Path, text: str) -> str:
    path = tmp / "agent.toml"
    path.write_text(text)
    return str(path)


def test_flags_override_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIGNALFIRE_AGENT_TOKEN", raising=False)
    monkeypatch.delenv("SIGNALFIRE_TOKEN", raising=False)
    path = write(tmp_path, '''
api_url = "http://file.example/"
token = "from-file"
hostname = "file-host"
interval = 30
spool_dir = "/tmp/file-spool"
checkers = ["cpu", "disk"]
[checker.disk]
paths = ["/", "/var"]
warning_threshold = 85
''')
    cfg = load(path)
    assert (cfg.api_url, cfg.token, cfg.hostname, cfg.interval) == ("http://file.example", "from-file", "file-host", 30)
    assert cfg.checker["disk"] == {"paths": ["/", "/var"], "warning_threshold": 85}
    cfg = load(path, {"api_url": "http://flag.example", "token": "from-flag", "hostname": "flag-host",
                      "interval": 5.0, "spool_dir": str(tmp_path), "checkers": ["memory"]})
    assert (cfg.api_url, cfg.token, cfg.hostname, cfg.interval, cfg.spool_dir, cfg.checkers) == (
        "http://flag.example", "from-flag", "flag-host", 5.0, str(tmp_path), ["memory"])
    monkeypatch.setenv("SIGNALFIRE_AGENT_TOKEN", "from-env")
    assert load(None).token == "from-env" and load(path).token == "from-file"


@pytest.mark.parametrize(("text", "message"), [
    ('checkers = ["cpu", "gpu"]', "unknown checker.*gpu"),
    ('intervall = 5', "unknown key.*intervall"),
    ('[checker.gpu]\nx = 1', r"\[checker.gpu\]: no such checker"),
    ('interval = "soon"', "interval must be a number"),
    ('api_url = "ftp://x"', "api_url must start with http"),
    ('interval = ', "config file"),
])
def test_bad_config_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(write(tmp_path, text))


def test_scanners_run_on_their_own_slower_schedule(tmp_path: Path) -> None:
    clock = [1000.0]
    cfg = load(None, {"api_url": "", "hostname": "h", "spool_dir": str(tmp_path), "interval": 1.0,
                      "checkers": ["memory", "disk_common"], "scan_interval": 10.0})
    cfg.checker["disk_common"] = {"paths": [str(tmp_path)]}
    agent = Agent(cfg, wall=lambda: clock[0])
    ran = []
    for _ in range(25):
        ran.append([r.checker_name for r in agent.collect().results])
        clock[0] += 1
    with_scan = [i for i, names in enumerate(ran) if "disk_common" in names]
    assert with_scan == [0, 10, 20] and all("memory" in names for names in ran)


def test_batch_carries_host_identity_and_a_small_snapshot(tmp_path: Path) -> None:
    cfg = load(None, {"hostname": "web-9", "spool_dir": str(tmp_path), "checkers": ["memory"]})
    batch = Agent(cfg).collect().to_dict()
    assert batch["schema_version"] == SCHEMA_VERSION and len(batch["batch_id"]) == 32
    assert batch["host"]["hostname"] == "web-9" and batch["host"]["cpu_count"] >= 1
    snap = batch["snapshot"]
    assert 0 < len(snap["top_memory"]) <= 5 and 0 < len(snap["top_cpu"]) <= 5
    assert set(snap["top_memory"][0]) == {"pid", "name", "cpu_percent", "memory_percent", "rss_mb"}
    assert any(d["mount"] == "/" for d in snap["disks"]) or snap["disks"] == []
    assert len(json.dumps(batch)) < 8000


def run_cli(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, PYTHONPATH=str(AGENT_SRC), **(env or {}))
    return subprocess.run([sys.executable, "-m", "signalfire_agent", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout)


def test_check_json_prints_results_and_exits_like_a_nagios_plugin(tmp_path: Path) -> None:
    path = write(tmp_path, f'checkers = ["disk", "disk_macos"]\n[checker.disk]\npaths = ["{tmp_path}"]\n')
    out = run_cli("check", "--json", "--config", path, "--hostname", "box")
    data = json.loads(out.stdout)
    assert data["hostname"] == "box" and [r["checker_name"] for r in data["results"]] == ["disk", "disk_macos"]
    if sys.platform.startswith("linux"):
        assert out.returncode == 3  # disk_macos is UNKNOWN here
    text = run_cli("check", "--checkers", "memory")
    assert text.returncode in (0, 1, 2) and "memory" in text.stdout


def test_run_once_posts_one_batch_and_refuses_bad_flags(receiver: Receiver, tmp_path: Path) -> None:
    receiver.start()
    out = run_cli("run", "--once", "--api-url", receiver.url, "--hostname", "cron-host", "--spool-dir",
                  str(tmp_path), "--checkers", "memory,disk", env={"SIGNALFIRE_AGENT_TOKEN": "tok"})
    assert out.returncode == 0, out.stderr
    assert len(receiver.batches) == 1 and receiver.requests[0]["auth"] == "Bearer tok"
    assert "tok" not in out.stderr  # the token is never logged
    bad = run_cli("run", "--once", "--checkers", "cpu,gpu")
    assert bad.returncode == 2 and "unknown checker(s) gpu" in bad.stderr
    no_url = run_cli("run", "--once", "--spool-dir", str(tmp_path), env={"SIGNALFIRE_AGENT_TOKEN": "x"})
    assert no_url.returncode == 64 and "no API URL" in no_url.stderr


def test_snapshot_every_interval_and_when_a_result_turns_bad_not_every_bad_cycle(tmp_path: Path) -> None:
    clock = [1000.0]
    cfg = load(None, {"hostname": "h", "spool_dir": str(tmp_path), "checkers": ["memory"], "snapshot_interval": 60.0})
    agent = Agent(cfg, wall=lambda: clock[0])
    level = [10.0]
    agent.checkers["memory"]._virtual = lambda: VM(8 * 1024**3, 4 * 1024**3, level[0])  # type: ignore[attr-defined]
    taken = []
    for second in range(150):
        level[0] = 95.0 if 20 <= second < 100 else 10.0  # CRITICAL from 20 s to 100 s
        taken.append(agent.collect().snapshot is not None)
        clock[0] += 1
    assert [i for i, t in enumerate(taken) if t] == [0, 20, 80, 140]


def test_scanners_run_in_a_child_process_and_come_back_intact(tmp_path: Path) -> None:
    from signalfire_agent.agent import run_isolated
    from signalfire_agent.checkers.scan import DiskCommonChecker, DiskMacOSChecker

    (tmp_path / "f").write_bytes(b"x" * 4096)
    results = run_isolated([DiskCommonChecker(paths=[str(tmp_path)]), DiskMacOSChecker()])
    assert [r.checker_name for r in results] == ["disk_common", "disk_macos"]
    assert results[0].metrics["scanned"][str(tmp_path)]["entries"] == 1 and results[0].executed_at > 0
    assert results[0].warning_threshold == 5000.0


def test_set_overrides_one_checker_setting_from_the_command_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'checkers = ["disk"]\n[checker.disk]\npaths = ["/nope"]\nwarning_threshold = 85\n')
    out = run_cli("check", "--json", "--config", path, "--set", f'disk.paths=["{tmp_path}"]',
                  "--set", "disk.critical_threshold=99.5")
    (disk,) = json.loads(out.stdout)["results"]
    assert list(disk["metrics"]["disks"]) == [str(tmp_path)]
    assert (disk["warning_threshold"], disk["critical_threshold"]) == (85.0, 99.5)
    bad = run_cli("check", "--set", "gpu.x=1")
    assert bad.returncode == 2 and "unknown checker 'gpu'" in bad.stderr
    typo = run_cli("check", "--checkers", "disk", "--set", "disk.pathz=[]")
    assert typo.returncode == 64 and "unknown setting(s) pathz" in typo.stderr
