"""Online explainability configs: the ``ExplainerConfig`` of ``CreateEndpointConfig`` (docs/online-explainability.md).

:class:`ExplainerConfig`, :class:`ClarifyExplainerConfig`, :class:`ClarifyShapConfig`,
:class:`ClarifyShapBaselineConfig`, :class:`ClarifyInferenceConfig` and :class:`ClarifyTextConfig` take
the SageMaker Python SDK's keyword names and defaults (``sagemaker.explainer``), and
:meth:`~ExplainerConfigBase.to_request_dict` returns exactly what the SDK's ``_to_request_dict()``
returns, key order included (tests/data/explainer holds the SDK's own output for generated scenarios).

Unlike the SDK, they check what the ``CreateEndpointConfig`` API would reject only when the endpoint
is created (or what the explainer would reject at invoke time): the 4,096-character in-line baseline,
exactly one of ``shap_baseline`` / ``shap_baseline_uri``, MIME types, granularity and the 60 language
codes of this API, index and count ranges, ``feature_types`` without a ``text``, the JMESPath syntax of
every expression (``enable_explanations`` included) and a ``content_template`` that lacks
``$features`` or is used with CSV. :meth:`ExplainerConfig.from_request_dict` reads a request dict back
(and validates it), which is how the open explainer server is configured.

Fields listed in ``template_fields`` may hold Jinja; checks reading them wait until Airflow rendered
them (see :mod:`airflow_provider_clarify.analysis.configs._base`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from airflow_provider_clarify.analysis.configs._base import ClarifyConfig, contains_template, one_of
from airflow_provider_clarify.analysis.errors import ClarifyConfigError, short_repr

CSV = "text/csv"
JSONLINES = "application/jsonlines"
#: ``ClarifyShapBaselineConfig.MimeType`` (and the request/response types of InvokeEndpoint).
MIME_TYPES: tuple[str, ...] = (CSV, JSONLINES)
#: ``ClarifyTextConfig.Granularity``.
GRANULARITIES: tuple[str, ...] = ("token", "sentence", "paragraph")
#: ``ClarifyTextConfig.Language``: the 60 codes of the online-explainability API (no ja/th/vi, unlike
#: the processing job's text_config).
LANGUAGES: tuple[str, ...] = tuple(
    "af sq ar hy eu bn bg ca zh hr cs da nl en et fi fr de el gu he hi hu is id ga it kn ky lv lt lb mk "
    "ml mr ne nb fa pl pt ro ru sa sr tn si sk sl es sv tl ta tt te tr uk ur yo lij xx".split()
)
#: ``ClarifyInferenceConfig.FeatureTypes`` members.
FEATURE_TYPES: tuple[str, ...] = ("numerical", "categorical", "text")
#: Largest in-line ``ShapBaseline`` the API accepts (characters).
MAX_INLINE_BASELINE = 4096
MAX_BASELINE_URI = 1024
MAX_EXPRESSION = 64  # EnableExplanations, *Attribute, ContentTemplate, each header
MAX_PAYLOAD_MB = 25
MAX_LABEL_HEADERS = 16
MAX_FEATURES = 256
FEATURES_PLACEHOLDER = "$features"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_jmespath(field: str, expression: Any) -> None:
    """Raise :class:`ClarifyConfigError` unless ``expression`` is a 1-64 character JMESPath expression."""
    if not isinstance(expression, str) or not 1 <= len(expression) <= MAX_EXPRESSION:
        raise ClarifyConfigError.invalid(
            field, expression, f"a JMESPath expression of 1-{MAX_EXPRESSION} characters"
        )
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        jmespath.compile(expression)
    except JMESPathError as err:
        detail = " ".join(str(err).split())
        raise ClarifyConfigError.invalid(
            field,
            expression,
            "valid JMESPath",
            f"It is not valid JMESPath ({detail}). Literals need back-ticks, e.g. `true` or "
            "probability>`0.5`.",
        ) from None


class ExplainerConfigBase(ClarifyConfig):
    """Base of the online-explainability configs: SDK-named ``to_request_dict`` plus ``from_request_dict``."""

    def to_request_dict(self) -> dict[str, Any]:
        """The API fragment (PascalCase keys), equal to the SDK's ``_to_request_dict()``; validates first."""
        return self.to_dict()

    def _to_request_dict(self) -> dict[str, Any]:
        """SDK-compatible alias of :meth:`to_request_dict`."""
        return self.to_request_dict()


