"""Build the notification a person is glad to receive, and the context every
template sees.

A message about an incident carries, in ``context``: the incident (with the
seed's ``metrics``, ``summaries`` and ``recommendations``), its alerts, what
the checks found, what the analysis says, and the run; ``links`` point at the
incident and at the run.  :func:`template_context` flattens that into the
names templates use (title, message, severity, channel, tags, context,
incident, alerts, checks, analysis, links, hosts, since ...).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from signalfire.alerts.hosts import host_of
from signalfire.notify.models import (
    SEVERITY_COLORS,
    SEVERITY_EMOJIS,
    Link,
    NotificationEvent,
    NotificationMessage,
)

MAX_ALERTS = 20
_LABEL = {NotificationEvent.ACKNOWLEDGE: "ACKNOWLEDGED", NotificationEvent.RESOLVE: "RESOLVED"}


def dedup_key(incident_id: str) -> str:
    """The key PagerDuty (and any receiver that deduplicates) sees for an
    incident: the same for its trigger, acknowledge and resolve."""
    return f"signalfire/incident/{incident_id}"


def _host(labels: dict[str, str]) -> str:
    return host_of(labels)


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value or "")


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h {seconds % 3600 // 60}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h"


def compose(*, incident: Any, alerts: list[Any], event: NotificationEvent, checks: dict[str, Any] | None = None,
            analysis: dict[str, Any] | None = None, run: dict[str, Any] | None = None, base_url: str = "",
            execution_url: str = "", now: datetime | None = None) -> NotificationMessage:
    """The message for an incident (``incident`` and ``alerts`` are the
    alerts domain's models, read by attribute only)."""
    from signalfire.timeutil import utcnow

    now = now or utcnow()
    run = run or {}
    firing = [a for a in alerts if str(getattr(a.status, "value", a.status)) == "firing"]
    shown = (firing or alerts)[:MAX_ALERTS]
    hosts = list(dict.fromkeys(h for h in (_host(a.labels) for a in alerts) if h))
    severity = "success" if event == NotificationEvent.RESOLVE else (
        incident.severity.value if incident is not None else "warning")
    title = incident.title if incident is not None else (shown[0].name if shown else "alert")
    description = (incident.description if incident is not None else "") or next(
        (a.description for a in shown if a.description), "")
    since = incident.created_at if incident is not None else (min(a.started_at for a in alerts) if alerts else now)
    end = (incident.resolved_at if incident is not None and incident.resolved_at else now)
    recommendations = list((analysis or {}).get("recommendations") or [])[:5]
    inc: dict[str, Any] = {}
    if incident is not None:
        inc = incident.model_dump(mode="json", exclude={"metadata"})
        inc["metrics"] = {"alert_count": incident.alert_count or len(alerts), "firing_alert_count": len(firing),
                          "hosts": hosts, "duration_seconds": int((end - since).total_seconds()),
                          "duration": _duration((end - since).total_seconds())}
        inc["summaries"] = [s for s in [incident.summary, (analysis or {}).get("summary")] if s]
        inc["recommendations"] = recommendations
    links: list[Link] = []
    if base_url and incident is not None:
        links.append(Link(text="Incident", href=f"{base_url.rstrip('/')}/incidents/{incident.id}"))
    if base_url and run.get("run_id"):
        links.append(Link(text="Run", href=f"{base_url.rstrip('/')}/runs/{run['run_id']}"))
    if execution_url:
        links.append(Link(text="Execution", href=execution_url))
    tags = {"incident_id": incident.id if incident is not None else "", "run_id": run.get("run_id", ""),
            "node_id": run.get("node_id", ""), "trace_id": run.get("trace_id", ""),
            "source": run.get("source", "") or (incident.source if incident is not None else ""),
            "pipeline": run.get("pipeline", ""), "event": event.value}
    if hosts:
        tags["host"] = hosts[0]
    context = {
        "incident": inc or None,
        "alerts": [{"name": a.name, "severity": a.severity.value, "status": str(getattr(a.status, "value", a.status)),
                    "host": _host(a.labels), "description": a.description[:500],
                    "started_at": _iso(a.started_at), "labels": dict(a.labels)} for a in shown],
        "alerts_omitted": max(0, len(firing or alerts) - len(shown)),
        "checks": checks, "analysis": analysis,
        "run": {k: run.get(k, "") for k in ("run_id", "trace_id", "pipeline", "source", "node_id")},
        "hosts": hosts, "since": _iso(since), "duration": _duration((end - since).total_seconds()),
    }
    return NotificationMessage(
        title=title, message=description, severity=severity, channel="default", tags=tags, context=context,
        event=event, dedup_key=dedup_key(incident.id) if incident is not None else "", links=links)


def template_context(message: NotificationMessage, *, channel: str = "") -> dict[str, Any]:
    """The names every template sees (the seed's context, plus conveniences)."""
    ctx = message.context or {}
    label = _LABEL.get(message.event, "FIRING" if ctx.get("incident") else message.severity.upper())
    return {
        "title": message.title, "message": message.message, "severity": message.severity,
        "channel": channel or message.channel, "tags": message.tags, "context": ctx,
        "incident": ctx.get("incident") or {}, "alerts": ctx.get("alerts") or [],
        "alerts_omitted": ctx.get("alerts_omitted") or 0,
        "checks": ctx.get("checks") or {}, "analysis": ctx.get("analysis") or {}, "run": ctx.get("run") or {},
        "hosts": ctx.get("hosts") or ([message.tags["host"]] if message.tags.get("host") else []),
        "since": ctx.get("since") or "", "duration": ctx.get("duration") or "",
        "links": [link.model_dump() for link in message.links], "event": message.event.value,
        "label": label, "emoji": SEVERITY_EMOJIS.get(message.severity, ""),
        "color": SEVERITY_COLORS.get(message.severity, "#888888"), "dedup_key": message.dedup_key,
    }
