"""Validate a pipeline definition's ``config`` and name the node at fault.

Every problem raises :class:`signalfire.errors.ConfigurationError` (HTTP 400)
whose message starts with the node it is about, e.g.
``node 'check_health': config.checker_names: unknown checker 'gpu' ...``.
The error's ``details`` carry ``{"node": <id or None>, "problem": <kind>}``
so a UI can highlight the node.

Rules:

* ``nodes`` is a non-empty list of at most 20 nodes;
* each node has a unique ``id``, a known ``type`` and a ``config`` that
  matches its type (see models.py); unknown keys are errors;
* ``next`` names an existing node (no dangling edge) and never leads back
  into a cycle;
* exactly one entry node (the node no other node's ``next`` points at) and
  every node reachable from it: the nodes form a single chain;
* an ``ingest`` node, if present, is the entry node.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from signalfire.errors import ConfigurationError
from signalfire.pipelines.models import (
    CONFIG_MODELS,
    MAX_NODES,
    NODE_ID_RE,
    NODE_TYPES,
    SCHEMA_VERSION,
    Defaults,
    Node,
    NodeType,
    PipelineConfig,
)

_NODE_KEYS = {"id", "type", "config", "next"}


def _fail(message: str, node: str | None, problem: str) -> ConfigurationError:
    return ConfigurationError(message, details={"node": node, "problem": problem})


def _pydantic_message(exc: ValidationError, prefix: str) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{prefix}{'.' + loc if loc else ''}: {msg}")
    return "; ".join(parts)


def _node_config(node_id: str, node_type: str, raw: Any) -> dict[str, Any]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise _fail(f"node {node_id!r}: config must be an object, got {type(raw).__name__}", node_id, "bad_config")
    model: type[BaseModel] = CONFIG_MODELS[node_type]
    try:
        parsed = model.model_validate(raw)
    except ValidationError as exc:
        raise _fail(f"node {node_id!r} ({node_type}): {_pydantic_message(exc, 'config')}", node_id,
                    "bad_config") from None
    # exclude_unset keeps an explicit null (e.g. a map's "default": null) and drops the rest.
    return parsed.model_dump(mode="json", exclude_unset=True)


def _parse_node(index: int, raw: Any, seen: set[str]) -> Node:
    where = f"node #{index + 1}"
    if not isinstance(raw, dict):
        raise _fail(f"{where}: must be an object with id, type, config and next", None, "bad_node")
    node_id = raw.get("id")
    if not isinstance(node_id, str) or not node_id:
        raise _fail(f"{where}: missing or non-string 'id'", None, "bad_node")
    if not NODE_ID_RE.match(node_id):
        raise _fail(f"node {node_id!r}: id must be 1-64 letters, digits, '_' or '-'", node_id, "bad_node")
    if node_id in seen:
        raise _fail(f"node {node_id!r}: duplicate node id (ids must be unique)", node_id, "duplicate_id")
    extra = set(raw) - _NODE_KEYS
    if extra:
        raise _fail(f"node {node_id!r}: unknown key(s) {', '.join(sorted(extra))}; a node has id, type, config, next",
                    node_id, "bad_node")
    node_type = raw.get("type")
    if node_type not in NODE_TYPES:
        raise _fail(f"node {node_id!r}: unknown node type {node_type!r}; expected one of {', '.join(NODE_TYPES)}",
                    node_id, "unknown_type")
    nxt = raw.get("next")
    if nxt is not None and (not isinstance(nxt, str) or not nxt):
        raise _fail(f"node {node_id!r}: 'next' must be a node id (string) or absent", node_id, "bad_node")
    config = _node_config(node_id, node_type, raw.get("config"))
    return Node(id=node_id, type=NodeType(node_type), config=config, next=nxt)


def _order(nodes: list[Node]) -> list[Node]:
    """Check the graph and return the nodes in execution order."""
    by_id = {n.id: n for n in nodes}
    for n in nodes:
        if n.next is not None and n.next not in by_id:
            raise _fail(f"node {n.id!r}: 'next' points at {n.next!r}, which is not a node of this pipeline",
                        n.id, "dangling_next")
    # Each node has at most one successor: follow every chain to find a cycle.
    for start in nodes:
        path: list[str] = []
        current: str | None = start.id
        while current is not None and current not in path:
            path.append(current)
            current = by_id[current].next
        if current is not None:
            loop = path[path.index(current):] + [current]
            raise _fail(f"node {current!r}: 'next' forms a cycle ({' -> '.join(loop)})", current, "cycle")
    targets = {n.next for n in nodes if n.next is not None}
    entries = [n.id for n in nodes if n.id not in targets]
    # No cycle and at most one successor each: the nodes form chains, one per
    # entry node, so "unreachable nodes" and "several entry nodes" are one fault.
    ordered: list[Node] = []
    current = entries[0]
    while current is not None:
        ordered.append(by_id[current])
        current = by_id[current].next
    if len(ordered) != len(nodes):
        reached = {n.id for n in ordered}
        lost = [n.id for n in nodes if n.id not in reached]
        raise _fail(
            f"node {lost[0]!r}: unreachable from the entry node {entries[0]!r} - more than one entry node "
            f"({', '.join(repr(e) for e in entries)}); the nodes must form one chain through 'next'",
            lost[0], "unreachable")
    for n in ordered[1:]:
        if n.type is NodeType.INGEST:
            raise _fail(f"node {n.id!r}: an ingest node can only be the entry node (ingest happens first)",
                        n.id, "bad_node")
    return ordered


def validate_definition(config: Any) -> list[Node]:
    """Validate ``config`` (the ``{"version", "defaults", "nodes"}`` object) and
    return its nodes in execution order, entry first.  Raises ConfigurationError."""
    parse = parse_config(config)
    return list(parse.nodes)


def parse_config(config: Any) -> PipelineConfig:
    """Like :func:`validate_definition`, returning the normalized
    :class:`PipelineConfig` with ``nodes`` in execution order."""
    if isinstance(config, PipelineConfig):
        config = config.model_dump(mode="json")
    if not isinstance(config, dict):
        raise _fail("pipeline config must be an object with version, defaults and nodes", None, "bad_config")
    extra = set(config) - {"version", "defaults", "nodes"}
    if extra:
        raise _fail(f"pipeline config has unknown key(s) {', '.join(sorted(extra))}", None, "bad_config")
    version = config.get("version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise _fail(f"pipeline config version {version!r} is not supported (use {SCHEMA_VERSION!r})", None,
                    "bad_config")
    try:
        defaults = Defaults.model_validate(config.get("defaults") or {})
    except ValidationError as exc:
        raise _fail(f"pipeline {_pydantic_message(exc, 'defaults')}", None, "bad_config") from None
    raw_nodes = config.get("nodes")
    if not isinstance(raw_nodes, list):
        raise _fail("pipeline config needs a 'nodes' list", None, "empty")
    if not raw_nodes:
        raise _fail("pipeline has no nodes: add at least one node", None, "empty")
    if len(raw_nodes) > MAX_NODES:
        raise _fail(f"pipeline has {len(raw_nodes)} nodes; at most {MAX_NODES} are allowed", None, "too_many_nodes")
    seen: set[str] = set()
    nodes = []
    for i, raw in enumerate(raw_nodes):
        node = _parse_node(i, raw, seen)
        seen.add(node.id)
        nodes.append(node)
    return PipelineConfig(version=SCHEMA_VERSION, defaults=defaults, nodes=_order(nodes))
