"""The count-based bias metrics evaluated on whole arrays of count tables at once.

The engine's metric functions (:mod:`.pretraining`, :mod:`.posttraining`, :mod:`.cdd`) take one
facet entry's counts and return one number, raising on undefined inputs. Confidence intervals need the
same metrics on thousands of resampled count tables; calling those functions a million times would
cost more than the audit. Here every metric takes arrays whose last two axes are the 2×2 table
``m[y, ŷ]`` of a group (``a`` = the rest, ``d`` = the sensitive group), with any number of leading
axes (resamples, simulated samples...), and returns an array of values:

* the same formulas and the same conventions (``sdiv``: ``0/0 = 0``, ``x/0 = ±inf``; both ratios
  ``+inf`` in a difference gives ``0``), see ``docs/bias-metrics.md``;
* ``NaN`` where the engine's function raises (an empty group, no common outcome...).

A test evaluates every metric on the observed counts of the golden dataset and compares with the
engine's own functions. FT (needs the rows) is not count-based and is absent.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Array = np.ndarray


def _cells(m: Array) -> tuple[Array, Array, Array, Array]:
    """``(TP, FP, FN, TN)`` of tables ``m[..., y, ŷ]`` as float arrays."""
    m = np.asarray(m, dtype=np.float64)
    return m[..., 1, 1], m[..., 0, 1], m[..., 1, 0], m[..., 0, 0]


def sdiv(num: Array, den: Array) -> Array:
    """Element-wise safe division: ``0/0 -> 0``, ``x/0 -> ±inf`` by the sign of ``x``."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    return np.where((den == 0) & (num == 0), 0.0, out)


def _difference(left: Array, right: Array) -> Array:
    """``left − right`` with smclarify's rule: both ``+inf`` gives ``0``."""
    with np.errstate(invalid="ignore"):
        out = left - right
    return np.where(np.isinf(left) & np.isinf(right) & (left == right), 0.0, out)


def _undefined_when(mask: Array, values: Array) -> Array:
    return np.where(mask, np.nan, values)


def sizes(m: Array) -> Array:
    return np.asarray(m, dtype=np.float64).sum(axis=(-2, -1))


def label_positives(m: Array) -> Array:
    tp, _, fn, _ = _cells(m)
    return tp + fn


def predicted_positives(m: Array) -> Array:
    tp, fp, _, _ = _cells(m)
    return tp + fp


# ---- pre-training ------------------------------------------------------------------------------------


def ci(a: Array, d: Array) -> Array:
    """CI = (n_a − n_d) / (n_a + n_d)."""
    n_a, n_d = sizes(a), sizes(d)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = (n_a - n_d) / (n_a + n_d)
    return _undefined_when((n_a == 0) | (n_d == 0), value)


