"""Log lines carry only their own invocation's keys (signalfire.observability)."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
from pathlib import Path

from aws_lambda_powertools import Logger

from signalfire.observability import InvocationFormatter, render_text
from support import ROOT


def _logger(stream: io.StringIO, name: str, text: bool = False) -> Logger:
    formatter = InvocationFormatter(text=text)
    log = Logger(service=name, logger_formatter=formatter, logger_handler=logging.StreamHandler(stream))
    formatter.seal()
    return log


def test_concurrent_threads_keep_their_own_keys():
    stream = io.StringIO()
    log = _logger(stream, "threads-test")
    start = threading.Barrier(8)

    def invocation(i: int) -> None:
        start.wait()
        for step in range(20):
            log.structure_logs(function_name=f"fn{i}")  # what clear_state=True does at each invocation
            log.append_keys(run_id=f"run{i}", trace_id=f"tr{i}")
            log.set_correlation_id(f"req{i}-{step}")
            time.sleep(0.001)  # let the other invocations run in between, as requests do
            log.info("step", extra={"step": step, "owner": i})
            assert log.get_correlation_id() == f"req{i}-{step}"

    threads = [threading.Thread(target=invocation, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert len(lines) == 8 * 20
    for line in lines:
        owner = line["owner"]
        assert (line["run_id"], line["trace_id"], line["function_name"]) == (f"run{owner}", f"tr{owner}", f"fn{owner}")
        assert line["correlation_id"] == f"req{owner}-{line['step']}"
        assert line["service"] == "threads-test"


def test_clear_state_drops_the_previous_invocations_keys():
    stream = io.StringIO()
    log = _logger(stream, "clear-test")
    log.append_keys(run_id="run_old", stage="NOTIFY")
    log.structure_logs(function_name="IngestFunction")  # the next invocation, clear_state=True
    log.info("webhook ingested")
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert "run_id" not in line and "stage" not in line
    assert line["function_name"] == "IngestFunction" and line["service"] == "clear-test"


def test_text_form_is_one_readable_line():
    stream = io.StringIO()
    log = _logger(stream, "text-test", text=True)
    log.structure_logs(function_name="NotifyFunction", function_arn="arn:aws:lambda:x", cold_start=False)
    log.append_keys(run_id="run_1", stage="NOTIFY")
    log.info("pipeline.stage.succeeded", extra={"extra": {"node_id": "notify"}})
    out = stream.getvalue().splitlines()
    assert len(out) == 1
    assert re.match(r"^\d\d:\d\d:\d\d[,.]\d{3} INFO +\[NotifyFunction\] pipeline.stage.succeeded ", out[0])
    assert "run_id=run_1" in out[0] and "stage=NOTIFY" in out[0] and "extra=(node_id=notify)" in out[0]
    assert "arn:aws" not in out[0] and "{" not in out[0]


def test_text_form_keeps_the_traceback():
    text = render_text({"timestamp": "2026-01-01 10:00:00,123+0000", "level": "ERROR", "message": "boom",
                        "exception": "Traceback (most recent call last):\n  ValueError: x"})
    assert text.splitlines()[0].startswith("10:00:00,123 ERROR") and "ValueError: x" in text


def test_every_handler_clears_logger_state_per_invocation():
    """A warm Lambda reuses the module: a handler that does not clear state
    logs the previous invocation's run_id (Powertools: clear_state=True)."""
    sources = [*Path(ROOT, "functions").rglob("*.py"), *Path(ROOT, "layers", "shared").rglob("*.py")]
    uses = []
    for path in sources:
        for match in re.finditer(r"inject_lambda_context\(([^)]*)\)", path.read_text()):
            uses.append((path.name, match.group(1)))
    assert uses, "no handler uses inject_lambda_context"
    for name, args in uses:
        assert "clear_state=True" in args, f"{name}: inject_lambda_context without clear_state=True"
