"""Cold init of each function, as a ratio to boto3's own.

For every function in template.yaml, a fresh interpreter imports the
handler module (what Lambda's init phase does) with the function's
environment; the baseline is a fresh interpreter running
``import boto3; boto3.client("dynamodb")``, measured in the same run and
interleaved with the functions so that machine load affects both alike.
Only the import is timed, not the interpreter's own start.

    python bench/cold_start.py [--rounds 7] [--json]

``--source-only`` times the imports without bytecode for our package and
the handler (a fresh copy, ``-B``): what every cold start pays when the
layer ships no ``.pyc`` (Lambda's /opt is read-only, so nothing is cached).
Results and the target (1.3x) are in docs/build.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "local"), str(ROOT / "layers" / "shared")]

from signalfire_local.template import Template  # noqa: E402

TARGET = 1.3

BASELINE = """
import time
t = time.perf_counter()
import boto3
boto3.client("dynamodb")
print(time.perf_counter() - t)
"""

HANDLER = """
import sys, time
sys.path[:0] = {paths!r}
t = time.perf_counter()
import {module}
getattr({module}, {attr!r})
print(time.perf_counter() - t)
"""


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "SIGNALFIRE_", "PYTHON"))}
    env.update({"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench", "AWS_LAMBDA_FUNCTION_NAME": "bench",
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13"})
    env.update(extra)
    return env


def _time(code: str, env: dict[str, str], flags: tuple[str, ...] = ()) -> float:
    out = subprocess.run([sys.executable, *flags, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    return float(out.stdout.strip().splitlines()[-1])


def measure(rounds: int, source_only: bool) -> dict[str, object]:
    template = Template(ROOT / "template.yaml")
    functions = template.functions()
    shared = ROOT / "layers" / "shared"
    work = Path(tempfile.mkdtemp(prefix="sf-cold-"))
    flags: tuple[str, ...] = ()
    if source_only:  # no .pyc for our code: a fresh copy, and -B so none is written
        shutil.copytree(shared / "signalfire", work / "shared" / "signalfire",
                        ignore=shutil.ignore_patterns("__pycache__"))
        shared = work / "shared"
        flags = ("-B",)
    cases = {}
    for logical, fn in sorted(functions.items()):
        module, _, attr = fn.handler.rpartition(".")
        code_dir = fn.code_uri
        if source_only:
            code_dir = work / logical
            shutil.copytree(fn.code_uri, code_dir, ignore=shutil.ignore_patterns("__pycache__"))
        env = _env({k: str(v) for k, v in fn.environment.items()})
        cases[logical] = (HANDLER.format(paths=[str(code_dir), str(shared)], module=module, attr=attr), env)
    baseline: list[float] = []
    times: dict[str, list[float]] = {name: [] for name in cases}
    try:
        for _ in range(rounds):
            for name, (code, env) in cases.items():
                baseline.append(_time(BASELINE, _env({})))
                times[name].append(_time(code, env, flags))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = statistics.median(baseline)
    rows = {name: {"ms": round(statistics.median(t) * 1000, 1), "ratio": round(statistics.median(t) / base, 2)}
            for name, t in times.items()}
    return {"baseline_ms": round(base * 1000, 1), "rounds": rounds, "source_only": source_only,
            "target_ratio": TARGET, "functions": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--source-only", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.rounds, args.source_only)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"baseline: import boto3; boto3.client('dynamodb') = {result['baseline_ms']} ms "
          f"(median of {args.rounds}{', source only' if args.source_only else ''})")
    print(f"{'function':<22}{'init ms':>9}{'ratio':>8}   target {TARGET}x")
    for name, row in result["functions"].items():  # type: ignore[union-attr]
        print(f"{name:<22}{row['ms']:>9}{row['ratio']:>8}{'' if row['ratio'] <= TARGET else '   over'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
