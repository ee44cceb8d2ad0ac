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

**Streaming, bit for bit and without per-row storage.** smclarify's value is the float pairwise sum
above, whose rounding depends on the row order, so counts alone cannot give its last bits. But the
sum needs only two facts before the rows arrive: ``N`` and ``μ``, i.e. the three terms
``t_k = (k/μ)² − 1``. Both follow from the first (profiling) pass: ``N`` is the row count and
``S = N − n(y=1) + n(ŷ=1)`` comes from the label and prediction columns' value counts once their
rules are fixed (:func:`benefit_total`). numpy's pairwise summation splits ``N`` elements at points
that depend on ``N`` only, so the counting pass sums each segment of ``t[b_i]`` as soon as it is
complete (:class:`~.arithmetic.PairwiseCodeSum`) and keeps one float per 65 536 rows: the result is
bit-identical to :func:`generalized_entropy_index` over the stored codes. When a label or
prediction column has too many distinct values to count (a raw score), the codes are kept as before.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from airflow_provider_clarify.engine.bias.arithmetic import PairwiseCodeSum, pairwise_sum_codes
from airflow_provider_clarify.engine.bias.errors import MetricFailure

ALL_FALSE_NEGATIVES = "All predicted labels are false negatives. There should be at least one prediction that is not false negative."


def benefit_terms(total: int, n: int) -> np.ndarray:
    """``t_k = (k/μ)² − 1`` for benefit codes k = 0, 1, 2, with ``μ = total / n`` (``total = Σ b_i``)."""
    if n == 0:
        raise MetricFailure("dataset must be non-empty")
    mean = total / n
    if mean == 0:
        raise MetricFailure(ALL_FALSE_NEGATIVES)
    ratio = np.array([0, 1, 2], dtype=np.int64) / mean
    return ratio**2 - 1


def generalized_entropy_index(benefit_codes: np.ndarray) -> float:
    """GE from the per-row benefit codes (uint8 in {0, 1, 2}, dataset order)."""
    n = len(benefit_codes)
    total = int(np.bincount(benefit_codes, minlength=3)[:3] @ np.array([0, 1, 2])) if n else 0
    terms = benefit_terms(total, n)
    return float(pairwise_sum_codes(benefit_codes, terms) / (n * 2))


class BenefitSum(PairwiseCodeSum):
    """The pairwise sum of ``t[b_i]`` that the counting pass feeds with benefit codes;
    ``benefit_total`` (``S``) is checked against the counted table afterwards."""

    def __init__(self, total: int, n: int) -> None:
        super().__init__(n, benefit_terms(total, n))
        self.benefit_total = total

    @classmethod
    def start(cls, total: int, n: int) -> BenefitSum | None:
        """The accumulator, or ``None`` when GE fails anyway (empty data, every row a false
        negative: the per-row path reports that failure)."""
        try:
            return cls(total, n)
        except MetricFailure:
            return None


def generalized_entropy_from_stream(accumulated: PairwiseCodeSum) -> float:
    """GE from the accumulator after the counting pass: equal to :func:`generalized_entropy_index`."""
    return float(accumulated.total() / (accumulated.n * 2))


def benefit_total(n: int, label_positive: int, predicted_positive: int) -> int:
    """``S = Σ (ŷ_i − y_i + 1) = N − n(y=1) + n(ŷ=1)``."""
    return n - label_positive + predicted_positive


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
