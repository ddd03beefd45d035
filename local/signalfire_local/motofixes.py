"""Fixes to moto that let it emulate AWS under sustained traffic.

moto is written for unit tests: a few calls, then the mock is torn down.
Kept running as `signalfire local`, four of its shortcuts turn into
unbounded cost.  Each fix below keeps moto's behaviour as AWS defines it
and changes only how much it copies or keeps; each is small enough to send
upstream, and tests/functional/test_motofixes.py covers it
(docs/local-mode.md, "Running for days").

1. ``transact_write_items`` deep-copied every table it touched, for every
   transaction, to roll back on failure: a write cost O(table size).  Here
   the backup holds only the items the transaction names (at most 100).
2. Every moto model instance (each DynamoDB ``Item``, including every copy)
   was appended to a class-level ``instances_tracked`` list, used only by
   moto's server dashboard, and never released.  Nothing is tracked here.
3. Step Functions kept every execution, with its worker thread, evaluation
   environment and full event history, forever; start and describe scan
   that list.  Here a machine keeps its running executions and the newest
   ``FINISHED_EXECUTIONS_KEPT`` finished ones (AWS keeps closed executions
   for 90 days, then they are gone too); the run records in DynamoDB are
   the lasting account of a run.  An execution's copy of its machine
   shares the machine's list of executions (a copy of the list kept every
   earlier execution alive, so none was ever released).
4. The ASL parser (ANTLR's Python runtime) shares its prediction caches
   between parser instances and is not thread-safe: two executions starting
   at once could crash the parse and leave the run stuck.  Parsing is
   serialized under one lock.  And each execution parsed its definition
   again (a third of an execution's time): an execution now reuses the
   program parsed from the same text.  The parsed program is a tree of
   read-only components (every per-execution value lives in the execution's
   ``Environment``); the one lazily set attribute, a component's heap key,
   is set for the whole tree before the program is shared.

5. Every JSONPath in the ASL (``$.index``, ``States.Format('RUN#{}',
   $.run_id)``, ...) was compiled again at every evaluation, and compiling
   builds a new LALR parser table: most of an execution's time.  A
   compiled path is immutable, so it is compiled once per text.

6. Every Query walked and sorted the whole table (``Table.all_items``),
   for a key on the table and for a global secondary index alike: a query
   cost O(n log n) in the table, where DynamoDB's costs O(result).  A query
   on the table now looks only at its partition; a query on a GSI looks
   only at the items whose index key matches, found through an index kept
   up to date by every write path (put, update, delete, transaction
   rollback) and built on first use.  moto's own query code still decides
   what matches, in what order.

7. Each Lambda or DynamoDB task of an execution built a new boto3 client
   (a session, service models read from disk, an SSL context): a tenth of
   an execution's time.  botocore clients are thread-safe and these take no
   per-call state, so one client per (region, service) is reused.

8. Every DynamoDB answer went through moto's model-driven response
   serializer, which for each attribute value of each item asks up to six
   alias providers for each of the ten members of ``AttributeValue``
   (``S``, ``N``, ... ``BOOL``): a third of the local stack's CPU.  A wire-
   shaped attribute value (a dict whose keys are all ``AttributeValue``
   members, which is what moto's ``dynamo_to_dict`` produces) is now
   serialized directly; anything else still takes moto's path.  A test
   checks both paths give the same JSON for generated values.

9. Building an ``Item`` set its attributes one at a time into a
   ``LimitedSizeDict`` that re-measures the whole item at every set, so
   writing an item of n attributes cost O(n^2) size computations.  The
   attributes are now set at once and the item measured once against the
   same limit (sizes are never negative, so the total after the last set is
   the largest the per-set checks would have seen).

10. Every request listed the methods of its response class
    (``inspect.getmembers``, walking the whole class) to find the action's
    handler.  A class's methods do not change while moto runs, so the list
    is kept per class.

11. Every UpdateItem parsed its UpdateExpression twice (once to check the
    names it uses, once to apply it), and every transaction's Update once
    more.  An expression's parse tree is only read by those callers; the
    validator that applies it works on its own deep copy.  So the tree is
    parsed once per expression text (a bounded cache: our handlers use a few
    dozen distinct expressions).

12. UpdateItem deep-copied the item before changing it, for the stream
    record it adds only when the table has a stream.  moto's own function
    runs with that one line changed: the copy is made only for a stream.

13. Each UpdateItem's validator deep-copied the parsed expression through
    ``copy.deepcopy``'s generic protocol, node by node.  An expression
    node now makes the same copy directly (same classes, attributes and
    links; anything else still goes through ``copy.deepcopy``).

14. Each condition expression was lexed at every parse (twice per
    UpdateItem), and each identifier looked up in a list of 573 reserved
    words.  Tokens depend on the text alone: they are kept per text and
    each call gets fresh ones; the words are a set.

15. Every request was rebuilt as a werkzeug request to hand moto's parser
    its body.  A botocore request in the ``json`` protocol gives its body
    straight to the same parser; anything else takes moto's path.

16. Each of the ten passes of an UpdateItem's validator rebuilt its
    processing map (node class -> method) twice per node visited.  The map
    is the same literal each time: it is built once per pass.

17. UpdateItem's answer deep-copied the old item even when ReturnValues
    (NONE, ALL_NEW) never reads it.  It is copied only for ALL_OLD,
    UPDATED_OLD and UPDATED_NEW.

18. moto lists every worker thread for its test teardown; a finished one
    keeps its execution's environment alive.  Finished threads are pruned
    at each start and when an execution ends.

19. StartExecution checked a new name against every execution of the
    machine (a scan).  The same rule is answered from a name index that
    follows the machine's list.

20. StartExecution deep-copied the machine for each execution (1.4 KB,
    kept while it waits its turn and after it ends).  Executions started
    while the machine is unchanged share one copy; any change to the
    machine gives the next start a new one.

Fixes 12-17 are listed in ``_PER_CALL`` and :func:`moto_own_path` puts
moto's own code back inside a block, so tests compare both paths.

All twenty are installed by :func:`install` (idempotent), after ``mock_aws``
has started, with :mod:`signalfire_local.itemstore` (items held compact).
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections import deque
from typing import Any

FINISHED_EXECUTIONS_KEPT = 1000

_INSTALLED = False
_LOCK = threading.Lock()


def install() -> None:
    global _INSTALLED
    with _LOCK:
        if _INSTALLED:
            return
        _transactions_back_up_items_only()
        _stop_tracking_model_instances()
        _bound_finished_executions()
        _serialize_asl_parsing()
        _compile_json_paths_once()
        _update_items_without_needless_copies()  # 12, before 6 wraps update_item
        _query_by_key()
        _reuse_task_clients()
        _serialize_attribute_values_directly()
        _measure_new_items_once()
        _list_response_methods_once()
        _parse_update_expressions_once()
        _copy_expression_trees_cheaply()
        _lex_condition_expressions_once()
        _parse_json_requests_from_the_body()
        _build_processing_maps_once()
        _copy_old_items_only_when_returned()
        __import__("signalfire_local.itemstore").itemstore.install()  # items kept compact (itemstore.py)
        _INSTALLED = True


# -- 1. DynamoDB transactions ------------------------------------------------------------


def _item_key(table: Any, op_type: str, op: dict[str, Any]) -> tuple[Any, Any] | None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    attrs = op.get("Item") if op_type == "Put" else op.get("Key")
    if not isinstance(attrs, dict) or table.hash_key_attr not in attrs:
        return None
    hash_value = DynamoType(attrs[table.hash_key_attr])
    range_value = None
    if table.range_key_attr is not None:
        if table.range_key_attr not in attrs:
            return None
        range_value = DynamoType(attrs[table.range_key_attr])
    return hash_value, range_value


class _ItemBackup:
    """Deep copies of the items a transaction names, taken before it runs."""

    def __init__(self, backend: Any, transact_items: list[dict[str, Any]]) -> None:
        self.saved: list[tuple[Any, Any, Any, Any]] = []  # (table, hash, range, item copy or None)
        for entry in transact_items:
            if len(entry) != 1:
                continue  # moto rejects it before writing anything
            op_type, op = next(iter(entry.items()))
            table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            if table is None:
                continue
            key = _item_key(table, op_type, op)
            if key is None:
                continue
            current = table.get_item(*key) if (key[1] is not None or not table.has_range_key) else None
            self.saved.append((table, key[0], key[1], copy.deepcopy(current)))

    def restore(self) -> None:
        for table, hash_value, range_value, item in reversed(self.saved):
            if item is None:
                if range_value is not None:
                    table.items.get(hash_value, {}).pop(range_value, None)
                else:
                    table.items.pop(hash_value, None)
            elif range_value is not None:
                table.items[hash_value][range_value] = item
            else:
                table.items[hash_value] = item
            _reindex(table, hash_value, range_value)


def _transactions_back_up_items_only() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "_signalfire_fixed", False):
        return

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backup = _ItemBackup(self, transact_items)
        tables = self.tables
        # moto's own rollback swaps whole-table copies into ``self.tables``;
        # give it a view whose copies are free and roll back the items here.
        self.tables = _NoCopyTables(tables)
        try:
            return original(self, transact_items)
        except BaseException:
            backup.restore()
            raise
        finally:
            self.tables = tables

    transact_write_items._signalfire_fixed = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


class _NoCopyTables(dict):  # type: ignore[type-arg]
    """``self.tables`` during a transaction: the same Table objects, but
    ``copy.deepcopy(tables[name])`` returns the table itself (the rollback
    is done item by item by :class:`_ItemBackup`), and assigning a table
    back writes through to the real mapping."""

    def __init__(self, real: dict[str, Any]) -> None:
        super().__init__({name: _SharedTable(table) for name, table in real.items()})
        self._real = real

    def __setitem__(self, name: str, value: Any) -> None:
        self._real[name] = value.table if isinstance(value, _SharedTable) else value
        super().__setitem__(name, value)


class _SharedTable:
    """A table reference whose deep copy is itself; everything else is the table's."""

    __slots__ = ("table",)

    def __init__(self, table: Any) -> None:
        object.__setattr__(self, "table", table)

    def __deepcopy__(self, memo: dict[int, Any]) -> _SharedTable:
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self.table, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.table, name, value)

    def __bool__(self) -> bool:
        return True


