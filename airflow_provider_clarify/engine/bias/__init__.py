"""Bias metrics of the open engine: smclarify 0.5's pre- and post-training metrics from group counts.

Entry point :func:`compute_bias_sections` (contract C); whole-report failures raise
:class:`BiasAnalysisError`. See ``docs/bias-metrics.md`` for the metrics and ``docs/parity.md`` for
the deliberate differences from smclarify.
"""

from __future__ import annotations

from airflow_provider_clarify.engine.bias.errors import BiasAnalysisError
from airflow_provider_clarify.engine.bias.sections import compute_bias_sections

__all__ = ["BiasAnalysisError", "compute_bias_sections"]
