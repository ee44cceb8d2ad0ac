"""What a Clarify analysis task read and wrote, told to OpenLineage and to the task's asset events.

Inputs are the dataset and the uploaded ``analysis_config.json``; the output is the
``analysis_result`` location. S3 locations are named ``s3://<bucket>`` + key, local ones ``file`` +
path (the OpenLineage naming conventions). The OpenLineage provider is optional: without it no facets
are produced.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_clarify.locations import split_s3_uri

#: ``(namespace, name)`` of an OpenLineage dataset.
LineageName = tuple[str, str]


def dataset_namespace_and_name(uri: str) -> LineageName:
    """OpenLineage naming: ``s3://bucket`` + key for S3, ``file`` + path for local files."""
    if uri.startswith("s3://"):
        bucket, key = split_s3_uri(uri)
        return f"s3://{bucket}", key or "/"
    if uri.startswith("file://"):
        return "file", uri[len("file://") :]
    return "file", uri


def lineage_datasets(uris: Mapping[str, str | None]) -> tuple[list[LineageName], list[LineageName]]:
    """``(inputs, outputs)`` from ``{"dataset", "config", "result"}`` URIs (missing ones are left out)."""
    inputs = [dataset_namespace_and_name(uris[k]) for k in ("dataset", "config") if uris.get(k)]
    outputs = [dataset_namespace_and_name(uris["result"])] if uris.get("result") else []
    return inputs, outputs


def operator_lineage(inputs: Iterable[LineageName], outputs: Iterable[LineageName]) -> Any:
    """An ``OperatorLineage`` of those datasets, or ``None`` without the OpenLineage provider."""
    try:
        from airflow.providers.common.compat.openlineage.facet import Dataset
        from airflow.providers.openlineage.extractors import OperatorLineage
    except ImportError:
        return None
    return OperatorLineage(
        inputs=[Dataset(namespace=ns, name=name) for ns, name in inputs],
        outputs=[Dataset(namespace=ns, name=name) for ns, name in outputs],
    )


def annotate_outlets(context: Any, outlets: Iterable[Any], result_uri: str, log: logging.Logger) -> None:
    """Attach the result URI (extra ``analysis_result``) to the asset events of the task's ``outlets``."""
    try:
        from airflow.sdk import Asset
    except ImportError:  # pragma: no cover - Airflow 2
        return
    outlet_events = context.get("outlet_events") if hasattr(context, "get") else None
    if outlet_events is None:
        return
    for outlet in outlets:
        if isinstance(outlet, Asset):
            try:
                outlet_events[outlet].extra.update({"analysis_result": result_uri})
            except (KeyError, TypeError, AttributeError):
                log.debug("Could not annotate outlet %s", outlet)
