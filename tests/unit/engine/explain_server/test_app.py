"""The open explainer over real HTTP, in front of a real model server (tests/support/model_server.py)."""

from __future__ import annotations

import json
import math
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import httpx
import numpy as np
import pytest
from botocore.config import Config

from airflow_provider_clarify.engine.explain_server.app import create_app
from airflow_provider_clarify.engine.explain_server.errors import ExplainerConfigError
from tests.unit.engine.explain_server.conftest import (
    attributions,
    exact_shapley,
    explainer_config,
    invoke,
    running,
)

BASELINE = [0.5, -1.0, 2.0, 0.0]
BASELINE_CSV = ",".join(map(str, BASELINE))


def model(x: np.ndarray) -> np.ndarray:
    """A small non-additive model with two scores per record."""
    z = x[:, 0] * x[:, 1] + np.sin(x[:, 2]) - 0.3 * x[:, 3] ** 2 + 0.1 * x[:, 0] * x[:, 2] * x[:, 3]
    p = 1 / (1 + np.exp(-z))
    return np.stack([p, 1 - p * 0.5], axis=1)


def test_response_document_has_the_sagemaker_schema():
    config = explainer_config(
        BASELINE_CSV,
        feature_headers=["a", "b", "c", "d"],
        label_headers=["yes", "half"],
        probability_index=None,
    )
    with running(model, config) as (_, url):
        response = invoke(url, "1,2,3,4\n0,0,0,0\n")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert list(document) == ["version", "predictions", "label_headers", "explanations"]
    assert document["version"] == "1.0"
    assert document["predictions"]["content_type"] == "text/csv"
    lines = document["predictions"]["data"].splitlines()
    np.testing.assert_allclose([[float(v) for v in line.split(",")] for line in lines],
                               model(np.array([[1, 2, 3, 4], [0, 0, 0, 0]], dtype=float)))  # fmt: skip
    assert document["label_headers"] == ["yes", "half"]
    records = document["explanations"]["kernel_shap"]
    assert len(records) == 2
    for record in records:
        assert [f["feature_header"] for f in record] == ["a", "b", "c", "d"]
        for feature in record:
            assert list(feature) == ["feature_header", "attributions"]
            assert len(feature["attributions"]) == 1
            assert len(feature["attributions"][0]["attribution"]) == 2  # one value per score


@pytest.mark.parametrize("use_logit", [False, True])
def test_values_are_exact_shapley_values_with_one_baseline_row(use_logit):
    record = np.array([1.0, 2.0, 3.0, 4.0])
    config = explainer_config(BASELINE_CSV, use_logit=use_logit, probability_index=0)
    with running(lambda x: model(x)[:, 0], config) as (_, url):
        document = invoke(url, ",".join(map(repr, record.tolist())) + "\n").json()
    link = (lambda p: math.log(p / (1 - p))) if use_logit else (lambda p: p)

    def value(coalition):
        row = np.where(coalition, record, BASELINE)
        return link(float(model(row[None, :])[0, 0]))

    expected = exact_shapley(value, 4)
    np.testing.assert_allclose(attributions(document, 0)[:, 0], expected, rtol=1e-9, atol=1e-12)
    assert attributions(document, 0).sum() == pytest.approx(value((True,) * 4) - value((False,) * 4))


