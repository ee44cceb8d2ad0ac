from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, strategies as st

from airflow_provider_clarify.analysis.model_source import ModelSource
from airflow_provider_clarify.engine import model_codec as codec
from airflow_provider_clarify.engine.errors import EngineConfigError
from airflow_provider_clarify.engine.model_codec import ModelOutputError, RequestPlanner, plan_requests
from airflow_provider_clarify.engine.predictors import (
    CallablePredictor,
    HttpPredictor,
    ModelOutput,
    PredictorError,
    SageMakerEndpointPredictor,
    predictor_for_source,
    predictor_from_config,
)
from tests.support.model_server import ModelServer

FEATURES = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])


def linear(x):
    return x[:, 0] * 0.1


def two_class(x):
    p = np.clip(x[:, 0] / 10.0, 0, 1)
    return np.column_stack([1 - p, p])


def test_callable_predictor_scores_labels_and_sklearn_style_models():
    out = CallablePredictor(linear).predict(FEATURES)
    assert out.scores.shape == (4, 1)
    assert out.labels is None
    assert out.scores[:, 0].tolist() == pytest.approx([0.1, 0.3, 0.5, 0.7])
    labels = CallablePredictor(lambda x: np.array(["a", "b", "a", "b"], dtype=object)).predict(FEATURES)
    assert labels.scores is None
    assert labels.labels.tolist() == ["a", "b", "a", "b"]

    class Model:
        def predict_proba(self, x):
            return two_class(x)

    out = CallablePredictor(Model(), label_headers=["no", "yes"]).predict(FEATURES)
    assert out.scores.shape == (4, 2)
    assert out.label_headers == ["no", "yes"]


def test_callable_predictor_with_the_wrong_count_is_an_error():
    with pytest.raises(PredictorError, match="returned 3 predictions for 4 records"):
        CallablePredictor(lambda x: x[:-1, 0]).predict(FEATURES)


def test_plan_requests_packs_records_under_the_limit():
    # 10 records of 9 bytes + 1 separator each; overhead 1; 50-byte limit -> 5 records per request
    assert plan_requests([9] * 10, overhead=1, separator=1, max_payload_bytes=50, max_records=None) == [
        (0, 5),
        (5, 10),
    ]
    assert plan_requests([9] * 10, overhead=1, separator=1, max_payload_bytes=50, max_records=3) == [
        (0, 3),
        (3, 6),
        (6, 9),
        (9, 10),
    ]
    with pytest.raises(PredictorError, match="Record 1 alone"):
        plan_requests([5, 100], overhead=1, separator=1, max_payload_bytes=50, max_records=None)


def test_http_csv_round_trip_and_ping():
    with ModelServer(linear) as server:
        predictor = HttpPredictor(server.url)
        assert predictor.ping()
        out = predictor.predict(FEATURES)
        assert out.scores[:, 0].tolist() == pytest.approx([0.1, 0.3, 0.5, 0.7])
        assert server.calls == 1
        assert server.records == 4


