"""A newcomer's notification paths through the real `signalfire local`
process: the terminal with nothing configured, then a channel pointed at a
local SMTP server and one at a local HTTP receiver.  (The outbound guard
refusing the metadata and private addresses in local mode:
tests/functional/test_notify_api.py.)"""

from __future__ import annotations

import json
import time

import pytest

from receivers import http_receiver, smtp_receiver

pytestmark = pytest.mark.e2e


def _wait_run(client, run_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/runs/{run_id}").json()["run"]
        if run.get("outcome"):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish")


def test_terminal_then_local_smtp_and_http_channels(local):
    with local.admin_client() as admin, local.sender() as sender:
        # nothing configured: the rendered notification is in the terminal (and the outbox)
        reply = sender.post("/alerts/webhook/", json={"name": "NewcomerDisk", "severity": "critical",
                                                      "description": "/ is 97% full", "labels": {"host": "web-9"}})
        [run_id] = reply.json()["run_ids"]
        assert _wait_run(admin, run_id)["status"] == "NOTIFIED"
        printed = local.log.read_text()
        assert "FIRING: NewcomerDisk" in printed and "Where:    web-9" in printed
        assert f"{local.url}/incidents/" in printed  # links point at this server

        with smtp_receiver() as smtp, http_receiver([(200, "ok")]) as rx:
            for body in ({"name": "local-mail", "driver": "email",
                          "config": {"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "use_tls": False,
                                     "from_address": "sf@example.com", "to_addresses": ["me@example.com"]}},
                         {"name": "local-hook", "driver": "generic", "config": {"endpoint": rx.url + "/in"}}):
                assert admin.post("/notify/channels/", json=body).status_code == 201
            reply = sender.post("/alerts/webhook/", json={"name": "NewcomerCPU", "severity": "warning",
                                                          "labels": {"host": "web-9"}})
            [run_id] = reply.json()["run_ids"]
            run = _wait_run(admin, run_id)
            assert run["status"] == "NOTIFIED", run
            assert len(smtp.messages) == 1 and "NewcomerCPU" in smtp.messages[0]["Subject"]
            assert [json.loads(r.body)["title"] for r in rx.requests] == ["NewcomerCPU"]
            deliveries = admin.get(f"/runs/{run_id}").json()["deliveries"]
            assert {(d["channel"], d["status"]) for d in deliveries} == {("local-mail", "delivered"),
                                                                         ("local-hook", "delivered")}
        for name in ("local-mail", "local-hook"):
            admin.delete(f"/notify/channels/{name}")