# -- 2. model instance registry -----------------------------------------------------------


def _stop_tracking_model_instances() -> None:
    from moto.core.common_models import BaseModel

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:  # noqa: N807
        return object.__new__(cls)

    BaseModel.__new__ = __new__  # type: ignore[assignment,method-assign]
    from moto.core.model_instances import reset_model_data

    reset_model_data()


# -- 3. Step Functions executions ---------------------------------------------------------


class _FinishedExecutions:
    """The newest finished executions; older ones leave their machine's list."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._finished: deque[tuple[list[Any], Any]] = deque()

    def finished(self, listing: list[Any] | None, execution: Any) -> None:
        if listing is None:
            return
        with self._lock:
            self._finished.append((listing, execution))
            while len(self._finished) > FINISHED_EXECUTIONS_KEPT:
                old_listing, old = self._finished.popleft()
                with contextlib.suppress(ValueError):  # already gone
                    old_listing.remove(old)
                    NAMES.removed(old)


FINISHED = _FinishedExecutions()


class _ExecutionNames:
    """name -> execution for each machine's list of executions, kept on the
    machine (so it goes with it) and shared by its copies, like the list.

    moto's StartExecution checks a new name against every execution of the
    machine (a list scan): with a storm's runs queued (9,000 at the end of
    one) that scan was most of the webhook's added CPU (3.7 ms of it under
    a profiler).  The index follows the list: entries are added when a start
    returns and removed when the bound drops an execution; if its size ever
    differs from the list's (a start between moto's append and ours), it is
    rebuilt from the list, so it never answers other than the scan would."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rebuilds = 0

    def _names(self, machine: Any) -> dict[str, Any]:
        names: dict[str, Any] | None = machine.__dict__.get("_signalfire_names")
        listing = machine.executions
        if names is None or len(names) != len(listing):
            self.rebuilds += 1
            names = {e.name: e for e in list(listing)}
            machine.__dict__["_signalfire_names"] = names
        return names

    def lookup(self, machine: Any, name: str) -> Any:
        with self._lock:
            return self._names(machine).get(name)

    def added(self, machine: Any, execution: Any) -> None:
        with self._lock:
            names = machine.__dict__.get("_signalfire_names")
            if names is not None:
                names[execution.name] = execution  # a stray entry only makes the sizes differ: rebuilt
                execution._signalfire_names = names

    def removed(self, execution: Any) -> None:
        with self._lock:
            names = getattr(execution, "_signalfire_names", None)
            if names is not None and names.get(execution.name) is execution:
                del names[execution.name]


