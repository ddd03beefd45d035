"""The ASL is checked by a validator someone else wrote (npm asl-validator),
with the template's substitutions filled in, as Step Functions will see it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from signalfire_local.template import Template
from support import ROOT

VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"


def _machines() -> list[tuple[str, Path, dict[str, str]]]:
    return [(name, spec["definition_path"], spec["substitutions"])
            for name, spec in Template(ROOT / "template.yaml").state_machines().items()]


def test_template_declares_a_state_machine_from_statemachine_dir():
    machines = _machines()
    assert machines, "template.yaml declares no AWS::Serverless::StateMachine"
    for _, path, _ in machines:
        assert path.parent == ROOT / "statemachine" and path.suffix == ".json"


@pytest.mark.parametrize("name, path, subs", _machines() or [pytest.param("none", None, {}, marks=pytest.mark.skip)])
def test_asl_validator_accepts_the_definition(tmp_path, name, path, subs):
    assert VALIDATOR.exists(), "asl-validator is missing: run scripts/install-test-deps.sh (npm ci)"
    text = path.read_text()
    placeholders = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", text))
    missing = placeholders - set(subs)
    assert not missing, f"{name}: placeholders without a DefinitionSubstitution: {sorted(missing)}"
    for key, value in subs.items():
        text = text.replace("${" + key + "}", value)
    definition = json.loads(text)  # substituted numbers/booleans must leave valid JSON
    out = tmp_path / "definition.json"
    out.write_text(json.dumps(definition))
    proc = subprocess.run([str(VALIDATOR), "--json-path", str(out)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
