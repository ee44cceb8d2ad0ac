"""The SageMaker Clarify analysis-config model: pure Python, no Airflow, no AWS calls.

Typed configs (``DataConfig``, ``BiasConfig``, ...) with the SageMaker Python SDK's keyword names build
the ``analysis_config.json`` and the CreateProcessingJob request a Clarify job needs;
``AnalysisResult`` reads the ``analysis.json`` a job (or the open engine) writes.

Names are resolved lazily (PEP 562) so ``import airflow_provider_clarify.analysis`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "ClarifyConfigError": "errors",
    "DataConfig": "configs",
    "BiasConfig": "configs",
    "ModelConfig": "configs",
    "ModelPredictedLabelConfig": "configs",
    "SHAPConfig": "configs",
    "PDPConfig": "configs",
    "TextConfig": "configs",
    "ImageConfig": "configs",
    "SegmentationConfig": "configs",
    "TimeSeriesDataConfig": "configs",
    "TimeSeriesJSONDatasetFormat": "configs",
    "TimeSeriesModelConfig": "configs",
    "AsymmetricShapleyValueConfig": "configs",
    "AnalysisConfig": "analysis_config",
    "validate_analysis_config": "schema",
    "check_preflight": "preflight",
    "preflight_problems": "preflight",
    "clarify_image_uri": "processing_job",
    "processing_job_request": "processing_job",
    "AnalysisResult": "results",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
