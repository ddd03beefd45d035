# Developer entry points.  `make test` is the one command that runs every
# test on a fresh machine (it installs what the tests need first).
PYTHON ?= python3
# Test files run on parallel workers, each file whole on one worker (its
# module fixtures, e.g. one `signalfire local` process, stay in one place);
# the longest files start first (tests/conftest.py).  docs/testing.md.
PYTEST_WORKERS ?= 4
PYTEST_PARALLEL = -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder
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
