"""Notify stage (seed: NotifyExecutor): build the message and deliver it,
at most once per (run, node, channel) even across retries and resumes.

Until the notification channels arrive (email, Slack, PagerDuty, webhook),
the built-in ``console`` channel delivers: in local mode it prints the
notification to the terminal and appends it as a JSON line to
``SIGNALFIRE_LOCAL_OUTBOX`` when set; in AWS it is a structured log line.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any

from signalfire import services
from signalfire.observability import logger
from signalfire.stages.runner import StageContext, StageOutcome
from signalfire.timeutil import iso, utcnow

_OUTBOX_LOCK = threading.Lock()
SEVERITY_EMOJI = {"critical": "🔴", "warning": "🟠", "info": "🔵", "success": "🟢"}


def build_message(ctx: StageContext) -> dict[str, Any]:
    incident = ctx.incident
    trigger = ctx.run.trigger or "created"
    severity = "success" if trigger == "resolved" else (incident.severity.value if incident else "warning")
    title = f"[{trigger.upper()}] {incident.title if incident else 'alert'}"
    lines = [incident.description] if incident and incident.description else []
    for alert in ctx.alerts[:10]:
        host = alert.labels.get("host", "")
        lines.append(f"- {alert.name} ({alert.severity.value}, {alert.status.value}){' on ' + host if host else ''}")
    analysis = next((o for o in ctx.outputs.values() if "recommendations" in o), None)
    checks = next((o for o in ctx.outputs.values() if "checks_run" in o), None)
    if checks is not None:
        lines.append(f"Health checks: {checks['checks_run']} run, {checks['checks_failed']} not ok"
                     + (f"; no results yet for {', '.join(checks['hosts_without_results'])}"
                        if checks.get("hosts_without_results") else ""))
    if analysis:
        lines.append(f"Analysis ({analysis.get('provider')}"
                     f"{', fallback' if analysis.get('fallback_used') else ''}): {analysis.get('summary')}")
        for action in analysis.get("actions", [])[:3]:
            lines.append(f"  * {action}")
    return {
        "title": title, "message": "\n".join(lines), "severity": severity, "channel": "console",
        "tags": {"incident_id": incident.id if incident else "", "run_id": ctx.run.run_id, "node_id": ctx.node_id,
                 "trace_id": ctx.run.trace_id, "source": ctx.run.source, "pipeline": ctx.run.pipeline_name},
        "context": {"incident": incident.model_dump(mode="json") if incident else None,
                    "analysis": analysis, "checks": checks},
    }


def _deliver_console(message: dict[str, Any]) -> dict[str, Any]:
    if os.environ.get("SIGNALFIRE_LOCAL", "").lower() == "true":
        emoji = SEVERITY_EMOJI.get(message["severity"], "")
        block = (f"\n{'─' * 72}\n{emoji} {message['title']}\n{message['message']}\n"
                 f"  run {message['tags']['run_id']} · trace {message['tags']['trace_id']}\n{'─' * 72}\n")
        with _OUTBOX_LOCK:
            sys.stdout.write(block)
            sys.stdout.flush()
            outbox = os.environ.get("SIGNALFIRE_LOCAL_OUTBOX")
            if outbox:
                with open(outbox, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps({k: v for k, v in message.items() if k != "context"}) + "\n")
    else:
        logger.info("notification", extra={"notification": {k: v for k, v in message.items() if k != "context"}})
    return {"success": True, "message_id": f"console-{message['tags']['run_id']}", "error": "", "metadata": {}}


CHANNELS = {"console": _deliver_console}


def run_notify(ctx: StageContext) -> StageOutcome:
    runs = services.run_store()
    message = build_message(ctx)
    names = ctx.config.get("channels") or ["console"]
    deliveries, succeeded, failed, skipped = [], [], [], []
    for name in names:
        if runs.delivered(ctx.run.run_id, ctx.node_id, name):
            skipped.append(name)  # delivered by an earlier attempt or before a resume
            continue
        sender = CHANNELS.get(name, _deliver_console)
        result = sender(message)
        deliveries.append({"channel": name, **result, "at": iso(utcnow())})
        if result["success"]:
            runs.record_delivery(ctx.run.run_id, ctx.node_id, name, result)
            succeeded.append(name)
        else:
            failed.append(name)
    return StageOutcome(output={
        "deliveries": deliveries, "channels_attempted": names, "channels_succeeded": succeeded,
        "channels_failed": failed, "channels_already_delivered": skipped,
        "messages": [{k: v for k, v in message.items() if k != "context"}],
        "provider_ids": [d.get("message_id") for d in deliveries if d.get("message_id")],
    })
