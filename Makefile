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

.PHONY: install test lint demo bench browser java clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip uv
	$(VENV)/bin/uv pip install --python $(PY) -q -e ".[engine,spark,test]"
	@touch $(STAMP)

install: $(STAMP)

# Headless Chromium renders report.html in the report's browser test (Debian's package).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the report browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# A Java runtime for the Spark backend's tests (pyspark's local and standalone masters; Debian's package).
java:
	@command -v java >/dev/null 2>&1 || { \
	  echo "installing Debian's default-jre-headless for the Spark tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null; }

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check airflow_provider_clarify

test: install browser java lint
	$(PY) -m pytest -q -p no:cacheprovider

# The offline quickstart: an Airflow home inside the project (.airflow/, SQLite), then
# `airflow dags test clarify_quickstart_audit` with compute="local": no AWS account, no network.
# Results land in demo-output/ (summary.txt, reports, the full Airflow log in dags-test.log).
demo: install
	@mkdir -p $(AIRFLOW_HOME) demo-output
	@test -f $(AIRFLOW_HOME)/airflow.db || { echo "Setting up the Airflow home in $(AIRFLOW_HOME) (SQLite) ..."; \
	  $(VENV)/bin/airflow db migrate >$(AIRFLOW_HOME)/db-migrate.log 2>&1 \
	  || { tail -n 40 $(AIRFLOW_HOME)/db-migrate.log; rm -f $(AIRFLOW_HOME)/airflow.db; exit 1; }; }
	@rm -f demo-output/summary.txt
	@echo "Running airflow dags test clarify_quickstart_audit (log: demo-output/dags-test.log) ..."
	@start=$$($(PY) -c 'import time; print(time.time())'); \
	env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
	  AWS_EC2_METADATA_DISABLED=true \
	  $(VENV)/bin/airflow dags test clarify_quickstart_audit >demo-output/dags-test.log 2>&1; status=$$?; \
	elapsed=$$($(PY) -c "import time; print(f'{time.time() - $$start:.1f}')"); \
	if [ $$status -ne 0 ] || [ ! -f demo-output/summary.txt ]; then \
	  tail -n 60 demo-output/dags-test.log; \
	  echo "The quickstart audit failed after $$elapsed s; full log: demo-output/dags-test.log"; exit 1; fi; \
	cat demo-output/summary.txt; \
	echo "airflow dags test clarify_quickstart_audit finished in $$elapsed s (wall clock, Airflow start-up included)"

bench: install
	$(VENV)/bin/uv pip install --python $(PY) -q -e ".[engine,spark,test,bench]"
	$(PY) benchmarks/bench_bias.py
	$(PY) benchmarks/bench_shap.py
	$(PY) benchmarks/bench_spark.py

clean:
	rm -rf $(VENV) .airflow demo-output build dist *.egg-info
