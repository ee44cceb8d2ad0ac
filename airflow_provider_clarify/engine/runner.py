"""``run_analysis``: analysis_config + dataset -> ``analysis.json`` (and ``report.html``).

The steps mirror the Clarify container:

1. read and validate the analysis_config;
2. open the dataset (and the facet / predicted-label datasets, joined on ``joinsource_name_or_index``
   or side by side), resolve every name or index to a column;
3. obtain predicted labels for post-training bias: a dataset column, or a model through a predictor
   (scores become labels with ``probability_threshold``: score > threshold -> 1, otherwise 0;
   several scores -> the ``label_headers`` entry of the highest score);
4. compute the bias sections (``engine.bias``) and the explanations (``engine.explain``);
5. write the report, then ``analysis.json`` last, each atomically.

The bias and explanation modules are imported only when their methods are requested.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_clarify.analysis.capabilities import engine_problems
from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.model_source import ModelSource
from airflow_provider_clarify.engine import datasets, io
from airflow_provider_clarify.engine.errors import EngineConfigError
from airflow_provider_clarify.engine.output import dumps_analysis, write_analysis
from airflow_provider_clarify.engine.predictors import (
    ModelOutput,
    ModelOutputError,
    Predictor,
    PredictorError,
    predictor_for_source,
    predictor_from_config,
)
from airflow_provider_clarify.engine.uncertainty import (
    AuditExtras,
    remove_stale_sidecars,
    report_sections,
    write_sidecars,
)

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

log = logging.getLogger(__name__)

DEFAULT_PROBABILITY_THRESHOLD = 0.5
#: Rows handed to the predictor per ``predict`` call when predicting labels for bias.
PREDICTION_BATCH_ROWS = 100_000
PREDICTED_LABEL_COLUMN = "predicted_label"
BIAS_METHODS = ("pre_training_bias", "post_training_bias")
EXPLAIN_METHODS = ("shap", "pdp")


# --------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------


def load_config(analysis_config: Any, storage_options: dict | None = None) -> dict:
    """The analysis_config as a dict: from a dict, an ``AnalysisConfig`` (``to_dict()``), JSON text,
    or a path / URI of a JSON file."""
    if isinstance(analysis_config, dict):
        return analysis_config
    if hasattr(analysis_config, "to_dict"):
        return analysis_config.to_dict()
    if isinstance(analysis_config, bytes):
        analysis_config = analysis_config.decode("utf-8")
    if not isinstance(analysis_config, str):
        raise ClarifyConfigError(
            f"analysis_config must be a dict, an AnalysisConfig, JSON text or a file path/URI, got "
            f"{type(analysis_config).__name__}.",
            field="analysis_config",
            value=analysis_config,
        )
    text = analysis_config
    source = "the analysis_config text"
    if not text.lstrip().startswith("{"):
        source = text
        text = io.read_bytes(text, storage_options).decode("utf-8")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ClarifyConfigError(
            f"Unable to load analysis configuration as JSON ({source}): {exc}",
            field="analysis_config",
            value=source,
        ) from exc
    if not isinstance(config, dict):
        raise ClarifyConfigError(
            f"The analysis configuration must be a JSON object, got {type(config).__name__}.",
            field="analysis_config",
        )
    return config


def validate_config(config: dict, *, schema_checked: bool = False) -> None:
    """Schema checks of the provider's validator (when present), then the engine's own needs.

    ``schema_checked``: the caller already ran ``validate_analysis_config`` on this dict, so the
    schema checks (and importing jsonschema) are skipped.
    """
    if not schema_checked:
        _validate_schema(config)
    _validate_engine_needs(config)


def _validate_schema(config: dict) -> None:
    try:
        from airflow_provider_clarify.analysis.schema import validate_analysis_config
    except ModuleNotFoundError as exc:  # the validator is optional for the engine
        if exc.name != "airflow_provider_clarify.analysis.schema":
            raise
    else:
        validate_analysis_config(config)


def _validate_engine_needs(config: dict) -> None:
    if "methods" not in config or not isinstance(config["methods"], dict):
        raise ClarifyConfigError(
            "analysis_config field 'methods' is required (an object naming the analyses to run).",
            field="methods",
            value=config.get("methods"),
        )
    if "dataset_type" not in config:
        raise ClarifyConfigError(
            "analysis_config field 'dataset_type' is required, e.g. \"text/csv\".", field="dataset_type"
        )
    methods = config["methods"]
    if not any(m in methods for m in (*BIAS_METHODS, *EXPLAIN_METHODS)):
        raise ClarifyConfigError(
            "analysis_config 'methods' requests nothing the engine computes; add pre_training_bias, "
            "post_training_bias, shap or pdp.",
            field="methods",
            value=sorted(methods),
        )
    problems = engine_problems(config)  # the one rule, shared with preflight and local compute
    if problems:
        path, message = problems[0]
        raise EngineConfigError(f"analysis_config {path}: {message}", field=path, problems=problems)


def _listify(value: Any) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


def _predictor_block(config: dict) -> dict:
    """The config's ``predictor`` object, or an empty dict when it is absent or not an object."""
    block = config.get("predictor")
    return block if isinstance(block, dict) else {}


