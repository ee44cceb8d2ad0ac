"""Schema v1.0 validation (docs/configs.md, "Validation"): verdicts as the SDK's, messages with JSON paths."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from airflow_provider_clarify.analysis import validate_analysis_config as lazy_validate
from airflow_provider_clarify.analysis.analysis_config import AnalysisConfig
from airflow_provider_clarify.analysis.configs import (
    BiasConfig,
    DataConfig,
    ImageConfig,
    ModelConfig,
    ModelPredictedLabelConfig,
    SHAPConfig,
)
from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.schema import analysis_config_problems, validate_analysis_config
from tests.data.sdk.schema_cases import BASE, FULL, with_
from tests.support.paths import SDK_FIXTURES


def problem_paths(config) -> list[str]:
    return [path for path, _ in analysis_config_problems(config)]


def test_a_config_using_every_key_is_valid():
    assert analysis_config_problems(FULL) == []
    validate_analysis_config(FULL)
    assert lazy_validate is validate_analysis_config


class TestSdkBuildsSchemaRejects:
    """The reference's table of configs the SDK builds but the schema rejects."""

    def _problems(self, **overrides):
        parts = {
            "data_config": DataConfig("s3://b/d.csv", "s3://b/o", label="y", headers=["y", "Age", "Income"]),
            "bias_config": BiasConfig([1], "Age", [40]),
            "model_config": ModelConfig("m", 1, "ml.m5.large"),
            "model_predicted_label_config": None,
            **overrides,
        }
        config = AnalysisConfig.post_training_bias(**parts)
        config.to_dict()  # the config builds, like the SDK's
        with pytest.raises(ClarifyConfigError) as err:
            config.validate()
        return err.value.problems

    def test_scalar_facet_value(self):
        [(path, message)] = self._problems(bias_config=BiasConfig([1], "Age", 40))
        assert path == "facet[0].value_or_threshold"
        assert "40 should be instance of 'list'" in message

    def test_int_probability_threshold(self):
        [(path, message)] = self._problems(
            model_predicted_label_config=ModelPredictedLabelConfig(probability_threshold=1)
        )
        assert path == "probability_threshold"
        assert "1 should be instance of 'float'" in message
        assert "write 1.0" in message

    def test_image_jpg_content_type(self):
        [(path, message)] = self._problems(
            model_config=ModelConfig("m", 1, "ml.m5.large", content_type="image/jpg")
        )
        assert path == "predictor.content_type"
        assert "'image/jpg' is not accepted" in message
        assert "'image/jpeg'" in message

    def test_scalar_excluded_columns(self):
        dc = DataConfig("s3://b/d.csv", "s3://b/o", label="y", excluded_columns="Income")
        [(path, message)] = self._problems(data_config=dc)
        assert path == "excluded_columns"
        assert "'Income' should be instance of 'list'" in message

    @pytest.mark.parametrize(("field", "value", "expected"), [
        ("context", 1, "1 should be instance of 'float'"),
        ("iou_threshold", 1, "1 should be instance of 'float'"),
        ("segment_compactness", 5.0, "5.0 should be instance of 'int'"),
    ])  # fmt: skip
    def test_image_config_numbers(self, field, value, expected):
        config = AnalysisConfig.explainability(
            DataConfig("s3://b/img/", "s3://b/o", dataset_type="application/x-image"),
            ModelConfig("m", 1, "ml.g4dn.xlarge"),
            SHAPConfig(image_config=ImageConfig("OBJECT_DETECTION", **{field: value})),
        )
        with pytest.raises(ClarifyConfigError) as err:
            config.validate()
        [(path, message)] = err.value.problems
        assert path == f"methods.shap.image_config.{field}"
        assert expected in message


