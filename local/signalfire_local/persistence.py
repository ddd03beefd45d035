"""``signalfire local --data-dir DIR``: the local stack's data outlives the process.

Everything the stack keeps (alerts, incidents, runs and their stages,
pipeline definitions, channels, deliveries, agent tokens...) lives in the
DynamoDB table; the webhook and admin tokens live in Secrets Manager,
created from ``DIR/tokens.json``.  The table is kept as a journal:

* ``DIR/dynamodb.jsonl``: one line per item change, ``{"table", "key",
  "item"}`` with the item's state after the change (``item: null`` for a
  delete), in DynamoDB's JSON.  It is appended inside the same lock that
  makes each DynamoDB call atomic, after the call succeeded and before the
  caller gets its answer: a change a client saw acknowledged is in the file.
* At start the journal is replayed into the emulator, then rewritten as a
  snapshot of the live items (written to a temporary file, fsynced and
  renamed over the journal), so it does not grow across restarts.

What a crash can lose: killing the process (``kill -9``, a crash) loses
nothing acknowledged: each change is one ``write()`` to the file, which the
operating system keeps.  Losing power or the machine can lose the changes
of the last few seconds that the OS had not yet written to disk (the
journal is not fsynced per change; that would cost a disk flush per write).
A line cut short by such a crash is ignored on replay.

Step Functions executions are not journaled: an execution does not survive
the process.  At start, runs that were in flight (no outcome yet) are marked
FAILED with outcome INTERRUPTED and can be resumed (``POST
/runs/{id}/resume``) from the stage they were in.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

JOURNAL = "dynamodb.jsonl"
TOKENS = "tokens.json"
#: The writes journaled (PartiQL statements are not: nothing in signalfire uses them).
WRITE_ACTIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})


class DataDir:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser().resolve()
        self.path.mkdir(parents=True, exist_ok=True)
        self.journal_path = self.path / JOURNAL
        self._fd: int | None = None
        self._lock = threading.Lock()

    # -- tokens ----------------------------------------------------------------------

    def tokens(self, token: str | None, admin_token: str | None) -> tuple[str, str]:
        """The tokens to use: the ones given, else the saved ones, else new
        ones; saved (owner-only file) for the next start."""
        path = self.path / TOKENS
        saved: dict[str, str] = {}
        if path.exists():
            saved = json.loads(path.read_text(encoding="utf-8"))
        webhook = token or saved.get("token") or secrets.token_urlsafe(24)
        admin = admin_token or saved.get("admin_token") or secrets.token_urlsafe(32)
        if saved != {"token": webhook, "admin_token": admin}:
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"token": webhook, "admin_token": admin}, fh)
            os.replace(tmp, path)
        return webhook, admin

    # -- the journal -----------------------------------------------------------------

    def replay(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The live items in the journal: ``{(table, key json): item}``."""
        items: dict[tuple[str, str], dict[str, Any]] = {}
        if not self.journal_path.exists():
            return items
        with open(self.journal_path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    change = json.loads(line, object_hook=_binary)
                    ident = (change["table"], _dumps(change["key"], sort_keys=True))
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a crash
                if change.get("item") is None:
                    items.pop(ident, None)
                else:
                    items[ident] = change["item"]
        return items

    def compact(self, items: dict[tuple[str, str], dict[str, Any]]) -> None:
        """Rewrite the journal as one line per live item, atomically."""
        tmp = self.journal_path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            for (table, key), item in items.items():
                fh.write(_dumps({"table": table, "key": json.loads(key, object_hook=_binary), "item": item}) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.journal_path)

    def open(self) -> None:
        self._fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def append(self, changes: list[tuple[str, dict[str, Any], dict[str, Any] | None]]) -> None:
        if not changes or self._fd is None:
            return
        data = "".join(_dumps({"table": t, "key": k, "item": i}) + "\n" for t, k, i in changes).encode()
        with self._lock:
            view = memoryview(data)
            while view:  # one write() in practice; loop in case the OS takes part of it
                written = os.write(self._fd, view)
                view = view[written:]


def _dumps(value: Any, sort_keys: bool = False) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=sort_keys, default=_encode_bytes)


def _encode_bytes(value: Any) -> Any:
    """Binary attributes (B, BS) are bytes in moto: kept as DynamoDB JSON
    does, base64, under a marker that replay turns back into bytes."""
    if isinstance(value, bytes | bytearray):
        return {"$b64": base64.b64encode(value).decode()}
    raise TypeError(f"cannot journal {type(value).__name__}")


def _binary(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "$b64" in obj:
        return base64.b64decode(obj["$b64"])
    return obj


# -- reading changes out of moto --------------------------------------------------------


def touched_keys(action: str, params: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table, item attributes holding at least the key) for each item a write names."""
    if action in ("PutItem",):
        yield params["TableName"], params["Item"]
    elif action in ("UpdateItem", "DeleteItem"):
        yield params["TableName"], params["Key"]
    elif action == "TransactWriteItems":
        for entry in params.get("TransactItems", []):
            for op_type, op in entry.items():
                if op_type == "Put":
                    yield op["TableName"], op["Item"]
                elif op_type in ("Update", "Delete"):
                    yield op["TableName"], op["Key"]
    elif action == "BatchWriteItem":
        for table, requests in params.get("RequestItems", {}).items():
            for request in requests:
                if "PutRequest" in request:
                    yield table, request["PutRequest"]["Item"]
                elif "DeleteRequest" in request:
                    yield table, request["DeleteRequest"]["Key"]


def item_changes(backend: Any, action: str, params: dict[str, Any]
                 ) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """The state, now, of every item the write named: (table, key, item or None)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    changes = []
    for table_name, attrs in touched_keys(action, params):
        table = backend.tables.get(table_name)
        if table is None:
            continue
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        range_value = None
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
            range_value = DynamoType(attrs[table.range_key_attr])
        item = table.get_item(DynamoType(attrs[table.hash_key_attr]), range_value)
        changes.append((table_name, key, item.to_json()["Attributes"] if item is not None else None))
    return changes


def restore(backend: Any, items: dict[tuple[str, str], dict[str, Any]]) -> int:
    """Put the replayed items into moto's tables (no API calls, not journaled)."""
    count = 0
    for (table_name, _key), item in items.items():
        table = backend.tables.get(table_name)
        if table is None:
            continue  # a table the template no longer has
        table.put_item(item, overwrite=True)
        count += 1
    return count