# --------------------------------------------------------------------------------------------------
# Plan: every name resolved
# --------------------------------------------------------------------------------------------------


@dataclass
class ResolvedAnalysis:
    """The dataset and every config name resolved to a column of it."""

    data: datasets.TabularData
    dataset_type: str
    label: str | None
    predicted_label: str | None
    facets: list[dict]
    group_variable: str | None
    feature_columns: list[str]
    joinsource: str | None
    extra: dict = field(default_factory=dict)


def _resolve_facets(config: dict, names: Sequence[str], where: str) -> list[dict]:
    facets = []
    for i, facet in enumerate(config.get("facet") or []):
        if not isinstance(facet, dict) or "name_or_index" not in facet:
            raise ClarifyConfigError(
                f"analysis_config facet[{i}] must be an object with 'name_or_index', got {facet!r}.",
                field=f"facet[{i}]",
                value=facet,
            )
        name = datasets.resolve_column(
            facet["name_or_index"], names, f"facet[{i}].name_or_index", where=where
        )
        entry: dict[str, Any] = {"name_or_index": name}
        if facet.get("value_or_threshold") is not None:
            entry["value_or_threshold"] = _listify(facet["value_or_threshold"])
        facets.append(entry)
    return facets


def resolve_analysis(config: dict, dataset_uri: str, storage_options: dict | None) -> ResolvedAnalysis:
    """Open the dataset(s) and resolve label, predicted label, facets, group variable and features."""
    dataset_type = str(config["dataset_type"]).lower()
    json_like = dataset_type in (datasets.JSONLINES, datasets.JSON)
    has_pl_dataset = bool(config.get("predicted_label_dataset_uri"))
    has_facet_dataset = bool(config.get("facet_dataset_uri"))
    if (has_pl_dataset or has_facet_dataset) and dataset_type != datasets.CSV:
        raise ClarifyConfigError(
            "facet_dataset_uri and predicted_label_dataset_uri are supported for dataset_type text/csv only.",
            field="facet_dataset_uri" if has_facet_dataset else "predicted_label_dataset_uri",
            value=dataset_type,
        )
    loaded = datasets.load_dataset(
        dataset_uri,
        dataset_type,
        headers=config.get("headers"),
        features=config.get("features"),
        label=config.get("label") if json_like else None,
        predicted_label=config.get("predicted_label") if json_like and not has_pl_dataset else None,
        storage_options=storage_options,
    )
    main_names = list(loaded.column_names)

    def in_main(value: Any, field_name: str) -> str:
        return datasets.resolve_column(value, main_names, field_name, where=f"the dataset {dataset_uri!r}")

    label = None
    if config.get("label") is not None:
        label = loaded.label_column if json_like else in_main(config["label"], "label")
    joinsource = None
    if config.get("joinsource_name_or_index") is not None:
        joinsource = in_main(config["joinsource_name_or_index"], "joinsource_name_or_index")
    excluded = [
        in_main(c, f"excluded_columns[{i}]") for i, c in enumerate(config.get("excluded_columns") or [])
    ]

    data: datasets.TabularData = loaded.data
    predicted_label = None
    if has_pl_dataset:
        side, where = _side_dataset(config, "predicted_label", "predicted-label", storage_options)
        predicted_label = datasets.resolve_column(
            config.get("predicted_label", PREDICTED_LABEL_COLUMN),
            side.column_names,
            "predicted_label",
            where=where,
        )
        side_join = _side_join(config, joinsource, side.column_names, where)
        data = datasets.join_columns(
            data,
            side.data,
            [predicted_label],
            join_main=joinsource,
            join_side=side_join,
            what="predicted-label",
        )
    elif config.get("predicted_label") is not None:
        predicted_label = (
            loaded.predicted_label_column
            if json_like
            else in_main(config["predicted_label"], "predicted_label")
        )

    if has_facet_dataset:
        side, where = _side_dataset(config, "facet", "facet", storage_options)
        facets = _resolve_facets(config, side.column_names, where)
        wanted = [f["name_or_index"] for f in facets]
        group = config.get("group_variable")
        if isinstance(group, str) and group in side.column_names and group not in main_names:
            wanted.append(group)
        side_join = _side_join(config, joinsource, side.column_names, where)
        wanted = [c for c in dict.fromkeys(wanted) if c != side_join]
        data = datasets.join_columns(
            data, side.data, wanted, join_main=joinsource, join_side=side_join, what="facet"
        )
    else:
        facets = _resolve_facets(config, main_names, f"the dataset {dataset_uri!r}")

    group_variable = None
    if config.get("group_variable") is not None:
        group_variable = datasets.resolve_column(
            config["group_variable"], data.column_names, "group_variable", where="the dataset"
        )
    not_features = {label, predicted_label, joinsource, *excluded}
    feature_columns = [c for c in main_names if c not in not_features]
    return ResolvedAnalysis(
        data, dataset_type, label, predicted_label, facets, group_variable, feature_columns, joinsource
    )


