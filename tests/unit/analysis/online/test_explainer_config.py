"""ExplainerConfig classes: SDK parity of the request dicts, every rejection, templating, read-back."""

from __future__ import annotations

import json

import pytest
from airflow.sdk import BaseOperator

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.online import (
    ClarifyExplainerConfig,
    ClarifyInferenceConfig,
    ClarifyShapBaselineConfig,
    ClarifyShapConfig,
    ClarifyTextConfig,
    ExplainerConfig,
)
from airflow_provider_clarify.analysis.online.explainer_config import LANGUAGES
from tests.support.paths import TEST_DATA

FIXTURES = json.loads((TEST_DATA / "explainer" / "sdk_request_dicts.json").read_text())


def build(kwargs: dict | None) -> ExplainerConfig:
    """Our classes from the fixture's keyword arguments (the same nesting the SDK script used)."""
    if kwargs is None:
        return ExplainerConfig()
    shap = dict(kwargs["shap_config"])
    shap["shap_baseline_config"] = ClarifyShapBaselineConfig(**shap["shap_baseline_config"])
    if "text_config" in shap:
        shap["text_config"] = ClarifyTextConfig(**shap["text_config"])
    explainer = dict(kwargs)
    explainer["shap_config"] = ClarifyShapConfig(**shap)
    if "inference_config" in explainer:
        explainer["inference_config"] = ClarifyInferenceConfig(**explainer["inference_config"])
    return ExplainerConfig(ClarifyExplainerConfig(**explainer))


@pytest.mark.parametrize("case", FIXTURES, ids=lambda c: str(FIXTURES.index(c)))
def test_request_dict_equals_the_sdk_key_order_included(case):
    ours = build(case["kwargs"]).to_request_dict()
    assert ours == case["expected"]
    assert json.dumps(ours) == json.dumps(case["expected"])  # same key order at every level


@pytest.mark.parametrize("case", FIXTURES[:-1], ids=lambda c: str(FIXTURES.index(c)))
def test_from_request_dict_reads_back_the_same_request(case):
    ours = ExplainerConfig.from_request_dict(case["expected"])
    assert json.dumps(ours.to_request_dict()) == json.dumps(case["expected"])
    inner = ExplainerConfig.from_request_dict(case["expected"]["ClarifyExplainerConfig"])
    assert inner.to_request_dict() == case["expected"]


def test_the_fixtures_cover_every_keyword():
    text = json.dumps([c["kwargs"] for c in FIXTURES])
    for keyword in (
        "mime_type", "shap_baseline", "shap_baseline_uri", "number_of_samples", "seed", "use_logit",
        "text_config", "feature_headers", "feature_types", "features_attribute", "probability_index",
        "probability_attribute", "label_index", "label_attribute", "label_headers", "max_payload_in_mb",
        "max_record_count", "content_template", "enable_explanations", "inference_config",
    ):  # fmt: skip
        assert f'"{keyword}"' in text, keyword
    assert '"seed": 0' in text
    assert '"feature_headers": []' in text


def shap(**baseline) -> ClarifyShapConfig:
    return ClarifyShapConfig(ClarifyShapBaselineConfig(**(baseline or {"shap_baseline": "1,2"})))


