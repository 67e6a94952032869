# firmflow: `make dev` runs the whole platform, `make test` runs every check.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export XDG_RUNTIME_DIR ?= /tmp/runtime-$(shell id -u)

.PHONY: install system-deps dev api worker migrate lint format typecheck test pytest bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# pysaml2 signs and verifies XML through the xmlsec1 program (Debian package xmlsec1).
system-deps:
	@command -v xmlsec1 >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xmlsec1 >/dev/null; \
	  else echo "xmlsec1 is missing: install the Debian package xmlsec1" >&2; exit 1; fi; }

install: $(STAMP) system-deps
	@install -d -m 0700 $(XDG_RUNTIME_DIR)

dev: install
	$(PY) -m launcher dev

api: install
	$(PY) -m launcher api

worker: install
	$(PY) -m launcher worker

migrate: install
	$(PY) -m launcher migrate

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

typecheck: install
	$(VENV)/bin/mypy

# Lint, types and the tests run side by side: mypy uses one core, and the tests spend much of
# their time waiting on Postgres and Temporal. --output-sync prints each part whole as it ends
# instead of interleaving them; -k lets the others finish when one fails, and make still exits
# non-zero. TEST_WORKERS=0 runs the tests in one process.
TEST_WORKERS ?= 3

test: install
	@$(MAKE) --no-print-directory -j3 -k --output-sync=target lint typecheck pytest

# xdist workers (one database and Temporal servers of their own each); see tests/conftest.py
# for how tests are grouped onto them. The slowest tests are listed at the end.
# A few workflow tests race the time-skipping server when the two cores are oversubscribed
# (docs/operations.md, "Tests that race under load"): the tests that failed run once more,
# alone and in one process, and are named; a test that fails alone too fails the target.
pytest: install
	@$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup --durations=25 || { \
	  echo "== FAILED under parallel load; running those tests again, alone, in one process:"; \
	  $(VENV)/bin/pytest --last-failed --last-failed-no-failures none -n 0 -rA -q; }

bench: install
	$(PY) bench/temporal_ceiling.py
	$(PY) bench/api_clients.py
	$(PY) bench/automation_throughput.py
	$(PY) bench/stripe_webhooks.py

clean:
	rm -rf .data/test-postgres .pytest_cache .mypy_cache .ruff_cache
