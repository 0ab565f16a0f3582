# EKC-122: `make run` (backend with demo data) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run serve test test-quick lint typecheck bench lock clean

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed (set PYTHON=python3.11)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# the embedded SQLite database under EKC_DATA_DIR (default: the per-user data folder):
# backend and a demo contact stream in the background, the console in the foreground
run: install
	BIN=$(BIN) scripts/run-demo.sh

# the backend alone, in the foreground
serve: install
	$(BIN)/ekc-server db seed --demo --if-empty
	$(BIN)/ekc-server run

# one pytest worker per core; a test file stays on one worker (its module backend, the
# fuzzer's case order); each worker has its own PostgreSQL database (<db>_gw0, …)
PYTEST_WORKERS ?= auto
test: install lint typecheck
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile

# the edit-test loop: pytest without the few tests that start `ekc-server run` and the fuzzer
test-quick: install
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile -m "not integration and not fuzz"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

# KB_SIZES="5000" make bench for a quicker run; EKC_BENCH_DATABASE_URL (a scratch
# PostgreSQL database: its schema is dropped) runs the backend benches on PostgreSQL
KB_SIZES ?= 5000 50000
# contacts of the KPI report bench (a year each; 1000000 takes ~1.5 min to generate)
KPI_SIZES ?= 120000,1000000
bench: install
	$(BIN)/python bench/api_bench.py
	$(BIN)/python bench/load_bench.py --workers 2
	$(BIN)/python bench/kb_relevance.py
	$(BIN)/python bench/kb_import.py $(KB_SIZES)
	$(BIN)/python bench/kb_latency.py --sizes $(shell echo $(KB_SIZES) | tr ' ' ',')
	$(BIN)/python bench/kb_rebuild_memory.py --sizes $(shell echo $(KB_SIZES) | tr ' ' ',')
	$(BIN)/python bench/console_bench.py --kb-size $(lastword $(KB_SIZES))
	$(BIN)/python bench/roster_bench.py
	$(BIN)/python bench/routing_day.py
	$(BIN)/python bench/group_staffing_day.py
	$(BIN)/python bench/kpi_bench.py --sizes $(KPI_SIZES)
	$(BIN)/python bench/wallboard_bench.py --updates 30 --idle 3
	$(BIN)/python bench/demo_bench.py

# refresh the pins after changing dependencies in pyproject.toml
lock: install
	$(BIN)/python -m pip freeze --exclude-editable > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .grimp_cache .import_linter_cache