def test_sdk_aliases_and_sixty_language_codes():
    config = ClarifyExplainerConfig(shap())
    assert config._to_request_dict() == config.to_request_dict()
    assert len(LANGUAGES) == 60
    assert len(set(LANGUAGES)) == 60
    assert {"ja", "th", "vi"}.isdisjoint(LANGUAGES)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ClarifyShapBaselineConfig(shap_baseline="1," * 2049), r"4,098 characters.*4,096.*shap_baseline_uri"),
        (lambda: ClarifyShapBaselineConfig(), "exactly one of shap_baseline"),
        (lambda: ClarifyShapBaselineConfig(shap_baseline="1", shap_baseline_uri="s3://b/k"), "exactly one"),
        (lambda: ClarifyShapBaselineConfig(shap_baseline="  "), "non-empty string"),
        (lambda: ClarifyShapBaselineConfig(shap_baseline_uri="/local/file.csv"), "s3:// or https://"),
        (lambda: ClarifyShapBaselineConfig(shap_baseline_uri="s3://b/" + "k" * 1020), "at most 1024"),
        (lambda: ClarifyShapBaselineConfig(mime_type="application/json", shap_baseline="1"), "mime_type"),
        (lambda: ClarifyShapBaselineConfig(mime_type=None, shap_baseline="1"), "mime_type"),
        (lambda: ClarifyTextConfig(language="ja", granularity="token"), "Invalid language 'ja'.*no ja, th or vi"),
        (lambda: ClarifyTextConfig(language="english", granularity="token"), "Invalid language"),
        (lambda: ClarifyTextConfig(language="en", granularity="word"), "Invalid granularity 'word'"),
        (lambda: ClarifyShapConfig({"ShapBaseline": "1"}), "shap_baseline_config"),
        (lambda: ClarifyShapConfig(ClarifyShapBaselineConfig(shap_baseline="1"), number_of_samples=0), "number_of_samples"),
        (lambda: ClarifyShapConfig(ClarifyShapBaselineConfig(shap_baseline="1"), number_of_samples=True), "number_of_samples"),
        (lambda: ClarifyShapConfig(ClarifyShapBaselineConfig(shap_baseline="1"), seed=1.5), "Invalid seed"),
        (lambda: ClarifyShapConfig(ClarifyShapBaselineConfig(shap_baseline="1"), use_logit="yes"), "use_logit"),
        (lambda: ClarifyShapConfig(ClarifyShapBaselineConfig(shap_baseline="1"), text_config={"Language": "en"}), "text_config"),
        (lambda: ClarifyInferenceConfig(probability_index=-1), "probability_index"),
        (lambda: ClarifyInferenceConfig(label_index="0"), "label_index"),
        (lambda: ClarifyInferenceConfig(max_record_count=0), "max_record_count"),
        (lambda: ClarifyInferenceConfig(max_payload_in_mb=26), r"max_payload_in_mb 26.*from 1 to 25"),
        (lambda: ClarifyInferenceConfig(max_payload_in_mb=0), "max_payload_in_mb"),
        (lambda: ClarifyInferenceConfig(features_attribute="features["), "not valid JMESPath"),
        (lambda: ClarifyInferenceConfig(probability_attribute="a" * 65), "1-64 characters"),
        (lambda: ClarifyInferenceConfig(label_attribute="labels..x"), "not valid JMESPath"),
        (lambda: ClarifyInferenceConfig(label_headers=[]), "label_headers"),
        (lambda: ClarifyInferenceConfig(label_headers=[str(i) for i in range(17)]), "1-16"),
        (lambda: ClarifyInferenceConfig(feature_headers=["ok", ""]), "Bad entry: ''"),
        (lambda: ClarifyInferenceConfig(feature_headers=[f"f{i}" for i in range(257)]), "1-256"),
        (lambda: ClarifyInferenceConfig(feature_types=["numerical", "numerical"]), "at least one 'text'"),
        (lambda: ClarifyInferenceConfig(feature_types=["text", "number"]), "Bad entry: 'number'"),
        (lambda: ClarifyInferenceConfig(feature_types=[]), "feature_types"),
        (lambda: ClarifyInferenceConfig(feature_headers=["a", "b"], feature_types=["text"]), "1 types for 2"),
        (lambda: ClarifyInferenceConfig(content_template='{"features":[]}'), r"\$features placeholder"),
        (lambda: ClarifyInferenceConfig(content_template='{"features":$features, "padding": "' + "x" * 40 + '"}'), "1-64"),
        (lambda: ClarifyExplainerConfig(shap(), enable_explanations="probability > 0.5"), "Literals need back-ticks"),
        (lambda: ClarifyExplainerConfig(shap(), enable_explanations=""), "enable_explanations"),
        (lambda: ClarifyExplainerConfig(shap(), inference_config={"MaxRecordCount": 1}), "inference_config"),
        (lambda: ClarifyExplainerConfig(None), "shap_config"),
        (lambda: ClarifyExplainerConfig(shap(), inference_config=ClarifyInferenceConfig(content_template='{"f":$features}')),
         "content_template formats JSON Lines records only"),
        (lambda: ClarifyExplainerConfig(shap(), inference_config=ClarifyInferenceConfig(feature_types=["text"])),
         "ClarifyTextConfig"),
        (lambda: ExplainerConfig({"ClarifyExplainerConfig": {}}), "clarify_explainer_config"),
        (lambda: ExplainerConfig.from_request_dict({"ClarifyExplainerConfig": {"ShapConfig": {}, "Extra": 1}}), "unknown key"),
        (lambda: ExplainerConfig.from_request_dict({"ShapConfig": {"ShapBaselineConfig": {"ShapBaseline": "1"}, "Sede": 1}}), r"\['Sede'\]"),
        (lambda: ExplainerConfig.from_request_dict({"ClarifyExplainerConfig": {"EnableExplanations": "`true`"}}), "ShapConfig"),
    ],
)  # fmt: skip
def test_rejections_name_the_field_value_and_fix(make, match):
    with pytest.raises(ClarifyConfigError, match=match):
        make()


def test_baseline_limit_is_inclusive():
    baseline = "1" * 4096
    assert ClarifyShapBaselineConfig(shap_baseline=baseline).to_request_dict()["ShapBaseline"] == baseline


class DeployStandIn(BaseOperator):
    template_fields = ("explainer_config",)

    def __init__(self, *, explainer_config, **kwargs):
        super().__init__(**kwargs)
        self.explainer_config = explainer_config

    def execute(self, context):
        return self.explainer_config.to_request_dict()


def test_jinja_in_fields_is_rendered_by_airflow_then_validated():
    config = ExplainerConfig(
        ClarifyExplainerConfig(
            ClarifyShapConfig(ClarifyShapBaselineConfig(shap_baseline_uri="s3://b/{{ ds }}/baseline.csv")),
            enable_explanations="{{ params.rule }}",
            inference_config=ClarifyInferenceConfig(label_headers=["{{ params.label }}"]),
        )
    )
    op = DeployStandIn(task_id="deploy", explainer_config=config)
    op.render_template_fields({"ds": "2024-03-01", "params": {"rule": "[0]>`0.5`", "label": "approved"}})
    request = op.explainer_config.to_request_dict()["ClarifyExplainerConfig"]
    assert request["ShapConfig"]["ShapBaselineConfig"]["ShapBaselineUri"] == "s3://b/2024-03-01/baseline.csv"
    assert request["EnableExplanations"] == "[0]>`0.5`"
    assert request["InferenceConfig"]["LabelHeaders"] == ["approved"]


def test_a_rendered_value_that_is_invalid_fails_at_to_request_dict():
    config = ClarifyExplainerConfig(shap(), enable_explanations="{{ params.rule }}")
    op = DeployStandIn(task_id="deploy", explainer_config=ExplainerConfig(config))
    op.render_template_fields({"params": {"rule": "score >"}})
    with pytest.raises(ClarifyConfigError, match="enable_explanations"):
        op.explainer_config.to_request_dict()
