"""The local provider (seed: LocalRecommendationProvider): no LLM, always there.

It is the fallback when an AI provider fails.  The seed read the server's
own /proc; here that would describe a Lambda sandbox, so the facts come
from the affected host's latest snapshot reported by the agent (top
processes, memory, disk usage per mount, space hogs, old and large files).
Each recommendation says whether it rests on host data, and which.
"""

from __future__ import annotations

from typing import Any, ClassVar

from signalfire.intelligence.models import (
    Analysis,
    AnalysisRequest,
    HostContext,
    Recommendation,
    RecommendationPriority,
    RecommendationType,
)
from signalfire.intelligence.providers.base import BaseProvider, ProviderAnswer

DEFAULTS: dict[str, Any] = {
    "top_n_processes": 10,
    "large_file_threshold_mb": 100.0,
    "old_file_days": 30,
    "scan_paths": ["/var/log", "/tmp", "/var/tmp", "~/.cache"],
}

#: Keyword detection (seed: memory, disk and CPU words; network and process added).
KEYWORDS: dict[RecommendationType, tuple[str, ...]] = {
    RecommendationType.MEMORY: ("memory", "ram", "oom", "swap"),
    RecommendationType.DISK: ("disk", "storage", "space", "inode", "filesystem", "volume"),
    RecommendationType.CPU: ("cpu", "load", "processor"),
    RecommendationType.NETWORK: ("network", "unreachable", "latency", "packet", "dns", "timeout", "ping"),
    RecommendationType.PROCESS: ("process", "service", "crash", "exited", "restart", "down"),
}
#: Which checker speaks for which type (a failing checker also selects its type).
CHECKERS: dict[str, RecommendationType] = {
    "memory": RecommendationType.MEMORY, "cpu": RecommendationType.CPU, "disk": RecommendationType.DISK,
    "disk_common": RecommendationType.DISK, "disk_linux": RecommendationType.DISK,
    "disk_macos": RecommendationType.DISK, "network": RecommendationType.NETWORK,
    "process": RecommendationType.PROCESS,
}
PRIORITY = {"critical": RecommendationPriority.CRITICAL, "warning": RecommendationPriority.HIGH,
            "info": RecommendationPriority.MEDIUM}
ANALYSIS_TYPES = {"memory": RecommendationType.MEMORY, "disk": RecommendationType.DISK,
                  "cpu": RecommendationType.CPU}


def _mb(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value / 1024:.1f} GB" if value >= 1024 else f"{value:.0f} MB"


def _pct(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f}%"


def _under(path: str, roots: list[str]) -> bool:
    def norm(p: str) -> str:
        return p.replace("~", "", 1).rstrip("/") if p.startswith("~") else p.rstrip("/")
    return any(norm(path).startswith(norm(r)) or (r.startswith("~") and norm(r) in path) for r in roots)


def detect_types(text: str) -> list[RecommendationType]:
    """The seed's keyword detection over the incident's and alerts' text."""
    lowered = text.lower()
    return [kind for kind, words in KEYWORDS.items() if any(w in lowered for w in words)]


