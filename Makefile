# The front door: `make run` opens the dashboard on the demo data, `make test` runs every test.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' && echo $$p && break; done)
VENV   := .venv
BIN    := $(VENV)/bin
DB     ?= $(or $(HOMEWORK_DB),data/homework.duckdb)
PORT   ?= 8501

OIDC   := tests/browser/oidc

.PHONY: run test lint setup setup-dev demo-store clean bench

run: $(VENV)/.runtime demo-store
	$(BIN)/streamlit run dashboard.py --server.address localhost --server.port $(PORT) -- --db $(DB)

# Two processes share the tests (pytest-xdist; the browser tests stay together on one, so do the slow ones): the whole
# run must stay well under 10 minutes on 2 cores, and in one process it came to 10 min 18 s in CI. TEST_WORKERS=0 runs
# every test in this one process. The 15 slowest are listed at the end.
TEST_WORKERS ?= 2

test: $(VENV)/.dev $(OIDC)/node_modules/.package-lock.json
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup --durations=15

# `make bench`: the benchmark (README "Performance"), not part of `make test`. SCALE=quick (demo and 1m), demo, 1m or
# 10m; RUNS timed runs per page and command. The data is generated once into .bench/data/; results in
# .bench/results-<scale>.json.
SCALE ?= quick
RUNS  ?= 5
BENCH_SCALES = $(if $(filter quick,$(SCALE)),--scale demo --scale 1m,--scale $(SCALE))
# Then, on each scale's store and files: the load test with LOAD sessions at once (real browsers) and KILLS kills of
# an import (LOAD= KILLS=0 leave them out).
LOAD  ?= 1,10,25
KILLS ?= 20

bench: $(VENV)/.dev
	$(BIN)/python -m benchmarks.run $(BENCH_SCALES) --runs $(RUNS) --load "$(LOAD)" --kills $(KILLS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .

setup: $(VENV)/.runtime
setup-dev: $(VENV)/.dev

# Creates the store from the bundled demo data, moved to end yesterday; an existing store is kept.
demo-store: $(VENV)/.runtime
	$(BIN)/python -m analytics load-demo --db $(DB) --if-missing

$(VENV)/.runtime: requirements.txt
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed (python3 --version)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# The OpenID Connect provider of the sign-in browser test (the npm package oidc-provider, pinned in its lock file).
# Without npm this only warns: the test then fails and says what is missing.
$(OIDC)/node_modules/.package-lock.json: $(OIDC)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix $(OIDC) --no-audit --no-fund; \
	else echo "npm not found: install Node.js and npm (apt-get install nodejs npm); the sign-in test will fail"; fi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache screenshots $(OIDC)/node_modules
