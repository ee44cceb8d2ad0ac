"""AnalysisResult: parsing analysis.json (docs/job-request.md, "Reading the results") and the flat metrics table."""

from __future__ import annotations

import json
import math

import pytest

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.results import AnalysisResult, MetricRow, metric_value
from tests.support.paths import GOLDEN_DIR

GOLDEN = GOLDEN_DIR / "smclarify_golden.json"

# analysis.json of a bias job, as the container writes it
BIAS_EXAMPLE = {
    "version": "1.0",
    "pre_training_bias_metrics": {
        "label": "Target",
        "label_value_or_threshold": "1",
        "facets": {
            "Gender": [
                {
                    "value_or_threshold": "0",
                    "metrics": [
                        {
                            "name": "CDDL",
                            "description": "Conditional Demographic Disparity in Labels (CDDL)",
                            "value": None,
                            "error": "Group variable is empty or not provided",
                        },
                        {"name": "CI", "description": "Class Imbalance (CI)", "value": 0.398},
                        {
                            "name": "DPL",
                            "description": "Difference in Positive Proportions in Labels (DPL)",
                            "value": -0.0177,
                        },
                    ],
                }
            ]
        },
    },
    "post_training_bias_metrics": {
        "label": "Target",
        "label_value_or_threshold": "1",
        "facets": {
            "Gender": [
                {
                    "value_or_threshold": "0",
                    "metrics": [
                        {"name": "AD", "description": "Accuracy Difference (AD)", "value": -0.0177},
                        {"name": "DI", "description": "Disparate Impact (DI)", "value": 1.0},
                    ],
                }
            ]
        },
    },
}

# explanations: Kernel SHAP and PDP, as the container writes them
EXPLANATIONS_EXAMPLE = {
    "version": "1.0",
    "explanations": {
        "kernel_shap": {
            "label0": {
                "global_shap_values": {"Age": 0.0225, "Income": 0.0074, "Occupation": 0.0068},
                "expected_value": 0.5082,
                "global_top_shap_text": {"Comments": {"gross": 0.041, "awful": 0.030}},
            }
        },
        "pdp": [
            {
                "feature_name": "Age",
                "data_type": "numerical",
                "feature_values": [20.87, 24.6, 28.33, 32.07],
                "data_distribution": [0.05, 0.165, 0.15, 0.2],
                "model_predictions": [[0.703, 0.679, 0.701, 0.733]],
                "label_headers": ["label0"],
            },
            {
                "feature_name": "comments",
                "data_type": "free_text",
                "error": "Detected data type is not supported for PDP. PDP can only be computed for numerical or categorical columns",
            },
        ],
    },
}


def test_bias_sections_are_typed():
    result = AnalysisResult.from_dict(BIAS_EXAMPLE)
    assert result.version == "1.0"
    assert result.raw is BIAS_EXAMPLE
    pre = result.pre_training_bias
    assert (pre.label, pre.label_value_or_threshold) == ("Target", "1")
    [group] = pre.facets["Gender"]
    assert group.value_or_threshold == "0"
    assert [m.name for m in group.metrics] == ["CDDL", "CI", "DPL"]
    cddl = group.metric("cddl")
    assert cddl.value is None
    assert cddl.error == "Group variable is empty or not provided"
    assert group.metric("CI").value == pytest.approx(0.398)
    assert group.metric("CI").error is None
    assert group.metric("CI").description == "Class Imbalance (CI)"
    assert group.metric("KL") is None
    assert result.post_training_bias.facets["Gender"][0].metric("DI").value == 1.0
    assert result.kernel_shap == {}
    assert result.pdp == []


def test_metrics_table_is_flat_and_ordered():
    rows = AnalysisResult.from_dict(BIAS_EXAMPLE).metrics_table()
    assert rows == [
        MetricRow("pre_training", "Gender", "0", "CDDL", None, "Group variable is empty or not provided"),
        MetricRow("pre_training", "Gender", "0", "CI", 0.398, None),
        MetricRow("pre_training", "Gender", "0", "DPL", -0.0177, None),
        MetricRow("post_training", "Gender", "0", "AD", -0.0177, None),
        MetricRow("post_training", "Gender", "0", "DI", 1.0, None),
    ]


def test_metric_lookup_filters():
    result = AnalysisResult.from_dict(BIAS_EXAMPLE)
    assert [r.stage for r in result.metric("DPL")] == ["pre_training"]
    assert result.metric("dpl", stage="post_training") == []
    assert len(result.metric("AD", facet="Gender", group="0")) == 1
    assert result.metric("AD", group="1") == []
    with pytest.raises(ClarifyConfigError):
        result.bias_section("during_training")


