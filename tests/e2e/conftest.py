"""End-to-end fixtures: the real `signalfire local` process over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localproc import Local, start_local, stop_local


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Local]:
    stack = start_local(tmp_path_factory.mktemp("local"), "StageRetryIntervalSeconds=1", "StageBackoffRate=1")
    yield stack
    stop_local(stack)
