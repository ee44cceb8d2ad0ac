"""The explainer's settings, read from the very ``ExplainerConfig`` request dict that goes to SageMaker.

:func:`load_settings` validates the dict with
:class:`airflow_provider_clarify.analysis.online.ExplainerConfig` (the same checks as before
``CreateEndpointConfig``), loads the baseline (in-line, or ``ShapBaselineUri``: ``s3://``, ``https://``,
or for local runs a path / ``file://``), and works out which columns are text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.engine.explain_server.codec import (
    CSV,
    JSONLINES,
    OutputParser,
    RowEncoder,
    to_matrix,
)
from airflow_provider_clarify.engine.explain_server.errors import ExplainerConfigError, RequestValidationError

DEFAULT_MAX_PAYLOAD_MB = 6


@dataclass
class ExplainerSettings:
    """Everything an invocation needs, resolved once at start-up."""

    request: dict[str, Any]  # the validated ClarifyExplainerConfig request dict
    mime_type: str
    baseline: np.ndarray  # (K, m)
    enable_explanations: str | None
    num_samples: int | None
    seed: int | None
    use_logit: bool
    granularity: str | None  # None: tabular
    text_columns: list[int]
    feature_headers: list[str] | None
    feature_types: list[str] | None
    label_headers: list[str] | None
    features_attribute: str | None
    max_record_count: int | None
    max_payload_bytes: int
    encoder: RowEncoder
    parser: OutputParser

    @property
    def num_features(self) -> int:
        return int(self.baseline.shape[1])


def _read_uri(uri: str, storage_options: dict | None) -> str:
    if uri.startswith(("http://", "https://")):
        import httpx

        response = httpx.get(uri, timeout=60, follow_redirects=True)
        if response.status_code != 200:
            raise ExplainerConfigError(f"Cannot read ShapBaselineUri {uri!r}: HTTP {response.status_code}.")
        return response.text
    from airflow_provider_clarify.engine.io import read_bytes

    return read_bytes(uri, storage_options).decode("utf-8")


def load_settings(explainer_config: dict | str, *, storage_options: dict | None = None) -> ExplainerSettings:
    """Settings from ``{"ClarifyExplainerConfig": {...}}`` (or the inner object, or its JSON text)."""
    from airflow_provider_clarify.analysis.online.baseline import parse_baseline
    from airflow_provider_clarify.analysis.online.explainer_config import ExplainerConfig

    if isinstance(explainer_config, str):
        try:
            explainer_config = json.loads(explainer_config)
        except json.JSONDecodeError as err:
            raise ExplainerConfigError(f"The explainer config is not JSON: {err}.") from None
    try:
        config = ExplainerConfig.from_request_dict(explainer_config).clarify_explainer_config
    except ClarifyConfigError as err:
        raise ExplainerConfigError(f"Invalid ExplainerConfig: {err}") from None
    if config is None:
        raise ExplainerConfigError("ExplainerConfig has no ClarifyExplainerConfig; nothing to explain.")
    request = config.to_request_dict()
    shap = config.shap_config
    baseline_config = shap.shap_baseline_config
    inference = config.inference_config
    attr = (lambda name: getattr(inference, name)) if inference is not None else (lambda name: None)
    mime = baseline_config.mime_type or CSV
    text = baseline_config.shap_baseline
    if text is None:
        text = _read_uri(baseline_config.shap_baseline_uri, storage_options)
    try:
        rows = parse_baseline(text, mime, features_attribute=attr("features_attribute"))
    except ClarifyConfigError as err:
        raise ExplainerConfigError(f"Cannot read the SHAP baseline: {err}") from None
    if not rows:
        raise ExplainerConfigError("The SHAP baseline has no records; give at least one baseline row.")
    try:
        baseline = to_matrix(rows, len(rows[0]), "Baseline record")
    except RequestValidationError as err:
        raise ExplainerConfigError(str(err)) from None
    m = baseline.shape[1]
    headers = attr("feature_headers") or None
    types = attr("feature_types")
    for name, value in (("FeatureHeaders", headers), ("FeatureTypes", types)):
        if value is not None and len(value) != m:
            raise ExplainerConfigError(
                f"InferenceConfig.{name} has {len(value)} entries but the baseline has {m} features."
            )
    granularity = shap.text_config.granularity if shap.text_config is not None else None
    text_columns: list[int] = []
    if granularity is not None:
        if types is not None:
            text_columns = [j for j, kind in enumerate(types) if kind == "text"]
        else:  # inferred from the baseline: the replacement strings of the text columns
            text_columns = [j for j in range(m) if isinstance(baseline[0, j], str)]
        if not text_columns:
            raise ExplainerConfigError(
                "ShapConfig.TextConfig is set but no feature is text: give InferenceConfig.FeatureTypes "
                "with 'text' entries, or a baseline whose text columns hold the replacement token."
            )
        baseline = baseline.astype(object)
    payload_mb = attr("max_payload_in_mb") or DEFAULT_MAX_PAYLOAD_MB
    return ExplainerSettings(
        request=request,
        mime_type=mime,
        baseline=baseline,
        enable_explanations=config.enable_explanations,
        num_samples=shap.number_of_samples,
        seed=shap.seed,
        use_logit=bool(shap.use_logit),
        granularity=granularity,
        text_columns=text_columns,
        feature_headers=headers,
        feature_types=types,
        label_headers=attr("label_headers"),
        features_attribute=attr("features_attribute"),
        max_record_count=attr("max_record_count"),
        max_payload_bytes=payload_mb * 1024 * 1024,
        encoder=RowEncoder(mime, attr("content_template") if mime == JSONLINES else None),
        parser=OutputParser(
            probability_index=attr("probability_index"),
            probability_attribute=attr("probability_attribute"),
            label_index=attr("label_index"),
            label_attribute=attr("label_attribute"),
        ),
    )
