"""Confidence intervals for the bias metrics, computed from the group-count tables.

Every count-based metric is a function of the joint table ``T[f, g, y, ŷ]`` the bias pass fills
(:mod:`.counts`). For i.i.d. rows that table is one draw of a multinomial distribution, so resampling
*the table* (``Multinomial(n, T / n)``) is exactly the row bootstrap, at the cost of a few thousand
binomial draws instead of re-reading the data. Two kinds of interval (method and coverage study:
``docs/uncertainty.md``):

* **analytic**, where a good closed form exists (``z`` the normal quantile of the level):

  - a proportion ``x / n``: Wilson's score interval
    ``(x + z²/2 ± z·sqrt(x(n−x)/n + z²/4)) / (n + z²)``; CI = 1 − 2·n_d/n maps it;
  - a difference of two groups' proportions (DPL, DPPL, AD, RD, SD, DAR, DRR): Newcombe's hybrid
    score interval, i.e. MOVER on the two Wilson intervals
    ``θ₁−θ₂ ∓ sqrt((θ₁−l₁)² + (u₂−θ₂)²) / sqrt((u₁−θ₁)² + (θ₂−l₂)²)``;
  - DI, a ratio of two proportions: Katz's log interval ``exp(ln DI ± z·sqrt(1/x_d − 1/n_d + 1/x_a −
    1/n_a))`` (0.5 added to every count when one is zero);
  - a difference of two within-group ratios of counts ``S₁/S₂`` (DCA, DCR, TE): a delta-method
    interval for ``ln(S₁/S₂)`` per group, ``Var ≈ 1/S₁ + 1/S₂ − 2·S₁₂/(S₁S₂)`` (``S₁₂`` the rows in
    both counts), combined by MOVER;

* **bootstrap** (every count-based metric): the percentile interval of the metric over the
  resampled tables. It is the interval of the metrics without an analytic one (KL, JS, LP, TVD, KS,
  CDDL, CDDPL, GE) and the fallback where the analytic one is undefined (a zero denominator).

FT needs the rows themselves (nearest neighbours) and gets no interval.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from statistics import NormalDist
from typing import Any

import numpy as np

from airflow_provider_clarify.analysis.uncertainty import SIDECAR_VERSION, ConfidenceIntervalConfig
from airflow_provider_clarify.engine.bias import vectorized as vec
from airflow_provider_clarify.engine.bias.counts import DatasetCounts
from airflow_provider_clarify.engine.bias.preparation import Preparation

Array = np.ndarray
Interval = tuple[Array, Array]

NO_INTERVAL_FT = "FT compares each row with its nearest neighbours: it is not a function of counts"
STAGE_KEYS = ("pre_training_bias_metrics", "post_training_bias_metrics")
#: Facet entries evaluated together (bounds the memory of resamples x entries x cells).
ENTRY_CHUNK = 64


def z_value(level: float) -> float:
    """The two-sided normal quantile: 1.959963... for 0.95."""
    return NormalDist().inv_cdf(0.5 + level / 2)


# ---- analytic intervals ------------------------------------------------------------------------------


def wilson(x: Array, n: Array, z: float) -> Interval:
    """Wilson's score interval of the proportion ``x / n`` (NaN where ``n == 0``)."""
    x = np.asarray(x, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = (x + z * z / 2) / (n + z * z)
        half = z * np.sqrt(np.maximum(x * (n - x) / n, 0.0) + z * z / 4) / (n + z * z)
    lower = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
    upper = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    return lower, upper


def mover_difference(
    first: Array, first_interval: Interval, second: Array, second_interval: Interval
) -> Interval:
    """MOVER interval of ``first − second`` from the two estimates' own intervals (Zou and Donner)."""
    l1, u1 = first_interval
    l2, u2 = second_interval
    diff = first - second
    lower = diff - np.sqrt((first - l1) ** 2 + (u2 - second) ** 2)
    upper = diff + np.sqrt((u1 - first) ** 2 + (second - l2) ** 2)
    return lower, upper


def _proportion(x: Array, n: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, np.asarray(x, dtype=np.float64) / n, np.nan)


def newcombe(x_1: Array, n_1: Array, x_2: Array, n_2: Array, z: float) -> Interval:
    """Newcombe's hybrid score interval of ``x_1/n_1 − x_2/n_2``."""
    p_1, p_2 = _proportion(x_1, n_1), _proportion(x_2, n_2)
    return mover_difference(p_1, wilson(x_1, n_1, z), p_2, wilson(x_2, n_2, z))


def log_ratio_interval(s_1: Array, s_2: Array, s_12: Array, z: float) -> tuple[Array, Interval]:
    """``S₁/S₂`` and its delta-method interval on the log scale (NaN where a count is zero)."""
    s_1 = np.asarray(s_1, dtype=np.float64)
    s_2 = np.asarray(s_2, dtype=np.float64)
    defined = (s_1 > 0) & (s_2 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = s_1 / s_2
        variance = 1 / s_1 + 1 / s_2 - 2 * np.asarray(s_12, dtype=np.float64) / (s_1 * s_2)
        spread = np.exp(z * np.sqrt(np.maximum(variance, 0.0)))
    ratio = np.where(defined, ratio, np.nan)
    return ratio, (ratio / spread, ratio * spread)


def katz_ratio(x_d: Array, n_d: Array, x_a: Array, n_a: Array, z: float) -> Interval:
    """Katz's log interval of ``(x_d/n_d) / (x_a/n_a)``; 0.5 is added to the counts when one is zero."""
    x_d, n_d, x_a, n_a = (np.asarray(v, dtype=np.float64) for v in (x_d, n_d, x_a, n_a))
    zero = (x_d == 0) | (x_a == 0)
    cx_d, cx_a = np.where(zero, x_d + 0.5, x_d), np.where(zero, x_a + 0.5, x_a)
    cn_d, cn_a = np.where(zero, n_d + 0.5, n_d), np.where(zero, n_a + 0.5, n_a)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log((cx_d / cn_d) / (cx_a / cn_a))
        se = np.sqrt(1 / cx_d - 1 / cn_d + 1 / cx_a - 1 / cn_a)
    lower = np.exp(log_ratio - z * se)
    upper = np.exp(log_ratio + z * se)
    lower = np.where(x_d == 0, 0.0, lower)  # DI is exactly 0 then; the interval starts there
    undefined = (n_d == 0) | (n_a == 0) | (x_a == 0)  # DI infinite or 0/0: no ratio to bound
    return np.where(undefined, np.nan, lower), np.where(undefined, np.nan, upper)


def _cells(m: Array) -> tuple[Array, Array, Array, Array]:
    m = np.asarray(m, dtype=np.float64)
    return m[..., 1, 1], m[..., 0, 1], m[..., 1, 0], m[..., 0, 0]


def _group_proportion_pair(
    part: Callable[[Array], tuple[Array, Array]], *, a_first: bool
) -> Callable[[Array, Array, float], Interval]:
    """Newcombe interval of a difference of one proportion ``part(m) = (x, n)`` between a and d."""

    def interval(a: Array, d: Array, z: float) -> Interval:
        (x_a, n_a), (x_d, n_d) = part(a), part(d)
        if a_first:
            return newcombe(x_a, n_a, x_d, n_d, z)
        return newcombe(x_d, n_d, x_a, n_a, z)

    return interval


def _group_ratio_pair(
    part: Callable[[Array], tuple[Array, Array, Array]], *, a_first: bool
) -> Callable[[Array, Array, float], Interval]:
    """MOVER interval of a difference of one within-group ratio ``S₁/S₂`` between a and d."""

    def interval(a: Array, d: Array, z: float) -> Interval:
        r_a, i_a = log_ratio_interval(*part(a), z)
        r_d, i_d = log_ratio_interval(*part(d), z)
        if a_first:
            return mover_difference(r_a, i_a, r_d, i_d)
        return mover_difference(r_d, i_d, r_a, i_a)

    return interval


def _ci_interval(a: Array, d: Array, z: float) -> Interval:
    n_d = vec.sizes(d)
    lower, upper = wilson(n_d, n_d + vec.sizes(a), z)
    return 1 - 2 * upper, 1 - 2 * lower


def _di_interval(a: Array, d: Array, z: float) -> Interval:
    return katz_ratio(vec.predicted_positives(d), vec.sizes(d), vec.predicted_positives(a), vec.sizes(a), z)


def _label_share(m: Array) -> tuple[Array, Array]:
    return vec.label_positives(m), vec.sizes(m)


def _prediction_share(m: Array) -> tuple[Array, Array]:
    return vec.predicted_positives(m), vec.sizes(m)


def _accuracy(m: Array) -> tuple[Array, Array]:
    tp, _, _, tn = _cells(m)
    return tp + tn, vec.sizes(m)


def _recall(m: Array) -> tuple[Array, Array]:
    tp, _, fn, _ = _cells(m)
    return tp, tp + fn


def _specificity(m: Array) -> tuple[Array, Array]:
    _, fp, _, tn = _cells(m)
    return tn, tn + fp


def _precision(m: Array) -> tuple[Array, Array]:
    tp, fp, _, _ = _cells(m)
    return tp, tp + fp


def _negative_predictive(m: Array) -> tuple[Array, Array]:
    _, _, fn, tn = _cells(m)
    return tn, tn + fn


def _acceptance(m: Array) -> tuple[Array, Array, Array]:
    tp, fp, fn, _ = _cells(m)
    return tp + fn, tp + fp, tp  # n(1) / n̂(1), overlap TP


def _rejection(m: Array) -> tuple[Array, Array, Array]:
    _, fp, fn, tn = _cells(m)
    return fp + tn, fn + tn, tn  # n(0) / n̂(0), overlap TN


def _treatment(m: Array) -> tuple[Array, Array, Array]:
    _, fp, fn, _ = _cells(m)
    return fn, fp, np.zeros_like(fn)  # FN / FP, disjoint


#: Analytic interval per metric: ``(method name, interval(a, d, z))``.
ANALYTIC: dict[str, tuple[str, Callable[[Array, Array, float], Interval]]] = {
    "CI": ("wilson", _ci_interval),
    "DPL": ("newcombe", _group_proportion_pair(_label_share, a_first=True)),
    "DPPL": ("newcombe", _group_proportion_pair(_prediction_share, a_first=True)),
    "AD": ("newcombe", _group_proportion_pair(_accuracy, a_first=True)),
    "RD": ("newcombe", _group_proportion_pair(_recall, a_first=True)),
    "SD": ("newcombe", _group_proportion_pair(_specificity, a_first=False)),
    "DAR": ("newcombe", _group_proportion_pair(_precision, a_first=True)),
    "DRR": ("newcombe", _group_proportion_pair(_negative_predictive, a_first=False)),
    "DI": ("katz-log", _di_interval),
    "DCA": ("mover-log", _group_ratio_pair(_acceptance, a_first=True)),
    "DCR": ("mover-log", _group_ratio_pair(_rejection, a_first=False)),
    "TE": ("mover-log", _group_ratio_pair(_treatment, a_first=False)),
}


# ---- bootstrap -------------------------------------------------------------------------------------


def resample_tables(table: Array, resamples: int, rng: np.random.Generator) -> Array:
    """``resamples`` multinomial redraws of a count table (same total), shape ``(resamples, *table.shape)``."""
    counts = np.asarray(table, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros((resamples, *counts.shape), dtype=np.int64)
    draws = rng.multinomial(total, counts.ravel() / total, size=resamples)
    return draws.reshape(resamples, *counts.shape)


def percentile_interval(samples: Array, level: float) -> tuple[Array, Array, Array]:
    """Percentile interval over axis 0, ignoring undefined (NaN) resamples.

    Uses the order statistics ``⌊(k−1)·α/2⌋`` and ``⌈(k−1)·(1−α/2)⌉`` of the ``k`` defined values
    (no interpolation, so infinite values are fine). Returns ``(lower, upper, undefined count)``;
    the ends are NaN where fewer than half the resamples are defined.
    """
    samples = np.asarray(samples, dtype=np.float64)
    ordered = np.sort(samples, axis=0)  # NaN sorts last
    undefined = np.isnan(samples).sum(axis=0)
    defined = samples.shape[0] - undefined
    alpha = 1 - level
    low_index = np.floor((defined - 1) * alpha / 2).astype(np.int64)
    high_index = np.ceil((defined - 1) * (1 - alpha / 2)).astype(np.int64)
    low_index = np.clip(low_index, 0, samples.shape[0] - 1)
    high_index = np.clip(high_index, 0, samples.shape[0] - 1)
    lower = np.take_along_axis(ordered, low_index[None, ...], axis=0)[0]
    upper = np.take_along_axis(ordered, high_index[None, ...], axis=0)[0]
    enough = defined * 2 >= samples.shape[0]
    return np.where(enough, lower, np.nan), np.where(enough, upper, np.nan), undefined


# ---- one facet entry ---------------------------------------------------------------------------------


def metric_samples(
    name: str, a: Array, d: Array, total: Array, d_sub: Array | None, all_sub: Array | None
) -> Array | None:
    """The metric over arrays of tables (``None``: not a count-based metric, or no group variable)."""
    if name in vec.PAIR_METRICS:
        return vec.PAIR_METRICS[name](a, d)
    if name in vec.SUBGROUP_METRICS:
        if d_sub is None or all_sub is None:
            return None
        return vec.cdd(d_sub, all_sub, total, on_prediction=vec.SUBGROUP_METRICS[name])
    if name == "GE":
        return vec.ge(total)
    return None


def metric_intervals(
    name: str, observed: Mapping[str, Array], resampled: Mapping[str, Array], level: float
) -> dict[str, Any] | None:
    """The interval of one metric, element-wise over any leading axes of the count arrays.

    ``observed`` holds ``a``/``d``/``total`` (``[..., 2, 2]``) and optionally ``d_sub``/``all_sub``
    (``[..., g, 2, 2]``); ``resampled`` the same with a leading resample axis. Returns arrays:
    ``lower``/``upper`` (the analytic interval where it is defined, else the bootstrap one; NaN when
    neither is), ``analytic`` (bool), ``bootstrap_lower``/``bootstrap_upper``/``undefined``; or
    ``None`` when the metric is not count-based.
    """
    samples = metric_samples(
        name,
        resampled["a"],
        resampled["d"],
        resampled["total"],
        resampled.get("d_sub"),
        resampled.get("all_sub"),
    )
    if samples is None:
        return None
    b_lower, b_upper, undefined = percentile_interval(samples, level)
    lower, upper = b_lower, b_upper
    analytic = np.zeros(np.shape(b_lower), dtype=bool)
    if name in ANALYTIC:
        a_lower, a_upper = ANALYTIC[name][1](observed["a"], observed["d"], z_value(level))
        with np.errstate(invalid="ignore"):
            analytic = np.isfinite(a_lower) & np.isfinite(a_upper) & (a_lower <= a_upper)
        lower = np.where(analytic, a_lower, b_lower)
        upper = np.where(analytic, a_upper, b_upper)
    return {
        "lower": lower,
        "upper": upper,
        "analytic": analytic,
        "bootstrap_lower": b_lower,
        "bootstrap_upper": b_upper,
        "undefined": undefined,
    }


def _number(value: Any) -> float | None:
    return None if np.isnan(value) else float(value)


def entry_intervals(
    names: list[str],
    observed: Mapping[str, Array],
    resampled: Mapping[str, Array],
    level: float,
    entries: int = 1,
) -> list[dict[str, dict[str, Any]]]:
    """The sidecar metric entries of ``entries`` facet entries at once.

    The observed arrays have a leading entry axis (or none when ``entries`` is 1 and they are
    scalars); the resampled ones a resample axis first. Returns one ``{metric: entry}`` per entry.
    """
    out: list[dict[str, dict[str, Any]]] = [{} for _ in range(entries)]
    resamples = resampled["a"].shape[0]
    for name in names:
        found = metric_intervals(name, observed, resampled, level)
        if found is None:
            note = NO_INTERVAL_FT if name == "FT" else f"{name} is not a function of the group counts"
            if name in vec.SUBGROUP_METRICS:
                note = f"{name} needs a group variable (no subgroup counts)"
            for item in out:
                item[name] = {"lower": None, "upper": None, "method": None, "note": note}
            continue
        arrays = {key: np.broadcast_to(np.asarray(value), (entries,)) for key, value in found.items()}
        for i, item in enumerate(out):
            lower, upper = _number(arrays["lower"][i]), _number(arrays["upper"][i])
            entry: dict[str, Any] = {"lower": lower, "upper": upper}
            if lower is None or upper is None:
                entry["method"] = None
                entry["note"] = (
                    f"{int(arrays['undefined'][i])} of {resamples} resamples left {name} undefined "
                    "(a group or an outcome too rare); no interval"
                )
            else:
                entry["method"] = ANALYTIC[name][0] if bool(arrays["analytic"][i]) else "bootstrap"
            entry["bootstrap"] = {
                "lower": _number(arrays["bootstrap_lower"][i]),
                "upper": _number(arrays["bootstrap_upper"][i]),
                "undefined_resamples": int(arrays["undefined"][i]),
            }
            item[name] = entry
    return out


# ---- the sidecar document ----------------------------------------------------------------------------


def facet_entry_counts(table: Array, code: int | None, group_codes: int | None) -> dict[str, Array]:
    """The metric inputs of one entry of a facet table ``[f, g, y, ŷ]`` (``code`` ``None``: no rows)."""
    every = table.sum(axis=0)
    d_table = table[code] if code is not None else np.zeros_like(every)
    return _entry_arrays(d_table, every, group_codes)


def _entry_arrays(d_table: Array, every: Array, group_codes: int | None) -> dict[str, Array]:
    """The metric inputs of several entries: ``d_table`` ``[..., entry, g, y, ŷ]``, ``every`` (the
    facet table summed over facet values, broadcastable against it)."""
    d = d_table.sum(axis=-3)
    total = every.sum(axis=-3)
    arrays = {"a": total - d, "d": d, "total": total}
    if group_codes is not None:
        size = group_codes - 1  # drop the missing-value slot
        arrays["d_sub"] = d_table[..., :size, :, :]
        arrays["all_sub"] = every[..., :size, :, :]
    return arrays


def compute_intervals(
    sections: Mapping[str, Any],
    prep: Preparation,
    counts: DatasetCounts,
    config: ConfidenceIntervalConfig,
) -> dict[str, Any]:
    """The ``confidence_intervals.json`` document for the bias ``sections`` just computed.

    Mirrors the layout of ``analysis.json`` (stage -> facet -> entries -> metrics); each metric has
    its reported ``value``, the interval ``lower``/``upper`` with its ``method`` and the bootstrap
    interval; each entry has the group sizes ``n_d``/``n_a``. One resampling per facet column, seeded
    from ``config.seed`` (drawn and recorded when ``None``).
    """
    seed = config.seed if config.seed is not None else secrets.randbits(63)
    facets = list(counts.tables)
    streams = np.random.SeedSequence(seed).spawn(len(facets))
    group_codes = prep.group.num_codes if prep.group is not None and counts.rows else None
    doc: dict[str, Any] = {
        "version": SIDECAR_VERSION,
        "level": config.level,
        "resamples": config.resamples,
        "seed": seed,
        "method": "analytic interval where one exists (wilson, newcombe, katz-log, mover-log), else the "
        "percentile bootstrap over multinomial resamples of the group-count table; see docs/uncertainty.md",
    }
    per_facet: dict[str, dict[str, dict[str, Any]]] = {}
    for facet, stream in zip(facets, streams, strict=True):
        names = sorted(
            {
                m["name"]
                for key in STAGE_KEYS
                for entry in (sections.get(key) or {}).get("facets", {}).get(facet, [])
                for m in entry["metrics"]
            }
        )
        table = counts.tables[facet]
        subgroups = group_codes if set(names) & set(vec.SUBGROUP_METRICS) else None
        if subgroups is None:  # no CDD: the group-variable axis is not needed, and it costs draws
            table = table.sum(axis=1, keepdims=True)
        draws = resample_tables(table, config.resamples, np.random.default_rng(stream))
        results: dict[str, dict[str, Any]] = {}
        entries = prep.facets[facet].entries
        # a zero slot for entries without rows (the "nan" entry), then every entry in chunks
        padded = np.concatenate([table, np.zeros_like(table[:1])], axis=0)
        padded_draws = np.concatenate([draws, np.zeros_like(draws[:, :1])], axis=1)
        every, draws_every = table.sum(axis=0), draws.sum(axis=1)[:, None]
        for start in range(0, len(entries), ENTRY_CHUNK):
            chunk = entries[start : start + ENTRY_CHUNK]
            codes = [e.code if e.code is not None else len(table) for e in chunk]
            observed = _entry_arrays(padded[codes], every, subgroups)
            resampled = _entry_arrays(padded_draws[:, codes], draws_every, subgroups)
            metrics = entry_intervals(names, observed, resampled, config.level, entries=len(chunk))
            for i, entry in enumerate(chunk):
                results[entry.text] = {
                    "n_d": int(observed["d"][i].sum()),
                    "n_a": int(observed["a"][i].sum()),
                    "metrics": metrics[i],
                }
        per_facet[facet] = results
    for key in STAGE_KEYS:
        section = sections.get(key)
        if not section:
            continue
        doc[key] = {
            "facets": {
                facet: [
                    _sidecar_entry(entry, per_facet[facet][entry["value_or_threshold"]]) for entry in entries
                ]
                for facet, entries in section["facets"].items()
            }
        }
    return doc


def _sidecar_entry(entry: Mapping[str, Any], computed: Mapping[str, Any]) -> dict[str, Any]:
    metrics = []
    for metric in entry["metrics"]:
        interval = computed["metrics"][metric["name"]]
        metrics.append({"name": metric["name"], "value": metric.get("value"), **interval})
    return {
        "value_or_threshold": entry["value_or_threshold"],
        "n_d": computed["n_d"],
        "n_a": computed["n_a"],
        "metrics": metrics,
    }
