"""The opt-in options and the sidecar view: validation, round trips, purity."""

from __future__ import annotations

import json

import pytest

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.uncertainty import (
    ConfidenceIntervalConfig,
    IntersectionalFacet,
    IntersectionConfig,
    IntervalsResult,
)


def test_confidence_interval_options():
    assert ConfidenceIntervalConfig.coerce(None) is None
    assert ConfidenceIntervalConfig.coerce(False) is None
    assert ConfidenceIntervalConfig.coerce(True) == ConfidenceIntervalConfig()
    config = ConfidenceIntervalConfig.coerce({"level": "0.9", "resamples": "500", "seed": "3"})
    assert config == ConfidenceIntervalConfig(level=0.9, resamples=500, seed=3)
    assert ConfidenceIntervalConfig.coerce(config.to_dict()) == config
    for bad, field in (
        ({"level": 95}, "confidence_intervals.level"),
        ({"resamples": 10}, "confidence_intervals.resamples"),
        ({"resamples": 1000.0}, "confidence_intervals.resamples"),
        ({"seed": -1}, "confidence_intervals.seed"),
        ({"level": True}, "confidence_intervals.level"),
    ):
        with pytest.raises(ClarifyConfigError) as info:
            ConfidenceIntervalConfig.coerce(bad)
        assert info.value.field == field


def test_intersection_options_round_trip_through_json():
    config = IntersectionConfig(
        facets=[
            IntersectionalFacet(
                "w60", [("gender", "==", "female"), {"column": "age", "op": ">", "value": 60}]
            ),
            {"name": "renters", "conditions": [("housing", "in", ["rent", "free"])]},
        ],
        scan_columns="gender",
        bins={"age": [30, 60]},
        correction="bh",
    )
    assert config.facets[0].text == "gender == 'female' AND age > 60"
    assert config.facets[1].conditions == (("housing", "in", ("rent", "free")),)
    assert config.scan_columns == ("gender",)
    again = IntersectionConfig.coerce(json.loads(json.dumps(config.to_dict())))
    assert again == config


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"scan_columns": ["a"], "min_group_size": 0}, "intersections.min_group_size"),
        ({"scan_columns": ["a"], "alpha": 0.9}, "intersections.alpha"),
        ({"scan_columns": ["a"], "bins": {"age": [60, 30]}}, "intersections.bins.age"),
        (
            {"facets": [{"name": "x", "conditions": [("age", ">", "old")]}]},
            "intersections.facets.x.conditions[0].value",
        ),
        ({"facets": [{"name": "x", "conditions": []}]}, "intersections.facets.x.conditions"),
        (
            {
                "facets": [
                    {"name": "x", "conditions": [("a", "==", 1)]},
                    {"name": "x", "conditions": [("b", "==", 1)]},
                ]
            },
            "intersections.facets",
        ),
        ({"scan_columns": ["a"], "colour": 1}, "intersections"),
    ],
)
def test_bad_intersection_options_name_the_field(options, field):
    with pytest.raises(ClarifyConfigError) as info:
        IntersectionConfig.coerce(options)
    assert info.value.field == field


def test_intervals_result_reads_the_sidecar_and_finds_rows():
    doc = {
        "version": "1.0",
        "level": 0.95,
        "resamples": 1000,
        "seed": 4,
        "pre_training_bias_metrics": {
            "facets": {
                "sex": [
                    {
                        "value_or_threshold": "female",
                        "n_d": 40,
                        "n_a": 960,
                        "metrics": [
                            {
                                "name": "DPL",
                                "value": 0.1,
                                "lower": -0.05,
                                "upper": 0.25,
                                "method": "newcombe",
                            },
                            {
                                "name": "TE",
                                "value": "Infinity",
                                "lower": None,
                                "upper": None,
                                "method": None,
                                "note": "n/a",
                            },
                        ],
                    }
                ]
            }
        },
    }
    result = IntervalsResult.from_json(json.dumps(doc))
    dpl = result.find("pre_training", "sex", "female", "dpl")
    assert (dpl.lower, dpl.upper, dpl.n_d, dpl.method, dpl.has_interval) == (
        -0.05,
        0.25,
        40,
        "newcombe",
        True,
    )
    te = result.find("pre_training", "sex", "female", "TE")
    assert te.value == float("inf")
    assert not te.has_interval
    assert result.find("post_training", "sex", "female", "DPL") is None
    with pytest.raises(ClarifyConfigError):
        IntervalsResult.from_json("{not json")
