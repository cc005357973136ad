# dxportal — the README's commands. Everything a fresh Debian machine needs is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := wsgi.py

# Debian packages WeasyPrint needs (Pango with HarfBuzz); installed with apt-get when missing.
DEBIAN_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0

.PHONY: run worker test lint bench system-deps install install-dev translations extract-messages db-upgrade demo clean

system-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

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

test: install-dev
	$(BIN)/ruff check .
	env -u TEST_DATABASE_URL -u TEST_REDIS_URL $(BIN)/pytest -q
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== again on $$TEST_DATABASE_URL =="; \
	  $(BIN)/pytest -q; \
	fi

lint: install-dev
	$(BIN)/ruff check .

bench: install-dev
	$(BIN)/python bench/assessment.py
	$(BIN)/python bench/recommender.py
	$(BIN)/python bench/pdf.py
	$(BIN)/python bench/review_queue.py
	$(BIN)/python bench/open_data.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