def _proportion_difference(pos_a: Array, n_a: Array, pos_d: Array, n_d: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        value = pos_a / n_a - pos_d / n_d
    return _undefined_when((n_a == 0) | (n_d == 0), value)


def dpl(a: Array, d: Array) -> Array:
    """DPL = n_a(1)/n_a − n_d(1)/n_d."""
    return _proportion_difference(label_positives(a), sizes(a), label_positives(d), sizes(d))


def _label_distributions(a: Array, d: Array) -> tuple[Array, Array, Array]:
    """``P_a``, ``P_d`` over (negative, positive) and the mask of outcomes present in both groups."""
    n_a, n_d = sizes(a), sizes(d)
    pos_a, pos_d = label_positives(a), label_positives(d)
    counts_a = np.stack([n_a - pos_a, pos_a], axis=-1)
    counts_d = np.stack([n_d - pos_d, pos_d], axis=-1)
    shared = (counts_a > 0) & (counts_d > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_a = np.where(shared, counts_a / n_a[..., None], 0.0)
        p_d = np.where(shared, counts_d / n_d[..., None], 0.0)
    return p_a, p_d, shared


def _no_common_outcome(shared: Array) -> Array:
    return ~shared.any(axis=-1)


def kl(a: Array, d: Array) -> Array:
    """KL = Σ_k P_a(k) ln(P_a(k) / P_d(k)) over the shared outcomes."""
    p_a, p_d, shared = _label_distributions(a, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(shared, p_a * np.log(np.where(shared, p_a / p_d, 1.0)), 0.0)
    return _undefined_when(_no_common_outcome(shared), terms.sum(axis=-1))


def js(a: Array, d: Array) -> Array:
    """JS = ½ [KL(P_a, M) + KL(P_d, M)], M = ½ (P_a + P_d)."""
    p_a, p_d, shared = _label_distributions(a, d)
    m = 0.5 * (p_a + p_d)
    safe_m = np.where(shared, m, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(
            shared,
            p_a * np.log(np.where(shared, p_a, 1.0) / safe_m)
            + p_d * np.log(np.where(shared, p_d, 1.0) / safe_m),
            0.0,
        )
    return _undefined_when(_no_common_outcome(shared), 0.5 * terms.sum(axis=-1))


def lp(a: Array, d: Array) -> Array:
    """LP = sqrt(Σ_k (P_a(k) − P_d(k))²)."""
    p_a, p_d, shared = _label_distributions(a, d)
    return _undefined_when(_no_common_outcome(shared), np.sqrt(((p_a - p_d) ** 2).sum(axis=-1)))


def tvd(a: Array, d: Array) -> Array:
    """TVD = ½ Σ_k |P_a(k) − P_d(k)|."""
    p_a, p_d, shared = _label_distributions(a, d)
    return _undefined_when(_no_common_outcome(shared), 0.5 * np.abs(p_a - p_d).sum(axis=-1))


def ks(a: Array, d: Array) -> Array:
    """KS = max_k |P_a(k) − P_d(k)|."""
    p_a, p_d, shared = _label_distributions(a, d)
    return _undefined_when(_no_common_outcome(shared), np.abs(p_a - p_d).max(axis=-1))


def cdd(d_sub: Array, all_sub: Array, total: Array, *, on_prediction: bool) -> Array:
    """CDD over subgroup tables ``[..., g, y, ŷ]`` (``d`` rows and every row), see :mod:`.cdd`.

    ``total`` is the whole dataset's 2×2 table (undefined without positive or negative outcomes).
    """
    axis = -1 if not on_prediction else -2  # sum out the other outcome
    d_z = np.asarray(d_sub, dtype=np.float64).sum(axis=axis)  # [..., g, z]
    all_z = np.asarray(all_sub, dtype=np.float64).sum(axis=axis)
    share_a = sdiv(d_z[..., 1], all_z[..., 1])
    share_a = np.where(all_z[..., 1] == 0, 0.0, share_a)
    share_d = np.where(all_z[..., 0] == 0, 0.0, sdiv(d_z[..., 0], all_z[..., 0]))
    counts = all_z[..., 0] + all_z[..., 1]
    value = sdiv((counts * (share_d - share_a)).sum(axis=-1), counts.sum(axis=-1))
    total_pos = predicted_positives(total) if on_prediction else label_positives(total)
    total_neg = sizes(total) - total_pos
    return _undefined_when((total_pos == 0) | (total_neg == 0), value)


# ---- post-training -----------------------------------------------------------------------------------


def _groups_empty(a: Array, d: Array) -> Array:
    return (sizes(a) == 0) | (sizes(d) == 0)


def dppl(a: Array, d: Array) -> Array:
    """DPPL = n̂_a(1)/n_a − n̂_d(1)/n_d."""
    return _proportion_difference(predicted_positives(a), sizes(a), predicted_positives(d), sizes(d))


def di(a: Array, d: Array) -> Array:
    """DI = q̂_d / q̂_a."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q_a = predicted_positives(a) / sizes(a)
        q_d = predicted_positives(d) / sizes(d)
    return _undefined_when(_groups_empty(a, d), sdiv(q_d, q_a))


def _ratio_difference(a: Array, d: Array, ratio: Callable[[Array], Array], *, a_first: bool) -> Array:
    r_a, r_d = ratio(a), ratio(d)
    value = _difference(r_a, r_d) if a_first else _difference(r_d, r_a)
    return _undefined_when(_groups_empty(a, d), value)


def dca(a: Array, d: Array) -> Array:
    """DCA = n_a(1)/n̂_a(1) − n_d(1)/n̂_d(1)."""
    return _ratio_difference(a, d, lambda m: sdiv(label_positives(m), predicted_positives(m)), a_first=True)


def dcr(a: Array, d: Array) -> Array:
    """DCR = n_d(0)/n̂_d(0) − n_a(0)/n̂_a(0)."""

    def rejection(m: Array) -> Array:
        tp, fp, fn, tn = _cells(m)
        return sdiv(fp + tn, fn + tn)

    return _ratio_difference(a, d, rejection, a_first=False)


def rd(a: Array, d: Array) -> Array:
    """RD = TP_a/(TP_a+FN_a) − TP_d/(TP_d+FN_d)."""
    return _ratio_difference(a, d, lambda m: sdiv(_cells(m)[0], label_positives(m)), a_first=True)


def sd(a: Array, d: Array) -> Array:
    """SD = TN_d/(TN_d+FP_d) − TN_a/(TN_a+FP_a)."""

    def specificity(m: Array) -> Array:
        _, fp, _, tn = _cells(m)
        return sdiv(tn, tn + fp)

    return _ratio_difference(a, d, specificity, a_first=False)


def dar(a: Array, d: Array) -> Array:
    """DAR = TP_a/n̂_a(1) − TP_d/n̂_d(1)."""
    return _ratio_difference(a, d, lambda m: sdiv(_cells(m)[0], predicted_positives(m)), a_first=True)


def drr(a: Array, d: Array) -> Array:
    """DRR = TN_d/n̂_d(0) − TN_a/n̂_a(0)."""

    def rejection_rate(m: Array) -> Array:
        _, _, fn, tn = _cells(m)
        return sdiv(tn, fn + tn)

    return _ratio_difference(a, d, rejection_rate, a_first=False)


def ad(a: Array, d: Array) -> Array:
    """AD = (TP_a+TN_a)/n_a − (TP_d+TN_d)/n_d."""

    def accuracy(m: Array) -> Array:
        tp, _, _, tn = _cells(m)
        return sdiv(tp + tn, sizes(m))

    return _ratio_difference(a, d, accuracy, a_first=True)


def te(a: Array, d: Array) -> Array:
    """TE = FN_d/FP_d − FN_a/FP_a."""

    def tau(m: Array) -> Array:
        _, fp, fn, _ = _cells(m)
        return sdiv(fn, fp)

    return _ratio_difference(a, d, tau, a_first=False)


def ge(total: Array) -> Array:
    """GE (α = 2) from the whole dataset's table: benefits 0 (FN), 1 (TP, TN), 2 (FP)."""
    tp, fp, fn, tn = _cells(total)
    n = tp + fp + fn + tn
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = (tp + tn + 2 * fp) / n
        terms = fn * (0 - 1) + (tp + tn) * ((1 / mean) ** 2 - 1) + fp * ((2 / mean) ** 2 - 1)
        value = terms / (2 * n)
    return _undefined_when((n == 0) | (mean == 0), value)


#: Metrics of two groups' 2×2 tables, by short name.
PAIR_METRICS: dict[str, Callable[[Array, Array], Array]] = {
    "CI": ci,
    "DPL": dpl,
    "KL": kl,
    "JS": js,
    "LP": lp,
    "TVD": tvd,
    "KS": ks,
    "DPPL": dppl,
    "DI": di,
    "DCA": dca,
    "DCR": dcr,
    "RD": rd,
    "SD": sd,
    "DAR": dar,
    "DRR": drr,
    "AD": ad,
    "TE": te,
}
#: Metrics of the subgroup tables (group variable), by short name.
SUBGROUP_METRICS: dict[str, bool] = {"CDDL": False, "CDDPL": True}  # value: on_prediction