def _side_dataset(
    config: dict, prefix: str, description: str, storage_options: dict | None
) -> tuple[datasets.LoadedDataset, str]:
    """The CSV side dataset ``<prefix>_dataset_uri`` (columns ``<prefix>_headers``), and its name in errors."""
    uri = config[f"{prefix}_dataset_uri"]
    side = datasets.load_dataset(
        uri, datasets.CSV, headers=config.get(f"{prefix}_headers"), storage_options=storage_options
    )
    return side, f"the {description} dataset {uri!r}"


def _side_join(config: dict, joinsource: str | None, side_names: Sequence[str], where: str) -> str | None:
    if joinsource is None:
        return None
    value = config["joinsource_name_or_index"]
    if isinstance(value, int) and not isinstance(value, bool):
        return datasets.resolve_column(value, side_names, "joinsource_name_or_index", where=where)
    return datasets.resolve_column(joinsource, side_names, "joinsource_name_or_index", where=where)


# --------------------------------------------------------------------------------------------------
# Predictions
# --------------------------------------------------------------------------------------------------


def build_predictor(
    model: Any,
    config: dict,
    *,
    feature_names: Sequence[str],
    storage_options: dict | None,
    endpoint_url: str | None,
) -> Predictor:
    """The predictor of ``model`` (see :func:`run_analysis`), else of the config's ``predictor`` block."""
    block = _predictor_block(config)
    common = {
        "dataset_type": config.get("dataset_type"),
        "feature_names": feature_names,
        "storage_options": storage_options,
        "endpoint_url": endpoint_url,
    }
    if model is not None and not isinstance(model, ModelSource | str | dict) and hasattr(model, "predict"):
        source = ModelSource.from_callable(model, field_name="model")  # an engine Predictor or an estimator
    else:
        source = ModelSource.parse(model, field_name="model")
    if source is None:
        return predictor_from_config(block, **common)
    return predictor_for_source(source, block, **common)


