"""Compact item storage for moto's DynamoDB tables (`signalfire local` running for days).

moto keeps each stored item as an ``Item`` whose every attribute, and every
value nested in a map or list, is a ``DynamoType`` object: about 25
Python objects for one of signalfire's items, 305 per new alert (12 items),
kept for as long as the stack runs.  Here a table keeps each item as one
``bytes`` object (its attribute values, pickled and zlib-compressed with a
preset dictionary learnt from the first items) and hands moto an ``Item``
built from it when moto reads the item.  moto still decides everything
DynamoDB does (conditions, update expressions, transactions, queries): it
only ever sees ``Item`` objects, built exactly as its own ``Item`` would be.

How an item moves between the two forms:

* A table's ``items`` (hash -> item, or hash -> {range -> item}) are
  :class:`_Items` mappings.  Reading an item (``[]``, ``get``, ``values``,
  ``items``) builds the ``Item``.  Inside a write call the built ``Item``
  replaces the bytes in the mapping, so moto's in-place changes (an update
  expression mutates ``Item.attrs``; a put, a transaction rollback or an
  upsert stores a new ``Item``) land on the stored object, as in moto.
* When a DynamoDB API call ends (every call runs under the local stack's
  one DynamoDB lock) the items that call left as objects are compacted
  again.  A read-only call (GetItem, Query, Scan, BatchGetItem,
  TransactGetItems) builds throw-away ``Item`` objects and leaves the bytes
  in place: moto never changes an item on a read.
* Writes made outside an API call (replaying ``--data-dir`` at start,
  tests touching moto's backend) are compacted once more than
  ``LIVE_LIMIT`` of them wait, and at the next API call.

Installed by :func:`signalfire_local.motofixes.install` (idempotent);
tests/functional/test_itemstore.py checks every write path answers as moto
alone does.  docs/local-mode.md, "Running for days", has the figures.
"""

from __future__ import annotations

import pickle
import threading
import zlib
from collections import defaultdict
from typing import Any

#: Items built outside an API call that may wait before being compacted.
LIVE_LIMIT = 1024
#: zlib level for stored items (1: fastest; items are small, most of the gain is at level 1).
ZLIB_LEVEL = 1
#: The largest preset dictionary (zlib's window: 32 KB).
DICTIONARY_BYTES = 32 * 1024
#: The dictionary is learnt while the first this many times DICTIONARY_BYTES of items are stored...
LEARN_FACTOR = 4
#: ... from this many items of each kind (more per kind pushes other kinds out of the window).
SAMPLES_PER_KIND = 2

#: DynamoDB actions that never change an item: the items they build are thrown
#: away.  Any other action keeps what it builds until the call ends.
READ_ACTIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems", "DescribeTable"})

_INSTALLED = False
_MISSING = object()
_STATE = threading.local()  # .depth: API calls running on this thread; .read_only: the outermost is a read
_LIVE: list[tuple[_Items, Any]] = []  # (mapping, key) holding a built Item since the last compaction
_EMPTIED: list[_Items] = []  # partitions that were empty at some point since the last compaction
#: id(Item) -> (that Item, the bytes it was built from, them decompressed), for the
#: items built from bytes since the last compaction
_ORIGIN: dict[int, tuple[Any, bytes, bytes]] = {}
_LIVE_LOCK = threading.Lock()
_CALL_LOCK: Any = None  # the lock every DynamoDB API call runs under (set by install)


