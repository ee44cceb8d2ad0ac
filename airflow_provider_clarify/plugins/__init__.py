"""The provider's Airflow plugin: the fairness-history API and page on the Airflow 3 API server.

Registered through the ``airflow.plugins`` entry point (see pyproject.toml), so installing the
provider is enough: ``airflow api-server`` mounts the app under ``/clarify`` and the UI gets a
"Fairness history" entry and a tab on every DAG. See docs/history.md.
"""