NAMES = _ExecutionNames()


def _prune_worker_threads() -> None:
    """moto appends every worker thread to ``TMP_THREADS`` (for its own test
    teardown); a finished thread keeps its execution alive through it."""
    from moto.stepfunctions.parser import utils

    utils.TMP_THREADS[:] = [t for t in list(utils.TMP_THREADS) if t.is_alive()]


_STARTING = threading.local()  # .on: inside StartExecution (its copy of the machine may be shared)
#: A machine's attributes that are records, not its definition: an execution's copy shares them.
_RECORDS = frozenset({"executions", "_signalfire_names", "_signalfire_clone"})


def _machine_stamp(machine: Any) -> tuple[tuple[str, str], ...]:
    """What an execution's copy of ``machine`` is a copy of: every attribute
    but its records, by value (``repr``: an object without a value repr,
    such as a published version, compares by identity, so any change gives
    a new stamp)."""
    return tuple((name, repr(value)) for name, value in sorted(machine.__dict__.items()) if name not in _RECORDS)


def _bound_finished_executions() -> None:
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    # StartExecution deep-copies the state machine, with the list of its
    # executions, whose worker threads hold locks that cannot be copied (the
    # second execution of a machine failed with "cannot pickle
    # '_thread.RLock' object").  An execution is a record, not part of the
    # definition: the copy shares it.
    Execution.__deepcopy__ = lambda self, memo: self  # type: ignore[attr-defined]
    # The copy each execution keeps of its machine also copied the machine's
    # list of executions: execution N held the list of executions before it,
    # each holding its own, so no execution was ever released (the bound
    # below only pruned the machine's own list).  The copy shares that list.
    # And each execution had a copy of its own (1.4 KB, kept while it waits
    # its turn and after it finishes): executions started while the machine
    # is unchanged share one copy, which nothing changes after it is made.
    from moto.stepfunctions.models import StateMachineInstance

    def machine_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
        starting = not memo and getattr(_STARTING, "on", False)  # StartExecution's own copy of the machine
        if starting:
            stamp = _machine_stamp(self)
            kept = self.__dict__.get("_signalfire_clone")
            if kept is not None and kept[0] == stamp:
                return kept[1]
        clone = self.__class__.__new__(self.__class__)
        memo[id(self)] = clone
        for name, value in self.__dict__.items():
            if name != "_signalfire_clone":  # records and their index are shared, not copied
                clone.__dict__[name] = value if name in _RECORDS else copy.deepcopy(value, memo)
        if starting:
            self.__dict__["_signalfire_clone"] = (stamp, clone)
        return clone

    StateMachineInstance.__deepcopy__ = machine_deepcopy  # type: ignore[attr-defined]

    start = StepFunctionsParserBackend.start_execution
    if getattr(start, "_signalfire_fixed", False):
        return

    def start_execution(self: Any, state_machine_arn: str, *args: Any, **kwargs: Any) -> Any:
        _prune_worker_threads()
        _STARTING.on = True
        try:
            execution: Any = start(self, state_machine_arn, *args, **kwargs)
        finally:
            _STARTING.on = False
        if getattr(execution, "_signalfire_listing", None) is None:
            machine = self.describe_state_machine(state_machine_arn)
            execution._signalfire_listing = getattr(machine, "executions", None)
            NAMES.added(machine, execution)
            if execution.exec_status not in (None, "RUNNING"):  # finished before we got here
                FINISHED.finished(execution._signalfire_listing, execution)
                execution._signalfire_counted = True
        return execution

    from moto.stepfunctions.exceptions import ExecutionAlreadyExists
    from moto.stepfunctions.models import StateMachine

    def handle_name_input_idempotency(self: Any, name: str, execution_input: str) -> Any:
        # moto's rule, word for word, on the one execution of that name (a dict, not a scan)
        execution = NAMES.lookup(self, name)
        if execution is None:
            return None
        if execution_input == execution.execution_input and execution.status == "RUNNING":
            return execution
        raise ExecutionAlreadyExists("Execution Already Exists: '" + execution.execution_arn + "'")

    StateMachine._handle_name_input_idempotency = handle_name_input_idempotency  # type: ignore[method-assign]

    terminated = BaseExecutionWorkerCommunication.terminated

    def on_terminated(self: Any) -> None:
        terminated(self)
        execution = self.execution
        if not getattr(execution, "_signalfire_counted", False):
            execution._signalfire_counted = True
            FINISHED.finished(getattr(execution, "_signalfire_listing", None), execution)
        # Also here, not only at a start: a backlog that drains with no new start
        # (a storm's queued runs) would otherwise keep every finished thread, and
        # through its closure the execution's whole environment, until the next one.
        _prune_worker_threads()

    start_execution._signalfire_fixed = True  # type: ignore[attr-defined]
    StepFunctionsParserBackend.start_execution = start_execution  # type: ignore[method-assign]
    BaseExecutionWorkerCommunication.terminated = on_terminated  # type: ignore[method-assign]


