"""AnalysisConfig: 12 worked examples of the SDK generator byte for byte, and the SDK
generator's composition rules and rejections (docs/configs.md)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from airflow_provider_clarify.analysis import AnalysisConfig as LazyAnalysisConfig
from airflow_provider_clarify.analysis.analysis_config import AnalysisConfig
from airflow_provider_clarify.analysis.configs import (
    AsymmetricShapleyValueConfig,
    BiasConfig,
    DataConfig,
    ImageConfig,
    ModelConfig,
    ModelPredictedLabelConfig,
    PDPConfig,
    SHAPConfig,
    TextConfig,
    TimeSeriesDataConfig,
    TimeSeriesJSONDatasetFormat,
    TimeSeriesModelConfig,
)
from airflow_provider_clarify.analysis.errors import ClarifyConfigError

HEADERS = ["Target", "Age", "Gender", "Income", "Occupation"]
REPORT = {"name": "report", "title": "Analysis Report"}
D = {"dataset_type": "text/csv", "headers": HEADERS, "label": "Target"}
B = {"label_values_or_threshold": [1], "facet": [{"name_or_index": "Gender", "value_or_threshold": [0]}]}
P = {
    "model_name": "my-xgb-model",
    "instance_type": "ml.m5.xlarge",
    "initial_instance_count": 1,
    "accept_type": "text/csv",
    "content_type": "text/csv",
}


def csv_dc(**overrides) -> DataConfig:
    kwargs = dict(
        s3_data_input_path="s3://bkt/data/train.csv", s3_output_path="s3://bkt/clarify/out", label="Target",
        headers=list(HEADERS), dataset_type="text/csv",
    )  # fmt: skip
    return DataConfig(**{**kwargs, **overrides})


def mc() -> ModelConfig:
    return ModelConfig(
        model_name="my-xgb-model", instance_count=1, instance_type="ml.m5.xlarge", accept_type="text/csv",
        content_type="text/csv",
    )  # fmt: skip


def bc() -> BiasConfig:
    return BiasConfig(label_values_or_threshold=[1], facet_name="Gender", facet_values_or_threshold=[0])


def ts_data_config(static_covariates=("[*].scv1",)) -> DataConfig:
    ts = TimeSeriesDataConfig(
        "[*].target", "[*].item_id", "[*].timestamp", ["[*].rts1"],
        list(static_covariates) or None, TimeSeriesJSONDatasetFormat.TIMESTAMP_RECORDS,
    )  # fmt: skip
    return DataConfig(
        "s3://bkt/ts/data.json", "s3://bkt/clarify/ts", dataset_type="application/json",
        headers=["item_id", "timestamp", "target", "rts1", "scv1"], time_series_data_config=ts,
    )  # fmt: skip


def ts_model_config() -> ModelConfig:
    return ModelConfig(
        model_name="my-forecaster", instance_count=1, instance_type="ml.m5.xlarge", content_type="application/json",
        accept_type="application/json", content_template='{"instances": $records}', record_template="$features_kvp",
        time_series_model_config=TimeSeriesModelConfig("predictions[*].mean"),
    )  # fmt: skip


ASV_BASELINE = {"target_time_series": "zero", "related_time_series": "mean", "static_covariates": {"item1": [0.0], "item2": [1.0]}}  # fmt: skip


def worked_examples():
    """(id, AnalysisConfig, expected dict in the expected key order) for the 12 reference examples."""
    yield "1-pre-training", AnalysisConfig.pre_training_bias(csv_dc(), bc()), {
        **D, **B, "methods": {"report": REPORT, "pre_training_bias": {"methods": "all"}},
    }  # fmt: skip
    yield "2-two-facets-group", AnalysisConfig.pre_training_bias(
        csv_dc(), BiasConfig([1], ["Gender", "Age"], [[0], [40]], group_name="Occupation"), methods=["CI", "DPL", "CDDL"]
    ), {
        **D, "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "Gender", "value_or_threshold": [0]}, {"name_or_index": "Age", "value_or_threshold": [40]}],
        "group_variable": "Occupation",
        "methods": {"report": REPORT, "pre_training_bias": {"methods": ["CI", "DPL", "CDDL"]}},
    }  # fmt: skip
    yield "3-post-training-threshold", AnalysisConfig.post_training_bias(
        csv_dc(), bc(), mc(), ModelPredictedLabelConfig(probability_threshold=0.8)
    ), {
        **D, **B, "methods": {"report": REPORT, "post_training_bias": {"methods": "all"}}, "predictor": P,
        "probability_threshold": 0.8,
    }  # fmt: skip
    yield "4-predicted-label-no-model", AnalysisConfig.post_training_bias(
        csv_dc(headers=HEADERS + ["Prediction"], predicted_label="Prediction"), bc(), None,
        ModelPredictedLabelConfig(probability_threshold=0.6), methods=["DPPL", "DI", "AD"],
    ), {
        "dataset_type": "text/csv", "headers": HEADERS + ["Prediction"], "label": "Target",
        "predicted_label": "Prediction", **B,
        "methods": {"report": REPORT, "post_training_bias": {"methods": ["DPPL", "DI", "AD"]}},
        "probability_threshold": 0.6,
    }  # fmt: skip
    yield "5-jsonlines-endpoint", AnalysisConfig.bias(
        DataConfig(
            "s3://bkt/data/train.jsonl", "s3://bkt/clarify/out", label="Label", features="Features",
            headers=["Age", "Gender", "Income", "Occupation", "Target"], dataset_type="application/jsonlines",
        ),
        bc(),
        ModelConfig(endpoint_name="prod-endpoint", content_type="application/jsonlines", content_template='{"Features":$features}'),
        ModelPredictedLabelConfig(label="predicted_label", probability="probability"),
    ), {
        "dataset_type": "application/jsonlines", "features": "Features",
        "headers": ["Age", "Gender", "Income", "Occupation", "Target"], "label": "Label", **B,
        "methods": {"report": REPORT, "pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": "all"}},
        "predictor": {
            "endpoint_name": "prod-endpoint", "content_type": "application/jsonlines",
            "content_template": '{"Features":$features}', "label": "predicted_label", "probability": "probability",
        },
    }  # fmt: skip
    yield "6-shap-model-scores-int", AnalysisConfig.explainability(
        csv_dc(), mc(), SHAPConfig(baseline=[[35, 0, 4000, 1]], num_samples=100, agg_method="mean_abs", seed=42),
        model_scores=1,
    ), {
        **D, "predictor": {**P, "label": 1},
        "methods": {"report": REPORT, "shap": {
            "use_logit": False, "save_local_shap_values": True, "baseline": [[35, 0, 4000, 1]], "num_samples": 100,
            "agg_method": "mean_abs", "seed": 42,
        }},
    }  # fmt: skip
    yield "7-shap-and-pdp", AnalysisConfig.explainability(
        csv_dc(), mc(), [SHAPConfig(num_clusters=3), PDPConfig(features=["Age", "Income"], grid_resolution=10)],
        model_scores=ModelPredictedLabelConfig(probability=1, label_headers=["approved"]),
    ), {
        **D, "predictor": {**P, "probability": 1, "label_headers": ["approved"]},
        "methods": {
            "report": REPORT, "shap": {"use_logit": False, "save_local_shap_values": True, "num_clusters": 3},
            "pdp": {"grid_resolution": 10, "top_k_features": 10, "features": ["Age", "Income"]},
        },
    }  # fmt: skip
    yield "8-pdp-only", AnalysisConfig.explainability(csv_dc(), mc(), PDPConfig(features=["Income"])), {
        **D, "predictor": P,
        "methods": {"report": REPORT, "pdp": {"grid_resolution": 15, "top_k_features": 10, "features": ["Income"]}},
    }  # fmt: skip
    yield "9-bias-and-explainability", AnalysisConfig.bias_and_explainability(
        csv_dc(), mc(), ModelPredictedLabelConfig(probability=1, probability_threshold=0.5),
        [SHAPConfig(num_clusters=1), PDPConfig(top_k_features=2, grid_resolution=10)], bc(),
        post_training_methods=["DPPL", "DI"],
    ), {
        **D, **B,
        "methods": {
            "report": REPORT, "pre_training_bias": {"methods": "all"}, "post_training_bias": {"methods": ["DPPL", "DI"]},
            "shap": {"use_logit": False, "save_local_shap_values": True, "num_clusters": 1},
            "pdp": {"grid_resolution": 10, "top_k_features": 2},
        },
        "predictor": {**P, "probability": 1}, "probability_threshold": 0.5,
    }  # fmt: skip
    yield "10-nlp", AnalysisConfig.explainability(
        DataConfig("s3://bkt/data/reviews.csv", "s3://bkt/clarify/nlp", label="Target", headers=["Target", "Rating", "Comments"]),
        ModelConfig(model_name="my-nlp-model", instance_count=1, instance_type="ml.g4dn.xlarge"),
        SHAPConfig(baseline=[[4, "[MASK]"]], num_samples=500, text_config=TextConfig("token", "english")),
    ), {
        "dataset_type": "text/csv", "headers": ["Target", "Rating", "Comments"], "label": "Target",
        "predictor": {"model_name": "my-nlp-model", "instance_type": "ml.g4dn.xlarge", "initial_instance_count": 1},
        "methods": {"report": REPORT, "shap": {
            "use_logit": False, "save_local_shap_values": True, "baseline": [[4, "[MASK]"]], "num_samples": 500,
            "text_config": {"granularity": "token", "language": "english"},
        }},
    }  # fmt: skip
    yield "11-computer-vision", AnalysisConfig.explainability(
        DataConfig("s3://bkt/images/", "s3://bkt/clarify/cv", dataset_type="application/x-image"),
        ModelConfig(model_name="my-od-model", instance_count=1, instance_type="ml.g4dn.xlarge", content_type="image/jpeg", accept_type="application/json"),
        SHAPConfig(num_samples=500, image_config=ImageConfig("OBJECT_DETECTION", num_segments=20, segment_compactness=5, max_objects=3, iou_threshold=0.5, context=1.0)),
        model_scores=ModelPredictedLabelConfig(label_headers=["bird", "cat", "dog"], probability_threshold=0.5),
    ), {
        "dataset_type": "application/x-image",
        "predictor": {
            "model_name": "my-od-model", "instance_type": "ml.g4dn.xlarge", "initial_instance_count": 1,
            "accept_type": "application/json", "content_type": "image/jpeg", "label_headers": ["bird", "cat", "dog"],
        },
        "probability_threshold": 0.5,
        "methods": {"report": REPORT, "shap": {
            "use_logit": False, "save_local_shap_values": True, "num_samples": 500,
            "image_config": {"model_type": "OBJECT_DETECTION", "num_segments": 20, "segment_compactness": 5,
                             "max_objects": 3, "iou_threshold": 0.5, "context": 1.0},
        }},
    }  # fmt: skip
    yield "12-time-series", AnalysisConfig.explainability(
        ts_data_config(), ts_model_config(),
        AsymmetricShapleyValueConfig("chronological", "fine_grained", 10, dict(ASV_BASELINE)),
    ), {
        "dataset_type": "application/json", "headers": ["item_id", "timestamp", "target", "rts1", "scv1"],
        "time_series_data_config": {
            "target_time_series": "[*].target", "item_id": "[*].item_id", "timestamp": "[*].timestamp",
            "related_time_series": ["[*].rts1"], "static_covariates": ["[*].scv1"], "dataset_format": "timestamp_records",
        },
        "predictor": {
            "model_name": "my-forecaster", "instance_type": "ml.m5.xlarge", "initial_instance_count": 1,
            "accept_type": "application/json", "content_type": "application/json",
            "content_template": '{"instances": $records}', "record_template": "$features_kvp",
            "time_series_predictor_config": {"forecast": "predictions[*].mean"},
        },
        "methods": {"report": REPORT, "asymmetric_shapley_value": {
            "direction": "chronological", "granularity": "fine_grained", "num_samples": 10, "baseline": ASV_BASELINE,
        }},
    }  # fmt: skip


EXAMPLES = list(worked_examples())


@pytest.mark.parametrize(("config", "expected"), [e[1:] for e in EXAMPLES], ids=[e[0] for e in EXAMPLES])
def test_worked_example_byte_for_byte(config, expected):
    assert json.dumps(config.to_dict()) == json.dumps(expected)
    config.validate()  # every worked example passes the schema


def test_to_dict_returns_fresh_copies():
    config = AnalysisConfig.pre_training_bias(csv_dc(), bc())
    first = config.to_dict()
    first["methods"]["report"]["title"] = "changed"
    first["headers"].append("x")
    assert config.to_dict()["methods"]["report"]["title"] == "Analysis Report"
    assert config.data_config.headers == HEADERS


def test_lazy_package_export_is_the_same_class():
    assert LazyAnalysisConfig is AnalysisConfig


class TestMethods:
    @pytest.mark.parametrize("falsy", [None, "", []])
    def test_falsy_method_arguments_drop_the_block(self, falsy):
        config = AnalysisConfig.bias(csv_dc(), bc(), mc(), pre_training_methods=falsy)
        assert list(config.to_dict()["methods"]) == ["report", "post_training_bias"]

    def test_no_method_at_all(self):
        with pytest.raises(ClarifyConfigError, match="must have at least one working method"):
            AnalysisConfig.bias(csv_dc(), bc(), mc(), pre_training_methods=None, post_training_methods=[])
        with pytest.raises(ClarifyConfigError, match="must have at least one working method"):
            AnalysisConfig.pre_training_bias(csv_dc(), bc(), methods="")
        with pytest.raises(ClarifyConfigError, match="must have at least one working method"):
            AnalysisConfig.explainability(csv_dc(), mc(), [])

    def test_method_values_are_written_verbatim(self):
        assert AnalysisConfig.pre_training_bias(csv_dc(), bc(), "CI").to_dict()["methods"][
            "pre_training_bias"
        ] == {"methods": "CI"}

    def test_report_block_is_always_first(self):
        config = AnalysisConfig.bias_and_explainability(csv_dc(), mc(), None, SHAPConfig(), bc())
        assert list(config.to_dict()["methods"]) == [
            "report",
            "pre_training_bias",
            "post_training_bias",
            "shap",
        ]


class TestExplainabilityMerging:
    def test_duplicates(self):
        with pytest.raises(ClarifyConfigError, match="Duplicate explainability configs are provided"):
            AnalysisConfig.explainability(csv_dc(), mc(), [SHAPConfig(), SHAPConfig(seed=1)])

    def test_empty_list_with_bias_methods(self):
        with pytest.raises(ClarifyConfigError, match="Please provide at least one explainability config"):
            AnalysisConfig.bias_and_explainability(csv_dc(), mc(), None, [], bc())

    @pytest.mark.parametrize("explain", [PDPConfig(), [PDPConfig(top_k_features=3)]], ids=["single", "list"])
    def test_pdp_needs_features_without_shap(self, explain):
        with pytest.raises(
            ClarifyConfigError, match="PDP features must be provided when ShapConfig is not provided"
        ):
            AnalysisConfig.explainability(csv_dc(), mc(), explain)

    def test_pdp_without_features_is_fine_next_to_shap(self):
        methods = AnalysisConfig.explainability(csv_dc(), mc(), [PDPConfig(), SHAPConfig()]).to_dict()[
            "methods"
        ]
        assert list(methods) == ["report", "pdp", "shap"]

    def test_asv_is_refused_for_tabular_data(self):
        with pytest.raises(
            ClarifyConfigError,
            match="Please do not provide Asymmetric Shapley Value configs for non-TimeSeries",
        ):
            AnalysisConfig.explainability(csv_dc(), mc(), [AsymmetricShapleyValueConfig()])
        with pytest.raises(ClarifyConfigError, match="Please provide a TimeSeriesDataConfig to DataConfig"):
            AnalysisConfig.explainability(csv_dc(), mc(), AsymmetricShapleyValueConfig())

    @pytest.mark.parametrize(
        "explain", [(SHAPConfig(),), {"shap": {}}, TextConfig("token", "en"), [SHAPConfig(), "pdp"]]
    )
    def test_wrong_types_are_config_errors(self, explain):
        with pytest.raises(ClarifyConfigError, match="explainability_config"):
            AnalysisConfig.explainability(csv_dc(), mc(), explain)


class TestPredictor:
    def test_explainability_without_model_config(self):
        # The SDK crashes with AttributeError here; we say what is missing.
        with pytest.raises(
            ClarifyConfigError, match="model_config must be provided when explainability methods are selected"
        ):
            AnalysisConfig.explainability(csv_dc(), None, SHAPConfig())
        with pytest.raises(
            ClarifyConfigError, match="model_config must be provided when explainability methods are selected"
        ):
            AnalysisConfig.bias_and_explainability(
                csv_dc(predicted_label="Target"), None, None, SHAPConfig(), bc()
            )

    @pytest.mark.parametrize("factory", [AnalysisConfig.post_training_bias, AnalysisConfig.bias])
    def test_post_training_needs_model_or_predicted_label(self, factory):
        with pytest.raises(
            ClarifyConfigError, match="`predicted_label_dataset_uri` or `predicted_label` are not provided"
        ):
            factory(csv_dc(), bc())

    def test_predicted_label_dataset_replaces_the_model(self):
        dc = csv_dc(
            predicted_label_dataset_uri="s3://bkt/p.csv", predicted_label_headers=["P"], predicted_label="P"
        )
        config = AnalysisConfig.post_training_bias(
            dc, bc(), model_predicted_label_config=ModelPredictedLabelConfig(label="x")
        )
        assert "predictor" not in config.to_dict()  # label config silently dropped without a predictor
        assert config.needs_model is False

    def test_label_config_merges_into_predictor_and_threshold_goes_top_level(self):
        config = AnalysisConfig.post_training_bias(
            csv_dc(), bc(), mc(), ModelPredictedLabelConfig(label=0, probability_threshold=0.3)
        )
        d = config.to_dict()
        assert list(d) == ["dataset_type", "headers", "label", "label_values_or_threshold", "facet", "methods", "predictor", "probability_threshold"]  # fmt: skip
        assert d["predictor"] == {**P, "label": 0}

    def test_bare_string_model_scores_becomes_predictor_label(self):
        d = AnalysisConfig.explainability(csv_dc(), mc(), SHAPConfig(), model_scores="score").to_dict()
        assert d["predictor"]["label"] == "score"

    def test_non_model_config_objects_are_refused(self):
        with pytest.raises(ClarifyConfigError, match="Expected a ModelConfig or None, got dict"):
            AnalysisConfig.post_training_bias(csv_dc(predicted_label="Target"), bc(), {"model_name": "m"})
        with pytest.raises(ClarifyConfigError, match="model_predicted_label_config"):
            AnalysisConfig.post_training_bias(csv_dc(), bc(), mc(), {"label": 0})
        with pytest.raises(ClarifyConfigError, match="Expected a DataConfig"):
            AnalysisConfig.pre_training_bias({"dataset_type": "text/csv"}, bc())
        with pytest.raises(ClarifyConfigError, match="Expected a BiasConfig"):
            AnalysisConfig.pre_training_bias(csv_dc(), None)


class TestTimeSeries:
    def test_bias_refused_for_time_series(self):
        for args in [
            (ts_data_config(), ts_model_config(), None, AsymmetricShapleyValueConfig(), bc()),
            (csv_dc(), ts_model_config(), None, SHAPConfig(), bc()),
        ]:
            with pytest.raises(ClarifyConfigError, match="Bias metrics are unsupported for time series"):
                AnalysisConfig.bias_and_explainability(*args)

    def test_asv_needs_both_time_series_configs(self):
        with pytest.raises(ClarifyConfigError, match="Please provide a TimeSeriesModelConfig to ModelConfig"):
            AnalysisConfig.explainability(ts_data_config(), mc(), AsymmetricShapleyValueConfig())

    def test_time_series_configs_need_asv(self):
        with pytest.raises(ClarifyConfigError, match="please do not provide a TimeSeriesDataConfig"):
            AnalysisConfig.explainability(ts_data_config(), ts_model_config(), SHAPConfig())
        with pytest.raises(ClarifyConfigError, match="please do not provide a TimeSeriesModelConfig"):
            AnalysisConfig.explainability(csv_dc(), ts_model_config(), SHAPConfig())

    @pytest.mark.parametrize(
        ("data_config", "static", "match"),
        [
            (lambda: ts_data_config(()), {"i1": [1.0]}, "no static covariate columns are provided"),
            (ts_data_config, {"i1": [1.0, 2.0]}, "Length of baseline entry for i1 does not match"),
            (ts_data_config, {"i1": 1.0}, "Baseline entry for i1 must be a list"),
            (ts_data_config, [1.0], "Expected a dict mapping each item id"),
        ],
    )
    def test_static_covariate_baselines(self, data_config, static, match):
        asv = AsymmetricShapleyValueConfig(baseline={"static_covariates": static})
        with pytest.raises(ClarifyConfigError, match=match):
            AnalysisConfig.explainability(data_config(), ts_model_config(), asv)


class TestFacts:
    def test_paths_and_dataset_type_come_from_data_config(self):
        config = AnalysisConfig.explainability(
            DataConfig("s3://b/img/", "s3://b/out", "s3://b/cfg", dataset_type="application/x-image"),
            mc(), SHAPConfig(),
        )  # fmt: skip
        assert (config.dataset_type, config.s3_data_input_path, config.s3_output_path) == (
            "application/x-image", "s3://b/img/", "s3://b/out",
        )  # fmt: skip
        assert config.s3_analysis_config_output_path == "s3://b/cfg"
        assert config.s3_compression_type == "None"
        assert config.needs_model is True

    @pytest.mark.parametrize(
        ("config", "needs_model", "prefix"),
        [
            (lambda: AnalysisConfig.pre_training_bias(csv_dc(), bc()), False, "Clarify-Pretraining-Bias"),
            (lambda: AnalysisConfig.post_training_bias(csv_dc(), bc(), mc()), True, "Clarify-Posttraining-Bias"),
            (lambda: AnalysisConfig.post_training_bias(csv_dc(predicted_label="P"), bc()), False, "Clarify-Posttraining-Bias"),
            (lambda: AnalysisConfig.bias(csv_dc(), bc(), mc()), True, "Clarify-Bias"),
            (lambda: AnalysisConfig.explainability(csv_dc(), mc(), SHAPConfig()), True, "Clarify-Explainability"),
            (lambda: AnalysisConfig.bias_and_explainability(csv_dc(), mc(), None, SHAPConfig(), bc()), True, "Clarify-Bias-And-Explainability"),
        ],
    )  # fmt: skip
    def test_needs_model_and_job_name_prefix(self, config, needs_model, prefix):
        built = config()
        assert built.needs_model is needs_model
        assert built.default_job_name_prefix == prefix


class TestFromDict:
    def test_round_trip_and_facts(self):
        raw = {
            "dataset_type": "text/csv",
            "dataset_uri": "s3://b/d.csv",
            "methods": {"pre_training_bias": {"methods": "all"}},
        }
        config = AnalysisConfig.from_dict(raw, s3_output_path="s3://b/out")
        raw["methods"]["pdp"] = {}  # the config keeps its own copy
        assert config.to_dict() == {"dataset_type": "text/csv", "dataset_uri": "s3://b/d.csv", "methods": {"pre_training_bias": {"methods": "all"}}}  # fmt: skip
        assert config.data_config is None
        assert (config.dataset_type, config.s3_data_input_path, config.s3_output_path) == ("text/csv", "s3://b/d.csv", "s3://b/out")  # fmt: skip
        assert config.needs_model is False
        assert config.default_job_name_prefix == "Clarify-Pretraining-Bias"
        config.validate()

    def test_without_paths(self):
        config = AnalysisConfig.from_dict(
            {"dataset_type": "text/csv", "methods": {"shap": {}, "post_training_bias": {"methods": "all"}}}
        )
        assert config.s3_data_input_path is None
        assert config.s3_output_path is None
        assert config.needs_model is True
        assert config.default_job_name_prefix == "Clarify-Bias-And-Explainability"

    def test_validate_lists_every_problem(self):
        config = AnalysisConfig.from_dict(
            {"dataset_type": "text/tsv", "methods": {"shap": {"num_samples": 5.0}}, "foo": 1}
        )
        with pytest.raises(ClarifyConfigError) as err:
            config.validate()
        assert [path for path, _ in err.value.problems] == ["dataset_type", "methods.shap.num_samples", "foo"]

    @pytest.mark.parametrize("bad", [None, [], "{}"])
    def test_not_a_dict(self, bad):
        with pytest.raises(ClarifyConfigError, match="Expected a dict"):
            AnalysisConfig.from_dict(bad)


def test_sdk_built_but_schema_rejected_config_builds_then_fails_validate():
    config = AnalysisConfig.post_training_bias(
        csv_dc(), BiasConfig([1], "Age", 40), mc(), ModelPredictedLabelConfig(probability_threshold=1)
    )
    assert config.to_dict()["probability_threshold"] == 1
    with pytest.raises(ClarifyConfigError) as err:
        config.validate()
    assert err.value.problems == [
        (
            "facet[0].value_or_threshold",
            "40 should be instance of 'list' (a list of a number or a string (not a boolean)); wrap it: [40]",
        ),
        (
            "probability_threshold",
            "1 should be instance of 'float' (a number with a decimal point such as 0.5 or 1.0); write 1.0",
        ),
    ]


# -- fuzzing the factories: only ClarifyConfigError/TypeError may escape --------------------------------
_pieces = {
    "data_config": st.sampled_from([None, "x", csv_dc(), csv_dc(predicted_label="P"), ts_data_config()]),
    "bias_config": st.sampled_from([None, 1, bc(), BiasConfig([1], ["a", "b"])]),
    "model_config": st.sampled_from([None, "m", mc(), ts_model_config(), {"model_name": "m"}]),
    "label": st.sampled_from([None, 0, "l", 1.5, [], ModelPredictedLabelConfig(probability_threshold=0.5)]),
    "explain": st.sampled_from(
        [
            None,
            [],
            SHAPConfig(),
            PDPConfig(),
            [PDPConfig(), SHAPConfig()],
            [SHAPConfig(), SHAPConfig()],
            AsymmetricShapleyValueConfig(),
            [AsymmetricShapleyValueConfig()],
            (SHAPConfig(),),
            "shap",
            [None],
        ]
    ),  # fmt: skip
    "methods": st.sampled_from(["all", None, "", [], ["CI"], 0, 5, {"a": 1}]),
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.fixed_dictionaries(_pieces),
    st.sampled_from(["pre", "post", "bias", "explain", "both"]),
    st.sampled_from(["all", None, ["DI"]]),
)
def test_fuzz_factories_raise_only_typed_errors(p, kind, post):
    calls = {
        "pre": lambda: AnalysisConfig.pre_training_bias(p["data_config"], p["bias_config"], p["methods"]),
        "post": lambda: AnalysisConfig.post_training_bias(p["data_config"], p["bias_config"], p["model_config"], p["label"], post),
        "bias": lambda: AnalysisConfig.bias(p["data_config"], p["bias_config"], p["model_config"], p["label"], p["methods"], post),
        "explain": lambda: AnalysisConfig.explainability(p["data_config"], p["model_config"], p["explain"], p["label"]),
        "both": lambda: AnalysisConfig.bias_and_explainability(p["data_config"], p["model_config"], p["label"], p["explain"], p["bias_config"], p["methods"], post),
    }  # fmt: skip
    try:
        config = calls[kind]()
        json.dumps(config.to_dict())
        _ = config.needs_model, config.default_job_name_prefix, config.dataset_type, repr(config)
        config.validate()
    except (ClarifyConfigError, TypeError):
        pass
