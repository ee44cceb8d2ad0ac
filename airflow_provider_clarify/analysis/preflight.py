"""Preflight: the semantic checks that keep a Clarify job from failing *after* it was paid for.

Schema v1.0 (:mod:`.schema`) only says which keys exist and what type each has. A config can pass it
and still fail minutes into a job: an unknown metric name, bias without a label, SHAP without a model,
a JSON Lines model without a ``content_template``, a distributed job without an id column. This module
checks those rules (``docs/configs.md#preflight-checks-configpreflight-and-check_preflightd``) on the analysis-config dict,
without data and without any AWS call, and reports every problem at once.

Two severities:

* **error** — the job (or the whole report) would fail, or would compute nothing useful; the task
  must not start it. :func:`check_preflight` raises :class:`ClarifyConfigError` listing them all.
* **warning** — the job runs, but part of the result will be missing or surprising (e.g. CDDL without
  ``group_variable`` comes back as a per-metric error entry, not a job failure). Returned to the
  caller; the operators log them.

Each :class:`Problem` names the JSON path (``methods.pre_training_bias.methods[0]``), the offending
value and the fix. What cannot be checked without reading the data (e.g. that a numeric facet has a
threshold, that a column really exists when ``headers`` is not given) is left to the job.

Pure Python: no Airflow, boto3 or numeric imports.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from airflow_provider_clarify.analysis import constants as C
from airflow_provider_clarify.analysis.capabilities import engine_problems, has_predictions, model_methods
from airflow_provider_clarify.analysis.errors import ClarifyConfigError, short_repr
from airflow_provider_clarify.analysis.processing_job import MAX_S3_URI_LENGTH
from airflow_provider_clarify.analysis.schema import analysis_config_problems
from airflow_provider_clarify.locations import is_s3, scheme

__all__ = ["COMPUTE_MODES", "Problem", "check_preflight", "preflight_problems"]

Severity = Literal["error", "warning"]
#: Where the analysis runs: the managed Clarify container, or the open engine on the worker.
COMPUTE_MODES: tuple[str, ...] = ("sagemaker", "local", "spark")  # spark: operators/spark_compute.py

#: The metric names smclarify registers per stage; matching is exact and case-sensitive
#: (``set(names) <= set(registered)``; ``docs/bias-metrics.md``).
STAGE_METRICS: dict[str, tuple[str, ...]] = {
    "pre_training_bias": C.PRE_TRAINING_METRICS,
    "post_training_bias": C.POST_TRAINING_METRICS,
}
#: Metrics that need ``group_variable`` (without it each returns an error entry, not a value).
GROUP_METRICS: dict[str, str] = {"pre_training_bias": "CDDL", "post_training_bias": "CDDPL"}
#: Post-training metrics added to smclarify after the 2022 container build (``docs/parity.md``).
LATE_METRICS: tuple[str, ...] = ("SD", "GE")
#: Shadow-endpoint name prefix: the EndpointName alphabet, at most 23 characters.
ENDPOINT_PREFIX = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,22}")
CUSTOM_ATTRIBUTES_MAX = 1024


@dataclass(frozen=True)
class Problem:
    """One preflight finding.

    :param path: JSON path in the analysis config (``facet[1].name_or_index``), or the keyword
        (``instance_count``) for an argument of the job.
    :param message: what is wrong, with the offending value and the fix.
    :param severity: ``"error"`` (the job must not start) or ``"warning"`` (it may, with caveats).
    """

    path: str
    message: str
    severity: Severity = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        return f"{self.path or '$'}: {self.message}"


class _Findings:
    """The config under check plus the list being filled."""

    def __init__(self, config: Mapping[str, Any], compute: str, instance_count: int) -> None:
        self.config = config
        self.compute = compute
        self.instance_count = instance_count
        self.problems: list[Problem] = []

    def error(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message, "error"))

    def warn(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message, "warning"))

    # typed views that never raise on a config that failed the schema
    def dict_at(self, *keys: str) -> dict[str, Any]:
        node: Any = self.config
        for key in keys:
            node = node.get(key) if isinstance(node, Mapping) else None
        return dict(node) if isinstance(node, Mapping) else {}

    @property
    def methods(self) -> dict[str, Any]:
        return self.dict_at("methods")

    @property
    def dataset_type(self) -> str:
        value = self.config.get("dataset_type")
        return value.lower() if isinstance(value, str) else ""

    @property
    def sagemaker(self) -> bool:
        return self.compute == "sagemaker"


def _present(value: Any) -> bool:
    """Set to something other than ``None``/empty (``0`` counts: it is a valid column index)."""
    return value is not None and value != "" and value != [] and value != {}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _stage_text(stage: str) -> str:
    """``pre_training_bias`` -> ``pre-training``."""
    return stage.removesuffix("_bias").replace("_", "-")


def _names(values: tuple[str, ...]) -> str:
    return ", ".join(values)


# --- 1. dataset type and its companions -------------------------------------------------------------


def _check_dataset(f: _Findings) -> None:
    config, dataset_type = f.config, f.dataset_type
    if dataset_type == C.JSONLINES and not _present(config.get("features")):
        f.error(
            "features",
            "is missing; dataset_type 'application/jsonlines' needs a JMESPath that locates the "
            'feature array of each line, e.g. "features": "data.features".',
        )
    if (
        dataset_type == C.JSON
        and not _present(config.get("features"))
        and "time_series_data_config" not in config
    ):
        f.error(
            "features",
            "is missing; dataset_type 'application/json' needs a JMESPath that yields the 2-D feature "
            'array, e.g. "features": "[*].features" (time-series configs excepted).',
        )
    for uri_key, headers_key in (
        ("facet_dataset_uri", "facet_headers"),
        ("predicted_label_dataset_uri", "predicted_label_headers"),
    ):
        if _present(config.get(uri_key)) and dataset_type and dataset_type != C.CSV:
            f.error(
                uri_key,
                f"{short_repr(config[uri_key])} is set with dataset_type {short_repr(config.get('dataset_type'))}; "
                "separate facet / predicted-label datasets are supported for 'text/csv' only. Merge the "
                "columns into the main dataset or convert all datasets to CSV.",
            )
        if _present(config.get(headers_key)) and not _present(config.get(uri_key)):
            f.warn(
                headers_key,
                f"is set but {uri_key} is not, so it is ignored; remove it or set {uri_key}.",
            )
    series = config.get("time_series_data_config")
    if series is not None and dataset_type and dataset_type != C.JSON:
        f.error(
            "time_series_data_config",
            f"needs dataset_type 'application/json', not {short_repr(config.get('dataset_type'))}.",
        )
    if isinstance(series, Mapping):
        locators = [series.get(k) for k in ("target_time_series", "item_id", "timestamp")]
        has_format = "dataset_format" in series
        if all(isinstance(v, str) for v in locators) and not has_format:
            f.error(
                "time_series_data_config.dataset_format",
                "is missing; string (JMESPath) locators need dataset_format 'columns', 'item_records' "
                "or 'timestamp_records'.",
            )
        if all(_is_int(v) for v in locators) and has_format:
            f.error(
                "time_series_data_config.dataset_format",
                f"{short_repr(series['dataset_format'])} must not be set when the locators are column "
                "indices (integers); remove it.",
            )


# --- 2. methods ----------------------------------------------------------------------------------------


def _check_report(f: _Findings) -> None:
    """``methods.report.name`` names a file in the output folder: no folders, no ``..``."""
    name = f.dict_at("methods", "report").get("name")
    if isinstance(name, str) and ("/" in name or "\\" in name or ".." in name or name.strip() in ("", ".")):
        f.error(
            "methods.report.name",
            f"{short_repr(name)} must be a plain file name (no '/', '\\' or '..'): the report is written "
            "inside the output folder. Use e.g. 'report'.",
        )


def _check_engine(f: _Findings) -> None:
    """``compute='local'``: what the open engine cannot run fails here, before any upload or credential."""
    if not f.sagemaker:
        for path, message in engine_problems(f.config):
            f.error(path, message)


def _check_methods(f: _Findings) -> None:
    methods = f.config.get("methods")
    if not isinstance(methods, Mapping):
        return  # the schema already reported it
    analyses = [name for name in methods if name != "report"]
    if not analyses:
        f.error(
            "methods",
            f"{short_repr(dict(methods))} requests no analysis, so the job would compute nothing; add "
            "pre_training_bias, post_training_bias, shap, pdp or asymmetric_shapley_value.",
        )
    for stage in STAGE_METRICS:
        _check_metric_names(f, stage)


def _requested_metrics(f: _Findings, stage: str) -> tuple[str, ...]:
    """The valid metric names ``methods.<stage>.methods`` asks for (all of them for ``"all"``)."""
    block = f.dict_at("methods", stage)
    value = block.get("methods")
    if value == "all" or value == ["all"]:
        return STAGE_METRICS[stage]
    if isinstance(value, list):
        return tuple(name for name in value if name in STAGE_METRICS[stage])
    return ()


def _check_metric_names(f: _Findings, stage: str) -> None:
    if stage not in f.methods:
        return
    path = f"methods.{stage}.methods"
    value = f.dict_at("methods", stage).get("methods")
    registered = STAGE_METRICS[stage]
    other = "post_training_bias" if stage == "pre_training_bias" else "pre_training_bias"
    accepted = f"'all' or a list of names from {_names(registered)} (exact, case-sensitive)"
    if isinstance(value, str):
        if value != "all":
            hint = "write 'all' in lower case" if value.lower() == "all" else f"write [{value!r}]"
            f.error(path, f"{short_repr(value)} is not accepted; {hint}. Accepted: {accepted}.")
        return
    if not isinstance(value, list):
        return  # the schema already reported it
    if not value:
        f.error(path, f"[] computes no metric; use 'all' or list names from {_names(registered)}.")
        return
    if value == ["all"]:
        return
    seen: set[str] = set()
    for index, name in enumerate(value):
        item_path = f"{path}[{index}]"
        if not isinstance(name, str):
            continue  # the schema already reported it
        if name in registered:
            if name in seen:
                f.warn(item_path, f"{name!r} is listed twice; it is computed once. Remove the duplicate.")
            seen.add(name)
            if f.sagemaker and name in LATE_METRICS:
                f.warn(
                    item_path,
                    f"{name!r} is registered by current smclarify releases but not by older Clarify "
                    "container builds, where naming it fails the whole report with 'Invalid metric_name'. "
                    "If the job fails that way, drop it.",
                )
            continue
        upper = name.upper()
        if upper in registered:
            fix = f"write {upper!r} (metric names are case-sensitive)"
        elif upper in STAGE_METRICS[other]:
            fix = f"{upper!r} is a {_stage_text(other)} metric: move it to methods.{other}.methods"
        elif name.lower() == "all":
            fix = "'all' only works on its own: use \"all\" instead of a list"
        else:
            fix = f"use one of {_names(registered)}"
        f.error(
            item_path,
            f"{short_repr(name)} is not a registered {_stage_text(stage)} metric, so smclarify would "
            f"fail the whole report ('Invalid metric_name'); {fix}.",
        )


# --- 4. bias inputs ------------------------------------------------------------------------------------


def _check_bias(f: _Findings) -> None:
    stages = [stage for stage in STAGE_METRICS if stage in f.methods]
    if not stages:
        return
    config = f.config
    if "time_series_data_config" in config:
        f.error(
            "methods",
            "bias methods cannot be combined with time_series_data_config; run bias and time-series "
            "explainability as separate jobs.",
        )
    if not _present(config.get("label")):
        f.error(
            "label",
            f"is missing; {' and '.join(stages)} need{'s' if len(stages) == 1 else ''} the ground-truth label column (name, index or "
            "JMESPath).",
        )
    if not _present(config.get("label_values_or_threshold")):
        f.error(
            "label_values_or_threshold",
            f"is {short_repr(config.get('label_values_or_threshold'))}; bias metrics need the positive "
            "outcome(s), e.g. [1], or a single threshold for a continuous label.",
        )
    if not _present(config.get("facet")):
        f.error(
            "facet",
            f"is {short_repr(config.get('facet'))}; bias metrics need at least one sensitive column, "
            'e.g. [{"name_or_index": "sex"}].',
        )
    if not _present(config.get("group_variable")):
        for stage in stages:
            metric = GROUP_METRICS[stage]
            if metric in _requested_metrics(f, stage):
                f.warn(
                    "group_variable",
                    f"is not set, so {metric} (requested by methods.{stage}.methods) will come back as an "
                    "error entry ('Group variable is empty or not provided') instead of a value. Set "
                    f"group_variable to the subgroup column, or list the {_stage_text(stage)} "
                    f"metrics without {metric}.",
                )


_has_predictions = has_predictions


# --- column references (only when headers are given, tabular CSV/Parquet) ------------------------------


def _headers(config: Mapping[str, Any], key: str) -> list[str] | None:
    value = config.get(key)
    if isinstance(value, list) and value and all(isinstance(h, str) for h in value):
        return value
    return None


def _check_column(f: _Findings, path: str, ref: Any, headers: list[str], headers_key: str) -> None:
    if isinstance(ref, str):
        if ref not in headers:
            close = [h for h in headers if h.lower() == ref.lower()]
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            f.error(
                path,
                f"{ref!r} is not one of the {headers_key} {short_repr(headers)}{hint}; the job would fail "
                "to locate the column. Fix the name or the headers.",
            )
    elif _is_int(ref) and not 0 <= ref < len(headers):
        f.error(
            path,
            f"index {ref} is outside the {len(headers)} {headers_key} (0-{len(headers) - 1}); use a valid "
            "0-based index or the column name.",
        )


def _check_columns(f: _Findings) -> None:
    config = f.config
    if f.dataset_type not in (C.CSV, C.PARQUET) or "time_series_data_config" in config:
        return
    if f.dataset_type == C.PARQUET:
        for key in ("label", "predicted_label"):
            if _is_int(config.get(key)):
                f.error(key, f"{config[key]} is an index; Parquet columns are located by name. Use the name.")
    headers = _headers(config, "headers")
    facet_headers = _headers(config, "facet_headers") if _present(config.get("facet_dataset_uri")) else None
    predicted_headers = (
        _headers(config, "predicted_label_headers")
        if _present(config.get("predicted_label_dataset_uri"))
        else None
    )
    if headers is not None:
        if "label" in config:
            _check_column(f, "label", config["label"], headers, "headers")
        if "joinsource_name_or_index" in config:
            join = config["joinsource_name_or_index"]
            _check_column(f, "joinsource_name_or_index", join, headers, "headers")
        for index, column in enumerate(config.get("excluded_columns") or []):
            _check_column(f, f"excluded_columns[{index}]", column, headers, "headers")
        shap = f.dict_at("methods", "shap")
        for index, column in enumerate(shap.get("features_to_explain") or []):
            _check_column(f, f"methods.shap.features_to_explain[{index}]", column, headers, "headers")
        for index, column in enumerate(f.dict_at("methods", "pdp").get("features") or []):
            _check_column(f, f"methods.pdp.features[{index}]", column, headers, "headers")
        group = config.get("group_variable")
        if isinstance(group, str) and group not in headers + (facet_headers or []):
            _check_column(f, "group_variable", group, headers, "headers")
        elif _is_int(group) and not _present(config.get("facet_dataset_uri")):
            _check_column(f, "group_variable", group, headers, "headers")
    if "predicted_label" in config:
        target, name = (
            (predicted_headers, "predicted_label_headers")
            if _present(config.get("predicted_label_dataset_uri"))
            else (headers, "headers")
        )
        if target is not None:
            _check_column(f, "predicted_label", config["predicted_label"], target, name)
    facet_target, facet_name = (
        (facet_headers, "facet_headers")
        if _present(config.get("facet_dataset_uri"))
        else (headers, "headers")
    )
    facets = config.get("facet")
    if facet_target is not None and isinstance(facets, list):
        for index, facet in enumerate(facets):
            if isinstance(facet, Mapping) and "name_or_index" in facet:
                _check_column(
                    f, f"facet[{index}].name_or_index", facet["name_or_index"], facet_target, facet_name
                )


# --- 5. predictor ------------------------------------------------------------------------------------


def _needs_model(f: _Findings) -> list[str]:
    """The methods that call the model (the one rule: :func:`.capabilities.model_methods`)."""
    return list(model_methods(f.config))


def _check_predictor(f: _Findings) -> None:
    config = f.config
    predictor = config.get("predictor")
    needs = _needs_model(f)
    if not isinstance(predictor, Mapping):
        if f.sagemaker and needs:
            alternative = (
                " (or, for post_training_bias, a predicted_label column / predicted_label_dataset_uri)"
                if "post_training_bias" in needs
                else ""
            )
            f.error(
                "predictor",
                f"is missing; {', '.join(needs)} need{'s' if len(needs) == 1 else ''} model predictions: add "
                "a predictor block with endpoint_name, or model_name + instance_type + "
                f"initial_instance_count{alternative}.",
            )
        return
    if f.sagemaker and needs:
        _check_predictor_target(f, predictor)
    if _is_int(predictor.get("initial_instance_count")) and predictor["initial_instance_count"] < 1:
        f.error(
            "predictor.initial_instance_count",
            f"{predictor['initial_instance_count']} must be at least 1 (instances of the shadow endpoint).",
        )
    attributes = predictor.get("custom_attributes")
    if isinstance(attributes, str) and (
        len(attributes) > CUSTOM_ATTRIBUTES_MAX or not all(" " <= ch <= "~" for ch in attributes)
    ):
        f.error(
            "predictor.custom_attributes",
            f"{short_repr(attributes)} must be at most {CUSTOM_ATTRIBUTES_MAX} visible US-ASCII characters "
            "(InvokeEndpoint CustomAttributes).",
        )
    _check_templates(f, predictor)
    if f.dataset_type == C.IMAGE and "shap" in f.methods and not _present(predictor.get("label_headers")):
        f.error(
            "predictor.label_headers",
            "is missing; computer-vision explainability needs the class names aligned with the model's "
            'scores, e.g. ["cat", "dog"].',
        )


def _check_predictor_target(f: _Findings, predictor: Mapping[str, Any]) -> None:
    endpoint = predictor.get("endpoint_name")
    model = predictor.get("model_name")
    if _present(endpoint) and _present(model):
        f.error(
            "predictor",
            f"has both endpoint_name {short_repr(endpoint)} and model_name {short_repr(model)}; give "
            "endpoint_name (an existing endpoint) or model_name + instance_type + initial_instance_count "
            "(a temporary shadow endpoint), not both.",
        )
        return
    if not _present(endpoint) and not _present(model):
        f.error(
            "predictor",
            "names no model: set endpoint_name (an existing endpoint) or model_name + instance_type + "
            "initial_instance_count (a temporary shadow endpoint).",
        )
        return
    if _present(model):
        for key, example in (("instance_type", "'ml.m5.xlarge'"), ("initial_instance_count", "1")):
            if not _present(predictor.get(key)):
                f.error(
                    f"predictor.{key}",
                    f"is missing; model_name {short_repr(model)} runs on a shadow endpoint that needs "
                    f"{key} (e.g. {example}).",
                )
        prefix = predictor.get("endpoint_name_prefix")
        if isinstance(prefix, str) and not ENDPOINT_PREFIX.fullmatch(prefix):
            f.error(
                "predictor.endpoint_name_prefix",
                f"{short_repr(prefix)} must be 1-23 letters, digits and hyphens, starting and ending with a "
                "letter or digit (it prefixes the shadow endpoint's name).",
            )
    elif _present(predictor.get("endpoint_name_prefix")):
        f.warn(
            "predictor.endpoint_name_prefix",
            f"{short_repr(predictor['endpoint_name_prefix'])} is ignored with endpoint_name (no shadow "
            "endpoint is created); remove it.",
        )


def _check_templates(f: _Findings, predictor: Mapping[str, Any]) -> None:
    content_type = predictor.get("content_type")
    if not isinstance(content_type, str):
        if f.dataset_type == C.PARQUET:
            f.error(
                "predictor.content_type",
                "is missing; with dataset_type 'application/x-parquet' the model input format must be "
                "given, e.g. 'text/csv' or 'application/jsonlines'.",
            )
            return
        content_type = "image/jpeg" if f.dataset_type == C.IMAGE else f.dataset_type
    content_type = content_type.lower()
    template = predictor.get("content_template")
    texts = list(template.values()) if isinstance(template, Mapping) else [template]
    texts = [t for t in texts if isinstance(t, str)]
    source = (
        "predictor.content_type" if "content_type" in predictor else "dataset_type (the default content_type)"
    )
    if content_type == C.JSONLINES and not any("$features" in t for t in texts):
        f.error(
            "predictor.content_template",
            f"{short_repr(template)} must contain $features when {source} is 'application/jsonlines', "
            'e.g. "{\\"features\\":$features}".',
        )
    if content_type == C.JSON:
        if not any("$record" in t for t in texts):
            f.error(
                "predictor.content_template",
                f"{short_repr(template)} must contain $records or $record when {source} is "
                '\'application/json\', e.g. "{\\"instances\\": $records}".',
            )
        if not _present(predictor.get("record_template")):
            f.error(
                "predictor.record_template",
                f"is missing; {source} 'application/json' needs a record template such as "
                '"$features_kvp" or "$features".',
            )


# --- 6. explainability ----------------------------------------------------------------------------------


def _positive(f: _Findings, path: str, value: Any, what: str) -> None:
    if _is_int(value) and value < 1:
        f.error(path, f"{value} must be at least 1 ({what}).")


def _check_shap(f: _Findings) -> None:
    if "shap" not in f.methods:
        return
    shap = f.dict_at("methods", "shap")
    baseline = shap.get("baseline")
    if baseline is not None and "num_clusters" in shap:
        f.error(
            "methods.shap.num_clusters",
            f"{short_repr(shap['num_clusters'])} cannot be combined with baseline {short_repr(baseline)}: "
            "num_clusters only sizes the baseline Clarify computes when none is given. Remove one of them.",
        )
    if baseline == []:
        f.error(
            "methods.shap.baseline",
            "[] has no rows; give at least one baseline row, an S3 URI, or omit baseline to let Clarify "
            "cluster the dataset.",
        )
    if _present(shap.get("features_to_explain")):
        for key in ("text_config", "image_config"):
            if key in shap:
                f.error(
                    "methods.shap.features_to_explain",
                    f"{short_repr(shap['features_to_explain'])} is only supported for tabular data, not with "
                    f"{key}; remove features_to_explain.",
                )
    if "text_config" in shap and "image_config" in shap:
        f.error("methods.shap", "has both text_config and image_config; keep the one matching the data.")
    if "image_config" in shap and f.dataset_type and f.dataset_type != C.IMAGE:
        f.error(
            "methods.shap.image_config",
            f"needs dataset_type 'application/x-image', not {short_repr(f.config.get('dataset_type'))}.",
        )
    if f.dataset_type == C.IMAGE and "text_config" in shap:
        f.error("methods.shap.text_config", "cannot be used with dataset_type 'application/x-image'.")
    _positive(f, "methods.shap.num_samples", shap.get("num_samples"), "synthetic samples per record")
    _positive(f, "methods.shap.num_clusters", shap.get("num_clusters"), "baseline rows to compute")
    text = f.dict_at("methods", "shap", "text_config")
    _positive(f, "methods.shap.text_config.max_top_tokens", text.get("max_top_tokens"), "tokens reported")
    image = f.dict_at("methods", "shap", "image_config")
    _positive(f, "methods.shap.image_config.num_segments", image.get("num_segments"), "superpixels per image")
    _positive(f, "methods.shap.image_config.max_objects", image.get("max_objects"), "objects explained")
    model_type = image.get("model_type")
    if isinstance(model_type, str) and model_type not in C.IMAGE_MODEL_TYPES:
        f.error(
            "methods.shap.image_config.model_type",
            f"{short_repr(model_type)} is not a Clarify model type; use {' or '.join(C.IMAGE_MODEL_TYPES)}.",
        )


def _check_pdp(f: _Findings) -> None:
    if "pdp" not in f.methods:
        return
    pdp = f.dict_at("methods", "pdp")
    if "shap" not in f.methods:
        if not _present(pdp.get("features")):
            f.error(
                "methods.pdp.features",
                "is missing; without shap Clarify cannot pick the top features, so list the features to "
                'plot, e.g. ["age", "income"] (or add a shap block).',
            )
        if "top_k_features" in pdp:
            f.warn(
                "methods.pdp.top_k_features",
                "is ignored without shap (it picks the top features by SHAP value); remove it.",
            )
    _positive(f, "methods.pdp.grid_resolution", pdp.get("grid_resolution"), "buckets per numeric feature")
    _positive(f, "methods.pdp.top_k_features", pdp.get("top_k_features"), "features to plot")


def _check_time_series(f: _Findings) -> None:
    series = "time_series_data_config" in f.config
    methods = f.methods
    if "asymmetric_shapley_value" not in methods:
        if series and any(name in methods for name in ("shap", "pdp")):
            f.error(
                "time_series_data_config",
                "is set, but time series are explained with asymmetric_shapley_value, not shap/pdp; use "
                "methods.asymmetric_shapley_value, or drop time_series_data_config.",
            )
        return
    asv = f.dict_at("methods", "asymmetric_shapley_value")
    if not series:
        f.error(
            "time_series_data_config",
            "is missing; methods.asymmetric_shapley_value needs it (target_time_series, item_id, timestamp).",
        )
    predictor = f.dict_at("predictor")
    if predictor and "time_series_predictor_config" not in predictor:
        f.error(
            "predictor.time_series_predictor_config",
            'is missing; asymmetric_shapley_value needs {"forecast": <JMESPath of the forecast>}.',
        )
    granularity = asv.get("granularity")
    direction = asv.get("direction")
    granularity = granularity.lower() if isinstance(granularity, str) else granularity
    direction = direction.lower() if isinstance(direction, str) else direction
    if granularity == "fine_grained":
        if "num_samples" not in asv:
            f.error(
                "methods.asymmetric_shapley_value.num_samples",
                "is missing; granularity 'fine_grained' needs num_samples (an int).",
            )
        if direction is not None and direction != "chronological":
            f.error(
                "methods.asymmetric_shapley_value.direction",
                f"{short_repr(asv.get('direction'))} is not allowed with granularity 'fine_grained'; use "
                "'chronological'.",
            )
    elif granularity is not None and "num_samples" in asv:
        f.error(
            "methods.asymmetric_shapley_value.num_samples",
            f"{short_repr(asv['num_samples'])} is only used with granularity 'fine_grained'; remove it.",
        )
    _positive(f, "methods.asymmetric_shapley_value.num_samples", asv.get("num_samples"), "samples")


# --- 7. join column ----------------------------------------------------------------------------------------


def _looks_like_prefix(uri: Any) -> bool:
    """An S3/local location that probably holds several files (ends with '/' or has no extension)."""
    if not isinstance(uri, str) or not uri:
        return False
    last = uri.rstrip("/").rsplit("/", 1)[-1]
    return uri.endswith("/") or "." not in last


def _check_joinsource(f: _Findings, dataset_uri: str | None) -> None:
    config = f.config
    if _present(config.get("joinsource_name_or_index")):
        return
    if f.sagemaker and f.instance_count > 1:
        f.error(
            "joinsource_name_or_index",
            f"is missing; instance_count={f.instance_count} runs Clarify's distributed (Spark) mode, which "
            "needs an identifier column to join the partial results. Add an id column and name it here, "
            "or use instance_count=1.",
        )
        return
    separate = [
        key for key in ("facet_dataset_uri", "predicted_label_dataset_uri") if _present(config.get(key))
    ]
    if separate:
        f.warn(
            "joinsource_name_or_index",
            f"is not set although {' and '.join(separate)} {'is' if len(separate) == 1 else 'are'} given: "
            "that only works when every dataset is a single file with the same number of rows in the "
            "same order. If any of them is split over several files, add an id column to each and name it "
            "here.",
        )
    shap = f.dict_at("methods", "shap")
    dataset = config.get("dataset_uri") or dataset_uri
    if shap.get("save_local_shap_values") is True and _looks_like_prefix(dataset):
        f.warn(
            "joinsource_name_or_index",
            f"is not set, methods.shap.save_local_shap_values is true and the dataset {short_repr(dataset)} "
            "looks like a prefix: if it holds more than one file the job needs an id column to write the "
            "local SHAP values. Name an id column here, or set save_local_shap_values to false.",
        )


# --- 9. URIs inside the config ---------------------------------------------------------------------------


def _config_uris(f: _Findings) -> list[tuple[str, Any]]:
    uris = [
        (key, f.config.get(key))
        for key in ("dataset_uri", "facet_dataset_uri", "predicted_label_dataset_uri")
    ]
    for method in ("shap", "asymmetric_shapley_value"):
        baseline = f.dict_at("methods", method).get("baseline")
        if isinstance(baseline, str):
            uris.append((f"methods.{method}.baseline", baseline))
    return [(path, uri) for path, uri in uris if isinstance(uri, str)]


def _check_uris(f: _Findings) -> None:
    for path, uri in _config_uris(f):
        if f.sagemaker:
            if not is_s3(uri) or not uri[len("s3://") :].split("/", 1)[0]:
                f.error(
                    path,
                    f"{short_repr(uri)} is not an S3 URI; the Clarify container reads 's3://bucket/key'. "
                    "Upload the file to S3 and give its s3:// URI (or run with compute='local').",
                )
            elif len(uri) > MAX_S3_URI_LENGTH:
                f.error(path, f"is {len(uri)} characters long; S3 URIs may have at most {MAX_S3_URI_LENGTH}.")
            elif uri != uri.strip():
                f.error(path, f"{short_repr(uri)} has leading or trailing whitespace; remove it.")
        elif scheme(uri) not in ("", "s3", "file") or not uri.strip():
            f.error(
                path,
                f"{short_repr(uri)} is not readable with compute='local'; give an s3:// URI, a file:// URI "
                "or a local path.",
            )


# --- entry points --------------------------------------------------------------------------------------------


def preflight_problems(
    analysis_config: Any,
    *,
    instance_count: int = 1,
    compute: str = "sagemaker",
    dataset_uri: str | None = None,
) -> list[Problem]:
    """Every schema and semantic problem of ``analysis_config``, errors and warnings, in config order.

    :param analysis_config: the analysis_config dict (as uploaded to the job).
    :param instance_count: processing instances of the job (more than 1 needs a join column).
    :param compute: ``"sagemaker"`` (the Clarify container: S3 URIs, a predictor block for model
        calls) or ``"local"`` (the open engine: local paths allowed, the model may come from the
        operator's ``local_model``).
    :param dataset_uri: the dataset location given outside the config (the processing input); only
        used to judge whether the dataset may span several files.
    :returns: :class:`Problem` objects; schema v1.0 problems (:mod:`.schema`) come first, as errors.
    """
    problems: list[Problem] = []
    if compute not in COMPUTE_MODES:
        problems.append(
            Problem(
                "compute", f"{short_repr(compute)} is not accepted; use one of {', '.join(COMPUTE_MODES)}."
            )
        )
        compute = "sagemaker"
    if not _is_int(instance_count) or instance_count < 1:
        problems.append(
            Problem("instance_count", f"{short_repr(instance_count)} is not accepted; use an integer >= 1.")
        )
        instance_count = 1
    problems += [Problem(path, message) for path, message in analysis_config_problems(analysis_config)]
    if not isinstance(analysis_config, Mapping):
        return problems
    findings = _Findings(analysis_config, compute, instance_count)
    for check in (
        _check_dataset,
        _check_engine,
        _check_methods,
        _check_report,
        _check_bias,
        _check_columns,
        _check_predictor,
        _check_shap,
        _check_pdp,
        _check_time_series,
        _check_uris,
    ):
        check(findings)
    _check_joinsource(findings, dataset_uri)
    return problems + findings.problems


def check_preflight(
    analysis_config: Any,
    *,
    instance_count: int = 1,
    compute: str = "sagemaker",
    dataset_uri: str | None = None,
) -> list[Problem]:
    """Raise on any error, return the warnings (arguments as :func:`preflight_problems`).

    :raises ClarifyConfigError: listing every error at once; ``err.problems`` holds
        ``(json_path, message)`` pairs and ``err.field`` is the first path.
    """
    problems = preflight_problems(
        analysis_config, instance_count=instance_count, compute=compute, dataset_uri=dataset_uri
    )
    errors = [p for p in problems if p.is_error]
    if errors:
        raise ClarifyConfigError.from_problems(
            [(p.path, p.message) for p in errors],
            values=_first_value(analysis_config, errors[0].path),
        )
    return [p for p in problems if not p.is_error]


def _first_value(config: Any, path: str) -> dict[str, Any]:
    """``{path: value}`` for a top-level or dotted path without indices (for ``err.value``)."""
    node = config
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return {}
        node = node[key]
    return {path: node}
