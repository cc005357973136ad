# dxportal — the README's commands. Everything a fresh Debian machine needs is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := wsgi.py

# Debian packages WeasyPrint needs (Pango with HarfBuzz); installed with apt-get when missing.
DEBIAN_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0

.PHONY: run worker test e2e lint bench load system-deps browser-deps node-deps e2e-deps install install-dev translations \
	extract-messages db-upgrade demo clean

system-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# The browser checks (tests/e2e): Debian's chromium (Playwright cannot download its own browser here),
# a Java runtime for the Nu Html Checker, and Node.js's npm for axe-core and vnu-jar (package-lock.json).
browser-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v java >/dev/null 2>&1 || missing="$$missing default-jre-headless"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# npm ci when node_modules is missing or package-lock.json changed; --ignore-scripts: vnu-jar's postinstall
# would download a Java runtime of its own (the system's is used instead).
node-deps: browser-deps
	@if ! cmp -s package-lock.json node_modules/.dxportal-lock.json; then \
	  npm ci --ignore-scripts --no-audit --no-fund && cp package-lock.json node_modules/.dxportal-lock.json; \
	fi

e2e-deps: browser-deps node-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: system-deps $(VENV)/.installed translations
install-dev: system-deps $(VENV)/.installed-dev translations

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d translations

extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

db-upgrade: install
	$(BIN)/flask db upgrade

run: db-upgrade
	$(BIN)/flask demo load --if-empty
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

worker: db-upgrade
	@if [ -z "$$REDIS_URL" ]; then echo "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0) to run a worker."; exit 2; fi
	$(BIN)/flask jobs worker

# The browser checks (tests/e2e: journeys, axe, the HTML checker) run in the first (SQLite) pass only; with
# E2E_REQUIRED=1 a missing browser or tool fails them instead of skipping them.
test: install-dev e2e-deps
	$(BIN)/ruff check .
	$(BIN)/bandit -q -r app -ll
	env -u TEST_DATABASE_URL -u TEST_REDIS_URL E2E_REQUIRED=1 $(BIN)/pytest -q
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== again on $$TEST_DATABASE_URL (without tests/e2e, which ran above) =="; \
	  $(BIN)/pytest -q --ignore=tests/e2e; \
	fi

# The journeys in a real browser, axe-core and the Nu Html Checker alone; screenshots in artifacts/e2e/.
e2e: install-dev e2e-deps
	env -u TEST_DATABASE_URL -u TEST_REDIS_URL E2E_REQUIRED=1 $(BIN)/pytest -q tests/e2e

LOAD_VENV := .venv-load
LOAD_ARGS ?=

# Locust lives in a venv of its own: its wheel registers a pytest plugin that would load gevent into `make test`.
$(LOAD_VENV)/.installed: requirements-load.txt
	$(PYTHON) -m venv $(LOAD_VENV)
	$(LOAD_VENV)/bin/pip install --quiet --upgrade pip
	$(LOAD_VENV)/bin/pip install --quiet -r requirements-load.txt
	touch $@

# Benchmark, not part of `make test`: both modes (SQLite + 2 workers; PostgreSQL + Redis + 4 workers + RQ).
# On a machine shared with other jobs: make load LOAD_ARGS="--priority 10"
load: install $(LOAD_VENV)/.installed
	$(BIN)/python bench/load/run.py --locust $(LOAD_VENV)/bin/locust $(LOAD_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/bandit -q -r app -ll

bench: install-dev
	$(BIN)/python bench/assessment.py
	$(BIN)/python bench/recommender.py
	$(BIN)/python bench/pdf.py
	$(BIN)/python bench/review_queue.py
	$(BIN)/python bench/open_data.py

clean:
	rm -rf $(VENV) $(LOAD_VENV) .pytest_cache .ruff_cache
