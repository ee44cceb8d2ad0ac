"""Injected AWS faults for reliability tests: throttling storms on the fake AWS, fast botocore back-off.

* ``throttle_storm``: ``throttle_storm(fraction, seed=..., operations=(...))`` makes the moto server
  answer ``ThrottlingException`` (HTTP 400, as SageMaker does) to that fraction of the named SageMaker
  operations, drawn from a seeded RNG so a run is repeatable. ``throttle_storm.requests[op]`` and
  ``throttle_storm.throttled[op]`` count what the server received and refused, and
  ``throttle_storm.per_job[(op, job_name)]`` what it received about one job (other tests' triggers
  left in the shared metadata DB may call the same server from a triggerer);
  ``throttle_storm.always(op)`` / ``throttle_storm.stop()`` switch to 100 % / 0 %.
* ``fast_backoff``: botocore's retry back-off, scaled down 100 times so a storm fits in a unit test.
  The retry *decisions* (which errors, how many attempts, the exponential shape) stay botocore's own;
  ``fast_backoff`` lists the unscaled delays botocore chose.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

#: SageMaker backend methods of moto, by API operation.
_BACKEND_METHODS = {
    "DescribeProcessingJob": "describe_processing_job",
    "CreateProcessingJob": "create_processing_job",
    "StopProcessingJob": "stop_processing_job",
    "ListProcessingJobs": "list_processing_jobs",
}

#: Operations whose only argument is the job's name.
_BY_NAME_ONLY = {"DescribeProcessingJob", "StopProcessingJob"}


class ThrottleStorm:
    def __init__(self) -> None:
        self.fraction = 0.0
        self.rng = random.Random(0)
        self.operations: set[str] = set()
        self.requests: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.per_job: Counter[tuple[str, str]] = Counter()

    def __call__(
        self, fraction: float, *, seed: int = 0, operations: tuple[str, ...] = tuple(_BACKEND_METHODS)
    ):
        self.fraction = fraction
        self.rng = random.Random(seed)
        self.operations = set(operations)

    def always(self, *operations: str) -> None:
        self(1.0, operations=operations)

    def stop(self) -> None:
        self.fraction = 0.0

    def decide(self, operation: str, job_name: str | None = None) -> bool:
        self.requests[operation] += 1
        if job_name is not None:
            self.per_job[(operation, job_name)] += 1
        if operation in self.operations and self.rng.random() < self.fraction:
            self.throttled[operation] += 1
            return True
        return False


@pytest.fixture
def throttle_storm(monkeypatch, sm_backend):
    from moto.core.exceptions import JsonRESTError
    from moto.sagemaker.models import SageMakerModelBackend

    storm = ThrottleStorm()
    for operation, method_name in _BACKEND_METHODS.items():
        original = getattr(SageMakerModelBackend, method_name)

        def faulty(self, *args, _operation=operation, _original=original, **kwargs):
            job_name = kwargs.get("processing_job_name")
            if job_name is None and args and _operation in _BY_NAME_ONLY:
                job_name = args[0]
            if storm.decide(_operation, job_name):
                raise JsonRESTError("ThrottlingException", "Rate exceeded")
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(SageMakerModelBackend, method_name, faulty)
    return storm


@pytest.fixture
def fast_backoff(monkeypatch):
    from botocore.retries.standard import ExponentialBackoff

    chosen: list[float] = []
    original = ExponentialBackoff.delay_amount

    def scaled(self, context):
        delay = original(self, context)
        chosen.append(delay)
        return delay / 100

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", scaled)
    return chosen
