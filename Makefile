# firmflow: `make dev` runs the whole platform, `make test` runs every check.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export XDG_RUNTIME_DIR ?= /tmp/runtime-$(shell id -u)

.PHONY: install system-deps dev api worker migrate lint format typecheck test pytest bench clean \
	web-deps browser-deps web-build web web-client web-check web-e2e screenshots

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# pysaml2 signs and verifies XML through the xmlsec1 program (Debian package xmlsec1);
# WeasyPrint renders invoice PDFs through Pango (Debian package libpango-1.0-0 and its
# FreeType and Cairo siblings) with the DejaVu fonts; typed e-signatures are set in URW's
# Z003, a script face (Debian package fonts-urw-base35).
system-deps:
	@command -v xmlsec1 >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xmlsec1 >/dev/null; \
	  else echo "xmlsec1 is missing: install the Debian package xmlsec1" >&2; exit 1; fi; }
	@{ ldconfig -p | grep -q libpangoft2-1.0 && test -d /usr/share/fonts/truetype/dejavu; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      libpango-1.0-0 libpangoft2-1.0-0 libpangocairo-1.0-0 fonts-dejavu-core >/dev/null; \
	  else echo "Pango is missing: install the Debian packages libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core" >&2; exit 1; fi; }
	@fc-list | grep -q Z003 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-urw-base35 fontconfig >/dev/null; \
	  else echo "The Z003 font is missing: install the Debian package fonts-urw-base35" >&2; exit 1; fi; }

install: $(STAMP) system-deps
	@install -d -m 0700 $(XDG_RUNTIME_DIR)

# The web app (web/): Node and npm from Debian when missing, its packages from the lock file.
WEB_STAMP := web/node_modules/.installed-stamp
WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html \
	web/vite.config.ts web/tsconfig.json web/postcss.config.cjs

web-deps: $(WEB_STAMP)

$(WEB_STAMP): web/package.json web/package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else echo "npm is missing: install the Debian packages nodejs and npm" >&2; exit 1; fi; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The browser suite, `make screenshots` and the web bench drive Debian's Chromium.
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	  else echo "chromium is missing: install the Debian package chromium" >&2; exit 1; fi; }

# Rebuilt only when a source changed; the API serves web/dist at /.
web/dist/index.html: $(WEB_STAMP) $(WEB_SOURCES)
	cd web && npx vite build --logLevel warn
	@touch $@

web-build: web/dist/index.html

# Vite's dev server with hot reload on http://127.0.0.1:5173, calling the API of `make dev`.
web: $(WEB_STAMP)
	cd web && npx vite

# The typed API client, generated from the OpenAPI document the app builds.
web-client: install $(WEB_STAMP)
	$(PY) -m launcher openapi > web/openapi.json
	cd web && npx openapi-typescript openapi.json -o src/api/schema.d.ts --default-non-nullable false --silent
	@rm -f web/openapi.json

# Types, lint and unit tests of the web app, and the committed client against a fresh one.
web-check: install $(WEB_STAMP)
	@tmp=$$(mktemp -d) && $(PY) -m launcher openapi > $$tmp/openapi.json && \
	  (cd web && npx openapi-typescript $$tmp/openapi.json -o $$tmp/schema.d.ts --default-non-nullable false --silent) && \
	  { diff -q web/src/api/schema.d.ts $$tmp/schema.d.ts >/dev/null || { \
	    echo "web/src/api/schema.d.ts is stale: run make web-client and commit it" >&2; rm -rf $$tmp; exit 1; }; } && rm -rf $$tmp
	cd web && npx tsc -p . && npx eslint --max-warnings 0 . && npx vitest run

# Playwright on Debian's Chromium against the whole platform (tests/browser/stack.py).
web-e2e: install web-build browser-deps
	@$(VENV)/bin/pytest tests/browser -m browser -q -rA -s

# A PNG of each main screen in docs/ui/ (docs/web.md shows them).
# web/e2e/screenshots.capture.ts under its own config: the suite's specs do not run.
screenshots: install web-build browser-deps
	@mkdir -p docs/ui
	@FIRMFLOW_PLAYWRIGHT_CONFIG=playwright.screenshots.config.ts $(VENV)/bin/pytest tests/browser -m browser -q -s

dev: install web-build
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

test: install web-deps
	@$(MAKE) --no-print-directory -j3 -k --output-sync=target lint typecheck web-check pytest
	@$(MAKE) --no-print-directory web-e2e

# xdist workers (one database and Temporal servers of their own each); see tests/conftest.py
# for how tests are grouped onto them. The slowest tests are listed at the end.
# A few workflow tests race the time-skipping server when the two cores are oversubscribed
# (docs/operations.md, "Tests that race under load"): the tests that failed run once more,
# alone and in one process, and are named; a test that fails alone too fails the target.
pytest: install
	@$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup --durations=25 || { \
	  echo "== FAILED under parallel load; running those tests again, alone, in one process:"; \
	  $(VENV)/bin/pytest --last-failed --last-failed-no-failures none -n 0 -rA -q; }

bench: install web-build browser-deps
	$(PY) bench/temporal_ceiling.py
	$(PY) bench/api_clients.py
	$(PY) bench/automation_throughput.py
	$(PY) bench/stripe_webhooks.py
	$(PY) bench/web_app.py
	$(PY) bench/documents.py

# firmflow beside n8n (bench/peer_n8n.py), apart from `make bench`: it needs n8n, which
# bench-n8n-install puts in .data/n8n from the npm registry (about 5 minutes and 2.3 GB).
.PHONY: bench-peer bench-n8n-install
N8N_DIR := .data/n8n
bench-n8n-install:
	mkdir -p $(N8N_DIR) && cp bench/n8n/package.json $(N8N_DIR)/package.json
	cd $(N8N_DIR) && npm install --no-audit --no-fund

bench-peer: install
	$(PY) bench/peer_n8n.py

clean:
	rm -rf .data/test-postgres .pytest_cache .mypy_cache .ruff_cache
