# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Both create .venv when it is missing and (re)install when pyproject.toml changes.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags

.PHONY: install test lint demo bench browser clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip uv
	$(VENV)/bin/uv pip install --python $(PY) -q -e ".[engine,test]"
	@touch $(STAMP)

install: $(STAMP)

# Headless Chromium renders report.html in the report's browser test (Debian's package).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the report browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check airflow_provider_clarify

test: install browser lint
	$(PY) -m pytest -q -p no:cacheprovider

demo: install
	$(PY) -m airflow_provider_clarify.demo

bench: install
	$(PY) benchmarks/bench_bias.py
	$(PY) benchmarks/bench_shap.py

clean:
	rm -rf $(VENV) .airflow build dist *.egg-info
