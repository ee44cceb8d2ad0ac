"""First pass and whole-report validation: decide how each column turns into a boolean vector.

One streaming pass profiles the facet, label, predicted-label and group-variable columns
(:class:`~.columns.ColumnProfile`); then smclarify's rules (spec §2) decide, per column, the type
(categorical/continuous), the values actually matched or the threshold, and the reported text. All
whole-report failures smclarify raises at this stage are raised here, in smclarify's order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from airflow_provider_clarify.engine.bias.columns import (
    THRESHOLD_REQUIRED,
    CategoricalRule,
    ColumnProfile,
    ColumnType,
    ContinuousRule,
    Family,
    convert_values,
    detect_type,
    interval_text,
    match_value_set,
    numeric_threshold,
)
from airflow_provider_clarify.engine.bias.counts import batch_column, stream
from airflow_provider_clarify.engine.bias.errors import BiasAnalysisError
from airflow_provider_clarify.engine.bias.groups import (
    FacetEncoding,
    GroupEncoding,
    group_encoding,
    one_vs_rest,
    selection,
)

Rule = CategoricalRule | ContinuousRule

PREDICTED_TYPE_MISMATCH = "Predicted Label Column series datatype is not the same as Label Column series"


@dataclass
class FacetSpec:
    """A configured facet: column name and ``value_or_threshold`` (``None``/empty: one-vs-rest)."""

    name: str
    values: list | None


@dataclass
class Preparation:
    """Result of the first pass: encodings and rules for the counting pass."""

    facets: dict[str, FacetEncoding]
    facet_profiles: dict[str, ColumnProfile]
    label_rule: Rule
    label_text: str
    label_profile: ColumnProfile
    prediction_rule: Rule | None
    group: GroupEncoding | None
    deferred_error: BiasAnalysisError | None = None


def profile_columns(
    batches: Callable[[Sequence[str]], Iterable[pa.RecordBatch]],
    profiles: dict[str, list[ColumnProfile]],
) -> None:
    """Stream the named columns once and fold every batch into each column's profiles."""
    for batch in stream(batches, list(profiles)):
        if batch.num_rows == 0:
            continue
        for name, column_profiles in profiles.items():
            column = batch_column(batch, name)
            for profile in column_profiles:
                profile.update(column)


def distinct_limit(values: list | None, num_rows: int | None) -> int | None:
    """Distinct values beyond which a single-threshold column is certainly continuous (bounds memory)."""
    if num_rows is None or not values or len(values) > 1:
        return None
    return max(1, math.ceil(0.05 * num_rows))


def categorical_rule(
    profile: ColumnProfile, values: list, *, on_failure: Callable[[Exception], BiasAnalysisError]
) -> CategoricalRule:
    """Match ``values``; when nothing matches, retype them like the column's first element (spec §2.2)."""
    family = profile.family or Family.STR
    chosen = values
    if not profile.any_match:
        try:
            chosen = convert_values(values, profile)
        except Exception as exc:
            raise on_failure(exc) from None
    return CategoricalRule(family, match_value_set(chosen, family))


def label_rule(profile: ColumnProfile, values: list) -> tuple[Rule, str, ColumnType]:
    """Positive-label rule and ``label_value_or_threshold`` text (spec §2.5).

    ``values`` is updated in place like smclarify's (a continuous threshold given as text becomes float).
    """
    column_type = detect_type(profile, values)
    if column_type is ColumnType.CONTINUOUS:
        threshold = numeric_threshold(values)
        values[0] = threshold
        text = interval_text(threshold, profile.max_value, profile.max_is_integer())
        return (
            ContinuousRule(profile.family or Family.FLOAT, threshold, column=profile.name),
            text,
            column_type,
        )
    rule = categorical_rule(profile, values, on_failure=lambda exc: BiasAnalysisError(str(exc)))
    return rule, ",".join(map(str, values)), column_type


def prediction_rule(
    profile: ColumnProfile, label_profile: ColumnProfile, values: list, label_type: ColumnType
) -> Rule:
    """Positive-prediction rule: the label's values/threshold applied to the predicted column."""
    column_type = detect_type(profile, values)
    if column_type is not label_type:
        raise BiasAnalysisError(PREDICTED_TYPE_MISMATCH)
    if column_type is ColumnType.CONTINUOUS:
        threshold = numeric_threshold(values)
        label_is_int = label_profile.max_is_integer()
        truncate = label_is_int and profile.pandas_family is Family.FLOAT
        return ContinuousRule(
            profile.family or Family.FLOAT, threshold, truncate_to_int=truncate, column=profile.name
        )
    return categorical_rule(profile, values, on_failure=lambda exc: BiasAnalysisError(str(exc)))


def facet_encoding(spec: FacetSpec, profile: ColumnProfile) -> FacetEncoding:
    """Entries of one facet (spec §2.4)."""
    values = spec.values
    column_type = detect_type(profile, values)
    if column_type is ColumnType.CONTINUOUS:
        threshold = numeric_threshold(values)
        if threshold is None:
            raise BiasAnalysisError(THRESHOLD_REQUIRED)
        assert values is not None
        values[0] = threshold
        text = interval_text(threshold, profile.max_value, profile.max_is_integer())
        return selection(spec.name, text, ContinuousRule(profile.family or Family.FLOAT, threshold))
    if not values:
        return one_vs_rest(profile)

    def failure(exc: Exception) -> BiasAnalysisError:
        return BiasAnalysisError(
            f"Facet '{spec.name}': value_or_threshold {values!r} cannot be compared with the column's "
            f"values ({exc}). Give values of the column's type (the column's first value is "
            f"{profile.first_value!r}). smclarify fails the whole report here with an UnboundLocalError."
        )

    rule = categorical_rule(profile, values, on_failure=failure)
    return selection(spec.name, ",".join(map(str, values)), rule)


