"""Make ``sdk_request_dicts.json``: the SageMaker Python SDK's own ExplainerConfig request dicts.

Generates seeded random scenarios (every keyword of the six ``sagemaker.explainer`` classes, present
or absent, with values our stricter validation accepts), builds them with the real SDK and stores
the keyword arguments next to ``ExplainerConfig(...)._to_request_dict()``. The test
tests/unit/analysis/online/test_explainer_config.py builds the same scenarios with our classes and
compares the dicts, key order included.

Run with the SDK in a scratch virtualenv (never a project dependency)::

    python3 -m venv /tmp/sdk-h8 && /tmp/sdk-h8/bin/pip install "sagemaker<3"
    /tmp/sdk-h8/bin/python tests/data/explainer/make_fixtures.py

Made with sagemaker 2.257.7.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from sagemaker.explainer import (
    ClarifyExplainerConfig,
    ClarifyInferenceConfig,
    ClarifyShapBaselineConfig,
    ClarifyShapConfig,
    ClarifyTextConfig,
    ExplainerConfig,
)

OUT = Path(__file__).with_name("sdk_request_dicts.json")
SCENARIOS = 60


def maybe(rng: random.Random, value, p: float = 0.5):
    return value if rng.random() < p else None


def scenario(rng: random.Random) -> dict:
    jsonlines = rng.random() < 0.4
    text = rng.random() < 0.3
    n = rng.randint(1, 6)
    headers = [f"f{i}" for i in range(n)]
    if jsonlines:
        baseline = "\n".join(json.dumps({"features": [rng.randint(0, 9) for _ in range(n)]}) for _ in range(2))
    else:
        baseline = "\n".join(",".join(str(rng.randint(0, 9)) for _ in range(n)) for _ in range(2))
    use_uri = rng.random() < 0.3
    baseline_kwargs = {"shap_baseline_uri": "s3://bucket/baseline.csv"} if use_uri else {"shap_baseline": baseline}
    if jsonlines:
        baseline_kwargs["mime_type"] = "application/jsonlines"
    elif rng.random() < 0.5:
        baseline_kwargs["mime_type"] = "text/csv"
    shap = {"shap_baseline_config": baseline_kwargs}
    for key, value in (
        ("number_of_samples", rng.randint(1, 3000)),
        ("seed", rng.randint(0, 10)),  # includes 0 (the SDK tests "is not None")
        ("use_logit", rng.random() < 0.5),
    ):
        if rng.random() < 0.5:
            shap[key] = value
    if text:
        shap["text_config"] = {
            "language": rng.choice(["en", "de", "xx", "lij", "zh"]),
            "granularity": rng.choice(["token", "sentence", "paragraph"]),
        }
    inference = None
    if rng.random() < 0.8:
        inference = {}
        options = {
            "feature_headers": rng.choice([headers, []]),
            "feature_types": (["numerical"] * (n - 1) + ["text"]) if text else None,
            "features_attribute": "features" if jsonlines else None,
            "probability_index": None if jsonlines else rng.randint(0, 2),
            "probability_attribute": "probability" if jsonlines else None,
            "label_index": None if jsonlines else rng.randint(0, 2),
            "label_attribute": "labels" if jsonlines else None,
            "label_headers": rng.choice([["yes"], ["cat", "dog", "fish"]]),
            "max_payload_in_mb": rng.choice([None, 1, 6, 25]),
            "max_record_count": rng.randint(1, 1000),
            "content_template": '{"features":$features}' if jsonlines else None,
        }
        for key, value in options.items():
            if key == "feature_headers" and text:
                inference[key] = headers
            elif key == "feature_types" and text:
                inference[key] = value
            elif value is not None and rng.random() < 0.6:
                inference[key] = value
            elif key == "max_payload_in_mb" and value is None and rng.random() < 0.3:
                inference[key] = None  # explicit None: the SDK then leaves MaxPayloadInMB out
    explainer = {"shap_config": shap}
    if rng.random() < 0.5:
        explainer["enable_explanations"] = rng.choice(["`true`", "`false`", "[0]>`0.5`", "probability>`0.5`"])
    if inference is not None:
        explainer["inference_config"] = inference
    return explainer


def build(kwargs: dict) -> ExplainerConfig:
    shap = dict(kwargs["shap_config"])
    shap["shap_baseline_config"] = ClarifyShapBaselineConfig(**shap["shap_baseline_config"])
    if "text_config" in shap:
        shap["text_config"] = ClarifyTextConfig(**shap["text_config"])
    explainer = dict(kwargs)
    explainer["shap_config"] = ClarifyShapConfig(**shap)
    if "inference_config" in explainer:
        explainer["inference_config"] = ClarifyInferenceConfig(**explainer["inference_config"])
    return ExplainerConfig(ClarifyExplainerConfig(**explainer))


def main() -> None:
    rng = random.Random(20261203)
    cases = []
    for _ in range(SCENARIOS):
        kwargs = scenario(rng)
        cases.append({"kwargs": kwargs, "expected": build(kwargs)._to_request_dict()})
    cases.append({"kwargs": None, "expected": ExplainerConfig()._to_request_dict()})
    OUT.write_text(json.dumps(cases, indent=1) + "\n")
    print(f"wrote {len(cases)} scenarios to {OUT}")


if __name__ == "__main__":
    main()
