"""Model Monitor inputs and outputs with the SageMaker SDK's keyword names.

``EndpointInput``, ``BatchTransformInput`` (with ``MonitoringDatasetFormat``) and ``MonitoringOutput``
build the ``*JobInput`` / ``*JobOutputConfig`` fragments of a CreateModelBiasJobDefinition or
CreateModelExplainabilityJobDefinition request; ``to_request_dict()`` equals the SDK's
``_to_request_dict()``. Unlike the SDK, every value the API would reject is rejected here, before any
AWS call, with the field and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from airflow_provider_clarify.analysis.configs._base import contains_template
from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.monitoring.schedule import parse_offset

ENDPOINT_LOCAL_PATH = "/opt/ml/processing/input/endpoint"
BATCH_TRANSFORM_LOCAL_PATH = "/opt/ml/processing/input/batch_transform"
OUTPUT_LOCAL_PATH = "/opt/ml/processing/output"
S3_INPUT_MODES: tuple[str, ...] = ("File", "Pipe")
S3_DATA_DISTRIBUTION_TYPES: tuple[str, ...] = ("FullyReplicated", "ShardedByS3Key")
S3_UPLOAD_MODES: tuple[str, ...] = ("Continuous", "EndOfJob")
MAX_MONITORING_S3_URI = 512
ENDPOINT_NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ClarifyConfigError.invalid(name, value, "one of " + ", ".join(repr(c) for c in choices))


def check_s3_uri(name: str, value: Any, *, limit: int = MAX_MONITORING_S3_URI) -> None:
    """An ``s3://bucket/key`` URI of at most ``limit`` characters, without a trailing slash."""
    if not isinstance(value, str) or not re.fullmatch(r"s3://[^/]+(/.*)?", value) or len(value) > limit:
        raise ClarifyConfigError.invalid(
            name, value, f"an s3://bucket/prefix URI of at most {limit} characters (Model Monitor's limit)"
        )
    if value.endswith("/"):
        raise ClarifyConfigError.invalid(
            name, value, "a URI without a trailing slash", f"Drop the trailing '/': {value.rstrip('/')!r}."
        )


def _attribute(name: str, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value or len(value) > 256):
        raise ClarifyConfigError.invalid(
            name,
            value,
            "None or a string of 1-256 characters: a column index ('0') or a JMESPath ('predictions[0].score')",
            "Pass indexes as strings, e.g. '0' (the API takes a string).",
        )