def predicted_labels(
    model_output: ModelOutput, *, threshold: float, label_headers: Sequence | None, rows: int
) -> np.ndarray:
    """Predicted labels for bias (see ``docs/bias-metrics.md``, "Predicted labels").

    Labels returned by the model are used as they are. One score per record: ``score > threshold``
    -> 1, else 0. Several scores: the ``label_headers`` entry of the highest score (first maximum),
    or its index without headers.
    """
    import numpy as np

    if len(model_output) != rows:
        raise PredictorError(
            f"The model returned {len(model_output)} predictions for {rows} records; it must return exactly "
            "one per record."
        )
    if model_output.labels is not None:
        return np.asarray(model_output.labels)
    scores = model_output.scores
    if scores is None:
        raise PredictorError("The model returned neither labels nor scores.")
    if scores.shape[1] == 1:
        return (scores[:, 0] > threshold).astype(np.int64)
    best = np.argmax(scores, axis=1)
    headers = list(label_headers) if label_headers else model_output.label_headers
    if not headers:
        return best.astype(np.int64)
    if len(headers) != scores.shape[1]:
        raise PredictorError(
            f"predictor.label_headers has {len(headers)} entries {list(headers)!r} but the model returns "
            f"{scores.shape[1]} scores per record; give one header per score."
        )
    return np.asarray(list(headers), dtype=object)[best]


def _labels_to_arrow(labels: np.ndarray) -> pa.Array:
    import pyarrow as pa

    if labels.dtype == object:
        return pa.array(labels.tolist())
    return pa.array(labels)


def predict_labels(resolved: ResolvedAnalysis, model: Any, config: dict) -> pa.Array:
    """Run the model over the feature columns (streamed) and turn its outputs into labels.

    :raises ModelOutputError: the model returned non-finite or out-of-range scores, or output that
        cannot be labels, naming the dataset records.
    """
    import pyarrow as pa

    threshold = float(config.get("probability_threshold", DEFAULT_PROBABILITY_THRESHOLD))
    block = _predictor_block(config)
    label_headers = block.get("label_headers")
    parts = []
    announced = False
    offset = 0
    for batch in resolved.data.batches(resolved.feature_columns, PREDICTION_BATCH_ROWS):
        features = datasets.features_to_numpy(batch)
        try:
            model_output = model.predict(features)
        except ModelOutputError as exc:
            raise exc.in_dataset(offset) from None
        if not announced and model_output.labels is None and model_output.scores is not None:
            if model_output.scores.shape[1] == 1:
                log.info(
                    "We assume a prediction above %.3f indicates 1 and below or equal indicates 0.", threshold
                )
            announced = True
        labels = predicted_labels(
            model_output, threshold=threshold, label_headers=label_headers, rows=batch.num_rows
        )
        if model_output.labels is not None:
            _check_label_values(labels, config, offset)
        parts.append(_labels_to_arrow(labels))
        offset += batch.num_rows
    if not parts:
        raise datasets.DatasetError("The dataset has no rows.")
    return pa.chunked_array(parts).combine_chunks() if len(parts) > 1 else parts[0]


def _check_label_values(labels: np.ndarray, config: dict, offset: int) -> None:
    """Text predictions where the labels are numbers mean the model's output was not understood.

    Without this check a model answering, say, an error page with status 200 would end in
    "No Label values ... in the predicted Label Column" far from the cause.
    """
    if labels.dtype != object or not len(labels):
        return
    label_values = _listify(config.get("label_values_or_threshold"))
    if not label_values or not all(_is_float(v) for v in label_values):
        return  # text labels are legitimate predictions of a model with text classes
    bad = [i for i, v in enumerate(labels.tolist()) if not _is_float(v)]
    if not bad:
        return
    raise ModelOutputError(
        f"output that could not be parsed as predictions for {len(bad)} record(s) (text where "
        f"label_values_or_threshold {label_values!r} expects numbers)",
        "Check predictor.accept_type (the format the model answers in) and predictor.label / "
        "predictor.probability (where the label and score are in each answer).",
        rows=bad,
        values=[labels[r] for r in bad],
        offset=offset,
        unit="record",
    )


