"""The table helper is the one source of an item's ``expires_at``."""

from __future__ import annotations

import re
from datetime import timedelta

from signalfire.store.dynamo import DynamoTable
from signalfire.timeutil import utcnow
from support import ROOT


def test_expiry_is_the_retention_from_now_in_epoch_seconds():
    before = int((utcnow() + timedelta(days=7)).timestamp())
    got = DynamoTable.expiry(7)
    after = int((utcnow() + timedelta(days=7)).timestamp())
    assert before <= got <= after


def test_no_store_computes_its_own_expiry():
    package = ROOT / "layers" / "shared" / "signalfire"
    own = [str(p.relative_to(package)) for p in package.rglob("*.py")
           if p.name == "dynamo.py" and p.parent.name != "store"
           and re.search(r"def _expiry|timedelta\(days=", p.read_text())]
    assert own == []


class _Throttled:
    """A DynamoDB client whose BatchWriteItem leaves the last item of every
    request unprocessed ``times`` times (what throttling looks like)."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.requests: list[list[dict]] = []

    def batch_write_item(self, RequestItems: dict) -> dict:  # noqa: N803 (botocore's name)
        (table, requests), = RequestItems.items()
        self.requests.append(requests)
        if self.times > 0:
            self.times -= 1
            return {"UnprocessedItems": {table: requests[-1:]}}
        return {"UnprocessedItems": {}}


def test_batch_put_sends_unprocessed_items_again_after_a_growing_jittered_back_off(monkeypatch):
    from signalfire.store import dynamo

    waits: list[float] = []
    monkeypatch.setattr(dynamo, "_sleep", waits.append)
    monkeypatch.setattr(dynamo.random, "uniform", lambda low, high: high)  # the longest wait each time
    client = _Throttled(times=3)
    DynamoTable("T", client).batch_put([{"PK": "a", "SK": "1"}, {"PK": "a", "SK": "2"}])
    # the first request carries both items, each retry only what was left unprocessed
    assert [len(r) for r in client.requests] == [2, 1, 1, 1]
    assert [r[0]["PutRequest"]["Item"]["SK"] for r in client.requests[1:]] == [{"S": "2"}] * 3
    assert waits == [min(dynamo.BATCH_BACKOFF_CAP, dynamo.BATCH_BACKOFF_BASE * 2 ** n) for n in (1, 2, 3)]
    assert waits == sorted(waits) and waits[0] > 0


def test_batch_put_fails_with_503_when_items_stay_unprocessed(monkeypatch):
    import pytest

    from signalfire.errors import StoreUnavailableError
    from signalfire.store import dynamo

    monkeypatch.setattr(dynamo, "_sleep", lambda _s: None)
    client = _Throttled(times=10 ** 6)
    with pytest.raises(StoreUnavailableError) as caught:
        DynamoTable("T", client).batch_put([{"PK": "a", "SK": "1"}])
    assert caught.value.http_status == 503
    assert len(client.requests) == dynamo.BATCH_ATTEMPTS