@dataclass(kw_only=True)
class _MonitoringInput:
    """Attributes and offsets shared by :class:`EndpointInput` and :class:`BatchTransformInput`."""

    start_time_offset: str | None = None
    end_time_offset: str | None = None
    features_attribute: str | None = None
    inference_attribute: str | None = None
    probability_attribute: str | None = None
    probability_threshold_attribute: float | None = None
    exclude_features_attribute: str | None = None

    template_fields: ClassVar[tuple[str, ...]] = (
        "start_time_offset",
        "end_time_offset",
        "features_attribute",
        "inference_attribute",
        "probability_attribute",
        "probability_threshold_attribute",
        "exclude_features_attribute",
    )

    def __post_init__(self) -> None:
        if not any(contains_template(getattr(self, f)) for f in self.template_fields):
            self.validate()

    def validate(self) -> None:
        """Check every field as the API would (call again after Jinja rendering)."""
        for name in ("start_time_offset", "end_time_offset"):
            if getattr(self, name) is not None:
                parse_offset(getattr(self, name), name)
        if self.start_time_offset is not None and self.end_time_offset is not None:
            from airflow_provider_clarify.analysis.monitoring.schedule import check_window_offsets

            check_window_offsets(self.start_time_offset, self.end_time_offset)
        for name in ("features_attribute", "inference_attribute", "probability_attribute"):
            _attribute(name, getattr(self, name))
        threshold = self.probability_threshold_attribute
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int | float)):
            raise ClarifyConfigError.invalid(
                "probability_threshold_attribute", threshold, "None or a number such as 0.5"
            )
        exclude = self.exclude_features_attribute
        if exclude is not None and (not isinstance(exclude, str) or len(exclude) > 100):
            raise ClarifyConfigError.invalid(
                "exclude_features_attribute",
                exclude,
                "None or comma-separated feature indexes or names, at most 100 characters",
            )

    def _attributes(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in (
            ("StartTimeOffset", self.start_time_offset),
            ("EndTimeOffset", self.end_time_offset),
            ("FeaturesAttribute", self.features_attribute),
            ("InferenceAttribute", self.inference_attribute),
            ("ProbabilityAttribute", self.probability_attribute),
            ("ProbabilityThresholdAttribute", self.probability_threshold_attribute),
            ("ExcludeFeaturesAttribute", self.exclude_features_attribute),
        ):
            if value is not None:
                out[key] = value
        return out


@dataclass
class EndpointInput(_MonitoringInput):
    """The endpoint whose captured traffic is monitored (SDK ``EndpointInput``).

    ``destination`` defaults to the path the SDK uses when only an endpoint name is given.
    """

    endpoint_name: str
    destination: str = ENDPOINT_LOCAL_PATH
    s3_input_mode: str = "File"
    s3_data_distribution_type: str = "FullyReplicated"

    template_fields: ClassVar[tuple[str, ...]] = ("endpoint_name", *_MonitoringInput.template_fields)

    def validate(self) -> None:
        if not isinstance(self.endpoint_name, str) or not ENDPOINT_NAME_PATTERN.fullmatch(self.endpoint_name):
            raise ClarifyConfigError.invalid(
                "endpoint_name",
                self.endpoint_name,
                "the name of a SageMaker endpoint: 1-63 letters, digits and hyphens",
            )
        _choice("s3_input_mode", self.s3_input_mode, S3_INPUT_MODES)
        _choice("s3_data_distribution_type", self.s3_data_distribution_type, S3_DATA_DISTRIBUTION_TYPES)
        super().validate()

    def to_request_dict(self) -> dict[str, Any]:
        """``{"EndpointInput": {...}}`` exactly as the SDK builds it."""
        self.validate()
        body = {
            "EndpointName": self.endpoint_name,
            "LocalPath": self.destination,
            "S3InputMode": self.s3_input_mode,
            "S3DataDistributionType": self.s3_data_distribution_type,
        }
        body.update(self._attributes())
        return {"EndpointInput": body}

    @classmethod
    def from_request_dict(cls, body: dict[str, Any]) -> EndpointInput:
        return cls(
            endpoint_name=body.get("EndpointName", ""),
            destination=body.get("LocalPath", ENDPOINT_LOCAL_PATH),
            s3_input_mode=body.get("S3InputMode", "File"),
            s3_data_distribution_type=body.get("S3DataDistributionType", "FullyReplicated"),
            **_attributes_from(body),
        )


class MonitoringDatasetFormat:
    """``DatasetFormat`` of batch-transform capture (SDK ``MonitoringDatasetFormat``)."""

    @staticmethod
    def csv(header: bool = True) -> dict[str, Any]:
        return {"Csv": {"Header": header}}

    @staticmethod
    def json(lines: bool = True) -> dict[str, Any]:
        return {"Json": {"Line": lines}}

    @staticmethod
    def parquet() -> dict[str, Any]:
        return {"Parquet": {}}


def check_dataset_format(value: Any) -> None:
    accepted = "MonitoringDatasetFormat.csv(header=...), .json(lines=...) or .parquet()"
    ok = isinstance(value, dict) and len(value) == 1
    if ok:
        ((kind, body),) = value.items()
        ok = (
            (kind == "Csv" and set(body) <= {"Header"} and isinstance(body.get("Header", True), bool))
            or (kind == "Json" and set(body) <= {"Line"} and isinstance(body.get("Line", True), bool))
            or (kind == "Parquet" and body == {})
        )
    if not ok:
        raise ClarifyConfigError.invalid("dataset_format", value, accepted)


@dataclass
class BatchTransformInput(_MonitoringInput):
    """Batch-transform capture to monitor (SDK ``BatchTransformInput``)."""

    data_captured_destination_s3_uri: str
    destination: str = BATCH_TRANSFORM_LOCAL_PATH
    dataset_format: dict[str, Any] = field(default_factory=MonitoringDatasetFormat.csv)
    s3_input_mode: str = "File"
    s3_data_distribution_type: str = "FullyReplicated"

    template_fields: ClassVar[tuple[str, ...]] = (
        "data_captured_destination_s3_uri",
        *_MonitoringInput.template_fields,
    )

    def validate(self) -> None:
        check_s3_uri("data_captured_destination_s3_uri", self.data_captured_destination_s3_uri)
        check_dataset_format(self.dataset_format)
        _choice("s3_input_mode", self.s3_input_mode, S3_INPUT_MODES)
        _choice("s3_data_distribution_type", self.s3_data_distribution_type, S3_DATA_DISTRIBUTION_TYPES)
        super().validate()

    def to_request_dict(self) -> dict[str, Any]:
        """``{"BatchTransformInput": {...}}`` exactly as the SDK builds it."""
        self.validate()
        body = {
            "DataCapturedDestinationS3Uri": self.data_captured_destination_s3_uri,
            "LocalPath": self.destination,
            "S3InputMode": self.s3_input_mode,
            "S3DataDistributionType": self.s3_data_distribution_type,
            "DatasetFormat": self.dataset_format,
        }
        body.update(self._attributes())
        return {"BatchTransformInput": body}

    @classmethod
    def from_request_dict(cls, body: dict[str, Any]) -> BatchTransformInput:
        return cls(
            data_captured_destination_s3_uri=body.get("DataCapturedDestinationS3Uri", ""),
            destination=body.get("LocalPath", BATCH_TRANSFORM_LOCAL_PATH),
            dataset_format=body.get("DatasetFormat", {}),
            s3_input_mode=body.get("S3InputMode", "File"),
            s3_data_distribution_type=body.get("S3DataDistributionType", "FullyReplicated"),
            **_attributes_from(body),
        )


def _attributes_from(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "start_time_offset": body.get("StartTimeOffset"),
        "end_time_offset": body.get("EndTimeOffset"),
        "features_attribute": body.get("FeaturesAttribute"),
        "inference_attribute": body.get("InferenceAttribute"),
        "probability_attribute": body.get("ProbabilityAttribute"),
        "probability_threshold_attribute": body.get("ProbabilityThresholdAttribute"),
        "exclude_features_attribute": body.get("ExcludeFeaturesAttribute"),
    }


@dataclass
class MonitoringOutput:
    """Where an execution's files go (SDK ``MonitoringOutput``)."""

    source: str = OUTPUT_LOCAL_PATH
    destination: str | None = None
    s3_upload_mode: str = "Continuous"

    def to_request_dict(self) -> dict[str, Any]:
        check_s3_uri("output_s3_uri", self.destination)
        _choice("s3_upload_mode", self.s3_upload_mode, S3_UPLOAD_MODES)
        return {
            "S3Output": {
                "S3Uri": self.destination,
                "LocalPath": self.source,
                "S3UploadMode": self.s3_upload_mode,
            }
        }