class LocalRecommendationProvider(BaseProvider):
    name = "local"
    default_model = "rules-v2"
    config_keys: ClassVar[frozenset[str]] = frozenset(DEFAULTS) | {"fallback"}

    def setting(self, key: str) -> Any:
        value = self.config.get(key)
        return DEFAULTS[key] if value in (None, "") else value

    # -- the pieces ------------------------------------------------------------------

    def _text(self, req: AnalysisRequest) -> str:
        inc = req.incident
        parts = [inc.title, inc.description] if inc else []
        for a in req.alerts:
            parts += [a.name, a.description, a.labels.get("alertname", ""), a.annotations.get("summary", "")]
        return " ".join(p for p in parts if p)

    def _types(self, req: AnalysisRequest) -> list[RecommendationType]:
        if req.analysis_type in ANALYSIS_TYPES:
            return [ANALYSIS_TYPES[req.analysis_type]]
        found = detect_types(self._text(req))
        for host in req.hosts:  # a failing check names its own type
            for checker, result in host.checks.items():
                kind = CHECKERS.get(checker)
                if kind and result.get("status") in ("warning", "critical") and kind not in found:
                    found.append(kind)
        for check in req.checks:
            kind = CHECKERS.get(str(check.get("checker_name")))
            if kind and kind not in found:
                found.append(kind)
        return found

    def _memory(self, host: HostContext, priority: RecommendationPriority, incident_id: str | None) -> Recommendation:
        n = int(self.setting("top_n_processes"))
        top = host.top_memory[:n]
        actions = [f"Inspect {p.name or '?'} (pid {p.pid}): {_mb(p.memory_mb)} resident, {_pct(p.memory_percent)} of memory"
                   for p in top[:3]]
        if top:
            actions.append(f"If {top[0].name} keeps growing, restart it and look for a leak (compare RSS over time)")
        actions.append("Add memory or swap only if the usage is expected")
        return Recommendation(
            type=RecommendationType.MEMORY, priority=priority, incident_id=incident_id,
            title=f"Memory on {host.hostname} at {_pct(host.memory_percent)}"
                  + (f"; largest: {top[0].name} ({_mb(top[0].memory_mb)})" if top else ""),
            description=(f"The agent on {host.hostname} reports memory at {_pct(host.memory_percent)} "
                         f"({_mb(host.memory_available_mb)} available of {_mb(host.memory_total_mb)}), "
                         f"swap at {_pct(host.swap_percent)}."),
            details={"source": "host_snapshot", "hostname": host.hostname,
                     "reported_at": host.reported_at.isoformat() if host.reported_at else None,
                     "top_processes": [p.model_dump(exclude_none=True) for p in top]},
            actions=actions)

    def _cpu(self, host: HostContext, priority: RecommendationPriority, incident_id: str | None) -> Recommendation:
        n = int(self.setting("top_n_processes"))
        top = host.top_cpu[:n]
        actions = [f"Inspect {p.name or '?'} (pid {p.pid}) at {_pct(p.cpu_percent)} CPU" for p in top[:3]]
        actions.append("Look for a runaway job or a traffic spike; scale out or throttle the workload")
        load = ", ".join(f"{v:.2f}" for v in host.load_average) or "?"
        return Recommendation(
            type=RecommendationType.CPU, priority=priority, incident_id=incident_id,
            title=f"CPU on {host.hostname} at {_pct(host.cpu_percent)}"
                  + (f"; busiest: {top[0].name} ({_pct(top[0].cpu_percent)})" if top else ""),
            description=f"The agent on {host.hostname} reports CPU at {_pct(host.cpu_percent)}, load {load}.",
            details={"source": "host_snapshot", "hostname": host.hostname,
                     "top_processes": [p.model_dump(exclude_none=True) for p in top]},
            actions=actions)

    def _disk(self, host: HostContext, priority: RecommendationPriority, incident_id: str | None) -> Recommendation:
        roots = list(self.setting("scan_paths"))
        threshold = float(self.setting("large_file_threshold_mb"))
        days = float(self.setting("old_file_days"))
        disks = sorted(host.disks, key=lambda d: -(d.percent or 0))
        hogs = sorted((h for h in host.space_hogs if _under(h.path, roots)), key=lambda h: -(h.size_mb or 0))[:5]
        large = [f for f in host.large_files if (f.size_mb or 0) >= threshold][:5]
        old = [f for f in host.old_files if (f.age_days or 0) >= days][:5]
        actions = []
        for hog in hogs[:3]:
            actions.append(f"Clean {hog.path} ({_mb(hog.size_mb)}): rotate/compress logs or remove caches there")
        for f in large[:3]:
            actions.append(f"Check whether {f.path} ({_mb(f.size_mb)}) is still needed")
        if old:
            actions.append(f"Remove {len(old)} file(s) older than {days:g} days, e.g. {old[0].path}")
        actions.append("Grow the volume if the usage is expected")
        recoverable = sum((p.size_mb or 0) for p in hogs) + sum((p.size_mb or 0) for p in large)
        worst = disks[0] if disks else None
        return Recommendation(
            type=RecommendationType.DISK, priority=priority, incident_id=incident_id,
            title=(f"Disk {worst.path} on {host.hostname} at {_pct(worst.percent)}" if worst else
                   f"Disk space on {host.hostname}") + (f"; largest: {hogs[0].path} ({_mb(hogs[0].size_mb)})"
                                                        if hogs else ""),
            description=("Usage per mount: " + ", ".join(f"{d.path} {_pct(d.percent)} ({d.free_gb} GB free)"
                                                          for d in disks[:5]) + "." if disks else
                         f"The agent on {host.hostname} reported no disk usage.")
            + (f" About {_mb(recoverable)} could be recovered from the paths found." if recoverable else ""),
            details={"source": "host_snapshot", "hostname": host.hostname,
                     "disks": [d.model_dump(exclude_none=True) for d in disks[:5]],
                     "space_hogs": [h.model_dump(exclude_none=True) for h in hogs],
                     "large_files": [f.model_dump(exclude_none=True) for f in large],
                     "old_files": [f.model_dump(exclude_none=True) for f in old],
                     "settings": {"scan_paths": roots, "large_file_threshold_mb": threshold,
                                  "old_file_days": days}},
            actions=actions)

    GENERIC: ClassVar[dict[RecommendationType, tuple[str, list[str]]]] = {
        RecommendationType.MEMORY: ("Memory pressure", [
            "Find the processes using the most memory (ps aux --sort=-rss | head)",
            "Check for a leak: compare resident memory over time", "Add swap or memory, or restart the leaking service"]),
        RecommendationType.DISK: ("Disk space", [
            "Find the largest directories (du -xh / --max-depth=2 | sort -h | tail)", "Rotate or delete old logs",
            "Clean package caches and temporary files", "Grow the volume if the usage is expected"]),
        RecommendationType.CPU: ("CPU saturation", [
            "Find the processes using the most CPU (top -o %CPU)", "Check for runaway jobs or a traffic spike",
            "Scale out or throttle the offending workload"]),
        RecommendationType.NETWORK: ("Connectivity", [
            "Check the host is reachable (ping, security groups, routes)", "Check DNS resolution",
            "Look for a recent network or firewall change"]),
        RecommendationType.PROCESS: ("Process health", [
            "Check the service status and its last logs (systemctl status, journalctl -u)",
            "Restart the service if it is down", "Look for a recent deploy"]),
    }

    def _generic(self, kind: RecommendationType, priority: RecommendationPriority, incident_id: str | None,
                 why: str) -> Recommendation:
        title, actions = self.GENERIC[kind]
        return Recommendation(type=kind, priority=priority, incident_id=incident_id, title=title,
                              description=f"The alert text points at {kind.value}. {why}",
                              details={"source": "keywords"}, actions=list(actions))

    # -- the analysis ----------------------------------------------------------------

    def answer(self, request: AnalysisRequest) -> ProviderAnswer:
        inc = request.incident
        iid = request.incident_id
        priority = PRIORITY.get(inc.severity.value if inc else "warning", RecommendationPriority.MEDIUM)
        hosts = [h for h in request.hosts if h.has_data]
        if hosts:
            ground = "Grounded in the agent's latest snapshot of " + ", ".join(
                h.hostname + (" (stale)" if h.stale else "") for h in hosts) + "."
        elif request.hosts_without_data:
            ground = f"No agent data for {', '.join(request.hosts_without_data)}: run signalfire-agent there " \
                     "for host-specific advice."
        else:
            ground = "The alerts name no host, so no host data was used."
        types = self._types(request)
        recs: list[Recommendation] = []
        builders = {RecommendationType.MEMORY: self._memory, RecommendationType.CPU: self._cpu,
                    RecommendationType.DISK: self._disk}
        for kind in types:
            build = builders.get(kind)
            grounded = [build(h, priority, iid) for h in hosts] if build else []
            recs.extend(grounded or [self._generic(kind, priority, iid, ground)])
        for host in hosts:
            for checker, result in host.checks.items():
                if result.get("status") in ("warning", "critical") and CHECKERS.get(checker) not in types:
                    recs.append(Recommendation(
                        type=CHECKERS.get(checker, RecommendationType.GENERAL), incident_id=iid,
                        priority=RecommendationPriority.CRITICAL if result.get("status") == "critical"
                        else RecommendationPriority.HIGH,
                        title=f"{checker} check on {host.hostname} is {result.get('status')}",
                        description=str(result.get("message") or ""), details={"source": "host_checks"}))
        for check in request.checks:
            if check.get("status") not in ("ok", None) and CHECKERS.get(str(check.get("checker_name"))) not in types:
                recs.append(Recommendation(
                    type=RecommendationType.GENERAL, priority=RecommendationPriority.HIGH, incident_id=iid,
                    title=f"{check.get('checker_name')} check on {check.get('host')} is {check.get('status')}",
                    description=str(check.get("message") or ""), details={"source": "check_stage", **check}))
        if not recs:
            recs.append(Recommendation(
                type=RecommendationType.GENERAL, priority=RecommendationPriority.LOW, incident_id=iid,
                title="No rule matched", description=f"Look at the alert's runbook and recent changes. {ground}",
                actions=["Open the alert's runbook or dashboard", "Check recent deploys and config changes"],
                details={"source": "none"}))
        top = recs[0]
        matched = top.title != "No rule matched"
        on_host = matched and top.details.get("source") == "host_snapshot"
        analysis = Analysis(
            summary=f"{len(recs)} recommendation(s); most likely: {top.title}. {ground}",
            probable_cause=top.title if matched else "unknown",
            confidence=0.7 if on_host else 0.5 if matched else 0.2,
            recommendations=recs)
        return ProviderAnswer(analysis, None, self.model_name)
