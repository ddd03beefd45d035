"""Turn a definition into what a Step Functions execution carries.

``compile_definition`` returns the nodes in execution order - the entry node
first, then each ``next`` - as ``[{"id", "type", "config"}, ...]``.  ``ingest``
nodes are dropped: ingestion already happened in the webhook Lambda before
the execution started, so the state machine only ever sees context,
intelligence, notify and transform nodes.  A definition made of an ingest
node alone compiles to ``[]`` (the run has nothing to do).

``execution_input`` builds the execution's input document::

    {"run_id": "run_...", "trace_id": "...", "incident_id": "inc_...",
     "pipeline": {"name": "full", "version": 1},
     "nodes": [{"id": "check_health", "type": "context", "config": {}}, ...],
     "count": 3, "index": 0, "outputs": {}}

The state machine runs ``nodes[index]``, stores its result in
``outputs[<node id>]``, increments ``index`` and stops when ``index ==
count``.  A resumed run starts at ``start_index`` with the outputs of the
nodes that already succeeded.
"""

from __future__ import annotations

from typing import Any

from signalfire.pipelines.models import Node, NodeType, PipelineConfig, PipelineDefinition
from signalfire.pipelines.validation import parse_config

#: The compiled node's field with the definition's ``defaults.max_retries``.
MAX_RETRIES_FIELD = "max_retries"
#: The compiled node's field with the definition's ``defaults.timeout_seconds``.
TIMEOUT_FIELD = "timeout_seconds"


def compile_definition(definition: PipelineDefinition | PipelineConfig | dict[str, Any]) -> list[dict[str, Any]]:
    """The ordered node list of ``definition`` (validated again: a stored
    definition that no longer passes raises ConfigurationError)."""
    config = definition.config if isinstance(definition, PipelineDefinition) else definition
    parsed = parse_config(config)
    nodes: list[Node] = parsed.nodes
    # The definition's retry cap and timeout travel with each node: the stage
    # runner enforces the cap within the deployment's StageMaxRetries (the
    # ASL's Retry MaxAttempts, static) and makes the timeout the deadline of
    # the stage's outbound calls.
    return [{**n.compiled(), MAX_RETRIES_FIELD: parsed.defaults.max_retries,
             TIMEOUT_FIELD: parsed.defaults.timeout_seconds}
            for n in nodes if n.type is not NodeType.INGEST]



#: The compiled node's field the state machine reads after an intelligence node failed.
FALLBACK_FIELD = "fallback"


def resolve_fallback(nodes: list[dict[str, Any]], default: bool) -> list[dict[str, Any]]:
    """The one fallback rule, applied when a run starts: an intelligence node
    whose provider fails is answered by the local provider if its own
    ``config.fallback`` says so, else if the deployment's
    IntelligenceFallbackEnabled (``default``) does.  The state machine
    (UseFallback) and the stage runner both read the resolved
    ``node["fallback"]``; neither re-derives it."""
    out = []
    for node in nodes:
        if node.get("type") == NodeType.INTELLIGENCE.value:
            own = (node.get("config") or {}).get("fallback")
            node = {**node, FALLBACK_FIELD: own if isinstance(own, bool) else default}
        out.append(node)
    return out


def execution_input(run_id: str, trace_id: str, incident_id: str | None, pipeline_name: str,
                    pipeline_version: int, nodes: list[dict[str, Any]], start_index: int = 0,
                    outputs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Step Functions execution input for one pipeline run."""
    if not 0 <= start_index <= len(nodes):
        raise ValueError(f"start_index {start_index} is outside 0..{len(nodes)}")
    return {
        "run_id": run_id,
        "trace_id": trace_id,
        "incident_id": incident_id,
        "pipeline": {"name": pipeline_name, "version": pipeline_version},
        "nodes": list(nodes),
        "count": len(nodes),
        "index": start_index,
        "outputs": outputs or {},
    }
