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