def _plain(value: Any) -> Any:
    """A ``DynamoType`` (or a wire value) as plain data ``DynamoType(...)`` rebuilds."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if not isinstance(value, DynamoType):
        return value
    kind = value.type
    if kind == "M":
        return {"M": {k: _plain(v) for k, v in value.value.items()}}
    if kind == "L":
        return {"L": [_plain(v) for v in value.value]}
    return {kind: value.value}


class _Dictionary:
    """A zlib preset dictionary made of samples of the first items stored.

    Items compressed one by one gain little (a 900-byte item to 500): what
    repeats is across items (attribute names, key prefixes, enum values).
    While the first ``LEARN_FACTOR * DICTIONARY_BYTES`` of items go by, it
    keeps ``SAMPLES_PER_KIND`` of each kind of item (the text of its hash
    and range key up to the first ``#``, as single-table designs name their
    items: ``RUN#..``/``STAGE#..``), and those become the preset dictionary of
    every later item.  Samples of every kind compress better than the first
    items in a row (the ``direct`` preset's items: about 240 bytes an item
    against 264, docs/benchmarks.md "Memory").  The dictionary never
    changes after that, so a blob's first byte (0: plain zlib, 1: with the
    dictionary) says how to read it.
    """

    def __init__(self) -> None:
        self.data: bytes | None = None
        self._samples: dict[tuple[str, str], list[bytes]] = {}
        self._seen = 0
        self._lock = threading.Lock()

    def compress(self, raw: bytes, kind: tuple[str, str] = ("", "")) -> bytes:
        data = self.data
        if data is None:
            self._learn(raw, kind)
            return b"\x00" + zlib.compress(raw, ZLIB_LEVEL)
        packer = zlib.compressobj(ZLIB_LEVEL, zdict=data)
        return b"\x01" + packer.compress(raw) + packer.flush()

    def decompress(self, blob: bytes) -> bytes:
        if blob[0] == 0:
            return zlib.decompress(blob[1:])
        assert self.data is not None
        unpacker = zlib.decompressobj(zdict=self.data)
        return unpacker.decompress(blob[1:]) + unpacker.flush()

    def _learn(self, raw: bytes, kind: tuple[str, str]) -> None:
        with self._lock:
            if self.data is not None:
                return
            samples = self._samples.setdefault(kind, [])
            if len(samples) < SAMPLES_PER_KIND:
                samples.append(raw)
            self._seen += len(raw)
            if self._seen >= LEARN_FACTOR * DICTIONARY_BYTES:
                self.data = b"".join(b"".join(s) for s in self._samples.values())[-DICTIONARY_BYTES:]
                self._samples = {}


def _kind(item: Any) -> tuple[str, str]:
    """An item's kind for the dictionary: its keys' text up to the first ``#``."""
    def prefix(key: Any) -> str:
        value = getattr(key, "value", None)
        return value.split("#", 1)[0] if isinstance(value, str) and "#" in value else ""
    return prefix(item.hash_key), prefix(item.range_key)


DICTIONARY = _Dictionary()


def _pickled(item: Any) -> bytes:
    return pickle.dumps({name: _plain(value) for name, value in item.attrs.items()},
                        protocol=pickle.HIGHEST_PROTOCOL)


def encode(item: Any) -> bytes:
    """An ``Item``'s attributes, compact."""
    return DICTIONARY.compress(_pickled(item), _kind(item))


