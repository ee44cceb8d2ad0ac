"""Synthetic live traffic for Model Monitor tests: capture files and ground truth on local disk.

``Traffic`` makes a population (gender facet, age, income), a label and a model's score;
``write_capture`` writes it the way a SageMaker endpoint with data capture does (using the shared
record format of ``analysis.monitoring.capture_format``), ``write_ground_truth`` the labels an hour
later. ``CapturingEndpoint`` puts capture in front of the local model server (tests.support.model_server).
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from airflow_provider_clarify.analysis.monitoring import capture_format as cf

FEATURES = ["gender", "age", "income"]
ENDPOINT = "credit-endpoint"
VARIANT = "AllTraffic"


@dataclass
class Traffic:
    features: np.ndarray  # (n, 3)
    labels: np.ndarray  # (n,) 0/1
    scores: np.ndarray  # (n,)
    times: list[datetime]
    ids: list[str]


def score(features: np.ndarray) -> np.ndarray:
    """The served model: approves high incomes, slightly favouring gender 1."""
    x = np.asarray(features, dtype=float)
    return 1 / (1 + np.exp(-(x[:, 2] - 50 + 4 * x[:, 0]) / 8))


def make_traffic(n: int, start: datetime, span: timedelta, seed: int = 0, shift: float = 0.0) -> Traffic:
    """``n`` requests spread over ``[start, start + span)``; ``shift`` moves gender-0 incomes down."""
    rng = np.random.default_rng(seed)
    gender = rng.integers(0, 2, n)
    age = rng.integers(18, 80, n)
    income = rng.normal(50, 12, n).round(1) - shift * (gender == 0)
    features = np.column_stack([gender, age, income])
    scores = score(features)
    labels = (rng.random(n) < np.clip(scores + 0.1 * (gender - 0.5), 0, 1)).astype(int)
    offsets = np.sort(rng.random(n)) * span.total_seconds()
    times = [start + timedelta(seconds=float(o)) for o in offsets]
    return Traffic(
        features,
        labels,
        scores,
        times,
        [str(uuid.UUID(int=int(rng.integers(1 << 62)) + i)) for i in range(n)],
    )


def _csv_row(values) -> str:
    return ",".join(f"{v:g}" if isinstance(v, float | np.floating) else str(v) for v in values)


def write_capture(
    root: Path, traffic: Traffic, *, encoding: str | None = None, use_inference_id: bool = False
) -> None:
    """Capture files ``root/{endpoint}/{variant}/yyyy/mm/dd/hh/*.jsonl``, one file per hour."""
    by_key: dict[str, list[str]] = {}
    for row, s, when, event_id in zip(
        traffic.features, traffic.scores, traffic.times, traffic.ids, strict=True
    ):
        record = cf.capture_record(
            request=_csv_row([int(row[0]), int(row[1]), float(row[2])]),
            request_content_type="text/csv",
            response=f"{s:.6f}",
            response_content_type="text/csv; charset=utf-8",
            inference_time=when,
            event_id=f"evt-{event_id}" if use_inference_id else event_id,
            inference_id=event_id if use_inference_id else None,
            input_encoding=encoding,
            output_encoding=encoding,
        )
        key = cf.capture_object_key(
            ENDPOINT, VARIANT, when.replace(minute=0, second=0, microsecond=0), "part"
        )
        by_key.setdefault(key, []).append(cf.record_line(record))
    for key, lines in by_key.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            handle.writelines(lines)


def write_ground_truth(root: Path, traffic: Traffic, delay: timedelta = timedelta(hours=1)) -> None:
    """Labels under ``root/yyyy/mm/dd/hh`` of the hour they arrive (``delay`` after the request)."""
    by_key: dict[str, list[str]] = {}
    for label, when, event_id in zip(traffic.labels, traffic.times, traffic.ids, strict=True):
        arrival = (when + delay).replace(minute=0, second=0, microsecond=0)
        key = cf.ground_truth_object_key(arrival, "labels")
        by_key.setdefault(key, []).append(cf.record_line(cf.ground_truth_record(event_id, int(label))))
    for key, lines in by_key.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            handle.writelines(lines)


class CapturingEndpoint:
    """A SageMaker endpoint with data capture in front of a SageMaker-contract model server."""

    def __init__(self, model_url: str, capture_root: Path, endpoint: str = ENDPOINT) -> None:
        self.model_url = model_url.rstrip("/")
        self.capture_root = capture_root
        self.endpoint = endpoint

    def invoke(self, body: str, when: datetime, inference_id: str, content_type: str = "text/csv") -> bytes:
        request = urllib.request.Request(
            f"{self.model_url}/invocations",
            data=body.encode(),
            headers={"Content-Type": content_type, "Accept": "text/csv"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = response.read()
            answer_type = response.headers.get("Content-Type", "text/csv")
        record = cf.capture_record(
            request=body,
            request_content_type=content_type,
            response=answer,
            response_content_type=answer_type,
            inference_time=when,
            inference_id=inference_id,
        )
        path = self.capture_root / cf.capture_object_key(self.endpoint, VARIANT, when)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(cf.record_line(record))
        return answer


def merged_rows(traffic: Traffic, start: datetime, end: datetime, threshold: float = 0.5) -> list[list]:
    """The records a bias execution over ``[start, end)`` must analyse (the test's independent oracle)."""
    rows = []
    for row, label, s, when in zip(
        traffic.features, traffic.labels, traffic.scores, traffic.times, strict=True
    ):
        if start <= when.replace(microsecond=0) < end:
            rows.append(
                [
                    int(row[0]),
                    int(row[1]),
                    float(row[2]),
                    int(label),
                    1 if round(s, 6) > threshold else 0,
                ]
            )
    return rows


def write_json(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


#: The bias analysis the monitoring tests run on :func:`make_traffic`'s records.
BIAS_CONFIG = {
    "label_values_or_threshold": [1],
    "facet": [{"name_or_index": "gender", "value_or_threshold": [0]}],
    "headers": ["gender", "age", "income", "approved"],
    "label": "approved",
}


def bias_job_definition(
    root: Path, *, baseline: str | None = None, offsets: tuple[str, str] = ("-PT2H", "-PT1H")
) -> dict:
    """A model-bias job definition over ``root``: config written to ``root/config``, ground truth in
    ``root/gt``, results to ``root/results``; ``offsets`` are the window's start and end offsets."""
    config_uri = write_json(root / "config" / "analysis_config.json", BIAS_CONFIG)
    definition = {
        "JobDefinitionName": "bias-def",
        "ModelBiasAppSpecification": {"ImageUri": "img", "ConfigUri": str(config_uri)},
        "ModelBiasJobInput": {
            "EndpointInput": {
                "EndpointName": ENDPOINT,
                "LocalPath": "/opt/ml/processing/input/endpoint",
                "StartTimeOffset": offsets[0],
                "EndTimeOffset": offsets[1],
            },
            "GroundTruthS3Input": {"S3Uri": str(root / "gt")},
        },
        "ModelBiasJobOutputConfig": {"MonitoringOutputs": [{"S3Output": {"S3Uri": str(root / "results")}}]},
    }
    if baseline:
        definition["ModelBiasBaselineConfig"] = {"ConstraintsResource": {"S3Uri": baseline}}
    return definition
