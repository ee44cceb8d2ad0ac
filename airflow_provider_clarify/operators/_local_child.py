"""Child-process entry point of ``compute="local"``: run the open engine on one analysis config.

:func:`airflow_provider_clarify.operators.local_compute.run_local_analysis` starts this module as
``python -m airflow_provider_clarify.operators._local_child`` and writes one JSON *run spec* to its
standard input. Running the engine in its own interpreter means a crash, a segfault in a native
library or the out-of-memory killer ends this process only; the Airflow worker survives and reports
what happened.

This module deliberately imports nothing from Airflow (importing Airflow costs seconds and memory
the analysis needs) and imports the numeric libraries only inside :func:`main`, after the memory
limit is in place.

Run spec (all keys optional unless stated)::

    {
      "analysis_config": {...},            # required: the analysis_config dict
      "dataset": "s3://... | file://... | /path",
      "output": "s3://... | file://... | /path",   # required
      "storage_options": {"endpoint_url", "aws_access_key_id", "aws_secret_access_key",
                          "aws_session_token", "region_name"},
      "model": {"kind": "http", "url": "http://host:8080"}
             | {"kind": "endpoint", "endpoint_name": "...", "target_model": ..., "custom_attributes": ...}
             | {"kind": "artifact", "path": "/local/model.joblib", "format": "joblib" | "pickle",
                "method": "auto" | "predict_proba" | "predict"},
      "memory_limit_bytes": 2147483648,
      "result_file": "/tmp/.../result.json"  # required: where the outcome is written
    }

Credentials arrive on standard input only, never on the command line (which other users of the
machine can read in the process table) and never in a file.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from typing import Any

log = logging.getLogger("airflow_provider_clarify.local")

#: Exit status for an error the child caught and described in the result file.
EXIT_ANALYSIS_FAILED = 1
#: Exit status when the run spec itself could not be read.
EXIT_BAD_SPEC = 2


def _apply_memory_limit(limit_bytes: int | None) -> None:
    """Cap the address space of this process so a runaway analysis fails with ``MemoryError``.

    ``RLIMIT_AS`` counts virtual memory, which is larger than resident memory (numeric libraries
    reserve address space up front), so limits well below ~1 GiB make the imports themselves fail.
    """
    if not limit_bytes:
        return
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit_bytes = min(limit_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, hard))


def _die_with_parent(parent_pid: int | None) -> None:
    """Ask Linux to SIGKILL this process when the worker that started it dies (even by SIGKILL).

    Without it an engine whose task process was killed would run on, orphaned, using the memory
    and CPU the next task needs. Elsewhere (macOS) this is a no-op; the parent still stops the
    child on timeouts and on the task being killed.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if parent_pid and os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(EXIT_BAD_SPEC)


def _config_error_details(exc: BaseException) -> dict[str, Any]:
    """Whether ``exc`` is a configuration/data error (the parent then fails without retries)."""
    from airflow_provider_clarify.analysis.errors import ClarifyConfigError

    if isinstance(exc, ClarifyConfigError):
        return {"config_error": True, "field": exc.field}
    return {"config_error": False}


def _write_result(path: str, payload: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle)


def _estimator_callable(model: Any, method: str) -> tuple[Any, list[str] | None]:
    """Turn a scikit-learn style estimator into ``fn(features) -> scores or labels``.

    ``auto`` prefers ``predict_proba``. A binary classifier whose classes are 0/1 (or False/True)
    returns the probability of class 1 as one score per row, which is what Clarify expects from a
    binary model: ``probability_threshold`` turns it into a label and SHAP explains that one
    score. Other classifiers return every class probability, with ``classes_`` as label headers,
    so the arg-max class becomes the predicted label. Without ``predict_proba`` (regressors,
    some classifiers) ``predict`` is used.
    """
    import numpy as np

    has_proba = callable(getattr(model, "predict_proba", None))
    if method == "predict_proba" and not has_proba:
        raise ValueError(
            f"local_model.method is 'predict_proba' but {type(model).__name__} has no predict_proba; "
            "use method='predict' or 'auto'"
        )
    if method == "predict" or not has_proba:
        if not callable(getattr(model, "predict", None)):
            raise ValueError(f"the loaded object ({type(model).__name__}) has no predict() method")

        def predict(features: Any) -> Any:
            return np.asarray(model.predict(features))

        return predict, None

    classes = list(getattr(model, "classes_", []))
    binary_01 = len(classes) == 2 and [float(c) for c in classes if _is_number(c)] == [0.0, 1.0]
    if binary_01:

        def positive_score(features: Any) -> Any:
            return np.asarray(model.predict_proba(features), dtype=np.float64)[:, 1]

        return positive_score, None

    def probabilities(features: Any) -> Any:
        return np.asarray(model.predict_proba(features), dtype=np.float64)

    return probabilities, [str(c) for c in classes] or None


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, str)


