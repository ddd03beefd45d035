# Developer entry points.  `make test` is the one command that runs every
# test on a fresh machine (it installs what the tests need first).
PYTHON ?= python3

.PHONY: test deps lint unit

test: deps lint
	$(PYTHON) -m pytest -q

deps:
	bash scripts/install-test-deps.sh

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m mypy

unit:
	$(PYTHON) -m pytest -q tests/unit
