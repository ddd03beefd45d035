"""The agent is its own distribution: psutil + the standard library only."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

AGENT_SRC = Path(__file__).resolve().parents[3] / "agent"
FORBIDDEN = ("boto3", "botocore", "pydantic", "httpx", "aws_lambda_powertools", "signalfire", "yaml", "jinja2")


def test_importing_every_agent_module_loads_no_server_dependency() -> None:
    code = (
        "import sys, pkgutil, importlib, signalfire_agent\n"
        "for m in pkgutil.walk_packages(signalfire_agent.__path__, 'signalfire_agent.'):\n"
        "    if m.name != 'signalfire_agent.__main__': importlib.import_module(m.name)\n"
        "from signalfire_agent.agent import Agent\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=str(AGENT_SRC)))
    assert out.stdout.strip() == "", f"the agent imported {out.stdout.strip()}"


def test_the_wheel_depends_on_psutil_only_and_installs_the_command(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), str(AGENT_SRC)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("signalfire_agent-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        meta = zf.read(next(n for n in zf.namelist() if n.endswith("METADATA"))).decode()
        entry = zf.read(next(n for n in zf.namelist() if n.endswith("entry_points.txt"))).decode()
        names = zf.namelist()
    requires = [line.split(":", 1)[1].strip() for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    assert requires == ["psutil>=5.9"]
    assert "signalfire-agent = signalfire_agent.cli:main" in entry
    assert all(n.startswith(("signalfire_agent/", "signalfire_agent-")) for n in names)