def test_special_values_infinity_nan_null_and_zero():
    document = {
        "version": "1.0",
        "post_training_bias_metrics": {
            "label": "y",
            "facets": {
                "f": [
                    {
                        "value_or_threshold": "(0.5, 0.99]",
                        "metrics": [
                            {"name": "DCA", "description": "", "value": "Infinity"},
                            {"name": "DCR", "description": "", "value": "-Infinity"},
                            {"name": "TE", "description": "", "value": "NaN"},
                            {"name": "AD", "description": "", "value": 0},
                            {"name": "DI", "description": "", "value": None, "error": "Facet set is empty."},
                        ],
                    }
                ]
            },
        },
    }
    metrics = {
        m.name: m for m in AnalysisResult.from_dict(document).post_training_bias.facets["f"][0].metrics
    }
    assert metrics["DCA"].value == math.inf
    assert metrics["DCR"].value == -math.inf
    assert math.isnan(metrics["TE"].value)
    assert metrics["AD"].value == 0.0
    assert metrics["AD"].value is not None
    assert metrics["DI"].value is None
    assert metrics["DI"].error == "Facet set is empty."
    assert AnalysisResult.from_dict(document).post_training_bias.label_value_or_threshold is None


def test_bare_json_tokens_written_by_python_json_are_accepted():
    text = (
        '{"version": "1.0", "pre_training_bias_metrics": {"label": "y", "facets": {"f": [{"value_or_threshold": "a",'
        ' "metrics": [{"name": "KL", "description": "", "value": Infinity},'
        ' {"name": "JS", "description": "", "value": NaN}, {"name": "LP", "description": "", "value": -Infinity}]}]}}}'
    )
    values = [row.value for row in AnalysisResult.from_json(text.encode()).metrics_table()]
    assert values[0] == math.inf
    assert math.isnan(values[1])
    assert values[2] == -math.inf


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(1, 1.0), (0, 0.0), (-2.5, -2.5), ("infinity", math.inf), ("+Infinity", math.inf), (None, None)],
)
def test_metric_value_conversion(raw, expected):
    assert metric_value(raw) == expected


@pytest.mark.parametrize("raw", ["abc", "1.5", True, [1], {"v": 1}])
def test_metric_value_rejects_other_values(raw):
    with pytest.raises(ClarifyConfigError):
        metric_value(raw)


def test_explanations_kernel_shap_and_pdp():
    result = AnalysisResult.from_dict(EXPLANATIONS_EXAMPLE)
    shap = result.kernel_shap["label0"]
    assert shap.global_shap_values == {"Age": 0.0225, "Income": 0.0074, "Occupation": 0.0068}
    assert shap.expected_value == pytest.approx(0.5082)
    assert shap.global_top_shap_text == {"Comments": {"gross": 0.041, "awful": 0.030}}
    assert [p["feature_name"] for p in result.pdp] == ["Age", "comments"]
    assert "error" in result.pdp[1]
    assert result.pre_training_bias is None
    assert result.post_training_bias is None
    assert result.metrics_table() == []


def test_shap_without_text_block():
    document = {
        "explanations": {
            "kernel_shap": {"approved": {"global_shap_values": {"age": "NaN"}, "expected_value": 0}}
        }
    }
    shap = AnalysisResult.from_dict(document).kernel_shap["approved"]
    assert math.isnan(shap.global_shap_values["age"])
    assert shap.expected_value == 0.0
    assert shap.global_top_shap_text is None


@pytest.mark.parametrize("case", json.loads(GOLDEN.read_text()), ids=lambda c: c["name"])
def test_golden_smclarify_outputs_parse_completely(case):
    document = {k: v for k, v in case.items() if k.endswith("_bias_metrics")}
    result = AnalysisResult.from_dict(document)
    expected_rows = [
        (stage, facet, group["value_or_threshold"], metric["name"], metric.get("value"), metric.get("error"))
        for stage, key in (
            ("pre_training", "pre_training_bias_metrics"),
            ("post_training", "post_training_bias_metrics"),
        )
        if key in document
        for facet, groups in document[key]["facets"].items()
        for group in groups
        for metric in group["metrics"]
    ]
    rows = result.metrics_table()
    assert len(rows) == len(expected_rows) > 0
    for row, (stage, facet, group, name, value, error) in zip(rows, expected_rows, strict=True):
        assert (row.stage, row.facet, row.group, row.metric, row.error) == (stage, facet, group, name, error)
        assert row.value == (None if value is None else pytest.approx(float(value)))


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ([], "analysis.json"),
        ({"pre_training_bias_metrics": []}, "pre_training_bias_metrics"),
        ({"pre_training_bias_metrics": {"facets": {"f": {}}}}, "pre_training_bias_metrics.facets.f"),
        (
            {"pre_training_bias_metrics": {"facets": {"f": [{"metrics": [{"name": "CI", "value": "big"}]}]}}},
            "pre_training_bias_metrics.facets.f[0].metrics[0].value",
        ),
        (
            {"post_training_bias_metrics": {"facets": {"f": [{"metrics": [{"value": 1}]}]}}},
            "post_training_bias_metrics.facets.f[0].metrics[0].name",
        ),
        ({"explanations": {"kernel_shap": {"label0": []}}}, "explanations.kernel_shap.label0"),
        ({"explanations": {"pdp": {}}}, "explanations.pdp"),
    ],
)
def test_malformed_documents_name_the_json_path(document, path):
    with pytest.raises(ClarifyConfigError) as err:
        AnalysisResult.from_dict(document)
    assert err.value.field == path
    assert path in str(err.value)


def test_invalid_json_text():
    with pytest.raises(ClarifyConfigError) as err:
        AnalysisResult.from_json(b"{not json")
    assert err.value.field == "analysis.json"
