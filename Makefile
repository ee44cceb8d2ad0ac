# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Both create .venv when it is missing and (re)install when pyproject.toml changes.
# --compile-bytecode: uv (unlike pip) installs without .pyc files, and a package that must compile
# its modules at every start (a read-only site-packages) starts the CLI and each compute="local"
# task about 4x slower (docs/performance.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags

.PHONY: install test lint demo demo-history ui airflow-db bench browser java clean

$(STAMP): pyproject.toml uv-overrides.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip uv
	$(VENV)/bin/uv pip install --python $(PY) -q --compile-bytecode --override uv-overrides.txt -e ".[engine,spark,test]"
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

# Fairness over time (docs/history.md): the quickstart DAG for several logical dates, the injected bias
# growing from one to the next, each date's results in demo-output/history/<date>/. Then `make ui`.
HISTORY_DATES ?= 2024-03-01 2024-03-02 2024-03-03 2024-03-04 2024-03-05
HISTORY_BIAS ?= 0.0 0.2 0.4 0.7 0.9

airflow-db: install
	@mkdir -p $(AIRFLOW_HOME)
	@test -f $(AIRFLOW_HOME)/airflow.db || { echo "Setting up the Airflow home in $(AIRFLOW_HOME) (SQLite) ..."; \
	  $(VENV)/bin/airflow db migrate >$(AIRFLOW_HOME)/db-migrate.log 2>&1 \
	  || { tail -n 40 $(AIRFLOW_HOME)/db-migrate.log; rm -f $(AIRFLOW_HOME)/airflow.db; exit 1; }; }

demo-history: airflow-db
	@mkdir -p demo-output/history
	@set -- $(HISTORY_BIAS); for date in $(HISTORY_DATES); do \
	  bias=$${1:-0.9}; shift || true; \
	  echo "clarify_quickstart_audit for $$date (bias_log_odds=$$bias; log: demo-output/history/$$date.log) ..."; \
	  env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
	    AWS_EC2_METADATA_DISABLED=true CLARIFY_DEMO_OUTPUT=$(CURDIR)/demo-output/history/$$date \
	    $(VENV)/bin/airflow dags test clarify_quickstart_audit $$date -c "{\"bias_log_odds\": $$bias}" \
	    >demo-output/history/$$date.log 2>&1 || { tail -n 40 demo-output/history/$$date.log; exit 1; }; \
	done
	@echo "Done. Run 'make ui' and open http://127.0.0.1:8080/clarify/?dag_id=clarify_quickstart_audit"

# The Airflow UI and API server on 127.0.0.1:8080 for the demo home (every user is admin: local only).
ui: airflow-db
	AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True $(VENV)/bin/airflow api-server --host 127.0.0.1 --port 8080

bench: install
	$(VENV)/bin/uv pip install --python $(PY) -q --compile-bytecode -e ".[engine,spark,test,bench]"
	$(PY) benchmarks/bench_local_task.py
	$(PY) benchmarks/bench_baseline.py
	$(PY) benchmarks/bench_shap_accuracy.py
	$(PY) benchmarks/bench_bias.py
	$(PY) benchmarks/bench_shap.py
	$(PY) benchmarks/bench_explain_server.py
	$(PY) benchmarks/bench_history.py
	$(PY) benchmarks/bench_spark.py

clean:
	rm -rf $(VENV) .airflow demo-output build dist *.egg-info
