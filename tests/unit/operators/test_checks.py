"""ClarifyCheckOperator / ClarifyCheckBranchOperator on local paths and on S3 (moto server)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import jsonschema
import pytest

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.operators.checks import (
    ClarifyBiasViolationError,
    ClarifyCheckBranchOperator,
    ClarifyCheckError,
    ClarifyCheckOperator,
)
from tests.support.aws import REGION
from tests.unit.analysis.test_checks import CONSTRAINT_VIOLATIONS_SCHEMA


def analysis_json(dppl: float, di: float, shap: dict[str, float] | None = None) -> str:
    doc: dict = {
        "version": "1.0",
        "post_training_bias_metrics": {
            "label": "approved",
            "label_value_or_threshold": "1",
            "facets": {
                "sex": [
                    {
                        "value_or_threshold": "female",
                        "metrics": [
                            {"name": "DI", "description": "Disparate Impact (DI)", "value": di},
                            {"name": "DPPL", "description": "DPPL", "value": dppl},
                        ],
                    }
                ]
            },
        },
    }
    if shap is not None:
        doc["explanations"] = {"kernel_shap": {"label0": {"global_shap_values": shap, "expected_value": 0.4}}}
    return json.dumps(doc)


FAIR = analysis_json(dppl=0.02, di=0.97)
BIASED = analysis_json(dppl=-0.3, di=0.55)
THRESHOLDS = {"DI": (0.8, 1.25), "DPPL": (-0.1, 0.1)}


class RecordingTI:
    """Stands in for the task instance: records XCom pushes in order."""

    def __init__(self) -> None:
        self.pushed: dict[str, object] = {}
        self.order: list[str] = []

    def xcom_push(self, key: str, value: object) -> None:
        self.pushed[key] = value
        self.order.append(key)


def write_result(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "analysis.json").write_text(text)
    return folder


def run(op: ClarifyCheckOperator) -> tuple[RecordingTI, object]:
    ti = RecordingTI()
    return ti, op.execute({"ti": ti})


# ---- local paths ------------------------------------------------------------------------------------


def test_fair_result_passes_and_writes_no_report(tmp_path):
    result = write_result(tmp_path / "run1", FAIR)
    ti, summary = run(
        ClarifyCheckOperator(task_id="gate", analysis_result_uri=str(result), thresholds=THRESHOLDS)
    )
    assert summary["passed"] is True
    assert summary["checked"] == 2
    assert summary["violation_report"] is None
    assert ti.pushed["violations"] == []
    assert ti.pushed["calculated_baseline_constraints"] == f"{result}/analysis.json"
    assert not (result / "constraint_violations.json").exists()


def test_violation_pushes_xcom_then_fails_with_a_table(tmp_path, capsys):
    result = write_result(tmp_path / "run1", BIASED)
    op = ClarifyCheckOperator(task_id="gate", analysis_result_uri=str(result), thresholds=THRESHOLDS)
    ti = RecordingTI()
    with pytest.raises(ClarifyBiasViolationError) as info:
        op.execute({"ti": ti})
    error = info.value
    # XComs were pushed before the exception left execute().
    assert [v["metric"] for v in ti.pushed["violations"]] == ["DI", "DPPL"]
    assert ti.pushed["passed"] is False
    report = result / "constraint_violations.json"
    assert ti.pushed["violation_report"] == str(report)
    # The exception carries the violations and reads as a table.
    assert [(v.metric, v.facet, v.group, v.value, v.bound) for v in error.violations] == [
        ("DI", "sex", "female", 0.55, "[0.8, 1.25]"),
        ("DPPL", "sex", "female", -0.3, "[-0.1, 0.1]"),
    ]
    assert error.violation_report_uri == str(report)
    message = str(error)
    assert "metric" in message
    assert "bound" in message
    assert "0.55" in message
    assert str(report) in message
    logged = capsys.readouterr().out
    assert "check      stage          metric  facet  group   value  bound        reason" in logged
    assert "threshold  post_training  DI      sex    female  0.55   [0.8, 1.25]  out_of_bounds" in logged
    # The report validates against Model Monitor's schema; no temp files are left behind.
    document = json.loads(report.read_text())
    jsonschema.validate(document, CONSTRAINT_VIOLATIONS_SCHEMA)
    assert [v["metric_name"] for v in document["violations"]] == ["DI", "DPPL"]
    assert sorted(p.name for p in result.iterdir()) == ["analysis.json", "constraint_violations.json"]


def test_fail_on_violation_false_succeeds_with_the_report(tmp_path):
    result = write_result(tmp_path / "run1", BIASED)
    ti, summary = run(
        ClarifyCheckOperator(
            task_id="gate",
            analysis_result_uri=f"{result}/analysis.json",
            thresholds=THRESHOLDS,
            fail_on_violation=False,
        )
    )
    assert summary["passed"] is False
    assert summary["violation_count"] == 2
    assert (result / "constraint_violations.json").is_file()


def test_a_passing_rerun_removes_a_stale_report(tmp_path):
    result = write_result(tmp_path / "run1", FAIR)
    (result / "constraint_violations.json").write_text('{"version": "1.0", "violations": []}')
    run(ClarifyCheckOperator(task_id="gate", analysis_result_uri=str(result), thresholds=THRESHOLDS))
    assert not (result / "constraint_violations.json").exists()


def test_file_uri_and_custom_report_location(tmp_path):
    result = write_result(tmp_path / "run1", BIASED)
    report = tmp_path / "reports" / "gate.json"
    _, summary = run(
        ClarifyCheckOperator(
            task_id="gate",
            analysis_result_uri=result.as_uri(),
            thresholds=THRESHOLDS,
            violation_report_uri=report.as_uri(),
            fail_on_violation=False,
        )
    )
    assert summary["violation_report"] == report.as_uri()
    assert json.loads(report.read_text())["violations"][0]["metric_name"] == "DI"


def test_missing_result_fails_clearly(tmp_path):
    op = ClarifyCheckOperator(
        task_id="gate", analysis_result_uri=str(tmp_path / "nothing"), thresholds=THRESHOLDS
    )
    with pytest.raises(ClarifyCheckError, match="No analysis result at .*nothing/analysis.json"):
        run(op)


def test_skip_check_runs_no_rule(tmp_path):
    result = write_result(tmp_path / "run1", BIASED)
    _, summary = run(
        ClarifyCheckOperator(
            task_id="gate", analysis_result_uri=str(result), thresholds=THRESHOLDS, skip_check=True
        )
    )
    assert summary["passed"] is True
    assert summary["skipped"] is True
    assert summary["checked"] == 0


# ---- baseline lifecycle (ClarifyCheckStep, docs/gates.md) ---------------------------------------------------------


def test_first_run_without_a_baseline_needs_skip_and_register(tmp_path):
    result = write_result(tmp_path / "run1", FAIR)
    registry = tmp_path / "registry" / "bias"
    with pytest.raises(ClarifyCheckError, match="skip_check=True and register_new_baseline=True"):
        run(
            ClarifyCheckOperator(
                task_id="gate", analysis_result_uri=str(result), registered_baseline_uri=str(registry)
            )
        )
    with pytest.raises(ClarifyCheckError, match="Set register_new_baseline=True"):
        run(
            ClarifyCheckOperator(
                task_id="gate",
                analysis_result_uri=str(result),
                registered_baseline_uri=str(registry),
                skip_check=True,
            )
        )
    ti, summary = run(
        ClarifyCheckOperator(
            task_id="gate",
            analysis_result_uri=str(result),
            registered_baseline_uri=str(registry),
            skip_check=True,
            register_new_baseline=True,
        )
    )
    assert (registry / "analysis.json").read_bytes() == (result / "analysis.json").read_bytes()
    assert summary["baseline_used_for_drift_check_constraints"] == f"{registry}/analysis.json"
    assert ti.pushed["baseline_used_for_drift_check_constraints"] == f"{registry}/analysis.json"


def _registry_with(tmp_path: Path, text: str) -> Path:
    return write_result(tmp_path / "registry", text)


def test_drift_against_the_registered_baseline_keeps_it(tmp_path):
    registry = _registry_with(tmp_path, analysis_json(dppl=0.05, di=0.97))
    before = (registry / "analysis.json").read_text()
    drifted = write_result(tmp_path / "run2", analysis_json(dppl=-0.08, di=0.97))
    with pytest.raises(ClarifyBiasViolationError) as info:
        run(
            ClarifyCheckOperator(
                task_id="gate", analysis_result_uri=str(drifted), registered_baseline_uri=str(registry)
            )
        )
    assert [(v.check, v.metric, v.value) for v in info.value.violations] == [("bias_drift", "DPPL", -0.08)]
    assert (registry / "analysis.json").read_text() == before


def test_register_new_baseline_after_a_passing_check(tmp_path):
    registry = _registry_with(tmp_path, analysis_json(dppl=0.05, di=0.97))
    better = write_result(tmp_path / "run2", analysis_json(dppl=0.01, di=0.96))
    _, summary = run(
        ClarifyCheckOperator(
            task_id="gate",
            analysis_result_uri=str(better),
            registered_baseline_uri=str(registry),
            register_new_baseline=True,
        )
    )
    assert summary["passed"] is True
    assert (registry / "analysis.json").read_text() == (better / "analysis.json").read_text()
    assert summary["baseline_used_for_drift_check_constraints"] == f"{registry}/analysis.json"


def test_a_result_with_violations_is_never_registered(tmp_path):
    registry = _registry_with(tmp_path, analysis_json(dppl=0.05, di=0.97))
    before = (registry / "analysis.json").read_text()
    worse = write_result(tmp_path / "run2", analysis_json(dppl=0.2, di=0.97))
    ti, summary = run(
        ClarifyCheckOperator(
            task_id="gate",
            analysis_result_uri=str(worse),
            registered_baseline_uri=str(registry),
            register_new_baseline=True,
            fail_on_violation=False,
        )
    )
    assert summary["passed"] is False
    assert (registry / "analysis.json").read_text() == before
    assert ti.pushed["baseline_used_for_drift_check_constraints"] == f"{registry}/analysis.json"


def test_supplied_baseline_wins_over_the_registered_one(tmp_path):
    registry = _registry_with(tmp_path, analysis_json(dppl=0.5, di=0.97))  # would let 0.2 pass
    supplied = write_result(tmp_path / "supplied", analysis_json(dppl=0.1, di=0.97))
    current = write_result(tmp_path / "run2", analysis_json(dppl=0.2, di=0.97))
    with pytest.raises(ClarifyBiasViolationError, match="baseline 0.1"):
        run(
            ClarifyCheckOperator(
                task_id="gate",
                analysis_result_uri=str(current),
                registered_baseline_uri=str(registry),
                supplied_baseline_constraints=f"{supplied}/analysis.json",
            )
        )


def test_skip_check_carries_the_existing_baseline_forward(tmp_path):
    registry = _registry_with(tmp_path, analysis_json(dppl=0.05, di=0.97))
    current = write_result(tmp_path / "run2", BIASED)
    ti, summary = run(
        ClarifyCheckOperator(
            task_id="gate",
            analysis_result_uri=str(current),
            thresholds=THRESHOLDS,
            registered_baseline_uri=str(registry),
            skip_check=True,
        )
    )
    assert summary["passed"] is True
    assert ti.pushed["baseline_used_for_drift_check_constraints"] == f"{registry}/analysis.json"
    assert json.loads((registry / "analysis.json").read_text())["post_training_bias_metrics"]


def test_feature_attribution_drift_against_a_baseline(tmp_path):
    baseline = write_result(
        tmp_path / "base", analysis_json(0.0, 1.0, shap={"income": 0.7, "age": 0.5, "sex": 0.05})
    )
    current = write_result(
        tmp_path / "now", analysis_json(0.0, 1.0, shap={"income": 0.1, "age": 0.2, "sex": 0.7})
    )
    with pytest.raises(ClarifyBiasViolationError) as info:
        run(
            ClarifyCheckOperator(
                task_id="gate", analysis_result_uri=str(current), supplied_baseline_constraints=str(baseline)
            )
        )
    (violation,) = info.value.violations
    assert violation.check == "feature_attribution_drift"
    assert violation.description.startswith("Feature attribution drift 0.68")


# ---- templating and argument validation -------------------------------------------------------------


def test_templated_arguments_are_rendered_and_coerced(tmp_path):
    result = write_result(tmp_path / "run1", analysis_json(dppl=0.02, di=0.85))
    op = ClarifyCheckOperator(
        task_id="gate",
        analysis_result_uri="{{ params.result }}",
        thresholds={"DI": ("{{ params.di_min }}", None)},
        fail_on_violation="{{ params.strict }}",
    )
    op.render_template_fields({"params": {"result": str(result), "di_min": "0.9", "strict": "false"}})
    assert op.thresholds == {"DI": ("0.9", None)}
    _, summary = run(op)
    assert summary["passed"] is False  # 0.85 < 0.9, but strict=false: no exception


def test_invalid_arguments_fail_at_dag_import():
    with pytest.raises(ClarifyConfigError, match="lower bound is above"):
        ClarifyCheckOperator(task_id="gate", analysis_result_uri="s3://b/k", thresholds={"DI": (1.25, 0.8)})
    with pytest.raises(ClarifyConfigError, match="registered_baseline_uri"):
        ClarifyCheckOperator(
            task_id="gate", analysis_result_uri="s3://b/k", thresholds=THRESHOLDS, register_new_baseline=True
        )
    with pytest.raises(ClarifyConfigError, match="ndcg_threshold"):
        ClarifyCheckOperator(
            task_id="gate", analysis_result_uri="s3://b/k", thresholds=THRESHOLDS, ndcg_threshold=9
        )
    with pytest.raises(ClarifyConfigError, match="drift_tolerance"):
        ClarifyCheckOperator(
            task_id="gate", analysis_result_uri="s3://b/k", thresholds=THRESHOLDS, drift_tolerance=-1
        )
    with pytest.raises(ClarifyConfigError, match="nothing to check"):
        ClarifyCheckOperator(task_id="gate", analysis_result_uri="s3://b/k")
    with pytest.raises(ValueError, match="routes to on_violation"):
        ClarifyCheckBranchOperator(
            task_id="b",
            analysis_result_uri="x",
            thresholds=THRESHOLDS,
            on_pass="a",
            on_violation="c",
            fail_on_violation=True,
        )


def test_invalid_rendered_argument_fails_without_retry(tmp_path):
    result = write_result(tmp_path / "run1", FAIR)
    op = ClarifyCheckOperator(
        task_id="gate", analysis_result_uri=str(result), thresholds={"DI": ("{{ params.x }}", 1)}
    )
    op.render_template_fields({"params": {"x": "high"}})
    with pytest.raises(ClarifyCheckError, match=r"thresholds\.DI\.lower"):
        run(op)


@pytest.mark.parametrize("name", ["DIX", "disparate_impact"])
def test_a_misspelled_metric_fails_at_dag_import(name):
    for thresholds in (
        {name: (0.8, 1.25)},
        {name: ("{{ params.di_min }}", None)},  # bounds templated, the name is still literal
        [{"metric": name, "lower": 0.8, "on_missing": "ignore"}],
    ):
        with pytest.raises(ClarifyConfigError, match="did you mean DI"):
            ClarifyCheckOperator(
                task_id="gate",
                analysis_result_uri="s3://b/k",
                thresholds=thresholds,
                policy={"on_missing": "ignore"},
            )


def test_a_templated_metric_name_fails_before_any_file_is_written(tmp_path):
    result = write_result(tmp_path / "run1", BIASED)
    report = result / "constraint_violations.json"
    report.write_text("the real report")
    op = ClarifyCheckOperator(
        task_id="gate",
        analysis_result_uri=str(result),
        thresholds=[{"metric": "{{ params.metric }}", "lower": 0.8}],
        policy={"on_missing": "ignore"},
    )
    op.render_template_fields({"params": {"metric": "DIX"}})
    ti = RecordingTI()
    with pytest.raises(ClarifyCheckError, match="did you mean DI"):
        op.execute({"ti": ti})
    assert report.read_text() == "the real report"
    assert ti.pushed == {}


def test_an_unknown_facet_or_group_fails_before_any_file_is_written(tmp_path):
    result = write_result(tmp_path / "run1", BIASED)
    registry = tmp_path / "registry" / "baseline.json"
    for rule, message in (
        ({"lower": 0.8, "facet": "gender"}, r"facet 'gender' is not in the analysis result"),
        ({"lower": 0.8, "facet": "sex", "group": "Female"}, r"group 'Female'.*did you mean 'female'"),
    ):
        op = ClarifyCheckOperator(
            task_id="gate",
            analysis_result_uri=str(result),
            thresholds={"DPPL": (-0.1, 0.1), "DI": rule},
            registered_baseline_uri=str(registry),
            skip_check=False,
            supplied_baseline_constraints=str(result),
            register_new_baseline=True,
        )
        ti = RecordingTI()
        with pytest.raises(ClarifyCheckError, match=message) as info:
            op.execute({"ti": ti})
        assert isinstance(info.value.__cause__, ClarifyConfigError)
        assert not (result / "constraint_violations.json").exists()
        assert not registry.exists()
        assert ti.pushed == {}


def test_branch_operator_chooses_by_outcome(tmp_path):
    fair = write_result(tmp_path / "fair", FAIR)
    biased = write_result(tmp_path / "biased", BIASED)

    def branch(uri: Path) -> tuple[RecordingTI, object]:
        op = ClarifyCheckBranchOperator(
            task_id="gate",
            analysis_result_uri=str(uri),
            thresholds=THRESHOLDS,
            on_pass="deploy",
            on_violation=["alert"],
        )
        ti = RecordingTI()
        return ti, op.choose_branch({"ti": ti})

    assert branch(fair)[1] == "deploy"
    ti, chosen = branch(biased)
    assert chosen == ["alert"]
    assert len(ti.pushed["violations"]) == 2
    assert (biased / "constraint_violations.json").is_file()


# ---- significance-aware gates -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_group_audit(tmp_path_factory) -> Path:
    """A real audit (open engine, with confidence intervals) where 12 of 400 applicants are 'other':
    their DI is far below 0.8, but 12 rows cannot show it."""
    import csv
    import random

    from airflow_provider_clarify.engine.runner import run_analysis

    folder = tmp_path_factory.mktemp("tiny")
    rng = random.Random(3)
    rows = [["g", "label", "pred"]]
    for i in range(400):
        group = "other" if i < 12 else "main"
        rate = 0.25 if group == "other" else 0.5
        rows.append([group, int(rng.random() < 0.5), int(rng.random() < rate)])
    with open(folder / "data.csv", "w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    config = {
        "dataset_type": "text/csv",
        "headers": rows[0],
        "label": "label",
        "label_values_or_threshold": [1],
        "facet": [{"name_or_index": "g", "value_or_threshold": ["other"]}],
        "predicted_label": "pred",
        "methods": {"post_training_bias": {"methods": ["DI", "DPPL"]}},
    }
    run_analysis(config, str(folder / "data.csv"), str(folder / "audit"), confidence_intervals={"seed": 1})
    return folder / "audit"


def _di(folder: Path) -> float:
    doc = json.loads((folder / "analysis.json").read_text())
    entry = doc["post_training_bias_metrics"]["facets"]["g"][0]
    return next(m["value"] for m in entry["metrics"] if m["name"] == "DI")


def test_a_gate_on_a_tiny_group_says_inconclusive_instead_of_violated(tiny_group_audit):
    assert _di(tiny_group_audit) < 0.8  # the point value alone violates the four-fifths rule
    with pytest.raises(ClarifyBiasViolationError):
        run(
            ClarifyCheckOperator(
                task_id="gate", analysis_result_uri=str(tiny_group_audit), thresholds={"DI": (0.8, 1.25)}
            )
        )
    (tiny_group_audit / "constraint_violations.json").unlink()
    for options in ({"interval_mode": "inconclusive"}, {"min_group_size": 30}):
        ti, summary = run(
            ClarifyCheckOperator(
                task_id="gate",
                analysis_result_uri=str(tiny_group_audit),
                thresholds={"DI": (0.8, 1.25)},
                **options,
            )
        )
        assert summary["state"] == "inconclusive"
        assert summary["passed"] is True
        assert ti.pushed["state"] == "inconclusive"
        (finding,) = ti.pushed["inconclusive"]
        assert finding["metric"] == "DI"
        assert finding["reason"] == ("small_group" if "min_group_size" in options else "interval_straddles")
        assert ti.pushed["violations"] == []
        assert not (tiny_group_audit / "constraint_violations.json").exists()


def test_inconclusive_has_its_own_branch_and_can_fail(tiny_group_audit):
    op = ClarifyCheckBranchOperator(
        task_id="gate",
        analysis_result_uri=str(tiny_group_audit),
        thresholds={"DI": (0.8, 1.25)},
        interval_mode="inconclusive",
        on_pass="deploy",
        on_violation="alert",
        on_inconclusive="collect_more_data",
    )
    assert op.choose_branch({"ti": RecordingTI()}) == "collect_more_data"
    strict = ClarifyCheckOperator(
        task_id="gate",
        analysis_result_uri=str(tiny_group_audit),
        thresholds={"DI": (0.8, 1.25)},
        interval_mode="{{ params.mode }}",
        fail_on_inconclusive="{{ params.strict }}",
    )
    strict.render_template_fields({"params": {"mode": "inconclusive", "strict": "true"}})
    with pytest.raises(ClarifyBiasViolationError, match="inconclusive"):
        run(strict)


def test_the_interval_gate_needs_the_sidecar(tmp_path):
    result = write_result(tmp_path / "run1", BIASED)
    op = ClarifyCheckOperator(
        task_id="gate", analysis_result_uri=str(result), thresholds=THRESHOLDS, interval_mode="outside"
    )
    with pytest.raises(ClarifyCheckError, match="confidence_intervals.json, which does not exist"):
        run(op)
    assert not (result / "constraint_violations.json").exists()
    with pytest.raises(ClarifyConfigError, match="interval_mode"):
        ClarifyCheckOperator(
            task_id="gate", analysis_result_uri="x", thresholds=THRESHOLDS, interval_mode="maybe"
        )


def test_default_gate_outputs_are_unchanged_apart_from_the_state(tmp_path):
    result = write_result(tmp_path / "run1", FAIR)
    ti, summary = run(
        ClarifyCheckOperator(task_id="gate", analysis_result_uri=str(result), thresholds=THRESHOLDS)
    )
    assert (summary["passed"], summary["state"], summary["inconclusive_count"]) == (True, "passed", 0)
    assert ti.pushed["inconclusive"] == []


# ---- S3 (moto server) ---------------------------------------------------------------------------------


@pytest.fixture
def s3(moto_endpoint, s3_bucket):
    return boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)


def test_s3_violation_report_and_baseline_registration(s3, s3_bucket):
    s3.put_object(Bucket=s3_bucket, Key="audit/run1/analysis.json", Body=BIASED.encode())
    s3.put_object(Bucket=s3_bucket, Key="audit/run2/analysis.json", Body=FAIR.encode())
    prefix = f"s3://{s3_bucket}/audit"

    ti = RecordingTI()
    op = ClarifyCheckOperator(task_id="gate", analysis_result_uri=f"{prefix}/run1", thresholds=THRESHOLDS)
    with pytest.raises(ClarifyBiasViolationError):
        op.execute({"ti": ti})
    report_uri = f"{prefix}/run1/constraint_violations.json"
    assert ti.pushed["violation_report"] == report_uri
    body = s3.get_object(Bucket=s3_bucket, Key="audit/run1/constraint_violations.json")["Body"].read()
    jsonschema.validate(json.loads(body), CONSTRAINT_VIOLATIONS_SCHEMA)

    # First run of the registry: skip the drift check, register this (fair) result as the baseline.
    _, summary = run(
        ClarifyCheckOperator(
            task_id="gate",
            analysis_result_uri=f"{prefix}/run2/",
            thresholds=THRESHOLDS,
            registered_baseline_uri=f"s3://{s3_bucket}/registry/bias-baseline.json",
            skip_check=True,
            register_new_baseline=True,
        )
    )
    assert (
        summary["baseline_used_for_drift_check_constraints"]
        == f"s3://{s3_bucket}/registry/bias-baseline.json"
    )
    stored = s3.get_object(Bucket=s3_bucket, Key="registry/bias-baseline.json")["Body"].read()
    assert stored == FAIR.encode()

    # The biased result drifts against that registered baseline.
    with pytest.raises(ClarifyBiasViolationError) as info:
        run(
            ClarifyCheckOperator(
                task_id="gate",
                analysis_result_uri=f"{prefix}/run1",
                registered_baseline_uri=f"s3://{s3_bucket}/registry/bias-baseline.json",
            )
        )
    assert {v.check for v in info.value.violations} == {"bias_drift"}


def test_s3_passing_run_removes_stale_report(s3, s3_bucket):
    s3.put_object(Bucket=s3_bucket, Key="audit/run/analysis.json", Body=FAIR.encode())
    s3.put_object(Bucket=s3_bucket, Key="audit/run/constraint_violations.json", Body=b"{}")
    _, summary = run(
        ClarifyCheckOperator(
            task_id="gate", analysis_result_uri=f"s3://{s3_bucket}/audit/run", thresholds=THRESHOLDS
        )
    )
    assert summary["passed"] is True
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket, Prefix="audit/run/")["Contents"]]
    assert keys == ["audit/run/analysis.json"]


def test_s3_missing_result(s3_bucket):
    op = ClarifyCheckOperator(
        task_id="gate", analysis_result_uri=f"s3://{s3_bucket}/nope", thresholds=THRESHOLDS
    )
    with pytest.raises(ClarifyCheckError, match="No analysis result"):
        run(op)


def test_misspelled_drift_metric_names_fail_at_dag_import():
    with pytest.raises(ClarifyConfigError, match="did you mean DPPL"):
        ClarifyCheckOperator(
            task_id="gate", analysis_result_uri="x", registered_baseline_uri="b.json", drift_metrics=["DPPLX"]
        )
    with pytest.raises(ClarifyConfigError, match="did you mean DI") as info:
        ClarifyCheckOperator(
            task_id="gate",
            analysis_result_uri="x",
            registered_baseline_uri="b.json",
            drift_neutral_values={"disparate_impact": 1.0},
        )
    assert info.value.field == "drift_neutral_values.disparate_impact"
