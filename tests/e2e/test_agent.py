"""The installed `signalfire-agent` command posts to the real `signalfire
local` over HTTP: a CRITICAL result becomes an agent alert and a
local-monitor run whose check stage carries the host's results; the next OK
resolves it; the loop mode keeps reporting until SIGTERM; the template's
schedules fire on signalfire local's timers: the reconciler runs, and the
silent-host sweep raises HostSilent, which the next report resolves."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from stackclient import until

from localproc import ROOT, Local, start_local, stop_local

pytestmark = pytest.mark.e2e
HOST = "e2e-agent-host"


def agent_command() -> str:
    exe = shutil.which("signalfire-agent")
    assert exe, "signalfire-agent is not installed: run scripts/install-test-deps.sh (pip install ./agent)"
    return exe


def agent_env(local: Local) -> dict[str, str]:
    # the installed entry point, with this checkout's agent code first on the path
    return dict(os.environ, SIGNALFIRE_AGENT_TOKEN=local.token, PYTHONPATH=str(ROOT / "agent"))


def config(tmp: Path, name: str, disk_critical: float) -> Path:
    path = tmp / name
    path.write_text(f'''
checkers = ["memory", "disk"]
[checker.memory]
warning_threshold = 99.9
critical_threshold = 99.99
[checker.disk]
paths = ["{tmp}"]
warning_threshold = {disk_critical}
critical_threshold = {disk_critical}
''')
    return path


def run_once(local: Local, tmp: Path, cfg: Path) -> subprocess.CompletedProcess:
    return subprocess.run([agent_command(), "run", "--once", "--config", str(cfg), "--api-url", local.url,
                           "--hostname", HOST, "--spool-dir", str(tmp / "spool")],
                          capture_output=True, text=True, env=agent_env(local), timeout=120)


def wait_run(local: Local, run_id: str) -> dict:
    deadline = time.monotonic() + 90
    with local.admin_client() as client:
        while time.monotonic() < deadline:
            body = client.get(f"/runs/{run_id}").json()
            if body["run"]["status"] in ("NOTIFIED", "COMPLETED", "FAILED"):
                return body
            time.sleep(0.3)
    raise AssertionError(f"run {run_id} did not finish")


def test_installed_agent_reports_alerts_runs_and_resolves(local: Local, tmp_path: Path) -> None:
    bad = run_once(local, tmp_path, config(tmp_path, "bad.toml", disk_critical=0.001))
    assert bad.returncode == 0, bad.stderr
    assert os.listdir(tmp_path / "spool" / "outbox") == [], "the batch was accepted, nothing left in the spool"
    with local.admin_client() as admin:
        host = admin.get(f"/hosts/{HOST}/").json()
        assert host["host"]["status"] == "critical" and host["checks"]["disk"]["status"] == "critical"
        assert host["checks"]["memory"]["status"] == "ok" and host["snapshot"]["top_memory"]
        alerts = admin.get("/alerts/", params={"source": "agent"}).json()["items"]
        mine = [a for a in alerts if a["labels"].get("host") == HOST]
        assert [a["name"] for a in mine] == [f"disk check on {HOST}"] and mine[0]["status"] == "firing"
        runs = [r for r in admin.get("/runs/").json()["items"] if r["source"] == "agent"]
        assert runs and runs[0]["pipeline_name"] == "local-monitor"
        done = wait_run(local, runs[0]["run_id"])
        check = next(s for s in done["stages"] if s["stage"] == "CHECK")
        assert check["status"] == "SUCCEEDED"
        listed = admin.get("/checks/", params={"hostname": HOST, "checker": "disk"}).json()
        assert listed["count"] == 1 and listed["items"][0]["alert_id"] == mine[0]["id"]

    good = run_once(local, tmp_path, config(tmp_path, "good.toml", disk_critical=100))
    assert good.returncode == 0, good.stderr
    with local.admin_client() as admin:
        alert = admin.get(f"/alerts/{mine[0]['id']}").json()
        assert alert["alert"]["status"] == "resolved"
        assert any(h["event"] == "resolved" for h in alert["history"])
        assert admin.get(f"/hosts/{HOST}").json()["host"]["status"] == "ok"


def test_loop_mode_reports_every_interval_and_stops_on_sigterm(local: Local, tmp_path: Path) -> None:
    cfg = config(tmp_path, "loop.toml", disk_critical=100)
    proc = subprocess.Popen([agent_command(), "run", "--interval", "1", "--config", str(cfg), "--api-url", local.url,
                             "--hostname", "e2e-loop-host", "--spool-dir", str(tmp_path / "spool")],
                            env=agent_env(local), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        received = 0
        with local.admin_client() as admin:
            while time.monotonic() < deadline and received < 3:
                reply = admin.get("/hosts/e2e-loop-host")
                received = reply.json()["host"]["batches_received"] if reply.status_code == 200 else 0
                time.sleep(0.5)
        assert received >= 3, proc.stderr.read() if proc.poll() is not None else "agent still running"
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0


def test_signalfire_local_fires_the_silent_host_schedule(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The template's schedules on timers in the real process (sped up): the
    reconciler runs; the SilentHosts sweep gives a host that stops reporting
    HostSilent, and its next report resolves it."""
    tmp = tmp_path_factory.mktemp("silent")
    stack = start_local(tmp, "HostSilentMultiple=1", verbose=True, extra=("--schedule-every", "1"))
    host = "e2e-silent-host"
    cfg = config(tmp, "quiet.toml", disk_critical=100)
    cmd = [agent_command(), "run", "--once", "--interval", "4", "--config", str(cfg), "--api-url", stack.url,
           "--hostname", host, "--spool-dir", str(tmp / "spool")]
    try:
        assert subprocess.run(cmd, env=agent_env(stack), capture_output=True, timeout=120).returncode == 0
        silent_id = None
        deadline = time.monotonic() + 60
        with stack.admin_client() as admin:
            while time.monotonic() < deadline and silent_id is None:
                for a in admin.get("/alerts/", params={"source": "agent"}).json()["items"]:
                    if a["name"] == f"HostSilent: {host}" and a["status"] == "firing":
                        silent_id = a["id"]
                time.sleep(0.5)
            assert silent_id, "the schedule never raised HostSilent"
            assert admin.get(f"/hosts/{host}").json()["host"]["silent"] is True
            assert subprocess.run(cmd, env=agent_env(stack), capture_output=True, timeout=120).returncode == 0
            alert = admin.get(f"/alerts/{silent_id}").json()
            assert any(h["event"] == "resolved" for h in alert["history"])
        until(lambda: "schedule ReconcileFunction.Reconcile ran" in stack.log.read_text(),
              what="the reconciler's schedule to run")
        log = stack.log.read_text()
        assert "schedule ReconcileFunction.Reconcile: every 1s" in log
    finally:
        code = stop_local(stack)
    assert code == 0
