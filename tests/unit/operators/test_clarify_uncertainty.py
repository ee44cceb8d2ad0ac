"""The analysis operators' ``confidence_intervals=`` / ``intersections=`` options (docs/uncertainty.md).

Literal values are checked when the DAG is parsed, templated ones after rendering; both only work
with ``compute="local"`` (refused for SageMaker before any AWS request); the local run writes the
sidecars while ``analysis.json`` and the XCom stay exactly what they are without the options.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.plan import build_plan
from airflow_provider_clarify.analysis.uncertainty import (
    CONFIDENCE_INTERVALS_FILE,
    INTERSECTIONS_FILE,
    ConfidenceIntervalConfig,
)
from airflow_provider_clarify.operators.clarify import (
    ClarifyBiasAndExplainabilityOperator,
    ClarifyBiasOperator,
    ClarifyExplainabilityOperator,
    ClarifyInvalidConfigException,
    ClarifyPostTrainingBiasOperator,
    ClarifyPreTrainingBiasOperator,
)
from tests.support.aws import BUCKET
from tests.support.paths import GOLDEN_DIR

GOLDEN_CSV = GOLDEN_DIR / "synthetic_credit.csv"
HEADERS = ["sex", "age", "job", "housing", "credit_amount", "duration", "approved", "score", "predicted"]
BIAS = {"label_values_or_threshold": [1], "facet_name": "sex", "facet_values_or_threshold": ["female"]}
INTERVALS = {"level": 0.9, "resamples": 200, "seed": 7}
SCAN = {"scan_columns": ["sex", "housing"], "min_group_size": 5}


@dataclass
class RecordingTI:
    dag_id: str = "clarify_unit"
    task_id: str = "audit"
    run_id: str = "manual__2024-03-01T00:00:00+00:00"
    map_index: int = -1
    try_number: int = 1
    xcoms: dict = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def data_config(output: str, dataset: str = str(GOLDEN_CSV), **extra: Any) -> dict:
    return {
        "s3_data_input_path": dataset,
        "s3_output_path": output,
        "label": "approved",
        "headers": HEADERS,
        "dataset_type": "text/csv",
        **extra,
    }


def pre_training(output: str = f"s3://{BUCKET}/out", **kwargs: Any) -> ClarifyPreTrainingBiasOperator:
    params = {"compute": "local", "data_config": data_config(output), "bias_config": BIAS, **kwargs}
    return ClarifyPreTrainingBiasOperator(task_id="audit", **params)


# --- the option on every bias operator (and SHAP intervals on explainability) -------------------------


def test_the_options_are_templated_on_the_bias_operators_and_intervals_on_explainability():
    for operator in (
        ClarifyPreTrainingBiasOperator,
        ClarifyPostTrainingBiasOperator,
        ClarifyBiasOperator,
        ClarifyBiasAndExplainabilityOperator,
    ):
        assert {"confidence_intervals", "intersections"} <= set(operator.template_fields), operator
        assert {"confidence_intervals", "intersections"} <= set(operator.config_arguments), operator
    assert "confidence_intervals" in ClarifyExplainabilityOperator.template_fields
    assert "intersections" not in ClarifyExplainabilityOperator.template_fields


def test_the_plan_carries_the_coerced_options_as_json():
    plan = build_plan(
        "bias",
        {
            "data_config": data_config("/tmp/out", predicted_label="predicted"),
            "bias_config": BIAS,
            "confidence_intervals": ConfidenceIntervalConfig(level=0.9, seed=3),
            "intersections": SCAN,
        },
        compute="local",
    )
    assert plan.confidence_intervals == {"level": 0.9, "resamples": 1000, "seed": 3}
    assert plan.intersections["scan_columns"] == ["sex", "housing"]
    assert plan.intersections["min_group_size"] == 5
    off = build_plan(
        "bias",
        {"data_config": data_config("/tmp/out", predicted_label="predicted"), "bias_config": BIAS},
        compute="local",
    )
    assert (off.confidence_intervals, off.intersections) == (None, None)


# --- parse time ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "field_name"),
    [
        ({"confidence_intervals": {"level": 2}}, "confidence_intervals.level"),
        ({"confidence_intervals": {"resamples": 10}}, "confidence_intervals.resamples"),
        ({"confidence_intervals": {"levle": 0.9}}, "confidence_intervals"),
        ({"confidence_intervals": "yes please"}, "confidence_intervals"),
        (
            {"intersections": {"scan_columns": ["sex"], "correction": "bonferroni"}},
            "intersections.correction",
        ),
        ({"intersections": {"min_group_size": 5}}, "intersections"),
    ],
)
def test_a_bad_literal_option_fails_when_the_dag_is_parsed(options, field_name):
    with pytest.raises(ClarifyConfigError) as err:
        pre_training(**options)
    assert err.value.field == field_name


def test_a_literal_option_with_sagemaker_fails_when_the_dag_is_parsed():
    with pytest.raises(ClarifyConfigError) as err:
        pre_training(compute="sagemaker", role="ClarifyRole", confidence_intervals=True)
    assert err.value.field == "confidence_intervals"
    assert "compute='local'" in str(err.value)
    with pytest.raises(ClarifyConfigError) as err:
        ClarifyExplainabilityOperator(
            task_id="explain",
            data_config=data_config("s3://b/out"),
            model_config={"model_name": "m", "instance_count": 1, "instance_type": "ml.m5.xlarge"},
            explainability_config={"shap": {"num_samples": 10}},
            confidence_intervals={"seed": 1},
        )
    assert err.value.field == "confidence_intervals"


def test_templated_options_are_not_judged_before_rendering():
    op = pre_training(
        compute="{{ params.compute }}",
        confidence_intervals={"level": "{{ params.level }}"},
        intersections="{{ params.scan | tojson }}",
    )
    assert op.confidence_intervals == {"level": "{{ params.level }}"}


# --- run time: refused for SageMaker, before any AWS request --------------------------------------------


def test_a_templated_option_with_sagemaker_is_refused_before_any_aws_request(s3_bucket, aws_requests):
    op = pre_training(
        compute="{{ params.compute }}",
        role="ClarifyRole",
        confidence_intervals={"level": "{{ params.level }}"},
    )
    ti = RecordingTI()
    context = {"ti": ti, "task_instance": ti, "params": {"compute": "sagemaker", "level": 0.9}}
    op.render_template_fields(context)
    aws_requests.clear()

    with pytest.raises(ClarifyInvalidConfigException) as err:
        op.execute(context)

    assert err.value.__cause__.field == "confidence_intervals"
    assert "does not compute it" in str(err.value)
    assert aws_requests == []  # counted on the fake AWS server
    assert ti.xcoms == {}


def test_a_bad_rendered_option_fails_the_task_without_retry_or_aws_request(s3_bucket, aws_requests):
    op = pre_training(intersections="{{ params.scan | tojson }}")
    ti = RecordingTI()
    context = {"ti": ti, "task_instance": ti, "params": {"scan": {"scan_columns": ["sex"], "top": 0}}}
    op.render_template_fields(context)
    aws_requests.clear()

    with pytest.raises(ClarifyInvalidConfigException) as err:
        op.execute(context)

    assert err.value.__cause__.field == "intersections.top"
    assert aws_requests == []


# --- run time: compute="local" writes the sidecars, XCom and analysis.json unchanged ------------------


def test_local_run_writes_the_sidecars_and_keeps_analysis_json_and_xcom(tmp_path):
    def run(output: str, **options: Any) -> tuple[str, dict]:
        op = pre_training(output, **options)
        ti = RecordingTI()
        context = {"ti": ti, "task_instance": ti, "params": {"level": "0.9", "scan": SCAN}}
        op.render_template_fields(context)
        return op.execute(context), ti.xcoms

    plain_out, ci_out = str(tmp_path / "plain"), str(tmp_path / "ci")
    plain_result, plain_xcoms = run(plain_out)
    ci_result, ci_xcoms = run(
        ci_out,
        confidence_intervals={"level": "{{ params.level }}", "resamples": 200, "seed": 7},
        intersections="{{ params.scan | tojson }}",
    )

    assert (plain_result, ci_result) == (plain_out, ci_out)
    assert plain_xcoms.keys() == ci_xcoms.keys()
    assert (tmp_path / "plain" / "analysis.json").read_bytes() == (
        tmp_path / "ci" / "analysis.json"
    ).read_bytes()
    assert not (tmp_path / "plain" / CONFIDENCE_INTERVALS_FILE).exists()
    sidecar = json.loads((tmp_path / "ci" / CONFIDENCE_INTERVALS_FILE).read_text())
    assert (sidecar["level"], sidecar["resamples"], sidecar["seed"]) == (0.9, 200, 7)
    scan = json.loads((tmp_path / "ci" / INTERSECTIONS_FILE).read_text())
    assert scan["scan"]["groups"]
    html = (tmp_path / "ci" / "report.html").read_text()
    assert 'class="errorbar"' in html
    assert 'class="errorbar"' not in (tmp_path / "plain" / "report.html").read_text()
