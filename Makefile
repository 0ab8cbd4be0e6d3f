# Weft: `make run` starts everything; `make test` runs every check. Both work
# from a bare checkout: they create the virtual environment, install the locked
# dependencies, build the front end and start embedded PostgreSQL and Redis.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(shell command -v uv 2>/dev/null || echo var/tools/bin/uv)
FRONTEND := frontend
# `make test` prints its slowest tests (the suite's time is kept under 20 minutes).
PYTEST_ARGS ?= --durations=25
export UV_LINK_MODE ?= copy
# Use the machine's Python (3.11+); never download one.
export UV_PYTHON_DOWNLOADS ?= never

.PHONY: run test tour deps frontend triton-repository docs chromium faketime services services-down lint e2e bench clean help

help:
	@echo "make run    start Weft (web, worker, scheduler, embedded services) on http://127.0.0.1:8000"
	@echo "make test   set up from scratch and run the whole test suite"

var/tools/bin/uv:
	$(PYTHON) -m pip install --quiet --target var/tools uv

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen
	touch $@

deps: $(VENV)/.synced

# The canvas editor bundle (static/dist), built when the front end exists.
frontend:
	@if [ -f $(FRONTEND)/package.json ]; then \
		cd $(FRONTEND) && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; } && npm run build; \
	fi

# The demo models as a Triton model repository (Python backend) for compose.yaml's
# Triton server, which reads models/repository.
triton-repository: deps
	$(PY) -m apps.inference.repository models/repository

# docs/nodes.md from the node-type registry (a test fails when it is stale).
docs: deps
	$(PY) manage.py weft_node_reference

# Debian's Chromium for the end-to-end tests (browser downloads do not work here).
chromium:
	@command -v chromium >/dev/null || { \
		echo "Installing Debian's chromium for the end-to-end tests"; \
		( [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null ) \
		|| echo "WARNING: chromium could not be installed; browser tests will be skipped"; }

# Debian's faketime (libfaketime) for the clock-skew tests: a worker started with its
# clock minutes ahead or behind. Those tests fail without it.
faketime:
	@command -v faketime >/dev/null || { \
		echo "Installing Debian's faketime for the clock-skew tests"; \
		( [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null ) \
		|| echo "WARNING: faketime could not be installed; the clock-skew tests will fail"; }

services: deps
	$(PY) -m config.embedded up

services-down:
	$(PY) -m config.embedded down

run: deps frontend
	$(PY) -m config.launch

lint: deps
	$(VENV)/bin/ruff check .

test: deps frontend chromium faketime services lint
	@if [ -f $(FRONTEND)/package.json ]; then cd $(FRONTEND) && npm test --silent; fi
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The README's five-minute tour: the journey test, writing its screenshots to docs/tour/.
tour: deps frontend chromium services
	WEFT_TOUR_DIR=docs/tour $(VENV)/bin/pytest tests/e2e/test_journey.py -q -p no:cacheprovider

bench: deps services
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) static/dist $(FRONTEND)/node_modules
