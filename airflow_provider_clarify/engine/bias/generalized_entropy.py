"""Generalized Entropy index with α = 2 (docs/bias-metrics.md, "Post-training metrics"); facet-independent.

Benefit of row i: ``b_i = ŷ_i − y_i + 1`` (0 false negative, 1 correct, 2 false positive)::

    μ   = (Σ b_i) / N
    GE  = Σ_i ((b_i/μ)² − 1) / (N · α · (α − 1)) = Σ_i ((b_i/μ)² − 1) / (2N)

summed in dataset order with numpy's pairwise summation. 0 means every row gets the same benefit;
larger values mean benefits are unevenly spread.
"""

from __future__ import annotations

import numpy as np

from airflow_provider_clarify.engine.bias.arithmetic import pairwise_sum_codes
from airflow_provider_clarify.engine.bias.errors import MetricFailure

ALL_FALSE_NEGATIVES = "All predicted labels are false negatives. There should be at least one prediction that is not false negative."


def generalized_entropy_index(benefit_codes: np.ndarray) -> float:
    """GE from the per-row benefit codes (uint8 in {0, 1, 2}, dataset order)."""
    n = len(benefit_codes)
    if n == 0:
        raise MetricFailure("dataset must be non-empty")
    total = int(np.bincount(benefit_codes, minlength=3)[:3] @ np.array([0, 1, 2]))
    mean = total / n
    if mean == 0:
        raise MetricFailure(ALL_FALSE_NEGATIVES)
    ratio = np.array([0, 1, 2], dtype=np.int64) / mean
    terms = ratio**2 - 1
    return float(pairwise_sum_codes(benefit_codes, terms) / (n * 2))
