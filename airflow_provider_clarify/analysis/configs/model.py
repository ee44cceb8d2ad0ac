"""Model-side configs: :class:`ModelConfig`, :class:`ModelPredictedLabelConfig`, :class:`TimeSeriesModelConfig`.

They build the ``predictor`` block (``docs/configs.md#how-analysisconfig-composes-the-sdk-generators-rules``) exactly as the SDK does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from airflow_provider_clarify.analysis import constants as C
from airflow_provider_clarify.analysis.configs._base import ClarifyConfig, is_member, one_of, put
from airflow_provider_clarify.analysis.errors import ClarifyConfigError, ClarifyConfigTypeError, short_repr


@dataclass(eq=True, repr=True)
class TimeSeriesModelConfig(ClarifyConfig):
    """Where a forecasting model puts its forecast (``predictor.time_series_predictor_config``).

    :param forecast: JMESPath of the forecast in the model response, e.g. ``"predictions[*].mean"``.
    """

    forecast: str

    def _check(self, strict: bool) -> None:
        if not isinstance(self.forecast, str):
            raise ClarifyConfigError.invalid(
                "forecast",
                self.forecast,
                "a JMESPath string",
                "Please provide a string JMESPath expression for ``forecast`` to extract the forecast result.",
            )

    def _build(self) -> dict[str, Any]:
        return {"forecast": self.forecast}

    def get_time_series_model_config(self) -> dict[str, Any]:
        """SDK-compatible alias of :meth:`to_dict`."""
        return self.to_dict()


def _has_placeholder(field: str, template: Any, placeholder: str) -> bool:
    try:
        return placeholder in template
    except TypeError:
        raise ClarifyConfigError.invalid(
            field,
            template,
            f"a string containing {placeholder}",
            f"Expected a template string containing {placeholder}, got {type(template).__name__}.",
        ) from None


@dataclass(eq=True, repr=True)
class ModelConfig(ClarifyConfig):
    """The model Clarify calls (SDK ``ModelConfig``): a shadow endpoint of a SageMaker Model, or an
    existing endpoint.

    Give either ``model_name`` + ``instance_count`` + ``instance_type`` (a temporary shadow endpoint)
    or ``endpoint_name`` (an existing endpoint), not both.

    :param model_name: SageMaker Model name (CreateModel).
    :param instance_count: shadow endpoint instance count (``initial_instance_count``).
    :param instance_type: shadow endpoint instance type, e.g. ``ml.m5.xlarge``.
    :param accept_type: response MIME type: ``text/csv``, ``application/jsonlines``, ``application/json``.
    :param content_type: request MIME type: the accept types, ``image/jpeg``, ``image/jpg``,
        ``image/png``, ``application/x-npy``.
    :param content_template: request template; required for JSON Lines (``$features``) and JSON
        (``$record`` / ``$records``).
    :param record_template: per-record template; required for JSON.
    :param custom_attributes: InvokeEndpoint ``CustomAttributes``.
    :param accelerator_type: Elastic Inference accelerator type.
    :param endpoint_name_prefix: shadow endpoint name prefix (not with ``endpoint_name``).
    :param target_model: multi-model endpoint ``TargetModel``.
    :param endpoint_name: existing endpoint to call.
    :param time_series_model_config: :class:`TimeSeriesModelConfig` for forecasting models.
    """

    model_name: str | None = None
    instance_count: int | None = None
    instance_type: str | None = None
    accept_type: str | None = None
    content_type: str | None = None
    content_template: str | None = None
    record_template: str | None = None
    custom_attributes: str | None = None
    accelerator_type: str | None = None
    endpoint_name_prefix: str | None = None
    target_model: str | None = None
    endpoint_name: str | None = None
    time_series_model_config: TimeSeriesModelConfig | None = None

    template_fields: ClassVar[tuple[str, ...]] = (
        "model_name",
        "instance_type",
        "custom_attributes",
        "accelerator_type",
        "endpoint_name_prefix",
        "target_model",
        "endpoint_name",
    )

    def _check(self, strict: bool) -> None:
        self._check_target()
        prefix = self.endpoint_name_prefix
        if prefix and self._ready(strict, "endpoint_name_prefix"):
            if not isinstance(prefix, str) or re.search(C.ENDPOINT_NAME_PREFIX_PATTERN, prefix) is None:
                raise ClarifyConfigError.invalid(
                    "endpoint_name_prefix",
                    prefix,
                    f"a string matching {C.ENDPOINT_NAME_PREFIX_PATTERN}",
                    f"Invalid endpoint_name_prefix. Please follow pattern {C.ENDPOINT_NAME_PREFIX_PATTERN} "
                    "(start with two letters/digits, e.g. 'my-audit').",
                )
        series = self.time_series_model_config
        if series and not isinstance(series, TimeSeriesModelConfig):
            raise ClarifyConfigError.invalid(
                "time_series_model_config",
                series,
                "a TimeSeriesModelConfig",
                f"Expected a TimeSeriesModelConfig, got {type(series).__name__}.",
            )
        self._check_accept_type()
        self._check_content_type()
        if series:
            series._check(strict)

    def _check_target(self) -> None:
        shadow = all([self.model_name, self.instance_count, self.instance_type])
        existing = bool(self.endpoint_name)
        if shadow and existing:
            raise ClarifyConfigError(
                "ModelConfig: give either endpoint_name (an existing endpoint) or model_name + "
                "instance_count + instance_type (a shadow endpoint), not both; got "
                f"endpoint_name={short_repr(self.endpoint_name)} and model_name={short_repr(self.model_name)}.",
                field="endpoint_name",
                value=self.endpoint_name,
                accepted="endpoint_name alone, or model_name + instance_count + instance_type",
            )
        if not shadow and not existing:
            raise ClarifyConfigError(
                "ModelConfig needs either endpoint_name, or all three of model_name, instance_count "
                f"and instance_type; got model_name={short_repr(self.model_name)}, "
                f"instance_count={short_repr(self.instance_count)}, instance_type={short_repr(self.instance_type)}, "
                f"endpoint_name={short_repr(self.endpoint_name)}.",
                field="model_name",
                value=self.model_name,
                accepted="endpoint_name alone, or model_name + instance_count + instance_type",
            )
        if existing and self.endpoint_name_prefix:
            raise ClarifyConfigError.invalid(
                "endpoint_name_prefix",
                self.endpoint_name_prefix,
                "None when endpoint_name is set",
                "endpoint_name_prefix names a shadow endpoint; it cannot be combined with endpoint_name.",
            )

    def _check_accept_type(self) -> None:
        accept = self.accept_type
        if accept is None:
            return
        if not is_member(accept, C.ACCEPT_TYPES):
            raise ClarifyConfigError.invalid(
                "accept_type", accept, one_of(C.ACCEPT_TYPES) + " (case-sensitive)"
            )
        if self.time_series_model_config and accept == C.CSV:
            raise ClarifyConfigError.invalid(
                "accept_type",
                accept,
                "'application/json' or 'application/jsonlines'",
                "``accept_type`` must be JSON or JSONLines for time series explainability.",
            )

    def _check_content_type(self) -> None:
        content = self.content_type
        if content is None:
            return
        if not is_member(content, C.MODEL_CONFIG_CONTENT_TYPES):
            raise ClarifyConfigError.invalid(
                "content_type", content, one_of(C.MODEL_CONFIG_CONTENT_TYPES) + " (case-sensitive)"
            )
        template = self.content_template
        if content == C.JSONLINES:
            if template is None:
                raise ClarifyConfigError.invalid(
                    "content_template",
                    None,
                    "a template containing $features",
                    "content_template field is required for content_type application/jsonlines, "
                    "e.g. '{\"features\":$features}'.",
                )
            if not _has_placeholder("content_template", template, "$features"):
                raise ClarifyConfigError.invalid(
                    "content_template",
                    template,
                    "a template containing $features",
                    f"Invalid content_template {short_repr(template)}. Please include a placeholder $features.",
                )
        if content == C.JSON:
            if template is None or self.record_template is None:
                raise ClarifyConfigError.invalid(
                    "content_template" if template is None else "record_template",
                    None,
                    "both content_template and record_template",
                    "content_template and record_template are required for content_type application/json, "
                    "e.g. content_template='{\"instances\": $records}', record_template='$features_kvp'.",
                )
            if not _has_placeholder("content_template", template, "$record"):
                raise ClarifyConfigError.invalid(
                    "content_template",
                    template,
                    "a template containing $records or $record",
                    f"Invalid content_template {short_repr(template)}. "
                    "Please include either placeholder $records or $record.",
                )
        if self.time_series_model_config and content not in (C.JSON, C.JSONLINES):
            raise ClarifyConfigError.invalid(
                "content_type",
                content,
                "'application/json' or 'application/jsonlines'",
                "``content_type`` must be JSON or JSONLines for time series explainability.",
            )

    def _build(self) -> dict[str, Any]:
        if not self.endpoint_name:
            out: dict[str, Any] = {
                "model_name": self.model_name,
                "instance_type": self.instance_type,
                "initial_instance_count": self.instance_count,
            }
        else:
            out = {"endpoint_name": self.endpoint_name}
        if self.endpoint_name_prefix:
            out["endpoint_name_prefix"] = self.endpoint_name_prefix
        put(out, "accept_type", self.accept_type)
        put(out, "content_type", self.content_type)
        put(out, "content_template", self.content_template)
        put(out, "record_template", self.record_template)
        put(out, "custom_attributes", self.custom_attributes)
        put(out, "accelerator_type", self.accelerator_type)
        put(out, "target_model", self.target_model)
        series = self.time_series_model_config
        if series and isinstance(series, TimeSeriesModelConfig):
            out["time_series_predictor_config"] = series._build()
        return out

    def get_predictor_config(self) -> dict[str, Any]:
        """SDK-compatible alias of :meth:`to_dict`."""
        return self.to_dict()


@dataclass(eq=True, repr=True)
class ModelPredictedLabelConfig(ClarifyConfig):
    """How to read the predicted label / scores from the model's response (SDK
    ``ModelPredictedLabelConfig``).

    ``label``, ``probability`` and ``label_headers`` are merged into ``predictor`` (only when a
    predictor exists); ``probability_threshold`` goes to the top level of the analysis config. It is
    written as given: pass ``0.5`` / ``1.0`` (an int fails the schema, as with the SDK).

    :param label: index or JMESPath of the predicted label in the response.
    :param probability: index or JMESPath of the score(s).
    :param probability_threshold: score threshold for binary predictions (default 0.5 in the container).
    :param label_headers: class names aligned with the scores.
    """

    label: str | int | None = None
    probability: str | int | None = None
    probability_threshold: float | None = None
    label_headers: list[str] | None = None

    template_fields: ClassVar[tuple[str, ...]] = ("label", "probability", "label_headers")

    def _check(self, strict: bool) -> None:
        threshold = self.probability_threshold
        if threshold is None:
            return
        try:
            float(threshold)
        except (ValueError, TypeError, OverflowError):
            raise ClarifyConfigTypeError(
                f"Invalid probability_threshold {short_repr(threshold)}. "
                "Please choose one that can be cast to float, e.g. 0.5.",
                field="probability_threshold",
                value=threshold,
                accepted="a float such as 0.5",
            ) from None

    def _build(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        put(out, "label", self.label)
        put(out, "probability", self.probability)
        put(out, "label_headers", self.label_headers)
        return out

    def get_predictor_config(self) -> tuple[Any, dict[str, Any]]:
        """SDK-compatible: ``(probability_threshold, partial predictor dict)``."""
        return self.probability_threshold, self.to_dict()
