"""``ModelSource``: the one model-source type of local_model, the child spec, run_analysis and the CLI."""

from __future__ import annotations

import json

import pytest

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.model_source import (
    DEFAULT_MODEL_RETRIES,
    DEFAULT_MODEL_TIMEOUT_SECONDS,
    ModelSource,
    analysis_needs_model,
    resolve_model_source,
)

POST_TRAINING = {"dataset_type": "text/csv", "label": "y", "methods": {"post_training_bias": {}}}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:8080/invocations", ModelSource("http", url="http://127.0.0.1:8080")),
        ({"url": "https://m/", "retries": 0}, ModelSource("http", url="https://m", retries=0)),
        (
            {"endpoint_name": "ep", "timeout_seconds": 5},
            ModelSource("endpoint", endpoint_name="ep", timeout_seconds=5),
        ),
        (
            {"artifact": "s3://b/m.pkl", "format": "pickle", "trust": True, "method": "predict"},
            ModelSource("artifact", artifact="s3://b/m.pkl", format="pickle", method="predict"),
        ),
    ],
)
def test_every_spelling_parses_and_survives_the_trip_to_the_child(given, expected):
    source = ModelSource.parse(given)
    assert source == expected
    assert ModelSource.from_spec(json.loads(json.dumps(source.to_spec()))) == source
    assert ModelSource.parse(source) is source


def test_nothing_given_is_none():
    for empty in (None, "", {}):
        assert ModelSource.parse(empty) is None


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"url": "ftp://m"}, "model.url"),
        ({"url": "http://m", "timeout_seconds": float("nan")}, "model.timeout_seconds"),
        ({"url": "http://m", "retries": True}, "model.retries"),
        ({"url": "http://m", "retries": 11}, "model.retries"),
        ({"endpoint_name": "ep", "format": "joblib"}, "model.format"),
        ({"artifact": "gs://b/m", "trust": True}, "model.artifact"),
        ({"artifact": "/m", "trust": 1}, "model.trust"),
        ({}, None),
        ({"url": "http://m", "artifact": "/m"}, "model"),
        (3.5, "model"),
    ],
)
def test_mistakes_name_the_field_the_value_and_the_fix(given, field):
    if field is None:
        assert ModelSource.parse(given, field_name="model") is None
        return
    with pytest.raises(ClarifyConfigError) as caught:
        ModelSource.parse(given, field_name="model")
    assert caught.value.field == field
    assert caught.value.accepted


def test_callables_stay_in_process():
    def fn(x):
        return x

    source = ModelSource.parse(fn, field_name="model")
    assert source.kind == "callable"
    assert source.fn is fn
    with pytest.raises(ClarifyConfigError, match="cannot be handed to the child process"):
        source.to_spec()


def test_time_bound_of_one_request():
    source = ModelSource.http("http://m")
    assert (source.timeout_seconds, source.retries) == (DEFAULT_MODEL_TIMEOUT_SECONDS, DEFAULT_MODEL_RETRIES)
    assert source.max_seconds_per_request == 3 * 30 + 0.5 + 1.0
    assert ModelSource.http("http://m", retries=0, timeout_seconds=4).max_seconds_per_request == 4


def test_which_analyses_need_a_model_and_the_endpoint_fallback():
    assert not analysis_needs_model({"methods": {"pre_training_bias": {}}})
    assert not analysis_needs_model({**POST_TRAINING, "predicted_label": "p"})
    assert analysis_needs_model(POST_TRAINING)
    assert analysis_needs_model({"methods": {"shap": {}}})
    assert resolve_model_source("http://m", {"methods": {"pre_training_bias": {}}}) is None
    with_endpoint = {**POST_TRAINING, "predictor": {"endpoint_name": "ep"}}
    assert resolve_model_source(None, with_endpoint) == ModelSource.endpoint("ep")
    with pytest.raises(ClarifyConfigError, match="shadow endpoints") as caught:
        resolve_model_source(None, {**POST_TRAINING, "predictor": {"model_name": "m"}})
    assert caught.value.field == "local_model"
