"""Explainability configs: :class:`SHAPConfig`, :class:`PDPConfig`, :class:`TextConfig`,
:class:`ImageConfig`, :class:`AsymmetricShapleyValueConfig` (``docs/configs.md#the-classes``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from airflow_provider_clarify.analysis import constants as C
from airflow_provider_clarify.analysis.configs._base import ClarifyConfig, is_member, one_of, put
from airflow_provider_clarify.analysis.errors import ClarifyConfigError, short_repr

log = logging.getLogger(__name__)


class ExplainabilityConfig(ClarifyConfig):
    """Base of the configs that add an entry to ``methods`` (``shap``, ``pdp``,
    ``asymmetric_shapley_value``); their :meth:`to_dict` returns ``{method_key: {...}}``."""

    #: The ``methods`` key this config writes.
    method_key: ClassVar[str] = ""

    def get_explainability_config(self) -> dict[str, Any]:
        """SDK-compatible alias of :meth:`to_dict`."""
        return self.to_dict()


@dataclass(eq=True, repr=True)
class PDPConfig(ExplainabilityConfig):
    """Partial dependence plots (``methods.pdp``).

    :param features: feature names/indices to plot; required unless SHAP runs too (then the top
        ``top_k_features`` by SHAP are used).
    :param grid_resolution: buckets for numeric features (default 15, always written).
    :param top_k_features: how many top-SHAP features to plot (default 10, always written).
    """

    features: list[str | int] | None = None
    grid_resolution: int = 15
    top_k_features: int = 10

    template_fields: ClassVar[tuple[str, ...]] = ("features",)
    method_key: ClassVar[str] = "pdp"

    def _build(self) -> dict[str, Any]:
        pdp: dict[str, Any] = {"grid_resolution": self.grid_resolution, "top_k_features": self.top_k_features}
        put(pdp, "features", self.features)
        return {"pdp": pdp}


@dataclass(eq=True, repr=True)
class TextConfig(ClarifyConfig):
    """Text features for NLP explainability (``methods.shap.text_config``).

    :param granularity: ``token``, ``sentence`` or ``paragraph`` (case-sensitive).
    :param language: a language name or ISO code, e.g. ``english`` / ``en``, ``multi-language`` /
        ``xx`` (case-sensitive; full list in docs/configs.md).
    """

    granularity: str
    language: str

    def _check(self, strict: bool) -> None:
        if not is_member(self.granularity, C.TEXT_GRANULARITIES):
            raise ClarifyConfigError.invalid(
                "granularity",
                self.granularity,
                one_of(C.TEXT_GRANULARITIES),
                f"Please choose among {list(C.TEXT_GRANULARITIES)}.",
            )
        if not is_member(self.language, C.TEXT_LANGUAGES):
            raise ClarifyConfigError.invalid(
                "language",
                self.language,
                "a lower-case language name or ISO code",
                f"Please choose among {list(C.TEXT_LANGUAGES)}.",
            )

    def _build(self) -> dict[str, Any]:
        return {"granularity": self.granularity, "language": self.language}

    def get_text_config(self) -> dict[str, Any]:
        """SDK-compatible alias of :meth:`to_dict`."""
        return self.to_dict()


@dataclass(eq=True, repr=True)
class ImageConfig(ClarifyConfig):
    """Computer-vision explainability (``methods.shap.image_config``).

    Write ``segment_compactness`` as an int and ``iou_threshold`` / ``context`` as floats: the
    schema is strict about it (the SDK class is not).

    :param model_type: ``IMAGE_CLASSIFICATION`` or ``OBJECT_DETECTION``.
    :param num_segments: approximate SLIC superpixels per image (container default 20).
    :param feature_extraction_method: container default ``segmentation``.
    :param segment_compactness: SLIC compactness (container default 5).
    :param max_objects: OBJECT_DETECTION: top-N detections (default 3).
    :param iou_threshold: OBJECT_DETECTION: minimum IoU (default 0.5).
    :param context: OBJECT_DETECTION: share of the image outside the box kept (default 1.0).
    """

    model_type: str
    num_segments: int | None = None
    feature_extraction_method: str | None = None
    segment_compactness: float | None = None
    max_objects: int | None = None
    iou_threshold: float | None = None
    context: float | None = None

    def _check(self, strict: bool) -> None:
        if not is_member(self.model_type, C.IMAGE_MODEL_TYPES):
            raise ClarifyConfigError.invalid(
                "model_type",
                self.model_type,
                one_of(C.IMAGE_MODEL_TYPES),
                "Clarify SHAP only supports object detection and image classification methods. "
                "Please set model_type to OBJECT_DETECTION or IMAGE_CLASSIFICATION.",
            )

    def _build(self) -> dict[str, Any]:
        out: dict[str, Any] = {"model_type": self.model_type}
        put(out, "num_segments", self.num_segments)
        put(out, "feature_extraction_method", self.feature_extraction_method)
        put(out, "segment_compactness", self.segment_compactness)
        put(out, "max_objects", self.max_objects)
        put(out, "iou_threshold", self.iou_threshold)
        put(out, "context", self.context)
        return out

    def get_image_config(self) -> dict[str, Any]:
        """SDK-compatible alias of :meth:`to_dict`."""
        return self.to_dict()


@dataclass(eq=True, repr=True)
class SHAPConfig(ExplainabilityConfig):
    """Kernel SHAP (``methods.shap``).

    :param baseline: S3 URI of a baseline file, in-line rows (``[[35, 0, 4000, 1]]``), or an object;
        ``None`` lets the container cluster the dataset.
    :param num_samples: synthetic samples per record.
    :param agg_method: ``mean_abs``, ``median`` or ``mean_sq``.
    :param use_logit: apply logit to predictions (always written; default ``False``).
    :param save_local_shap_values: write per-record values (always written; default ``True``).
    :param seed: seed for deterministic results.
    :param num_clusters: size of the computed baseline (not with ``baseline``).
    :param text_config: :class:`TextConfig` for text features.
    :param image_config: :class:`ImageConfig` for images.
    :param features_to_explain: subset of features (tabular only).
    """

    baseline: str | list | dict | None = None
    num_samples: int | None = None
    agg_method: str | None = None
    use_logit: bool = False
    save_local_shap_values: bool = True
    seed: int | None = None
    num_clusters: int | None = None
    text_config: TextConfig | None = None
    image_config: ImageConfig | None = None
    features_to_explain: list[str | int] | None = None

    template_fields: ClassVar[tuple[str, ...]] = ("baseline", "features_to_explain")
    method_key: ClassVar[str] = "shap"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.text_config and not self.save_local_shap_values:
            log.warning(
                "Global aggregation is not yet supported for text features. "
                "Consider setting save_local_shap_values=True to inspect local text explanations."
            )

    def _check(self, strict: bool) -> None:
        if self.agg_method is not None and not is_member(self.agg_method, C.AGG_METHODS):
            raise ClarifyConfigError.invalid(
                "agg_method",
                self.agg_method,
                one_of(C.AGG_METHODS),
                "Please choose mean_abs, median, or mean_sq.",
            )
        if self.num_clusters is not None and self.baseline is not None:
            raise ClarifyConfigError(
                "Baseline and num_clusters cannot be provided together. Please specify one of the two "
                f"(got baseline={short_repr(self.baseline)}, num_clusters={short_repr(self.num_clusters)}).",
                field="num_clusters",
                value=self.num_clusters,
                accepted="None when baseline is given",
            )
        for name, cls in (("text_config", TextConfig), ("image_config", ImageConfig)):
            nested = getattr(self, name)
            if nested and not isinstance(nested, cls):
                raise ClarifyConfigError.invalid(
                    name,
                    nested,
                    f"a {cls.__name__}",
                    f"Expected a {cls.__name__}, got {type(nested).__name__}.",
                )
            if nested:
                nested._check(strict)
        if self.features_to_explain is not None and (
            self.text_config is not None or self.image_config is not None
        ):
            raise ClarifyConfigError.invalid(
                "features_to_explain",
                self.features_to_explain,
                "None with text_config or image_config",
                "`features_to_explain` is not supported for datasets containing text features or images.",
            )

    def _build(self) -> dict[str, Any]:
        shap: dict[str, Any] = {
            "use_logit": self.use_logit,
            "save_local_shap_values": self.save_local_shap_values,
        }
        put(shap, "baseline", self.baseline)
        put(shap, "num_samples", self.num_samples)
        put(shap, "agg_method", self.agg_method)
        put(shap, "seed", self.seed)
        put(shap, "num_clusters", self.num_clusters)
        if self.text_config:
            shap["text_config"] = self.text_config._build()
        if self.image_config:
            shap["image_config"] = self.image_config._build()
        put(shap, "features_to_explain", self.features_to_explain)
        return {"shap": shap}


@dataclass(eq=True, repr=True)
class AsymmetricShapleyValueConfig(ExplainabilityConfig):
    """Asymmetric Shapley values for time-series explainability (``methods.asymmetric_shapley_value``).

    :param direction: ``chronological`` (default), ``anti_chronological`` or ``bidirectional``.
    :param granularity: ``timewise`` (default) or ``fine_grained`` (chronological only; needs
        ``num_samples``).
    :param num_samples: int, only for ``fine_grained``.
    :param baseline: S3 URI, or ``{"target_time_series": "zero"|"mean", "related_time_series":
        "zero"|"mean", "static_covariates": {item_id: [one value per covariate]}}``.
    """

    direction: str = "chronological"
    granularity: str = "timewise"
    num_samples: int | None = None
    baseline: str | dict[str, Any] | None = None

    template_fields: ClassVar[tuple[str, ...]] = ("baseline",)
    method_key: ClassVar[str] = "asymmetric_shapley_value"

    def _check(self, strict: bool) -> None:
        if not is_member(self.direction, C.ASV_DIRECTIONS):
            raise ClarifyConfigError.invalid(
                "direction",
                self.direction,
                one_of(C.ASV_DIRECTIONS),
                "Please provide a valid explanation direction from: " + ", ".join(C.ASV_DIRECTIONS),
            )
        if not is_member(self.granularity, C.ASV_GRANULARITIES):
            raise ClarifyConfigError.invalid(
                "granularity",
                self.granularity,
                one_of(C.ASV_GRANULARITIES),
                "Please provide a valid granularity from: " + ", ".join(C.ASV_GRANULARITIES),
            )
        if self.granularity == "fine_grained":
            if not isinstance(self.num_samples, int):
                raise ClarifyConfigError.invalid(
                    "num_samples",
                    self.num_samples,
                    "an int",
                    "Please provide an integer for ``num_samples``.",
                )
            if self.direction != "chronological":
                raise ClarifyConfigError.invalid(
                    "direction",
                    self.direction,
                    "'chronological' with fine_grained granularity",
                    f"{self.direction} and {self.granularity} granularity are not supported together.",
                )
        elif self.num_samples:
            raise ClarifyConfigError.invalid(
                "num_samples",
                self.num_samples,
                "None unless granularity='fine_grained'",
                "``num_samples`` is only used for fine-grained explanations.",
            )
        baseline = self.baseline
        if isinstance(baseline, dict):
            for key in ("target_time_series", "related_time_series"):
                if key in baseline and not is_member(baseline[key], C.ASV_TEMPORAL_BASELINES):
                    raise ClarifyConfigError.invalid(
                        f"baseline.{key}",
                        baseline[key],
                        one_of(C.ASV_TEMPORAL_BASELINES),
                        f"Provided value {short_repr(baseline[key])} for ``{key}`` is invalid. "
                        f"Please select one of {list(C.ASV_TEMPORAL_BASELINES)}.",
                    )

    def _build(self) -> dict[str, Any]:
        asv: dict[str, Any] = {}
        put(asv, "direction", self.direction)
        put(asv, "granularity", self.granularity)
        put(asv, "num_samples", self.num_samples)
        put(asv, "baseline", self.baseline)
        return {"asymmetric_shapley_value": asv}
