"""Post-training bias metrics (docs/bias-metrics.md, "Post-training metrics") except FT (see :mod:`.flip_test`).

Notation per group G ∈ {a, d}: ``n̂_G(1)`` rows predicted positive, ``TP_G``/``FP_G``/``FN_G``/``TN_G``
the confusion counts. Ratios use ``sdiv`` (0/0 -> 0, x/0 -> ±inf). Where a metric is a difference of
two ratios and both are +inf the result is 0 (integer 0 for DCA/DCR, 0.0 for AD/TE, as smclarify).
"""

from __future__ import annotations

import math

from airflow_provider_clarify.engine.bias.arithmetic import sdiv
from airflow_provider_clarify.engine.bias.cdd import conditional_demographic_disparity
from airflow_provider_clarify.engine.bias.errors import MetricFailure
from airflow_provider_clarify.engine.bias.inputs import EntryInputs
from airflow_provider_clarify.engine.bias.pretraining import positive_proportion_difference

INF = math.inf


def _require_groups(x: EntryInputs, prefix: str = "") -> None:
    """d is checked first, then a (DCO/DLR/DLA/AD/TE/FT order)."""
    if x.d.n == 0:
        raise MetricFailure(f"{prefix}Facet set is empty")
    if x.a.n == 0:
        raise MetricFailure(f"{prefix}Negated Facet set is empty")


def difference_in_positive_proportions_in_predicted_labels(x: EntryInputs) -> float:
    """DPPL = n̂_a(1)/n_a − n̂_d(1)/n_d. Range [−1, 1]; 0 is parity."""
    return positive_proportion_difference(x.a.pred_pos, x.a.n, x.d.pred_pos, x.d.n)


def disparate_impact(x: EntryInputs) -> float:
    """DI = q̂_d / q̂_a with q̂_G = n̂_G(1)/n_G. Range [0, ∞); 1 is parity, < 1 means d gets fewer positives."""
    if x.a.n == 0:
        raise MetricFailure("Negated facet set is empty")
    q_a = x.a.pred_pos / x.a.n
    if x.d.n == 0:
        raise MetricFailure("Facet set is empty")
    q_d = x.d.pred_pos / x.d.n
    return sdiv(q_d, q_a)


def difference_in_conditional_acceptance(x: EntryInputs) -> float | int:
    """DCA = n_a(1)/n̂_a(1) − n_d(1)/n̂_d(1). Range (−∞, ∞); 0 is parity."""
    _require_groups(x, "DCO: ")
    c_a = sdiv(x.a.label_pos, x.a.pred_pos)
    c_d = sdiv(x.d.label_pos, x.d.pred_pos)
    if c_a == c_d == INF:
        return 0
    return c_a - c_d


def difference_in_conditional_rejection(x: EntryInputs) -> float | int:
    """DCR = n_d(0)/n̂_d(0) − n_a(0)/n̂_a(0). Range (−∞, ∞); 0 is parity."""
    _require_groups(x, "DCO: ")
    r_a = sdiv(x.a.label_neg, x.a.pred_neg)
    r_d = sdiv(x.d.label_neg, x.d.pred_neg)
    if r_a == r_d == INF:
        return 0
    return r_d - r_a


def recall_difference(x: EntryInputs) -> float:
    """RD = TP_a/(TP_a+FN_a) − TP_d/(TP_d+FN_d). Range [−1, 1]; 0 is parity."""
    _require_groups(x, "DLA: ")
    return sdiv(x.a.tp, x.a.tp + x.a.fn) - sdiv(x.d.tp, x.d.tp + x.d.fn)


def specificity_difference(x: EntryInputs) -> float:
    """SD = TN_d/(TN_d+FP_d) − TN_a/(TN_a+FP_a). Range [−1, 1]; 0 is parity."""
    _require_groups(x, "DLA: ")
    return sdiv(x.d.tn, x.d.tn + x.d.fp) - sdiv(x.a.tn, x.a.tn + x.a.fp)


def difference_in_acceptance_rates(x: EntryInputs) -> float:
    """DAR = TP_a/n̂_a(1) − TP_d/n̂_d(1) (precision difference). Range [−1, 1]; 0 is parity."""
    _require_groups(x, "DLR: ")
    return sdiv(x.a.tp, x.a.pred_pos) - sdiv(x.d.tp, x.d.pred_pos)


def difference_in_rejection_rates(x: EntryInputs) -> float:
    """DRR = TN_d/n̂_d(0) − TN_a/n̂_a(0). Range [−1, 1]; 0 is parity."""
    _require_groups(x, "DLR: ")
    return sdiv(x.d.tn, x.d.pred_neg) - sdiv(x.a.tn, x.a.pred_neg)


def accuracy_difference(x: EntryInputs) -> float:
    """AD = (TP_a+TN_a)/n_a − (TP_d+TN_d)/n_d. Range [−1, 1]; 0 is parity, > 0 means a is served better."""
    _require_groups(x)
    acc_a = sdiv(x.a.tp + x.a.tn, x.a.n)
    acc_d = sdiv(x.d.tp + x.d.tn, x.d.n)
    if acc_a == acc_d == INF:
        return 0.0
    return acc_a - acc_d


def treatment_equality(x: EntryInputs) -> float:
    """TE = FN_d/FP_d − FN_a/FP_a. Range (−∞, ∞); 0 is parity."""
    _require_groups(x)
    tau_a = sdiv(x.a.fn, x.a.fp)
    tau_d = sdiv(x.d.fn, x.d.fp)
    if tau_a == tau_d == INF:
        return 0.0
    return tau_d - tau_a


def conditional_demographic_disparity_in_predicted_labels(x: EntryInputs) -> float:
    """CDDPL = CDD with z = predicted label (see :mod:`.cdd`). Range [−1, 1]."""
    return conditional_demographic_disparity(
        x.subgroups, on_prediction=True, total_pos=x.total.pred_pos, total_neg=x.total.pred_neg
    )


def flip_test(x: EntryInputs) -> float:
    """FT, see :mod:`.flip_test`."""
    return x.flip_test()


def generalized_entropy(x: EntryInputs) -> float:
    """GE (α = 2), see :func:`.generalized_entropy.generalized_entropy_index`."""
    return x.generalized_entropy()
