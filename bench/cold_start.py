"""Cold init of each function, as a ratio to boto3's own.

For every function in template.yaml, a fresh interpreter imports the
handler module (what Lambda's init phase does) with the function's
environment; the baseline is a fresh interpreter running
``import boto3; boto3.client("dynamodb")``, measured in the same run and
interleaved with the functions so that machine load affects both alike.
Only the import is timed, not the interpreter's own start.  The ratio is
of CPU time (``time.process_time``: the init's own work, which other
processes on a shared machine barely change); wall time is shown beside it.

    python bench/cold_start.py [--rounds 7] [--json] [--source-only] [--dev] [--against REF]

By default it measures what Lambda would load (a "Lambda twin"): the layer
and every function are built by their own Makefiles (the ones ``sam build``
runs) into a scratch directory, for this host's platform but the runtime's
Python (3.13, found as the bytecode script finds it), with bytecode as the
build writes it; boto3/botocore come from a separate directory, as the
runtime provides them.  The interpreter runs isolated (``-I -S``): nothing
from the dev machine's site-packages (``rich``, which httpx imports when it
is installed, is not in the layer and so is not loaded), only
``[function, layer/python, runtime]`` on ``sys.path``, the order Lambda uses
(/var/task, /opt/python, the runtime).  The only differences from Lambda
are the CPU and that native wheels are x86_64 (or whatever this host is).

``--dev`` measures the dev tree with this interpreter instead (faster, but
it sees every package installed here).  ``--source-only`` removes the
bytecode of our package and the handlers (``-B``): what every cold start
pays when the build host has no Python 3.13 to compile it with (Lambda's
/opt is read-only, so nothing is cached there).

``--against REF`` also builds the twin of a git revision (``main``, a
commit) and measures it in the same rounds, interleaved with this tree and
the baseline: a before/after that the machine's load cannot tilt.

Results and the target (1.3x) are in docs/build.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "local"), str(ROOT / "layers" / "shared")]

from signalfire_local.template import Template  # noqa: E402

TARGET = 1.3
LAMBDA_PYTHON = "3.13"
#: Libraries our code imports on first use rather than at init (each such
#: import says why where it is): timed alone in the same run, so that the
#: table shows what a first delivery or render adds to a cold start.
DEFERRED = {"httpx (first HTTP delivery or AI call)": "import httpx",
            "jinja2 sandbox (first Jinja render)": "import jinja2.sandbox"}
#: Suffix of the names measured in the ``--against`` tree.
BEFORE = " (before)"
#: What every function of a kind runs before any code of its own: the floor
#: under its ratio (timed the same way, with the layer on the path).  An HTTP
#: function makes Powertools' validating resolver and imports its ``Body``/
#: ``Query`` (every app does); a stage function imports the stage runner.
#: (code, the function whose environment it runs with)
FLOORS = {"HTTP function (validating resolver)": (
              "from aws_lambda_powertools.event_handler.openapi.params import Body, Query\n"
              "from signalfire.handlers.resolver import make_resolver\nmake_resolver()", "IngestFunction"),
          "stage function (handlers.stage)": ("import signalfire.handlers.stage", "CheckFunction")}

BASELINE = """
import sys, time
sys.path[:0] = {paths!r}
t, c = time.perf_counter(), time.process_time()
import boto3
boto3.client("dynamodb")
print(time.perf_counter() - t, time.process_time() - c)
"""

#: The init, then (not part of it) the CPU to build every model of ours the
#: init loaded but left unbuilt (``defer_build``, signalfire.models): what a
#: first request that used them all would add; a request using fewer adds less.
HANDLER = """
import sys, time
sys.path[:0] = {paths!r}
t, c = time.perf_counter(), time.process_time()
import {module}
getattr({module}, {attr!r})
init = time.perf_counter() - t, time.process_time() - c
c = time.process_time()
base = sys.modules.get("signalfire.models")
todo = list(base.Model.__subclasses__()) if base else []
while todo:
    model = todo.pop()
    todo.extend(model.__subclasses__())
    if not model.__pydantic_complete__:
        model.model_rebuild()