# -- 4. ASL parsing ----------------------------------------------------------------------


def _serialize_asl_parsing() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.parse.intrinsic.intrinsic_parser import IntrinsicParser

    parse_lock = threading.RLock()  # the ASL parse runs the intrinsic parser inside it
    for parser in (AmazonStateLanguageParser, IntrinsicParser):
        original = parser.parse
        if getattr(original, "_signalfire_fixed", False):
            continue

        def parse(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with parse_lock:
                return _original(*args, **kwargs)

        parse._signalfire_fixed = True  # type: ignore[attr-defined]
        parser.parse = staticmethod(parse)  # type: ignore[method-assign,assignment]

    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    entrypoint = ExecutionWorker._get_evaluation_entrypoint
    if getattr(entrypoint, "_signalfire_fixed", False):
        return
    programs: dict[str, Any] = {}

    def get_entrypoint(self: Any) -> Any:
        definition = self._evaluation_details.state_machine_details.definition
        program = programs.get(definition)
        if program is None:
            with parse_lock:
                program = programs.get(definition)
                if program is None:
                    program = AmazonStateLanguageParser.parse(definition)[0]
                    _set_heap_keys(program)
                    if len(programs) > 64:  # a few definitions live at once; drop old revisions
                        programs.clear()
                    programs[definition] = program
        return program

    get_entrypoint._signalfire_fixed = True  # type: ignore[attr-defined]
    ExecutionWorker._get_evaluation_entrypoint = get_entrypoint  # type: ignore[method-assign]


def _set_heap_keys(root: Any) -> None:
    """Give every component of a parsed program its heap key now, so threads
    sharing the program never race to set it."""
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    seen: set[int] = set()
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, EvalComponent):
            _ = obj.heap_key
        if isinstance(obj, dict):
            todo.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            todo.extend(obj)
        elif hasattr(obj, "__dict__") and type(obj).__module__.startswith("moto."):
            todo.extend(vars(obj).values())


# -- 5. JSONPath compilation --------------------------------------------------------------


def _compile_json_paths_once() -> None:
    import functools

    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    modules: tuple[Any, ...] = (json_path, result_path)
    for module in modules:
        parse = module.parse
        if getattr(parse, "_signalfire_fixed", False):
            continue
        cached = functools.lru_cache(maxsize=4096)(parse)
        cached._signalfire_fixed = True  # type: ignore[attr-defined]
        module.parse = cached


# -- 6. queries by key ---------------------------------------------------------------------

_QUERY_SCOPE = threading.local()  # (table, candidate items) while a query runs on this thread


class _GsiIndex:
    """For each single-attribute GSI hash key: value -> primary keys of the
    items holding it.  Stale entries are harmless (moto's query re-checks
    each candidate); a missing one would hide an item, so every write path
    calls :func:`_reindex`.

    Held for every indexed item for as long as the stack runs, so held
    small: a string key is its ``str`` (moto's ``DynamoType`` with its
    attribute dict is about four times that), a value most items hold alone
    maps to that one primary key, not to a dict of one."""

    def __init__(self, table: Any) -> None:
        self.attrs: dict[str, str] = {}
        for index in table.global_indexes or []:
            hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
            if len(hashes) == 1:
                self.attrs[index.name] = hashes[0]
        # index name -> value -> one primary key, or a dict of them (as keys)
        self.by_value: dict[str, dict[Any, Any]] = {name: {} for name in self.attrs}
        self.names = tuple(self.attrs)
        # primary key -> the value it holds under each index (None: not indexed there), in ``names`` order
        self.of_item: dict[tuple[Any, Any], tuple[Any, ...]] = {}

    def holders(self, index_name: str, value: Any) -> list[tuple[Any, Any]]:
        """The primary keys indexed under ``value`` (a ``DynamoType``), in their ``DynamoType`` form."""
        held = self.by_value[index_name].get(_plain(value))
        pks = [] if held is None else list(held) if isinstance(held, dict) else [held]
        return [(_typed(h), _typed(r)) for h, r in pks]

    def update(self, key: tuple[Any, Any], item: Any) -> None:
        pk = (_plain_key(key[0]), _plain_key(key[1]))
        for name, value in zip(self.names, self.of_item.pop(pk, ()), strict=False):
            if value is None:
                continue
            values = self.by_value[name]
            held = values.get(value)
            if isinstance(held, dict):
                held.pop(pk, None)
                if len(held) == 1:
                    values[value] = next(iter(held))
            elif held == pk:
                del values[value]
        if item is None:
            return
        found: list[Any] = []
        for name, attr in self.attrs.items():
            typed = item.attrs.get(attr)
            if typed is None:
                found.append(None)
                continue
            value = _plain(typed)
            values = self.by_value[name]
            held = values.get(value)
            if held is None or held == pk:
                values[value] = pk
            elif isinstance(held, dict):
                held[pk] = None
            else:
                values[value] = {held: None, pk: None}
            found.append(value)
        if any(v is not None for v in found):
            self.of_item[pk] = tuple(found)


