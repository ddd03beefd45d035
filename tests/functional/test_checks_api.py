"""The agent's payload against the server's model (the contract), and the
check/host routes through the real API handler."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checkbatch import body
from handler_calls import api
from signalfire.checks.models import CHECKERS, SCHEMA_VERSION, CheckBatchIn, CheckStatus
from signalfire.pipelines.models import CHECKERS as PIPELINE_CHECKERS
from support import WEBHOOK_TOKEN


def agent_batch(tmp_path: Path) -> dict:
    """What the real agent builds in one cycle, every checker included."""
    from signalfire_agent.agent import Agent
    from signalfire_agent.config import load

    cfg = load(None, {"hostname": "contract-host", "spool_dir": str(tmp_path), "interval": 15.0,
                      "checkers": list(CHECKERS)})
    cfg.checker = {"network": {"hosts": ["127.0.0.1:9"], "probe_timeout": 0.5},
                   "process": {"processes": ["no-such-process"]},
                   **{n: {"paths": [str(tmp_path)]} for n in ("disk_common", "disk_linux", "disk_macos")}}
    payload = Agent(cfg).collect().to_dict()
    payload["dropped_batches"] = 2
    return payload


def test_what_the_agent_sends_is_what_the_server_accepts(tmp_path: Path) -> None:
    from signalfire_agent import models as agent_models
    from signalfire_agent.checkers import CHECKER_REGISTRY

    payload = agent_batch(tmp_path)
    parsed = CheckBatchIn.model_validate(json.loads(json.dumps(payload)))
    assert [r.checker_name for r in parsed.results] == list(CHECKERS)
    assert parsed.host.hostname == "contract-host" and parsed.interval_seconds == 15.0
    assert parsed.snapshot is not None and parsed.dropped_batches == 2
    # one vocabulary on both sides
    assert tuple(CHECKER_REGISTRY) == CHECKERS == tuple(PIPELINE_CHECKERS)
    assert {s.value for s in agent_models.CheckStatus} == {s.value for s in CheckStatus}
    assert agent_models.SCHEMA_VERSION == SCHEMA_VERSION


def test_the_agents_batch_through_the_api_handler(moto_stack: dict, tmp_path: Path) -> None:
    payload = agent_batch(tmp_path)
    for r in payload["results"]:  # keep this one free of alerts: no state machine here
        r["status"] = "ok" if r["status"] in ("warning", "critical") else r["status"]
    first = api("POST", "/checks/", payload, token=WEBHOOK_TOKEN)
    assert first.status == 202 and first.json["status"] == "accepted" and first.json["checks_stored"] == 8
    again = api("POST", "/checks", payload, token=WEBHOOK_TOKEN)
    assert again.status == 200 and again.json["status"] == "duplicate"
    host = api("GET", "/hosts/contract-host/")
    assert host.status == 200 and host.json["host"]["interval_seconds"] == 15.0
    assert host.json["checks"]["disk_macos"]["status"] == "unknown" or host.json["checks"]["disk_linux"]["status"] == "unknown"
    assert host.json["host"]["dropped_batches_total"] == 2
    hosts = api("GET", "/hosts/")
    assert hosts.status == 200 and [h["hostname"] for h in hosts.json["items"]] == ["contract-host"]
    assert {"last_seen", "interval_seconds", "status"} <= set(hosts.json["items"][0])
    checks = api("GET", "/checks/", query={"hostname": "contract-host", "checker": "disk"})
    assert checks.status == 200 and checks.json["count"] == 1 and checks.json["items"][0]["trace_id"]


@pytest.mark.parametrize(("method", "path", "token", "status"), [
    ("POST", "/checks/", None, 401),
    ("POST", "/checks/", "wrong", 401),      # checked once, by the resolver (POST /checks is a sender route)
    ("GET", "/checks/", WEBHOOK_TOKEN, 403),   # reading needs the admin token
    ("GET", "/hosts/", WEBHOOK_TOKEN, 403),
    ("GET", "/hosts/ghost", "admin", 404),
])
def test_check_routes_need_the_right_token(moto_stack: dict, method: str, path: str, token: str | None,
                                           status: int) -> None:
    from support import ADMIN_TOKEN

    reply = api(method, path, body() if method == "POST" else None, token=ADMIN_TOKEN if token == "admin" else token)
    assert reply.status == status, reply
    if method == "POST":
        assert api("GET", "/hosts/").json["items"] == []  # a refused batch stores nothing


def test_bad_batch_is_a_400_naming_the_field_and_is_listed_as_rejected(moto_stack: dict) -> None:
    bad = json.loads(body())
    bad["results"][0]["status"] = "fine"
    reply = api("POST", "/checks/", bad, token=WEBHOOK_TOKEN)
    assert reply.status == 400 and "results.0.status" in reply.json["message"]
    rejected = api("GET", "/alerts/rejected/")
    assert rejected.json["items"][0]["driver"] == "agent" and "results.0.status" in rejected.json["items"][0]["reason"]
    assert api("GET", "/checks/", query={"status": "fine"}).status == 400
    assert api("GET", "/checks/", query={"checker": "gpu"}).status == 400


def test_the_scheduler_function_runs_the_silent_host_sweep(moto_stack: dict) -> None:
    from handler_calls import handler
    from signalfire.errors import BadRequestError
    from support import FakeContext

    api("POST", "/checks/", json.loads(body(hostname="quiet-1", interval=1)), token=WEBHOOK_TOKEN)
    out = handler("SchedulerFunction")({"task": "silent-hosts"}, FakeContext())
    assert out["task"] == "silent-hosts" and out["hosts_checked"] == 1
    with pytest.raises(BadRequestError, match="unknown scheduled task 'nope'"):
        handler("SchedulerFunction")({"task": "nope"}, FakeContext())
