"""The run-start refusal of pipelines that cannot fit an Express execution,
over real HTTP through the local stack started with WorkflowType=EXPRESS
(tests/inprocess.py): what a sender and an operator see."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from inprocess import InProcessLocal, local_in_process
from stackclient import fire

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessLocal]:
    with local_in_process(tmp_path_factory.mktemp("express-presets"), "WorkflowType=EXPRESS") as stack:
        yield stack


def test_a_sender_asking_for_full_hears_why_and_the_operator_sees_which_presets_fit(local):
    alert = {"name": "DiskFull-express", "severity": "critical", "labels": {"host": "web-1"}}
    with local.sender() as s:
        refused = s.post("/alerts/webhook/generic/?pipeline=full", json=alert)
    assert refused.status_code == 400, refused.text
    assert "pipeline 'full' cannot run on this deployment" in refused.json()["message"]
    assert "limit of 300 s" in refused.json()["message"]
    with local.admin_client() as api:
        assert api.get("/alerts/", params={"limit": 200}).json()["items"] == []
        kept = api.get("/alerts/rejected/").json()["items"]
        assert [k["status_code"] for k in kept] == [400] and "'full'" in kept[0]["reason"]
        fits = {p["name"]: p["workflow_fit"]["fits"] for p in api.get("/pipelines/").json()["items"]}
    assert fits["direct"] is True and not any(fits[p] for p in ("full", "ai-analyzed", "local-smart"))
    assert len(fire(local, pipeline="direct")["run_ids"]) == 1  # what fits still runs
