"""Kernel SHAP over a dataset: config -> coalition plans -> model calls -> local and global values.

See :mod:`.coalitions` (which coalitions), :mod:`.synthetic` (rows and model calls),
:mod:`.kernel_shap` (attribution), :mod:`.baseline`, :mod:`.text` and :mod:`.aggregate`.

``features_to_explain``: only the listed features are players; the others keep the record's value in
every synthetic row. Their SHAP values then explain ``link(f(x)) - link(v_x(empty))`` where the empty
coalition replaces only the explained features, so the base value differs per record;
``expected_value`` reports its mean over the records (with all features explained it is exactly
``link(mean_k f(b_k))``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from airflow_provider_clarify.engine import progress
from airflow_provider_clarify.engine.errors import EngineConfigError
from airflow_provider_clarify.engine.explain.aggregate import AGG_METHODS, aggregate
from airflow_provider_clarify.engine.explain.baseline import resolve_baseline
from airflow_provider_clarify.engine.explain.coalitions import (
    CoalitionPlan,
    coalition_budget,
    plan_coalitions,
)
from airflow_provider_clarify.engine.explain.feature_selection import feature_indices
from airflow_provider_clarify.engine.explain.model_calls import ModelCaller
from airflow_provider_clarify.engine.explain.synthetic import TabularRows, explain_group
from airflow_provider_clarify.engine.explain.text import (
    TextConfig,
    TextRows,
    collect_occurrences,
    split_text,
    top_text_units,
)

if TYPE_CHECKING:
    import pyarrow as pa


class ShapConfigError(EngineConfigError):
    """Bad ``methods.shap`` value (names the field, the value and what is accepted)."""


@dataclass
class ShapRun:
    """Everything Kernel SHAP produced for one dataset."""

    output_keys: list[str]
    feature_names: list[str]  # columns of ``local`` (explained tabular features, then text columns)
    local: np.ndarray  # (N, k, F)
    base: np.ndarray  # (N, k)
    full: np.ndarray  # (N, k)
    baseline: np.ndarray
    baseline_computed: bool
    agg_method: str
    global_features: list[str]  # features reported in global_shap_values
    top_text: list[dict[str, dict[str, float]]] = field(default_factory=list)  # per output

    def global_values(self, output: int) -> dict[str, float]:
        index = {name: j for j, name in enumerate(self.feature_names)}
        agg = aggregate(self.local[:, output, :], self.agg_method)
        return {name: float(agg[index[name]]) for name in self.global_features}

    def expected_value(self, output: int) -> float:
        return float(np.mean(self.base[:, output]))

    def kernel_shap_block(self) -> dict:
        block = {}
        for j, key in enumerate(self.output_keys):
            entry: dict = {
                "global_shap_values": self.global_values(j),
                "expected_value": self.expected_value(j),
            }
            if self.top_text:
                entry["global_top_shap_text"] = self.top_text[j]
            block[key] = entry
        return block


def _int_option(config: dict, name: str, minimum: int) -> int | None:
    value = config.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ShapConfigError(f"methods.shap.{name} is {value!r}; it must be an integer >= {minimum}.")
    return value


def explained_columns(names: Sequence[str], config: dict) -> list[int]:
    """Indices of ``features_to_explain`` (names or indices), default all columns."""
    wanted = config.get("features_to_explain")
    if wanted is None:
        return list(range(len(names)))
    if not isinstance(wanted, list) or not wanted:
        raise ShapConfigError(
            f"methods.shap.features_to_explain is {wanted!r}; give a non-empty list of feature names or indices."
        )
    return sorted(set(feature_indices(names, wanted, "methods.shap.features_to_explain", ShapConfigError)))


@dataclass(frozen=True)
class ShapSettings:
    """``methods.shap``, checked: what a Kernel SHAP run over tabular (and text) records needs."""

    num_samples: int | None
    seed: int | None
    agg_method: str
    use_logit: bool
    text_config: TextConfig | None
    text: list[int]  # free-text columns (with text_config only)
    players: list[int]  # explained tabular columns


def shap_settings(names: Sequence[str], config: dict, text_columns: Sequence[int] = ()) -> ShapSettings:
    """Check ``methods.shap`` (``config``) against the feature ``names``; errors name the field."""
    num_samples = _int_option(config, "num_samples", 1)
    seed = _int_option(config, "seed", 0)
    agg_method = config.get("agg_method", "mean_abs")
    if agg_method not in AGG_METHODS:
        raise ShapConfigError(
            f"methods.shap.agg_method is {agg_method!r}; accepted: {', '.join(AGG_METHODS)}."
        )
    use_logit = config.get("use_logit", False)
    if not isinstance(use_logit, bool):
        raise ShapConfigError(f"methods.shap.use_logit is {use_logit!r}; it must be true or false.")
    if config.get("image_config") is not None:
        raise ShapConfigError(
            "methods.shap.image_config (computer vision) is not supported by the open engine; run the "
            "analysis with compute='sagemaker'."
        )
    text_config = TextConfig.from_dict(config["text_config"]) if config.get("text_config") else None
    text = list(text_columns) if text_config else []
    if text_config and config.get("features_to_explain") is not None:
        raise ShapConfigError(
            "methods.shap.features_to_explain cannot be combined with text_config (tabular data only)."
        )
    players = [j for j in explained_columns(names, config) if j not in text]
    return ShapSettings(num_samples, seed, agg_method, use_logit, text_config, text, players)


def tabular_plan(settings: ShapSettings) -> CoalitionPlan:
    """The one coalition plan every tabular record shares: the first draw of ``default_rng(seed)``."""
    rng = np.random.default_rng(settings.seed)
    players = len(settings.players)
    return plan_coalitions(players, coalition_budget(players, settings.num_samples), rng)


def run_kernel_shap(
    features: pa.Table,
    records: np.ndarray,
    config: dict,
    caller: ModelCaller,
    *,
    baseline_table: pa.Table | None = None,
    text_columns: Sequence[int] = (),
) -> ShapRun:
    """Kernel SHAP for every record of ``features`` as configured by ``methods.shap``."""
    names = list(features.column_names)
    n = records.shape[0]
    if n == 0:
        raise ShapConfigError("The dataset has no records to explain; SHAP needs at least one row.")
    settings = shap_settings(names, config, text_columns)
    num_samples, seed, agg_method = settings.num_samples, settings.seed, settings.agg_method
    use_logit, text_config, text, players = (
        settings.use_logit,
        settings.text_config,
        settings.text,
        settings.players,
    )
    rng = np.random.default_rng(seed)
    baseline = resolve_baseline(features, records, config, baseline_table, text_columns=text, seed=seed)
    progress.expect("Kernel SHAP", n, "records")

    if not text:
        plan = tabular_plan(settings)
        rows = TabularRows(records, baseline.matrix, players)
        result, _ = explain_group(np.arange(n), plan, rows, caller, use_logit=use_logit)
        keys = caller.output_keys()
        feature_names = [names[j] for j in players]
        return ShapRun(
            output_keys=keys,
            feature_names=feature_names,
            local=result.values,
            base=result.base,
            full=result.full,
            baseline=baseline.matrix,
            baseline_computed=baseline.computed,
            agg_method=agg_method,
            global_features=feature_names,
        )
    return _run_text(
        features,
        records,
        baseline,
        players,
        text,
        text_config,
        caller,
        num_samples,
        use_logit,
        rng,
        agg_method,
    )


def _run_text(
    features, records, baseline, players, text, text_config, caller, num_samples, use_logit, rng, agg
):
    names = list(features.column_names)
    n = records.shape[0]
    splits = [
        [
            split_text(records[i, c] if isinstance(records[i, c], str) else None, text_config.granularity)
            for c in text
        ]
        for i in range(n)
    ]
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for i, record_splits in enumerate(splits):
        groups[tuple(len(s.units) for s in record_splits)].append(i)
    rows = TextRows(records, baseline.matrix.astype(object), players, text, splits)
    p = len(players)
    local = base = full = None
    occurrences: list[dict] = [defaultdict(list) for _ in text]
    common = None
    for unit_counts, members in groups.items():
        m = p + sum(unit_counts)
        plan = plan_coalitions(m, coalition_budget(m, num_samples), rng)
        ids = np.array(members)
        result, common = explain_group(ids, plan, rows, caller, use_logit=use_logit, common_base=common)
        k = result.values.shape[1]
        if local is None:
            local = np.zeros((n, k, p + len(text)))
            base = np.zeros((n, k))
            full = np.zeros((n, k))
        local[ids, :, :p] = result.values[:, :, :p]
        base[ids], full[ids] = result.base, result.full
        for r, record in enumerate(members):
            offset = p
            for t, count in enumerate(unit_counts):
                unit_values = result.values[r, :, offset : offset + count]
                local[record, :, p + t] = unit_values.sum(axis=1)
                collect_occurrences([splits[record][t]], unit_values, occurrences[t])
                offset += count
    keys = caller.output_keys()
    top_text = [
        {
            names[c]: top_text_units(occurrences[t], agg, text_config.max_top_tokens, j)
            for t, c in enumerate(text)
        }
        for j in range(len(keys))
    ]
    tab_names = [names[j] for j in players]
    return ShapRun(
        output_keys=keys,
        feature_names=tab_names + [names[c] for c in text],
        local=local,
        base=base,
        full=full,
        baseline=baseline.matrix,
        baseline_computed=baseline.computed,
        agg_method=agg,
        global_features=tab_names,
        top_text=top_text,
    )
