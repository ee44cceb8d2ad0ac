"""Intersectional facets and the scan of facet-value combinations (``intersectional_bias.json``).

Clarify compares one facet group with the rest, one facet column at a time; real audits ask about
intersections (women over 60). This module, run after the Clarify-compatible bias pass and leaving
its output untouched:

* evaluates **intersectional facets**, each a conjunction of conditions on several columns (group
  ``d`` = rows meeting every condition, ``a`` = every other row), with the same count-based metrics;
* **scans** every combination of values of the chosen columns (every non-empty subset of the
  columns, numeric ones cut into ``bins``): groups with fewer than ``min_group_size`` rows (or whose
  rest is that small) are listed but not tested; each other group gets the metrics and a two-sided
  two-proportion z-test of its positive rate (predicted labels when there are predictions, else
  labels) against the rest::

      z = (p_d − p_a) / sqrt(p (1 − p) (1/n_d + 1/n_a)),   p the pooled positive rate

  and the p-values of all tested groups are corrected for testing many groups: Holm (family-wise
  error) or Benjamini-Hochberg (false discovery rate). Groups are listed worst first: significant
  ones first, then by the size of the gap.

One streaming pass over the needed columns counts ``[group, y, ŷ]`` for every full combination;
every subset's table is a sum of those counts. Labels and predictions use the bias pass's own rules
(``Preparation``), so "positive" means the same as in ``analysis.json``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.uncertainty import (
    SIDECAR_VERSION,
    ConfidenceIntervalConfig,
    IntersectionalFacet,
    IntersectionConfig,
)
from airflow_provider_clarify.engine.bias import vectorized as vec
from airflow_provider_clarify.engine.bias.counts import batch_column, is_numeric_type, stream
from airflow_provider_clarify.engine.bias.intervals import ANALYTIC, z_value
from airflow_provider_clarify.engine.bias.preparation import Preparation

MAX_SCAN_COLUMNS = 4


# ---- row selection ---------------------------------------------------------------------------------


def _condition_mask(column: pa.Array, name: str, op: str, value: Any) -> np.ndarray:
    """Rows of one batch meeting ``column op value``; missing values never match."""
    numeric = is_numeric_type(column.type) and not pa.types.is_boolean(column.type)
    missing = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if numeric:
        values = np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
        missing |= np.isnan(values)

        def number(v: Any) -> float:
            try:
                return float(v)
            except (TypeError, ValueError):
                raise ClarifyConfigError(
                    f"intersections: column '{name}' is numeric but the condition compares it with {v!r}; "
                    "give a number",
                    field=f"intersections.facets.{name}",
                    value=v,
                    accepted="a number",
                ) from None

        if op == "in":
            mask = np.isin(values, [number(v) for v in value])
        else:
            mask = _compare(values, op, number(value))
    else:
        if op in (">", ">=", "<", "<="):
            raise ClarifyConfigError(
                f"intersections: {op!r} needs a numeric column, and '{name}' is {column.type}",
                field=f"intersections.facets.{name}",
                value=op,
                accepted="==, != or in for a text column",
            )
        text = np.asarray(pc.cast(column, pa.string()).to_numpy(zero_copy_only=False), dtype=object)
        wanted = [_text(v) for v in value] if op == "in" else _text(value)
        mask = np.isin(text, wanted) if op == "in" else _compare(text, op, wanted)
    return np.asarray(mask, dtype=bool) & ~missing


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _compare(values: np.ndarray, op: str, value: Any) -> np.ndarray:
    return {
        "==": lambda: values == value,
        "!=": lambda: values != value,
        ">": lambda: values > value,
        ">=": lambda: values >= value,
        "<": lambda: values < value,
        "<=": lambda: values <= value,
    }[op]()


class _Levels:
    """Maps one scan column's values (or bins) to integer codes and back to text, across batches."""

    def __init__(self, name: str, edges: Sequence[float] | None) -> None:
        self.name = name
        self.edges = np.asarray(edges, dtype=np.float64) if edges else None
        self.texts: list[str] = []
        self._codes: dict[Any, int] = {}
        if self.edges is not None:
            bounds = [-math.inf, *self.edges.tolist(), math.inf]
            self.texts = [f"({_edge(lo)}, {_edge(hi)}]" for lo, hi in itertools.pairwise(bounds)]
            self.texts[-1] = self.texts[-1][:-1] + ")"
            self.texts.append("nan")

    def codes(self, column: pa.Array) -> np.ndarray:
        if self.edges is not None:
            if not is_numeric_type(column.type):
                raise ClarifyConfigError(
                    f"intersections.bins.{self.name}: column '{self.name}' is {column.type}, not numeric",
                    field=f"intersections.bins.{self.name}",
                    value=list(self.edges),
                    accepted="bins only for numeric columns",
                )
            values = np.asarray(
                pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
            )
            codes = np.searchsorted(self.edges, values, side="left")  # (e[i-1], e[i]] -> i
            return np.where(np.isnan(values), len(self.texts) - 1, codes).astype(np.int64)
        encoded = pc.dictionary_encode(column)
        dictionary = encoded.dictionary.to_pylist()
        local = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
        mapping = np.empty(len(dictionary) + 1, dtype=np.int64)
        for i, value in enumerate([*dictionary, None]):
            key = "nan" if value is None or (isinstance(value, float) and math.isnan(value)) else _text(value)
            if key not in self._codes:
                self._codes[key] = len(self.texts)
                self.texts.append(key)
            mapping[i] = self._codes[key]
        return mapping[local]  # -1 (null) indexes the last slot: the None entry


