# Every target creates .venv if absent and installs what it needs: a fresh machine with Python 3.11 is enough.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.simsparse-dev-installed

.PHONY: demo test check bench reports clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/simsparse demo --out reports/demo

check: $(STAMP)
	$(VENV)/bin/ruff check simsparse tests benchmarks scripts
	$(VENV)/bin/ruff format --check simsparse tests benchmarks scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: check
	$(VENV)/bin/pytest -n 2 -q

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

reports: $(STAMP)
	for r in sparsity-study moe-study quantization-study validation; do $(VENV)/bin/simsparse report $$r --out reports/$$r || exit 1; done

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
