"""The doc check: every test docs/aws-fidelity.md (and the other pages that
map behaviours or scenarios to tests) names exists, so a page cannot claim a
behaviour is tested by a test that was renamed or removed.

A reference is ``tests/<path>.py`` or ``tests/<path>.py::test_name``; a bare
``::test_name`` after it names another test of the same file."""

from __future__ import annotations

import re

import pytest

from support import ROOT

REFERENCE = re.compile(r"`(tests/[\w/]+\.py)?(::\w+)?`")


def _references(text: str) -> list[tuple[str, str]]:
    found, last = [], ""
    for line in text.splitlines():
        last = ""  # a bare ::name continues the file named earlier on its own row
        for path, name in REFERENCE.findall(line):
            last = path or last
            if last:
                found.append((last, name.removeprefix("::")))
    return found


@pytest.mark.parametrize(("page", "at_least"), [("aws-fidelity.md", 40), ("testing.md", 20), ("reliability.md", 8)])
def test_every_test_the_fidelity_page_names_exists(page, at_least):
    refs = _references((ROOT / "docs" / page).read_text())
    assert len(refs) > at_least
    missing = []
    for path, name in refs:
        file = ROOT / path
        if not file.exists():
            missing.append(path)
        elif name and not re.search(rf"^\s*(async\s+)?def {re.escape(name)}\(", file.read_text(), re.M):
            missing.append(f"{path}::{name}")
    assert missing == []