@dataclass(eq=True, repr=True)
class ClarifyTextConfig(ExplainerConfigBase):
    """NLP explainability: how text features are cut into SHAP players.

    :param language: one of the 60 ISO codes of the API (:data:`LANGUAGES`, e.g. ``en``, ``xx``).
    :param granularity: ``token``, ``sentence`` or ``paragraph``.
    """

    language: str
    granularity: str

    template_fields: ClassVar[tuple[str, ...]] = ("language", "granularity")

    def _check(self, strict: bool) -> None:
        if self._ready(strict, "language") and self.language not in LANGUAGES:
            raise ClarifyConfigError.invalid(
                "language",
                self.language,
                "an ISO code of the online-explainability API",
                f"Accepted codes: {' '.join(LANGUAGES)} (the online explainer has no ja, th or vi).",
            )
        if self._ready(strict, "granularity") and self.granularity not in GRANULARITIES:
            raise ClarifyConfigError.invalid("granularity", self.granularity, one_of(GRANULARITIES))

    def _build(self) -> dict[str, Any]:
        return {"Language": self.language, "Granularity": self.granularity}

    @classmethod
    def from_request_dict(cls, data: dict[str, Any]) -> ClarifyTextConfig:
        _known(data, ("Language", "Granularity"), "TextConfig")
        return cls(language=data.get("Language"), granularity=data.get("Granularity"))


@dataclass(eq=True, repr=True)
class ClarifyShapBaselineConfig(ExplainerConfigBase):
    """The SHAP baseline: in-line records (at most 4,096 characters) or an S3/HTTPS URI of a file.

    :param mime_type: ``text/csv`` (default) or ``application/jsonlines``; also the format of the
        records the explainer sends to the model.
    :param shap_baseline: in-line baseline records in the model-input format, features only (build it
        with :func:`airflow_provider_clarify.analysis.online.baseline.inline_baseline`).
    :param shap_baseline_uri: ``s3://`` or ``https://`` URI of a baseline file (use it above 4 KB).
    """

    mime_type: str | None = CSV
    shap_baseline: str | None = None
    shap_baseline_uri: str | None = None

    template_fields: ClassVar[tuple[str, ...]] = ("shap_baseline", "shap_baseline_uri")

    def _check(self, strict: bool) -> None:
        if self.mime_type not in MIME_TYPES:
            raise ClarifyConfigError.invalid("mime_type", self.mime_type, one_of(MIME_TYPES))
        if (self.shap_baseline is None) == (self.shap_baseline_uri is None):
            raise ClarifyConfigError(
                "Give exactly one of shap_baseline (in-line records, at most 4,096 characters) and "
                f"shap_baseline_uri (an s3:// or https:// file); got shap_baseline="
                f"{short_repr(self.shap_baseline)}, shap_baseline_uri={short_repr(self.shap_baseline_uri)}.",
                field="shap_baseline",
                value=self.shap_baseline,
                accepted="exactly one of shap_baseline / shap_baseline_uri",
            )
        if self.shap_baseline is not None and self._ready(strict, "shap_baseline"):
            self._check_inline(self.shap_baseline)
        if self.shap_baseline_uri is not None and self._ready(strict, "shap_baseline_uri"):
            uri = self.shap_baseline_uri
            if (
                not isinstance(uri, str)
                or not uri.startswith(("s3://", "https://"))
                or len(uri) > MAX_BASELINE_URI
            ):
                raise ClarifyConfigError.invalid(
                    "shap_baseline_uri",
                    uri,
                    f"an s3:// or https:// URI of at most {MAX_BASELINE_URI} characters",
                )

    @staticmethod
    def _check_inline(baseline: Any) -> None:
        if not isinstance(baseline, str) or not baseline.strip():
            raise ClarifyConfigError.invalid(
                "shap_baseline", baseline, "a non-empty string of baseline records (CSV or JSON Lines)"
            )
        if len(baseline) > MAX_INLINE_BASELINE:
            raise ClarifyConfigError(
                f"shap_baseline has {len(baseline):,} characters; the API accepts at most "
                f"{MAX_INLINE_BASELINE:,} in-line. Upload the baseline file and pass shap_baseline_uri, "
                "or summarise it with analysis.online.baseline.summarize_baseline(...) to fit.",
                field="shap_baseline",
                value=short_repr(baseline),
                accepted=f"at most {MAX_INLINE_BASELINE} characters",
            )

    def _build(self) -> dict[str, Any]:
        out: dict[str, Any] = {"MimeType": self.mime_type}
        if self.shap_baseline is not None:
            out["ShapBaseline"] = self.shap_baseline
        if self.shap_baseline_uri is not None:
            out["ShapBaselineUri"] = self.shap_baseline_uri
        return out

    @classmethod
    def from_request_dict(cls, data: dict[str, Any]) -> ClarifyShapBaselineConfig:
        _known(data, ("MimeType", "ShapBaseline", "ShapBaselineUri"), "ShapBaselineConfig")
        return cls(
            mime_type=data.get("MimeType", CSV),
            shap_baseline=data.get("ShapBaseline"),
            shap_baseline_uri=data.get("ShapBaselineUri"),
        )


