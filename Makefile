# Developer entry points.  `make test` is the one command that runs every
# test on a fresh machine (it installs what the tests need first).
PYTHON ?= python3
# `make test PYTEST_WORKERS=4` runs test files on parallel workers, each file
# whole on one worker, the longest first (tests/conftest.py).  Not the
# default yet: some tests depend on what ran before them (docs/testing.md).
PYTEST_WORKERS ?=
PYTEST_PARALLEL = $(if $(PYTEST_WORKERS),-n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder,)
# --durations: the slowest tests in the CI log (.ci/run must finish in 15 min).

.PHONY: test deps lint unit

test: deps lint
	$(PYTHON) -m pytest -q $(PYTEST_PARALLEL) --durations=25

deps:
	bash scripts/install-test-deps.sh

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy

unit:
	$(PYTHON) -m pytest -q tests/unit
