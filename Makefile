# sheetledger — the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help test demo sandbox lint fmt bench chaos clean

help:  ## list the targets
	@echo "sheetledger — make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

BROWSER_NOTE := NOTE: headless Chromium is missing, so the web page's browser tests \
  (tests/web/test_browser.py) were NOT run; install it: apt-get install chromium chromium-driver

test: $(STAMP)  ## create .venv if missing, install, run the whole test suite (+ browser tests)
	$(PY) -m pytest -n 2 -q
	@command -v chromedriver >/dev/null 2>&1 || echo "$(BROWSER_NOTE)"

demo: $(STAMP)  ## play a working day of a furniture business on the bundled sandbox
	$(VENV)/bin/sheetledger demo

sandbox: $(STAMP)  ## start the emulators (amoCRM, Google Sheets, Telegram) on loopback
	$(VENV)/bin/sheetledger sandbox --seed empty --state-dir .sandbox

lint: $(STAMP)  ## ruff and mypy on the package
	$(VENV)/bin/ruff check sheetledger tests
	$(VENV)/bin/mypy sheetledger

fmt: $(STAMP)  ## format the code with ruff
	$(VENV)/bin/ruff format sheetledger tests
	$(VENV)/bin/ruff check --fix sheetledger tests

bench: $(STAMP)  ## print request counts, CPU, wall time and memory (10,000 deals; the demo day)
	$(PY) bench/bench_sync.py
	$(PY) bench/bench_bot.py
	$(PY) bench/bench_reports.py
	$(PY) bench/bench_bank.py
	$(PY) bench/bench_orders.py
	$(PY) bench/bench_write_path.py
	$(PY) bench/bench_demo.py

SEED  ?= 20261202
STEPS ?= 700
chaos: $(STAMP)  ## the long seeded chaos run: faults, kill -9, people's edits (SEED= STEPS= VERBOSE=1)
	$(PY) -m tests.chaos.run --seed $(SEED) --steps $(STEPS) $(if $(BREAKING),--breaking) $(if $(VERBOSE),-v)

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