def _edge(value: float) -> str:
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return repr(int(value)) if float(value).is_integer() else repr(value)


# ---- statistics ------------------------------------------------------------------------------------


def two_proportion_p_values(
    pos_d: np.ndarray, n_d: np.ndarray, pos_a: np.ndarray, n_a: np.ndarray
) -> np.ndarray:
    """Two-sided p-values of the pooled two-proportion z-test (1 where the pooled rate is 0 or 1)."""
    pos_d, n_d, pos_a, n_a = (np.asarray(v, dtype=np.float64) for v in (pos_d, n_d, pos_a, n_a))
    pooled = (pos_d + pos_a) / (n_d + n_a)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_d + 1 / n_a))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(pos_d / n_d - pos_a / n_a) / se
    # two-sided tail 2·(1 − Φ(|z|)) = erfc(|z|/√2), exact far into the tail (no 1 − Φ cancellation)
    p = np.array([math.erfc(v / math.sqrt(2)) if np.isfinite(v) else 1.0 for v in z.ravel()]).reshape(z.shape)
    return np.where(se > 0, p, 1.0)


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (controls the family-wise error rate)."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (controls the false discovery rate)."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    out = np.empty(m)
    out[order] = adjusted
    return out


CORRECTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "holm": holm,
    "bh": benjamini_hochberg,
    "none": lambda p: np.asarray(p, dtype=np.float64),
}


# ---- the pass and the document ---------------------------------------------------------------------


def _metric_entries(
    names: Sequence[str], a: np.ndarray, d: np.ndarray, level: float | None
) -> list[list[dict[str, Any]]]:
    """Per group (leading axis), ``[{name, value[, lower, upper, method]}]``."""
    values = {name: vec.PAIR_METRICS[name](a, d) for name in names}
    bounds = {}
    if level is not None:
        z = z_value(level)
        bounds = {name: ANALYTIC[name][1](a, d, z) for name in names if name in ANALYTIC}
    out = []
    for i in range(len(a)):
        row = []
        for name in names:
            value = float(values[name][i])
            entry: dict[str, Any] = {"name": name, "value": None if math.isnan(value) else value}
            if name in bounds:
                lower, upper = float(bounds[name][0][i]), float(bounds[name][1][i])
                if math.isfinite(lower) and math.isfinite(upper):
                    entry.update(lower=lower, upper=upper, method=ANALYTIC[name][0])
            row.append(entry)
        out.append(row)
    return out


def _describe(columns: Sequence[str], texts: Sequence[str]) -> str:
    return " AND ".join(f"{c} = {t}" for c, t in zip(columns, texts, strict=True))


