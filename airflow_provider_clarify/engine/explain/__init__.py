"""Explanations for the open engine: Kernel SHAP and partial dependence (the ``explanations`` block).

Entry point :func:`compute_explanations` (contract C). The runner resolves the dataset into a table of
feature columns in model-input order, builds a predictor, loads a baseline given by URI, and writes
what this returns under ``analysis.json``'s ``explanations`` key.

Exactness: when the coalition budget covers all ``2^M - 2`` coalitions, the SHAP values are the exact
Shapley values of the baseline-averaged game (equal to brute-force enumeration). Below that budget the
coalitions are sampled as Kernel SHAP does (see :mod:`.coalitions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["compute_explanations", "shap_importance", "write_shap_outputs"]


def compute_explanations(
    features: pa.Table,
    methods: dict,
    predictor: Any,
    *,
    baseline: pa.Table | None = None,
    label_headers: list[str] | None = None,
    output: Any = None,
    join_ids: Any = None,
    text_features: Sequence[str] | None = None,
    join_column: str | None = None,
    max_rows_per_call: int | None = None,
    shap_sink: Any = None,
    local_values_sink: Any = None,
) -> dict:
    """Compute the ``explanations`` block of analysis.json.

    :param features: feature columns only, in model-input order, one row per record.
    :param methods: the analysis_config ``methods`` block (uses ``shap`` and/or ``pdp``).
    :param predictor: a contract-C predictor (``predict(2-D array) -> ModelOutput``).
    :param baseline: a baseline table loaded from a URI (``methods.shap.baseline`` as a string);
        None -> inline rows from the config, or computed by clustering.
    :param label_headers: ``predictor.label_headers`` (output keys); default the model's headers or
        ``label0``, ``label1``...
    :param output: an ``OutputLocation``; receives ``explanations_shap/baseline.csv`` and, with
        ``save_local_shap_values``, ``explanations_shap/out.csv``.
    :param join_ids: one identifier per record (``joinsource_name_or_index`` values) for out.csv.
    :param text_features: names of free-text columns for ``text_config``; default: the string columns
        whose values mostly hold several words.
    :param join_column: header of the identifier column in out.csv (default ``joinsource``'s name or "id").
    :param max_rows_per_call: rows stacked into one ``predict`` call (default 1,000,000, fewer for wide
        feature matrices); the predictor may split a call further by its payload limit.
    :param shap_sink: called with the Kernel SHAP run (local values and all) once it is computed
        (confidence intervals of the global values reuse it; ``engine/explain_intervals.py``).
    :param local_values_sink: called with the text of ``explanations_shap/out.csv`` once it is written
        (the report draws its beeswarm from it without reading it back).
    :return: ``{"kernel_shap": {...}}`` and/or ``{"pdp": [...]}``.
    """
    from airflow_provider_clarify.engine.explain.explainer import ShapConfigError, run_kernel_shap
    from airflow_provider_clarify.engine.explain.model_calls import ModelCaller, table_to_matrix
    from airflow_provider_clarify.engine.explain.pdp import compute_pdp

    shap_config = methods.get("shap")
    pdp_config = methods.get("pdp")
    result: dict = {}
    if shap_config is None and pdp_config is None:
        return result
    limits = {"max_rows_per_call": max_rows_per_call} if max_rows_per_call else {}
    caller = ModelCaller(predictor, label_headers=label_headers, **limits)
    records = table_to_matrix(features)
    text_columns = _text_columns(features, records, shap_config or {}, text_features)

    importance = None
    if shap_config is not None:
        if not isinstance(shap_config, dict):
            raise ShapConfigError(f"methods.shap is {shap_config!r}; it must be an object.")
        run = run_kernel_shap(
            features, records, shap_config, caller, baseline_table=baseline, text_columns=text_columns
        )
        result["kernel_shap"] = run.kernel_shap_block()
        if shap_sink is not None:
            shap_sink(run)
        importance = shap_importance(run)
        if output is not None:
            write_shap_outputs(
                run,
                shap_config,
                output,
                join_ids=join_ids,
                join_column=join_column,
                local_values_sink=local_values_sink,
            )
    if pdp_config is not None:
        result["pdp"] = compute_pdp(
            features, records, pdp_config, caller, shap_importance=importance, text_columns=text_columns
        )
    return result


def shap_importance(run: Any) -> dict[str, float]:
    """Each feature's global SHAP value summed (in absolute value) over the outputs: PDP's ranking."""
    importance: dict[str, float] = {}
    for j in range(len(run.output_keys)):
        for name, value in run.global_values(j).items():
            importance[name] = importance.get(name, 0.0) + abs(value)
    return importance


def write_shap_outputs(
    run: Any,
    shap_config: dict,
    output: Any,
    *,
    join_ids: Any = None,
    join_column: str | None = None,
    local_values_sink: Any = None,
) -> None:
    """``explanations_shap/baseline.csv`` and, with ``save_local_shap_values``, ``out.csv``."""
    from airflow_provider_clarify.engine.explain.baseline import BASELINE_RELPATH, baseline_csv
    from airflow_provider_clarify.engine.explain.local_values import LOCAL_VALUES_RELPATH, local_values_csv

    output.write_text(BASELINE_RELPATH, baseline_csv(run.baseline))
    if shap_config.get("save_local_shap_values", False):
        text = local_values_csv(
            run.local,
            run.feature_names,
            run.output_keys,
            join_ids=_join_values(join_ids),
            join_column=join_column or _join_name(join_ids),
        )
        output.write_text(LOCAL_VALUES_RELPATH, text)
        if local_values_sink is not None:
            local_values_sink(text)


def _text_columns(
    features: Any, records: Any, shap_config: dict, text_features: Sequence[str] | None
) -> list[int]:
    from airflow_provider_clarify.engine.explain.explainer import ShapConfigError
    from airflow_provider_clarify.engine.explain.text import looks_like_free_text

    names = list(features.column_names)
    if not shap_config.get("text_config"):
        return []
    if text_features is not None:
        missing = [name for name in text_features if name not in names]
        if missing:
            raise ShapConfigError(
                f"text_features names {missing!r}, which are not feature columns ({names})."
            )
        return [names.index(name) for name in text_features]
    columns = [
        j
        for j in range(len(names))
        if records.dtype == object and looks_like_free_text(records[:, j].tolist())
    ]
    if not columns:
        raise ShapConfigError(
            "methods.shap.text_config is set but no feature column holds free text (strings of several "
            "words); remove text_config or check the dataset's text column."
        )
    return columns


def _join_values(join_ids: Any) -> list | None:
    if join_ids is None:
        return None
    if hasattr(join_ids, "num_columns"):  # a one-column table
        join_ids = join_ids.column(0)
    if hasattr(join_ids, "to_pylist"):
        return join_ids.to_pylist()
    return list(join_ids)


def _join_name(join_ids: Any) -> str | None:
    if hasattr(join_ids, "column_names") and join_ids.column_names:
        return str(join_ids.column_names[0])
    name = getattr(join_ids, "_name", None)
    return name if isinstance(name, str) else None
