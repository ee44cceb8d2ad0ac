"""First pass and whole-report validation: decide how each column turns into a boolean vector.

One streaming pass profiles the facet, label, predicted-label and group-variable columns
(:class:`~.columns.ColumnProfile`); then smclarify's rules (docs/bias-metrics.md, "From columns to groups") decide, per column, the type
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
    is_single_number,
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
from airflow_provider_clarify.engine.bias.notices import BiasWarnings

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
    prediction_profile: ColumnProfile | None = None


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


_KINDS = {Family.INT: "integers", Family.FLOAT: "numbers", Family.STR: "text", Family.BOOL: "booleans"}


def column_kind(profile: ColumnProfile) -> str:
    """What a column holds, in words ("integers", "text", ...), for messages."""
    return _KINDS[profile.pandas_family]


def categorical_rule(
    profile: ColumnProfile,
    values: list,
    *,
    on_failure: Callable[[Exception], BiasAnalysisError],
    warnings: BiasWarnings | None = None,
    field: str = "value_or_threshold",
) -> CategoricalRule:
    """Match ``values``; when nothing matches, retype them like the column's first element
    (see docs/bias-metrics.md, "From columns to groups").

    A number that the retyping changes (``0.5`` -> ``0`` on an integer column, as smclarify does)
    is reported as a ``value_converted`` warning: the group measured is not the one written.
    """
    family = profile.family or Family.STR
    chosen = values
    if not profile.any_match:
        try:
            chosen = convert_values(values, profile)
        except Exception as exc:
            raise on_failure(exc) from None
        changed = [
            (given, used)
            for given, used in zip(values, chosen, strict=True)
            if is_single_number([given]) and is_single_number([used]) and float(given) != float(used)
        ]
        if changed and warnings is not None:
            pairs = ", ".join(f"{given!r} -> {used!r}" for given, used in changed)
            warnings.add(
                "value_converted",
                f"{field} {values!r}: no row of column '{profile.name}' equals the value as given, so, "
                f"like SageMaker Clarify, the engine converted it to the column's type ({pairs}) and "
                f"measures the rows equal to {[used for _, used in changed]!r}. Give the value as it "
                "appears in the column (for a 0/1 label, [1] for the positive class).",
                column=profile.name,
            )
    return CategoricalRule(family, match_value_set(chosen, family))


def _label_conversion_failure(profile: ColumnProfile, values: list, exc: Exception) -> BiasAnalysisError:
    example = profile.first_value
    return BiasAnalysisError(
        f"label_values_or_threshold {values!r}: label column '{profile.name}' holds {column_kind(profile)} "
        f"(e.g. {example!r}) and {values!r} is not among its values. Give the positive label value(s) as "
        f"they appear in the column, e.g. [{example!r}]. (smclarify fails here with: {exc})"
    )


def small_binary_hint(profile: ColumnProfile) -> str | None:
    """Why a column with at most two values is continuous: 40 rows or fewer (5 % uniqueness rule)."""
    if not profile.max_is_integer() or profile.non_null > 40:
        return None
    values = profile.occurring_values()
    if not values or len(values) > 2:
        return None
    return (
        f"column '{profile.name}' has only the values {sorted(values)!r} but {profile.non_null} rows; on 40 "
        f"rows or fewer SageMaker Clarify types such a column as continuous ({len(values)} distinct / "
        f"{profile.non_null} rows >= 5 %), so a single value t is a threshold (value > t). Give [0] to "
        "select the rows of 1, list the value twice (e.g. [1, 1]) to compare by equality, or use more rows"
    )


def _warn_small_binary(
    profile: ColumnProfile, field: str, values: list, warnings: BiasWarnings | None
) -> None:
    hint = small_binary_hint(profile)
    if hint is not None and warnings is not None:
        warnings.add("small_binary_continuous", f"{field} {values!r}: {hint}.", column=profile.name)


def label_rule(
    profile: ColumnProfile, values: list, warnings: BiasWarnings | None = None
) -> tuple[Rule, str, ColumnType]:
    """Positive-label rule and ``label_value_or_threshold`` text (docs/bias-metrics.md).

    ``values`` is updated in place like smclarify's (a continuous threshold given as text becomes float).
    """
    column_type = detect_type(profile, values)
    if column_type is ColumnType.CONTINUOUS:
        threshold = numeric_threshold(
            values,
            f"label_values_or_threshold {values!r}: label column '{profile.name}' holds "
            f"{column_kind(profile)} and is continuous, so its single value must be a number (a threshold: "
            "values above it are positive). Give a number, or list the positive values.",
        )
        _warn_small_binary(profile, "label_values_or_threshold", list(values), warnings)
        values[0] = threshold
        text = interval_text(threshold, profile.max_value, profile.max_is_integer())
        return (
            ContinuousRule(profile.family or Family.FLOAT, threshold, column=profile.name),
            text,
            column_type,
        )
    rule = categorical_rule(
        profile,
        values,
        on_failure=lambda exc: _label_conversion_failure(profile, list(values), exc),
        warnings=warnings,
        field="label_values_or_threshold",
    )
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


def _facet_threshold_fix(spec: FacetSpec, profile: ColumnProfile) -> str:
    return (
        f"facet '{spec.name}' value_or_threshold {spec.values!r}: column '{spec.name}' holds "
        f"{column_kind(profile)} and is continuous, so its single value must be a number (a threshold: "
        "values above it form the sensitive group). Give a number, or list the values of the group."
    )


def facet_encoding(
    spec: FacetSpec, profile: ColumnProfile, warnings: BiasWarnings | None = None
) -> FacetEncoding:
    """Entries of one facet (docs/bias-metrics.md, "Facet groups")."""
    values = spec.values
    column_type = detect_type(profile, values)
    if column_type is ColumnType.CONTINUOUS:
        threshold = numeric_threshold(values, _facet_threshold_fix(spec, profile))
        if threshold is None:
            raise BiasAnalysisError(THRESHOLD_REQUIRED)
        assert values is not None
        _warn_small_binary(profile, f"facet '{spec.name}' value_or_threshold", list(values), warnings)
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

    rule = categorical_rule(
        profile,
        values,
        on_failure=failure,
        warnings=warnings,
        field=f"facet '{spec.name}' value_or_threshold",
    )
    return selection(spec.name, ",".join(map(str, values)), rule)


def check_text_cells(
    profile: ColumnProfile,
    values: list | None,
    field: str,
    warnings: BiasWarnings | None,
    reject: bool,
) -> None:
    """A single number given for a column that a few text cells made text (``"thirty"`` in ``age``).

    pandas, hence SageMaker Clarify, reads such a column as text, and the number is then matched as
    a category (``"40"``) instead of being a threshold: the report is computed, for the wrong group.
    """
    if not is_single_number(values) or profile.family is not Family.STR or profile.first_text is None:
        return
    if profile.number_cells == 0 or profile.text_cells >= profile.number_cells:
        return
    assert values is not None
    row, cell = profile.first_text
    message = (
        f"{field} {values!r}: column '{profile.name}' holds numbers except {profile.text_cells} text "
        f"cell(s), the first {cell!r} in data row {row + 1} (1-based, header not counted), so the column "
        f"is read as text, as SageMaker Clarify reads it, and {values[0]!r} is compared as the category "
        f"{str(values[0])!r} instead of being a threshold. Fix or empty the cell (an empty cell is a "
        f'missing value), or give the value as text (["{values[0]}"]) to compare categories.'
    )
    if reject:
        raise BiasAnalysisError(
            f"{message} Pass reject_degenerate_inputs=False to reproduce the container's numbers."
        )
    if warnings is not None:
        warnings.add("text_in_numeric_column", message, column=profile.name)


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
    warnings: BiasWarnings | None = None,
    reject_degenerate_inputs: bool = True,
    profiler: Callable[[dict[str, list[ColumnProfile]]], None] | None = None,
    count_label_values: bool = False,
) -> Preparation:
    """Profile the columns in one pass and build every rule; raises whole-report failures.

    ``pre_training_first``: both stages are requested; the pre-training report (which never looks
    at predictions) runs first, so its facet-group failures win over prediction failures.
    ``warnings`` collects what is surprising but smclarify's behaviour; with
    ``reject_degenerate_inputs`` a numeric column made text by a few text cells fails the report
    (otherwise it is a warning and smclarify's numbers are computed).
    ``profiler``: fills the fresh profiles instead of :func:`profile_columns` over ``batches`` (the
    Spark backend profiles partitions and merges them, ``engine/spark/partials.py``).
    ``count_label_values``: the label and prediction profiles also keep value counts (GE's mean,
    see :mod:`.generalized_entropy`).
    """
    profiles: dict[str, list[ColumnProfile]] = {}
    facet_profiles: dict[str, ColumnProfile] = {}
    for spec in facets:
        profile = ColumnProfile(
            spec.name,
            values=spec.values,
            distinct_limit=distinct_limit(spec.values, num_rows),
            probe_numbers=is_single_number(spec.values),
        )
        facet_profiles[spec.name] = profile
        profiles.setdefault(spec.name, []).append(profile)
    label_profile = ColumnProfile(
        label,
        values=label_values,
        distinct_limit=distinct_limit(label_values, num_rows),
        probe_numbers=is_single_number(label_values),
        count_values=count_label_values and profiler is None,
    )
    profiles.setdefault(label, []).append(label_profile)
    prediction_profile = None
    if predicted_label is not None:
        prediction_profile = ColumnProfile(
            predicted_label,
            values=label_values,
            distinct_limit=distinct_limit(label_values, num_rows),
            count_values=count_label_values and profiler is None,
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

    for spec in facets:
        check_text_cells(
            facet_profiles[spec.name],
            spec.values,
            f"facet '{spec.name}' value_or_threshold",
            warnings,
            reject_degenerate_inputs,
        )
    check_text_cells(
        label_profile, label_values, "label_values_or_threshold", warnings, reject_degenerate_inputs
    )
    # smclarify's order: facet type, label, predicted label, then the facet groups.
    for spec in facets:
        profile = facet_profiles[spec.name]
        if detect_type(profile, spec.values) is ColumnType.CONTINUOUS and spec.values:
            numeric_threshold(spec.values, _facet_threshold_fix(spec, profile))
    rule, text, label_type = label_rule(label_profile, label_values, warnings)
    encodings: dict[str, FacetEncoding] = {}
    deferred: BiasAnalysisError | None = None
    if pre_training_first:
        # the pre-training report runs first and fails on its facet groups before predictions count
        encodings = {spec.name: facet_encoding(spec, facet_profiles[spec.name], warnings) for spec in facets}
    pred_rule = None
    if prediction_profile is not None:
        pred_rule = prediction_rule(prediction_profile, label_profile, label_values, label_type)
    for spec in facets if not pre_training_first else ():
        try:
            encodings[spec.name] = facet_encoding(spec, facet_profiles[spec.name], warnings)
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
        prediction_profile=prediction_profile,
    )