def compute_intersections(
    batches: Callable[[Sequence[str]], Iterable[pa.RecordBatch]],
    config: IntersectionConfig,
    *,
    prep: Preparation,
    label: str,
    predicted_label: str | None,
    intervals: ConfidenceIntervalConfig | None = None,
) -> dict[str, Any]:
    """The ``intersectional_bias.json`` document (see the module docstring)."""
    if len(config.scan_columns) > MAX_SCAN_COLUMNS:
        raise ClarifyConfigError(
            f"intersections.scan_columns has {len(config.scan_columns)} columns; the scan crosses at most "
            f"{MAX_SCAN_COLUMNS} (every subset of them is tested)",
            field="intersections.scan_columns",
            value=list(config.scan_columns),
            accepted=f"at most {MAX_SCAN_COLUMNS} columns",
        )
    with_predictions = predicted_label is not None and prep.prediction_rule is not None
    metrics = list(config.metrics or (("DPPL", "DI") if with_predictions else ("DPL",)))
    unknown = [m for m in metrics if m not in vec.PAIR_METRICS]
    post_only = {"DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "TE"}
    if unknown or (not with_predictions and post_only & set(metrics)):
        raise ClarifyConfigError(
            f"intersections.metrics {metrics}: {unknown or sorted(post_only & set(metrics))} cannot be computed "
            "here (count-based metrics only; post-training ones need predicted labels)",
            field="intersections.metrics",
            value=metrics,
            accepted=", ".join(vec.PAIR_METRICS),
        )
    columns = list(
        dict.fromkeys(
            [c for f in config.facets for c, _, _ in f.conditions]
            + list(config.scan_columns)
            + [label]
            + ([predicted_label] if with_predictions else [])
        )
    )
    levels = [_Levels(c, config.bins.get(c)) for c in config.scan_columns]
    facet_tables = {f.name: np.zeros(8, dtype=np.int64) for f in config.facets}
    combos: dict[tuple[int, ...], np.ndarray] = {}
    total = np.zeros(4, dtype=np.int64)
    for batch in stream(batches, columns):
        n = batch.num_rows
        if n == 0:
            continue
        y = prep.label_rule.select(batch_column(batch, label))
        yhat = (
            prep.prediction_rule.select(batch_column(batch, predicted_label))  # type: ignore[union-attr,arg-type]
            if with_predictions
            else np.zeros(n, dtype=bool)
        )
        outcome = y.astype(np.int64) * 2 + yhat
        total += np.bincount(outcome, minlength=4)
        for facet in config.facets:
            facet_tables[facet.name] += np.bincount(_facet_mask(batch, facet) * 4 + outcome, minlength=8)
        if levels:
            codes = np.stack([lv.codes(batch_column(batch, lv.name)) for lv in levels], axis=1)
            radix = tuple(int(r) for r in codes.max(axis=0) + 1)
            flat = np.ravel_multi_index(tuple(codes.T), radix)  # one integer per combination
            keys, inverse = np.unique(flat, return_inverse=True)
            counts = np.bincount(inverse * 4 + outcome, minlength=len(keys) * 4).reshape(len(keys), 4)
            combinations = np.stack(np.unravel_index(keys, radix), axis=1)
            for key, row in zip(map(tuple, combinations.tolist()), counts, strict=True):
                combos[key] = combos.get(key, 0) + row

    level = intervals.level if intervals is not None else None
    positive = "predicted" if with_predictions else "label"
    doc: dict[str, Any] = {
        "version": SIDECAR_VERSION,
        "label": label,
        "positive_outcome": positive,
        "metrics": metrics,
        "min_group_size": config.min_group_size,
        "correction": config.correction,
        "alpha": config.alpha,
        "top": config.top,
        "test": f"two-sided two-proportion z-test of the {positive} positive rate, group vs rest",
        "level": level,
    }
    total_table = total.reshape(2, 2)
    doc["facets"] = _explicit_facets(config, facet_tables, total_table, metrics, level, with_predictions)
    if levels:
        doc["scan"] = _scan(config, levels, combos, total_table, metrics, level, with_predictions)
    return doc


def _facet_mask(batch: pa.RecordBatch, facet: IntersectionalFacet) -> np.ndarray:
    mask = np.ones(batch.num_rows, dtype=bool)
    for column, op, value in facet.conditions:
        mask &= _condition_mask(batch_column(batch, column), column, op, value)
    return mask.astype(np.int64)


def _positives(m: np.ndarray, with_predictions: bool) -> np.ndarray:
    return vec.predicted_positives(m) if with_predictions else vec.label_positives(m)


def _explicit_facets(
    config: IntersectionConfig,
    tables: dict[str, np.ndarray],
    total: np.ndarray,
    metrics: list[str],
    level: float | None,
    with_predictions: bool,
) -> list[dict[str, Any]]:
    if not config.facets:
        return []
    d = np.stack([tables[f.name].reshape(2, 2, 2)[1] for f in config.facets])
    a = total[None] - d
    p_values = two_proportion_p_values(
        _positives(d, with_predictions), vec.sizes(d), _positives(a, with_predictions), vec.sizes(a)
    )
    entries = _metric_entries(metrics, a, d, level)
    out = []
    for i, facet in enumerate(config.facets):
        n_d, n_a = int(d[i].sum()), int(a[i].sum())
        item: dict[str, Any] = {
            "name": facet.name,
            "definition": facet.text,
            "n_d": n_d,
            "n_a": n_a,
            "metrics": entries[i],
            "p_value": float(p_values[i]),
        }
        if min(n_d, n_a) < config.min_group_size:
            item["note"] = (
                f"fewer than min_group_size={config.min_group_size} rows on one side: not conclusive"
            )
        out.append(item)
    return out


def _scan(
    config: IntersectionConfig,
    levels: list[_Levels],
    combos: dict[tuple[int, ...], np.ndarray],
    total: np.ndarray,
    metrics: list[str],
    level: float | None,
    with_predictions: bool,
) -> dict[str, Any]:
    groups: list[tuple[tuple[str, ...], tuple[str, ...], np.ndarray]] = []
    names = [lv.name for lv in levels]
    for size in range(1, len(levels) + 1):
        for subset in itertools.combinations(range(len(levels)), size):
            marginal: dict[tuple[int, ...], np.ndarray] = {}
            for key, counts in combos.items():
                sub = tuple(key[i] for i in subset)
                marginal[sub] = marginal.get(sub, 0) + counts
            for sub, counts in sorted(marginal.items()):
                texts = tuple(levels[i].texts[code] for i, code in zip(subset, sub, strict=True))
                groups.append((tuple(names[i] for i in subset), texts, np.asarray(counts).reshape(2, 2)))
    n = int(total.sum())
    big_enough = [min(int(g[2].sum()), n - int(g[2].sum())) >= config.min_group_size for g in groups]
    tested = [g for g, ok in zip(groups, big_enough, strict=True) if ok]
    too_small = [g for g, ok in zip(groups, big_enough, strict=True) if not ok]
    result: dict[str, Any] = {
        "columns": names,
        "bins": {k: list(v) for k, v in config.bins.items()},
        "groups_tested": len(tested),
        "groups_too_small": len(too_small),
        "groups": [],
        "too_small": [
            {
                "group": dict(zip(cols, texts, strict=True)),
                "text": _describe(cols, texts),
                "n_d": int(t.sum()),
            }
            for cols, texts, t in too_small
        ],
    }
    if not tested:
        return result
    d = np.stack([t for _, _, t in tested])
    a = total[None] - d
    p_values = two_proportion_p_values(
        _positives(d, with_predictions), vec.sizes(d), _positives(a, with_predictions), vec.sizes(a)
    )
    adjusted = CORRECTIONS[config.correction](p_values)
    entries = _metric_entries(metrics, a, d, level)
    gap = np.abs(
        vec.dppl(a, d) if with_predictions else vec.dpl(a, d)
    )  # the positive-rate difference the test is about
    items = []
    for i, (cols, texts, table) in enumerate(tested):
        items.append(
            {
                "group": dict(zip(cols, texts, strict=True)),
                "text": _describe(cols, texts),
                "n_d": int(table.sum()),
                "n_a": n - int(table.sum()),
                "metrics": entries[i],
                "p_value": float(p_values[i]),
                "adjusted_p_value": float(adjusted[i]),
                "significant": bool(adjusted[i] <= config.alpha),
                "_gap": float(gap[i]),
            }
        )
    items.sort(key=lambda item: (not item["significant"], -item["_gap"], item["text"]))
    for item in items:
        del item["_gap"]
    result["groups"] = items
    return result
