""":class:`AnalysisConfig`: the whole ``analysis_config.json`` of a Clarify job.

Built from the SDK-style config objects with one classmethod per SDK run method, or taken from a
hand-written dict with :meth:`AnalysisConfig.from_dict`. :meth:`AnalysisConfig.to_dict` returns
exactly what the SageMaker SDK's ``_AnalysisConfigGenerator`` returns for the same inputs;
:meth:`AnalysisConfig.validate` applies the schema v1.0 rules and lists every problem;
:meth:`AnalysisConfig.preflight` adds the semantic checks of :mod:`.preflight` (what a job needs to
not fail after it started) and returns the warnings.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any, ClassVar

from airflow_provider_clarify.analysis import composition as K
from airflow_provider_clarify.analysis.capabilities import needs_model
from airflow_provider_clarify.analysis.configs import (
    BiasConfig,
    DataConfig,
    ModelConfig,
)
from airflow_provider_clarify.analysis.constants import EXPLAINABILITY_METHODS, JOB_NAME_BASES
from airflow_provider_clarify.analysis.errors import ClarifyConfigError
from airflow_provider_clarify.analysis.preflight import Problem, check_preflight
from airflow_provider_clarify.analysis.schema import validate_analysis_config

#: The run kinds (one per SDK ``SageMakerClarifyProcessor.run_*`` method) plus ``"custom"`` (from_dict).
KINDS = (
    "pre_training_bias",
    "post_training_bias",
    "bias",
    "explainability",
    "bias_and_explainability",
    "custom",
)


class AnalysisConfig:
    """A Clarify analysis config, composed like the SageMaker SDK composes it.

    Use the classmethods; the constructor is the common back end. The config objects are kept as
    given and composed on every :meth:`to_dict` call, so Jinja rendered into them by Airflow (they
    are ``template_fields``) is picked up.

    :param kind: one of :data:`KINDS`.
    :param data_config: the :class:`DataConfig` (``None`` for ``from_dict``).
    :param bias_config: the :class:`BiasConfig` of bias runs.
    :param model_config: the :class:`ModelConfig`, if any.
    :param model_predicted_label_config: a :class:`ModelPredictedLabelConfig`, or a label
        index/JMESPath (``model_scores``), or ``None``.
    :param explainability_config: SHAP/PDP/ASV config or a list of SHAP/PDP configs.
    :param pre_training_methods: ``"all"``, a list of metric names, or falsy to skip.
    :param post_training_methods: ``"all"``, a list of metric names, or falsy to skip.
    :param config_dict: the hand-written dict (``from_dict`` only).
    :param s3_data_input_path: dataset URI (``from_dict`` only; else taken from ``data_config``).
    :param s3_output_path: output URI (``from_dict`` only; else taken from ``data_config``).
    :param s3_analysis_config_output_path: where to upload the config (``from_dict`` only).
    """

    template_fields: ClassVar[tuple[str, ...]] = (
        "data_config",
        "bias_config",
        "model_config",
        "model_predicted_label_config",
        "explainability_config",
        "config_dict",
    )

    def __init__(
        self,
        kind: str,
        *,
        data_config: DataConfig | None = None,
        bias_config: BiasConfig | None = None,
        model_config: ModelConfig | None = None,
        model_predicted_label_config: Any = None,
        explainability_config: Any = None,
        pre_training_methods: Any = None,
        post_training_methods: Any = None,
        config_dict: dict[str, Any] | None = None,
        s3_data_input_path: str | None = None,
        s3_output_path: str | None = None,
        s3_analysis_config_output_path: str | None = None,
        _precheck: bool = True,
    ) -> None:
        if kind not in KINDS:
            raise ClarifyConfigError.invalid("kind", kind, ", ".join(KINDS))
        self.kind = kind
        self.data_config = data_config
        self.bias_config = bias_config
        self.model_config = model_config
        self.model_predicted_label_config = model_predicted_label_config
        self.explainability_config = explainability_config
        self.pre_training_methods = pre_training_methods
        self.post_training_methods = post_training_methods
        self.config_dict = config_dict
        self._s3_data_input_path = s3_data_input_path
        self._s3_output_path = s3_output_path
        self._s3_analysis_config_output_path = s3_analysis_config_output_path
        if _precheck:  # fail fast on structural mistakes, before any rendering (the plan skips it:
            self._compose(strict=False)  # its arguments are rendered and to_dict checks them strictly)

    # -- factories, one per SDK run method ----------------------------------------------------------
    @classmethod
    def pre_training_bias(
        cls, data_config: DataConfig, bias_config: BiasConfig, methods: str | list[str] = "all"
    ) -> AnalysisConfig:
        """As ``SageMakerClarifyProcessor.run_pre_training_bias``: bias in the data only."""
        return cls(
            "pre_training_bias",
            data_config=data_config,
            bias_config=bias_config,
            pre_training_methods=methods,
        )

    @classmethod
    def post_training_bias(
        cls,
        data_config: DataConfig,
        bias_config: BiasConfig,
        model_config: ModelConfig | None = None,
        model_predicted_label_config: Any = None,
        methods: str | list[str] = "all",
    ) -> AnalysisConfig:
        """As ``run_post_training_bias``: bias in the model's predictions (model or predicted_label)."""
        return cls(
            "post_training_bias",
            data_config=data_config,
            bias_config=bias_config,
            model_config=model_config,
            model_predicted_label_config=model_predicted_label_config,
            post_training_methods=methods,
        )

    @classmethod
    def bias(
        cls,
        data_config: DataConfig,
        bias_config: BiasConfig,
        model_config: ModelConfig | None = None,
        model_predicted_label_config: Any = None,
        pre_training_methods: str | list[str] = "all",
        post_training_methods: str | list[str] = "all",
    ) -> AnalysisConfig:
        """As ``run_bias``: pre- and post-training bias in one job."""
        return cls(
            "bias",
            data_config=data_config,
            bias_config=bias_config,
            model_config=model_config,
            model_predicted_label_config=model_predicted_label_config,
            pre_training_methods=pre_training_methods,
            post_training_methods=post_training_methods,
        )

    @classmethod
    def explainability(
        cls,
        data_config: DataConfig,
        model_config: ModelConfig,
        explainability_config: Any,
        model_scores: Any = None,
    ) -> AnalysisConfig:
        """As ``run_explainability``: SHAP and/or PDP (or ASV for time series).

        ``model_scores`` is a :class:`ModelPredictedLabelConfig`, or an index/JMESPath written as
        ``predictor.label``.
        """
        return cls(
            "explainability",
            data_config=data_config,
            model_config=model_config,
            model_predicted_label_config=model_scores,
            explainability_config=explainability_config,
        )

    @classmethod
    def bias_and_explainability(
        cls,
        data_config: DataConfig,
        model_config: ModelConfig,
        model_predicted_label_config: Any,
        explainability_config: Any,
        bias_config: BiasConfig,
        pre_training_methods: str | list[str] = "all",
        post_training_methods: str | list[str] = "all",
    ) -> AnalysisConfig:
        """As ``run_bias_and_explainability`` (argument order of the SDK's generator; prefer keywords)."""
        return cls(
            "bias_and_explainability",
            data_config=data_config,
            bias_config=bias_config,
            model_config=model_config,
            model_predicted_label_config=model_predicted_label_config,
            explainability_config=explainability_config,
            pre_training_methods=pre_training_methods,
            post_training_methods=post_training_methods,
        )

    @classmethod
    def from_dict(
        cls,
        config: Mapping[str, Any],
        *,
        s3_data_input_path: str | None = None,
        s3_output_path: str | None = None,
        s3_analysis_config_output_path: str | None = None,
    ) -> AnalysisConfig:
        """Wrap a hand-written analysis config (copied; checked by :meth:`validate`, not here).

        ``s3_data_input_path`` defaults to the config's ``dataset_uri`` when present.
        """
        if not isinstance(config, Mapping):
            raise ClarifyConfigError.invalid(
                "analysis_config",
                config,
                "a dict (JSON object)",
                f"Expected a dict, got {type(config).__name__}.",
            )
        return cls(
            "custom",
            config_dict=copy.deepcopy(dict(config)),
            s3_data_input_path=s3_data_input_path,
            s3_output_path=s3_output_path,
            s3_analysis_config_output_path=s3_analysis_config_output_path,
        )

    # -- composition ----------------------------------------------------------------------------------
    def _compose(self, strict: bool) -> dict[str, Any]:
        kind = self.kind
        if kind == "custom":
            if not isinstance(self.config_dict, Mapping):
                raise ClarifyConfigError.invalid("analysis_config", self.config_dict, "a dict (JSON object)")
            return copy.deepcopy(dict(self.config_dict))
        K.expect("model_config", self.model_config, ModelConfig, optional=True)
        K.check_label_config(self.model_predicted_label_config)
        K.explainability_items(self.explainability_config)
        if kind == "explainability":
            return self._compose_explainability(strict)
        if kind == "bias_and_explainability":
            self._refuse_time_series()
        config = K.data_and_bias(self.data_config, self.bias_config, strict)
        pre = self.pre_training_methods if kind != "post_training_bias" else None
        post = self.post_training_methods if kind != "pre_training_bias" else None
        explain = self.explainability_config if kind == "bias_and_explainability" else None
        config = K.add_methods(
            config,
            strict,
            pre_training_methods=pre,
            post_training_methods=post,
            explainability_config=explain,
        )
        if kind == "pre_training_bias":
            return config
        return K.add_predictor(config, strict, self.model_config, self.model_predicted_label_config)

    def _compose_explainability(self, strict: bool) -> dict[str, Any]:
        K.expect("data_config", self.data_config, DataConfig)
        if self.model_config is None:
            raise K.model_config_required()
        data = K.fragment(self.data_config, strict)
        K.check_time_series_explainability(
            self.data_config, self.model_config, self.explainability_config, data
        )
        config = K.add_predictor(data, strict, self.model_config, self.model_predicted_label_config)
        return K.add_methods(config, strict, explainability_config=self.explainability_config)

    def _refuse_time_series(self) -> None:
        data = self.data_config
        model = self.model_config
        if (
            isinstance(self.explainability_config, K.AsymmetricShapleyValueConfig)
            or (isinstance(data, DataConfig) and data.time_series_data_config)
            or (model is not None and model.time_series_model_config)
        ):
            raise ClarifyConfigError(
                "Bias metrics are unsupported for time series: use AnalysisConfig.explainability with "
                "AsymmetricShapleyValueConfig, or drop the time-series configs.",
                field="explainability_config",
                value=self.explainability_config,
                accepted="no time-series configs with bias methods",
            )

    # -- public API ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The ``analysis_config`` dict (a fresh copy), byte-for-byte what the SDK generator returns.

        Re-runs the constructor checks strictly (after Airflow rendered any Jinja).
        """
        return copy.deepcopy(self._compose(strict=True))

    def to_json(self, **kwargs: Any) -> str:
        """``json.dumps(self.to_dict(), **kwargs)``."""
        return json.dumps(self.to_dict(), **kwargs)

    def validate(self) -> None:
        """Check :meth:`to_dict` against the analysis-config schema v1.0.

        Only the schema (key names, types); :meth:`preflight` adds the semantic checks.

        :raises ClarifyConfigError: listing every problem with its JSON path (``.problems``).
        """
        validate_analysis_config(self.to_dict())

    def preflight(self, *, instance_count: int = 1, compute: str = "sagemaker") -> list[Problem]:
        """Schema v1.0 *and* the semantic checks a job needs to not fail after spend (:mod:`.preflight`).

        Metric names, bias inputs, the predictor a model-calling method needs, ``baseline`` XOR
        ``num_clusters``, the join column of distributed jobs, S3 URIs, ... The operators run it
        before any AWS call.

        :param instance_count: processing instances of the job (more than 1 needs a join column).
        :param compute: ``"sagemaker"`` or ``"local"`` (local paths allowed, no predictor block needed).
        :returns: the warnings (e.g. CDDL requested without ``group_variable``), to log.
        :raises ClarifyConfigError: listing every error with its JSON path (``.problems``).
        """
        return check_preflight(
            self.to_dict(),
            instance_count=instance_count,
            compute=compute,
            dataset_uri=self.s3_data_input_path,
        )

    # -- facts used by the job request and the operators ----------------------------------------------
    @property
    def dataset_type(self) -> str | None:
        """The ``dataset_type`` (decides the ``analysis_result`` upload mode)."""
        if self.kind == "custom":
            value = (self.config_dict or {}).get("dataset_type")
            return value if isinstance(value, str) else None
        return self.data_config.dataset_type if isinstance(self.data_config, DataConfig) else None

    @property
    def s3_data_input_path(self) -> str | None:
        """Dataset URI (the ``dataset`` processing input)."""
        if self.kind == "custom":
            if self._s3_data_input_path is not None:
                return self._s3_data_input_path
            value = (self.config_dict or {}).get("dataset_uri")
            return value if isinstance(value, str) else None
        return self.data_config.s3_data_input_path if isinstance(self.data_config, DataConfig) else None

    @property
    def s3_output_path(self) -> str | None:
        """Output URI (the ``analysis_result`` processing output)."""
        if self.kind == "custom":
            return self._s3_output_path
        return self.data_config.s3_output_path if isinstance(self.data_config, DataConfig) else None

    @property
    def s3_analysis_config_output_path(self) -> str | None:
        """Where ``analysis_config.json`` goes; ``None`` means under :attr:`s3_output_path`."""
        if self.kind == "custom":
            return self._s3_analysis_config_output_path
        return (
            self.data_config.s3_analysis_config_output_path
            if isinstance(self.data_config, DataConfig)
            else None
        )

    @property
    def s3_compression_type(self) -> str:
        """Compression of the dataset input (``"None"`` for hand-written configs)."""
        if isinstance(self.data_config, DataConfig):
            return self.data_config.s3_compression_type
        return "None"

    @property
    def needs_model(self) -> bool:
        """Whether the job will call a model (:func:`.capabilities.needs_model` of the composed config)."""
        return needs_model(self._compose(strict=False))

    @property
    def default_job_name_prefix(self) -> str:
        """The SDK's default job-name base for this run (``Clarify-Bias`` etc., see ``docs/job-request.md#job-names``)."""
        if self.kind != "custom":
            return JOB_NAME_BASES[self.kind]
        methods = (self.config_dict or {}).get("methods")
        methods = methods if isinstance(methods, Mapping) else {}
        bias = [name for name in ("pre_training_bias", "post_training_bias") if name in methods]
        explain = any(name in methods for name in EXPLAINABILITY_METHODS)
        if bias and explain:
            return JOB_NAME_BASES["bias_and_explainability"]
        if explain:
            return JOB_NAME_BASES["explainability"]
        if bias == ["pre_training_bias"]:
            return JOB_NAME_BASES["pre_training_bias"]
        if bias == ["post_training_bias"]:
            return JOB_NAME_BASES["post_training_bias"]
        return JOB_NAME_BASES["bias"]

    def __repr__(self) -> str:
        if self.kind == "custom":
            return f"AnalysisConfig.from_dict({self.config_dict!r})"
        parts = [
            f"{name}={getattr(self, name)!r}"
            for name in (
                "data_config",
                "bias_config",
                "model_config",
                "model_predicted_label_config",
                "explainability_config",
                "pre_training_methods",
                "post_training_methods",
            )
            if getattr(self, name) is not None
        ]
        return f"AnalysisConfig.{self.kind}({', '.join(parts)})"
