# The two commands of a fresh machine: `make run` and `make test`.
# Everything else (the virtualenv, installing, the embedded database) happens on the way.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test test-integration lint manage bench install clean-var

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

## run: the whole platform (web, worker, beat) with demo data, on embedded defaults
run: $(STAMP)
	$(BIN)/python -m config.launcher

## test: the whole test suite
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## test-integration: the integration tests against servers named by DATABASE_URL etc.
test-integration: $(STAMP)
	$(BIN)/python -m pytest -m integration $(PYTEST_ARGS)

## lint: ruff and the layer contracts
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

## manage: an operator's command, e.g. make manage ARGS="billing_audit"
manage: $(STAMP)
	$(BIN)/python manage.py $(ARGS)

## bench: time one whole day of the billing clock over SERVICES services (default 100000)
## on Celery workers, in a fresh database; figures go to docs/benchmarks.md
bench: $(STAMP)
	$(BIN)/python manage.py bench_clock --services $(or $(SERVICES),100000)

clean-var:
	rm -rf var