def test_same_values_as_the_batch_engine_with_the_same_seed_and_baseline():
    """Sampled coalitions (6 features, 20 samples): the engine's Kernel SHAP on the same records."""
    import pyarrow as pa

    from airflow_provider_clarify.engine.explain.explainer import run_kernel_shap
    from airflow_provider_clarify.engine.explain.model_calls import ModelCaller

    rng = np.random.default_rng(11)
    records = np.round(rng.normal(size=(3, 6)), 3)
    baseline = np.round(rng.normal(size=(2, 6)), 3)

    def six(x):
        return 1 / (1 + np.exp(-(x[:, 0] * x[:, 1] + x[:, 2] - x[:, 3] * x[:, 4] + np.cos(x[:, 5]))))

    class Direct:  # the engine's predictor contract, calling the model in process
        def predict(self, x):
            return type("Out", (), {"scores": six(x)[:, None], "label_headers": None})()

    table = pa.table({f"f{j}": records[:, j] for j in range(6)})
    shap_config = {"baseline": baseline.tolist(), "num_samples": 20, "seed": 7}
    batch = run_kernel_shap(table, records, shap_config, ModelCaller(Direct())).local[:, 0, :]

    text = "\n".join(",".join(map(repr, row)) for row in baseline.tolist())
    with running(six, explainer_config(text, number_of_samples=20, seed=7)) as (_, url):
        body = "\n".join(",".join(map(repr, row)) for row in records.tolist())
        document = invoke(url, body).json()
    online = np.array([attributions(document, i)[:, 0] for i in range(3)])
    np.testing.assert_allclose(online, batch, rtol=1e-12, atol=1e-14)
    exact = run_kernel_shap(table, records, {**shap_config, "num_samples": None}, ModelCaller(Direct()))
    assert not np.allclose(online, exact.local[:, 0, :])  # 20 < 62 coalitions: really sampled


def test_enable_explanations_selects_records_and_the_header_overrides_it():
    config = explainer_config(BASELINE_CSV, enable_explanations="[0]>`0.5`", probability_index=0)
    records = "3,3,0,0\n-3,3,0,0\n1,1,0,0\n"  # scores ~0.9999, ~0.0001, ~0.73
    with running(model, config) as (_, url):
        selected = invoke(url, records).json()["explanations"]["kernel_shap"]
        assert [r is not None for r in selected] == [True, False, True]
        none = invoke(url, records, **{"X-Amzn-SageMaker-Enable-Explanations": "`false`"}).json()
        assert none["explanations"] == {}
        everything = invoke(url, records, **{"X-Amzn-SageMaker-Enable-Explanations": "`true`"}).json()
        assert all(r is not None for r in everything["explanations"]["kernel_shap"])
        bad = invoke(url, records, **{"X-Amzn-SageMaker-Enable-Explanations": "[0] > 0.5"})
        assert bad.status_code == 400
        assert bad.headers["x-amzn-errortype"] == "ValidationError"
        assert "back-ticks" in bad.json()["Message"]
        wrong_type = invoke(url, records, **{"X-Amzn-SageMaker-Enable-Explanations": "[0]"})
        assert wrong_type.status_code == 400
        assert "not true/false" in wrong_type.json()["Message"]
        assert invoke(url, records).status_code == 200  # the server survives bad requests


def test_jsonlines_with_content_template_attributes_and_label_headers_from_the_model():
    def formatter(row):
        return {"prediction": {"score": float(row)}, "classes": ["approved"]}

    config = explainer_config(
        '{"data":{"f":[0.5,-1.0,2.0,0.0]}}',
        mime_type="application/jsonlines",
        features_attribute="data.f",
        content_template='{"data":{"f":$features}}',
        probability_attribute="prediction.score",
        label_attribute="classes",
        enable_explanations="prediction.score>`0.5`",
    )
    received = []

    def fn(x):
        received.append(x.shape)
        return model(x)[:, 0]

    kwargs = {"features_key": "data", "record_formatter": formatter}
    with running(fn, config, model_kwargs=kwargs) as (server, url):
        # the test model server reads {"data": [...]} records: flatten the template's nesting for it
        server.features_key = "data"
        server._features = lambda item: item["data"]["f"] if isinstance(item["data"], dict) else item["data"]
        body = '{"data":{"f":[1,2,0,0]}}\n{"data":{"f":[-3,3,0,0]}}\n'
        response = invoke(url, body, "application/jsonlines")
    document = response.json()
    assert response.status_code == 200, document
    assert document["predictions"]["content_type"] == "application/jsonlines"
    assert document["label_headers"] == ["approved"]
    shap = document["explanations"]["kernel_shap"]
    assert shap[1] is None
    record = np.array([1.0, 2.0, 0.0, 0.0])
    expected = exact_shapley(lambda s: float(model(np.where(s, record, BASELINE)[None, :])[0, 0]), 4)
    np.testing.assert_allclose(
        [f["attributions"][0]["attribution"][0] for f in shap[0]], expected, rtol=1e-9, atol=1e-12
    )


