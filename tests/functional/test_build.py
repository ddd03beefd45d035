"""The template lints, and ``sam build`` produces an arm64 deployment on any
host: no Docker, no local python3.13 (see docs/build.md).

The sam build test is marked slow (about 15 s with a warm pip cache); it is
skipped only when the ``sam`` executable is absent.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
TESTS_DIR = ROOT / "tests"

if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))
from template_loader import load_template  # noqa: E402


def _which(name: str) -> str | None:
    """An executable on PATH, or next to this interpreter (a venv that is not activated)."""
    return shutil.which(name) or shutil.which(name, path=os.path.dirname(sys.executable))


SAM = _which("sam")
needs_sam = pytest.mark.skipif(SAM is None, reason="the `sam` executable (aws-sam-cli) is not on PATH")

EM_AARCH64 = 183
ELFCLASS64 = 2
ELFDATA2LSB = 1
ET_DYN = 3


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env["SAM_CLI_TELEMETRY"] = "0"
    return env


def _run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


def _explain(proc: subprocess.CompletedProcess[str]) -> str:
    return f"$ {' '.join(proc.args)}\nexit {proc.returncode}\n--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-6000:]}"


def _functions(template: dict) -> dict[str, dict]:
    return {
        lid: res
        for lid, res in (template.get("Resources") or {}).items()
        if isinstance(res, dict) and res.get("Type") == "AWS::Serverless::Function"
    }


def elf_machine(path: Path) -> tuple[int, int, int, int]:
    """(EI_CLASS, EI_DATA, e_type, e_machine) read straight from the ELF header."""
    with open(path, "rb") as fh:
        ident = fh.read(20)
    assert len(ident) == 20 and ident[:4] == b"\x7fELF", f"{path.name}: not an ELF file"
    ei_class, ei_data = ident[4], ident[5]
    order = "<" if ei_data == ELFDATA2LSB else ">"
    e_type, e_machine = struct.unpack(order + "HH", ident[16:20])
    return ei_class, ei_data, e_type, e_machine


# ---------------------------------------------------------------- lint


def test_cfn_lint_passes():
    exe = _which("cfn-lint")
    # cfnlint has no __main__; fall back to its console-script entry point.
    cmd = (
        [exe]
        if exe
        else [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())"]
    )
    proc = _run([*cmd, str(TEMPLATE)], timeout=300)
    assert proc.returncode == 0, _explain(proc)


@needs_sam
def test_sam_validate_lint_passes():
    proc = _run(
        [SAM, "validate", "--lint", "--region", "us-east-1", "--template-file", str(TEMPLATE)], timeout=300
    )
    assert proc.returncode == 0, _explain(proc)
    assert "is a valid SAM Template" in proc.stdout + proc.stderr, _explain(proc)


# ---------------------------------------------------------------- build wiring (fast)


def test_every_function_and_the_layer_build_with_make():
    """SAM's python_pip builder needs a local python3.13; every function and
    the layer use BuildMethod: makefile instead, with a build-<LogicalId> target."""
    template = load_template(TEMPLATE)
    layer = template["Resources"]["SharedLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert layer["Metadata"]["BuildArchitecture"] == "arm64"
    assert "build-SharedLayer:" in (ROOT / "layers/shared/Makefile").read_text()

    functions = _functions(template)
    assert functions, "no AWS::Serverless::Function in template.yaml"
    make = shutil.which("make")
    for lid, res in functions.items():
        code_uri = res.get("Properties", {}).get("CodeUri")
        assert isinstance(code_uri, str), f"{lid}: CodeUri must be a local directory"
        assert (res.get("Metadata") or {}).get("BuildMethod") == "makefile", (
            f"{lid}: add `Metadata: {{BuildMethod: makefile}}` (see docs/build.md)"
        )
        makefile = ROOT / code_uri / "Makefile"
        assert makefile.is_file(), f"{lid}: {makefile.relative_to(ROOT)} is missing"
        if make:
            # Dry run: the include resolves and the target exists.
            proc = subprocess.run(
                [make, "-n", "--makefile", str(makefile), f"build-{lid}", "ARTIFACTS_DIR=/nonexistent"],
                cwd=makefile.parent,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert proc.returncode == 0, _explain(proc)


# ---------------------------------------------------------------- sam build (slow)


def _has_python(version: str) -> bool:
    """What scripts/compile-bytecode.sh looks for."""
    probe = f"command -v python{version} >/dev/null || ls -d $HOME/.pyenv/versions/{version}*/bin/python >/dev/null"
    return subprocess.run(["sh", "-c", probe], capture_output=True, check=False).returncode == 0


@pytest.mark.slow
@needs_sam
def test_sam_build_makes_an_arm64_deployment(tmp_path: Path):
    build_dir = tmp_path / "build"
    started = time.monotonic()
    proc = _run(
        [SAM, "build", "--no-cached", "--template-file", str(TEMPLATE), "--build-dir", str(build_dir)],
        timeout=600,
    )
    elapsed = time.monotonic() - started
    print(f"sam build took {elapsed:.1f}s")
    assert proc.returncode == 0, _explain(proc)
    assert (build_dir / "template.yaml").is_file()

    # The layer: pydantic_core's compiled module is an ELF64 shared object for
    # aarch64 Linux and CPython 3.13, whatever machine built it.
    site = build_dir / "SharedLayer" / "python"
    cores = sorted(site.glob("pydantic_core/_pydantic_core*.so"))
    assert cores, f"no pydantic_core/_pydantic_core*.so under {site}"
    for so in cores:
        ei_class, ei_data, e_type, e_machine = elf_machine(so)
        assert ei_class == ELFCLASS64, f"{so.name}: not ELF64 (EI_CLASS={ei_class})"
        assert ei_data == ELFDATA2LSB, f"{so.name}: not little-endian (EI_DATA={ei_data})"
        assert e_type == ET_DYN, f"{so.name}: not a shared object (e_type={e_type})"
        assert e_machine == EM_AARCH64, (
            f"{so.name}: e_machine={e_machine}, expected {EM_AARCH64} (EM_AARCH64)"
        )
    # ...and no compiled module in the layer is for another machine or Python.
    for so in site.rglob("*.so"):
        assert elf_machine(so)[3] == EM_AARCH64, f"{so.relative_to(site)} is not an aarch64 binary"
        if ".cpython-" in so.name:
            assert ".cpython-313-" in so.name, f"{so.relative_to(site)} is not built for CPython 3.13"
    assert (site / "signalfire" / "__init__.py").is_file(), "the signalfire package is not in the layer"
    # Nothing the functions never import: the runtime's botocore and its dependencies, scripts, stubs.
    for absent in ("boto3", "botocore", "s3transfer", "urllib3", "dateutil", "jmespath", "six.py", "bin"):
        assert not (site / absent).exists(), f"{absent} is in the layer; the runtime ships it"
    # Bytecode for the runtime's Python, when the build host has that interpreter (docs/build.md).
    if _has_python("3.13"):
        for source in [*site.joinpath("signalfire").rglob("*.py"), *site.joinpath("pydantic").rglob("*.py")]:
            pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
            assert pyc.is_file(), f"{source.relative_to(site)} has no CPython 3.13 bytecode"

    # Every function is built and holds its handler module.
    for lid, res in _functions(load_template(TEMPLATE)).items():
        handler = res["Properties"].get("Handler", "app.lambda_handler")
        module = handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
        assert (build_dir / lid / module).is_file(), f"{lid}: {module} missing from the build"
        assert not (build_dir / lid / "Makefile").exists(), f"{lid}: the Makefile leaked into the artifact"