class TestUnknownKeys:
    @pytest.mark.parametrize(
        "path",
        [
            "foo", "methods.foo", "methods.shap.foo", "methods.shap.text_config.foo", "methods.shap.image_config.foo",
            "methods.shap.image_config.debug.foo", "methods.pdp.foo", "methods.report.foo", "methods.pre_training_bias.foo",
            "methods.asymmetric_shapley_value.foo", "methods.asymmetric_shapley_value.baseline.foo", "predictor.foo",
            "predictor.time_series_predictor_config.foo", "time_series_data_config.foo",
        ],
    )  # fmt: skip
    def test_rejected_at_every_level(self, path):
        problems = analysis_config_problems(with_(path, 1, FULL))
        assert [p for p, _ in problems] == [path]
        assert "Wrong key 'foo'" in problems[0][1]
        assert "allowed keys" in problems[0][1]

    def test_in_list_items(self):
        config = copy.deepcopy(FULL)
        config["facet"][1]["values"] = [1]
        config["segment_config"][0]["alias"] = "x"
        assert problem_paths(config) == ["facet[1].values", "segment_config[0].alias"]

    def test_non_string_keys(self):
        assert problem_paths({**BASE, 1: "x"}) == ["[1]"]


class TestRequiredKeys:
    @pytest.mark.parametrize(
        "path",
        [
            "dataset_type", "methods", "methods.pdp.grid_resolution", "methods.report.name",
            "methods.pre_training_bias.methods", "methods.shap.text_config.granularity",
            "methods.shap.text_config.language", "methods.asymmetric_shapley_value.direction",
            "predictor.time_series_predictor_config.forecast", "time_series_data_config.item_id",
        ],
    )  # fmt: skip
    def test_missing(self, path):
        config = copy.deepcopy(FULL)
        *parents, last = path.split(".")
        node = config
        for key in parents:
            node = node[key]
        del node[last]
        problems = analysis_config_problems(config)
        assert problems == [(path, f"Missing key: {last!r} (required)")]

    def test_facet_name(self):
        assert problem_paths(with_("facet", [{"value_or_threshold": [1]}])) == ["facet[0].name_or_index"]

    def test_empty_methods_is_valid(self):
        assert analysis_config_problems(BASE) == []


class TestStrictNumbers:
    @pytest.mark.parametrize(
        "path",
        [
            "methods.shap.num_samples", "methods.shap.num_clusters", "methods.shap.seed", "methods.pdp.grid_resolution",
            "methods.pdp.top_k_features", "methods.shap.text_config.max_top_tokens", "methods.shap.image_config.num_segments",
            "methods.shap.image_config.max_objects", "methods.shap.image_config.segment_compactness",
            "methods.asymmetric_shapley_value.num_samples", "predictor.initial_instance_count",
        ],
    )  # fmt: skip
    @pytest.mark.parametrize("value", [5.0, True, "5"])
    def test_int_fields_refuse_floats_bools_and_strings(self, path, value):
        problems = analysis_config_problems(with_(path, value, FULL))
        assert [p for p, _ in problems] == [path]
        assert "should be instance of 'int'" in problems[0][1]

    @pytest.mark.parametrize(
        "path",
        [
            "probability_threshold",
            "methods.shap.image_config.iou_threshold",
            "methods.shap.image_config.context",
        ],
    )
    @pytest.mark.parametrize("value", [1, 0, True])
    def test_float_fields_refuse_ints_and_bools(self, path, value):
        assert problem_paths(with_(path, value, FULL)) == [path]

    def test_booleans(self):
        assert problem_paths(with_("methods.shap.use_logit", 1, FULL)) == ["methods.shap.use_logit"]
        assert problem_paths(with_("methods.shap.save_local_shap_values", "true", FULL)) == [
            "methods.shap.save_local_shap_values"
        ]

    def test_booleans_are_not_label_values_or_indices(self):
        assert problem_paths(with_("label_values_or_threshold", [True])) == ["label_values_or_threshold[0]"]
        assert problem_paths(with_("label", False)) == ["label"]