def decode(blob: bytes, hash_key: Any, range_key: Any, raw: bytes | None = None) -> Any:
    """The ``Item`` moto stored, rebuilt from :func:`encode`'s bytes (``raw``:
    them decompressed, when the caller has them).  Its size was checked when
    it was written, so it is not measured again."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    attrs = pickle.loads(DICTIONARY.decompress(blob) if raw is None else raw)
    item: Any = Item.__new__(Item)
    item.hash_key = hash_key
    item.range_key = range_key
    built = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.__init__(built, ((k, DynamoType(v)) for k, v in attrs.items()))
    item.attrs = built
    return item


def _in_call() -> bool:
    return getattr(_STATE, "depth", 0) > 0


class _Items(dict):  # type: ignore[type-arg]
    """key -> item, each item held as bytes and built into an ``Item`` when read.

    ``hash_key`` is the partition's hash key when the keys are range keys
    (``None`` when the keys are hash keys of a table without a range key),
    and ``owner`` the table's mapping of partitions holding it.
    """

    __slots__ = ("hash_key", "owner")

    def __init__(self, hash_key: Any = None, owner: _Partitions | None = None) -> None:
        super().__init__()
        self.hash_key = hash_key
        self.owner = owner

    def _build(self, key: Any, blob: bytes) -> Any:
        raw = DICTIONARY.decompress(blob)
        item = decode(blob, key, None, raw) if self.hash_key is None else decode(blob, self.hash_key, key, raw)
        if not (_in_call() and getattr(_STATE, "read_only", False)):
            dict.__setitem__(self, key, item)  # moto may change it in place: keep this one
            with _LIVE_LOCK:  # if it comes back unchanged, its bytes are kept (compact)
                _ORIGIN[id(item)] = (item, blob, raw)
            _live(self, key)
        return item

    def __getitem__(self, key: Any) -> Any:
        value = dict.__getitem__(self, key)
        return self._build(key, value) if type(value) is bytes else value

    def get(self, key: Any, default: Any = None) -> Any:
        value = dict.get(self, key, _MISSING)
        if value is _MISSING:
            return default
        return self._build(key, value) if type(value) is bytes else value

    def __setitem__(self, key: Any, value: Any) -> None:
        dict.__setitem__(self, key, value)
        if type(value) is not bytes:
            _live(self, key)

    def pop(self, key: Any, *default: Any) -> Any:
        value = dict.pop(self, key, *default)
        if self.owner is not None and not self:
            _emptied(self)
        if type(value) is bytes:
            hash_key, range_key = (key, None) if self.hash_key is None else (self.hash_key, key)
            return decode(value, hash_key, range_key)
        return value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def values(self) -> list[Any]:  # type: ignore[override]
        return [self[k] for k in list(dict.keys(self))]

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        return [(k, self[k]) for k in list(dict.keys(self))]

    def __iter__(self) -> Any:
        return iter(list(dict.keys(self)))

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def copy(self) -> _Items:
        new = _Items(self.hash_key)
        dict.update(new, dict.items(self))
        return new

    def __deepcopy__(self, memo: dict[int, Any]) -> _Items:
        import copy

        new = _Items(copy.deepcopy(self.hash_key, memo), memo.get(id(self.owner)))
        for key, value in dict.items(self):
            dict.__setitem__(new, copy.deepcopy(key, memo),
                             value if type(value) is bytes else encode(value))
        return new

    def __reduce__(self) -> Any:
        return (_Items, (self.hash_key, self.owner), None, None, iter(dict.items(self)))


class _Partitions(defaultdict):  # type: ignore[type-arg]
    """A range-keyed table's ``items``: hash key -> :class:`_Items` of its range keys.

    moto's ``defaultdict(dict)`` kept an empty partition for every hash key
    ever read (a GetItem of a missing key creates one) or emptied: those
    are dropped when the call that left them ends (an empty partition
    answers nothing: no read, query, scan or count sees it).
    """

    def __missing__(self, key: Any) -> _Items:
        partition = self[key] = _Items(key, self)
        _emptied(partition)  # empty until an item is put in it
        return partition

    def __deepcopy__(self, memo: dict[int, Any]) -> _Partitions:
        import copy

        new = _Partitions()
        memo[id(self)] = new
        for key, value in dict.items(self):
            dict.__setitem__(new, copy.deepcopy(key, memo), copy.deepcopy(value, memo))
        return new

    def __reduce__(self) -> Any:
        return (_Partitions, (), None, None, iter(dict.items(self)))


def _emptied(partition: _Items) -> None:
    with _LIVE_LOCK:
        _EMPTIED.append(partition)


def _live(mapping: _Items, key: Any) -> None:
    with _LIVE_LOCK:
        _LIVE.append((mapping, key))
        waiting = len(_LIVE)
    lock = _CALL_LOCK
    # Outside any call only, and never under another thread's call (whose
    # items moto may still be changing): that call compacts them as it ends.
    if waiting > LIVE_LIMIT and not _in_call() and lock is not None and lock.acquire(blocking=False):
        try:
            compact()
        finally:
            lock.release()


def compact() -> int:
    """Turn every item built since the last compaction back into bytes.
    Called when no API call is between reading and writing an item (at the
    end of each call, under the DynamoDB lock).  Returns how many it
    compressed (an unchanged item keeps its bytes and is not counted)."""
    with _LIVE_LOCK:
        pending = _LIVE[:]
        _LIVE.clear()
        emptied = _EMPTIED[:]
        _EMPTIED.clear()
        origins = dict(_ORIGIN)
        _ORIGIN.clear()
    for partition in emptied:
        owner = partition.owner
        if not partition and owner is not None and dict.get(owner, partition.hash_key) is partition:
            dict.__delitem__(owner, partition.hash_key)
    done = 0
    for mapping, key in pending:
        value = dict.get(mapping, key, None)
        if value is None or type(value) is bytes:
            continue
        # An item read inside a write call (a failed condition, a transaction's
        # backup or ConditionCheck) and not changed pickles to the same bytes:
        # its old blob is kept instead of compressing it again.  (Equal pickles
        # mean equal items; a pickle that differs only in how it shares equal
        # strings is compressed again, which is merely the old cost.)
        raw = _pickled(value)
        origin = origins.get(id(value))
        if origin is not None and origin[0] is value and origin[2] == raw:
            dict.__setitem__(mapping, key, origin[1])
        else:
            dict.__setitem__(mapping, key, DICTIONARY.compress(raw, _kind(value)))
            done += 1
    return done


def compact_table(table: Any) -> None:
    """Hold a table's items in the compact form (a new table, or one moto
    replaced ``items`` of, e.g. restoring a backup)."""
    items = table.items
    if isinstance(items, _Partitions | _Items):
        return
    if table.range_key_attr is not None:
        new: Any = _Partitions()
        for hash_key, partition in items.items():
            for range_key, item in partition.items():
                new[hash_key][range_key] = item
    else:
        new = _Items(None)
        for hash_key, item in items.items():
            new[hash_key] = item
    table.items = new


def install() -> None:
    """Hold every new table's items compact, and compact again after every
    DynamoDB API call, under the local stack's DynamoDB lock (the one that
    makes each call atomic: no other call sees an item half-way)."""
    global _INSTALLED, _CALL_LOCK
    if _INSTALLED:
        return
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    from signalfire_local.stack import _DYNAMO_LOCK as lock

    _CALL_LOCK = lock

    original_init = Table.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807
        original_init(self, *args, **kwargs)
        compact_table(self)

    Table.__init__ = __init__  # type: ignore[method-assign]

    original_call = DynamoHandler.call_action
    # The local stack's own wrapper (stack._serialize_dynamodb) takes the
    # lock itself, after letting the API go first (priority.py): taking it
    # here, around that wait, would make a request wait behind a pipeline
    # call that is standing aside for it.  Under that wrapper the lock is
    # taken only to compact; without it (bare moto), around the whole call.
    locked_inside = getattr(original_call, "_signalfire_locked", False)

    def call_action(self: Any) -> Any:
        depth = getattr(_STATE, "depth", 0)
        if depth == 0:
            _STATE.read_only = self._get_action() in READ_ACTIONS
        _STATE.depth = depth + 1
        try:
            if locked_inside:
                return original_call(self)
            with lock:
                return original_call(self)
        finally:
            _STATE.depth = depth
            if depth == 0:
                _STATE.read_only = False
                with lock:
                    compact()

    call_action._signalfire_itemstore = True  # type: ignore[attr-defined]
    # already journaled and locked inside: stack._serialize_dynamodb must not wrap it again
    call_action._signalfire_locked = locked_inside  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _INSTALLED = True
