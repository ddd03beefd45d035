"""tests/localproc.py starts `signalfire local` from the checkout it sits in,
whatever the cwd, in a git worktree or a fresh clone, even when the editable
install points at another checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import localproc


def test_root_is_the_checkout_that_holds_this_file():
    assert (localproc.ROOT / "template.yaml").is_file()
    assert (localproc.ROOT / "tests" / "localproc.py").resolve() == Path(
        localproc.__file__).resolve()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_root_is_the_top_of_the_git_checkout_worktree_or_clone(tmp_path):
    if not (localproc.ROOT / ".git").exists():  # a .git directory (clone) or file (worktree)
        pytest.skip("not a git checkout")
    top = subprocess.run(["git", "-C", str(localproc.ROOT / "tests"), "rev-parse", "--show-toplevel"],
                         capture_output=True, text=True, check=True, cwd=tmp_path).stdout.strip()
    assert Path(top).resolve() == localproc.ROOT


def test_the_child_imports_this_checkouts_code_from_any_cwd(tmp_path):
    probe = "import signalfire, signalfire_local; print(signalfire.__file__); print(signalfire_local.__file__)"
    out = subprocess.run([sys.executable, "-c", probe], env=localproc.child_env(), cwd=tmp_path,
                         capture_output=True, text=True, check=True, timeout=60).stdout.split()
    assert out == [str(localproc.ROOT / "layers" / "shared" / "signalfire" / "__init__.py"),
                   str(localproc.ROOT / "local" / "signalfire_local" / "__init__.py")]
