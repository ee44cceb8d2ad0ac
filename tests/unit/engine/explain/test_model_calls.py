"""Model calls scale with records x samples / batch size, not with records x samples."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from airflow_provider_clarify.engine.explain import compute_explanations
from airflow_provider_clarify.engine.explain.model_calls import ExplanationModelError, ModelCaller
from airflow_provider_clarify.engine.predictors import CallablePredictor, HttpPredictor, ModelOutput
from tests.support.model_server import ModelServer


class CountingPredictor:
    def __init__(self, fn):
        self.fn, self.calls, self.rows = fn, 0, 0

    def predict(self, features):
        self.calls += 1
        self.rows += len(features)
        return ModelOutput(np.asarray(self.fn(features), dtype=float).reshape(len(features), -1), None)


def _table(n, m=6, seed=0):
    rng = np.random.default_rng(seed)
    return pa.table({f"f{j}": rng.normal(size=n) for j in range(m)})


@pytest.mark.parametrize("records", [10, 200])
def test_one_call_when_everything_fits(records):
    predictor = CountingPredictor(lambda X: X.sum(axis=1))
    compute_explanations(
        _table(records), {"shap": {"baseline": [[0.0] * 6] * 2, "num_samples": 50}}, predictor
    )
    assert predictor.calls == 1
    assert predictor.rows == records * 50 * 2 + records + 2  # coalitions x baseline + records + baseline


def test_calls_scale_with_rows_over_batch_size():
    calls = {}
    for records in (79, 158, 316):
        predictor = CountingPredictor(lambda X: X.sum(axis=1))
        methods = {"shap": {"baseline": [[0.0] * 6], "num_samples": 62}}
        compute_explanations(_table(records), methods, predictor, max_rows_per_call=5_000)
        calls[records] = predictor.calls
        per_record = 62 + 1
        assert calls[records] == math.ceil(records / (5_000 // per_record))
    assert calls == {79: 1, 158: 2, 316: 4}  # 79 records of 63 rows fit in 5,000 rows


def test_http_requests_are_few_and_large():
    with ModelServer(lambda X: X.sum(axis=1)[:, None], max_body_bytes=200_000) as server:
        predictor = HttpPredictor(server.url, max_payload_bytes=200_000)
        compute_explanations(_table(30), {"shap": {"baseline": [[0.0] * 6], "num_samples": 62}}, predictor)
        rows = 30 * 62 + 30 + 1
        assert server.records == rows
        bytes_total = sum(server.payload_sizes)
        assert (
            server.calls == math.ceil(bytes_total / 200_000)
            or server.calls == math.ceil(bytes_total / 200_000) + 1
        )
        assert server.calls < rows / 100


def test_label_only_model_is_rejected_with_the_fix():
    predictor = CallablePredictor(lambda X: np.array(["yes"] * len(X)))
    with pytest.raises(ExplanationModelError, match="non-numeric predicted labels.*predictor.probability"):
        compute_explanations(_table(3), {"shap": {"baseline": [[0.0] * 6]}}, predictor)


def test_label_headers_must_match_the_outputs():
    caller = ModelCaller(CallablePredictor(lambda X: X[:, :2]), label_headers=["a", "b", "c"])
    caller.scores(np.zeros((2, 3)))
    with pytest.raises(ExplanationModelError, match="label_headers has 3 entries.*returns 2 score"):
        caller.output_keys()
