"""Config constructions run twice: by the SageMaker SDK (``make_fixtures.py``) and by our classes (tests).

Every case is a function of ``ns``, the namespace holding the config classes (``sagemaker.clarify``
or ``airflow_provider_clarify.analysis.configs``), so one piece of code builds both sides and no
expected dict is written by hand. Composition cases also take ``compose(kind, **kwargs)``, which
maps our factory names (``AnalysisConfig.<kind>``) to the SDK's ``_AnalysisConfigGenerator``.

This module imports neither the SDK nor our package.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

HEADERS = ["Target", "Age", "Gender", "Income", "Occupation"]
ASV_BASELINE = {"target_time_series": "zero", "related_time_series": "mean", "static_covariates": {"item1": [0.0], "item2": [1.0]}}  # fmt: skip

#: How each class writes its part of the analysis config (the SDK's method names, which ours share).
EMITTERS = {
    "DataConfig": "get_config", "BiasConfig": "get_config", "ModelConfig": "get_predictor_config",
    "ModelPredictedLabelConfig": "get_predictor_config", "SHAPConfig": "get_explainability_config",
    "PDPConfig": "get_explainability_config", "AsymmetricShapleyValueConfig": "get_explainability_config",
    "TextConfig": "get_text_config", "ImageConfig": "get_image_config", "SegmentationConfig": "to_dict",
    "TimeSeriesDataConfig": "get_time_series_data_config", "TimeSeriesModelConfig": "get_time_series_model_config",
}  # fmt: skip


def emit(config: Any) -> Any:
    """The JSON-able output of one config object (a tuple becomes a list, as in JSON)."""
    out = getattr(config, EMITTERS[type(config).__name__])()
    return list(out) if isinstance(out, tuple) else out


def csv_dc(ns, **overrides):
    kwargs = dict(s3_data_input_path="s3://bkt/data/train.csv", s3_output_path="s3://bkt/clarify/out",
                  label="Target", headers=list(HEADERS), dataset_type="text/csv")  # fmt: skip
    return ns.DataConfig(**{**kwargs, **overrides})


def mc(ns):
    return ns.ModelConfig(model_name="my-xgb-model", instance_count=1, instance_type="ml.m5.xlarge",
                          accept_type="text/csv", content_type="text/csv")  # fmt: skip


def bc(ns):
    return ns.BiasConfig(label_values_or_threshold=[1], facet_name="Gender", facet_values_or_threshold=[0])


def ts_dc(ns):
    ts = ns.TimeSeriesDataConfig("[*].target", "[*].item_id", "[*].timestamp", ["[*].rts1"], ["[*].scv1"],
                                 ns.TimeSeriesJSONDatasetFormat.TIMESTAMP_RECORDS)  # fmt: skip
    return ns.DataConfig("s3://bkt/ts/data.json", "s3://bkt/clarify/ts", dataset_type="application/json",
                         headers=["item_id", "timestamp", "target", "rts1", "scv1"], time_series_data_config=ts)  # fmt: skip


def ts_mc(ns):
    return ns.ModelConfig(
        model_name="my-forecaster", instance_count=1, instance_type="ml.m5.xlarge", content_type="application/json",
        accept_type="application/json", content_template='{"instances": $records}', record_template="$features_kvp",
        time_series_model_config=ns.TimeSeriesModelConfig("predictions[*].mean"),
    )  # fmt: skip


def composition_cases(ns, compose: Callable[..., dict]) -> Iterator[tuple[str, dict]]:
    """(id, analysis_config dict): twelve worked examples (one per kind of analysis and data) and the rules."""
    yield "1-pre-training", compose("pre_training_bias", data_config=csv_dc(ns), bias_config=bc(ns))
    yield "2-two-facets-group", compose(
        "pre_training_bias", data_config=csv_dc(ns),
        bias_config=ns.BiasConfig([1], ["Gender", "Age"], [[0], [40]], group_name="Occupation"),
        methods=["CI", "DPL", "CDDL"],
    )  # fmt: skip
    yield "3-post-training-threshold", compose(
        "post_training_bias", data_config=csv_dc(ns), bias_config=bc(ns), model_config=mc(ns),
        model_predicted_label_config=ns.ModelPredictedLabelConfig(probability_threshold=0.8),
    )  # fmt: skip
    yield "4-predicted-label-no-model", compose(
        "post_training_bias", data_config=csv_dc(ns, headers=HEADERS + ["Prediction"], predicted_label="Prediction"),
        bias_config=bc(ns), model_config=None,
        model_predicted_label_config=ns.ModelPredictedLabelConfig(probability_threshold=0.6), methods=["DPPL", "DI", "AD"],
    )  # fmt: skip
    yield "5-jsonlines-endpoint", compose(
        "bias",
        data_config=ns.DataConfig("s3://bkt/data/train.jsonl", "s3://bkt/clarify/out", label="Label", features="Features",
                                  headers=["Age", "Gender", "Income", "Occupation", "Target"], dataset_type="application/jsonlines"),
        bias_config=bc(ns),
        model_config=ns.ModelConfig(endpoint_name="prod-endpoint", content_type="application/jsonlines", content_template='{"Features":$features}'),
        model_predicted_label_config=ns.ModelPredictedLabelConfig(label="predicted_label", probability="probability"),
    )  # fmt: skip
    yield "6-shap-model-scores-int", compose(
        "explainability", data_config=csv_dc(ns), model_config=mc(ns),
        explainability_config=ns.SHAPConfig(baseline=[[35, 0, 4000, 1]], num_samples=100, agg_method="mean_abs", seed=42),
        model_scores=1,
    )  # fmt: skip
    yield "7-shap-and-pdp", compose(
        "explainability", data_config=csv_dc(ns), model_config=mc(ns),
        explainability_config=[ns.SHAPConfig(num_clusters=3), ns.PDPConfig(features=["Age", "Income"], grid_resolution=10)],
        model_scores=ns.ModelPredictedLabelConfig(probability=1, label_headers=["approved"]),
    )  # fmt: skip
    yield "8-pdp-only", compose(
        "explainability", data_config=csv_dc(ns), model_config=mc(ns), explainability_config=ns.PDPConfig(features=["Income"])
    )  # fmt: skip
    yield "9-bias-and-explainability", compose(
        "bias_and_explainability", data_config=csv_dc(ns), model_config=mc(ns),
        model_predicted_label_config=ns.ModelPredictedLabelConfig(probability=1, probability_threshold=0.5),
        explainability_config=[ns.SHAPConfig(num_clusters=1), ns.PDPConfig(top_k_features=2, grid_resolution=10)],
        bias_config=bc(ns), post_training_methods=["DPPL", "DI"],
    )  # fmt: skip
    yield "10-nlp", compose(
        "explainability",
        data_config=ns.DataConfig("s3://bkt/data/reviews.csv", "s3://bkt/clarify/nlp", label="Target", headers=["Target", "Rating", "Comments"]),
        model_config=ns.ModelConfig(model_name="my-nlp-model", instance_count=1, instance_type="ml.g4dn.xlarge"),
        explainability_config=ns.SHAPConfig(baseline=[[4, "[MASK]"]], num_samples=500, text_config=ns.TextConfig("token", "english")),
    )  # fmt: skip
    yield "11-computer-vision", compose(
        "explainability",
        data_config=ns.DataConfig("s3://bkt/images/", "s3://bkt/clarify/cv", dataset_type="application/x-image"),
        model_config=ns.ModelConfig(model_name="my-od-model", instance_count=1, instance_type="ml.g4dn.xlarge",
                                    content_type="image/jpeg", accept_type="application/json"),
        explainability_config=ns.SHAPConfig(num_samples=500, image_config=ns.ImageConfig(
            "OBJECT_DETECTION", num_segments=20, segment_compactness=5, max_objects=3, iou_threshold=0.5, context=1.0)),
        model_scores=ns.ModelPredictedLabelConfig(label_headers=["bird", "cat", "dog"], probability_threshold=0.5),
    )  # fmt: skip
    yield "12-time-series", compose(
        "explainability", data_config=ts_dc(ns), model_config=ts_mc(ns),
        explainability_config=ns.AsymmetricShapleyValueConfig("chronological", "fine_grained", 10, copy.deepcopy(ASV_BASELINE)),
    )  # fmt: skip
    # composition rules
    yield "report-first-bias-and-shap", compose(
        "bias_and_explainability", data_config=csv_dc(ns), model_config=mc(ns), model_predicted_label_config=None,
        explainability_config=ns.SHAPConfig(), bias_config=bc(ns),
    )  # fmt: skip
    yield "falsy-pre-training-methods", compose(
        "bias", data_config=csv_dc(ns), bias_config=bc(ns), model_config=mc(ns), model_predicted_label_config=None,
        pre_training_methods=None,
    )  # fmt: skip
    yield "method-string-verbatim", compose("pre_training_bias", data_config=csv_dc(ns), bias_config=bc(ns), methods="CI")
    yield "label-config-merged-threshold-top-level", compose(
        "post_training_bias", data_config=csv_dc(ns), bias_config=bc(ns), model_config=mc(ns),
        model_predicted_label_config=ns.ModelPredictedLabelConfig(label=0, probability_threshold=0.3),
    )  # fmt: skip
    yield "model-scores-string", compose(
        "explainability", data_config=csv_dc(ns), model_config=mc(ns), explainability_config=ns.SHAPConfig(),
        model_scores="score",
    )  # fmt: skip
    yield "pdp-next-to-shap-without-features", compose(
        "explainability", data_config=csv_dc(ns), model_config=mc(ns),
        explainability_config=[ns.PDPConfig(grid_resolution=5), ns.SHAPConfig(seed=1)],
    )  # fmt: skip


def config_cases(ns) -> Iterator[tuple[str, Any]]:
    """(id, config object) for the classes' own output: keys, order, defaults."""
    seg = ns.SegmentationConfig("Age", [["[1, 4]"]], config_name="age", display_aliases=["young"])
    yield "data-every-key", ns.DataConfig(
        "s3://bkt/data/train.csv", "s3://bkt/clarify/out", label="Target", headers=["Target", "A", "B"],
        excluded_columns=["B"], joinsource="id", facet_dataset_uri="s3://b/f.csv", facet_headers=["F"],
        predicted_label_dataset_uri="s3://b/p.csv", predicted_label_headers=["P"], predicted_label="P",
        segmentation_config=[seg],
    )  # fmt: skip
    yield "data-job-only-fields", ns.DataConfig("s3://bkt/data/train.csv", "s3://bkt/clarify/out", "s3://bkt/cfg", s3_compression_type="Gzip")  # fmt: skip
    yield "data-jsonlines-features-first", ns.DataConfig(
        "s3://bkt/data/train.csv", "s3://bkt/clarify/out", label="y", features="f", headers=["a"], dataset_type="application/jsonlines"
    )  # fmt: skip
    yield "segment-falsy-name-dropped", ns.SegmentationConfig(0, [["a"], ["b"]], config_name="")
    yield "segment-aliases-name-default", ns.SegmentationConfig("a", [["x"]], display_aliases=["X", "rest"])
    yield "bias-scalar-facet-value", ns.BiasConfig([1], "Age", 40)
    yield "bias-facet-list-group", ns.BiasConfig([1], ["Gender", "Age"], [[0], None], group_name="Occupation")
    yield "bias-facet-list-no-values", ns.BiasConfig([1], [1, 2])
    yield "model-shadow-endpoint", ns.ModelConfig(
        "m", 2, "ml.c5.xlarge", accept_type="application/jsonlines", content_type="application/jsonlines",
        content_template='{"f":$features}', custom_attributes="c", accelerator_type="ml.eia2.large",
        endpoint_name_prefix="ab-c", target_model="t.tar.gz",
    )  # fmt: skip
    yield "model-existing-endpoint-time-series", ns.ModelConfig(
        endpoint_name="ep", accept_type="application/json",
        time_series_model_config=ns.TimeSeriesModelConfig("predictions[*].mean"),
    )  # fmt: skip
    yield "model-image-jpg", ns.ModelConfig("m", 1, "t", content_type="image/jpg")
    yield "label-config-threshold-as-given", ns.ModelPredictedLabelConfig("l", 1, 1, ["a"])
    yield "shap-defaults", ns.SHAPConfig()
    yield "shap-every-key", ns.SHAPConfig(
        baseline="s3://b/base.csv", num_samples=10, agg_method="median", use_logit=True,
        save_local_shap_values=False, seed=3, features_to_explain=["a"],
    )  # fmt: skip
    yield "shap-text", ns.SHAPConfig(save_local_shap_values=False, text_config=ns.TextConfig("paragraph", "xx"))
    yield "text-norwegian", ns.TextConfig("sentence", "norwegian bokmål")
    yield "image-classification", ns.ImageConfig("IMAGE_CLASSIFICATION", context=0.5, num_segments=5)
    yield "pdp-defaults", ns.PDPConfig()
    yield "pdp-every-key", ns.PDPConfig(["a"], 5, 2)
    yield "asv-s3-baseline", ns.AsymmetricShapleyValueConfig("chronological", "fine_grained", 10, "s3://b/base.json")
    yield "time-series-int-locators", ns.TimeSeriesDataConfig(1, 2, 3, [4], [5, 6])