print(*init, time.process_time() - c)
"""


LIBRARY = """
import sys, time
sys.path[:0] = {paths!r}
t, c = time.perf_counter(), time.process_time()
{code}
print(time.perf_counter() - t, time.process_time() - c)
"""


@dataclass
class Setup:
    python: str
    flags: tuple[str, ...]
    runtime: list[str]  # where boto3 comes from ([] = this interpreter's site-packages)
    layer: Path
    code: dict[str, Path]  # logical id -> the function's code directory


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "SIGNALFIRE_", "PYTHON"))}
    env.update({"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench", "AWS_LAMBDA_FUNCTION_NAME": "bench",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_python{LAMBDA_PYTHON}"})
    env.update(extra)
    return env


def _time(python: str, code: str, env: dict[str, str], flags: tuple[str, ...] = ()) -> tuple[float, ...]:
    """(wall, CPU[, models' first-use CPU]) seconds of the timed code in a fresh interpreter."""
    out = subprocess.run([python, *flags, "-c", code], env=env, capture_output=True, text=True,
                         check=False, timeout=120)
    if out.returncode:
        raise RuntimeError(f"{code.strip().splitlines()[-3]} failed:\n{out.stderr[-3000:]}")
    return tuple(float(x) for x in out.stdout.strip().splitlines()[-1].split())


def lambda_python() -> str:
    """An interpreter of the runtime's Python version (as scripts/compile-bytecode.sh finds one)."""
    candidates = [shutil.which(f"python{LAMBDA_PYTHON}") or "",
                  *sorted(str(p) for p in Path.home().glob(f".pyenv/versions/{LAMBDA_PYTHON}*/bin/python"))]
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == LAMBDA_PYTHON:
            return candidate
    raise SystemExit(f"no Python {LAMBDA_PYTHON} found (python{LAMBDA_PYTHON} or pyenv): install one, "
                     "or measure the dev tree with --dev")


def _host_platform() -> str:
    machine = {"arm64": "aarch64", "amd64": "x86_64"}.get(platform.machine().lower(), platform.machine().lower())
    return f"manylinux2014_{machine}"


def _versions(*names: str) -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in names]


def _drop_bytecode(tree: Path) -> None:
    for cache in list(tree.rglob("__pycache__")):
        shutil.rmtree(cache)


def build_twin(work: Path, root: Path, template: Template, source_only: bool, runtime: Path) -> Setup:
    """The layer and the functions of the tree at ``root`` as ``sam build`` makes them, for this host."""
    python = lambda_python()
    path = f"{Path(python).parent}{os.pathsep}{os.environ.get('PATH', '')}"  # its compileall writes the .pyc
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}, "PATH": path}
    layer = work / "layer"
    subprocess.run(["make", "--no-print-directory", "--makefile", str(root / "layers/shared/Makefile"),
                    "build-SharedLayer", f"ARTIFACTS_DIR={layer}", f"PLATFORM={_host_platform()}",
                    f"LAMBDA_PYTHON={LAMBDA_PYTHON}"],
                   cwd=root / "layers/shared", env=env, check=True, capture_output=True)
    if not runtime.exists():  # what the Lambda runtime ships: boto3 and botocore, with bytecode
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target",
                        str(runtime), *_versions("boto3", "botocore")], env=env, check=True, capture_output=True)
        subprocess.run([python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
                        str(runtime)], env=env, check=True, capture_output=True)
    code = {}
    for logical, fn in sorted(template.functions().items()):
        out = work / "functions" / logical
        subprocess.run(["make", "--no-print-directory", "--makefile", str(fn.code_uri / "Makefile"),
                        f"build-{logical}", f"ARTIFACTS_DIR={out}", f"LAMBDA_PYTHON={LAMBDA_PYTHON}"],
                       cwd=fn.code_uri, env=env, check=True, capture_output=True)
        code[logical] = out
    if source_only:
        _drop_bytecode(layer / "python" / "signalfire")
        for out in code.values():
            _drop_bytecode(out)
    return Setup(python, ("-I", "-S") + (("-B",) if source_only else ()), [str(runtime)], layer / "python", code)


def dev_setup(work: Path, root: Path, template: Template, source_only: bool, runtime: Path) -> Setup:
    """The dev tree with this interpreter (sees everything installed here)."""
    shared = root / "layers" / "shared"
    code = {logical: fn.code_uri for logical, fn in template.functions().items()}
    if source_only:  # no .pyc for our code: a fresh copy, and -B so none is written
        shutil.copytree(shared / "signalfire", work / "shared" / "signalfire",
                        ignore=shutil.ignore_patterns("__pycache__"))
        shared = work / "shared"
        for logical, src in list(code.items()):
            code[logical] = work / logical
            shutil.copytree(src, code[logical], ignore=shutil.ignore_patterns("__pycache__"))
    return Setup(sys.executable, ("-B",) if source_only else (), [], shared, code)


