"""Preflight: the semantic checks (docs/configs.md, preflight) on analysis-config dicts.

Each test starts from a valid config, breaks one rule and asserts the problem's JSON path, severity
and that the message names the value and the fix. Metric names and their case follow smclarify
(docs/bias-metrics.md: exact, case-sensitive membership in the registered list).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from airflow_provider_clarify.analysis.analysis_config import AnalysisConfig
from airflow_provider_clarify.analysis.configs import BiasConfig, DataConfig
from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.preflight import Problem, check_preflight, preflight_problems

HEADERS = ["sex", "age", "housing", "income", "approved", "predicted", "id"]
PREDICTOR = {"model_name": "credit", "instance_type": "ml.m5.xlarge", "initial_instance_count": 1}


def bias_config(**changes: Any) -> dict:
    """A valid pre-training bias config (CSV, headers given, group_variable set)."""
    config = {
        "dataset_type": "text/csv",
        "headers": HEADERS,
        "label": "approved",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "sex", "value_or_threshold": ["female"]}],
        "group_variable": "housing",
        "methods": {
            "report": {"name": "report", "title": "Analysis Report"},
            "pre_training_bias": {"methods": "all"},
        },
    }
    config.update(changes)
    return config


def shap_config(**changes: Any) -> dict:
    """A valid explainability config with a shadow-endpoint predictor."""
    config = {
        "dataset_type": "text/csv",
        "headers": HEADERS,
        "label": "approved",
        "methods": {"shap": {"num_samples": 50, "agg_method": "mean_abs", "save_local_shap_values": False}},
        "predictor": dict(PREDICTOR),
    }
    config.update(changes)
    return config


def with_methods(config: dict, **methods: Any) -> dict:
    config = copy.deepcopy(config)
    config["methods"] = methods
    return config


def errors(config: Any, **kwargs: Any) -> dict[str, str]:
    return {p.path: p.message for p in preflight_problems(config, **kwargs) if p.is_error}


def warnings(config: Any, **kwargs: Any) -> dict[str, str]:
    return {p.path: p.message for p in preflight_problems(config, **kwargs) if not p.is_error}


# --- valid configs pass ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        bias_config(),
        shap_config(),
        bias_config(
            predicted_label="predicted",
            methods={"post_training_bias": {"methods": ["DPPL", "DI", "CDDPL"]}},
        ),
        shap_config(predictor={"endpoint_name": "credit-prod"}),
    ],
    ids=["pre-training", "shap", "post-training-with-predicted-label", "existing-endpoint"],
)
def test_valid_configs_have_no_problem(config):
    assert preflight_problems(config) == []
    assert check_preflight(config) == []


# --- metric names (item 2) --------------------------------------------------------------------------------


def test_unknown_metric_name_is_an_error_naming_path_value_and_accepted_names():
    config = bias_config(methods={"pre_training_bias": {"methods": ["NOPE"]}})
    message = errors(config)["methods.pre_training_bias.methods[0]"]
    assert "'NOPE'" in message
    assert "Invalid metric_name" in message
    assert "CI, DPL, KL, JS, LP, TVD, KS, CDDL" in message


def test_metric_names_are_case_sensitive_like_smclarify():
    config = bias_config(methods={"pre_training_bias": {"methods": ["CI", "dpl"]}})
    found = errors(config)
    assert list(found) == ["methods.pre_training_bias.methods[1]"]
    assert "write 'DPL'" in found["methods.pre_training_bias.methods[1]"]


def test_a_metric_of_the_other_stage_says_where_it_belongs():
    config = bias_config(
        predicted_label="predicted",
        methods={"pre_training_bias": {"methods": ["DPPL"]}, "post_training_bias": {"methods": ["KL"]}},
    )
    found = errors(config)
    assert "move it to methods.post_training_bias.methods" in found["methods.pre_training_bias.methods[0]"]
    assert "move it to methods.pre_training_bias.methods" in found["methods.post_training_bias.methods[0]"]


def test_every_registered_name_of_both_stages_is_accepted():
    pre = ["CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"]
    post = ["DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "CDDPL", "TE", "FT", "GE"]
    config = bias_config(
        predicted_label="predicted",
        methods={"pre_training_bias": {"methods": pre}, "post_training_bias": {"methods": post}},
    )
    assert errors(config) == {}
    assert errors(config, compute="local") == {}


@pytest.mark.parametrize(
    ("methods", "fragment"),
    [
        ("ALL", "write 'all' in lower case"),
        ("CI", "write ['CI']"),
        ([], "computes no metric"),
        (["all", "CI"], "'all' only works on its own"),
    ],
)
def test_malformed_method_selections(methods, fragment):
    config = bias_config(methods={"pre_training_bias": {"methods": methods}})
    found = errors(config)
    assert len(found) == 1
    assert fragment in next(iter(found.values()))
    assert next(iter(found)).startswith("methods.pre_training_bias.methods")


def test_all_as_string_or_single_element_list_is_accepted():
    assert errors(bias_config(methods={"pre_training_bias": {"methods": ["all"]}})) == {}
    assert errors(bias_config(methods={"pre_training_bias": {"methods": "all"}})) == {}


def test_duplicate_metric_is_only_a_warning():
    config = bias_config(methods={"pre_training_bias": {"methods": ["CI", "CI"]}})
    assert errors(config) == {}
    assert "listed twice" in warnings(config)["methods.pre_training_bias.methods[1]"]


def test_explicit_sd_and_ge_warn_on_sagemaker_only():
    config = bias_config(
        predicted_label="predicted", methods={"post_training_bias": {"methods": ["SD", "GE"]}}
    )
    found = warnings(config)
    assert set(found) == {"methods.post_training_bias.methods[0]", "methods.post_training_bias.methods[1]"}
    assert "older Clarify container builds" in found["methods.post_training_bias.methods[0]"]
    assert warnings(config, compute="local") == {}


def test_methods_without_any_analysis_is_an_error():
    found = errors(bias_config(methods={"report": {"name": "report"}}))
    assert "requests no analysis" in found["methods"]
    assert "requests no analysis" in errors(bias_config(methods={}))["methods"]


# --- bias inputs (item 4) -----------------------------------------------------------------------------------


def test_bias_without_label_values_and_facet_lists_all_three_problems():
    config = bias_config()
    for key in ("label", "label_values_or_threshold", "facet"):
        del config[key]
    found = errors(config)
    assert set(found) == {"label", "label_values_or_threshold", "facet"}
    assert "e.g. [1]" in found["label_values_or_threshold"]


def test_empty_label_values_and_facets_are_errors():
    found = errors(bias_config(label_values_or_threshold=[], facet=[]))
    assert "is []" in found["label_values_or_threshold"]
    assert "is []" in found["facet"]


def test_label_index_zero_counts_as_given():
    config = bias_config(label=4)
    assert errors(config) == {}


@pytest.mark.parametrize(
    ("methods", "metric"),
    [
        ({"pre_training_bias": {"methods": "all"}}, "CDDL"),
        ({"pre_training_bias": {"methods": ["CDDL"]}}, "CDDL"),
        ({"post_training_bias": {"methods": "all"}}, "CDDPL"),
    ],
)
def test_group_metric_without_group_variable_is_a_warning_not_an_error(methods, metric):
    config = bias_config(predicted_label="predicted", methods=methods)
    del config["group_variable"]
    assert errors(config) == {}
    message = warnings(config)["group_variable"]
    assert metric in message
    assert "error entry" in message


def test_no_group_warning_when_the_group_metric_is_not_requested():
    config = bias_config(methods={"pre_training_bias": {"methods": ["CI", "DPL"]}})
    del config["group_variable"]
    assert preflight_problems(config) == []


def test_bias_with_time_series_is_an_error():
    config = bias_config(
        dataset_type="application/json",
        features="[*].f",
        time_series_data_config={"target_time_series": 1, "item_id": 0, "timestamp": 2},
    )
    assert "cannot be combined with time_series_data_config" in errors(config)["methods"]


# --- column references when headers are given -----------------------------------------------------------------


def test_columns_missing_from_headers_are_errors_with_a_case_hint():
    config = bias_config(
        label="Approved",
        facet=[{"name_or_index": "gender"}, {"name_or_index": 1}, {"name_or_index": 9}],
        group_variable="region",
        excluded_columns=["id", "zip"],
    )
    found = errors(config)
    assert "did you mean 'approved'" in found["label"]
    assert "'gender' is not one of the headers" in found["facet[0].name_or_index"]
    assert "facet[1].name_or_index" not in found
    assert "index 9 is outside the 7 headers (0-6)" in found["facet[2].name_or_index"]
    assert "'region'" in found["group_variable"]
    assert "'zip'" in found["excluded_columns[1]"]
    assert "excluded_columns[0]" not in found


def test_facets_of_a_separate_dataset_are_checked_against_facet_headers():
    config = bias_config(
        facet_dataset_uri="s3://bkt/facets.csv",
        facet_headers=["id", "gender"],
        facet=[{"name_or_index": "gender"}, {"name_or_index": "sex"}],
        joinsource_name_or_index="id",
    )
    found = errors(config)
    assert list(found) == ["facet[1].name_or_index"]
    assert "facet_headers" in found["facet[1].name_or_index"]


def test_columns_are_not_checked_for_jsonlines_or_without_headers():
    no_headers = bias_config(label="whatever")
    del no_headers["headers"]
    assert errors(no_headers) == {}
    jsonl = bias_config(dataset_type="application/jsonlines", features="features", label="data.label")
    assert errors(jsonl) == {}


def test_parquet_columns_are_located_by_name():
    found = errors(bias_config(dataset_type="application/x-parquet", label=4))
    assert "Parquet columns are located by name" in found["label"]


def test_explained_and_plotted_features_must_be_headers():
    config = shap_config()
    config["methods"]["shap"]["features_to_explain"] = ["age", "salary"]
    config["methods"]["pdp"] = {"grid_resolution": 10, "features": ["income", 42]}
    found = errors(config)
    assert set(found) == {"methods.shap.features_to_explain[1]", "methods.pdp.features[1]"}


# --- predictor (item 5) ---------------------------------------------------------------------------------------


def test_shap_without_predictor_is_an_error_on_sagemaker_but_not_locally():
    config = shap_config()
    del config["predictor"]
    assert "shap needs model predictions" in errors(config)["predictor"]
    assert errors(config, compute="local") == {}


def test_post_training_without_predictions_needs_a_predictor():
    config = bias_config(methods={"post_training_bias": {"methods": "all"}})
    message = errors(config)["predictor"]
    assert "post_training_bias" in message
    assert "predicted_label" in message
    assert "predictor" not in errors(bias_config(predicted_label="predicted", methods=config["methods"]))
    assert errors(config, compute="local") == {}


def test_endpoint_name_and_model_name_are_exclusive():
    config = shap_config(predictor={**PREDICTOR, "endpoint_name": "prod"})
    message = errors(config)["predictor"]
    assert "'prod'" in message
    assert "'credit'" in message
    assert "not both" in message


def test_predictor_must_name_a_model():
    config = shap_config(predictor={"content_type": "text/csv"})
    assert "names no model" in errors(config)["predictor"]
    assert errors(config, compute="local") == {}


def test_model_name_needs_instance_type_and_count():
    config = shap_config(predictor={"model_name": "credit"})
    found = errors(config)
    assert set(found) == {"predictor.instance_type", "predictor.initial_instance_count"}
    assert "'credit'" in found["predictor.instance_type"]


@pytest.mark.parametrize("prefix", ["abcdefghijklmnopqrstuvwx", "ab_c", "ab-", "a--"])
def test_bad_endpoint_name_prefixes(prefix):
    config = shap_config(predictor={**PREDICTOR, "endpoint_name_prefix": prefix})
    found = errors(config)
    assert repr(prefix) in found["predictor.endpoint_name_prefix"]
    assert "1-23" in found["predictor.endpoint_name_prefix"]


def test_good_endpoint_name_prefix_and_ignored_prefix_with_an_endpoint():
    assert errors(shap_config(predictor={**PREDICTOR, "endpoint_name_prefix": "a" * 23})) == {}
    config = shap_config(predictor={"endpoint_name": "prod", "endpoint_name_prefix": "clarify"})
    assert errors(config) == {}
    assert "ignored with endpoint_name" in warnings(config)["predictor.endpoint_name_prefix"]


def test_jsonlines_model_needs_a_features_template():
    config = shap_config(dataset_type="application/jsonlines", features="features", label="label")
    assert "$features" in errors(config)["predictor.content_template"]
    config["predictor"]["content_template"] = '{"instances":$features}'
    assert errors(config) == {}


def test_json_model_needs_records_template_and_record_template():
    config = shap_config(predictor={**PREDICTOR, "content_type": "application/json"})
    found = errors(config)
    assert "$records" in found["predictor.content_template"]
    assert "is missing" in found["predictor.record_template"]
    config["predictor"].update(content_template='{"instances": $records}', record_template="$features_kvp")
    assert errors(config) == {}


def test_parquet_needs_an_explicit_content_type():
    config = shap_config(dataset_type="application/x-parquet")
    assert "application/x-parquet" in errors(config)["predictor.content_type"]


def test_custom_attributes_and_instance_count_limits():
    config = shap_config(
        predictor={**PREDICTOR, "initial_instance_count": 0, "custom_attributes": "x" * 1025}
    )
    found = errors(config)
    assert "at least 1" in found["predictor.initial_instance_count"]
    assert "1024" in found["predictor.custom_attributes"]


def test_image_explainability_needs_label_headers():
    config = shap_config(dataset_type="application/x-image", dataset_uri="s3://bkt/images/")
    del config["headers"]
    config["methods"]["shap"]["image_config"] = {"model_type": "IMAGE_CLASSIFICATION"}
    assert "class names" in errors(config)["predictor.label_headers"]


# --- explainability (item 6) ---------------------------------------------------------------------------------


def test_baseline_and_num_clusters_are_exclusive():
    config = shap_config()
    config["methods"]["shap"].update(baseline=[[0, 1, 2]], num_clusters=3)
    message = errors(config)["methods.shap.num_clusters"]
    assert "3" in message
    assert "Remove one of them" in message


def test_empty_baseline_and_non_positive_counts():
    config = shap_config()
    config["methods"]["shap"].update(baseline=[], num_samples=0)
    found = errors(config)
    assert "no rows" in found["methods.shap.baseline"]
    assert "0 must be at least 1" in found["methods.shap.num_samples"]


@pytest.mark.parametrize(
    ("extra", "dataset_type"),
    [
        ({"text_config": {"granularity": "token", "language": "english"}}, "text/csv"),
        ({"image_config": {"model_type": "OBJECT_DETECTION"}}, "application/x-image"),
    ],
)
def test_features_to_explain_is_tabular_only(extra, dataset_type):
    config = shap_config(dataset_type=dataset_type)
    del config["headers"]
    config["predictor"]["label_headers"] = ["a", "b"]
    config["methods"]["shap"].update(features_to_explain=["age"], **extra)
    message = errors(config)["methods.shap.features_to_explain"]
    assert "['age']" in message
    assert next(iter(extra)) in message


def test_image_config_needs_image_data_and_a_known_model_type():
    config = shap_config()
    config["methods"]["shap"]["image_config"] = {"model_type": "SEGMENTATION"}
    found = errors(config)
    assert "application/x-image" in found["methods.shap.image_config"]
    assert "'SEGMENTATION'" in found["methods.shap.image_config.model_type"]


def test_pdp_without_shap_needs_features_and_ignores_top_k():
    config = with_methods(shap_config(), pdp={"grid_resolution": 10, "top_k_features": 5})
    assert "list the features" in errors(config)["methods.pdp.features"]
    assert "ignored without shap" in warnings(config)["methods.pdp.top_k_features"]
    ok = with_methods(shap_config(), pdp={"grid_resolution": 10, "features": ["age"]})
    assert preflight_problems(ok) == []
    with_shap = with_methods(shap_config(), shap={"num_samples": 10}, pdp={"grid_resolution": 10})
    assert preflight_problems(with_shap) == []


def time_series_config(**asv: Any) -> dict:
    return {
        "dataset_type": "application/json",
        "time_series_data_config": {
            "target_time_series": "[].target",
            "item_id": "[].id",
            "timestamp": "[].ts",
            "dataset_format": "timestamp_records",
        },
        "methods": {
            "asymmetric_shapley_value": {"direction": "chronological", "granularity": "timewise", **asv}
        },
        "predictor": {
            **PREDICTOR,
            "content_type": "application/json",
            "content_template": "$records",
            "record_template": "$features",
            "time_series_predictor_config": {"forecast": "mean"},
        },
    }


def test_time_series_rules():
    assert preflight_problems(time_series_config()) == []
    fine = time_series_config(granularity="fine_grained", direction="bidirectional")
    found = errors(fine)
    assert "needs num_samples" in found["methods.asymmetric_shapley_value.num_samples"]
    assert "'bidirectional'" in found["methods.asymmetric_shapley_value.direction"]
    assert (
        "only used with granularity 'fine_grained'"
        in errors(time_series_config(num_samples=5))["methods.asymmetric_shapley_value.num_samples"]
    )
    no_series = time_series_config()
    del no_series["time_series_data_config"]
    del no_series["predictor"]["time_series_predictor_config"]
    found = errors(no_series)
    assert {"time_series_data_config", "predictor.time_series_predictor_config"} <= set(found)


def test_time_series_locators_and_dataset_format():
    config = time_series_config()
    del config["time_series_data_config"]["dataset_format"]
    assert "dataset_format" in errors(config)["time_series_data_config.dataset_format"]
    config["time_series_data_config"] = {
        "target_time_series": 2,
        "item_id": 0,
        "timestamp": 1,
        "dataset_format": "columns",
    }
    assert "must not be set" in errors(config)["time_series_data_config.dataset_format"]
    config = time_series_config()
    config["dataset_type"] = "text/csv"
    assert "application/json" in errors(config)["time_series_data_config"]


def test_time_series_with_shap_is_an_error():
    config = time_series_config()
    config["methods"] = {"shap": {"num_samples": 5}}
    assert "asymmetric_shapley_value" in errors(config)["time_series_data_config"]


# --- dataset type companions (item 1) --------------------------------------------------------------------------


def test_jsonlines_and_json_need_features():
    found = errors(bias_config(dataset_type="application/jsonlines", label="label"))
    assert "application/jsonlines" in found["features"]
    found = errors(bias_config(dataset_type="application/json", label="label"))
    assert "application/json" in found["features"]


def test_separate_datasets_are_csv_only_and_headers_need_their_uri():
    config = bias_config(
        dataset_type="application/x-parquet",
        facet_dataset_uri="s3://bkt/facets.parquet",
        joinsource_name_or_index="id",
    )
    assert "'text/csv' only" in errors(config)["facet_dataset_uri"]
    config = bias_config(predicted_label_headers=["id", "p"])
    assert "ignored" in warnings(config)["predicted_label_headers"]


# --- join column (item 7) ---------------------------------------------------------------------------------------


def test_distributed_job_needs_a_join_column():
    found = errors(bias_config(), instance_count=2)
    assert "instance_count=2" in found["joinsource_name_or_index"]
    assert errors(bias_config(joinsource_name_or_index="id"), instance_count=2) == {}
    assert errors(bias_config(joinsource_name_or_index=0), instance_count=3) == {}
    assert errors(bias_config(), instance_count=2, compute="local") == {}


def test_separate_datasets_without_join_column_warn():
    config = bias_config(facet_dataset_uri="s3://bkt/facets.csv")
    assert errors(config) == {}
    assert "single file" in warnings(config)["joinsource_name_or_index"]


def test_local_shap_values_of_a_prefix_without_join_column_warn():
    config = shap_config(dataset_uri="s3://bkt/data/")
    config["methods"]["shap"]["save_local_shap_values"] = True
    assert "looks like a prefix" in warnings(config)["joinsource_name_or_index"]
    single = shap_config()
    single["methods"]["shap"]["save_local_shap_values"] = True
    assert warnings(single, dataset_uri="s3://bkt/data/train.csv") == {}
    assert "joinsource_name_or_index" in warnings(single, dataset_uri="s3://bkt/data")


# --- URIs (item 9) ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri", ["/data/train.csv", "https://bkt.s3.amazonaws.com/train.csv", "s3:///train.csv", "S3://bkt/x.csv"]
)
def test_config_uris_must_be_s3_on_sagemaker(uri):
    message = errors(bias_config(dataset_uri=uri))["dataset_uri"]
    assert repr(uri) in message
    assert "s3://" in message


def test_uri_length_and_whitespace():
    found = errors(bias_config(dataset_uri="s3://bkt/" + "k" * 1020))
    assert "at most 1024" in found["dataset_uri"]
    found = errors(bias_config(dataset_uri="s3://bkt/train.csv "))
    assert "whitespace" in found["dataset_uri"]


def test_baseline_uri_is_checked_and_local_mode_accepts_paths():
    config = shap_config()
    config["methods"]["shap"]["baseline"] = "/tmp/baseline.csv"
    assert "not an S3 URI" in errors(config)["methods.shap.baseline"]
    assert errors(config, compute="local") == {}
    config["methods"]["shap"]["baseline"] = "http://host/baseline.csv"
    assert "compute='local'" in errors(config, compute="local")["methods.shap.baseline"]


# --- entry points ----------------------------------------------------------------------------------------------------


def test_schema_problems_come_first_and_semantic_checks_survive_bad_types():
    config = bias_config(
        label_values_or_threshold=1, facet="sex", methods={"pre_training_bias": {"methods": 5}}
    )
    problems = preflight_problems(config)
    paths = [p.path for p in problems]
    assert paths[0] == "label_values_or_threshold"
    assert "facet" in paths
    assert "methods.pre_training_bias.methods" in paths


def test_non_dict_config_and_bad_arguments():
    assert [p.path for p in preflight_problems(["not", "a", "dict"])] == [""]
    found = errors(bias_config(), instance_count=0, compute="gpu")
    assert "'gpu'" in found["compute"]
    assert "0" in found["instance_count"]


def test_check_preflight_raises_every_error_at_once_and_returns_warnings():
    config = bias_config(methods={"pre_training_bias": {"methods": ["NOPE", "CDDL"]}}, facet=[])
    del config["group_variable"]
    with pytest.raises(ClarifyConfigError) as err:
        check_preflight(config)
    assert [path for path, _ in err.value.problems] == ["methods.pre_training_bias.methods[0]", "facet"]
    assert err.value.field == "methods.pre_training_bias.methods[0]"
    assert "2 problems" in str(err.value)
    assert "  - facet: is []" in str(err.value)
    assert "group_variable" not in str(err.value)  # a warning, not an error

    config["methods"]["pre_training_bias"]["methods"] = ["CDDL"]
    config["facet"] = [{"name_or_index": "sex"}]
    assert [w.path for w in check_preflight(config)] == ["group_variable"]


def test_error_value_is_recorded_for_top_level_paths():
    with pytest.raises(ClarifyConfigError) as err:
        check_preflight(bias_config(dataset_uri="/local/train.csv"))
    assert err.value.field == "dataset_uri"
    assert err.value.value == "/local/train.csv"


def test_problem_text_and_severity():
    problem = Problem("facet", "is []")
    assert str(problem) == "facet: is []"
    assert problem.is_error
    assert not Problem("", "x", "warning").is_error
    assert str(Problem("", "x", "warning")) == "$: x"


# --- AnalysisConfig.preflight -------------------------------------------------------------------------------------


def test_analysis_config_preflight_from_dict_raises_and_validate_stays_schema_only():
    config = AnalysisConfig.from_dict(bias_config(methods={"pre_training_bias": {"methods": ["NOPE"]}}))
    config.validate()  # schema v1.0 only: a string is a valid metric name there
    with pytest.raises(ClarifyConfigError) as err:
        config.preflight()
    assert err.value.problems[0][0] == "methods.pre_training_bias.methods[0]"


def test_analysis_config_preflight_of_sdk_built_config_returns_warnings():
    data = DataConfig(
        s3_data_input_path="s3://bkt/data/train.csv",
        s3_output_path="s3://bkt/out",
        label="approved",
        headers=HEADERS,
    )
    bias = BiasConfig(label_values_or_threshold=[1], facet_name="sex", facet_values_or_threshold=["female"])
    config = AnalysisConfig.pre_training_bias(data, bias)
    assert [w.path for w in config.preflight()] == ["group_variable"]
    with pytest.raises(ClarifyConfigError, match="instance_count=4"):
        config.preflight(instance_count=4)
    assert [w.path for w in config.preflight(instance_count=4, compute="local")] == ["group_variable"]
