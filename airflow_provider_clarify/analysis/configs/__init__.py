"""Config classes with the SageMaker Python SDK's keyword names (``sagemaker.core.clarify``).

Notebook code ports by changing the import::

    from airflow_provider_clarify.analysis.configs import DataConfig, BiasConfig, ModelConfig

Each class validates its arguments like the SDK (raising :class:`ClarifyConfigError` instead of
``AssertionError``/``AttributeError``), declares ``template_fields`` for Airflow's Jinja rendering,
and returns its JSON fragment from ``to_dict()``. :class:`AnalysisConfig` composes them.
"""

from __future__ import annotations

from airflow_provider_clarify.analysis.configs.bias import BiasConfig
from airflow_provider_clarify.analysis.configs.data import (
    DataConfig,
    SegmentationConfig,
    TimeSeriesDataConfig,
    TimeSeriesJSONDatasetFormat,
)
from airflow_provider_clarify.analysis.configs.explainability import (
    AsymmetricShapleyValueConfig,
    ExplainabilityConfig,
    ImageConfig,
    PDPConfig,
    SHAPConfig,
    TextConfig,
)
from airflow_provider_clarify.analysis.configs.model import (
    ModelConfig,
    ModelPredictedLabelConfig,
    TimeSeriesModelConfig,
)

__all__ = [
    "AsymmetricShapleyValueConfig",
    "BiasConfig",
    "DataConfig",
    "ExplainabilityConfig",
    "ImageConfig",
    "ModelConfig",
    "ModelPredictedLabelConfig",
    "PDPConfig",
    "SHAPConfig",
    "SegmentationConfig",
    "TextConfig",
    "TimeSeriesDataConfig",
    "TimeSeriesJSONDatasetFormat",
    "TimeSeriesModelConfig",
]
