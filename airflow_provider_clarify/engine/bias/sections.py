"""Entry point: the ``pre_training_bias_metrics`` / ``post_training_bias_metrics`` sections.

Two streaming passes over the dataset: :func:`~.preparation.prepare` profiles the facet, label,
prediction and group columns and fixes every rule; :func:`~.counts.count_dataset` counts. The
metrics are then evaluated from the counts for each facet entry and assembled exactly like
smclarify's report: entries in facet order, metrics sorted by name, a failing metric reported as
``{"name", "description", "value": None, "error": message}``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from airflow_provider_clarify.engine.bias.columns import ContinuousRule, Family
from airflow_provider_clarify.engine.bias.counts import ConfusionCounts, DatasetCounts, count_dataset
from airflow_provider_clarify.engine.bias.errors import BiasAnalysisError
from airflow_provider_clarify.engine.bias.flip_test import flip_test_value
from airflow_provider_clarify.engine.bias.generalized_entropy import (
    generalized_entropy_from_counts,
    generalized_entropy_index,
)
from airflow_provider_clarify.engine.bias.groups import FacetEncoding, FacetEntry
from airflow_provider_clarify.engine.bias.inputs import EntryInputs, SubgroupCounts
from airflow_provider_clarify.engine.bias.preparation import FacetSpec, Preparation, prepare
from airflow_provider_clarify.engine.bias.registry import (
    POST_TRAINING_METRICS,
    PRE_TRAINING_METRICS,
    MetricSpec,
    select_metrics,
)

ALL_FALSE_PREDICTIONS = (
    "No Label values are present in the predicted Label Column,"
    "Positive Predicted Index Series contains all False values"
)


def compute_bias_sections(
    batches: Callable[[Sequence[str]], Iterable[pa.RecordBatch]],
    *,
    label: str,
    label_values: list,
    facets: list[dict],
    group_variable: str | None = None,
    predicted_label: str | None = None,
    pre_training_methods: str | list | None = None,
    post_training_methods: str | list | None = None,
    feature_columns: Sequence[str] = (),
    num_rows: int | None = None,
    available_columns: Sequence[str] | None = None,
    reject_degenerate_inputs: bool = True,
    flip_test_non_numeric: str = "ignore",
    profiler: Callable[[dict], None] | None = None,
    counter: Callable[..., DatasetCounts] | None = None,
) -> dict:
    """Compute the bias sections of ``analysis.json`` as smclarify 0.5 would.

    :param batches: ``batches(columns)`` streams RecordBatches holding those columns, from the start,
        each time it is called (it is called twice).
    :param label: label column name. :param label_values: positive label values or ``[threshold]``.
    :param facets: ``[{"name_or_index": column name, "value_or_threshold": [...] (optional)}]``.
    :param group_variable: column for CDDL/CDDPL. :param predicted_label: predicted-label column
        (required for post-training metrics).
    :param pre_training_methods: ``"all"`` or a list of names; ``None`` skips the stage (same for post).
    :param feature_columns: model features; FT uses the numeric ones (minus facet/label/prediction).
    :param num_rows: exact row count when known (bounds the memory of type detection).
    :param available_columns: dataset column names, to report missing columns before reading.
    :param reject_degenerate_inputs: raise instead of reporting numbers when no label row is positive
        or a numeric facet value matches nothing in a string column (smclarify reports numbers/
        per-metric errors; ``False`` reproduces that).
    :param flip_test_non_numeric: ``"ignore"`` (FT uses the numeric feature columns) or ``"error"``
        (smclarify: any non-numeric feature makes FT fail).
    :param profiler: / :param counter: replace the two streaming passes over ``batches`` (the first
        pass's profiling, :func:`~.counts.count_dataset`'s counting; same keyword arguments): the
        Spark backend runs them per partition and merges (``engine/spark/``).
    :returns: ``{"pre_training_bias_metrics": {...}, "post_training_bias_metrics": {...}}`` (requested
        stages only); values are Python floats (``inf`` for infinity) or the integer 0.
    :raises BiasAnalysisError: whole-report failures, with smclarify's message where it has one.
    """
    pre = select_metrics(PRE_TRAINING_METRICS, pre_training_methods)
    post = select_metrics(POST_TRAINING_METRICS, post_training_methods)
    if pre is None and post is None:
        return {}
    if flip_test_non_numeric not in ("ignore", "error"):
        raise BiasAnalysisError(
            f"flip_test_non_numeric={flip_test_non_numeric!r} is not supported; use 'ignore' or 'error'"
        )
    specs = [_facet_spec(facet) for facet in facets]
    if not specs:
        raise BiasAnalysisError("At least one facet is required for bias metrics (facet[*].name_or_index)")
    label_values = list(label_values) if isinstance(label_values, list | tuple) else [label_values]
    if post is not None and predicted_label is None:
        raise BiasAnalysisError("predicted_label_column has to be provided for Post training metrics")
    wanted = {spec.name for spec in (pre or []) + (post or [])}
    if not {"CDDL", "CDDPL"} & wanted:
        group_variable = None
    features = [c for c in feature_columns] if "FT" in wanted and post is not None else []
    _check_columns(
        available_columns, specs, label, predicted_label if post else None, group_variable, features
    )
    if not label_values:
        raise BiasAnalysisError("Positive label values or thresholds are empty for Label column")
    original_label_values = list(label_values)

    prep = prepare(
        batches,
        facets=specs,
        label=label,
        label_values=label_values,
        predicted_label=predicted_label if post is not None else None,
        group_variable=group_variable,
        num_rows=num_rows,
        pre_training_first=pre is not None and post is not None,
        profiler=profiler,
    )
    counts = (counter or functools.partial(count_dataset, batches))(
        facets=prep.facets,
        label_rule=prep.label_rule,
        label=label,
        prediction_rule=prep.prediction_rule,
        predicted_label=predicted_label if post is not None else None,
        group=prep.group,
        keep_benefits=post is not None and "GE" in wanted,
        flip_test="FT" in wanted and post is not None,
        flip_test_columns=[c for c in features if c not in (label, predicted_label)],
    )
    total = ConfusionCounts.from_matrix(_total(counts))
    if post is not None and total.pred_pos == 0:
        raise BiasAnalysisError(ALL_FALSE_PREDICTIONS)
    if prep.deferred_error is not None:
        raise prep.deferred_error
    if reject_degenerate_inputs:
        _reject_degenerate(prep, counts, total, label, original_label_values, specs)

    report = _Report(prep, counts, total, flip_test_non_numeric, label, predicted_label)
    result: dict[str, Any] = {}
    for key, chosen in (("pre_training_bias_metrics", pre), ("post_training_bias_metrics", post)):
        if chosen is None:
            continue
        result[key] = {
            "label": label,
            "facets": {spec.name: report.facet_entries(spec.name, chosen) for spec in specs},
            "label_value_or_threshold": prep.label_text,
        }
    return result


def _facet_spec(facet: dict) -> FacetSpec:
    if not isinstance(facet, dict) or "name_or_index" not in facet:
        raise BiasAnalysisError(f"facet entry {facet!r} needs 'name_or_index' (the facet column name)")
    values = facet.get("value_or_threshold")
    if values is not None and not isinstance(values, list | tuple):
        values = [values]
    return FacetSpec(name=str(facet["name_or_index"]), values=list(values) if values is not None else None)


def _check_columns(
    available: Sequence[str] | None,
    specs: list[FacetSpec],
    label: str,
    predicted_label: str | None,
    group_variable: str | None,
    features: list[str],
) -> None:
    if available is None:
        return
    present = set(available)
    for spec in specs:
        if spec.name not in present:
            raise BiasAnalysisError(f"Facet column {spec.name} is not present in the dataset")
    for role, name in (
        ("Label", label),
        ("Predicted label", predicted_label),
        ("Group variable", group_variable),
    ):
        if name is not None and name not in present:
            raise BiasAnalysisError(
                f"{role} column '{name}' is not present in the dataset (columns: {sorted(present)})"
            )
    missing = [c for c in features if c not in present]
    if missing:
        raise BiasAnalysisError(f"Feature columns {missing} are not present in the dataset")


def _total(counts: DatasetCounts) -> np.ndarray:
    table = next(iter(counts.tables.values()))
    return table.sum(axis=(0, 1))


def _reject_degenerate(
    prep: Preparation,
    counts: DatasetCounts,
    total: ConfusionCounts,
    label: str,
    label_values: list,
    specs: list[FacetSpec],
) -> None:
    """Clear errors for inputs on which smclarify silently reports numbers (docs/parity.md)."""
    if total.label_pos == 0 and counts.rows:
        if isinstance(prep.label_rule, ContinuousRule):
            hint = (
                f"no value of label column '{label}' is greater than the threshold "
                f"{prep.label_rule.threshold!r} (largest value: {prep.label_profile.max_value!r})"
            )
        else:
            hint = f"no value of label column '{label}' equals any of {label_values!r}"
        raise BiasAnalysisError(
            f"label_values_or_threshold {label_values!r}: {hint}, so no row has a positive label. "
            "Give the positive label values as they appear in the data (a float 0/1 label with [1] is "
            "a threshold: use [0] or [0.5]). Pass reject_degenerate_inputs=False to reproduce "
            "smclarify's numbers."
        )
    for spec in specs:
        profile = prep.facet_profiles[spec.name]
        values = spec.values or []
        numeric = values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        encoding = prep.facets[spec.name]
        if numeric and profile.pandas_family is Family.STR and encoding.rule is not None:
            if counts.tables[spec.name][1].sum() == 0:
                raise BiasAnalysisError(
                    f"Facet '{spec.name}' is a string column but value_or_threshold {values!r} is numeric "
                    "and matches no row: a threshold needs a numeric column. Give the facet's category "
                    'values instead (e.g. ["female"]).'
                )


class _Report:
    """Evaluates the metrics of every entry of a facet from the dataset counts."""

    def __init__(
        self,
        prep: Preparation,
        counts: DatasetCounts,
        total: ConfusionCounts,
        flip_test_non_numeric: str,
        label: str,
        predicted_label: str | None,
    ) -> None:
        self.prep = prep
        self.counts = counts
        self.total = total
        self.flip_test_non_numeric = flip_test_non_numeric
        self.excluded = {label, predicted_label}

    @functools.cached_property
    def _generalized_entropy(self) -> tuple[float | None, Exception | None]:
        try:
            if self.counts.benefit_codes is None:
                assert self.counts.benefit_counts is not None
                return generalized_entropy_from_counts(self.counts.benefit_counts), None
            return generalized_entropy_index(self.counts.benefit_codes), None
        except Exception as exc:
            return None, exc

    def generalized_entropy(self) -> float:
        value, error = self._generalized_entropy
        if error is not None:
            raise error
        assert value is not None
        return value

    def facet_entries(self, facet: str, metrics: list[MetricSpec]) -> list[dict]:
        encoding = self.prep.facets[facet]
        return [
            {"value_or_threshold": entry.text, "metrics": [self._metric(spec, inputs) for spec in metrics]}
            for entry, inputs in ((e, self._inputs(facet, encoding, e)) for e in encoding.entries)
        ]

    @staticmethod
    def _metric(spec: MetricSpec, inputs: EntryInputs) -> dict:
        try:
            value = spec.compute(inputs)
        except Exception as exc:  # every metric failure becomes that metric's error entry
            return {"name": spec.name, "description": spec.description, "value": None, "error": str(exc)}
        return {"name": spec.name, "description": spec.description, "value": value}

    def _inputs(self, facet: str, encoding: FacetEncoding, entry: FacetEntry) -> EntryInputs:
        table = self.counts.tables[facet]  # [f, g, y, ŷ]
        every = table.sum(axis=0)  # [g, y, ŷ]
        d_table = table[entry.code] if entry.code is not None else np.zeros_like(every)
        total = every.sum(axis=0)
        d_matrix = d_table.sum(axis=0)
        subgroups = None
        group = self.prep.group
        if group is not None and self.counts.rows:
            size = group.num_codes - 1  # drop the missing-value slot
            subgroups = SubgroupCounts(
                d=d_table[:size], all=every[:size], nan_slot=group.nan_slot, error=group.error
            )
        return EntryInputs(
            a=ConfusionCounts.from_matrix(total - d_matrix),
            d=ConfusionCounts.from_matrix(d_matrix),
            total=ConfusionCounts.from_matrix(total),
            subgroups=subgroups,
            generalized_entropy=self.generalized_entropy,
            flip_test=functools.partial(self._flip_test, facet, entry),
        )

    def _flip_test(self, facet: str, entry: FacetEntry) -> float:
        data = self.counts.flip_test
        assert data is not None
        assert self.counts.predictions is not None
        codes = self.counts.facet_codes[facet]
        sensitive = codes == entry.code if entry.code is not None else np.zeros(len(codes), dtype=bool)
        drop = self.excluded | {facet}
        columns = [j for j, c in enumerate(data.used_columns) if c not in drop]
        non_numeric = [c for c in data.non_numeric_columns if c not in drop]
        if self.flip_test_non_numeric == "error":
            refuse = bool(non_numeric)
        else:
            refuse = bool(non_numeric) and not columns
        return flip_test_value(
            data.features[:, columns], sensitive, self.counts.predictions, non_numeric=refuse
        )
