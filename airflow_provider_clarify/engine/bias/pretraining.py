"""Pre-training bias metrics (docs/bias-metrics.md, "Pre-training metrics"): functions of the label counts of groups ``a`` and ``d``.

Notation: ``n_G`` rows of group G, ``n_G(1)`` rows with a positive label, ``d`` the sensitive facet
group, ``a`` the rest. ``P_G = [n_G(0)/n_G, n_G(1)/n_G]`` is G's label distribution over the two
outcomes (negative first) restricted to the outcomes present in both groups (no renormalising).
"""

from __future__ import annotations

import numpy as np

from airflow_provider_clarify.engine.bias.cdd import conditional_demographic_disparity
from airflow_provider_clarify.engine.bias.counts import ConfusionCounts
from airflow_provider_clarify.engine.bias.errors import MetricFailure
from airflow_provider_clarify.engine.bias.inputs import EntryInputs

NO_COMMON_FACET = "No instance of common facet found, dataset may be too small"


def class_imbalance(x: EntryInputs) -> float:
    """CI = (n_a − n_d) / (n_a + n_d). Range (−1, 1); 0 is balance, > 0 means d is the smaller group."""
    n_a, n_d = x.a.n, x.d.n
    if n_a == 0:
        raise MetricFailure("CI: negated facet set is empty. Check that x[~facet] has non-zero length.")
    if n_d == 0:
        raise MetricFailure("CI: facet set is empty. Check that x[facet] has non-zero length.")
    return float(n_a - n_d) / (n_a + n_d)


def positive_proportion_difference(a_pos: int, a_n: int, d_pos: int, d_n: int) -> float:
    """q_a − q_d with q_G = positives_G / n_G (shared by DPL and DPPL)."""
    if a_n == 0:
        raise MetricFailure("Negative facet set is empty.")
    if d_n == 0:
        raise MetricFailure("Facet set is empty.")
    return a_pos / a_n - d_pos / d_n


def difference_in_positive_proportions_in_labels(x: EntryInputs) -> float:
    """DPL = n_a(1)/n_a − n_d(1)/n_d. Range [−1, 1]; 0 is parity, > 0 means a has more positive labels."""
    return positive_proportion_difference(x.a.label_pos, x.a.n, x.d.label_pos, x.d.n)


def label_distributions(a: ConfusionCounts, d: ConfusionCounts) -> tuple[np.ndarray, np.ndarray]:
    """``(P_a, P_d)`` over the outcomes present in both groups, negative outcome first."""
    p_a: list[float] = []
    p_d: list[float] = []
    for a_k, d_k in ((a.label_neg, d.label_neg), (a.label_pos, d.label_pos)):
        if a_k > 0 and d_k > 0:
            p_a.append(a_k / a.n)
            p_d.append(d_k / d.n)
    if not p_a:
        raise MetricFailure(NO_COMMON_FACET)
    return np.array(p_a), np.array(p_d)


def kullback_leibler(x: EntryInputs) -> float:
    """KL = Σ_k P_a(k) · ln(P_a(k) / P_d(k)). ≥ 0 when both outcomes are shared (can be < 0 otherwise)."""
    p_a, p_d = label_distributions(x.a, x.d)
    return float(np.sum(p_a * np.log(p_a / p_d)))


def jensen_shannon(x: EntryInputs) -> float:
    """JS = ½ [KL(P_a, M) + KL(P_d, M)], M = ½ (P_a + P_d). Range [0, ln 2]; 0 is identical distributions."""
    p_a, p_d = label_distributions(x.a, x.d)
    m = 1 / 2 * (p_a + p_d)
    return float(0.5 * (np.sum(p_a * np.log(p_a / m)) + np.sum(p_d * np.log(p_d / m))))


def lp_norm(x: EntryInputs) -> float:
    """LP = ‖P_a − P_d‖₂ = sqrt(Σ (P_a(k) − P_d(k))²). Range [0, √2]; 0 is identical distributions."""
    p_a, p_d = label_distributions(x.a, x.d)
    return float(np.linalg.norm(p_a - p_d, 2))


def total_variation_distance(x: EntryInputs) -> float:
    """TVD = ½ Σ |P_a(k) − P_d(k)|. Range [0, 1]; 0 is identical distributions."""
    p_a, p_d = label_distributions(x.a, x.d)
    return 0.5 * float(np.linalg.norm(p_a - p_d, 1))


def kolmogorov_smirnov(x: EntryInputs) -> float:
    """KS = max_k |P_a(k) − P_d(k)|. Range [0, 1]; 0 is identical distributions."""
    p_a, p_d = label_distributions(x.a, x.d)
    return float(np.linalg.norm(p_a - p_d, np.inf))


def conditional_demographic_disparity_in_labels(x: EntryInputs) -> float:
    """CDDL = CDD with z = observed label (see :mod:`.cdd`). Range [−1, 1]."""
    return conditional_demographic_disparity(
        x.subgroups, on_prediction=False, total_pos=x.total.label_pos, total_neg=x.total.label_neg
    )