def test_text_tokens_and_sentences_have_partial_text_and_start_idx():
    def sentiment(x):
        return np.array([0.1 * float(row[0]) + 0.3 * str(row[1]).split().count("good") for row in x])

    config = explainer_config(
        '0,"<MASK>"', text=("en", "token"), feature_headers=["stars", "review"],
        feature_types=["numerical", "text"], probability_index=0,
    )  # fmt: skip
    with running(sentiment, config) as (_, url):
        document = invoke(url, '2,"This is good"\n').json()
    stars, review = document["explanations"]["kernel_shap"][0]
    assert stars["feature_type"] == "numerical"
    assert stars["attributions"][0]["attribution"][0] == pytest.approx(0.2)
    assert review["feature_header"] == "review"
    assert review["feature_type"] == "text"
    units = [
        (a["description"]["partial_text"], a["description"]["start_idx"]) for a in review["attributions"]
    ]
    assert units == [("This", 0), ("is", 5), ("good", 8)]
    values = [a["attribution"][0] for a in review["attributions"]]
    np.testing.assert_allclose(values, [0.0, 0.0, 0.3], atol=1e-12)  # exact: 4 players, 14 coalitions

    config = explainer_config('"[MASK]"', text=("en", "sentence"), probability_index=0)
    with running(lambda x: np.array([str(r[0]).count("Great.") * 1.0 for r in x]), config) as (_, url):
        document = invoke(url, '"Bad start. Great. End!"\n').json()
    (review,) = document["explanations"]["kernel_shap"][0]
    assert review["feature_type"] == "text"  # inferred from the baseline's replacement token
    units = [
        (a["description"]["partial_text"], a["description"]["start_idx"]) for a in review["attributions"]
    ]
    assert units == [("Bad start.", 0), ("Great.", 11), ("End!", 18)]
    np.testing.assert_allclose([a["attribution"][0] for a in review["attributions"]], [0, 1, 0], atol=1e-12)


def test_synthetic_rows_are_batched_by_max_record_count():
    config = explainer_config(BASELINE_CSV, max_record_count=7, probability_index=0)
    with running(model, config) as (server, url):
        invoke(url, "1,2,3,4\n4,3,2,1\n")
        sizes = list(server.payload_sizes)
        calls, records = server.calls, server.records
    synthetic = 2 * 14 * 1 + 2 + 1  # records x coalitions x baseline rows, the records, the baseline
    assert records == 2 + synthetic
    assert calls == 1 + math.ceil(synthetic / 7)
    assert max(sizes[1:]) <= max(sizes)  # every synthetic request holds at most 7 lines
    assert len(sizes) == calls


def test_max_payload_splits_requests_and_an_oversized_request_is_rejected():
    config = explainer_config(BASELINE_CSV, max_payload_in_mb=1, probability_index=0)
    with running(model, config) as (server, url):
        rows = "\n".join(["1.123456789,2.123456789,3.123456789,4.123456789"] * 3000) + "\n"
        # 3000 x 15 + 1 synthetic rows of ~48 bytes: > 2 MB in all
        assert invoke(url, rows, **{"X-Amzn-SageMaker-Enable-Explanations": "`true`"}).status_code == 200
        assert max(server.payload_sizes[1:]) <= 1024 * 1024
        assert server.calls > 2
        too_big = invoke(url, "1,2,3,4\n" * 900_000)
    assert too_big.status_code == 413
    assert too_big.headers["x-amzn-errortype"] == "ValidationError"
    assert "6,291,456" in too_big.json()["Message"]


def test_bad_requests_get_validation_errors():
    with running(model, explainer_config(BASELINE_CSV, probability_index=0)) as (_, url):
        wrong_type = invoke(url, "1,2,3,4\n", "application/json")
        assert wrong_type.status_code == 400
        assert "application/json" in wrong_type.json()["Message"]
        width = invoke(url, "1,2,3\n")
        assert width.status_code == 400
        assert "3 features but the baseline has 4" in width.json()["Message"]
        assert invoke(url, "").status_code == 400


