"""The six signals: an EMF metric (Powertools) and a structured log line
with the full SignalTags."""

from __future__ import annotations

import json

import pytest

from signalfire.runs import signals


@pytest.fixture
def tags() -> signals.SignalTags:
    return signals.SignalTags(trace_id="tr-1", run_id="run-1", stage="NOTIFY", incident_id="inc-1",
                              source="grafana", alert_fingerprint="fp", environment="staging", attempt=2,
                              extra={"node_id": "notify"})


def _lines(out: str) -> list[dict]:
    return [json.loads(x) for x in out.splitlines() if x.startswith("{")]


def test_each_signal_is_a_metric_and_a_log_line(tags, capfd, caplog, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    for name in signals.SIGNALS:
        signals.emit(name, tags, outcome="COMPLETED")
    captured = capfd.readouterr()
    lines = _lines(captured.out + "\n" + captured.err)
    metrics = [x for x in lines if "_aws" in x]
    logs = [r.__dict__ for r in caplog.records if getattr(r, "signal", None)]
    assert sorted(m["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] for m in metrics) == sorted(signals.SIGNALS)
    assert sorted(x["signal"] for x in logs) == sorted(signals.SIGNALS)
    for m in metrics:
        assert m["environment"] == "staging" and m["stage"] == "NOTIFY" and m["outcome"] == "COMPLETED"
        assert m["run_id"] == "run-1" and m["trace_id"] == "tr-1" and m["attempt"] == 2  # metadata
    for log in logs:
        for key in ("trace_id", "run_id", "stage", "incident_id", "source", "alert_fingerprint", "environment",
                    "attempt"):
            assert log[key] == getattr(tags, key)
        assert log["extra"]["node_id"] == "notify"


def test_duration_is_its_own_metric(tags, capfd, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    signals.emit(signals.STAGE_SUCCEEDED, tags, duration_ms=12.5)
    names = [m["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] for m in _lines(capfd.readouterr().out + "\n")
             if "_aws" in m]
    assert names == [signals.STAGE_SUCCEEDED, f"{signals.STAGE_SUCCEEDED}.duration"]


def test_unknown_signal_is_refused(tags):
    with pytest.raises(ValueError):
        signals.emit("pipeline.exploded", tags)
