"""Fixtures for the webhook driver tests: realistic vendor payloads in fixtures/."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest

_SHARED = Path(__file__).resolve().parents[3] / "layers" / "shared"
if str(_SHARED) not in sys.path:  # run without PYTHONPATH=layers/shared
    sys.path.insert(0, str(_SHARED))

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_names(prefix: str = "") -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob(f"{prefix}*.json"))


def load_fixture(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((FIXTURES / f"{name}.json").read_text()))


@pytest.fixture
def load():
    return load_fixture