class TestCaseInsensitiveEnums:
    @pytest.mark.parametrize(
        ("path", "value"),
        [
            ("dataset_type", "TEXT/CSV"), ("dataset_type", "Application/SageMakerCaptureJson"),
            ("methods.shap.agg_method", "Mean_Abs"), ("methods.shap.text_config.granularity", "Token"),
            ("methods.shap.text_config.language", "Norwegian Bokmål"), ("predictor.content_type", "Image/PNG"),
            ("predictor.accept_type", "APPLICATION/JSON"), ("time_series_data_config.dataset_format", "ITEM_RECORDS"),
            ("methods.asymmetric_shapley_value.direction", "Anti_Chronological"),
            ("methods.asymmetric_shapley_value.baseline.related_time_series", "ZERO"),
        ],
    )  # fmt: skip
    def test_accepted_in_any_case(self, path, value):
        assert analysis_config_problems(with_(path, value, FULL)) == []

    @pytest.mark.parametrize(
        ("path", "value"),
        [("dataset_type", "text/tsv"), ("methods.shap.agg_method", "mean"), ("predictor.accept_type", "image/png"),
         ("methods.shap.text_config.language", "klingon"), ("methods.asymmetric_shapley_value.granularity", 1)],
    )  # fmt: skip
    def test_unknown_values(self, path, value):
        assert problem_paths(with_(path, value, FULL)) == [path]


class TestLists:
    @pytest.mark.parametrize(
        "path",
        [
            "headers", "label_values_or_threshold", "excluded_columns", "facet_headers", "predicted_label_headers",
            "methods.shap.features_to_explain", "predictor.label_headers", "methods.pdp.features",
        ],
    )  # fmt: skip
    @pytest.mark.parametrize("value", ["a", ("a",), 1])
    def test_must_be_lists(self, path, value):
        problems = analysis_config_problems(with_(path, value, FULL))
        assert [p for p, _ in problems] == [path]
        assert "should be instance of 'list'" in problems[0][1]

    def test_facet_values_and_item_types(self):
        config = with_("facet", [{"name_or_index": "a", "value_or_threshold": 1}, {"name_or_index": 1.5}])
        config["headers"] = ["a", 1]
        assert problem_paths(config) == [
            "facet[0].value_or_threshold",
            "facet[1].name_or_index",
            "headers[1]",
        ]

    def test_segments_refuse_floats(self):
        config = with_("segment_config", [{"name_or_index": "a", "segments": [["[1, 2]", 1.5]]}])
        assert problem_paths(config) == ["segment_config[0].segments[0][1]"]

    def test_time_series_lists_are_homogeneous(self):
        assert problem_paths(with_("time_series_data_config.related_time_series", ["a", 1], FULL)) == [
            "time_series_data_config.related_time_series"
        ]


class TestAlternatives:
    @pytest.mark.parametrize(
        "baseline", ["s3://b/base.csv", [[1, None]], [], [[]], [{"features": [1]}], {"rows": []}]
    )
    def test_shap_baseline_shapes(self, baseline):
        assert analysis_config_problems(with_("methods.shap.baseline", baseline)) == []

    @pytest.mark.parametrize(
        ("baseline", "path"),
        [({}, "methods.shap.baseline"), ([{}], "methods.shap.baseline[0]"), ([[1, True]], "methods.shap.baseline[0][1]"), (5, "methods.shap.baseline")],
    )  # fmt: skip
    def test_shap_baseline_rejections(self, baseline, path):
        assert problem_paths(with_("methods.shap.baseline", baseline)) == [path]

    def test_content_template_object(self):
        assert problem_paths(with_("predictor.content_template", {})) == ["predictor.content_template"]
        assert problem_paths(with_("predictor.content_template", {"a": 1})) == [
            "predictor.content_template.a"
        ]

    def test_static_covariates_object(self):
        path = "methods.asymmetric_shapley_value.baseline.static_covariates"
        assert problem_paths(with_(path, {}, FULL)) == [path]
        assert problem_paths(with_(path, {"i": [True]}, FULL)) == [f"{path}.i[0]"]

    @pytest.mark.parametrize(
        ("prefix", "ok"),
        [
            ("ab", True),
            ("ab_c", True),
            ("a-b", True),
            ("_ab", False),
            ("a", False),
            ("-a", False),
            ("a_", False),
        ],
    )
    def test_endpoint_name_prefix_uses_search_like_the_schema(self, prefix, ok):
        assert (analysis_config_problems(with_("predictor.endpoint_name_prefix", prefix)) == []) is ok

    def test_bias_methods(self):
        assert problem_paths(with_("methods.pre_training_bias", {"methods": ["CI", 1]})) == [
            "methods.pre_training_bias.methods[1]"
        ]


