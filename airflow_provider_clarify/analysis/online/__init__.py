"""Online explainability (real-time endpoints): ``ExplainerConfig`` and in-line baseline helpers.

See docs/online-explainability.md. Pure Python, like the rest of :mod:`airflow_provider_clarify.analysis`.
"""

from __future__ import annotations

from airflow_provider_clarify.analysis.online.baseline import (
    inline_baseline,
    inline_baseline_from_file,
    parse_baseline,
    read_baseline_rows,
    summarize_baseline,
)
from airflow_provider_clarify.analysis.online.explainer_config import (
    ClarifyExplainerConfig,
    ClarifyInferenceConfig,
    ClarifyShapBaselineConfig,
    ClarifyShapConfig,
    ClarifyTextConfig,
    ExplainerConfig,
)

__all__ = [
    "ClarifyExplainerConfig",
    "ClarifyInferenceConfig",
    "ClarifyShapBaselineConfig",
    "ClarifyShapConfig",
    "ClarifyTextConfig",
    "ExplainerConfig",
    "inline_baseline",
    "inline_baseline_from_file",
    "parse_baseline",
    "read_baseline_rows",
    "summarize_baseline",
]