@dataclass(eq=True, repr=True)
class ClarifyShapConfig(ExplainerConfigBase):
    """Kernel SHAP settings of the online explainer.

    :param shap_baseline_config: the :class:`ClarifyShapBaselineConfig`.
    :param number_of_samples: coalitions per explained record (default ``min(2M + 2048, 2^M - 2)``).
    :param seed: seed of the coalition sampling (deterministic explanations).
    :param use_logit: explain the log-odds of the score (always written; default ``False``).
    :param text_config: a :class:`ClarifyTextConfig` for NLP explainability.
    """

    shap_baseline_config: ClarifyShapBaselineConfig
    number_of_samples: int | None = None
    seed: int | None = None
    use_logit: bool | None = False
    text_config: ClarifyTextConfig | None = None

    template_fields: ClassVar[tuple[str, ...]] = ("shap_baseline_config", "text_config")

    def _check(self, strict: bool) -> None:
        if not isinstance(self.shap_baseline_config, ClarifyShapBaselineConfig):
            raise ClarifyConfigError.invalid(
                "shap_baseline_config", self.shap_baseline_config, "a ClarifyShapBaselineConfig"
            )
        if self.number_of_samples is not None and (
            not _is_int(self.number_of_samples) or self.number_of_samples < 1
        ):
            raise ClarifyConfigError.invalid("number_of_samples", self.number_of_samples, "an integer >= 1")
        if self.seed is not None and not _is_int(self.seed):
            raise ClarifyConfigError.invalid("seed", self.seed, "an integer")
        if self.use_logit is not None and not isinstance(self.use_logit, bool):
            raise ClarifyConfigError.invalid("use_logit", self.use_logit, "True or False")
        if self.text_config is not None and not isinstance(self.text_config, ClarifyTextConfig):
            raise ClarifyConfigError.invalid("text_config", self.text_config, "a ClarifyTextConfig")
        if strict:
            self.shap_baseline_config.validate()
            if self.text_config is not None:
                self.text_config.validate()

    def _build(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ShapBaselineConfig": self.shap_baseline_config._build(),
            "UseLogit": self.use_logit,
        }
        if self.number_of_samples is not None:
            out["NumberOfSamples"] = self.number_of_samples
        if self.seed is not None:
            out["Seed"] = self.seed
        if self.text_config is not None:
            out["TextConfig"] = self.text_config._build()
        return out

    @classmethod
    def from_request_dict(cls, data: dict[str, Any]) -> ClarifyShapConfig:
        _known(
            data, ("ShapBaselineConfig", "NumberOfSamples", "Seed", "UseLogit", "TextConfig"), "ShapConfig"
        )
        if not isinstance(data.get("ShapBaselineConfig"), dict):
            raise ClarifyConfigError.invalid(
                "ShapConfig.ShapBaselineConfig", data.get("ShapBaselineConfig"), "an object (required)"
            )
        text = data.get("TextConfig")
        return cls(
            shap_baseline_config=ClarifyShapBaselineConfig.from_request_dict(data["ShapBaselineConfig"]),
            number_of_samples=data.get("NumberOfSamples"),
            seed=data.get("Seed"),
            use_logit=data.get("UseLogit", False),
            text_config=ClarifyTextConfig.from_request_dict(text) if text is not None else None,
        )


