"""Where model predictions come from: one type for the operators, local compute, the engine and its CLI.

An analysis that calls a model (SHAP, PDP, or post-training bias without a predicted-label column)
needs a *model source*. There are four kinds, and every entry point spells them the same way:

=============  ==============================================  ===========================================
kind           what the user gives                             what is called
=============  ==============================================  ===========================================
``http``       ``"http://host:8080"`` or ``{"url": ...}``      a server speaking the SageMaker hosting
                                                               contract (``POST /invocations``)
``endpoint``   ``{"endpoint_name": "my-endpoint"}``            a deployed SageMaker endpoint
                                                               (``InvokeEndpoint``)
``artifact``   ``{"artifact": path_or_uri, "format":           a scikit-learn style estimator saved with
               "joblib" | "pickle", "trust": True}``           joblib/pickle, loaded in process
``callable``   a Python function / estimator object            called in process (``run_analysis`` only:
                                                               it cannot cross to a child process)
=============  ==============================================  ===========================================

The remote kinds take ``timeout_seconds`` (one request attempt) and ``retries`` (transient failures:
connection errors, HTTP 429/5xx, throttling); together they bound how long one request can take,
:attr:`ModelSource.max_seconds_per_request`. The request/response formats (``content_type``,
``accept_type``, ``label``, ``probability`` ...) stay in the analysis_config's ``predictor`` block,
as in SageMaker mode.

Users give the operators' ``local_model``, ``run_analysis(model=...)`` and the CLI's ``--model-*``
options; all of them become a :class:`ModelSource` through :meth:`ModelSource.parse`, and
``compute="local"`` hands it to its child process with :meth:`ModelSource.to_spec` /
:meth:`ModelSource.from_spec`. Errors are :class:`ClarifyConfigError` naming the field (e.g.
``local_model.format``), the value and the fix.

This module is imported when DAGs are parsed: standard library only.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_provider_clarify.analysis.errors import ClarifyConfigError, short_repr

ModelKind = Literal["http", "endpoint", "artifact", "callable"]

#: Seconds one model request may take (connect + read) before it counts as failed.
DEFAULT_MODEL_TIMEOUT_SECONDS = 30.0
#: Retries of one model request after a transient failure (connection error, HTTP 429/5xx, throttling).
DEFAULT_MODEL_RETRIES = 2
#: Longest back-off between two retries, in seconds.
MAX_BACKOFF_SECONDS = 10.0
#: Back-off base: the n-th retry waits ``BACKOFF_FACTOR * 2 ** (n - 1)`` seconds (capped).
BACKOFF_FACTOR = 0.5
ARTIFACT_FORMATS = ("joblib", "pickle")
ARTIFACT_METHODS = ("auto", "predict_proba", "predict")

_ACCEPTED = (
    "None, an http(s):// URL, {'url': ...}, {'endpoint_name': ...} or "
    "{'artifact': path, 'format': 'joblib'|'pickle', 'trust': True}"
)
_TUNING_KEYS = ("timeout_seconds", "retries")
_KEYS_BY_KIND: dict[str, tuple[str, ...]] = {
    "url": ("url", *_TUNING_KEYS),
    "endpoint_name": ("endpoint_name", *_TUNING_KEYS),
    "artifact": ("artifact", "format", "trust", "method"),
}
_SCHEMES = ("s3", "file")


def _scheme(uri: str) -> str:
    return uri.split("://", 1)[0].lower() if "://" in uri else ""


def _error(field_name: str, value: Any, accepted: str, message: str) -> ClarifyConfigError:
    return ClarifyConfigError(message, field=field_name, value=value, accepted=accepted)


@dataclass(frozen=True)
class ModelSource:
    """One model source (see the module docstring). Build it with the class methods or :meth:`parse`.

    :param kind: ``"http"``, ``"endpoint"``, ``"artifact"`` or ``"callable"``.
    :param url: base URL of the HTTP server (``kind="http"``).
    :param endpoint_name: the SageMaker endpoint (``kind="endpoint"``).
    :param artifact: local path, ``file://`` or ``s3://`` URI of the saved model (``kind="artifact"``).
    :param format: ``"joblib"`` or ``"pickle"`` (``kind="artifact"``).
    :param method: ``"auto"`` (``predict_proba`` when present), ``"predict_proba"`` or ``"predict"``.
    :param fn: the function or estimator object (``kind="callable"``).
    :param timeout_seconds: seconds one request attempt may take (remote kinds).
    :param retries: retries of a request after a transient failure (remote kinds).
    """

    kind: ModelKind
    url: str | None = None
    endpoint_name: str | None = None
    artifact: str | None = None
    format: str = "joblib"
    method: str = "auto"
    fn: Any = field(default=None, compare=False, repr=False)
    timeout_seconds: float = DEFAULT_MODEL_TIMEOUT_SECONDS
    retries: int = DEFAULT_MODEL_RETRIES

    # -- constructors ------------------------------------------------------------------------------

    @classmethod
    def http(
        cls,
        url: str,
        *,
        timeout_seconds: float = DEFAULT_MODEL_TIMEOUT_SECONDS,
        retries: int = DEFAULT_MODEL_RETRIES,
        field_name: str = "local_model",
    ) -> ModelSource:
        """A server speaking the SageMaker hosting contract at ``url`` (``/invocations`` is appended)."""
        if not isinstance(url, str) or _scheme(url) not in ("http", "https"):
            raise _error(
                f"{field_name}.url",
                url,
                "an http:// or https:// URL of a server with POST /invocations",
                f"{field_name} URL {short_repr(url)} must start with http:// or https:// (a server "
                "speaking the SageMaker hosting contract, e.g. 'http://127.0.0.1:8080').",
            )
        base = url.rstrip("/")
        if base.endswith("/invocations"):
            base = base[: -len("/invocations")]
        return cls(
            "http",
            url=base,
            timeout_seconds=_timeout(timeout_seconds, field_name),
            retries=_retries(retries, field_name),
        )

    @classmethod
    def endpoint(
        cls,
        endpoint_name: str,
        *,
        timeout_seconds: float = DEFAULT_MODEL_TIMEOUT_SECONDS,
        retries: int = DEFAULT_MODEL_RETRIES,
        field_name: str = "local_model",
    ) -> ModelSource:
        """A deployed SageMaker endpoint, called with ``InvokeEndpoint``."""
        if not isinstance(endpoint_name, str) or not endpoint_name.strip():
            raise _error(
                f"{field_name}.endpoint_name",
                endpoint_name,
                "the name of a deployed SageMaker endpoint",
                f"{field_name}.endpoint_name {short_repr(endpoint_name)} must be a non-empty endpoint name.",
            )
        return cls(
            "endpoint",
            endpoint_name=endpoint_name,
            timeout_seconds=_timeout(timeout_seconds, field_name),
            retries=_retries(retries, field_name),
        )

    @classmethod
    def from_artifact(
        cls,
        artifact: str,
        *,
        format: str = "joblib",
        trust: Any = False,
        method: str = "auto",
        field_name: str = "local_model",
    ) -> ModelSource:
        """A joblib/pickle file. Loading it runs code stored in it, hence ``trust=True`` is required."""
        if not isinstance(artifact, str) or not artifact.strip():
            raise _error(
                f"{field_name}.artifact",
                artifact,
                "a local path, file:// or s3:// URI",
                f"{field_name}.artifact {short_repr(artifact)} must be a local path, file:// or s3:// URI.",
            )
        if _scheme(artifact) not in ("", *_SCHEMES):
            raise _error(
                f"{field_name}.artifact",
                artifact,
                "a local path, file:// or s3:// URI",
                f"{field_name}.artifact {artifact!r} uses the scheme {_scheme(artifact)!r}; give a local "
                "path, a file:// URI or an s3:// URI.",
            )
        if format not in ARTIFACT_FORMATS:
            raise _error(
                f"{field_name}.format",
                format,
                " or ".join(ARTIFACT_FORMATS),
                f"{field_name}.format {short_repr(format)} is not supported; use 'joblib' or 'pickle' "
                "(or serve the model over HTTP and pass its URL).",
            )
        if method not in ARTIFACT_METHODS:
            raise _error(
                f"{field_name}.method",
                method,
                ", ".join(ARTIFACT_METHODS),
                f"{field_name}.method {short_repr(method)} is not supported; use one of "
                f"{', '.join(ARTIFACT_METHODS)}.",
            )
        if trust is not True:
            raise _error(
                f"{field_name}.trust",
                trust,
                "True",
                f"loading a {format} file runs Python code stored in it. Only load artifacts your own "
                f"pipeline produced, then say so with {field_name}={{'artifact': ..., 'format': "
                f"'{format}', 'trust': True}}.",
            )
        return cls("artifact", artifact=artifact, format=format, method=method)

    @classmethod
    def from_callable(cls, fn: Any, *, field_name: str = "model") -> ModelSource:
        """A Python function ``fn(features_2d) -> predictions`` or an object with ``predict_proba``/``predict``."""
        if not (callable(fn) or hasattr(fn, "predict_proba") or hasattr(fn, "predict")):
            raise _error(
                field_name,
                fn,
                "a callable or an object with predict_proba/predict",
                f"{field_name} {short_repr(fn)} is not callable and has no predict_proba/predict.",
            )
        return cls("callable", fn=fn)

    @classmethod
    def parse(cls, value: Any, *, field_name: str = "local_model") -> ModelSource | None:
        """Turn what a user gave into a :class:`ModelSource` (``None`` for None, ``""`` or ``{}``).

        Accepts a :class:`ModelSource`, an ``http(s)://`` URL, a dict with exactly one of ``url``,
        ``endpoint_name`` or ``artifact`` (plus that kind's options), or a callable / estimator.
        """
        if value is None or value == "" or (isinstance(value, Mapping) and not value):
            return None
        if isinstance(value, ModelSource):
            return value
        if isinstance(value, str):
            return cls.http(value, field_name=field_name)
        if isinstance(value, Mapping):
            return cls._from_mapping(dict(value), field_name)
        if callable(value) or hasattr(value, "predict_proba") or hasattr(value, "predict"):
            return cls.from_callable(value, field_name=field_name)
        raise _error(
            field_name,
            value,
            _ACCEPTED,
            f"{field_name} must be a URL string, a dict or a model object, not {type(value).__name__} "
            f"({short_repr(value)}). Accepted: {_ACCEPTED}.",
        )

    @classmethod
    def _from_mapping(cls, value: dict, field_name: str) -> ModelSource:
        kinds = [key for key in _KEYS_BY_KIND if value.get(key)]
        if len(kinds) != 1:
            raise _error(
                field_name,
                value,
                _ACCEPTED,
                f"{field_name} must name exactly one of 'url', 'endpoint_name', 'artifact' "
                f"(got {kinds or 'none'} in {short_repr(value)}).",
            )
        kind = kinds[0]
        allowed = _KEYS_BY_KIND[kind]
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            close = difflib.get_close_matches(unknown[0], allowed, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise _error(
                f"{field_name}.{unknown[0]}",
                value[unknown[0]],
                ", ".join(allowed),
                f"{field_name} has unknown key(s) {unknown} for a {kind!r} model; accepted keys: "
                f"{list(allowed)}.{hint}",
            )
        tuning = {k: value[k] for k in _TUNING_KEYS if k in value}
        if kind == "url":
            return cls.http(value["url"], field_name=field_name, **tuning)
        if kind == "endpoint_name":
            return cls.endpoint(value["endpoint_name"], field_name=field_name, **tuning)
        return cls.from_artifact(
            value["artifact"],
            format=value.get("format", "joblib"),
            trust=value.get("trust", False),
            method=value.get("method", "auto"),
            field_name=field_name,
        )

    # -- the child process -------------------------------------------------------------------------

    def to_spec(self, *, field_name: str = "local_model") -> dict[str, Any]:
        """A JSON-able dict for another process (:meth:`from_spec` reads it back).

        :raises ClarifyConfigError: for an in-process callable, which cannot leave this process.
        """
        if self.kind == "callable":
            raise _error(
                field_name,
                self.fn,
                _ACCEPTED,
                f"{field_name} is an in-process Python object ({short_repr(self.fn)}), which cannot be "
                "handed to the child process of compute='local'. Save it with joblib.dump and pass "
                f"{field_name}={{'artifact': path, 'format': 'joblib', 'trust': True}}, or serve it over HTTP.",
            )
        spec = {k: v for k, v in dataclasses.asdict(self).items() if k != "fn" and v is not None}
        return spec

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> ModelSource:
        """The :class:`ModelSource` that :meth:`to_spec` wrote (unknown keys are an error)."""
        names = {f.name for f in dataclasses.fields(cls)} - {"fn"}
        unknown = sorted(set(spec) - names)
        if unknown or spec.get("kind") not in ("http", "endpoint", "artifact"):
            raise ValueError(f"not a model-source spec: {dict(spec)!r}")
        return cls(**dict(spec))

    # -- facts ---------------------------------------------------------------------------------------

    @property
    def is_remote(self) -> bool:
        """Whether calls go over the network (HTTP server or SageMaker endpoint)."""
        return self.kind in ("http", "endpoint")

    @property
    def max_seconds_per_request(self) -> float:
        """Upper bound of one request's duration: every attempt times out, plus the back-offs between."""
        backoffs = sum(min(MAX_BACKOFF_SECONDS, BACKOFF_FACTOR * 2**n) for n in range(self.retries))
        return (self.retries + 1) * self.timeout_seconds + backoffs

    def describe(self) -> str:
        """A short, credential-free description for logs."""
        if self.kind == "http":
            return f"HTTP model server {self.url}"
        if self.kind == "endpoint":
            return f"SageMaker endpoint {self.endpoint_name}"
        if self.kind == "artifact":
            return f"{self.format} artifact {self.artifact}"
        return f"in-process {type(self.fn).__name__}"


def _timeout(value: Any, field_name: str) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    if not ok:
        raise _error(
            f"{field_name}.timeout_seconds",
            value,
            "a number of seconds > 0",
            f"{field_name}.timeout_seconds {short_repr(value)} must be a number of seconds > 0 (one "
            f"model request attempt; default {DEFAULT_MODEL_TIMEOUT_SECONDS:g}).",
        )
    return float(value)


def _retries(value: Any, field_name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10:
        raise _error(
            f"{field_name}.retries",
            value,
            "an integer from 0 to 10",
            f"{field_name}.retries {short_repr(value)} must be an integer from 0 to 10 (retries of a "
            f"model request after a transient failure; default {DEFAULT_MODEL_RETRIES}).",
        )
    return value


def analysis_needs_model(analysis_config: Mapping[str, Any]) -> bool:
    """Whether the analysis calls a model: explanations, or post-training bias without predictions
    (the one rule, :func:`airflow_provider_clarify.analysis.capabilities.needs_model`)."""
    from airflow_provider_clarify.analysis.capabilities import needs_model

    return needs_model(analysis_config)


def resolve_model_source(
    value: Any, analysis_config: Mapping[str, Any], *, field_name: str = "local_model"
) -> ModelSource | None:
    """The model source an analysis uses: ``value`` when given, else the config's
    ``predictor.endpoint_name``; ``None`` when the analysis needs no model.

    :raises ClarifyConfigError: ``value`` is malformed, or the analysis needs a model and none is
        given (``predictor.model_name`` alone would need a shadow endpoint, which only SageMaker
        mode creates).
    """
    source = ModelSource.parse(value, field_name=field_name)
    if not analysis_needs_model(analysis_config):
        return None
    if source is not None:
        return source
    predictor = analysis_config.get("predictor")
    predictor = predictor if isinstance(predictor, Mapping) else {}
    if predictor.get("endpoint_name"):
        return ModelSource.endpoint(str(predictor["endpoint_name"]), field_name="predictor")
    raise _error(
        field_name,
        value,
        _ACCEPTED,
        "this analysis needs model predictions (explanations, or post-training bias without a "
        "predicted_label column), and the open engine cannot create SageMaker shadow endpoints "
        f"from predictor.model_name ({predictor.get('model_name')!r}). Pass {field_name}= a model "
        "server URL, {'endpoint_name': ...} or {'artifact': ..., 'format': 'joblib', 'trust': True}, "
        "or add a predicted_label column to the dataset.",
    )


__all__ = [
    "DEFAULT_MODEL_RETRIES",
    "DEFAULT_MODEL_TIMEOUT_SECONDS",
    "ModelSource",
    "analysis_needs_model",
    "resolve_model_source",
]