def test_a_model_that_errors_or_hangs_gives_model_error_and_the_server_survives():
    release = threading.Event()

    def flaky(x):
        if x.shape[0] == 1 and x[0, 0] == 99:
            raise ValueError("cannot score 99")
        if x.shape[0] == 1 and x[0, 0] == 77:
            release.wait(30)  # hangs until the test lets it go
        return model(x)[:, 0]

    config = explainer_config(BASELINE_CSV, probability_index=0)
    with running(flaky, config, model_timeout=0.5) as (server, url):
        failed = invoke(url, "99,0,0,0\n")
        assert failed.status_code == 424
        assert failed.headers["x-amzn-errortype"] == "ModelError"
        assert failed.json()["OriginalStatusCode"] == 400
        assert "cannot score 99" in failed.json()["OriginalMessage"]
        hung = invoke(url, "77,0,0,0\n")
        release.set()
        assert hung.status_code == 424
        assert "did not answer" in hung.json()["Message"]
        server.fail_next(1, status=503)
        unavailable = invoke(url, "1,2,3,4\n")
        assert unavailable.status_code == 424
        assert unavailable.json()["OriginalStatusCode"] == 503
        assert invoke(url, "1,2,3,4\n").status_code == 200


def test_concurrent_invocations_are_served_in_parallel_and_correctly():
    # The model lets the forwarded calls of two invocations through only together: if the server
    # handled invocations one at a time, the barrier would break and the invocations would fail.
    barrier = threading.Barrier(2, timeout=20)

    def paired(x):
        if x.shape[0] == 1:
            barrier.wait()
        return model(x)[:, 0]

    config = explainer_config(BASELINE_CSV, probability_index=0)
    bodies = [f"{i},1,2,3\n" for i in range(8)]
    with running(paired, config) as (_, url):
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda body: invoke(url, body), bodies))
    assert [a.status_code for a in answers] == [200] * 8
    for i, answer in enumerate(answers):
        record = np.array([i, 1, 2, 3], dtype=float)
        expected = exact_shapley(lambda s, r=record: float(model(np.where(s, r, BASELINE)[None, :])[0, 0]), 4)
        np.testing.assert_allclose(attributions(answer.json(), 0)[:, 0], expected, rtol=1e-9, atol=1e-12)


def test_boto3_sagemaker_runtime_client_works_unchanged():
    config = explainer_config(BASELINE_CSV, probability_index=0)
    with running(model, config) as (server, url):
        client = boto3.client(
            "sagemaker-runtime", endpoint_url=url, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}),
        )  # fmt: skip
        answer = client.invoke_endpoint(
            EndpointName="credit-explainer", Body=b"1,2,3,4\n", ContentType="text/csv", Accept="text/csv",
            EnableExplanations="`true`",
        )  # fmt: skip
        document = json.loads(answer["Body"].read())
        assert answer["ContentType"] == "application/json"
        assert len(document["explanations"]["kernel_shap"][0]) == 4
        server.fail_next(1, status=500)
        with pytest.raises(client.exceptions.ModelError) as caught:
            client.invoke_endpoint(
                EndpointName="e", Body=b"1,2,3,4\n", ContentType="text/csv", Accept="text/csv"
            )
    assert caught.value.response["OriginalStatusCode"] == 500


def test_invalid_config_fails_at_start_not_per_call():
    with pytest.raises(ExplainerConfigError, match="4,097 characters"):
        create_app({"ShapConfig": {"ShapBaselineConfig": {"ShapBaseline": "1" * 4097}}}, "http://127.0.0.1:9")
    with pytest.raises(ExplainerConfigError, match="2 entries but the baseline has 4"):
        create_app(explainer_config(BASELINE_CSV, feature_headers=["a", "b"]), "http://127.0.0.1:9")


def test_ping_reflects_the_model_server():
    with running(model, explainer_config(BASELINE_CSV)) as (server, url):
        assert httpx.get(url + "/ping").status_code == 200
        assert server.ping_calls == 1


def test_invocation_deadline_stops_a_slow_explanation_and_the_server_survives():
    release = threading.Event()

    def slow_synthetic(x):
        if x.shape[0] > 1:
            release.wait(30)  # the synthetic batches hang until released
        return model(x)[:, 0]

    config = explainer_config(BASELINE_CSV, probability_index=0)
    with running(slow_synthetic, config, invocation_timeout=0.5, model_timeout=30) as (_, url):
        slow = invoke(url, "1,2,3,4\n")
        release.set()
        assert slow.status_code == 424
        assert slow.headers["x-amzn-errortype"] == "ModelError"
        assert "exceeded its time limit" in slow.json()["Message"]
        assert invoke(url, "1,2,3,4\n").status_code == 200


