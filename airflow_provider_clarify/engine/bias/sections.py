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

from airflow_provider_clarify.engine.bias.columns import (
    CategoricalRule,
    ColumnProfile,
    ContinuousRule,
    Family,
    did_you_mean,
    values_text,
)
from airflow_provider_clarify.engine.bias.counts import ConfusionCounts, DatasetCounts, count_dataset
from airflow_provider_clarify.engine.bias.errors import BiasAnalysisError
from airflow_provider_clarify.engine.bias.flip_test import flip_test_value
from airflow_provider_clarify.engine.bias.generalized_entropy import (
    BenefitSum,
    benefit_total,
    generalized_entropy_from_counts,
    generalized_entropy_from_stream,
    generalized_entropy_index,
)
from airflow_provider_clarify.engine.bias.groups import FacetEncoding, FacetEntry
from airflow_provider_clarify.engine.bias.inputs import EntryInputs, SubgroupCounts
from airflow_provider_clarify.engine.bias.notices import POST_TRAINING, PRE_TRAINING, BiasWarnings
from airflow_provider_clarify.engine.bias.preparation import (
    FacetSpec,
    Preparation,
    prepare,
    small_binary_hint,
)
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
    counts_sink: Callable[[Preparation, DatasetCounts], None] | None = None,
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
    :param reject_degenerate_inputs: raise instead of reporting numbers when no label row is positive,
        a facet value matches no row, or a threshold meets a numeric column made text by a few text
        cells (smclarify reports numbers/per-metric errors; ``False`` reproduces that, with a
        warning in the section's ``warnings`` list, see :mod:`.notices`).
    :param flip_test_non_numeric: ``"ignore"`` (FT uses the numeric feature columns) or ``"error"``
        (smclarify: any non-numeric feature makes FT fail).
    :param counts_sink: called once with the preparation and the group-count tables after counting
        (confidence intervals and other post-processing reuse them instead of reading the data again).
    :param profiler: / :param counter: replace the two streaming passes over ``batches`` (the first
        pass's profiling, :func:`~.counts.count_dataset`'s counting; same keyword arguments): the
        Spark backend runs them per partition and merges (``engine/spark/``).
    :returns: ``{"pre_training_bias_metrics": {...}, "post_training_bias_metrics": {...}}`` (requested
        stages only); values are Python floats (``inf`` for infinity) or the integer 0. A section
        has a ``"warnings"`` list (after ``label_value_or_threshold``) when something in it is
        surprising but Clarify's behaviour; each warning is also logged (:mod:`.notices`).
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
    warnings = BiasWarnings()
    for message in getattr(batches, "warnings", ()):  # the reader's, already logged by it
        warnings.add("dataset_read", message, log_it=False)

    prep = prepare(
        batches,
        facets=specs,
        label=label,
        label_values=label_values,
        predicted_label=predicted_label if post is not None else None,
        group_variable=group_variable,
        num_rows=num_rows,
        pre_training_first=pre is not None and post is not None,
        warnings=warnings,
        reject_degenerate_inputs=reject_degenerate_inputs,
        profiler=profiler,
        count_label_values=post is not None and "GE" in wanted and counter is None,
    )
    keep_benefits = post is not None and "GE" in wanted
    extra = {}
    if keep_benefits and counter is None:
        extra["benefit_sum"] = _benefit_stream(prep)
    counts = (counter or functools.partial(count_dataset, batches))(
        **extra,
        facets=prep.facets,
        label_rule=prep.label_rule,
        label=label,
        prediction_rule=prep.prediction_rule,
        predicted_label=predicted_label if post is not None else None,
        group=prep.group,
        keep_benefits=keep_benefits,
        flip_test="FT" in wanted and post is not None,
        flip_test_columns=[c for c in features if c not in (label, predicted_label)],
    )
    total = ConfusionCounts.from_matrix(_total(counts))
    if post is not None and total.pred_pos == 0:
        raise BiasAnalysisError(_all_false_predictions_message(prep, original_label_values))
    if prep.deferred_error is not None:
        raise prep.deferred_error
    _check_degenerate(
        prep, counts, total, label, original_label_values, specs, warnings, reject_degenerate_inputs
    )

    if counts_sink is not None:
        counts_sink(prep, counts)
    report = _Report(prep, counts, total, flip_test_non_numeric, label, predicted_label, warnings)
    result: dict[str, Any] = {}
    for key, chosen in ((PRE_TRAINING, pre), (POST_TRAINING, post)):
        if chosen is None:
            continue
        result[key] = {
            "label": label,
            "facets": {spec.name: report.facet_entries(spec.name, chosen, key) for spec in specs},
            "label_value_or_threshold": prep.label_text,
        }
    for key, section in result.items():
        section_warnings = warnings.for_section(key)
        if section_warnings:
            section["warnings"] = section_warnings
    return result


def _benefit_stream(prep: Preparation) -> BenefitSum | None:
    """GE's streamed pairwise sum, when the first pass fixed ``N`` and ``μ`` (module doc of
    :mod:`.generalized_entropy`): the label and prediction columns' value counts under their rules."""
    if prep.prediction_rule is None or prep.prediction_profile is None:
        return None
    label_counts = prep.label_profile.value_counts()
    prediction_counts = prep.prediction_profile.value_counts()
    if label_counts is None or prediction_counts is None:
        return None
    try:
        label_positive = int(label_counts[1][prep.label_rule.select(label_counts[0])].sum())
        predicted_positive = int(
            prediction_counts[1][prep.prediction_rule.select(prediction_counts[0])].sum()
        )
    except (BiasAnalysisError, pa.ArrowException):
        return None  # the counting pass reports the failure
    n = prep.label_profile.rows
    return BenefitSum.start(benefit_total(n, label_positive, predicted_positive), n)


def _all_false_predictions_message(prep: Preparation, label_values: list) -> str:
    """smclarify's message, then why: a small binary column typed continuous, or the values."""
    profile = prep.prediction_profile
    hint = small_binary_hint(profile) if profile is not None else None
    if hint is not None:
        return (
            f"{ALL_FALSE_PREDICTIONS}: label_values_or_threshold {label_values!r} selects no predicted "
            f"label because {hint}."
        )
    return (
        f"{ALL_FALSE_PREDICTIONS}: no predicted label matches label_values_or_threshold {label_values!r}; "
        "the predictions must use the label's values (or scores above the threshold)."
    )


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


_PARITY_HINT = "Pass reject_degenerate_inputs=False to reproduce smclarify's numbers."


def _check_degenerate(
    prep: Preparation,
    counts: DatasetCounts,
    total: ConfusionCounts,
    label: str,
    label_values: list,
    specs: list[FacetSpec],
    warnings: BiasWarnings,
    reject: bool,
) -> None:
    """Inputs on which smclarify silently reports numbers or per-metric errors (docs/parity.md).

    With ``reject`` each is a :class:`BiasAnalysisError` naming the column, the value and the fix;
    without, the same text is a warning and smclarify's numbers are reported.
    """
    if total.label_pos == 0 and counts.rows:
        message = _no_positive_label_message(prep, label, label_values)
        if reject:
            raise BiasAnalysisError(f"{message} {_PARITY_HINT}")
        warnings.add("label_value_absent", message, column=label)
    elif isinstance(prep.label_rule, CategoricalRule) and len(label_values) > 1:
        _warn_absent_values(
            prep.label_profile, label_values, "label_values_or_threshold", "label_value_absent", warnings
        )
    for spec in specs:
        profile = prep.facet_profiles[spec.name]
        encoding = prep.facets[spec.name]
        values = spec.values or []
        if encoding.rule is None or not values or not counts.rows:
            continue
        field = f"facet '{spec.name}' value_or_threshold"
        if counts.tables[spec.name][1].sum() == 0:
            message = _empty_facet_message(spec, profile, encoding.rule)
            # a threshold at or above the maximum is a number chosen on purpose (and the metrics
            # say "Facet set is empty"): a warning; a category that never occurs is a typo
            if reject and isinstance(encoding.rule, CategoricalRule):
                raise BiasAnalysisError(f"{message} {_PARITY_HINT}")
            warnings.add("facet_value_absent", message, column=spec.name)
        elif isinstance(encoding.rule, CategoricalRule) and len(values) > 1:
            _warn_absent_values(profile, values, field, "facet_value_absent", warnings)


def _absent(profile: ColumnProfile, values: list) -> tuple[list, list]:
    """(values that occur in no row, the column's values) - from the distinct values seen."""
    occurring = profile.occurring_values()
    seen = {str(v) for v in occurring}
    as_numbers = {float(v) for v in occurring if isinstance(v, int | float) and not isinstance(v, bool)}
    absent = [
        v
        for v in values
        if str(v) not in seen
        and not (isinstance(v, int | float) and not isinstance(v, bool) and float(v) in as_numbers)
    ]
    return absent, occurring


def _spelling_hint(values: list, occurring: list) -> str:
    hints = [f"did you mean {s!r} for {v!r}?" for v in values if (s := did_you_mean(v, occurring))]
    if len(hints) == 1 and len(values) == 1:
        return " " + hints[0].split(" for ")[0] + "?"
    return (" " + " ".join(hints)) if hints else ""


def _warn_absent_values(
    profile: ColumnProfile, values: list, field: str, code: str, warnings: BiasWarnings
) -> None:
    """Some of several listed values occur in no row: the group is smaller than written."""
    if profile.distinct is None or profile.distinct.exceeded:
        return
    absent, occurring = _absent(profile, values)
    if absent:
        warnings.add(
            code,
            f"{field} {values!r}: {absent!r} occur(s) in no row of column '{profile.name}' (its values: "
            f"{values_text(occurring)}).{_spelling_hint(absent, occurring)} Values are compared exactly, "
            "case included.",
            column=profile.name,
        )


def _no_positive_label_message(prep: Preparation, label: str, label_values: list) -> str:
    profile = prep.label_profile
    if isinstance(prep.label_rule, ContinuousRule):
        hint = (
            f"no value of label column '{label}' is greater than the threshold "
            f"{prep.label_rule.threshold!r} (largest value: {profile.max_value!r})"
        )
        binary = small_binary_hint(profile)
        fix = (
            f"Because {binary}."
            if binary
            else "Give the positive label values as they appear in the data (a float 0/1 label with [1] "
            "is a threshold: use [0] or [0.5])."
        )
    else:
        occurring = profile.occurring_values()
        hint = (
            f"no value of label column '{label}' equals any of {label_values!r} (its values: "
            f"{values_text(occurring)})"
        )
        fix = (
            "Give the positive label values as they appear in the data (a float 0/1 label with [1] is a "
            f"threshold: use [0] or [0.5]).{_spelling_hint(label_values, occurring)}"
        )
    return f"label_values_or_threshold {label_values!r}: {hint}, so no row has a positive label. {fix}"


def _empty_facet_message(
    spec: FacetSpec, profile: ColumnProfile, rule: CategoricalRule | ContinuousRule
) -> str:
    values = spec.values or []
    field = f"facet '{spec.name}' value_or_threshold {values!r}"
    if isinstance(rule, ContinuousRule):
        binary = small_binary_hint(profile)
        why = f" Because {binary}." if binary else " Give a threshold below the largest value."
        return (
            f"{field}: no value of column '{spec.name}' is greater than the threshold {rule.threshold!r} "
            f"(largest value: {profile.max_value!r}), so the sensitive group is empty.{why}"
        )
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if numeric and profile.pandas_family is Family.STR:
        return (
            f"Facet '{spec.name}' is a string column but value_or_threshold {values!r} is numeric "
            "and matches no row: a threshold needs a numeric column. Give the facet's category "
            'values instead (e.g. ["female"]).'
        )
    occurring = profile.occurring_values()
    return (
        f"{field}: occurs in no row of column '{spec.name}', so the sensitive group is empty; the values "
        f"that occur are {values_text(occurring)}.{_spelling_hint(values, occurring)} Give the values "
        "exactly as they appear in the data (case included)."
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
        warnings: BiasWarnings | None = None,
    ) -> None:
        self.warnings = warnings
        self.prep = prep
        self.counts = counts
        self.total = total
        self.flip_test_non_numeric = flip_test_non_numeric
        self.excluded = {label, predicted_label}

    @functools.cached_property
    def _generalized_entropy(self) -> tuple[float | None, Exception | None]:
        try:
            if self.counts.benefit_sum is not None:
                assert self.counts.benefit_counts is not None
                _c0, c1, c2 = (int(c) for c in self.counts.benefit_counts)
                planned = getattr(self.counts.benefit_sum, "benefit_total", None)
                if planned is not None and c1 + 2 * c2 != planned:
                    raise BiasAnalysisError(
                        f"The dataset changed while it was read: GE's benefit total was {planned} in the "
                        f"first pass and {c1 + 2 * c2} in the second."
                    )
                return generalized_entropy_from_stream(self.counts.benefit_sum), None
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

    def facet_entries(self, facet: str, metrics: list[MetricSpec], section: str | None = None) -> list[dict]:
        encoding = self.prep.facets[facet]
        entries = []
        for entry in encoding.entries:
            inputs = self._inputs(facet, encoding, entry)
            computed = [self._metric(spec, inputs) for spec in metrics]
            self._warn_infinite(facet, entry.text, computed, inputs, section)
            entries.append({"value_or_threshold": entry.text, "metrics": computed})
        return entries

    @staticmethod
    def _metric(spec: MetricSpec, inputs: EntryInputs) -> dict:
        try:
            value = spec.compute(inputs)
        except Exception as exc:  # every metric failure becomes that metric's error entry
            return {"name": spec.name, "description": spec.description, "value": None, "error": str(exc)}
        return {"name": spec.name, "description": spec.description, "value": value}

    def _warn_infinite(
        self, facet: str, group: str, computed: list[dict], inputs: EntryInputs, section: str | None
    ) -> None:
        """An infinite metric (DCR "Infinity" for a one-row group) is Clarify's number, but a warning."""
        infinite = [m["name"] for m in computed if isinstance(m.get("value"), float) and np.isinf(m["value"])]
        if not infinite or self.warnings is None:
            return
        self.warnings.add(
            "infinite_metric",
            f"facet '{facet}' = {group!r}: {', '.join(infinite)} {'is' if len(infinite) == 1 else 'are'} "
            f'infinite (written "Infinity", as SageMaker Clarify does): a ratio divides by zero because '
            f"a group is tiny or has no rejected/accepted rows (sensitive group d: {inputs.d.n} rows, "
            f"the rest a: {inputs.a.n} rows). The metric says nothing reliable about such a group; "
            "add data or merge the group with another.",
            column=facet,
            section=section,
        )

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
            data.features, sensitive, self.counts.predictions, non_numeric=refuse, columns=columns
        )
