"""Every rule Model Monitor's API or SDK enforces fails here first, naming the field and the fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.monitoring import (
    BatchTransformInput,
    BiasAnalysisConfig,
    EndpointInput,
    ExplainabilityAnalysisConfig,
    create_monitoring_requests,
)
from airflow_provider_clarify.analysis.monitoring.schedule import (
    analysis_window,
    format_offset,
    parse_offset,
    schedule_period_seconds,
)

ROLE = "arn:aws:iam::111122223333:role/MonitorRole"


def bias_requests(**overrides):
    kwargs = {
        "role": ROLE,
        "image_uri": "img",
        "analysis_config": "s3://bkt/config.json",
        "endpoint_input": "my-endpoint",
        "ground_truth_input": "s3://bkt/gt",
        "output_s3_uri": "s3://bkt/out",
        "monitor_schedule_name": "sched",
        "job_definition_name": "jobdef",
        "schedule_cron_expression": "cron(0 * ? * * *)",
    }
    kwargs.update(overrides)
    return create_monitoring_requests(kwargs.pop("monitoring_type", "ModelBias"), **kwargs)


@pytest.mark.parametrize(
    ("overrides", "field", "fix"),
    [
        ({"endpoint_input": None}, "endpoint_input", "either batch_transform_input or endpoint_input"),
        (
            {"batch_transform_input": BatchTransformInput("s3://bkt/capture")},
            "endpoint_input",
            "only one",
        ),
        ({"ground_truth_input": None}, "ground_truth_input", "ground_truth_input can not be None"),
        (
            {"monitoring_type": "ModelExplainability"},
            "ground_truth_input",
            "drop ground_truth_input",
        ),
        ({"max_runtime_in_seconds": 3600}, "max_runtime_in_seconds", "<= 1800"),
        (
            {"max_runtime_in_seconds": 7200, "schedule_cron_expression": "cron(0 0/2 ? * * *)"},
            None,
            None,
        ),
        (
            {"max_runtime_in_seconds": 7201, "schedule_cron_expression": "cron(0 0/2 ? * * *)"},
            "max_runtime_in_seconds",
            "<= 7200",
        ),
        ({"monitor_schedule_name": "my_schedule"}, "monitor_schedule_name", "no underscores"),
        ({"job_definition_name": "x" * 64}, "job_definition_name", "1-63"),
        ({"output_s3_uri": "s3://bkt/out/"}, "output_s3_uri", "trailing"),
        ({"output_s3_uri": "s3://bkt/" + "a" * 600}, "output_s3_uri", "512"),
        ({"ground_truth_input": "/local/gt"}, "ground_truth_input", "s3://"),
        ({"role": "MonitorRole"}, "role", "arn:aws:iam"),
        ({"schedule_cron_expression": "cron(30 * ? * * *)"}, "schedule_cron_expression", "minute 0"),
        ({"schedule_cron_expression": "rate(1 hour)"}, "schedule_cron_expression", "CronExpressionGenerator"),
        ({"schedule_cron_expression": "NOW"}, "data_analysis_start_time", "Both data_analysis_start_time"),
        (
            {
                "schedule_cron_expression": "NOW",
                "data_analysis_start_time": "-PT25H",
                "data_analysis_end_time": "-PT0H",
            },
            "data_analysis_start_time",
            "at most 24 hours",
        ),
        (
            {
                "schedule_cron_expression": "NOW",
                "data_analysis_start_time": "-PT1H",
                "data_analysis_end_time": "-PT2H",
            },
            "data_analysis_StartTimeOffset",
            "select no records",
        ),
        ({"instance_count": 0}, "instance_count", "1 to 100"),
        ({"env": {"bad key": "x"}}, "env['bad key']", "[a-zA-Z_]"),
        ({"analysis_config": None}, "analysis_config", "mandatory"),
    ],
)
def test_bad_monitoring_setups_fail_before_any_call(overrides, field, fix):
    if field is None:
        bias_requests(**overrides)  # the boundary case is accepted
        return
    with pytest.raises(ClarifyConfigError) as info:
        bias_requests(**overrides)
    assert info.value.field == field
    assert fix in str(info.value)


def test_hourly_explainability_may_run_an_hour_but_bias_only_half():
    create = bias_requests(
        monitoring_type="ModelExplainability", ground_truth_input=None, max_runtime_in_seconds=3600
    )
    assert create.job_definition["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert (
        bias_requests(max_runtime_in_seconds=1800).job_definition["StoppingCondition"]["MaxRuntimeInSeconds"]
        == 1800
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"endpoint_name": "bad_name"}, "endpoint_name"),
        ({"endpoint_name": "ep", "start_time_offset": "PT1H"}, "start_time_offset"),
        ({"endpoint_name": "ep", "end_time_offset": "-1H"}, "end_time_offset"),
        ({"endpoint_name": "ep", "start_time_offset": "-P1M"}, "start_time_offset"),
        (
            {"endpoint_name": "ep", "start_time_offset": "-PT1H", "end_time_offset": "-PT1H"},
            "StartTimeOffset",
        ),
        ({"endpoint_name": "ep", "inference_attribute": 0}, "inference_attribute"),
        (
            {"endpoint_name": "ep", "probability_threshold_attribute": "0.5"},
            "probability_threshold_attribute",
        ),
        ({"endpoint_name": "ep", "exclude_features_attribute": "x" * 101}, "exclude_features_attribute"),
        ({"endpoint_name": "ep", "s3_input_mode": "FastFile"}, "s3_input_mode"),
    ],
)
def test_endpoint_input_rules(kwargs, field):
    with pytest.raises(ClarifyConfigError) as info:
        EndpointInput(**kwargs)
    assert info.value.field == field


def test_templated_inputs_are_checked_after_rendering():
    endpoint = EndpointInput("{{ var.value.endpoint }}", start_time_offset="-PT1H")
    endpoint.endpoint_name = "bad_name"
    with pytest.raises(ClarifyConfigError, match="endpoint_name"):
        endpoint.to_request_dict()


def test_batch_input_rules():
    with pytest.raises(ClarifyConfigError) as info:
        BatchTransformInput("s3://bkt/cap", dataset_format={"Csv": {"Header": "yes"}})
    assert info.value.field == "dataset_format"


def test_analysis_config_rules():
    with pytest.raises(ClarifyConfigError, match="not in headers"):
        BiasAnalysisConfig(
            {"label_values_or_threshold": [1], "facet": [{"name_or_index": "a"}]}, ["a"], "y"
        ).to_dict()
    with pytest.raises(ClarifyConfigError) as info:
        ExplainabilityAnalysisConfig({"pdp": {"grid_resolution": 5}}, {"model_name": "m"}).to_dict()
    assert info.value.field == "explainability_config"


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("-PT1H", timedelta(hours=-1)),
        ("-PT0H", timedelta(0)),
        ("-P1D", timedelta(days=-1)),
        ("-P8D", timedelta(days=-8)),
        ("-P1W", timedelta(weeks=-1)),
        ("-P1DT12H", timedelta(days=-1, hours=-12)),
        ("-PT90M", timedelta(minutes=-90)),
    ],
)
def test_offsets_parse_and_format_round_trip(text, delta):
    assert parse_offset(text) == delta
    assert parse_offset(format_offset(delta)) == delta


def test_window_is_relative_to_the_scheduled_time_across_days():
    start, end = analysis_window(datetime(2024, 3, 1, 0, 0, tzinfo=UTC), "-PT2H", "-PT1H")
    assert (start, end) == (datetime(2024, 2, 29, 22, tzinfo=UTC), datetime(2024, 2, 29, 23, tzinfo=UTC))
    assert analysis_window("2024-05-01T13:00:00Z") == (
        datetime(2024, 5, 1, 12, tzinfo=UTC),
        datetime(2024, 5, 1, 13, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("cron(0 * ? * * *)", 3600),
        ("cron(0 6 ? * * *)", 86400),
        ("cron(0 0/6 ? * * *)", 6 * 3600),
        ("cron(0 2/10 ? * * *)", 4 * 3600),  # 2, 12, 22 then 2 next day: the shortest gap is 4 hours
        ("cron(0 1,5 ? * * *)", 4 * 3600),
        ("NOW", None),
    ],
)
def test_schedule_period(expression, seconds):
    assert schedule_period_seconds(expression) == seconds
