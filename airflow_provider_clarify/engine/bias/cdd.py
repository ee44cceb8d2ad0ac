"""Conditional Demographic Disparity, shared by CDDL (labels) and CDDPL (predicted labels), docs/bias-metrics.md ("CDD").

For each subgroup ``v`` of the group variable (ascending ``numpy.unique`` order)::

    A_v  = #(z ∧ d ∧ g=v) / #(z ∧ g=v)      (0 when the denominator is 0)
    D_v  = #(¬z ∧ d ∧ g=v) / #(¬z ∧ g=v)    (0 when the denominator is 0)
    DD_v = D_v − A_v
    CDD  = sdiv( Σ_v n_v · DD_v , Σ_v n_v )   with numpy's pairwise sums, n_v = rows in subgroup v

``DD_v`` is d's share of subgroup v's negative outcomes minus its share of the positive outcomes;
``CDD`` is their size-weighted mean. Range [−1, 1]; 0 means no conditional disparity.
"""

from __future__ import annotations

import numpy as np

from airflow_provider_clarify.engine.bias.arithmetic import sdiv
from airflow_provider_clarify.engine.bias.errors import MetricFailure
from airflow_provider_clarify.engine.bias.inputs import SubgroupCounts


def conditional_demographic_disparity(
    subgroups: SubgroupCounts | None, *, on_prediction: bool, total_pos: int, total_neg: int
) -> float:
    """CDD over ``z = ŷ`` (``on_prediction``) or ``z = y``; errors as smclarify's ``CDD``."""
    if subgroups is None:
        raise MetricFailure("Group variable is empty or not provided")
    if subgroups.error is not None:
        raise MetricFailure(subgroups.error)
    if total_pos == 0:
        raise MetricFailure("No positive labels in set")
    if total_neg == 0:
        raise MetricFailure("No negative labels in set")
    axis = 2 if not on_prediction else 1  # sum out the other outcome axis of [g, y, ŷ]
    d = subgroups.d.sum(axis=axis)  # [g, z]
    every = subgroups.all.sum(axis=axis)
    num_a, den_a = d[:, 1], every[:, 1]
    num_d, den_d = d[:, 0], every[:, 0]
    share_a = np.divide(num_a, den_a, out=np.zeros(len(den_a)), where=den_a != 0)
    share_d = np.divide(num_d, den_d, out=np.zeros(len(den_d)), where=den_d != 0)
    disparity = share_d - share_a
    counts = (den_a + den_d).astype(np.float64)
    if subgroups.nan_slot:
        disparity = np.append(disparity, 0.0)
        counts = np.append(counts, 0.0)
    return sdiv(float(np.sum(counts * disparity)), float(np.sum(counts)))