def test_baseline_from_s3_uri(moto_endpoint, s3_bucket):
    import boto3

    options = {
        "endpoint_url": moto_endpoint, "aws_access_key_id": "testing", "aws_secret_access_key": "testing",
        "region_name": "us-east-1",
    }  # fmt: skip
    boto3.client("s3", **options).put_object(Bucket=s3_bucket, Key="baseline.csv", Body=BASELINE_CSV.encode())
    config = {
        "ClarifyExplainerConfig": {
            "ShapConfig": {
                "ShapBaselineConfig": {"ShapBaselineUri": f"s3://{s3_bucket}/baseline.csv"},
                "Seed": 0,
            },
            "InferenceConfig": {"ProbabilityIndex": 0},
        }
    }
    with running(model, config, storage_options=options) as (_, url):
        document = invoke(url, "1,2,3,4\n").json()
    record = np.array([1.0, 2.0, 3.0, 4.0])
    expected = exact_shapley(lambda s: float(model(np.where(s, record, BASELINE)[None, :])[0, 0]), 4)
    np.testing.assert_allclose(attributions(document, 0)[:, 0], expected, rtol=1e-9, atol=1e-12)


def test_app_factory_reads_its_settings_from_the_environment(tmp_path, monkeypatch):
    from airflow_provider_clarify.engine.explain_server.app import app_from_env
    from tests.support.explain_server import ExplainerServer
    from tests.support.model_server import ModelServer

    path = tmp_path / "explainer.json"
    path.write_text(json.dumps(explainer_config(BASELINE_CSV, probability_index=0)))
    with ModelServer(lambda x: model(x)[:, 0]) as server:
        monkeypatch.setenv("CLARIFY_EXPLAINER_CONFIG", str(path))
        monkeypatch.setenv("CLARIFY_MODEL_URL", server.url)
        with ExplainerServer(app_from_env()) as explainer:
            answer = httpx.post(
                explainer.url + "/endpoints/any/invocations",
                content=b"1,2,3,4\n",
                headers={"Content-Type": "text/csv"},
            )
    assert answer.status_code == 200
    assert len(answer.json()["explanations"]["kernel_shap"][0]) == 4


def test_text_records_of_different_lengths_keep_their_order_and_exact_values():
    def sentiment(x):
        return np.array([0.1 * float(row[0]) + 0.3 * str(row[1]).split().count("good") for row in x])

    config = explainer_config(
        '0,"<MASK>"', text=("en", "token"), feature_types=["numerical", "text"], probability_index=0
    )
    with running(sentiment, config) as (_, url):
        document = invoke(url, '1,"good good day"\n3,"good"\n2,"not good at all"\n').json()
    records = document["explanations"]["kernel_shap"]
    tokens = [[a["description"]["partial_text"] for a in r[1]["attributions"]] for r in records]
    assert tokens == [["good", "good", "day"], ["good"], ["not", "good", "at", "all"]]
    for record, stars in zip(records, [1, 3, 2]):
        assert record[0]["attributions"][0]["attribution"][0] == pytest.approx(0.1 * stars)
        values = {(a["description"]["partial_text"], a["description"]["start_idx"]): a["attribution"][0]
                  for a in record[1]["attributions"]}  # fmt: skip
        for (token, _), value in values.items():
            assert value == pytest.approx(0.3 if token == "good" else 0.0, abs=1e-12)


def test_an_unreachable_model_gives_model_error():
    import socket

    from tests.support.explain_server import ExplainerServer

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(explainer_config(BASELINE_CSV, probability_index=0), f"http://127.0.0.1:{port}")
    with ExplainerServer(app) as server:
        answer = invoke(server.url, "1,2,3,4\n")
        assert httpx.get(server.url + "/ping").status_code == 503
    assert answer.status_code == 424
    assert "Cannot reach the model" in answer.json()["Message"]