def test_http_batches_many_records_into_few_requests_under_the_payload_limit():
    rows = np.arange(20_000, dtype=np.float64).reshape(10_000, 2)
    with ModelServer(linear, max_body_bytes=100_000) as server:
        predictor = HttpPredictor(server.url, max_payload_bytes=100_000)
        out = predictor.predict(rows)
        assert out.scores[:, 0].tolist() == pytest.approx((rows[:, 0] * 0.1).tolist())
        body = sum(len(f"{a!r},{b!r}\n") for a, b in rows.tolist())
        expected_calls = -(-body // 100_000)  # ceil: requests are filled up to the limit
        assert server.calls in (expected_calls, expected_calls + 1)
        assert max(server.payload_sizes) <= 100_000
        assert server.records == 10_000
        assert predictor.calls == server.calls


def test_http_max_records_per_request_caps_batches():
    with ModelServer(linear) as server:
        HttpPredictor(server.url, max_records_per_request=3, max_concurrency=1).predict(FEATURES)
        assert server.calls == 2


def test_http_jsonlines_with_content_template_and_jmespath_extraction():
    with ModelServer(
        two_class, record_formatter=lambda r: {"out": {"probs": list(r), "label": int(r[1] > 0.5)}}
    ) as server:
        predictor = HttpPredictor(
            server.url,
            content_type="application/jsonlines",
            content_template='{"features":$features}',
            label="out.label",
            probability="out.probs",
            label_headers=["no", "yes"],
        )
        out = predictor.predict(FEATURES)
    assert out.labels.tolist() == [0, 0, 0, 1]
    assert out.scores[:, 1].tolist() == pytest.approx([0.1, 0.3, 0.5, 0.7])
    assert out.label_headers == ["no", "yes"]


def test_http_json_records_template_with_features_kvp():
    seen = []

    def model(x):
        seen.append(x.copy())
        return x[:, 1]

    with ModelServer(model) as server:
        predictor = HttpPredictor(
            server.url,
            content_type="application/json",
            content_template='{"instances": $records}',
            record_template="$features_kvp",
            probability="predictions[*].score",
            feature_names=["a", "b"],
        )
        out = predictor.predict(FEATURES)
    assert out.scores[:, 0].tolist() == [2.0, 4.0, 6.0, 8.0]
    assert seen[0].tolist() == FEATURES.tolist()


def test_request_serializer_templates():
    serializer = codec.RequestSerializer(
        "application/json", '{"x": $record}', '{"n": $feature_names, "v": $features, "b": ${b}}', ["a", "b"]
    )
    assert serializer.one_record_per_request
    record = serializer.records(np.array([[1.5, None]], dtype=object))[0]
    assert json.loads(serializer.payload([record])) == {"x": {"n": ["a", "b"], "v": [1.5, None], "b": None}}
    csv_serializer = codec.RequestSerializer("text/csv")
    rows = np.array([[1, "a,b", None, float("nan")]], dtype=object)
    assert csv_serializer.payload(csv_serializer.records(rows)) == b'1,"a,b",,\n'
    with pytest.raises(PredictorError, match=r"placeholder \$features"):
        codec.RequestSerializer("application/jsonlines", '{"x": 1}')


def test_multiclass_labels_list_takes_the_label_of_the_highest_score():
    def formatter(row):
        return {"labels": ["cat", "dog", "bird"], "scores": list(row)}

    with ModelServer(
        lambda x: np.column_stack([x[:, 0], x[:, 1], np.full(len(x), 4.5)]), record_formatter=formatter
    ) as server:
        out = HttpPredictor(
            server.url,
            content_type="text/csv",
            accept_type="application/jsonlines",
            label="labels",
            probability="scores",
        ).predict(FEATURES)
    assert out.labels.tolist() == ["bird", "bird", "dog", "dog"]
    assert out.label_headers == ["cat", "dog", "bird"]


def test_csv_response_with_label_and_probability_indices():
    parser = codec.ResponseParser("text/csv", label=0, probability=1)
    labels, scores = parser.parse(b"1,0.9\n0,0.2\n", 2)
    assert labels == [1.0, 0.0]
    assert scores == [0.9, 0.2]
    labels, scores = codec.ResponseParser("text/csv").parse(b"0.1,0.2,0.3\n", 3)  # one line, 3 records
    assert labels is None
    assert scores == [0.1, 0.2, 0.3]
    labels, scores = codec.ResponseParser("text/csv", probability=0).parse(b'"[0.2, 0.8]"\n', 1)
    assert scores == [[0.2, 0.8]]


def test_wrong_number_of_predictions_is_a_clear_error():
    with ModelServer(linear) as server:
        server.drop_one = True
        with pytest.raises(PredictorError, match="returned 3 predictions for a request of 4 records"):
            HttpPredictor(server.url).predict(FEATURES)


def test_transient_errors_are_retried_with_backoff():
    with ModelServer(linear) as server:
        server.fail_next(2, status=503)
        out = HttpPredictor(server.url, retries=3, backoff_factor=0.01).predict(FEATURES)
        assert out.scores.shape == (4, 1)
        assert server.calls == 3  # two failures, then success


def test_throttling_beyond_the_retry_budget_fails_with_the_status():
    with ModelServer(linear) as server:
        server.fail_next(5, status=429)
        with pytest.raises(PredictorError, match="HTTP 429, a transient error"):
            HttpPredictor(server.url, retries=2, backoff_factor=0.01).predict(FEATURES)
        assert server.calls == 3


def test_client_errors_are_not_retried():
    with ModelServer(linear) as server:
        server.fail_next(1, status=400)
        with pytest.raises(PredictorError, match="HTTP 400"):
            HttpPredictor(server.url, retries=3, backoff_factor=0.01).predict(FEATURES)
        assert server.calls == 1


def test_unreachable_server_is_reported_after_retries():
    server = ModelServer(linear)
    url = server.url
    server.stop()  # the port is closed: connection refused
    with pytest.raises(PredictorError, match="unreachable"):
        HttpPredictor(url, retries=1, backoff_factor=0.01).predict(FEATURES)


def test_sagemaker_endpoint_predictor_invokes_the_endpoint_in_batches():
    import boto3
    from botocore.response import StreamingBody
    from botocore.stub import Stubber

    client = boto3.client("sagemaker-runtime", region_name="us-east-1")
    stubber = Stubber(client)
    for body in (b"1,2\n3,4\n", b"5,6\n7,8\n"):
        expected = {
            "EndpointName": "my-endpoint",
            "Body": body,
            "ContentType": "text/csv",
            "Accept": "text/csv",
            "TargetModel": "m1.tar.gz",
        }
        answer = b"0.1\n0.2\n" if body.startswith(b"1") else b"0.3\n0.4\n"
        stubber.add_response(
            "invoke_endpoint",
            {"Body": StreamingBody(__import__("io").BytesIO(answer), len(answer)), "ContentType": "text/csv"},
            expected,
        )
    with stubber:
        predictor = predictor_from_config(
            {"endpoint_name": "my-endpoint", "target_model": "m1.tar.gz"},
            dataset_type="text/csv",
            client=client,
            max_records_per_request=2,
            max_concurrency=1,
        )
        assert isinstance(predictor, SageMakerEndpointPredictor)
        out = predictor.predict(np.array([[1, 2], [3, 4], [5, 6], [7, 8]], dtype=object))
        stubber.assert_no_pending_responses()
    assert out.scores[:, 0].tolist() == [0.1, 0.2, 0.3, 0.4]


def test_sagemaker_model_error_becomes_a_predictor_error():
    import boto3
    from botocore.stub import Stubber

    client = boto3.client("sagemaker-runtime", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error("invoke_endpoint", service_error_code="ModelError", http_status_code=424)
    with stubber, pytest.raises(PredictorError, match="InvokeEndpoint on endpoint 'ep' failed.*ModelError"):
        SageMakerEndpointPredictor("ep", client=client).predict(FEATURES)


def test_predictor_from_config_refuses_model_name_and_missing_blocks_as_config_errors():
    with pytest.raises(EngineConfigError, match="shadow") as caught:
        predictor_from_config(
            {"model_name": "m", "instance_type": "ml.m5.large", "initial_instance_count": 1}
        )
    assert caught.value.field == "predictor.model_name"
    assert "--model-url" in str(caught.value)
    assert "--endpoint-url" not in str(caught.value)  # the CLI's model option is --model-url
    with pytest.raises(EngineConfigError, match="no model is given"):
        predictor_from_config({})


def test_predictor_for_source_uses_the_block_formats_with_any_transport():
    block = {"endpoint_name": "e", "content_type": "application/jsonlines", "content_template": "$features"}
    http = predictor_for_source(ModelSource.http("http://127.0.0.1:1", timeout_seconds=7, retries=1), block)
    assert isinstance(http, HttpPredictor)
    assert http.content_type == "application/jsonlines"
    assert http.transport.timeout_seconds == 7
    assert http.transport.retry.total == 1


def test_model_output_length():
    assert len(ModelOutput(None, np.array([1, 2, 3]))) == 3


# --- unusable model output (issue 11 item 2) -----------------------------------------------------------


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_scores_name_the_rows_and_values(bad):
    def model(x):
        scores = x[:, 0] * 0.1
        scores[[1, 3]] = bad
        return scores

    with pytest.raises(ModelOutputError) as caught:
        CallablePredictor(model).predict(FEATURES)
    assert caught.value.rows == [1, 3]
    assert "non-finite" in str(caught.value)
    assert "row 1" in str(caught.value)
    assert "row 3" in str(caught.value)
    assert isinstance(caught.value, EngineConfigError)  # the same model fails the same way: not retried

    with ModelServer(model) as server, pytest.raises(ModelOutputError, match="non-finite") as caught:
        HttpPredictor(server.url).predict(FEATURES)
    assert caught.value.rows == [1, 3]


def test_predict_proba_outside_zero_one_is_refused():
    from airflow_provider_clarify.engine.predictors import estimator_callable

    class Broken:
        classes_ = np.array([0, 1])

        def predict_proba(self, x):
            return np.column_stack([1 - x[:, 0], x[:, 0]])  # 1.0, 3.0, 5.0, 7.0: not probabilities

    fn, headers, probabilities = estimator_callable(Broken())
    with pytest.raises(ModelOutputError, match=r"outside \[0, 1\]") as caught:
        CallablePredictor(fn, label_headers=headers, probabilities=probabilities).predict(FEATURES)
    assert caught.value.rows == [1, 2, 3]  # row 0 scores exactly 1.0
    assert caught.value.values == [3.0, 5.0, 7.0]


def test_text_where_scores_are_located_is_a_parse_error():
    with ModelServer(lambda x: np.array(["<html>oops</html>"] * len(x), dtype=object)) as server:
        with pytest.raises(ModelOutputError, match="could not be parsed as scores"):
            HttpPredictor(server.url, probability=0).predict(FEATURES)


def test_nested_values_are_not_labels():
    out = ModelOutput(None, np.array([{"a": 1}, "x"], dtype=object))
    with pytest.raises(ModelOutputError, match="could not be parsed as predicted labels") as caught:
        codec.check_model_output(out)
    assert caught.value.rows == [0]


# --- time-outs and retries (issue 11 item 9) -----------------------------------------------------------


def test_a_hung_server_fails_after_the_configured_attempts():
    import threading

    release = threading.Event()

    def hang(x):
        release.wait(30)
        return x[:, 0]

    with ModelServer(hang) as server:
        source = ModelSource.parse({"url": server.url, "timeout_seconds": 0.5, "retries": 1})
        predictor = predictor_for_source(source, {})
        try:
            with pytest.raises(
                PredictorError, match=r"did not answer within 0.5 s, 2 attempt\(s\)"
            ) as caught:
                predictor.predict(FEATURES)
        finally:
            release.set()
        assert server.calls == 2  # the first attempt and one retry, then it gave up
    assert "timeout_seconds" in str(caught.value)
    assert "--model-timeout" in str(caught.value)
    assert source.max_seconds_per_request == pytest.approx(2 * 0.5 + 0.5)


def test_default_model_time_bound_is_minutes_not_six():
    source = ModelSource.http("http://127.0.0.1:1")
    assert source.timeout_seconds == 30
    assert source.retries == 2
    # 3 attempts x 30 s + back-off 0.5 s + 1 s (was 6 attempts x 60 s + back-off = 368 s)
    assert source.max_seconds_per_request == pytest.approx(91.5)


def test_a_json_answer_that_is_not_json_is_an_unparseable_output_error():
    with ModelServer(linear) as server:  # answers CSV whatever Accept says
        predictor = HttpPredictor(server.url, accept_type="application/json", max_concurrency=1)
        predictor.transport.headers["Accept"] = "text/csv"
        with pytest.raises(ModelOutputError, match="could not be parsed.*not valid JSON.*accept_type"):
            predictor.predict(FEATURES)


@given(
    sizes=st.lists(st.integers(1, 40), max_size=60),
    cuts=st.lists(st.integers(0, 60), max_size=8),
    max_records=st.one_of(st.none(), st.integers(1, 7)),
)
def test_request_planner_fed_in_pieces_plans_the_requests_of_all_at_once(sizes, cuts, max_records):
    """The explainer sends requests while it still serialises rows: the pieces must not change them."""
    limits = {"overhead": 3, "separator": 1, "max_payload_bytes": 60, "max_records": max_records}
    planner = RequestPlanner(**limits)
    ranges = []
    bounds = sorted({0, len(sizes), *(c for c in cuts if c <= len(sizes))})
    for a, b in zip(bounds, bounds[1:]):
        ranges += planner.add(sizes[a:b])
    ranges += planner.finish()
    assert ranges == plan_requests(sizes, **limits)
    assert [i for a, b in ranges for i in range(a, b)] == list(range(len(sizes)))