def mixed_type_sort_error(
    batches: Callable[[Sequence[str]], Iterable[pa.RecordBatch]], column: str
) -> str | None:
    """The exact ``TypeError`` text of ``numpy.unique`` over the whole group column, in row order.

    smclarify sorts the group variable as pandas holds it (an object array where missing strings
    are float NaN); which operands numpy compares first, hence the wording
    (``'<' not supported between instances of 'str' and 'float'`` or its mirror image), depends on
    every value in row order. Only called when the distinct values already showed the sort fails.
    """
    values: list = []
    for batch in batches([column]):
        values.extend(float("nan") if v is None else v for v in batch.column(0).to_pylist())
    try:
        np.unique(np.array(values, dtype=object))
    except TypeError as exc:
        return str(exc)
    return None


def prepare(
    batches: Callable[[Sequence[str]], Iterable[pa.RecordBatch]],
    *,
    facets: list[FacetSpec],
    label: str,
    label_values: list,
    predicted_label: str | None,
    group_variable: str | None,
    num_rows: int | None,
    pre_training_first: bool = False,
    profiler: Callable[[dict[str, list[ColumnProfile]]], None] | None = None,
) -> Preparation:
    """Profile the columns in one pass and build every rule; raises whole-report failures.

    ``pre_training_first``: both stages are requested; the pre-training report (which never looks
    at predictions) runs first, so its facet-group failures win over prediction failures.
    ``profiler``: fills the fresh profiles instead of :func:`profile_columns` over ``batches`` (the
    Spark backend profiles partitions and merges them, ``engine/spark/partials.py``).
    """
    profiles: dict[str, list[ColumnProfile]] = {}
    facet_profiles: dict[str, ColumnProfile] = {}
    for spec in facets:
        profile = ColumnProfile(
            spec.name, values=spec.values, distinct_limit=distinct_limit(spec.values, num_rows)
        )
        facet_profiles[spec.name] = profile
        profiles.setdefault(spec.name, []).append(profile)
    label_profile = ColumnProfile(
        label, values=label_values, distinct_limit=distinct_limit(label_values, num_rows)
    )
    profiles.setdefault(label, []).append(label_profile)
    prediction_profile = None
    if predicted_label is not None:
        prediction_profile = ColumnProfile(
            predicted_label, values=label_values, distinct_limit=distinct_limit(label_values, num_rows)
        )
        profiles.setdefault(predicted_label, []).append(prediction_profile)
    group_profile = None
    if group_variable is not None:
        group_profile = ColumnProfile(group_variable, distinct_for_floats=True)
        profiles.setdefault(group_variable, []).append(group_profile)

    if profiler is not None:
        profiler(profiles)
    else:
        profile_columns(batches, profiles)
    for column_profiles in profiles.values():
        for profile in column_profiles:
            profile.finish()
            if num_rows is not None and profile.rows > num_rows and profile.distinct_limit is not None:
                raise BiasAnalysisError(
                    f"num_rows={num_rows} is smaller than the {profile.rows} rows read; pass the exact count"
                )

    # smclarify's order: facet type, label, predicted label, then the facet groups.
    for spec in facets:
        if detect_type(facet_profiles[spec.name], spec.values) is ColumnType.CONTINUOUS and spec.values:
            numeric_threshold(spec.values)
    rule, text, label_type = label_rule(label_profile, label_values)
    encodings: dict[str, FacetEncoding] = {}
    deferred: BiasAnalysisError | None = None
    if pre_training_first:
        # the pre-training report runs first and fails on its facet groups before predictions count
        encodings = {spec.name: facet_encoding(spec, facet_profiles[spec.name]) for spec in facets}
    pred_rule = None
    if prediction_profile is not None:
        pred_rule = prediction_rule(prediction_profile, label_profile, label_values, label_type)
    for spec in facets if not pre_training_first else ():
        try:
            encodings[spec.name] = facet_encoding(spec, facet_profiles[spec.name])
        except BiasAnalysisError as exc:
            # smclarify raises facet-group errors only after checking the predictions (which needs
            # the counting pass): count with an empty facet and raise afterwards.
            deferred = deferred or exc
            family = facet_profiles[spec.name].family or Family.STR
            encodings[spec.name] = selection(
                spec.name, "", CategoricalRule(family, match_value_set([], family))
            )
    group = group_encoding(group_profile) if group_profile is not None else None
    if group is not None and group.error is not None:
        group.error = mixed_type_sort_error(batches, group.column) or group.error
    return Preparation(
        facets=encodings,
        facet_profiles=facet_profiles,
        label_rule=rule,
        label_text=text,
        label_profile=label_profile,
        prediction_rule=pred_rule,
        group=group,
        deferred_error=deferred,
    )
