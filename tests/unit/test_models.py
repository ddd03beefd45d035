"""signalfire.models.Model: the one base of our pydantic models (built on
first use), and first use from many threads at once."""

from __future__ import annotations

import ast
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from pydantic import BaseModel, ConfigDict, Field

from signalfire.models import Model
from support import ROOT

SOURCES = [ROOT / "layers" / "shared" / "signalfire", ROOT / "functions"]


def _bases(node: ast.ClassDef) -> list[str]:
    return [ast.unparse(base.value if isinstance(base, ast.Subscript) else base) for base in node.bases]


def test_no_model_of_ours_derives_from_pydantic_directly() -> None:
    direct = []
    for tree in SOURCES:
        for path in tree.rglob("*.py"):
            if path == ROOT / "layers/shared/signalfire/models.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef) and {"BaseModel", "pydantic.BaseModel"} & set(_bases(node)):
                    direct.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not direct, f"derive from signalfire.models.Model, not BaseModel: {direct}"


def test_a_model_is_built_on_first_use_and_keeps_its_own_config() -> None:
    class Strict(Model):
        model_config = ConfigDict(extra="forbid")
        a: int

    assert not Strict.__pydantic_complete__
    assert Strict.model_config["defer_build"] and Strict.model_config["extra"] == "forbid"
    assert Strict(a=1).a == 1
    assert Strict.__pydantic_complete__
    assert issubclass(Strict, BaseModel)


def test_first_use_from_many_threads_at_once_builds_each_model_once_and_right() -> None:
    """Without the build lock, pydantic 2.13 fails here now and then with
    AttributeError: ... no attribute '__pydantic_core_schema__'."""
    threads = 8
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: the race needs it
    failures: list[str] = []
    try:
        for _ in range(60):
            class Item(Model):
                model_config = ConfigDict(extra="forbid")
                a: int
                b: str = Field(min_length=1)

            class Outer(Model):
                item: Item
                n: int

            barrier = threading.Barrier(threads)

            def use(k: int, barrier: threading.Barrier = barrier, model: type[Outer] = Outer) -> Outer:
                barrier.wait()
                return model.model_validate({"item": {"a": str(k), "b": "x"}, "n": k})

            with ThreadPoolExecutor(threads) as pool:
                futures = [pool.submit(use, k) for k in range(threads)]
            for k, future in enumerate(futures):
                try:
                    out = future.result()
                except Exception as exc:  # noqa: BLE001 - any failure is the finding
                    failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                if not (isinstance(out.item, Item) and out.item.a == k and out.n == k):
                    failures.append(f"thread {k} got {out!r}")
    finally:
        sys.setswitchinterval(interval)
    assert not failures, failures[:3]
