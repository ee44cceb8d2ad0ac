"""Generalized Entropy index with α = 2 (docs/bias-metrics.md, "Post-training metrics"); facet-independent.

Benefit of row i: ``b_i = ŷ_i − y_i + 1`` (0 false negative, 1 correct, 2 false positive)::

    μ   = (Σ b_i) / N
    GE  = Σ_i ((b_i/μ)² − 1) / (N · α · (α − 1)) = Σ_i ((b_i/μ)² − 1) / (2N)

summed in dataset order with numpy's pairwise summation. 0 means every row gets the same benefit;
larger values mean benefits are unevenly spread.

From the counts ``c_k`` of each benefit code alone (``S = c_1 + 2 c_2``, ``N = c_0 + c_1 + c_2``)::

    GE = (N (c_1 + 4 c_2) / S² − 1) / 2

which :func:`generalized_entropy_from_counts` evaluates in exact rational arithmetic and rounds once
(what the Spark backend uses: partitions only add counts). It differs from the pairwise sum in dataset
order by rounding only, well below the 1e-12 relative tolerance of ``docs/scale-out.md``.
"""

from __future__ import annotations

from fractions import Fraction

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


def generalized_entropy_from_counts(benefit_counts: np.ndarray) -> float:
    """GE from the number of rows with benefit code 0, 1 and 2, exactly rounded (see the module doc)."""
    c0, c1, c2 = (int(c) for c in benefit_counts[:3])
    n = c0 + c1 + c2
    if n == 0:
        raise MetricFailure("dataset must be non-empty")
    total = c1 + 2 * c2
    if total == 0:
        raise MetricFailure(ALL_FALSE_NEGATIVES)
    return float((Fraction(n * (c1 + 4 * c2), total * total) - 1) / 2)