def _load_artifact(model_spec: dict) -> Any:
    """Load a joblib/pickle file. This runs code from the file: the parent checked ``trust``."""
    path = model_spec["path"]
    fmt = model_spec.get("format", "joblib")
    log.info("Loading %s model artifact %s (trusted by the DAG author)", fmt, path)
    if fmt == "joblib":
        import joblib

        return joblib.load(path)
    import pickle

    with open(path, "rb") as handle:
        return pickle.load(handle)  # the DAG author opted in: local_model["trust"]


def _predictor_block(analysis_config: dict) -> dict:
    block = analysis_config.get("predictor")
    return dict(block) if isinstance(block, dict) else {}


_SHADOW_ENDPOINT_KEYS = (
    "model_name",
    "instance_type",
    "initial_instance_count",
    "endpoint_name_prefix",
    "accelerator_type",
)


def engine_arguments(spec: dict) -> dict[str, Any]:
    """Keyword arguments of ``run_analysis`` for the run spec's model (none when no model is needed).

    * artifact: an in-process ``CallablePredictor`` (no serialisation, so SHAP's many model calls are fast);
    * HTTP: ``model_url`` - the engine builds its SageMaker-contract client with the feature names;
    * endpoint: the config's ``predictor`` block names that endpoint (instead of a model that would
      need a shadow endpoint), called with the connection's credentials and ``endpoint_url``.
    """
    model_spec = spec.get("model")
    config = spec["analysis_config"]
    if not model_spec:
        return {"analysis_config": config}
    kind = model_spec["kind"]
    if kind == "artifact":
        model = _load_artifact(model_spec)
        fn, label_headers = _estimator_callable(model, model_spec.get("method", "auto"))
        from airflow_provider_clarify.engine.predictors import CallablePredictor

        headers = _predictor_block(config).get("label_headers") or label_headers
        return {"analysis_config": config, "predictor": CallablePredictor(fn, label_headers=headers)}
    if kind == "http":
        return {"analysis_config": config, "model_url": model_spec["url"]}
    if kind == "endpoint":
        block = {k: v for k, v in _predictor_block(config).items() if k not in _SHADOW_ENDPOINT_KEYS}
        block["endpoint_name"] = model_spec["endpoint_name"]
        arguments: dict[str, Any] = {"analysis_config": {**config, "predictor": block}}
        if model_spec.get("endpoint_url"):
            arguments["endpoint_url"] = model_spec["endpoint_url"]
        return arguments
    raise ValueError(f"unknown model kind {kind!r}")


def run(spec: dict) -> str:
    """Run one analysis as described by ``spec``; returns the URI of the written ``analysis.json``."""
    arguments = engine_arguments(spec)
    from airflow_provider_clarify.engine import run_analysis

    return run_analysis(
        dataset=spec.get("dataset"),
        output=spec["output"],
        storage_options=spec.get("storage_options") or None,
        **arguments,
    )


def main() -> int:
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        spec = json.load(sys.stdin)
        result_file = spec["result_file"]
    except Exception as exc:  # the parent wrote it, so this is a bug; say so plainly
        print(f"local engine: could not read the run spec from stdin: {exc!r}", file=sys.stderr)
        return EXIT_BAD_SPEC
    _die_with_parent(spec.get("parent_pid"))
    try:
        _apply_memory_limit(spec.get("memory_limit_bytes"))
        analysis_json_uri = run(spec)
    except BaseException as exc:
        traceback.print_exc(file=sys.stderr)
        _write_result(
            result_file,
            {
                "ok": False,
                "error_type": type(exc).__name__,
                "error_module": type(exc).__module__,
                "message": str(exc) or repr(exc),
                **_config_error_details(exc),
            },
        )
        return EXIT_ANALYSIS_FAILED
    _write_result(result_file, {"ok": True, "analysis_json_uri": analysis_json_uri})
    return 0


if __name__ == "__main__":
    sys.exit(main())
