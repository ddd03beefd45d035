"""Transform stage: extract, map or filter run data (docs/pipelines.md).
A filter whose condition is false ends the run as SKIPPED."""

from __future__ import annotations

from signalfire.pipelines.transform import apply_transform
from signalfire.stages.runner import FAULT_KEYS, StageContext, StageOutcome


def run_transform(ctx: StageContext) -> StageOutcome:
    context = {
        "incident": ctx.incident.model_dump(mode="json") if ctx.incident else {},
        "alerts": [a.model_dump(mode="json", exclude={"raw_payload"}) for a in ctx.alerts],
        "source": ctx.run.source,
        "severity": ctx.incident.severity.value if ctx.incident else "",
        "outputs": ctx.outputs,
    }
    for earlier in ctx.outputs.values():  # values extracted/mapped by earlier transform nodes
        context.update({k: v for k, v in (earlier.get("values") or {}).items() if k not in context})
    config = {k: v for k, v in ctx.config.items() if k not in FAULT_KEYS}
    result = apply_transform(config, context)
    return StageOutcome(output={"values": result.values, "skipped": result.skipped, "reason": result.reason},
                        skipped=result.skipped, reason=result.reason)