_INFERENCE_KEYS = {
    "feature_headers": "FeatureHeaders",
    "feature_types": "FeatureTypes",
    "features_attribute": "FeaturesAttribute",
    "probability_index": "ProbabilityIndex",
    "probability_attribute": "ProbabilityAttribute",
    "label_index": "LabelIndex",
    "label_attribute": "LabelAttribute",
    "label_headers": "LabelHeaders",
    "max_payload_in_mb": "MaxPayloadInMB",
    "max_record_count": "MaxRecordCount",
    "content_template": "ContentTemplate",
}


@dataclass(eq=True, repr=True)
class ClarifyInferenceConfig(ExplainerConfigBase):
    """How the explainer talks to the model container.

    :param feature_headers: feature names, echoed in the explanations (1-256 names of 1-64 chars).
    :param feature_types: ``numerical`` / ``categorical`` / ``text`` per feature (NLP only: must hold
        at least one ``text``).
    :param features_attribute: JMESPath to the features of a JSON Lines request record.
    :param probability_index: CSV model output: column of the score(s).
    :param probability_attribute: JSON Lines model output: JMESPath to the score(s).
    :param label_index: CSV model output: column of the label header(s).
    :param label_attribute: JSON Lines model output: JMESPath to the label headers.
    :param label_headers: class names (1-16).
    :param max_payload_in_mb: largest explainer-to-model request, 1-25 MB (default 6, always written).
    :param max_record_count: records per explainer-to-model request (absent: tuned at run time).
    :param content_template: JSON Lines only: a record template with ``$features``.
    """

    feature_headers: list[str] | None = None
    feature_types: list[str] | None = None
    features_attribute: str | None = None
    probability_index: int | None = None
    probability_attribute: str | None = None
    label_index: int | None = None
    label_attribute: str | None = None
    label_headers: list[str] | None = None
    max_payload_in_mb: int | None = 6
    max_record_count: int | None = None
    content_template: str | None = None

    template_fields: ClassVar[tuple[str, ...]] = (
        "feature_headers",
        "features_attribute",
        "probability_attribute",
        "label_attribute",
        "label_headers",
    )

    def _check(self, strict: bool) -> None:
        for name, low, high in (
            ("probability_index", 0, None),
            ("label_index", 0, None),
            ("max_record_count", 1, None),
            ("max_payload_in_mb", 1, MAX_PAYLOAD_MB),
        ):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < low or (high and value > high)):
                accepted = f"an integer from {low} to {high}" if high else f"an integer >= {low}"
                raise ClarifyConfigError.invalid(name, value, accepted)
        for name in ("features_attribute", "probability_attribute", "label_attribute"):
            value = getattr(self, name)
            if value is not None and self._ready(strict, name):
                check_jmespath(name, value)
        for name, limit in (("feature_headers", MAX_FEATURES), ("label_headers", MAX_LABEL_HEADERS)):
            value = getattr(self, name)
            if value is not None and self._ready(strict, name):
                self._check_names(name, value, limit)
        if self.feature_types is not None:
            self._check_types()
        if self.content_template is not None:
            template = self.content_template
            if not isinstance(template, str) or not 1 <= len(template) <= MAX_EXPRESSION:
                raise ClarifyConfigError.invalid(
                    "content_template", template, f"a string of 1-{MAX_EXPRESSION} characters"
                )
            if FEATURES_PLACEHOLDER not in template:
                raise ClarifyConfigError.invalid(
                    "content_template",
                    template,
                    "a template containing $features",
                    "It must contain the $features placeholder, e.g. '{\"features\":$features}'.",
                )

    @staticmethod
    def _check_names(name: str, value: Any, limit: int) -> None:
        allow_empty = name == "feature_headers"  # the SDK drops an empty list
        if not isinstance(value, list | tuple) or (not value and not allow_empty) or len(value) > limit:
            raise ClarifyConfigError.invalid(name, value, f"a list of 1-{limit} names")
        bad = [v for v in value if not isinstance(v, str) or not 1 <= len(v) <= MAX_EXPRESSION]
        if bad:
            raise ClarifyConfigError.invalid(
                name, value, f"names of 1-{MAX_EXPRESSION} characters", f"Bad entry: {short_repr(bad[0])}."
            )

    def _check_types(self) -> None:
        types = self.feature_types
        if not isinstance(types, list | tuple) or not 1 <= len(types) <= MAX_FEATURES:
            raise ClarifyConfigError.invalid("feature_types", types, f"a list of 1-{MAX_FEATURES} types")
        bad = [t for t in types if t not in FEATURE_TYPES]
        if bad:
            raise ClarifyConfigError.invalid(
                "feature_types", types, f"entries among {one_of(FEATURE_TYPES)}", f"Bad entry: {bad[0]!r}."
            )
        if "text" not in types:
            raise ClarifyConfigError.invalid(
                "feature_types",
                types,
                "a list with at least one 'text'",
                "feature_types is for NLP explainability only and must contain at least one 'text'; "
                "leave it out for tabular models.",
            )
        headers = self.feature_headers
        if headers and not contains_template(headers) and len(headers) != len(types):
            raise ClarifyConfigError.invalid(
                "feature_types",
                types,
                "one type per feature header",
                f"{len(types)} types for {len(headers)} feature_headers; give one type per feature.",
            )

    def _build(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for attr, key in _INFERENCE_KEYS.items():
            value = getattr(self, attr)
            if attr == "feature_headers" and not value:
                continue
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_request_dict(cls, data: dict[str, Any]) -> ClarifyInferenceConfig:
        _known(data, tuple(_INFERENCE_KEYS.values()), "InferenceConfig")
        # an absent MaxPayloadInMB stays absent (the API then uses 6), so a request round-trips
        return cls(**{attr: data.get(key) for attr, key in _INFERENCE_KEYS.items()})


@dataclass(eq=True, repr=True)
class ClarifyExplainerConfig(ExplainerConfigBase):
    """The Clarify explainer of an endpoint.

    :param shap_config: the :class:`ClarifyShapConfig` (required).
    :param enable_explanations: JMESPath boolean expression evaluated on each record's model output
        (e.g. ``"`true`"``, ``"[0]>`0.5`"``, ``"probability>`0.5`"``); default: explain every record.
    :param inference_config: a :class:`ClarifyInferenceConfig`.
    """

    shap_config: ClarifyShapConfig
    enable_explanations: str | None = None
    inference_config: ClarifyInferenceConfig | None = None

    template_fields: ClassVar[tuple[str, ...]] = ("shap_config", "enable_explanations", "inference_config")

    def _check(self, strict: bool) -> None:
        if not isinstance(self.shap_config, ClarifyShapConfig):
            raise ClarifyConfigError.invalid("shap_config", self.shap_config, "a ClarifyShapConfig")
        if self.inference_config is not None and not isinstance(
            self.inference_config, ClarifyInferenceConfig
        ):
            raise ClarifyConfigError.invalid(
                "inference_config", self.inference_config, "a ClarifyInferenceConfig"
            )
        if self.enable_explanations is not None and self._ready(strict, "enable_explanations"):
            check_jmespath("enable_explanations", self.enable_explanations)
        if strict:
            self.shap_config.validate()
            if self.inference_config is not None:
                self.inference_config.validate()
        inference = self.inference_config
        mime = self.shap_config.shap_baseline_config.mime_type
        if inference is not None and inference.content_template is not None and mime != JSONLINES:
            raise ClarifyConfigError.invalid(
                "content_template",
                inference.content_template,
                "no content_template with text/csv",
                "content_template formats JSON Lines records only; set "
                "ClarifyShapBaselineConfig(mime_type='application/jsonlines') or drop content_template.",
            )
        types = inference.feature_types if inference is not None else None
        if types and self.shap_config.text_config is None:
            raise ClarifyConfigError.invalid(
                "text_config",
                None,
                "a ClarifyTextConfig when feature_types holds 'text'",
                "feature_types lists 'text' features: give ClarifyShapConfig(text_config="
                "ClarifyTextConfig(language=..., granularity=...)).",
            )

    def _build(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ShapConfig": self.shap_config._build()}
        if self.enable_explanations is not None:
            out["EnableExplanations"] = self.enable_explanations
        if self.inference_config is not None:
            out["InferenceConfig"] = self.inference_config._build()
        return out

    @classmethod
    def from_request_dict(cls, data: dict[str, Any]) -> ClarifyExplainerConfig:
        _known(data, ("ShapConfig", "EnableExplanations", "InferenceConfig"), "ClarifyExplainerConfig")
        if not isinstance(data.get("ShapConfig"), dict):
            raise ClarifyConfigError.invalid(
                "ClarifyExplainerConfig.ShapConfig", data.get("ShapConfig"), "an object (required)"
            )
        inference = data.get("InferenceConfig")
        return cls(
            shap_config=ClarifyShapConfig.from_request_dict(data["ShapConfig"]),
            enable_explanations=data.get("EnableExplanations"),
            inference_config=ClarifyInferenceConfig.from_request_dict(inference)
            if inference is not None
            else None,
        )


@dataclass(eq=True, repr=True)
class ExplainerConfig(ExplainerConfigBase):
    """``CreateEndpointConfig.ExplainerConfig``: activates the Clarify explainer of an endpoint.

    :param clarify_explainer_config: the :class:`ClarifyExplainerConfig` (``None`` gives ``{}``).
    """

    clarify_explainer_config: ClarifyExplainerConfig | None = None

    template_fields: ClassVar[tuple[str, ...]] = ("clarify_explainer_config",)

    def _check(self, strict: bool) -> None:
        config = self.clarify_explainer_config
        if config is not None and not isinstance(config, ClarifyExplainerConfig):
            raise ClarifyConfigError.invalid("clarify_explainer_config", config, "a ClarifyExplainerConfig")
        if strict and config is not None:
            config.validate()

    def _build(self) -> dict[str, Any]:
        if self.clarify_explainer_config:
            return {"ClarifyExplainerConfig": self.clarify_explainer_config._build()}
        return {}

    @classmethod
    def from_request_dict(cls, data: dict[str, Any]) -> ExplainerConfig:
        """Read (and validate) ``{"ClarifyExplainerConfig": {...}}`` or the inner object itself."""
        if not isinstance(data, dict):
            raise ClarifyConfigError.invalid("ExplainerConfig", data, "an object")
        if "ShapConfig" in data:
            data = {"ClarifyExplainerConfig": data}
        _known(data, ("ClarifyExplainerConfig",), "ExplainerConfig")
        inner = data.get("ClarifyExplainerConfig")
        config = cls(ClarifyExplainerConfig.from_request_dict(inner) if inner is not None else None)
        config.validate()
        return config


def _known(data: Any, keys: tuple[str, ...], where: str) -> None:
    if not isinstance(data, dict):
        raise ClarifyConfigError.invalid(where, data, "an object")
    unknown = [key for key in data if key not in keys]
    if unknown:
        raise ClarifyConfigError(
            f"{where} has unknown key(s) {unknown}; accepted: {', '.join(keys)}.",
            field=f"{where}.{unknown[0]}",
            value=data[unknown[0]],
            accepted=", ".join(keys),
        )