def test_every_problem_is_reported_with_its_path():
    config = {
        "dataset_type": "TEXT/TSV",
        "headers": "a,b",
        "probability_threshold": 1,
        "facet": [{"name_or_index": "a", "value_or_threshold": 40}],
        "methods": {"shap": {"num_samples": 5.0, "agg_method": "avg"}, "pdp": {}},
        "predictor": {"initial_instance_count": "1", "content_type": "image/jpg"},
        "extra": True,
    }
    with pytest.raises(ClarifyConfigError) as err:
        validate_analysis_config(config)
    error = err.value
    assert [path for path, _ in error.problems] == [
        "dataset_type", "headers", "probability_threshold", "facet[0].value_or_threshold", "methods.shap.num_samples",
        "methods.shap.agg_method", "methods.pdp.grid_resolution", "predictor.initial_instance_count",
        "predictor.content_type", "extra",
    ]  # fmt: skip
    assert error.field == "dataset_type"
    assert error.value == "TEXT/TSV"
    assert str(error).startswith("analysis_config is invalid (10 problems):")
    assert "  - methods.shap.num_samples: 5.0 should be instance of 'int'" in str(error)


@pytest.mark.parametrize("root", [None, [], "{}", 1])
def test_root_must_be_an_object(root):
    with pytest.raises(ClarifyConfigError, match=r"\$: .* should be instance of 'dict'"):
        validate_analysis_config(root)


_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=4),
              st.sampled_from(["text/csv", "methods", "shap", "all"])),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.tuples(inner),
        st.dictionaries(st.one_of(st.sampled_from(list(FULL) + list(FULL["methods"]) + ["baseline", "facet"]), st.integers()), inner, max_size=4),
    ),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json, st.sampled_from(["", "methods", "methods.shap", "predictor", "methods.shap.baseline", "facet"]))
def test_fuzz_validator_never_crashes(value, where):
    config = with_(where, value, FULL) if where else value
    problems = analysis_config_problems(config)
    assert all(isinstance(path, str) and message for path, message in problems)
    if problems:
        with pytest.raises(ClarifyConfigError) as err:
            validate_analysis_config(config)
        assert err.value.problems == problems
    else:
        validate_analysis_config(config)


def test_a_bad_baseline_cell_names_what_a_cell_may_be():
    [(path, message)] = analysis_config_problems(with_("methods.shap.baseline", [[1, True]]))
    assert path == "methods.shap.baseline[0][1]"
    assert message == "True is not accepted; expected a number, a string or null"


def test_a_non_string_key_and_its_bad_value_are_both_reported():
    assert analysis_config_problems(with_("predictor.content_template", {1: 2})) == [
        ("predictor.content_template[1]", "key 1 should be a string"),
        ("predictor.content_template[1]", "2 should be instance of 'str' (a string)"),
    ]


def test_error_value_is_the_value_at_the_first_path():
    with pytest.raises(ClarifyConfigError) as err:
        validate_analysis_config(with_("methods.shap.num_samples", 5.0))
    assert (err.value.field, err.value.value) == ("methods.shap.num_samples", 5.0)
    with pytest.raises(ClarifyConfigError) as err:
        validate_analysis_config({"methods": {}})
    assert (err.value.field, err.value.value) == ("dataset_type", None)



def test_verdicts_match_the_sdk_schema():
    """1,485 one-value changes of FULL, each judged by the SDK's ANALYSIS_CONFIG_SCHEMA_V1_0 (fixture)."""
    import json

    fixture = json.loads(SDK_FIXTURES.read_text(encoding="utf-8"))["schema"]
    assert fixture["base"] == FULL
    disagree = [
        (case["path"], case["value"], case["valid"])
        for case in fixture["verdicts"]
        if (analysis_config_problems(with_(case["path"], case["value"], FULL)) == []) != case["valid"]
    ]
    assert disagree == []
    assert 100 < sum(case["valid"] for case in fixture["verdicts"]) < len(fixture["verdicts"])