def checkout(ref: str, into: Path) -> Path:
    """The files of git revision ``ref`` of this repository, unpacked under ``into``."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def _cases(setup: Setup, template: Template, suffix: str) -> dict[str, tuple[str, dict[str, str]]]:
    """name -> (code, environment) of every function, first-use library and floor of one tree."""
    functions = template.functions()
    cases = {}
    for logical, fn in sorted(functions.items()):
        module, _, attr = fn.handler.rpartition(".")
        env = _env({k: str(v) for k, v in fn.environment.items()})
        paths = [str(setup.code[logical]), str(setup.layer), *setup.runtime]
        cases[logical + suffix] = (HANDLER.format(paths=paths, module=module, attr=attr), env)
    for label, code in DEFERRED.items():
        cases[label + suffix] = (LIBRARY.format(paths=[str(setup.layer), *setup.runtime], code=code), _env({}))
    for label, (code, logical) in FLOORS.items():
        env = _env({k: str(v) for k, v in functions[logical].environment.items()})
        cases[label + suffix] = (LIBRARY.format(paths=[str(setup.layer), *setup.runtime], code=code), env)
    return cases


def measure(rounds: int, source_only: bool, dev: bool, against: str | None = None) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="sf-cold-"))
    trees = {"": ROOT}
    try:
        if against:
            trees[BEFORE] = checkout(against, work / "before" / "tree")
        cases: dict[str, tuple[str, dict[str, str]]] = {}
        setup = None
        for suffix, root in trees.items():
            template = Template(root / "template.yaml")
            setup = (dev_setup if dev else build_twin)(work / ("before" if suffix else "this"), root, template,
                                                       source_only, work / "runtime")
            cases.update(_cases(setup, template, suffix))
        assert setup is not None
        baseline_code = BASELINE.format(paths=setup.runtime)
        baseline: list[tuple[float, ...]] = []
        times: dict[str, list[tuple[float, ...]]] = {name: [] for name in cases}
        for _ in range(rounds):
            for name, (code, env) in cases.items():
                baseline.append(_time(setup.python, baseline_code, _env({}), setup.flags))
                times[name].append(_time(setup.python, code, env, setup.flags))
        python = subprocess.run([setup.python, "-c", "import sys; print(sys.version.split()[0])"],
                                capture_output=True, text=True, check=True).stdout.strip()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base_wall, base_cpu = (statistics.median(b[i] for b in baseline) for i in (0, 1))
    rows = {}
    for name, samples in times.items():
        wall, cpu = (statistics.median(t[i] for t in samples) for i in (0, 1))
        rows[name] = {"ms": round(cpu * 1000, 1), "ratio": round(cpu / base_cpu, 2),
                      "wall_ms": round(wall * 1000, 1), "wall_ratio": round(wall / base_wall, 2)}
        if len(samples[0]) > 2:
            models = statistics.median(t[2] for t in samples)
            rows[name].update(models_ms=round(models * 1000, 1), models_ratio=round(models / base_cpu, 2))
    before = {name[:-len(BEFORE)]: rows.pop(name) for name in list(rows) if name.endswith(BEFORE)}
    deferred = {label: rows.pop(label) for label in DEFERRED}
    floors = {label: rows.pop(label) for label in FLOORS}
    return {"baseline_ms": round(base_cpu * 1000, 1), "baseline_wall_ms": round(base_wall * 1000, 1),
            "rounds": rounds, "source_only": source_only,
            "mode": "dev" if dev else "lambda-twin", "python": python, "load": list(os.getloadavg()),
            "target_ratio": TARGET, "functions": rows, "deferred": deferred, "floors": floors,
            "against": against, "before": before}


def _line(name: str, row: dict[str, float], before: dict[str, float] | None, width: int) -> str:
    models = f"{row.get('models_ratio', ''):>9}"
    was = "" if before is None else f"{before['ratio']:>8}"
    return f"{name:<{width}}{row['ms']:>9}{row['ratio']:>8}{row['wall_ms']:>10}{row['wall_ratio']:>8}{models}{was}"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--source-only", action="store_true", help="no bytecode for signalfire and the handlers")
    parser.add_argument("--dev", action="store_true", help="the dev tree and this interpreter, not a Lambda twin")
    parser.add_argument("--against", metavar="REF", help="also measure git revision REF, in the same rounds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()
    result = measure(args.rounds, args.source_only, args.dev, args.against)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    load = ", ".join(f"{x:.2f}" for x in load_before)
    print(f"{result['mode']}, Python {result['python']}{', source only' if args.source_only else ''}; "
          f"load average before: {load}, after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"baseline: import boto3; boto3.client('dynamodb') = {result['baseline_ms']} ms CPU, "
          f"{result['baseline_wall_ms']} ms wall (median of {args.rounds})")
    Rows = dict[str, dict[str, float]]
    functions, deferred, floors, before = (cast(Rows, result[k]) for k in ("functions", "deferred", "floors", "before"))
    was = f"{args.against[:8]:>8}" if args.against else ""
    print(f"{'function':<28}{'CPU ms':>9}{'ratio':>8}{'wall ms':>10}{'ratio':>8}{'+models':>9}{was}"
          f"   target {TARGET}x (CPU)")
    for name, row in functions.items():
        print(_line(name, row, before.get(name) if args.against else None, 28)
              + ("" if row["ratio"] <= TARGET else "   over"))
    print("imported on first use (not in the init above; alone, so shared modules count here too):")
    for name, row in deferred.items():
        print("  " + _line(name, row, before.get(name) if args.against else None, 40))
    print("floors (imported by every function of the kind before its own code):")
    for name, row in floors.items():
        print("  " + _line(name, row, before.get(name) if args.against else None, 40))
    print("(+models: the CPU ratio of building, after the init, every model of ours it loaded unbuilt:"
          " what a first request using them all adds)")
    if args.against:
        print(f"(the last column: the CPU ratio of {args.against}, measured in the same rounds)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
