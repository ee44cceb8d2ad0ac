"""Shared helpers: build explainer configs, run the explainer against a real model server, brute-force Shapley."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import numpy as np

from airflow_provider_clarify.analysis.online import (
    ClarifyExplainerConfig,
    ClarifyInferenceConfig,
    ClarifyShapBaselineConfig,
    ClarifyShapConfig,
    ClarifyTextConfig,
    ExplainerConfig,
)
from airflow_provider_clarify.engine.explain_server.app import create_app
from tests.support.explain_server import ExplainerServer
from tests.support.model_server import ModelServer


def explainer_config(
    baseline: str,
    *,
    mime_type: str = "text/csv",
    number_of_samples: int | None = None,
    seed: int | None = 0,
    use_logit: bool = False,
    text: tuple[str, str] | None = None,
    enable_explanations: str | None = None,
    **inference: Any,
) -> dict:
    """The request dict, made with our SDK-parity classes (as a user would)."""
    shap = ClarifyShapConfig(
        ClarifyShapBaselineConfig(mime_type=mime_type, shap_baseline=baseline),
        number_of_samples=number_of_samples,
        seed=seed,
        use_logit=use_logit,
        text_config=ClarifyTextConfig(*text) if text else None,
    )
    return ExplainerConfig(
        ClarifyExplainerConfig(
            shap,
            enable_explanations=enable_explanations,
            inference_config=ClarifyInferenceConfig(**inference) if inference else None,
        )
    ).to_request_dict()


@contextmanager
def running(
    model_fn: Callable[[np.ndarray], Any], config: dict, model_kwargs: dict | None = None, **app_kwargs: Any
) -> Iterator[tuple[ModelServer, str]]:
    with ModelServer(model_fn, **(model_kwargs or {})) as model:
        with ExplainerServer(create_app(config, model.url, **app_kwargs)) as server:
            yield model, server.url


def invoke(url: str, body: str, content_type: str = "text/csv", accept: str | None = None, **headers: str):
    all_headers = {"Content-Type": content_type, "Accept": accept or content_type, **headers}
    return httpx.post(url + "/invocations", content=body.encode(), headers=all_headers, timeout=60)


def attributions(document: dict, record: int) -> np.ndarray:
    """``(features, outputs)`` attributions of a tabular record from the response document."""
    features = document["explanations"]["kernel_shap"][record]
    return np.array([f["attributions"][0]["attribution"] for f in features])


def exact_shapley(value: Callable[[tuple[bool, ...]], float], m: int) -> np.ndarray:
    """Shapley values by enumerating every coalition (the independent oracle)."""
    phi = np.zeros(m)
    for i in range(m):
        others = [j for j in range(m) if j != i]
        for size in range(m):
            weight = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
            for subset in itertools.combinations(others, size):
                without = tuple(j in subset for j in range(m))
                with_i = tuple(j in subset or j == i for j in range(m))
                phi[i] += weight * (value(with_i) - value(without))
    return phi
