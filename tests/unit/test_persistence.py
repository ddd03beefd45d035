"""--data-dir's files: tokens kept owner-only, the journal replayed with the
last state of each item, a line cut short by a crash skipped."""

from __future__ import annotations

import json
import stat

from signalfire_local.persistence import DataDir


def test_tokens_are_generated_once_then_kept(tmp_path):
    data = DataDir(tmp_path / "d")
    first = data.tokens(None, None)
    assert all(len(t) > 20 for t in first)
    assert stat.S_IMODE((tmp_path / "d" / "tokens.json").stat().st_mode) == 0o600
    assert DataDir(tmp_path / "d").tokens(None, None) == first
    assert DataDir(tmp_path / "d").tokens("given", None) == ("given", first[1])  # a given token wins, and is kept
    assert DataDir(tmp_path / "d").tokens(None, None) == ("given", first[1])


def test_journal_keeps_the_last_state_and_skips_a_torn_line(tmp_path):
    data = DataDir(tmp_path)
    data.open()
    key_a, key_b = {"PK": {"S": "a"}}, {"PK": {"S": "b"}}
    data.append([("t", key_a, {**key_a, "n": {"N": "1"}}), ("t", key_b, {**key_b, "bin": {"B": b"\x00\xff"}})])
    data.append([("t", key_a, {**key_a, "n": {"N": "2"}})])
    data.append([("t", key_b, None)])
    data.append([("t", {"PK": {"S": "c"}}, {"PK": {"S": "c"}, "blob": {"BS": [b"x"]}})])
    data.close()
    with open(data.journal_path, "a", encoding="utf-8") as fh:
        fh.write('{"table": "t", "key": {"PK": {"S": "d"}}, "item": {"PK"')  # the process died mid-write
    items = DataDir(tmp_path).replay()
    assert sorted(json.loads(k)["PK"]["S"] for _, k in items) == ["a", "c"]
    assert items[("t", json.dumps(key_a, separators=(",", ":"), sort_keys=True))]["n"] == {"N": "2"}
    restored = [i for i in items.values() if "blob" in i][0]
    assert restored["blob"] == {"BS": [b"x"]}  # binary attributes come back as bytes


def test_compaction_rewrites_one_line_per_live_item(tmp_path):
    data = DataDir(tmp_path)
    data.open()
    for n in range(5):
        data.append([("t", {"PK": {"S": "a"}}, {"PK": {"S": "a"}, "n": {"N": str(n)}})])
    data.close()
    items = data.replay()
    data.compact(items)
    lines = data.journal_path.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["item"]["n"] == {"N": "4"}
    assert data.replay() == items
