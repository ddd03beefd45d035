"""The real Prometheus Alertmanager delivers a firing and then a resolved
group to the local stack (Debian package prometheus-alertmanager)."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from localproc import free_port

pytestmark = pytest.mark.e2e

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def _config(webhook_url: str) -> str:
    return f"""
route:
  receiver: signalfire
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: signalfire
    webhook_configs:
      - url: "{webhook_url}"
        send_resolved: true
"""


@pytest.fixture
def alertmanager(local, tmp_path: Path):
    if BINARY is None:
        pytest.fail("prometheus-alertmanager is not installed: run scripts/install-test-deps.sh")
    port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(_config(f"{local.url}/alerts/webhook/alertmanager/?token={local.token}"))
    log = open(tmp_path / "am.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([
        BINARY, f"--config.file={config}", f"--storage.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
    ], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail(f"alertmanager did not start: {(tmp_path / 'am.log').read_text()}")
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def _post_alert(am: str, ends_at: datetime | None) -> None:
    alert = {
        "labels": {"alertname": "HostDown", "instance": "db-7:9100", "severity": "critical", "job": "node"},
        "annotations": {"summary": "db-7 is unreachable"},
        "startsAt": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "generatorURL": "http://prometheus.local/graph",
    }
    if ends_at:
        alert["endsAt"] = ends_at.isoformat()
    r = httpx.post(f"{am}/api/v2/alerts", json=[alert], timeout=10)
    assert r.status_code == 200, r.text


def _wait_for(fetch, predicate, timeout: float = 40.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fetch()
        if predicate(last):
            return last
        time.sleep(0.5)
    raise AssertionError(f"condition not met in {timeout}s; last seen: {last}")


def test_alertmanager_firing_then_resolved(local, alertmanager):
    with local.admin_client() as api:
        def host_down() -> list[dict]:
            page = api.get("/alerts/", params={"source": "alertmanager"})
            assert page.status_code == 200, page.text
            return [a for a in page.json()["items"]
                    if a["name"] == "HostDown"]

        _post_alert(alertmanager, None)
        firing = _wait_for(host_down, lambda xs: bool(xs) and xs[0]["status"] == "firing")[0]
        assert firing["labels"]["instance"] == "db-7:9100"
        assert firing["severity"] == "critical"
        assert firing["labels"].get("host") == "db-7"
        incident_id = firing["incident_id"]
        assert api.get(f"/incidents/{incident_id}").json()["incident"]["status"] == "open"

        _post_alert(alertmanager, datetime.now(UTC) - timedelta(seconds=1))
        resolved = _wait_for(host_down, lambda xs: bool(xs) and xs[0]["status"] == "resolved")[0]
        assert resolved["ended_at"]
        incident = api.get(f"/incidents/{incident_id}").json()["incident"]
        assert incident["status"] == "resolved"
        assert api.get("/alerts/rejected/").json()["count"] == 0
