"""Dataset-side configs: :class:`DataConfig`, :class:`SegmentationConfig`, :class:`TimeSeriesDataConfig`.

Keyword names, defaults, validation and the emitted JSON keys (and their order) follow the SageMaker
Python SDK v3 (``sagemaker.core.clarify``), see ``docs/configs.md``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from airflow_provider_clarify.analysis import constants as C
from airflow_provider_clarify.analysis.configs._base import ClarifyConfig, is_member, one_of, put
from airflow_provider_clarify.analysis.errors import ClarifyConfigError, short_repr


class TimeSeriesJSONDatasetFormat(enum.Enum):
    """Layout of a JSON time-series dataset (``time_series_data_config.dataset_format``)."""

    COLUMNS = "columns"
    ITEM_RECORDS = "item_records"
    TIMESTAMP_RECORDS = "timestamp_records"


@dataclass(eq=True, repr=True)
class SegmentationConfig(ClarifyConfig):
    """Segments of one column on which metrics are computed separately (``segment_config[*]``).

    :param name_or_index: column name or 0-based index the segments are defined on.
    :param segments: list of lists; N inner lists give N+1 segments (the extra one is
        ``__default__``). Numeric columns use interval strings such as ``"[1, 4]"``.
    :param config_name: optional label of this segmentation.
    :param display_aliases: optional names, one per segment (optionally + 1 for the default segment).
    """

    name_or_index: str | int
    segments: list[list[str | int]]
    config_name: str | None = None
    display_aliases: list[str] | None = None

    template_fields: ClassVar[tuple[str, ...]] = ("name_or_index", "config_name", "display_aliases")

    def _check(self, strict: bool) -> None:
        if self.name_or_index is None:
            raise ClarifyConfigError.invalid(
                "name_or_index", None, "a column name or index", "`name_or_index` cannot be None."
            )
        segments = self.segments
        if not segments or not isinstance(segments, list) or not all(isinstance(s, list) for s in segments):
            raise ClarifyConfigError.invalid(
                "segments",
                segments,
                "a non-empty list of lists",
                '`segments` must be a list of lists of values or intervals, e.g. [["[1, 4]", "(5, 6]"], ["(7, 9)"]].',
            )
        aliases = self.display_aliases
        if aliases is not None and self._ready(strict, "display_aliases"):
            try:
                count = len(aliases)
            except TypeError:
                count = -1
            if count not in (len(segments), len(segments) + 1):
                raise ClarifyConfigError.invalid(
                    "display_aliases",
                    aliases,
                    f"a list of {len(segments)} or {len(segments) + 1} names",
                    "Number of `display_aliases` must equal the number of segments specified "
                    f"({len(segments)}) or with one additional default segment display alias "
                    f"({len(segments) + 1}).",
                )

    def _build(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name_or_index": self.name_or_index, "segments": self.segments}
        if self.config_name:
            out["config_name"] = self.config_name
        if self.display_aliases:
            out["display_aliases"] = self.display_aliases
        return out


@dataclass(eq=True, repr=True)
class TimeSeriesDataConfig(ClarifyConfig):
    """Locators of a JSON time-series dataset (``time_series_data_config``).

    Either every locator is a JMESPath string (then ``dataset_format`` is required) or every locator
    is an int index (then ``dataset_format`` must be omitted).

    :param target_time_series: JMESPath or index of the target series.
    :param item_id: JMESPath or index of the item id (same type as ``target_time_series``).
    :param timestamp: JMESPath or index of the timestamp (same type).
    :param related_time_series: optional list of locators of related series (same type).
    :param static_covariates: optional list of locators of static covariates (same type).
    :param dataset_format: a :class:`TimeSeriesJSONDatasetFormat` (string locators only).
    """

    target_time_series: str | int
    item_id: str | int
    timestamp: str | int
    related_time_series: list[str] | list[int] | None = None
    static_covariates: list[str] | list[int] | None = None
    dataset_format: TimeSeriesJSONDatasetFormat | None = None

    def _check(self, strict: bool) -> None:
        for name, what in (
            ("target_time_series", "a target time series"),
            ("item_id", "an item id"),
            ("timestamp", "a timestamp"),
        ):
            if not getattr(self, name):
                raise ClarifyConfigError.invalid(
                    name,
                    getattr(self, name),
                    "a non-empty JMESPath string or a non-zero int index",
                    f"Please provide {what} (a non-empty JMESPath string, or an int index; the SDK "
                    "also refuses index 0).",
                )
        if not isinstance(self.target_time_series, str | int):
            raise ClarifyConfigError.invalid(
                "target_time_series",
                self.target_time_series,
                "a string or an int",
                "Please provide a string or an int for ``target_time_series``.",
            )
        kind = type(self.target_time_series)
        for name in ("item_id", "timestamp"):
            if not isinstance(getattr(self, name), kind):
                raise ClarifyConfigError.invalid(
                    name,
                    getattr(self, name),
                    f"a {kind.__name__} (like target_time_series)",
                    f"Please provide {kind.__name__} for ``{name}`` (the same type as target_time_series).",
                )
        for name in ("related_time_series", "static_covariates"):
            values = getattr(self, name)
            if not values:
                continue
            if not isinstance(values, list) or not all(isinstance(v, kind) for v in values):
                raise ClarifyConfigError.invalid(
                    name,
                    values,
                    f"a list of {kind.__name__}",
                    f"Please provide a list of {kind.__name__} for ``{name}``.",
                )
            if kind is str and not all(values):
                raise ClarifyConfigError.invalid(
                    name, values, "non-empty strings", f"Please do not provide empty strings in ``{name}``."
                )
        if kind is str:
            if not isinstance(self.dataset_format, TimeSeriesJSONDatasetFormat):
                raise ClarifyConfigError.invalid(
                    "dataset_format",
                    self.dataset_format,
                    "TimeSeriesJSONDatasetFormat.COLUMNS, .ITEM_RECORDS or .TIMESTAMP_RECORDS",
                    "Please provide a valid dataset format: a TimeSeriesJSONDatasetFormat member "
                    "(COLUMNS, ITEM_RECORDS or TIMESTAMP_RECORDS).",
                )
        elif self.dataset_format:
            raise ClarifyConfigError.invalid(
                "dataset_format",
                self.dataset_format,
                "None with int locators",
                "Dataset format should only be provided when data files are JSONs (string locators).",
            )

    def _build(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        put(out, "target_time_series", self.target_time_series)
        put(out, "item_id", self.item_id)
        put(out, "timestamp", self.timestamp)
        if self.related_time_series:
            out["related_time_series"] = self.related_time_series
        if self.static_covariates:
            out["static_covariates"] = self.static_covariates
        if isinstance(self.target_time_series, str) and isinstance(
            self.dataset_format, TimeSeriesJSONDatasetFormat
        ):
            out["dataset_format"] = self.dataset_format.value
        return out

    def get_time_series_data_config(self) -> dict[str, Any]:
        """SDK-compatible alias of :meth:`to_dict`."""
        return self.to_dict()


def _unsupported(params: str, dataset_type: Any) -> str:
    return (
        f"The {params} not supported for dataset_type {short_repr(dataset_type)}. "
        "Please check the API documentation for the supported dataset types."
    )


@dataclass(eq=True, repr=True)
class DataConfig(ClarifyConfig):
    """Input dataset and output location of a Clarify analysis (SDK ``DataConfig``).

    :param s3_data_input_path: dataset S3 prefix or object URI (the processing input ``dataset``).
    :param s3_output_path: S3 prefix for the results (output ``analysis_result``).
    :param s3_analysis_config_output_path: where ``analysis_config.json`` is uploaded; default
        ``s3_output_path``.
    :param label: target column (CSV name/index; JMESPath for JSON Lines / JSON).
    :param headers: column names of the dataset.
    :param features: JMESPath locating the features (JSON Lines, JSON).
    :param dataset_type: ``text/csv`` (default), ``application/jsonlines``, ``application/json``,
        ``application/x-parquet`` or ``application/x-image`` (case-sensitive, as in the SDK).
    :param s3_compression_type: ``"None"`` (default) or ``"Gzip"``.
    :param joinsource: identifier column used to join datasets (``joinsource_name_or_index``).
    :param facet_dataset_uri: separate dataset with the facet columns (CSV only).
    :param facet_headers: column names of that dataset.
    :param predicted_label_dataset_uri: separate dataset with predictions (CSV only).
    :param predicted_label_headers: column names of that dataset.
    :param predicted_label: column holding existing predictions (no model call for post-training bias).
    :param excluded_columns: columns not sent to the model (list of names or indices).
    :param segmentation_config: list of :class:`SegmentationConfig`.
    :param time_series_data_config: :class:`TimeSeriesDataConfig` (``application/json`` only).
    """

    s3_data_input_path: str
    s3_output_path: str
    s3_analysis_config_output_path: str | None = None
    label: str | int | None = None
    headers: list[str] | None = None
    features: str | None = None
    dataset_type: str = C.CSV
    s3_compression_type: str = "None"
    joinsource: str | int | None = None
    facet_dataset_uri: str | None = None
    facet_headers: list[str] | None = None
    predicted_label_dataset_uri: str | None = None
    predicted_label_headers: list[str] | None = None
    predicted_label: str | int | None = None
    excluded_columns: list[int] | list[str] | None = None
    segmentation_config: list[SegmentationConfig] | None = None
    time_series_data_config: TimeSeriesDataConfig | None = None

    template_fields: ClassVar[tuple[str, ...]] = (
        "s3_data_input_path",
        "s3_output_path",
        "s3_analysis_config_output_path",
        "label",
        "headers",
        "features",
        "joinsource",
        "facet_dataset_uri",
        "facet_headers",
        "predicted_label_dataset_uri",
        "predicted_label_headers",
        "predicted_label",
        "excluded_columns",
        "segmentation_config",
        "time_series_data_config",
    )
    #: Always ``FullyReplicated`` for Clarify (as in the SDK).
    s3_data_distribution_type: ClassVar[str] = "FullyReplicated"

    @property
    def segmentation_configs(self) -> list[SegmentationConfig] | None:
        """SDK attribute name of ``segmentation_config``."""
        return self.segmentation_config

    def _check(self, strict: bool) -> None:
        self._check_paths()
        dataset_type = self.dataset_type
        if not is_member(dataset_type, C.DATA_CONFIG_DATASET_TYPES):
            raise ClarifyConfigError.invalid(
                "dataset_type", dataset_type, one_of(C.DATA_CONFIG_DATASET_TYPES) + " (case-sensitive)"
            )
        if dataset_type not in C.TABULAR_DATASET_TYPES:
            if self.predicted_label and self._ready(strict, "predicted_label"):
                raise ClarifyConfigError(
                    _unsupported("parameter 'predicted_label' is", dataset_type),
                    field="predicted_label",
                    value=self.predicted_label,
                    accepted="tabular dataset types",
                )
            if self.excluded_columns and self._ready(strict, "excluded_columns"):
                raise ClarifyConfigError(
                    _unsupported("parameter 'excluded_columns' is", dataset_type),
                    field="excluded_columns",
                    value=self.excluded_columns,
                    accepted="tabular dataset types",
                )
        if dataset_type != C.CSV:
            if self.facet_dataset_uri or self.facet_headers:
                raise ClarifyConfigError(
                    _unsupported("parameters 'facet_dataset_uri' and 'facet_headers' are", dataset_type),
                    field="facet_dataset_uri",
                    value=self.facet_dataset_uri,
                    accepted="dataset_type 'text/csv'",
                )
            if self.predicted_label_dataset_uri or self.predicted_label_headers:
                raise ClarifyConfigError(
                    _unsupported(
                        "parameters 'predicted_label_dataset_uri' and 'predicted_label_headers' are",
                        dataset_type,
                    ),
                    field="predicted_label_dataset_uri",
                    value=self.predicted_label_dataset_uri,
                    accepted="dataset_type 'text/csv'",
                )
        if self.time_series_data_config and dataset_type != C.JSON:
            raise ClarifyConfigError(
                "Currently time series explainability only supports JSON format data: "
                f"time_series_data_config needs dataset_type 'application/json', got {short_repr(dataset_type)}.",
                field="dataset_type",
                value=dataset_type,
                accepted="'application/json'",
            )
        if dataset_type == C.JSON and self.features is None and not self.time_series_data_config:
            raise ClarifyConfigError(
                "features JMESPath is required for application/json dataset_type "
                "(e.g. features='[*].features').",
                field="features",
                value=None,
                accepted="a JMESPath string",
            )
        if not is_member(self.s3_compression_type, C.S3_COMPRESSION_TYPES):
            raise ClarifyConfigError.invalid(
                "s3_compression_type", self.s3_compression_type, one_of(C.S3_COMPRESSION_TYPES)
            )
        self._check_nested(strict)

    def _check_paths(self) -> None:
        for name in ("s3_data_input_path", "s3_output_path"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ClarifyConfigError.invalid(
                    name, value, "a non-empty URI string such as 's3://bucket/prefix'"
                )
        value = self.s3_analysis_config_output_path
        if value is not None and not isinstance(value, str):
            raise ClarifyConfigError.invalid(
                "s3_analysis_config_output_path", value, "None or a URI string such as 's3://bucket/prefix'"
            )

    def _check_nested(self, strict: bool) -> None:
        segments = self.segmentation_config
        if segments and self._ready(strict, "segmentation_config"):
            if not isinstance(segments, list | tuple) or not all(
                isinstance(item, SegmentationConfig) for item in segments
            ):
                raise ClarifyConfigError.invalid(
                    "segmentation_config",
                    segments,
                    "a list of SegmentationConfig objects",
                    "Expected a list of SegmentationConfig objects (wrap a single one in a list).",
                )
            for item in segments:
                item._check(strict)
        series = self.time_series_data_config
        if series and self._ready(strict, "time_series_data_config"):
            if not isinstance(series, TimeSeriesDataConfig):
                raise ClarifyConfigError.invalid(
                    "time_series_data_config",
                    series,
                    "a TimeSeriesDataConfig",
                    f"Expected a TimeSeriesDataConfig, got {type(series).__name__}.",
                )
            series._check(strict)

    def _build(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dataset_type": self.dataset_type}
        put(out, "features", self.features)
        put(out, "headers", self.headers)
        put(out, "label", self.label)
        put(out, "joinsource_name_or_index", self.joinsource)
        put(out, "facet_dataset_uri", self.facet_dataset_uri)
        put(out, "facet_headers", self.facet_headers)
        put(out, "predicted_label_dataset_uri", self.predicted_label_dataset_uri)
        put(out, "predicted_label_headers", self.predicted_label_headers)
        put(out, "predicted_label", self.predicted_label)
        put(out, "excluded_columns", self.excluded_columns)
        segments = self.segmentation_config
        if segments and isinstance(segments, Sequence) and not isinstance(segments, str):
            out["segment_config"] = [item._build() for item in segments]
        series = self.time_series_data_config
        if series and isinstance(series, TimeSeriesDataConfig):
            out["time_series_data_config"] = series._build()
        return out

    def get_config(self) -> dict[str, Any]:
        """SDK-compatible alias of :meth:`to_dict`."""
        return self.to_dict()
