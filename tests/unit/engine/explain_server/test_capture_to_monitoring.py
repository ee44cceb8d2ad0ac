"""The two features fit together: the open explainer's data capture is read by the monitoring engine.

The explainer runs over real HTTP in front of the test model server with data capture on; the
monitoring engine's capture reader (the one ``run_monitoring_execution`` uses) then lists the capture
files of an analysis window and finds exactly the invocations sent, with their features (parsed by
the monitoring engine's own record reader) and the model's predictions.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np

from airflow_provider_clarify.engine.monitoring.capture import ReadStats, capture_files, iter_capture_events
from airflow_provider_clarify.engine.monitoring.records import Attributes, input_rows
from tests.unit.engine.explain_server.conftest import explainer_config, invoke, running
from tests.unit.engine.explain_server.test_app import BASELINE_CSV, model
from tests.unit.engine.explain_server.test_capture import capture_config

REQUESTS = [  # (CSV body, inference id)
    ([[1.0, 2.0, 3.0, 4.0]], "req-1"),
    ([[0.5, -1.5, 2.25, 0.0], [3.0, 1.0, -2.0, 0.5]], None),
    ([[-1.0, 0.0, 1.0, 2.0]], "req-3"),
]


def _events(destination: str, start: datetime, end: datetime) -> tuple[list, ReadStats]:
    stats = ReadStats()
    files = capture_files(destination, "credit-ep", start, end)
    return list(iter_capture_events(files, start, end, stats)), stats


def test_explainer_capture_is_what_monitoring_reads(tmp_path):
    config = explainer_config(BASELINE_CSV, probability_index=0)
    started = datetime.now(UTC)
    sent = []
    with running(model, config, data_capture_config=capture_config(tmp_path), endpoint_name="credit-ep") as (
        server,
        url,
    ):
        for rows, inference_id in REQUESTS:
            body = "".join(",".join(map(str, row)) + "\n" for row in rows)
            headers = {"X-Amzn-SageMaker-Inference-Id": inference_id} if inference_id else {}
            response = invoke(url, body, **headers)
            assert response.status_code == 200
            sent.append((rows, inference_id, response.json()))
        model_calls = server.calls
    assert model_calls >= len(REQUESTS)  # the model really answered (explanations need more calls)

    window_start = started - timedelta(hours=1)
    events, stats = _events(str(tmp_path), window_start, datetime.now(UTC) + timedelta(hours=1))
    assert stats.malformed == 0, stats.reasons
    assert stats.in_window == len(REQUESTS)
    assert stats.outside_window == 0
    assert len(events) == len(REQUESTS)

    by_id = {event.join_id: event for event in events}
    assert {"req-1", "req-3"} <= set(by_id)
    anonymous = [event for event in events if event.inference_id is None]
    assert len(anonymous) == 1
    assert anonymous[0].join_id == anonymous[0].event_id
    ordered = [by_id["req-1"], anonymous[0], by_id["req-3"]]
    for event, (rows, _, document) in zip(ordered, sent, strict=True):
        features = np.array(input_rows(event, Attributes()), dtype=float)  # the monitoring reader
        np.testing.assert_array_equal(features, rows)
        assert event.output_content_type.startswith("application/json")
        captured = json.loads(event.output_payload)
        assert captured == document  # the response as the client received it
        predictions = [
            [float(v) for v in line.split(",")] for line in captured["predictions"]["data"].splitlines()
        ]
        np.testing.assert_allclose(predictions, model(np.array(rows)))
        assert len(captured["explanations"]["kernel_shap"]) == len(rows)

    # A window that ends before the first invocation holds none of them (inferenceTime is to the
    # second, so its floor is the earliest time a record can carry).
    before, stats = _events(str(tmp_path), window_start, started.replace(microsecond=0))
    assert before == []
    assert stats.in_window == 0
