# Qianbao — the two commands are `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
LOCALES := $(wildcard src/qianbao/locale/*/LC_MESSAGES/messages.po)
CATALOGS := $(LOCALES:.po=.mo)

.PHONY: run test visual-update lint bench chaos overload fuzz fmt translations extract-messages lock clean help
.DEFAULT_GOAL := help

help:
	@echo "make run    - start Qianbao with demo data on http://localhost:8000 (embedded PostgreSQL)"
	@echo "make test   - run the whole test suite against a throwaway PostgreSQL"
	@echo "make lint   - ruff, import-linter contracts, mypy"
	@echo "make visual-update - record the screenshot baselines again (tests/web/baselines) after a wanted change"
	@echo "make bench  - run the benchmarks in bench/"
	@echo "make fuzz   - schemathesis against the API, longer than in make test (FUZZ_EXAMPLES=200)"
	@echo "make chaos  - fault injection: kill -9 the server and PostgreSQL under load, check nothing is lost or doubled"
	@echo "make overload - three times the sustainable load: fast shedding, accepted latency, memory, recovery"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Qianbao needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: $(BIN)/python requirements/runtime.lock pyproject.toml
	$(PIP) install -r requirements/runtime.lock
	$(PIP) install --no-deps -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements/dev.lock
	$(PIP) install -r requirements/dev.lock
	@touch $@

%.mo: %.po
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@ >/dev/null

# Traditional Chinese is generated from Simplified (OpenCC; corrections in its overrides.toml):
# the catalog and the legal pages follow zh_CN whenever it changes (tools/hant_catalog.py).
HANT_PO := src/qianbao/locale/zh_Hant/LC_MESSAGES/messages.po
HANT_SOURCES := src/qianbao/locale/zh_CN/LC_MESSAGES/messages.po src/qianbao/locale/zh_Hant/overrides.toml \
  $(wildcard src/qianbao/web/templates/public/legal/*.zh_CN.html) tools/hant_catalog.py
$(HANT_PO): $(HANT_SOURCES) | $(VENV)/.runtime
	$(BIN)/python tools/hant_catalog.py

translations: $(VENV)/.runtime $(CATALOGS)

# RUN_AT="2026-12-07 23:09": the demo at another moment (China time, through libfaketime), e.g.
# to see the desk after hours.
run: $(VENV)/.runtime translations
	$(BIN)/python tools/run_at.py "$(RUN_AT)" -- $(BIN)/qianbao run

# TEST_AT="2026-10-03 23:30": the whole suite at another moment (China time), through libfaketime.
test: $(VENV)/.dev translations
	$(BIN)/python tools/run_at.py "$(TEST_AT)" -- $(BIN)/python -m pytest $(PYTEST_ARGS)

# The screenshot baselines (tests/web/baselines): record them again after a wanted change of the
# pages, then look at every changed PNG before committing it.
visual-update: $(VENV)/.dev translations
	QIANBAO_UPDATE_BASELINES=1 $(BIN)/python -m pytest -q tests/web/test_visual.py

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations
	$(BIN)/lint-imports
	$(BIN)/mypy

fmt: $(VENV)/.dev
	$(BIN)/ruff check --fix src tests bench migrations
	$(BIN)/ruff format src tests bench migrations

$(VENV)/.bench: $(VENV)/.dev requirements/bench.lock
	$(PIP) install -r requirements/bench.lock
	@touch $@

bench: $(VENV)/.bench translations
	$(BIN)/python -m bench $(BENCH_ARGS)

# CHAOS_ARGS="--web-kills 20 --pg-kills 5 --seed 1": see bench/chaos.py (--help).
chaos: $(VENV)/.dev translations
	$(BIN)/python -m bench.chaos $(CHAOS_ARGS)

# OVERLOAD_ARGS="--seconds 30 --factor 3 --seed 1": see bench/overload.py (--help).
overload: $(VENV)/.dev translations
	$(BIN)/python -m bench.overload $(OVERLOAD_ARGS)

# The test suite's schemathesis run (tests/fuzz), with more examples per operation and the
# stateful phase (links between operations).
FUZZ_EXAMPLES ?= 200
fuzz: $(VENV)/.dev translations
	QIANBAO_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) QIANBAO_FUZZ_PHASES=examples,coverage,fuzzing,stateful \
	  $(BIN)/python -m pytest -p no:cacheprovider -rP tests/fuzz $(PYTEST_ARGS)

extract-messages: $(VENV)/.dev
	$(BIN)/pybabel extract -F babel.cfg -k N_ -o src/qianbao/locale/messages.pot src
	$(BIN)/pybabel update -i src/qianbao/locale/messages.pot -d src/qianbao/locale --no-fuzzy-matching
	$(BIN)/python tools/hant_catalog.py

lock: $(VENV)/.dev
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links -o requirements/runtime.lock pyproject.toml
	$(BIN)/pip-compile -q --strip-extras --no-emit-index-url --no-emit-find-links --extra dev -c requirements/runtime.lock -o requirements/dev.lock pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
