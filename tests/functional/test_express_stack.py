"""Resume works the same on an Express workflow (no redrive there): the
local stack with WorkflowType=EXPRESS, served in this process
(tests/inprocess.py; moved from tests/e2e, docs/testing.md)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from inprocess import InProcessLocal, local_in_process
from stackclient import create_pipeline, fire, outbox_for, wait_outcome, wait_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessLocal]:
    with local_in_process(tmp_path_factory.mktemp("express"), "WorkflowType=EXPRESS", "StageRetryIntervalSeconds=1",
                          "StageBackoffRate=1", "StageMaxRetries=1") as stack:
        yield stack


def test_the_parameter_reaches_the_machine_spec_and_the_functions(local):
    """What WorkflowType=EXPRESS changes locally.  (moto records every state
    machine as STANDARD whatever ``type`` it is given, so the 5-minute limit
    is the one enforced when a definition is saved, below.)"""
    import os

    assert local.stack.template.state_machines()["PipelineStateMachine"]["type"] == "EXPRESS"
    assert os.environ["SIGNALFIRE_WORKFLOW_TYPE"] == "EXPRESS"


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
    run = wait_outcome(local, run_id, "COMPLETED")["run"]
    assert run["outcome"] == "COMPLETED" and run["resume_count"] == 1
    assert [m["tags"]["node_id"] for m in outbox_for(local, run_id)] == ["tell"]  # not sent again on resume