def _plain(value: Any) -> Any:
    """A key value as the index holds it, equal exactly when moto's values
    are: a string as its ``str``, a number or binary as (type, value)."""
    return value.value if value.type == "S" else (value.type, value.cast_value)


def _plain_key(value: Any) -> Any:
    """A primary key part: a string key as its ``str``; other types (not in
    our tables) kept as the ``DynamoType``."""
    return value.value if value is not None and value.type == "S" else value


def _typed(part: Any) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    return DynamoType({"S": part}) if isinstance(part, str) else part


def _each_item(table: Any) -> Any:
    """Every item of ``table``, built one at a time.  moto's ``all_items``
    builds every item at once and sorts them: held compact, a table of
    2,000 alerts became 1.4 million objects at once (85 MB resident that
    the process kept) when the index below was first built."""
    partitions = table.items
    for holder in [partitions] if table.range_key_attr is None else list(dict.values(partitions)):
        for key in list(dict.keys(holder)):
            item = holder.get(key)
            if item is not None:
                yield item


def _gsi_index(table: Any, build: bool) -> _GsiIndex | None:
    index = table.__dict__.get("_signalfire_gsi")
    if index is None and build:
        index = _GsiIndex(table)
        for item in _each_item(table):
            index.update((item.hash_key, item.range_key), item)
        table.__dict__["_signalfire_gsi"] = index
    return index


def _reindex(table: Any, hash_value: Any, range_value: Any) -> None:
    index = _gsi_index(table, build=False)
    if index is None:
        return
    item = _lookup(table, hash_value, range_value)
    index.update((hash_value, range_value), item)


def _lookup(table: Any, hash_value: Any, range_value: Any) -> Any:
    holder = table.items.get(hash_value)
    if holder is None:
        return None
    if table.range_key_attr is None:
        return holder
    return holder.get(range_value)


def _sort_key(item: Any) -> Any:
    return (item.hash_key, item.range_key) if item.range_key else item.hash_key


_ORIGINAL_ALL_ITEMS: Any = None


def _query_by_key() -> None:
    global _ORIGINAL_ALL_ITEMS
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "_signalfire_fixed", False):
        return
    _ORIGINAL_ALL_ITEMS = Table.all_items
    original_query = Table.query
    original_put = Table.put_item
    original_delete = Table.delete_item
    original_update = DynamoDBBackend.update_item

    def all_items(self: Any) -> Any:
        scope = getattr(_QUERY_SCOPE, "value", None)
        if scope is not None and scope[0] is self:
            return scope[1]
        return _ORIGINAL_ALL_ITEMS(self)

    def candidates(self: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any] | None:
        index_name = kwargs.get("index_name", args[7] if len(args) > 7 else None)
        if not index_name:
            hash_key = kwargs.get("hash_key", args[0] if args else None)
            if hash_key is None:
                return None
            holder = self.items.get(hash_key)
            if holder is None:
                return []
            return list(holder.values()) if self.range_key_attr is not None else [holder]
        conditions = kwargs.get("hash_key_conditions") or []
        index = _gsi_index(self, build=True)
        attr = index.attrs.get(index_name) if index else None
        if index is None or attr is None or len(conditions) != 1 or conditions[0][0] != attr:
            return None  # a local index or a multi-attribute key: moto's full walk
        found = (_lookup(self, h, r) for h, r in index.holders(index_name, conditions[0][1]))
        return [item for item in found if item is not None]

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        found = candidates(self, args, kwargs)
        if found is None:
            return original_query(self, *args, **kwargs)
        _QUERY_SCOPE.value = (self, sorted(found, key=_sort_key))
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _QUERY_SCOPE.value = None

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = original_put(self, *args, **kwargs)
        _reindex(self, item.hash_key, item.range_key)
        return item

    def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        try:
            return original_delete(self, hash_key, range_key)
        finally:
            _reindex(self, hash_key, range_key)

    def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        from moto.dynamodb.models.dynamo_type import DynamoType

        try:
            return original_update(self, table_name, key, *args, **kwargs)
        finally:
            table = self.tables.get(table_name)
            if isinstance(table, _SharedTable):  # the transaction's view of its tables
                table = table.table
            if table is not None and table.hash_key_attr in key:
                range_value = (DynamoType(key[table.range_key_attr])
                               if table.range_key_attr and table.range_key_attr in key else None)
                _reindex(table, DynamoType(key[table.hash_key_attr]), range_value)

    query._signalfire_fixed = True  # type: ignore[attr-defined]
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]
    Table.put_item = put_item  # type: ignore[method-assign]
    Table.delete_item = delete_item  # type: ignore[method-assign]
    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]


# -- 7. Step Functions task clients -------------------------------------------------------


