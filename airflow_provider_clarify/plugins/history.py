"""The ``AirflowPlugin`` that mounts the history app and adds its views to the Airflow UI.

Every Airflow process that loads plugins (scheduler, workers, the CLI) imports this module, so it
stays light: the FastAPI app is built on the first request the API server routes to it, not at
import (:class:`LazyHistoryApp`).
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

#: Where the API server mounts the app.
URL_PREFIX = "/clarify"


class LazyHistoryApp:
    """An ASGI app that builds :func:`~airflow_provider_clarify.plugins.app.create_app` on first use."""

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            from airflow_provider_clarify.plugins.app import create_app

            self._app = create_app()
        await self._app(scope, receive, send)


class ClarifyHistoryPlugin(AirflowPlugin):
    """Fairness history: JSON API and page under ``/clarify``, a nav entry and a DAG tab."""

    name = "clarify_history"
    fastapi_apps = [{"app": LazyHistoryApp(), "url_prefix": URL_PREFIX, "name": "Clarify fairness history"}]
    external_views = [
        {
            "name": "Fairness history",
            "href": f"{URL_PREFIX}/",
            "url_route": "clarify-history",
            "destination": "nav",
            "category": "browse",
        },
        {
            "name": "Fairness history",
            "href": f"{URL_PREFIX}/?dag_id={{DAG_ID}}",
            "url_route": "clarify-dag-history",
            "destination": "dag",
        },
    ]
