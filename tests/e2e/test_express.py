"""Resume works the same on an Express workflow (no redrive there)."""

from __future__ import annotations

import time

import pytest
from test_pipelines import create_pipeline, fire, outbox_for, wait_run

from localproc import start_local, stop_local

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    stack = start_local(tmp_path_factory.mktemp("express"), "WorkflowType=EXPRESS", "StageRetryIntervalSeconds=1",
                        "StageBackoffRate=1", "StageMaxRetries=1")
    yield stack
    stop_local(stack)


def test_express_workflow_runs_and_resumes(local, tmp_path):
    broken = tmp_path / "broken"
    broken.write_text("x")
    nodes = [
        {"id": "tell", "type": "notify", "config": {}},
        {"id": "check", "type": "context", "config": {"fault": {"while_file_exists": str(broken)}}},
        {"id": "tell_again", "type": "notify", "config": {}},
    ]
    # An Express run stops at 5 minutes: with one retry per stage, two notify
    # stages (60 s timeouts) and a check may take longer at worst, so saving
    # that definition is refused, naming the node that passes the limit.
    chained = [dict(n, next=b["id"]) for n, b in zip(nodes, nodes[1:], strict=False)] + [nodes[-1]]
    with local.admin_client() as api:
        refused = api.post("/pipelines/", json={"name": "express-too-long",
                                                "config": {"version": "1.0", "nodes": chained}})
    assert refused.status_code == 400 and refused.json()["details"]["node"] == "tell_again", refused.text
    create_pipeline(local, "express-resume", nodes[:2])
    run_id = fire(local, pipeline="express-resume")["run_ids"][0]
    failed = wait_run(local, run_id)
    assert failed["run"]["status"] == "FAILED" and failed["run"]["failed_index"] == 1
    assert [s["attempt"] for s in failed["stages"] if s["node_id"] == "check"] == [1, 2]  # StageMaxRetries=1
    broken.unlink()
    with local.admin_client() as api:
        assert api.post(f"/runs/{run_id}/resume/").status_code == 202
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run = api.get(f"/runs/{run_id}").json()["run"]
            if run["outcome"] == "COMPLETED":
                break
            time.sleep(0.25)
    assert run["outcome"] == "COMPLETED" and run["resume_count"] == 1
    assert [m["tags"]["node_id"] for m in outbox_for(local, run_id)] == ["tell"]  # not sent again on resume