def _reuse_task_clients() -> None:
    import importlib
    import sys

    from moto.stepfunctions.parser.asl.utils import boto_client

    original = boto_client.boto_client_for
    if getattr(original, "_signalfire_fixed", False):
        return
    clients: dict[tuple[Any, ...], Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        from moto.core.models import botocore_stubber

        from signalfire_local import iam

        # moto builds every task client with the same fixed test credentials
        # (``state_credentials`` does not change the client it returns).  A
        # client copies its session's hooks when it is made: one made before
        # the IAM check was installed would never be checked, so that is part
        # of the key.
        key = (region, service, botocore_stubber.enabled, iam.hooks_installed())
        client = clients.get(key)
        if client is None:
            with lock:
                client = clients.get(key)
                if client is None:
                    client = clients[key] = original(region, service, state_credentials)
        return client

    boto_client_for._signalfire_fixed = True  # type: ignore[attr-defined]
    prefix = "moto.stepfunctions.parser.asl.component.state.exec.state_task."
    for name in ("lambda_eval_utils", "service.state_task_service_dynamodb"):
        importlib.import_module(prefix + name)
    boto_client.boto_client_for = boto_client_for  # type: ignore[assignment]
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("moto.stepfunctions") and \
                getattr(module, "boto_client_for", None) is original:
            module.boto_client_for = boto_client_for  # type: ignore[attr-defined]


# -- 8. DynamoDB response serialization -----------------------------------------------

#: AttributeValue members and how moto's JSON serializer writes each.
_SCALARS = frozenset({"S", "N", "NULL", "BOOL"})
_STRING_SETS = frozenset({"SS", "NS"})
_ATTRIBUTE_MEMBERS = _SCALARS | _STRING_SETS | {"B", "BS", "M", "L"}


def _wire_value(serializer: Any, value: dict[str, Any]) -> dict[str, Any] | None:
    """``value`` as moto's serializer would write it, or None when it is not
    a plain wire-shaped attribute value (then moto's own path decides)."""
    out: dict[str, Any] = {}
    for member, inner in value.items():
        if member not in _ATTRIBUTE_MEMBERS:
            return None
        if inner is None:  # moto drops members whose value is None
            continue
        if member in _SCALARS:
            out[member] = inner
        elif member in _STRING_SETS:
            out[member] = list(inner)
        elif member == "B":
            out[member] = serializer._base64(inner)
        elif member == "BS":
            out[member] = [serializer._base64(v) for v in inner]
        elif member == "M":
            if not isinstance(inner, dict):
                return None
            mapped: dict[str, Any] = {}
            for k, v in inner.items():
                if v is None:  # a None structure in a map is dropped
                    continue
                if not isinstance(v, dict) or (conv := _wire_value(serializer, v)) is None:
                    return None
                mapped[k] = conv
            out[member] = mapped
        else:  # "L"
            items: list[Any] = []
            for v in inner:
                if not isinstance(v, dict) or (conv := _wire_value(serializer, v)) is None:
                    return None
                items.append(conv)
            out[member] = items
    return out


def _serialize_attribute_values_directly() -> None:
    from moto.core.serialize import BaseJSONSerializer

    original = BaseJSONSerializer._serialize_type_structure
    if getattr(original, "_signalfire_fixed", False):
        return

    def _serialize_type_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue" and isinstance(value, dict) \
                and shape.members.keys() == _ATTRIBUTE_MEMBERS:
            wire = _wire_value(self, value)
            if wire is not None:
                self._default_serialize(serialized, wire, shape, key)
                return
        original(self, serialized, value, shape, key)

    _serialize_type_structure._signalfire_fixed = True  # type: ignore[attr-defined]
    _serialize_type_structure._signalfire_original = original  # type: ignore[attr-defined]
    BaseJSONSerializer._serialize_type_structure = _serialize_type_structure  # type: ignore[method-assign]


# -- 9. Item construction ----------------------------------------------------------------

#: moto's own item limit (dynamo_type.LimitedSizeDict: between AWS's 400 KB and
#: the 409-410 KB its authors measured).
_MOTO_ITEM_LIMIT = 405000


def _measure_new_items_once() -> None:
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    if getattr(Item.__init__, "_signalfire_fixed", False):
        return

    def __init__(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:  # noqa: N807
        self.hash_key = hash_key
        self.range_key = range_key
        built = LimitedSizeDict.__new__(LimitedSizeDict)
        dict.__init__(built, ((k, DynamoType(v)) for k, v in attrs.items()))
        if sum(bytesize(k) + v.size() for k, v in built.items()) > _MOTO_ITEM_LIMIT:
            raise ItemSizeTooLarge
        self.attrs = built

    __init__._signalfire_fixed = True  # type: ignore[attr-defined]
    Item.__init__ = __init__  # type: ignore[method-assign]


# -- 10. Response class methods ----------------------------------------------------------


def _list_response_methods_once() -> None:
    import moto.core.responses as responses

    original = responses.method_names_from_class
    if getattr(original, "_signalfire_fixed", False):
        return
    known: dict[type, list[str]] = {}

    def method_names_from_class(clazz: Any) -> list[str]:
        names = known.get(clazz)
        if names is None:
            names = known[clazz] = original(clazz)
        return list(names)  # a copy: callers may change theirs

    method_names_from_class._signalfire_fixed = True  # type: ignore[attr-defined]
    responses.method_names_from_class = method_names_from_class  # type: ignore[assignment]


# -- 11. UpdateExpression parse trees --------------------------------------------------------

#: Distinct expression texts whose parse tree is kept.
PARSED_EXPRESSIONS_KEPT = 512


def _parse_update_expressions_once() -> None:
    import functools

    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    make = UpdateExpressionParser.make.__func__  # type: ignore[attr-defined]
    if getattr(make, "_signalfire_fixed", False):
        return

    @functools.lru_cache(maxsize=PARSED_EXPRESSIONS_KEPT)
    def parsed(cls: Any, expression: str) -> Any:
        return make(cls, expression)

    def cached_make(cls: Any, expression_str: str) -> Any:
        return parsed(cls, expression_str)

    cached_make._signalfire_fixed = True  # type: ignore[attr-defined]
    cached_make._signalfire_cache = parsed  # type: ignore[attr-defined]
    UpdateExpressionParser.make = classmethod(cached_make)  # type: ignore[assignment,method-assign]


# -- 12. UpdateItem without the stream's item copy -----------------------------------------

#: (owner, attribute, moto's own value) of every per-call fix (12-17), for
#: :func:`moto_own_path`, which the equivalence tests and bench/local_dynamodb_calls.py use.
_PER_CALL: list[tuple[Any, str, Any]] = []


def _current(owner: Any, name: str) -> Any:
    """What ``owner`` holds under ``name`` itself (a class's own attribute,
    None when it has none; a function's code)."""
    return vars(owner).get(name) if isinstance(owner, type) else getattr(owner, name)


def _replace(owner: Any, name: str, value: Any) -> None:
    _PER_CALL.append((owner, name, _current(owner, name)))
    setattr(owner, name, value)


@contextlib.contextmanager
def moto_own_path() -> Any:
    """moto's own code for everything fixes 12-17 replace, inside the block
    (tests and bench only: not thread-safe)."""
    fixed = [(owner, name, _current(owner, name)) for owner, name, _ in _PER_CALL]
    try:
        for owner, name, original in _PER_CALL:
            if original is None:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        yield
    finally:
        for owner, name, value in fixed:
            setattr(owner, name, value)


def _update_items_without_needless_copies() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.update_item
    if getattr(original, "_signalfire_fixed", False):
        raise RuntimeError("fix 12 must change moto's update_item before fix 6 wraps it")
    if getattr(original, "_signalfire_no_stream_copy", False):
        return
    # moto's UpdateItem deep-copies the item before changing it, for the
    # stream record it adds at the end, and adds one only when the table has a
    # stream.  The upstream fix is one line: copy only then.
    _recompile(original, "orig_item = copy.deepcopy(item)\n",
               "orig_item = copy.deepcopy(item) if table.stream_shard is not None else None\n")
    original._signalfire_no_stream_copy = True  # type: ignore[attr-defined]


def _recompile(function: Any, old: str, new: str) -> None:
    """Give ``function`` (moto's own) the code of its source with the line
    ``old`` changed to ``new``: the upstream diff, applied in place, so every
    reference to the function (and every wrapper of it) runs the change.
    The pin on moto keeps the text; a changed text stops the start."""
    import inspect
    import textwrap

    lines, first = inspect.getsourcelines(function)
    source = "\n" * (first - 1) + textwrap.dedent("".join(lines))  # tracebacks keep moto's line numbers
    if source.count(old) != 1:
        raise RuntimeError(f"moto's {function.__qualname__} changed: review motofixes")
    at = source.index(old)
    indent = source[source.rindex("\n", 0, at) + 1:at]  # each further line of ``new`` at ``old``'s indent
    new = ("\n" + indent).join(new.rstrip("\n").split("\n")) + "\n"
    namespace: dict[str, Any] = {}
    exec(compile(source.replace(old, new), inspect.getsourcefile(function) or "<moto>", "exec"),  # noqa: S102
         function.__globals__, namespace)
    _replace(function, "__code__", namespace[function.__name__].__code__)


# -- 13. expression trees copied cheaply ---------------------------------------------------

_ATOMS = (str, int, float, bool, type(None), bytes)


def _copy_expression_trees_cheaply() -> None:
    from moto.dynamodb.parsing.ast_nodes import Node  # type: ignore[attr-defined]

    if "__deepcopy__" in Node.__dict__:
        return

    node_types: dict[type, bool] = {}

    def copy_value(value: Any, memo: dict[int, Any]) -> Any:
        kind = type(value)
        if kind in _ATOMS:
            return value
        found = memo.get(id(value))
        if found is not None:
            return found
        if kind is list:
            out: list[Any] = []
            memo[id(value)] = out
            out.extend(v if type(v) is str else copy_value(v, memo) for v in value)
            return out
        is_node = node_types.get(kind)
        if is_node is None:
            is_node = node_types[kind] = issubclass(kind, Node)
        if is_node:
            return node_deepcopy(value, memo)
        return copy.deepcopy(value, memo)  # anything else (a DynamoType...): its own deep copy

    def node_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
        """The copy ``copy.deepcopy`` makes of a node (same classes, same
        attributes, the same sharing inside the copy), without the generic
        ``__reduce_ex__`` round trip per node."""
        clone = self.__class__.__new__(self.__class__)
        memo[id(self)] = clone
        clone.__dict__.update({name: value if type(value) is str or value is None else copy_value(value, memo)
                               for name, value in self.__dict__.items()})
        return clone

    _replace(Node, "__deepcopy__", node_deepcopy)


# -- 14. condition expressions lexed once per text -----------------------------------------


def _lex_condition_expressions_once() -> None:
    import functools
    from collections import deque as _deque

    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.parsing.reserved_keywords import ReservedKeywords

    lex = ConditionExpressionParser.__dict__["_lex_condition_expression"]
    if getattr(lex, "_signalfire_fixed", False):
        return

    @functools.lru_cache(maxsize=PARSED_EXPRESSIONS_KEPT)
    def tokens(expression: str) -> tuple[Any, ...]:
        parser = ConditionExpressionParser(expression, None, None)
        return tuple(lex(parser))

    def lex_condition_expression(self: Any) -> Any:
        # The tokens depend on the text alone (names and values are looked up
        # later).  Each call gets its own deque and its own token tuples (each
        # token's children list is new: nothing mutable is shared).
        try:
            cached = tokens(self.condition_expression)
        except TypeError:  # not hashable: moto's own path decides
            return lex(self)
        return _deque(node._replace(children=list(node.children)) for node in cached)

    lex_condition_expression._signalfire_fixed = True  # type: ignore[attr-defined]
    lex_condition_expression._signalfire_cache = tokens  # type: ignore[attr-defined]
    _replace(ConditionExpressionParser, "_lex_condition_expression", lex_condition_expression)

    # Every identifier in a condition was looked up in a list of the 573
    # reserved words; the same words, as a set.
    check = ConditionExpressionParser.__dict__["raise_exception_if_keyword"].__func__

    @functools.lru_cache(maxsize=1)
    def reserved() -> frozenset[str]:
        return frozenset(ReservedKeywords.get_reserved_keywords())

    def raise_exception_if_keyword(cls: Any, attribute: str) -> None:
        if attribute.upper() in reserved():
            check(cls, attribute)  # moto raises its own error

    _replace(ConditionExpressionParser, "raise_exception_if_keyword", classmethod(raise_exception_if_keyword))


# -- 15. JSON requests parsed from their body ------------------------------------------------


def _parse_json_requests_from_the_body() -> None:
    from botocore.awsrequest import AWSPreparedRequest
    from moto.core.parse import PROTOCOL_PARSERS, JSONParser
    from moto.core.request import determine_request_protocol
    from moto.core.responses import BaseResponse, get_service_model
    from moto.utilities.constants import APPLICATION_AMZ_JSON_1_0, APPLICATION_AMZ_JSON_1_1

    original = BaseResponse.__dict__["parse_parameters"]
    if getattr(original, "_signalfire_fixed", False):
        return
    amz_json = (APPLICATION_AMZ_JSON_1_0, APPLICATION_AMZ_JSON_1_1)

    def parse_parameters(self: Any, request: Any) -> None:
        # moto builds a whole werkzeug request (a WSGI environment, headers,
        # form parsing) from botocore's request for every call, to hand its
        # parser the method, query values, headers, body and path.  For the
        # "json" protocol (DynamoDB, Step Functions, Secrets Manager...) the
        # parser reads the body alone, so a botocore request in that protocol
        # gives its body straight to the same parser.  Anything else (gzip, a
        # form, a REST protocol, a werkzeug request) takes moto's own path.
        headers = getattr(request, "headers", None)
        if type(request) is not AWSPreparedRequest or headers is None \
                or headers.get("Content-Type") not in amz_json or headers.get("Content-Encoding"):
            return original(self, request)
        service_model = get_service_model(self.boto3_service_name)
        if determine_request_protocol(service_model, headers.get("Content-Type")) != "json" \
                or PROTOCOL_PARSERS["json"] is not JSONParser:
            return original(self, request)
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")  # as werkzeug stores a str body
        elif body is None:
            body = b""
        elif not isinstance(body, bytes):
            return original(self, request)  # a stream: moto's path reads it
        operation_model = service_model.operation_model(self._get_action())
        parser = JSONParser(operation_model, map_type=self.PROTOCOL_PARSER_MAP_TYPE)
        self.params = parser.parse({"method": request.method, "values": {},  # type: ignore[typeddict-item]
                                    "headers": headers, "body": body, "url_path": "", "url_params": {}})

    parse_parameters._signalfire_fixed = True  # type: ignore[attr-defined]
    _replace(BaseResponse, "parse_parameters", parse_parameters)


# -- 16. a traverser's processing map built once ---------------------------------------------


def _build_processing_maps_once() -> None:
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser  # type: ignore[attr-defined]

    if getattr(DepthFirstTraverser.__dict__["process"], "_signalfire_fixed", False):
        return

    def steps(self: Any) -> tuple[tuple[type, ...], tuple[tuple[type, Any, bool], ...]]:
        # Every moto traverser's _processing_map returns the same literal
        # mapping (node class -> one of its own methods) each time; moto
        # rebuilt it twice per node visited.  Kept per traverser, with the
        # methods unbound so the traverser does not refer to itself.
        found = self.__dict__.get("_signalfire_steps")
        if found is None:
            mapping = self._processing_map()
            found = (tuple(mapping), tuple(
                (kind, fn.__func__, True) if getattr(fn, "__self__", None) is self else (kind, fn, False)
                for kind, fn in mapping.items()))
            self.__dict__["_signalfire_steps"] = found
        return found

    def nodes_to_be_processed(self: Any) -> tuple[type, ...]:
        return steps(self)[0]

    def process(self: Any, node: Any) -> Any:
        for kind, fn, bound in steps(self)[1]:
            if isinstance(node, kind):
                return fn(self, node) if bound else fn(node)
        return None

    process._signalfire_fixed = True  # type: ignore[attr-defined]
    _replace(DepthFirstTraverser, "nodes_to_be_processed", nodes_to_be_processed)
    _replace(DepthFirstTraverser, "process", process)


# -- 17. UpdateItem's answer copies the old item only when it returns it -----------------------


def _copy_old_items_only_when_returned() -> None:
    from moto.dynamodb.responses import DynamoHandler

    function = DynamoHandler.update_item
    if getattr(function, "_signalfire_fixed", False):
        return
    # The response deep-copies the item before the update to answer
    # ReturnValues ALL_OLD, UPDATED_OLD or UPDATED_NEW; for NONE and ALL_NEW
    # the copy is never read.  The item is still looked up (its errors
    # stay), and copied only for the three that read it.
    _recompile(function, "existing_item = copy.deepcopy(self.dynamodb_backend.get_item(name, key))\n",
               "existing_item = self.dynamodb_backend.get_item(name, key)\n"
               "existing_item = copy.deepcopy(existing_item) "
               "if return_values in ('ALL_OLD', 'UPDATED_OLD', 'UPDATED_NEW') else None\n")
    function._signalfire_fixed = True  # type: ignore[attr-defined]