def _is_float(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


# --------------------------------------------------------------------------------------------------
# run_analysis
# --------------------------------------------------------------------------------------------------


def _merge_storage_options(storage_options: dict | None, endpoint_url: str | None) -> dict | None:
    if not endpoint_url:
        return storage_options
    merged = dict(storage_options or {})
    merged.setdefault("endpoint_url", endpoint_url)
    return merged


def _num_rows(data: datasets.TabularData) -> int | None:
    """The row count when it costs no extra read of the data (CSV rows are counted by parsing)."""
    csv = (datasets.CsvStreamData, datasets.CsvTableData)
    if isinstance(data, csv):
        return None
    if isinstance(data, datasets.ExtendedData) and isinstance(data.base, csv):
        return data.num_rows if data.extra else None
    return data.num_rows


def run_analysis(
    analysis_config: Any,
    dataset: str | None = None,
    output: str | None = None,
    *,
    model: ModelSource | str | dict | Any | None = None,
    storage_options: dict | None = None,
    endpoint_url: str | None = None,
    output_kms_key: str | None = None,
    confidence_intervals: Any = None,
    intersections: Any = None,
    schema_checked: bool = False,
) -> str:
    """Run the analyses of ``analysis_config`` on ``dataset`` and write the results under ``output``.

    :param analysis_config: dict, ``AnalysisConfig``, JSON text, or path/URI of ``analysis_config.json``.
    :param dataset: local path, ``file://`` or ``s3://`` URI (file, folder or prefix of part files);
        default: the config's ``dataset_uri``.
    :param output: folder / prefix receiving ``analysis.json`` (local path, ``file://`` or ``s3://``).
    :param model: where predictions come from, for post-training bias without predicted labels, SHAP
        and PDP: a :class:`~airflow_provider_clarify.analysis.model_source.ModelSource`, anything
        :meth:`ModelSource.parse <airflow_provider_clarify.analysis.model_source.ModelSource.parse>`
        accepts (an ``http(s)://`` URL of a server speaking the SageMaker hosting contract,
        ``{"endpoint_name": ...}``, ``{"artifact": ..., "trust": True}``), a Python callable /
        scikit-learn style estimator, or an engine ``Predictor``. Default: the config's
        ``predictor.endpoint_name``. Request/response formats always come from the config's
        ``predictor`` block.
    :param storage_options: S3 credentials/endpoint (``endpoint_url``, ``aws_access_key_id``,
        ``aws_secret_access_key``, ``aws_session_token``, ``region_name``).
    :param endpoint_url: AWS endpoint URL (like the AWS CLI's ``--endpoint-url``) used for S3 (unless
        ``storage_options`` has its own) and for SageMaker ``InvokeEndpoint``.
    :param output_kms_key: KMS key (id, ARN or alias) for SSE-KMS of every object written to an
        ``s3://`` output.
    :param confidence_intervals: opt-in interval per bias metric, written to
        ``confidence_intervals.json`` next to ``analysis.json`` (``ConfidenceIntervalConfig``, a dict
        of its fields or ``True``); see ``docs/uncertainty.md``. ``analysis.json`` is unchanged.
    :param intersections: opt-in intersectional facets and scan (``IntersectionConfig`` or a dict),
        written to ``intersectional_bias.json``.
    :param schema_checked: the caller already validated ``analysis_config`` with
        :func:`~airflow_provider_clarify.analysis.schema.validate_analysis_config` (``compute="local"``
        does, in the Airflow worker where jsonschema is loaded anyway), so the child skips importing it.
    :returns: the URI / path of the written ``analysis.json``.
    :raises ClarifyConfigError: bad configuration or a dataset that does not match it (the engine's
        :class:`~airflow_provider_clarify.engine.errors.EngineConfigError`, including
        :class:`~airflow_provider_clarify.engine.model_codec.ModelOutputError` for unusable model output).
    :raises PredictorError: the model could not be called (retryable).
    """
    storage_options = _merge_storage_options(storage_options, endpoint_url)
    config = load_config(analysis_config, storage_options)
    validate_config(config, schema_checked=schema_checked)
    extras = AuditExtras.create(confidence_intervals, intersections)
    dataset_uri = dataset or config.get("dataset_uri")
    if not dataset_uri:
        raise ClarifyConfigError(
            "No dataset given: pass dataset= (or --dataset) or set 'dataset_uri' in the analysis_config.",
            field="dataset_uri",
        )
    if not output:
        raise ClarifyConfigError("No output location given: pass output= (or --output).", field="output")
    location = io.OutputLocation(output, storage_options, kms_key=output_kms_key)
    methods = config["methods"]
    report = methods.get("report")
    report_name = _report_file_name(report) if isinstance(report, dict) else None
    if report_name is not None and extras is None:
        extras = AuditExtras()  # writes no sidecar; keeps the bias pass's group counts for the report
    local_shap_csv: list[str] = []  # explanations_shap/out.csv as written, for the report's beeswarm

    resolved = resolve_analysis(config, dataset_uri, storage_options)
    wants_bias = any(m in methods for m in BIAS_METHODS)
    wants_post = "post_training_bias" in methods
    wants_explain = any(m in methods for m in EXPLAIN_METHODS)
    if wants_bias and resolved.label is None:
        raise ClarifyConfigError(
            "analysis_config field 'label' is required for bias metrics (the ground-truth column).",
            field="label",
        )
    if wants_bias and not config.get("label_values_or_threshold"):
        raise ClarifyConfigError(
            "analysis_config field 'label_values_or_threshold' is required for bias metrics, e.g. [1].",
            field="label_values_or_threshold",
            value=config.get("label_values_or_threshold"),
        )
    if wants_bias and not resolved.facets:
        raise ClarifyConfigError(
            'analysis_config field \'facet\' is required for bias metrics, e.g. [{"name_or_index": "Gender"}].',
            field="facet",
        )

    predictor = None
    if (wants_post and resolved.predicted_label is None) or wants_explain:
        predictor = build_predictor(
            model,
            config,
            feature_names=resolved.feature_columns,
            storage_options=storage_options,
            endpoint_url=endpoint_url,
        )
    if wants_post and resolved.predicted_label is None:
        name = PREDICTED_LABEL_COLUMN
        while name in resolved.data.column_names:
            name = f"_{name}"
        predictions = predict_labels(resolved, predictor, config)
        resolved.data = datasets.ExtendedData(resolved.data, {name: predictions})
        resolved.predicted_label = name

    analysis: dict[str, Any] = {"version": "1.0"}
    if wants_bias:
        analysis.update(_bias_sections(config, resolved, extras.counts_sink if extras else None))
    if wants_explain:
        analysis["explanations"] = _explanations(
            config,
            resolved,
            predictor,
            location,
            storage_options,
            extras.shap_sink if extras else None,
            local_shap_csv.append if report_name is not None else None,
        )

    sidecars = {}
    if extras is not None:
        sidecars = extras.documents(
            analysis,
            batches=datasets.batch_source(resolved.data),
            label=resolved.label,
            predicted_label=resolved.predicted_label if wants_post else None,
        )
        write_sidecars(location, sidecars)
    remove_stale_sidecars(location, sidecars)
    if report_name is not None:
        _write_report(
            location,
            analysis,
            config,
            report_name,
            report_sections(sidecars),
            group_stats=_group_stats(extras, with_predictions=wants_post),
            local_shap_csv=local_shap_csv[-1] if local_shap_csv else None,
        )
    return write_analysis(location, analysis)


def _method_list(block: Any) -> Any:
    if isinstance(block, dict):
        return block.get("methods", "all")
    return "all"


def _bias_sections(config: dict, resolved: ResolvedAnalysis, counts_sink: Any = None) -> dict:
    from airflow_provider_clarify.engine.bias import compute_bias_sections

    methods = config["methods"]
    return compute_bias_sections(
        datasets.batch_source(resolved.data),
        label=resolved.label,
        label_values=_listify(config["label_values_or_threshold"]),
        facets=resolved.facets,
        group_variable=resolved.group_variable,
        predicted_label=resolved.predicted_label if "post_training_bias" in methods else None,
        pre_training_methods=_method_list(methods["pre_training_bias"])
        if "pre_training_bias" in methods
        else None,
        post_training_methods=_method_list(methods["post_training_bias"])
        if "post_training_bias" in methods
        else None,
        feature_columns=resolved.feature_columns,
        num_rows=_num_rows(resolved.data),
        available_columns=resolved.data.column_names,
        counts_sink=counts_sink,
    )


def _explanations(
    config: dict,
    resolved: ResolvedAnalysis,
    model: Any,
    location: io.OutputLocation,
    storage_options: dict | None,
    shap_sink: Any = None,
    local_values_sink: Any = None,
) -> dict:
    from airflow_provider_clarify.engine.explain import compute_explanations

    methods = config["methods"]
    features = resolved.data.to_table(resolved.feature_columns)
    baseline = None
    shap = methods.get("shap") if isinstance(methods.get("shap"), dict) else None
    if shap and isinstance(shap.get("baseline"), str):  # inline rows are read by the explainer
        baseline = datasets.load_baseline(
            shap["baseline"],
            resolved.dataset_type,
            resolved.feature_columns,
            features=config.get("features"),
            storage_options=storage_options,
        )
    block = _predictor_block(config)
    join_ids = None
    if resolved.joinsource is not None:
        join_ids = resolved.data.to_table([resolved.joinsource]).column(0).combine_chunks()
    return compute_explanations(
        features,
        methods,
        model,
        baseline=baseline,
        label_headers=block.get("label_headers"),
        output=location,
        join_ids=join_ids,
        join_column=resolved.joinsource,
        shap_sink=shap_sink,
        local_values_sink=local_values_sink,
    )


def _report_file_name(report: dict) -> str:
    """``methods.report.name`` + ``.html``: a plain file name, so the report stays in the output folder."""
    name = str(report.get("name") or "report")
    if not io.is_plain_name(name):
        raise EngineConfigError(
            f"methods.report.name {name!r} is not a plain file name: the report must stay in the output "
            "folder. Use a name without '/', '\\' or '..', e.g. \"report\".",
            field="methods.report.name",
            value=name,
            accepted="a file name without path separators or '..'",
        )
    return f"{name}.html"


def _bias_warnings(analysis: dict) -> list[str]:
    """The warnings of the bias sections (data problems the run went on with), for the report."""
    messages: list[str] = []
    for key in ("pre_training_bias_metrics", "post_training_bias_metrics"):
        for warning in (analysis.get(key) or {}).get("warnings") or ():
            message = warning.get("message") if isinstance(warning, dict) else str(warning)
            if message and message not in messages:
                messages.append(message)
    return messages


def _group_stats(extras: AuditExtras | None, *, with_predictions: bool) -> dict | None:
    """The report's Groups section input: facet -> group -> ``{"d": counts, "a": counts}``.

    Sums of the bias pass's count tables ``T[f, g, y, ŷ]`` (the same per-entry sums the confidence
    intervals use), so the data is not read again. Counts are the confusion cells with predictions
    (post-training), else the size and positive labels (the ŷ axis holds no predictions then).
    """
    if extras is None or extras.prep is None or extras.counts is None:
        return None
    from airflow_provider_clarify.engine.bias.counts import ConfusionCounts
    from airflow_provider_clarify.engine.bias.intervals import facet_entry_counts

    def side(matrix: np.ndarray) -> dict:
        cells = ConfusionCounts.from_matrix(matrix)
        if with_predictions:
            return {"tp": cells.tp, "fp": cells.fp, "fn": cells.fn, "tn": cells.tn}
        return {"n": cells.n, "label_pos": cells.label_pos}

    stats: dict[str, dict] = {}
    for facet, table in extras.counts.tables.items():
        stats[facet] = {}
        for entry in extras.prep.facets[facet].entries:
            sides = facet_entry_counts(table, entry.code, None)
            stats[facet][entry.text] = {"d": side(sides["d"]), "a": side(sides["a"])}
    return stats


def _write_report(
    location: io.OutputLocation,
    analysis: dict,
    config: dict,
    file_name: str,
    extra_sections: Sequence[str] = (),
    *,
    group_stats: dict | None = None,
    local_shap_csv: str | None = None,
) -> None:
    try:
        from airflow_provider_clarify.engine.report import render_report_html
    except ModuleNotFoundError as exc:
        if exc.name != "airflow_provider_clarify.engine.report":
            raise
        log.warning("methods.report is set but the report module is not available; no report written.")
        return
    html = render_report_html(
        json.loads(dumps_analysis(analysis)),
        config,
        warnings=_bias_warnings(analysis),
        extra_sections=extra_sections,
        group_stats=group_stats,
        local_shap_csv=local_shap_csv,
    )
    location.write_text(file_name, html)


__all__ = ["load_config", "run_analysis"]
