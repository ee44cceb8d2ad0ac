"""The test model server answers CSV with plain numbers whatever numeric type the model returns."""

from __future__ import annotations

import urllib.request

import numpy as np
import pytest

from airflow_provider_clarify.engine.predictors import HttpPredictor
from tests.support.model_server import ModelServer


def _csv_answer(server: ModelServer, body: bytes) -> str:
    request = urllib.request.Request(
        f"{server.url}/invocations", data=body, headers={"Content-Type": "text/csv"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        # object arrays keep numpy scalars through tolist(); their numpy-2 repr is "np.float64(0.1)"
        (lambda X: np.array([[np.float64(0.1)], [np.float64(2.5)]], dtype=object), "0.1\n2.5\n"),
        (lambda X: np.array([[np.int64(3), np.float32(0.25)]] * 2, dtype=object), "3,0.25\n3,0.25\n"),
        # 1-D numpy scores, one per line
        (lambda X: X[:, 0] * 0.1, "0.1\n0.30000000000000004\n"),
    ],
)
def test_csv_answer_renders_numpy_scalars_as_plain_numbers(model, expected):
    with ModelServer(model) as server:
        assert _csv_answer(server, b"1,2\n3,4\n") == expected


def test_float_scores_round_trip_exactly_through_the_http_predictor():
    scores = np.array([0.1, 1 / 3, 2.0**-40, 0.7000000000000001])
    model = lambda X: np.array([[np.float64(s)] for s in scores[: len(X)]], dtype=object)
    with ModelServer(model) as server:
        output = HttpPredictor(server.url).predict(np.zeros((4, 2)))
    np.testing.assert_array_equal(output.scores.reshape(-1), scores)
