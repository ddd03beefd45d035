"""The six built-in presets."""

from __future__ import annotations

import pytest

from signalfire.pipelines.compile import compile_definition
from signalfire.pipelines.presets import PRESET_CONFIGS, PRESETS, get_preset
from signalfire.pipelines.validation import validate_definition

EXPECTED = {
    "local-monitor": ["context", "notify"],
    "local-smart": ["context", "intelligence", "notify"],
    "direct": ["notify"],
    "health-checked": ["context", "notify"],
    "ai-analyzed": ["intelligence", "notify"],
    "full": ["context", "intelligence", "notify"],
}


def test_exactly_the_six_seed_presets() -> None:
    assert set(PRESETS) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_is_valid_and_compiles_to_the_seed_chain(name: str) -> None:
    validate_definition(PRESET_CONFIGS[name][2])
    preset = PRESETS[name]
    assert preset.builtin and preset.is_active and preset.version == 1
    assert preset.description
    assert [n["type"] for n in compile_definition(preset)] == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_notify_means_all_active_channels(name: str) -> None:
    notify = [n for n in compile_definition(PRESETS[name]) if n["type"] == "notify"]
    assert len(notify) == 1 and notify[0]["config"] == {}


def test_webhook_presets_start_with_ingest() -> None:
    for name in ("direct", "health-checked", "ai-analyzed", "full"):
        assert PRESETS[name].config.nodes[0].type == "ingest"
    for name in ("local-monitor", "local-smart"):
        assert PRESETS[name].config.nodes[0].type == "context"


def test_get_preset_returns_a_copy() -> None:
    copy_ = get_preset("full")
    assert copy_ is not None
    copy_.description = "changed"
    assert PRESETS["full"].description != "changed"
    assert get_preset("nope") is None
