"""Config classes: SDK keyword names/defaults, emitted keys and order, constructor validation.

Expected keys, orders and error texts are those of the SDK classes (docs/configs.md).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import pickle

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from airflow_provider_clarify.analysis.configs import (
    AsymmetricShapleyValueConfig,
    BiasConfig,
    DataConfig,
    ImageConfig,
    ModelConfig,
    ModelPredictedLabelConfig,
    PDPConfig,
    SegmentationConfig,
    SHAPConfig,
    TextConfig,
    TimeSeriesDataConfig,
    TimeSeriesJSONDatasetFormat,
    TimeSeriesModelConfig,
)
from airflow_provider_clarify.analysis.errors import ClarifyConfigError

IN, OUT = "s3://bkt/data/train.csv", "s3://bkt/clarify/out"


def signature_of(cls) -> list[tuple[str, object]]:
    return [(p.name, p.default) for p in inspect.signature(cls).parameters.values()]


EMPTY = inspect.Parameter.empty


class TestSignatures:
    """Notebook code ports by changing the import: same names, order and defaults as SDK v3."""

    def test_data_config(self):
        assert signature_of(DataConfig) == [
            ("s3_data_input_path", EMPTY), ("s3_output_path", EMPTY), ("s3_analysis_config_output_path", None),
            ("label", None), ("headers", None), ("features", None), ("dataset_type", "text/csv"),
            ("s3_compression_type", "None"), ("joinsource", None), ("facet_dataset_uri", None),
            ("facet_headers", None), ("predicted_label_dataset_uri", None), ("predicted_label_headers", None),
            ("predicted_label", None), ("excluded_columns", None), ("segmentation_config", None),
            ("time_series_data_config", None),
        ]  # fmt: skip

    def test_model_config(self):
        assert signature_of(ModelConfig) == [
            (name, None)
            for name in (
                "model_name", "instance_count", "instance_type", "accept_type", "content_type", "content_template",
                "record_template", "custom_attributes", "accelerator_type", "endpoint_name_prefix", "target_model",
                "endpoint_name", "time_series_model_config",
            )
        ]  # fmt: skip

    def test_small_classes(self):
        assert signature_of(BiasConfig) == [
            ("label_values_or_threshold", EMPTY), ("facet_name", EMPTY),
            ("facet_values_or_threshold", None), ("group_name", None),
        ]  # fmt: skip
        assert signature_of(ModelPredictedLabelConfig) == [
            ("label", None),
            ("probability", None),
            ("probability_threshold", None),
            ("label_headers", None),
        ]
        assert signature_of(PDPConfig) == [
            ("features", None),
            ("grid_resolution", 15),
            ("top_k_features", 10),
        ]
        assert signature_of(TextConfig) == [("granularity", EMPTY), ("language", EMPTY)]
        assert signature_of(ImageConfig) == [("model_type", EMPTY)] + [
            (n, None)
            for n in ("num_segments", "feature_extraction_method", "segment_compactness", "max_objects",
                      "iou_threshold", "context")
        ]  # fmt: skip
        assert signature_of(SHAPConfig) == [
            ("baseline", None), ("num_samples", None), ("agg_method", None), ("use_logit", False),
            ("save_local_shap_values", True), ("seed", None), ("num_clusters", None), ("text_config", None),
            ("image_config", None), ("features_to_explain", None),
        ]  # fmt: skip
        assert signature_of(SegmentationConfig) == [
            ("name_or_index", EMPTY),
            ("segments", EMPTY),
            ("config_name", None),
            ("display_aliases", None),
        ]
        assert signature_of(AsymmetricShapleyValueConfig) == [
            ("direction", "chronological"),
            ("granularity", "timewise"),
            ("num_samples", None),
            ("baseline", None),
        ]


class TestDataConfig:
    def test_key_order_follows_the_sdk(self):
        seg = SegmentationConfig("Age", [["[1, 4]"]], config_name="age", display_aliases=["young"])
        dc = DataConfig(
            IN, OUT, label="Target", headers=["Target", "A", "B"], excluded_columns=["B"], joinsource="id",
            facet_dataset_uri="s3://b/f.csv", facet_headers=["F"], predicted_label_dataset_uri="s3://b/p.csv",
            predicted_label_headers=["P"], predicted_label="P", segmentation_config=[seg],
        )  # fmt: skip
        assert list(dc.to_dict()) == [
            "dataset_type", "headers", "label", "joinsource_name_or_index", "facet_dataset_uri", "facet_headers",
            "predicted_label_dataset_uri", "predicted_label_headers", "predicted_label", "excluded_columns",
            "segment_config",
        ]  # fmt: skip
        assert dc.to_dict()["segment_config"] == [
            {
                "name_or_index": "Age",
                "segments": [["[1, 4]"]],
                "config_name": "age",
                "display_aliases": ["young"],
            }
        ]

    def test_job_only_fields_are_not_emitted_but_readable(self):
        dc = DataConfig(IN, OUT, "s3://bkt/cfg", s3_compression_type="Gzip")
        assert dc.to_dict() == {"dataset_type": "text/csv"}
        assert (dc.s3_data_input_path, dc.s3_output_path, dc.s3_analysis_config_output_path) == (
            IN, OUT, "s3://bkt/cfg",
        )  # fmt: skip
        assert dc.s3_data_distribution_type == "FullyReplicated"
        assert dc.get_config() == dc.to_dict()

    def test_features_comes_first_for_jsonlines(self):
        dc = DataConfig(IN, OUT, label="y", features="f", headers=["a"], dataset_type="application/jsonlines")
        assert json.dumps(dc.to_dict()) == (
            '{"dataset_type": "application/jsonlines", "features": "f", "headers": ["a"], "label": "y"}'
        )

    @pytest.mark.parametrize(
        "dataset_type", ["text/json", "Text/CSV", "application/sagemakercapturejson", 5, None]
    )
    def test_invalid_dataset_type(self, dataset_type):
        with pytest.raises(ClarifyConfigError, match="Invalid dataset_type") as err:
            DataConfig(IN, OUT, dataset_type=dataset_type)
        assert err.value.field == "dataset_type"
        assert err.value.value == dataset_type
        assert "application/x-parquet" in err.value.accepted

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            (
                {"predicted_label": "p"},
                "'predicted_label' is not supported for dataset_type 'application/x-image'",
            ),
            ({"excluded_columns": ["a"]}, "'excluded_columns' is not supported"),
        ],
    )
    def test_image_rejects_tabular_options(self, kwargs, match):
        with pytest.raises(ClarifyConfigError, match=match):
            DataConfig(IN, OUT, dataset_type="application/x-image", **kwargs)

    @pytest.mark.parametrize("dataset_type", ["application/jsonlines", "application/x-parquet"])
    def test_facet_and_prediction_datasets_are_csv_only(self, dataset_type):
        extra = {"features": "f"} if dataset_type == "application/jsonlines" else {}
        with pytest.raises(
            ClarifyConfigError, match="'facet_dataset_uri' and 'facet_headers' are not supported"
        ):
            DataConfig(IN, OUT, dataset_type=dataset_type, facet_headers=["g"], **extra)
        with pytest.raises(
            ClarifyConfigError, match="'predicted_label_dataset_uri' and 'predicted_label_headers'"
        ):
            DataConfig(IN, OUT, dataset_type=dataset_type, predicted_label_dataset_uri="s3://b/p", **extra)

    def test_time_series_needs_json(self):
        ts = TimeSeriesDataConfig("t", "i", "ts", dataset_format=TimeSeriesJSONDatasetFormat.COLUMNS)
        with pytest.raises(ClarifyConfigError, match="time series explainability only supports JSON"):
            DataConfig(IN, OUT, time_series_data_config=ts)
        assert DataConfig(IN, OUT, dataset_type="application/json", time_series_data_config=ts).to_dict() == {
            "dataset_type": "application/json",
            "time_series_data_config": {
                "target_time_series": "t", "item_id": "i", "timestamp": "ts", "dataset_format": "columns",
            },
        }  # fmt: skip

    def test_json_needs_features(self):
        with pytest.raises(ClarifyConfigError, match="features JMESPath is required for application/json"):
            DataConfig(IN, OUT, dataset_type="application/json")

    def test_compression_type_is_none_or_gzip(self):
        with pytest.raises(ClarifyConfigError, match="s3_compression_type 'gzip'"):
            DataConfig(IN, OUT, s3_compression_type="gzip")

    @pytest.mark.parametrize("path", [None, "", 5])
    def test_paths_must_be_strings(self, path):
        with pytest.raises(ClarifyConfigError, match="s3_output_path"):
            DataConfig(IN, path)

    def test_wrong_nested_types_raise_config_errors_not_attribute_errors(self):
        seg = SegmentationConfig("a", [["x"]])
        with pytest.raises(ClarifyConfigError, match="wrap a single one in a list"):
            DataConfig(IN, OUT, segmentation_config=seg)
        with pytest.raises(ClarifyConfigError, match="SegmentationConfig"):
            DataConfig(IN, OUT, segmentation_config=[{"name_or_index": "a", "segments": [["x"]]}])
        with pytest.raises(ClarifyConfigError, match="TimeSeriesDataConfig"):
            DataConfig(IN, OUT, dataset_type="application/json", time_series_data_config={"item_id": "i"})

    def test_sdk_attribute_alias(self):
        seg = [SegmentationConfig("a", [["x"]])]
        assert DataConfig(IN, OUT, segmentation_config=seg).segmentation_configs is seg


class TestSegmentationConfig:
    def test_optional_keys_only_when_truthy(self):
        assert SegmentationConfig(0, [["a"], ["b"]], config_name="").to_dict() == {
            "name_or_index": 0, "segments": [["a"], ["b"]],
        }  # fmt: skip

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"name_or_index": None, "segments": [["a"]]}, "`name_or_index` cannot be None"),
            ({"name_or_index": "a", "segments": []}, "`segments` must be a list of lists"),
            ({"name_or_index": "a", "segments": ["a"]}, "`segments` must be a list of lists"),
            ({"name_or_index": "a", "segments": (["a"],)}, "`segments` must be a list of lists"),
            (
                {"name_or_index": "a", "segments": [["a"]], "display_aliases": ["x", "y", "z"]},
                "display_aliases",
            ),
            (
                {"name_or_index": "a", "segments": [["a"]], "display_aliases": 3},
                "Number of `display_aliases`",
            ),
        ],
    )
    def test_rejections(self, kwargs, match):
        with pytest.raises(ClarifyConfigError, match=match):
            SegmentationConfig(**kwargs)

    def test_aliases_may_name_the_default_segment(self):
        cfg = SegmentationConfig("a", [["x"]], display_aliases=["X", "rest"])
        assert cfg.to_dict()["display_aliases"] == ["X", "rest"]


class TestBiasConfig:
    def test_scalar_facet_values_written_verbatim(self):
        assert BiasConfig([1], "Age", 40).to_dict() == {
            "label_values_or_threshold": [1], "facet": [{"name_or_index": "Age", "value_or_threshold": 40}],
        }  # fmt: skip

    def test_facet_list_with_per_facet_values_and_group(self):
        cfg = BiasConfig([1], ["Gender", "Age"], [[0], None], group_name="Occupation")
        assert json.dumps(cfg.to_dict()) == json.dumps(
            {
                "label_values_or_threshold": [1],
                "facet": [{"name_or_index": "Gender", "value_or_threshold": [0]}, {"name_or_index": "Age"}],
                "group_variable": "Occupation",
            }
        )

    def test_facet_list_without_values(self):
        assert BiasConfig([1], [1, 2]).to_dict()["facet"] == [{"name_or_index": 1}, {"name_or_index": 2}]

    def test_empty_facet_list(self):
        with pytest.raises(ClarifyConfigError, match="Please provide at least one facet"):
            BiasConfig([1], [])

    def test_mismatched_lengths(self):
        with pytest.raises(
            ClarifyConfigError, match="number of facet names doesn't match the number of facet values"
        ):
            BiasConfig([1], ["a", "b"], [[1]])

    @pytest.mark.parametrize("values", [5, {"a": 1, "b": 2}, 0.5])
    def test_unindexable_values_for_a_facet_list(self, values):
        with pytest.raises(ClarifyConfigError, match="facet_values_or_threshold"):
            BiasConfig([1], ["a", "b"], values)


class TestModelConfig:
    def test_shadow_endpoint_keys_and_order(self):
        cfg = ModelConfig(
            "m", 2, "ml.c5.xlarge", accept_type="application/jsonlines", content_type="application/jsonlines",
            content_template='{"f":$features}', custom_attributes="c", accelerator_type="ml.eia2.large",
            endpoint_name_prefix="ab-c", target_model="t.tar.gz",
        )  # fmt: skip
        assert list(cfg.to_dict().items()) == [
            ("model_name", "m"), ("instance_type", "ml.c5.xlarge"), ("initial_instance_count", 2),
            ("endpoint_name_prefix", "ab-c"), ("accept_type", "application/jsonlines"),
            ("content_type", "application/jsonlines"), ("content_template", '{"f":$features}'),
            ("custom_attributes", "c"), ("accelerator_type", "ml.eia2.large"), ("target_model", "t.tar.gz"),
        ]  # fmt: skip

    def test_existing_endpoint_and_time_series(self):
        cfg = ModelConfig(
            endpoint_name="ep", accept_type="application/json",
            time_series_model_config=TimeSeriesModelConfig("predictions[*].mean"),
        )  # fmt: skip
        assert cfg.get_predictor_config() == {
            "endpoint_name": "ep", "accept_type": "application/json",
            "time_series_predictor_config": {"forecast": "predictions[*].mean"},
        }  # fmt: skip

    @pytest.mark.parametrize(
        "kwargs",
        [
            {},
            {"model_name": "m", "instance_type": "ml.m5.large"},
            {"model_name": "m", "instance_count": 0, "instance_type": "ml.m5.large"},
            {"model_name": "m", "instance_count": 1, "instance_type": "t", "endpoint_name": "ep"},
        ],
    )
    def test_needs_exactly_one_target(self, kwargs):
        with pytest.raises(ClarifyConfigError, match="endpoint_name"):
            ModelConfig(**kwargs)

    def test_prefix_not_with_endpoint(self):
        with pytest.raises(ClarifyConfigError, match="endpoint_name_prefix"):
            ModelConfig(endpoint_name="ep", endpoint_name_prefix="ab")

    @pytest.mark.parametrize("prefix", ["a", "-ab", "_ab", 12])
    def test_bad_prefix(self, prefix):
        with pytest.raises(ClarifyConfigError, match=r"Please follow pattern \^\[a-zA-Z0-9\]"):
            ModelConfig("m", 1, "t", endpoint_name_prefix=prefix)

    def test_prefix_regex_checks_only_the_start_like_the_sdk(self):
        assert (
            ModelConfig("m", 1, "t", endpoint_name_prefix="ab_c").to_dict()["endpoint_name_prefix"] == "ab_c"
        )

    def test_bad_accept_and_content_types(self):
        with pytest.raises(ClarifyConfigError, match="Invalid accept_type 'image/png'"):
            ModelConfig("m", 1, "t", accept_type="image/png")
        with pytest.raises(ClarifyConfigError, match="Invalid content_type 'TEXT/CSV'"):
            ModelConfig("m", 1, "t", content_type="TEXT/CSV")

    def test_image_jpg_passes_the_class(self):
        assert ModelConfig("m", 1, "t", content_type="image/jpg").to_dict()["content_type"] == "image/jpg"

    def test_templates(self):
        with pytest.raises(
            ClarifyConfigError,
            match="content_template field is required for content_type application/jsonlines",
        ):
            ModelConfig("m", 1, "t", content_type="application/jsonlines")
        with pytest.raises(ClarifyConfigError, match=r"Please include a placeholder \$features"):
            ModelConfig("m", 1, "t", content_type="application/jsonlines", content_template="{}")
        with pytest.raises(ClarifyConfigError, match="content_template and record_template are required"):
            ModelConfig("m", 1, "t", content_type="application/json", content_template="$records")
        with pytest.raises(ClarifyConfigError, match=r"either placeholder \$records or \$record"):
            ModelConfig(
                "m", 1, "t", content_type="application/json", content_template="x", record_template="r"
            )
        with pytest.raises(ClarifyConfigError, match="content_template"):
            ModelConfig("m", 1, "t", content_type="application/jsonlines", content_template=5)

    def test_time_series_needs_json_types(self):
        ts = TimeSeriesModelConfig("f")
        with pytest.raises(ClarifyConfigError, match="``accept_type`` must be JSON or JSONLines"):
            ModelConfig("m", 1, "t", accept_type="text/csv", time_series_model_config=ts)
        with pytest.raises(ClarifyConfigError, match="``content_type`` must be JSON or JSONLines"):
            ModelConfig("m", 1, "t", content_type="text/csv", time_series_model_config=ts)
        with pytest.raises(ClarifyConfigError, match="TimeSeriesModelConfig"):
            ModelConfig("m", 1, "t", time_series_model_config={"forecast": "f"})
        with pytest.raises(ClarifyConfigError, match="forecast"):
            TimeSeriesModelConfig(3)


class TestModelPredictedLabelConfig:
    def test_threshold_kept_as_given(self):
        threshold, predictor = ModelPredictedLabelConfig("l", 1, 1, ["a"]).get_predictor_config()
        assert threshold == 1
        assert isinstance(threshold, int)
        assert predictor == {"label": "l", "probability": 1, "label_headers": ["a"]}

    @pytest.mark.parametrize("threshold", ["high", [0.5], {}, 10**400])
    def test_threshold_must_cast_to_float(self, threshold):
        with pytest.raises(TypeError, match="Please choose one that can be cast to float") as err:
            ModelPredictedLabelConfig(probability_threshold=threshold)
        assert isinstance(err.value, ClarifyConfigError)  # also a ValueError subclass
        assert err.value.field == "probability_threshold"


class TestExplainabilityConfigs:
    def test_shap_always_writes_logit_and_local_flags(self):
        assert (
            json.dumps(SHAPConfig().to_dict())
            == '{"shap": {"use_logit": false, "save_local_shap_values": true}}'
        )

    def test_shap_key_order(self):
        cfg = SHAPConfig(
            baseline="s3://b/base.csv", num_samples=10, agg_method="median", use_logit=True,
            save_local_shap_values=False, seed=3, features_to_explain=["a"],
        )  # fmt: skip
        assert list(cfg.to_dict()["shap"]) == [
            "use_logit", "save_local_shap_values", "baseline", "num_samples", "agg_method", "seed",
            "features_to_explain",
        ]  # fmt: skip

    def test_shap_rejections(self):
        with pytest.raises(ClarifyConfigError, match="Please choose mean_abs, median, or mean_sq"):
            SHAPConfig(agg_method="MEAN_ABS")
        with pytest.raises(ClarifyConfigError, match="Baseline and num_clusters cannot be provided together"):
            SHAPConfig(baseline=[[1]], num_clusters=2)
        with pytest.raises(
            ClarifyConfigError, match="`features_to_explain` is not supported for datasets containing text"
        ):
            SHAPConfig(features_to_explain=["a"], text_config=TextConfig("token", "en"))
        with pytest.raises(ClarifyConfigError, match="TextConfig"):
            SHAPConfig(text_config={"granularity": "token", "language": "en"})
        with pytest.raises(ClarifyConfigError, match="ImageConfig"):
            SHAPConfig(image_config="OBJECT_DETECTION")

    def test_text_without_local_values_only_warns(self, caplog):
        cfg = SHAPConfig(save_local_shap_values=False, text_config=TextConfig("paragraph", "xx"))
        assert cfg.to_dict()["shap"]["text_config"] == {"granularity": "paragraph", "language": "xx"}
        assert "Global aggregation is not yet supported for text features" in caplog.text

    def test_text_config_is_case_sensitive(self):
        with pytest.raises(ClarifyConfigError, match="Invalid granularity 'Token'"):
            TextConfig("Token", "en")
        with pytest.raises(ClarifyConfigError, match="Invalid language 'English'") as err:
            TextConfig("token", "English")
        assert "'norwegian bokmål'" in str(err.value)
        assert TextConfig("sentence", "norwegian bokmål").to_dict()["language"] == "norwegian bokmål"

    def test_image_config(self):
        assert list(ImageConfig("IMAGE_CLASSIFICATION", context=0.5, num_segments=5).to_dict().items()) == [
            ("model_type", "IMAGE_CLASSIFICATION"), ("num_segments", 5), ("context", 0.5),
        ]  # fmt: skip
        with pytest.raises(
            ClarifyConfigError, match="only supports object detection and image classification"
        ):
            ImageConfig("object_detection")

    def test_pdp_always_writes_grid_and_top_k(self):
        assert json.dumps(PDPConfig().to_dict()) == '{"pdp": {"grid_resolution": 15, "top_k_features": 10}}'
        assert PDPConfig(["a"], 5, 2).get_explainability_config() == {
            "pdp": {"grid_resolution": 5, "top_k_features": 2, "features": ["a"]}
        }

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"direction": "forward"}, "valid explanation direction from: chronological, anti_chronological, bidirectional"),
            ({"granularity": "coarse"}, "valid granularity from: timewise, fine_grained"),
            ({"granularity": "fine_grained"}, "Please provide an integer for ``num_samples``"),
            ({"granularity": "fine_grained", "num_samples": 5, "direction": "bidirectional"}, "bidirectional and fine_grained granularity are not supported together"),
            ({"num_samples": 5}, "``num_samples`` is only used for fine-grained explanations"),
            ({"baseline": {"target_time_series": "median"}}, r"Provided value 'median' for ``target_time_series`` is invalid. Please select one of \['zero', 'mean'\]"),
            ({"baseline": {"related_time_series": "one"}}, "for ``related_time_series`` is invalid"),
        ],
    )  # fmt: skip
    def test_asv_rejections(self, kwargs, match):
        with pytest.raises(ClarifyConfigError, match=match):
            AsymmetricShapleyValueConfig(**kwargs)

    def test_asv_output(self):
        cfg = AsymmetricShapleyValueConfig("chronological", "fine_grained", 10, "s3://b/base.json")
        assert cfg.to_dict() == {
            "asymmetric_shapley_value": {
                "direction": "chronological", "granularity": "fine_grained", "num_samples": 10,
                "baseline": "s3://b/base.json",
            }
        }  # fmt: skip


class TestTimeSeriesDataConfig:
    def test_int_locators_without_format(self):
        assert TimeSeriesDataConfig(1, 2, 3, [4], [5, 6]).to_dict() == {
            "target_time_series": 1, "item_id": 2, "timestamp": 3, "related_time_series": [4],
            "static_covariates": [5, 6],
        }  # fmt: skip

    @pytest.mark.parametrize(
        ("args", "kwargs", "match"),
        [
            (("", "i", "t"), {}, "Please provide a target time series"),
            ((0, 1, 2), {}, "Please provide a target time series"),
            (("x", "", "t"), {}, "Please provide an item id"),
            (("x", "i", None), {}, "Please provide a timestamp"),
            ((1.5, 1, 2), {}, "string or an int for ``target_time_series``"),
            (("x", 1, "t"), {}, "Please provide str for ``item_id``"),
            (("x", "i", "t"), {"related_time_series": "r"}, "list of str for ``related_time_series``"),
            (("x", "i", "t"), {"static_covariates": ["a", ""]}, "empty strings in ``static_covariates``"),
            (("x", "i", "t"), {"dataset_format": "columns"}, "valid dataset format"),
            ((1, 2, 3), {"dataset_format": TimeSeriesJSONDatasetFormat.COLUMNS}, "only be provided when data files are JSONs"),
        ],
    )  # fmt: skip
    def test_rejections(self, args, kwargs, match):
        with pytest.raises(ClarifyConfigError, match=match):
            TimeSeriesDataConfig(*args, **kwargs)


def test_errors_name_field_value_and_accepted():
    with pytest.raises(ClarifyConfigError) as err:
        SHAPConfig(agg_method="avg")
    error = err.value
    assert (error.field, error.value) == ("agg_method", "avg")
    assert "'mean_abs'" in error.accepted
    assert "agg_method" in str(error)
    assert "'avg'" in str(error)
    assert error.problems == [("agg_method", str(error))]
    assert isinstance(error, ValueError)
    again = pickle.loads(pickle.dumps(error))
    assert (again.field, again.value, str(again)) == ("agg_method", "avg", str(error))


# -- fuzzing: only ClarifyConfigError or TypeError may escape a constructor or to_dict() ----------------
_WORDS = [
    "", "a", "ab", "s3://b/k", "text/csv", "application/json", "application/jsonlines", "application/x-image",
    "image/jpeg", "token", "en", "mean_abs", "OBJECT_DETECTION", "fine_grained", "chronological", "zero",
    "$features", "$records", "{{ ds }}", "Gzip",
]  # fmt: skip
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10**20),
    st.floats(allow_nan=True),
    st.sampled_from(_WORDS),
    st.text(max_size=5),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(st.sampled_from(["a", "target_time_series", "static_covariates"]), inner, max_size=2),
        st.builds(TextConfig, st.just("token"), st.just("en")),
        st.builds(SegmentationConfig, st.just("a"), st.just([["x"]])),
        st.builds(TimeSeriesModelConfig, st.just("f")),
    ),
    max_leaves=6,
)

_CLASSES = [
    DataConfig, BiasConfig, ModelConfig, ModelPredictedLabelConfig, SHAPConfig, PDPConfig, TextConfig,
    ImageConfig, SegmentationConfig, TimeSeriesDataConfig, TimeSeriesModelConfig, AsymmetricShapleyValueConfig,
]  # fmt: skip


@pytest.mark.parametrize("cls", _CLASSES, ids=lambda c: c.__name__)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_constructors_raise_only_typed_errors(cls, data):
    names = [p.name for p in inspect.signature(cls).parameters.values()]
    required = [p.name for p in inspect.signature(cls).parameters.values() if p.default is EMPTY]
    chosen = data.draw(st.sets(st.sampled_from(names)), label="fields") | set(required)
    kwargs = {name: data.draw(_values, label=name) for name in sorted(chosen)}
    with contextlib.suppress(ClarifyConfigError, TypeError):
        json.dumps(cls(**kwargs).to_dict(), default=repr)
