"""The open explainer: a SageMaker endpoint with ``ExplainerConfig`` in front of any model server.

``python -m airflow_provider_clarify.engine explain-server --explainer-config FILE --model-url URL``
(see :mod:`.cli`), or the ASGI app from :func:`.app.create_app`. docs/online-explainability.md.
"""

from __future__ import annotations

__all__ = ["create_app"]


def create_app(*args, **kwargs):  # type: ignore[no-untyped-def]
    """See :func:`airflow_provider_clarify.engine.explain_server.app.create_app` (imported lazily)."""
    from airflow_provider_clarify.engine.explain_server.app import create_app as _create_app

    return _create_app(*args, **kwargs)
